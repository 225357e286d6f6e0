"""The two text views of the interview against the text as found.

The diplomatic view must say what the found text says, word for word, except the web
material the editors removed (the site navigation glued to the end of the found file). The
reading view must carry every correction and no reading the editors corrected away.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator

import pytest

import edition
from conftest import FOUND
from edition.model import (
    Block,
    Division,
    Group,
    InterventionKind,
    Line,
    LineGroup,
    Paragraph,
    Quotation,
    View,
    walk_blocks,
)
from edition.text import inline_text, words


@pytest.fixture(scope="module")
def found_text() -> str:
    return FOUND.read_text(encoding="utf-8")


def paragraphs_in(block: Block) -> Iterator[Paragraph]:
    """The paragraphs (and headings) of a block, itself included, in document order."""
    for inner in walk_blocks((block,)):
        if isinstance(inner, Paragraph):
            yield inner


def find_block(ed: edition.Edition, block_id: str) -> Block:
    """The block (paragraph, heading, quotation, division...) with this id; the test fails if none."""
    for block in walk_blocks(ed.divisions):
        if getattr(block, "id", None) == block_id:
            return block
    raise AssertionError(f"no block with id {block_id!r}")


def block_text(ed: edition.Edition, block_id: str, view: View = "reading") -> str:
    """One block's text in one view: a paragraph's inline text, or its paragraphs' texts joined."""
    block = find_block(ed, block_id)
    if isinstance(block, Paragraph):
        return inline_text(block.content, view)
    return "\n".join(inline_text(p.content, view) for p in paragraphs_in(block))


# --------------------------------------------------------------------------- diplomatic view


def test_diplomatic_view_is_the_found_text_without_the_site_navigation(
    interview: edition.Edition, found_text: str
) -> None:
    found = words(found_text)
    diplomatic = words(interview.text("diplomatic"))
    navigation = words(found_text.strip().splitlines()[-1])
    assert navigation[:2] == ["Ana", "səhifəNewsMemories"], (
        "the found text's last line should be the navigation"
    )

    matcher = difflib.SequenceMatcher(a=found, b=diplomatic, autojunk=False)
    differences = [op for op in matcher.get_opcodes() if op[0] != "equal"]
    shown = [(tag, found[i1:i2], diplomatic[j1:j2]) for tag, i1, i2, j1, j2 in differences]
    assert len(differences) == 1, f"expected only the navigation removed, found: {shown}"
    tag, i1, i2, j1, j2 = differences[0]
    assert tag == "delete"
    assert (i2, j1, j2) == (len(found), len(diplomatic), len(diplomatic)), (
        "the deletion must be at the very end"
    )
    assert found[i1:i2] == navigation


def test_removed_navigation_is_recorded_where_it_stood(interview: edition.Edition) -> None:
    removal = interview.intervention("i-site-navigation")
    assert removal.kind is InterventionKind.REMOVAL
    assert removal.found == removal.edited == ""
    assert removal.description is not None and "Ana səhifə" in removal.description
    assert "Ana" not in words(interview.text("diplomatic"))
    assert "Ana" not in words(interview.text("reading"))


def test_diplomatic_view_keeps_the_errors_and_leaves_out_supplied_text(interview: edition.Edition) -> None:
    diplomatic = interview.text("diplomatic")
    assert "Azeerbaiajn" in words(diplomatic)
    assert "collected peoples hunting rifles" in diplomatic
    assert "from the 19 to 20 of January 1990" in diplomatic
    assert block_text(interview, "p10", "diplomatic").endswith("doesn’t appoint our leadership.")
    assert block_text(interview, "p11", "diplomatic").startswith("On January 20, 1990")
    assert block_text(interview, "pull-quote", "diplomatic").startswith("… but nobody")


def test_views_differ_only_at_interventions(interview: edition.Edition) -> None:
    """Paragraphs without an intervention read the same in both views."""
    touched = {item.block for item in interview.interventions}
    for paragraph in interview.paragraphs():
        if paragraph.id not in touched:
            assert inline_text(paragraph.content, "reading") == inline_text(paragraph.content, "diplomatic")


# --------------------------------------------------------------------------- reading view


def test_reading_view_contains_every_correction_where_it_was_made(interview: edition.Edition) -> None:
    edited = [item for item in interview.interventions if item.edited]
    assert len(edited) == 8
    for item in edited:
        assert item.block is not None, item
        assert item.edited in block_text(interview, item.block, "reading"), item
        assert item.edited in interview.text("reading"), item


def test_reading_view_has_no_corrected_reading_where_it_was_corrected(interview: edition.Edition) -> None:
    corrections = [item for item in interview.interventions if item.kind is InterventionKind.CORRECTION]
    assert {item.id for item in corrections} == {"i-azerbaijan", "i-peoples"}
    for item in corrections:
        assert item.block is not None
        reading = words(block_text(interview, item.block, "reading"))
        diplomatic = words(block_text(interview, item.block, "diplomatic"))
        for word in words(item.found):
            assert word not in reading, f"{item.id}: sic reading {word!r} left in {item.block}"
            assert word in diplomatic, f"{item.id}: {word!r} missing from the diplomatic view of {item.block}"
    # "peoples" is also a correct word of the text, in another paragraph: the check above is per place
    assert "peoples" in words(block_text(interview, "p08", "reading"))
    assert "Azeerbaiajn" not in words(interview.text("reading"))


def test_reading_view_supplies_what_the_extraction_lost(interview: edition.Edition) -> None:
    assert "from the 19th to 20th of January 1990" in block_text(interview, "p04")
    assert block_text(interview, "p10").endswith("doesn’t appoint our leadership.”")
    assert block_text(interview, "p11").startswith("“On January 20, 1990")
    assert block_text(interview, "pull-quote").startswith("“… but nobody expected")
    assert "collected people’s hunting rifles" in block_text(interview, "p11")


def test_notes_are_in_neither_view(interview: edition.Edition) -> None:
    for view in ("reading", "diplomatic"):
        text = interview.text(view)
        assert "Caspian Flotilla" not in text
        assert "Dmitry Yazov" not in text


def test_views_are_normalised_plain_text(interview: edition.Edition) -> None:
    for view in ("reading", "diplomatic"):
        text = interview.text(view)
        assert text.endswith("Salim Haqverdiyev\n")
        assert text.startswith("Memories of January 20: “We Knew the Army Would Enter Baku…”\n\n")
        assert "\n\n\n" not in text
        assert all(line == line.strip() and "  " not in line for line in text.splitlines())


def test_unknown_view_is_refused(interview: edition.Edition) -> None:
    with pytest.raises(ValueError, match="unknown view"):
        interview.text("print")  # type: ignore[arg-type]


def test_paragraph_helper_covers_every_block_kind_the_interview_uses(interview: edition.Edition) -> None:
    """The helpers above must not silently skip text: every word of the reading view is in some block."""
    kinds = {type(block) for block in walk_blocks(interview.divisions)}
    assert kinds <= {Division, Group, Quotation, Paragraph, LineGroup, Line}
    per_block = " ".join(inline_text(p.content) for p in paragraphs_in(interview.body))
    attribution = inline_text(find_block(interview, "pull-quote").attribution)  # type: ignore[union-attr]
    assert sorted(words(per_block + " " + attribution)) == sorted(words(interview.text("reading")))
