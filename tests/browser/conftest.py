"""Real-browser tests: the real server (tests/live_server.py) and Debian's Chromium via Playwright.

Without /usr/bin/chromium the tests skip with the install command, except in CI (CI is set),
where a missing browser is a failure: CI must run them.

`assert_accessible(page, "what the page shows")` runs axe-core (bundled with
axe-playwright-python, nothing is downloaded) on the page as it is and fails with a readable
list of every violation, whatever its impact. Any test of a new panel can call it once the
panel shows what it shows.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from live_server import running_server
from project_paths import REPO_ROOT

ARTIFACTS_DIR = REPO_ROOT / "tests" / "artifacts"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-gpu",
    "--no-first-run",
    "--disable-sync",
]
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 375, "height": 667}


# Every rule axe-core enables by default (WCAG 2.x A and AA, and its best practices); only the
# violations are wanted back, which keeps the answer small.
AXE_OPTIONS: dict[str, Any] = {"resultTypes": ["violations"]}

AccessibilityCheck = Callable[..., None]


def _unavailable(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI must run the browser tests)", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        _unavailable("Chromium not installed: apt-get install chromium")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("Playwright not installed: pip install -e '.[test]'")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="session")
def server_url() -> Iterator[str]:
    """The real server on the shipped models; its whole output, access log included, goes to
    tests/artifacts/browser-server.log, to read when a page test fails."""
    ARTIFACTS_DIR.mkdir(parents=True, exist_ok=True)
    with running_server(log_path=ARTIFACTS_DIR / "browser-server.log") as server:
        yield server.url


@dataclass
class PageProblems:
    """Everything that went wrong on a page: console errors, page errors, failed requests."""

    messages: list[str] = field(default_factory=list)
    # Requests a test makes fail on purpose (page.route), as URL regular expressions.
    expected_failures: list[re.Pattern[str]] = field(default_factory=list)
    # Documents the page has started loading (goto, reload), and how many had been started when
    # each request went out: a request still loading when the page moves on to another document
    # is cancelled by the browser (net::ERR_ABORTED), which is no failure of the app.
    documents_started: int = 0
    started_with_document: dict[Any, int] = field(default_factory=dict)

    def expect_failures(self, url_pattern: str) -> None:
        self.expected_failures.append(re.compile(url_pattern))

    def _expected(self, url: str) -> bool:
        return any(pattern.search(url) for pattern in self.expected_failures)

    def on_console(self, message: Any) -> None:
        if message.type != "error":
            return
        # Chromium logs "Failed to load resource" for any 4xx/5xx, with the URL as location.
        if self._expected(message.location.get("url", "")):
            return
        self.messages.append(f"console error: {message.text} ({message.location})")

    def on_page_error(self, error: Any) -> None:
        self.messages.append(f"page error: {error}")

    def on_request(self, request: Any) -> None:
        if request.is_navigation_request() and request.frame.parent_frame is None:
            self.documents_started += 1
        self.started_with_document[request] = self.documents_started

    def _cancelled_by_navigation(self, request: Any) -> bool:
        started_with = self.started_with_document.get(request, self.documents_started)
        return request.failure == "net::ERR_ABORTED" and started_with < self.documents_started

    def on_request_failed(self, request: Any) -> None:
        if not self._expected(request.url) and not self._cancelled_by_navigation(request):
            self.messages.append(f"request failed: {request.url} ({request.failure})")

    def on_response(self, response: Any) -> None:
        if response.status >= 400 and not self._expected(response.url):
            self.messages.append(f"HTTP {response.status}: {response.url}")


def open_page(browser: Any, problems: PageProblems, **context_options: Any) -> Any:
    context = browser.new_context(**{"viewport": DESKTOP, **context_options})
    page = context.new_page()
    page.on("console", problems.on_console)
    page.on("pageerror", problems.on_page_error)
    page.on("request", problems.on_request)
    page.on("requestfailed", problems.on_request_failed)
    page.on("response", problems.on_response)
    return page


@pytest.fixture
def problems() -> PageProblems:
    return PageProblems()


def checked_page(browser: Any, problems: PageProblems, **context_options: Any) -> Iterator[Any]:
    """The body of a page fixture: yields a page in its own context, then closes it and fails
    the test if anything went wrong on it (`yield from checked_page(...)`)."""
    page = open_page(browser, problems, **context_options)
    try:
        yield page
    finally:
        page.context.close()
    assert problems.messages == [], "the page reported problems:\n" + "\n".join(problems.messages)


@pytest.fixture
def page(browser: Any, server_url: str, problems: PageProblems) -> Iterator[Any]:
    """A desktop-sized page (goto("/") opens the app); it must end without any problem."""
    yield from checked_page(browser, problems, base_url=server_url)


@pytest.fixture
def phone_page(browser: Any, server_url: str, problems: PageProblems) -> Iterator[Any]:
    """A phone-sized touch page (goto("/") opens the app); it must end without any problem."""
    yield from checked_page(
        browser,
        problems,
        base_url=server_url,
        viewport=PHONE,
        has_touch=True,
        is_mobile=True,
        device_scale_factor=2,
    )


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS_DIR.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS_DIR


def describe_violations(state: str, violations: list[dict[str, Any]]) -> str:
    """One paragraph per violated rule: what it asks, how bad, and each element that breaks it."""
    lines = [f"axe-core found {len(violations)} accessibility violation(s) on {state}:"]
    for violation in violations:
        lines.append(
            f"- {violation['id']} ({violation.get('impact') or 'no impact given'}): "
            f"{violation['help']} <{violation['helpUrl']}>"
        )
        for node in violation["nodes"]:
            target = " ".join(str(part) for part in node["target"])
            summary = " ".join(str(node.get("failureSummary", "")).split())
            lines.append(f"    {target}: {summary}")
    return "\n".join(lines)


@pytest.fixture(scope="session")
def assert_accessible() -> AccessibilityCheck:
    """`assert_accessible(page, state, context=None)`: axe-core on the page (or on `context`, a
    CSS selector, to check one panel), failing on any violation of any impact."""
    from axe_playwright_python.sync_playwright import Axe

    axe = Axe()

    def check(page: Any, state: str, context: str | None = None) -> None:
        violations = axe.run(page, context=context, options=AXE_OPTIONS).response["violations"]
        if violations:
            pytest.fail(describe_violations(state, violations), pytrace=False)

    return check
