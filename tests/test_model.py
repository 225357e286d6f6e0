"""The model of the interview: the API (immutability, lookups, numbering), the side tables
against the text, and golden files of the whole model, the interventions and the notes.

Golden files live in tests/test_model/; after a deliberate change, review the diff and accept
it with ``pytest tests/test_model.py --force-regen``.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from lxml import etree

import edition
from conftest import CORPUS, INTERVIEW, REPO, TEI_NS
from edition.model import (
    Alternate,
    DateRef,
    Division,
    Line,
    Marked,
    Mention,
    NoteRef,
    Omission,
    Paragraph,
    Quotation,
    Supplied,
    walk_blocks,
)
from edition.text import inline_text, words

NS = {"t": TEI_NS}
XML_ID = "{http://www.w3.org/XML/1998/namespace}id"
EDITORS = "The editors of the edition project"


@pytest.fixture(scope="module")
def tei_root() -> etree._Element:
    return etree.parse(str(INTERVIEW), etree.XMLParser(resolve_entities=False, no_network=True)).getroot()


# --------------------------------------------------------------------------- helpers


def nodes_with_block(value: object, block: str | None = None) -> Iterator[tuple[object, str | None]]:
    """Every model node under ``value`` in field order (document order), with the id of the block
    it stands in: the nearest paragraph, line, quotation or division that has an id."""
    if isinstance(value, tuple):
        for item in value:
            yield from nodes_with_block(item, block)
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        yield value, block
        if isinstance(value, Paragraph | Line | Quotation | Division) and value.id:
            block = value.id
        for field in dataclasses.fields(value):
            yield from nodes_with_block(getattr(value, field.name), block)


def text_nodes(ed: edition.Edition) -> list[tuple[object, str | None]]:
    """Nodes of the text (front, body, back), then of every note (whose block is the note)."""
    found = list(nodes_with_block(ed.divisions))
    for note in ed.notes:
        found.extend(nodes_with_block(note.blocks, note.id))
    return found


def intervention_id(node: object) -> str | None:
    """The intervention an inline node marks, if it marks one."""
    return node.intervention if isinstance(node, Alternate | Supplied | Omission | Marked) else None


def note_text(note: edition.Note) -> str:
    return " ".join(inline_text(p.content) for p in walk_blocks(note.blocks) if isinstance(p, Paragraph))


def shown(value: str | None) -> str:
    return "—" if value is None else f'"{value}"'


def table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> str:
    """A plain-text table with aligned columns, one row a line."""
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    lines = [
        " | ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in [header, *rows]
    ]
    lines.insert(1, "-+-".join("-" * width for width in widths))
    return "\n".join(lines) + "\n"


def interventions_table(ed: edition.Edition) -> str:
    header = (
        "id",
        "kind",
        "found",
        "edited",
        "reason",
        "block",
        "certainty",
        "responsibility",
        "description",
    )
    rows = [
        (
            i.id,
            i.kind.value,
            shown(i.found),
            shown(i.edited),
            shown(i.reason),
            shown(i.block),
            shown(i.certainty),
            shown(i.responsibility),
            shown(i.description),
        )
        for i in ed.interventions
    ]
    return table(header, rows)


def notes_table(ed: edition.Edition) -> str:
    header = ("number", "label", "id", "block", "responsibility", "text")
    rows = [
        (str(n.number), n.label, n.id, shown(n.block), shown(n.responsibility), note_text(n))
        for n in ed.notes
    ]
    return table(header, rows)


def relative_dump(ed: edition.Edition) -> str:
    """The model dump with the checkout's location taken out of the path."""
    return ed.pretty().replace(REPO.as_posix() + "/", "")


# --------------------------------------------------------------------------- golden files


def test_model_dump(interview: edition.Edition, file_regression) -> None:
    file_regression.check(relative_dump(interview), basename="interview_model", extension=".txt")


def test_interventions_table(interview: edition.Edition, file_regression) -> None:
    file_regression.check(
        interventions_table(interview), basename="interview_interventions", extension=".txt"
    )


def test_notes_table(interview: edition.Edition, file_regression) -> None:
    file_regression.check(notes_table(interview), basename="interview_notes", extension=".txt")


# --------------------------------------------------------------------------- API


def test_edition_and_its_parts_are_immutable(interview: edition.Edition) -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        interview.notes = ()  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        interview.metadata.title = "Another title"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        interview.notes[0].label = "*"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        interview.body.blocks = ()  # type: ignore[misc]
    for collection in (interview.notes, interview.interventions, interview.entities, interview.body.blocks):
        assert isinstance(collection, tuple)


def test_lookups_by_id(interview: edition.Edition) -> None:
    assert interview.note("n-kgb").number == 7
    assert interview.intervention("i-peoples").edited == "people’s"
    assert interview.entity("rferl").kind is edition.EntityKind.ORGANISATION
    for item in (*interview.notes, *interview.interventions, *interview.entities):
        lookup = {
            edition.Note: interview.note,
            edition.Intervention: interview.intervention,
            edition.Entity: interview.entity,
        }[type(item)]
        assert lookup(item.id) is item
    with pytest.raises(KeyError):
        interview.note("no-such-note")
    with pytest.raises(KeyError):
        interview.intervention("no-such-intervention")
    with pytest.raises(KeyError):
        interview.entity("no-such-entity")


def test_paragraphs_are_numbered_one_to_n_with_stable_ids(interview: edition.Edition) -> None:
    paragraphs = list(interview.paragraphs())
    assert [p.number for p in paragraphs] == list(range(1, 15))
    assert [p.id for p in paragraphs] == [f"p{n:02d}" for n in range(1, 15)]
    again = edition.load(INTERVIEW)
    assert [(p.id, p.number) for p in again.paragraphs()] == [(p.id, p.number) for p in paragraphs]
    assert again == interview  # loading is deterministic: the same model, field for field


def test_metadata(interview: edition.Edition) -> None:
    meta = interview.metadata
    assert meta.title == "Memories of January 20: “We Knew the Army Would Enter Baku…”"
    assert meta.subtitle == "A critical edition of the English text of an interview with Nemat Panahli"
    assert meta.authors == ("Salim Haqverdiyev",)
    assert meta.editors == (EDITORS,)
    assert meta.names("interviewee") == ("Nemat Panahli",)
    assert meta.language == "en"
    assert meta.date == "2026-11-25"
    assert meta.publisher == "The edition project"
    assert [p.topic for p in meta.principles] == [
        "Correction",
        "Normalisation",
        "Quotation",
        "Hyphenation",
        "Segmentation",
        "Interpretation",
        "General",
    ]
    assert "Translation of: Russian. Radio Azadliq." in meta.source


# --------------------------------------------------------------------------- side tables against the text


def test_every_mention_with_an_entity_is_an_occurrence_and_back(interview: edition.Edition) -> None:
    mentions = {
        (node.entity, node.id, block)
        for node, block in text_nodes(interview)
        if isinstance(node, Mention) and node.entity is not None
    }
    occurrences = {(e.id, o.mention, o.block) for e in interview.entities for o in e.occurrences}
    assert mentions == occurrences
    assert len(mentions) == 69
    every_mention = [node.id for node, _ in text_nodes(interview) if isinstance(node, Mention)]
    assert len(every_mention) == len(set(every_mention)), "mention ids must be unique"


def test_every_note_ref_has_its_note_numbered_in_document_order(interview: edition.Edition) -> None:
    refs = [
        (node.note, block)
        for node, block in nodes_with_block(interview.divisions)
        if isinstance(node, NoteRef)
    ]
    assert len(refs) == len(interview.notes) == 22
    assert [interview.note(note_id).number for note_id, _ in refs] == list(range(1, 23))
    assert [note.number for note in interview.notes] == list(range(1, 23))
    assert Counter(note_id for note_id, _ in refs) == Counter(note.id for note in interview.notes)
    for note_id, block in refs:
        assert interview.note(note_id).block == block, note_id
        assert interview.note(note_id).label == str(interview.note(note_id).number)


def test_every_intervention_marks_its_place_in_the_text(interview: edition.Edition) -> None:
    places = [
        (intervention_id(node), block) for node, block in text_nodes(interview) if intervention_id(node)
    ]
    assert [i for i, _ in places] == [item.id for item in interview.interventions]
    for item_id, block in places:
        assert interview.intervention(item_id).block == block, item_id


def test_note_texts_are_the_tei_notes(interview: edition.Edition, tei_root: etree._Element) -> None:
    for element in tei_root.xpath("t:text//t:note", namespaces=NS):
        note = interview.note(element.get(XML_ID))
        assert words(note_text(note)) == words("".join(element.itertext())), note.id
        assert note.responsibility == EDITORS
        assert note.type == "editorial"


def test_broadcaster_has_both_names_and_both_mentions_point_to_it(interview: edition.Edition) -> None:
    rferl = interview.entity("rferl")
    assert set(rferl.names) == {"Radio Azadliq", "Radio Liberty"}
    assert rferl.name == "Radio Azadliq"
    mentions = {
        inline_text(node.children): node.entity
        for node, _ in text_nodes(interview)
        if isinstance(node, Mention)
        and node.kind is edition.EntityKind.ORGANISATION
        and inline_text(node.children).startswith("Radio")
    }
    assert mentions == {"Radio Azadliq": "rferl", "Radio Liberty": "rferl"}
    assert [o.block for o in rferl.occurrences] == ["p01", "p02", "p05"]


def test_every_date_in_the_text_carries_a_normalised_value(
    interview: edition.Edition, tei_root: etree._Element
) -> None:
    dates = [node for node, _ in text_nodes(interview) if isinstance(node, DateRef)]
    expected = [
        element.get("when") or f"{element.get('from')}/{element.get('to')}"
        for element in tei_root.xpath("t:text//t:date", namespaces=NS)
    ]
    assert len(dates) == len(expected) == 17
    assert all(date.when for date in dates)
    assert [date.when for date in dates] == expected


def test_entities_are_the_header_records(interview: edition.Edition, tei_root: etree._Element) -> None:
    records = tei_root.xpath("t:teiHeader//t:person|t:teiHeader//t:place|t:teiHeader//t:org", namespaces=NS)
    assert [e.id for e in interview.entities] == [r.get(XML_ID) for r in records]
    assert Counter(e.kind.value for e in interview.entities) == {"person": 8, "organisation": 9, "place": 14}
    assert interview.entity("panahli").names == ("Nemat Panahli", "Nemət Pənahlı")
    assert [o.block for o in interview.entity("yazov").occurrences] == ["n-minister-of-defence"]


def test_interventions_carry_reason_responsibility_and_certainty(interview: edition.Edition) -> None:
    kinds = Counter(item.kind.value for item in interview.interventions)
    assert kinds == {"supplied": 5, "correction": 2, "damage": 1, "gap": 1, "removal": 1}
    for item in interview.interventions:
        assert item.reason, f"{item.id} has no reason"
        assert item.line is not None
    peoples = interview.intervention("i-peoples")
    assert (peoples.found, peoples.edited, peoples.block) == ("peoples", "people’s", "p11")
    assert peoples.reason == "A possessive without its apostrophe in the found text."
    assert peoples.responsibility == EDITORS
    assert interview.intervention("i-closing-mark").certainty == "medium"
    assert interview.intervention("i-superscript-19").certainty == "high"
    gap = interview.intervention("i-bracket-lost")
    assert (gap.kind, gap.found, gap.edited, gap.block) == (edition.InterventionKind.GAP, "", "", "p12")


# --------------------------------------------------------------------------- generated ids


def test_generated_ids_never_collide_with_source_ids(write_tei: Callable[..., Path]) -> None:
    path = write_tei(
        '<div xml:id="p1"><p>One<note>A note.</note> <persName>Ann</persName></p>'
        '<p xml:id="p3">Two</p><p>Three</p><p xml:id="div1">Four</p><div><p>Five</p></div></div>'
        '<div xml:id="n1"><p xml:id="m1">Six <choice><sic>teh</sic><corr>the</corr></choice></p>'
        '<p xml:id="i1">Seven<note>B.</note> <persName>Ben</persName> <supplied>eight</supplied></p></div>'
    )
    ed = edition.load(path)
    divisions = [d.id for d in walk_blocks(ed.divisions) if isinstance(d, Division)]
    paragraphs = list(ed.paragraphs())
    assert divisions[1] == "p1" and divisions[-1] == "n1", "source ids are kept where they stand"
    assert [p.number for p in paragraphs] == list(range(1, 8))
    assert [p.id for p in paragraphs if p.number in (2, 4, 6, 7)] == ["p3", "div1", "m1", "i1"]
    # every id the model gives out (they all become anchors in one page) is unique
    ids = [node.id for node, _ in text_nodes(ed) if getattr(node, "id", None) is not None]
    ids += [note.id for note in ed.notes] + [item.id for item in ed.interventions]
    assert len(ids) == 7 + 4 + 2 + 2 + 2, (
        ids
    )  # paragraphs, divisions (with body), mentions, notes, interventions
    assert [i for i, count in Counter(ids).items() if count > 1] == []


# --------------------------------------------------------------------------- walking the model


def test_walk_blocks_yields_every_heading() -> None:
    poem = edition.load(CORPUS / "poem.xml")
    table = edition.load(CORPUS / "abbreviations-table.xml")
    poem_headings = [b for b in walk_blocks(poem.divisions) if isinstance(b, Paragraph) and b.role == "head"]
    table_headings = [
        b for b in walk_blocks(table.divisions) if isinstance(b, Paragraph) and b.role == "head"
    ]
    assert [inline_text(h.content) for h in poem_headings] == ["I'm nobody! Who are you?"]
    assert [inline_text(h.content) for h in table_headings] == [
        "Inventory of the South storeroom",
        "Goods in the storeroom",
    ]
