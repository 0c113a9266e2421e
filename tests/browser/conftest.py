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
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from browser_pages import ARTIFACTS_DIR, PHONE, PageProblems, checked_page
from live_server import running_server

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-gpu",
    "--no-first-run",
    "--disable-sync",
]


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


@pytest.fixture
def problems() -> PageProblems:
    return PageProblems()


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
