"""How every browser test gets its page: the viewports, the problems a page must end without
(console errors, page errors, failed requests) and a page checked for them.

A plain module with a name of its own, not conftest.py: a test that imported `conftest` by name
could get another folder's conftest, depending on which tests pytest was given. The fixtures
built on this are tests/browser/conftest.py's.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from project_paths import REPO_ROOT

ARTIFACTS_DIR = REPO_ROOT / "tests" / "artifacts"
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 375, "height": 667}


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


def checked_page(browser: Any, problems: PageProblems, **context_options: Any) -> Iterator[Any]:
    """The body of a page fixture: yields a page in its own context, then closes it and fails
    the test if anything went wrong on it (`yield from checked_page(...)`)."""
    page = open_page(browser, problems, **context_options)
    try:
        yield page
    finally:
        page.context.close()
    assert problems.messages == [], "the page reported problems:\n" + "\n".join(problems.messages)
