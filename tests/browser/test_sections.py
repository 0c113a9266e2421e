"""The page's sections in real Chromium: a bar of links, one section open at a time, each a
landmark with a heading, named in the URL's hash (with the model and the section's settings),
reachable by keyboard, loaded only when opened, updated while open and brought up to date when
opened again; every section passes axe-core on desktop and on a phone.

A new section joins SECTIONS below (and static/js/sections.js) and is held to all of this.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from page_actions import (
    ONE,
    draw_with_mouse,
    expect,
    expect_prediction,
    ink,
    open_app,
    open_app_and_draw,
    open_section,
    pick_unit,
)

pytestmark = pytest.mark.browser

# Every section of the page, in the order of its links: (name in the hash, title).
SECTIONS = [
    ("see", "See it think"),
    ("why", "Why this answer"),
    ("teach", "Teach it"),
    ("fool", "Fool it"),
    ("train", "Train your own"),
    ("how-trained", "How it was trained"),
]


def hash_of(page: Any) -> str:
    return page.evaluate("() => decodeURIComponent(window.location.hash)")


def requested(page: Any) -> list[str]:
    """Every URL this page asks for from now on (a list that grows)."""
    urls: list[str] = []
    page.on("request", lambda request: urls.append(request.url))
    return urls


def expect_only_open(page: Any, name: str) -> None:
    for other, _ in SECTIONS:
        section = page.locator(f"#{other}")
        if other == name:
            expect(section).to_be_visible()
        else:
            expect(section).to_be_hidden()
    expect(page.locator('.section-nav a[aria-current="true"]')).to_have_attribute(
        "href", f"#{name}"
    )


def test_the_links_name_every_section_and_see_it_think_opens_first(page: Any) -> None:
    open_app(page)
    links = page.get_by_role("navigation", name="Sections").get_by_role("link")
    assert links.all_inner_texts() == [title for _, title in SECTIONS]
    expect_only_open(page, "see")
    assert hash_of(page) == "", "nothing is written to the URL until something changes"


@pytest.mark.parametrize(("name", "title"), SECTIONS)
def test_each_section_is_a_landmark_with_a_heading_named_in_the_hash(
    page: Any, assert_accessible: Any, name: str, title: str
) -> None:
    open_app_and_draw(page, ONE, "1")
    open_section(page, name)
    expect_only_open(page, name)
    region = page.get_by_role("region", name=title)
    expect(region).to_be_visible()
    expect(region.get_by_role("heading", name=title, level=2)).to_be_focused()
    assert hash_of(page) == f"#{name}?model=digits-0-1"
    assert_accessible(page, f"the section {title!r} after a drawn 1")


@pytest.mark.parametrize(("name", "title"), SECTIONS)
def test_each_section_on_a_phone(
    phone_page: Any, assert_accessible: Any, name: str, title: str
) -> None:
    page = phone_page
    open_app_and_draw(page, ONE, "1", touch=True)
    open_section(page, name, touch=True)
    expect_only_open(page, name)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 375, f"{title}: the page scrolls sideways on a phone ({width} px wide)"
    assert_accessible(page, f"the section {title!r} on a phone")


def test_a_link_opens_its_section_with_its_model(page: Any) -> None:
    page.goto("/#how-trained?model=digits-0-9")
    expect_only_open(page, "how-trained")
    expect(page.locator('#model-switch input[value="digits-0-9"]')).to_be_checked()
    expect(page.locator("#report-summary")).to_contain_text("digits-0-9")
    expect(page.locator("#bars li.bar")).to_have_count(10)


def test_a_link_to_an_unknown_section_or_model_opens_the_first_with_the_default(
    page: Any,
) -> None:
    page.goto("/#nowhere?model=no-such-model")
    expect(page.locator("#network-diagram g.unit").first).to_be_attached()
    expect_only_open(page, "see")
    expect(page.locator('#model-switch input[value="digits-0-1"]')).to_be_checked()
    assert hash_of(page) == "#see?model=digits-0-1", "the URL says what is shown"


def test_the_model_switch_is_written_to_the_url_and_read_back(page: Any) -> None:
    open_app(page)
    open_section(page, "teach")
    page.locator('#model-switch input[value="digits-0-9"]').check()
    expect(page.locator("#teach-panel .class-button")).to_have_count(10)
    assert hash_of(page) == "#teach?model=digits-0-9"
    page.reload()
    expect_only_open(page, "teach")
    expect(page.locator('#model-switch input[value="digits-0-9"]')).to_be_checked()
    expect(page.locator("#teach-panel .class-button")).to_have_count(10)


def test_back_returns_to_the_section_before(page: Any) -> None:
    open_app(page)
    open_section(page, "teach")
    open_section(page, "how-trained")
    page.go_back()
    expect_only_open(page, "teach")
    page.go_back()
    expect_only_open(page, "see")


def test_sections_are_reachable_with_the_keyboard(page: Any) -> None:
    open_app_and_draw(page, ONE, "1")
    page.locator('.section-nav a[href="#why"]').focus()
    page.keyboard.press("Tab")
    expect(page.locator('.section-nav a[href="#teach"]')).to_be_focused()
    page.keyboard.press("Enter")
    heading = page.get_by_role("heading", name="Teach it", level=2)
    expect(heading).to_be_focused()
    expect(page.locator('#teach-panel .class-button[data-class="0"]')).to_be_enabled()
    page.keyboard.press("Tab")
    expect(page.locator('#teach-panel .class-button[data-class="0"]')).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("#teach-loss")).to_contain_text("p(“0”)")


def test_a_closed_section_costs_nothing_until_it_is_opened(page: Any) -> None:
    urls = requested(page)
    open_app_and_draw(page, ONE, "1")
    page.locator('#model-switch input[value="digits-0-9"]').check()
    draw_with_mouse(page, ONE)
    expect_prediction(page, "1")
    untouched = [
        "/train/availability",
        "/training",
        "/static/js/sections/train_your_own.js",
        "/static/js/sections/how_it_was_trained.js",
        "/static/js/train_panel.js",
        "/static/js/training_report.js",
    ]
    assert not [url for url in urls if any(part in url for part in untouched)], urls

    open_section(page, "train")
    page.wait_for_function(
        "() => !document.querySelector('#train-unavailable').hidden"
        " || !document.querySelector('#train-form').hidden"
    )
    assert any("/train/availability" in url for url in urls)
    assert not any(url.endswith("/training") for url in urls), "the report waits for its section"
    open_section(page, "how-trained")
    expect(page.locator("#report-summary")).to_contain_text("digits-0-9")
    assert [url for url in urls if url.endswith("/training")] == [
        f"{page.evaluate('location.origin')}/models/digits-0-9/training"
    ]


def test_the_open_section_follows_the_drawing_and_a_closed_one_catches_up(page: Any) -> None:
    urls = requested(page)
    open_app(page)
    open_section(page, "teach")
    draw_with_mouse(page, ONE)
    expect_prediction(page, "1")
    # Teach it, open, has the drawing; See it think, closed, was not repainted meanwhile.
    expect(page.locator('#teach-panel .class-button[data-class="0"]')).to_be_enabled()
    assert ink(page, "#input-preview")["ink"] == 0
    open_section(page, "see")
    expect(page.locator("#input-preview")).to_have_attribute("aria-label", re.compile("carry ink"))
    assert ink(page, "#input-preview")["ink"] > 20

    # A model chosen while How it was trained is closed is fetched only when it opens.
    page.locator('#model-switch input[value="digits-0-9"]').check()
    expect(page.locator("#bars li.bar")).to_have_count(10)
    expect_prediction(page, "1")
    assert not any(url.endswith("/training") for url in urls)
    open_section(page, "how-trained")
    expect(page.locator("#report-summary")).to_contain_text("digits-0-9")
    # While it is open, it follows the switch.
    page.locator('#model-switch input[value="digits-0-1"]').check()
    expect(page.locator("#report-summary")).to_contain_text("digits-0-1")


def test_a_unit_picked_in_one_section_is_still_explained_in_the_next(page: Any) -> None:
    open_app_and_draw(page, ONE, "1")
    pick_unit(page, 1, 3)
    body = page.locator("#explainer-body")
    expect(body).to_contain_text("Hidden layer 2 · unit 4")
    open_section(page, "teach")
    expect(page.locator("#teach #explainer-body")).to_contain_text(
        "Hidden layer 2 · unit 4"
    )
