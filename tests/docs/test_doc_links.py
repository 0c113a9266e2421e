"""Every relative link in README.md and docs/ leads somewhere: to a file of the project and,
with a #fragment, to a heading of that file."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from project_paths import REPO_ROOT

DOCUMENTS = [REPO_ROOT / "README.md", *sorted((REPO_ROOT / "docs").glob("*.md"))]
# [text](target) and ![alt](target); the target ends at the first space or closing parenthesis.
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)[^)]*\)")
CODE_BLOCK = re.compile(r"^```.*?^```", re.MULTILINE | re.DOTALL)
INLINE_CODE = re.compile(r"`[^`\n]*`")


def relative_links(document: Path) -> list[str]:
    text = INLINE_CODE.sub("", CODE_BLOCK.sub("", document.read_text(encoding="utf-8")))
    return [
        target
        for target in LINK.findall(text)
        if not re.match(r"[a-z][a-z0-9+.-]*:", target)  # http:, https:, mailto: …
    ]


def heading_anchors(document: Path) -> set[str]:
    """The fragments GitHub gives a document's headings: lower case, punctuation dropped,
    spaces as hyphens."""
    text = CODE_BLOCK.sub("", document.read_text(encoding="utf-8"))
    anchors = set()
    for heading in re.findall(r"^#{1,6} +(.+?) *$", text, flags=re.MULTILINE):
        plain = heading.replace("`", "").strip().lower()
        anchors.add(re.sub(r"[^\w\- ]", "", plain).replace(" ", "-"))
    return anchors


def test_the_readme_links_every_docs_page() -> None:
    linked = {target.split("#")[0] for target in relative_links(REPO_ROOT / "README.md")}
    pages = {f"docs/{page.name}" for page in DOCUMENTS[1:]}
    assert pages <= linked


def test_the_readme_is_at_most_200_lines() -> None:
    assert len((REPO_ROOT / "README.md").read_text(encoding="utf-8").splitlines()) <= 200


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda path: path.name)
def test_every_relative_link_resolves(document: Path) -> None:
    broken = []
    for target in relative_links(document):
        path, _, fragment = target.partition("#")
        linked = (document.parent / path).resolve() if path else document
        if not linked.exists():
            broken.append(f"{target}: no such file")
        elif fragment and fragment not in heading_anchors(linked):
            broken.append(f"{target}: no heading #{fragment} in {linked.name}")
    assert not broken, broken
