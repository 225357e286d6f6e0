"""The small TEI files of tests/corpus/ load into sensible models: one test class per file,
with what that file exercises (see tests/corpus/README.md), and a golden dump of each model.

Golden dumps live in tests/test_corpus_models/; after a deliberate change, review the diff
and accept it with ``pytest tests/test_corpus_models.py --force-regen``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from functools import cache
from typing import TypeVar

import pytest

import edition
from conftest import CORPUS, REPO
from edition import EditionWarning, EntityKind, InterventionKind
from edition.model import (
    Alternate,
    DateRef,
    Division,
    Figure,
    Group,
    Line,
    LineBreak,
    LineGroup,
    Link,
    ListBlock,
    Marked,
    Mention,
    Milestone,
    NoteRef,
    Omission,
    Paragraph,
    Quotation,
    Quote,
    Styled,
    Supplied,
    Table,
)
from edition.text import inline_text

T = TypeVar("T")
CORPUS_FILES = sorted(p.name for p in CORPUS.glob("*.xml"))


@cache
def load(name: str) -> edition.Edition:
    """A corpus file, loaded once for the whole module (strictly: these must be valid)."""
    return edition.load(CORPUS / name)


def nodes(value: object) -> Iterator[object]:
    """Every model node under ``value`` (an edition, a block, a tuple...), in document order."""
    if isinstance(value, edition.Edition):
        yield from nodes(value.divisions)
        yield from nodes(value.notes)
    elif isinstance(value, tuple):
        for item in value:
            yield from nodes(item)
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        yield value
        for field in dataclasses.fields(value):
            yield from nodes(getattr(value, field.name))


def all_of(value: object, kind: type[T]) -> list[T]:
    return [node for node in nodes(value) if isinstance(node, kind)]


def text_of(block: Paragraph | Line) -> str:
    return inline_text(block.content)


def kinds(ed: edition.Edition) -> list[tuple[str, str, str]]:
    return [(i.kind.value, i.found, i.edited) for i in ed.interventions]


# --------------------------------------------------------------------------- golden dumps


@pytest.mark.parametrize("name", CORPUS_FILES)
def test_corpus_model_dump(name: str, file_regression) -> None:
    if name.startswith("nonstrict-"):
        with pytest.warns(EditionWarning):
            ed = edition.load(CORPUS / name, strict=False)
    else:
        ed = load(name)
    dump = ed.pretty().replace(REPO.as_posix() + "/", "")
    file_regression.check(dump, basename=name.removesuffix(".xml"), extension=".txt")


@pytest.mark.parametrize("name", [n for n in CORPUS_FILES if not n.startswith("nonstrict-")])
def test_side_tables_agree_with_the_text(name: str) -> None:
    ed = load(name)
    refs = [ref.note for ref in all_of(ed.divisions, NoteRef)]
    assert refs == [note.id for note in ed.notes]
    assert [note.number for note in ed.notes] == list(range(1, len(ed.notes) + 1))
    marked = [n.intervention for n in nodes(ed) if isinstance(n, Alternate | Supplied | Omission | Marked)]
    assert marked == [i.id for i in ed.interventions]
    mentions = {(m.entity, m.id) for m in all_of(ed, Mention) if m.entity}
    assert mentions == {(e.id, o.mention) for e in ed.entities for o in e.occurrences}
    assert [p.number for p in ed.paragraphs()] == list(range(1, len(list(ed.paragraphs())) + 1))


# --------------------------------------------------------------------------- one file each


class TestLetter:
    ed = property(lambda self: load("letter.xml"))

    def test_opener_and_closer_hold_their_blocks(self) -> None:
        (letter,) = self.ed.body.blocks
        assert isinstance(letter, Division) and letter.type == "letter" and letter.level == 1
        groups = {g.role: g for g in all_of(letter, Group)}
        assert set(groups) == {"opener", "closer", "postscript"}
        opener = [(b.role, text_of(b)) for b in groups["opener"].blocks]  # type: ignore[union-attr]
        assert opener == [("dateline", "Testford, 1 March 2024"), ("salute", "Dear Ben,")]
        closer = [(b.role, text_of(b)) for b in groups["closer"].blocks]  # type: ignore[union-attr]
        assert closer == [("salute", "With best wishes,"), ("signed", "Ann")]
        (postscript,) = groups["postscript"].blocks
        assert isinstance(postscript, Paragraph) and text_of(postscript) == "P.S. Do not forget the folder."

    def test_dateline_has_a_place_and_a_date(self) -> None:
        dateline = self.ed.body.blocks[0].blocks[0].blocks[0]  # type: ignore[union-attr]
        (place,) = all_of(dateline, Mention)
        (date,) = all_of(dateline, DateRef)
        assert (place.kind, place.entity) == (EntityKind.PLACE, "testford")
        assert date.when == "2024-03-01"

    def test_paragraphs_keep_their_ids_and_are_numbered(self) -> None:
        assert [(p.id, p.number) for p in self.ed.paragraphs()] == [
            ("letter-p1", 1),
            ("letter-p2", 2),
            ("letter-p3", 3),
            ("p4", 4),
        ]

    def test_correction_note_and_entities(self) -> None:
        (correction,) = self.ed.interventions
        assert (correction.kind, correction.found, correction.edited, correction.block) == (
            InterventionKind.CORRECTION,
            "mistkae",
            "mistake",
            "letter-p1",
        )
        (note,) = self.ed.notes
        assert (note.responsibility, note.block, note.number) == ("Chloe Editor", "letter-p2", 1)
        assert [(e.id, e.kind, len(e.occurrences)) for e in self.ed.entities] == [
            ("ben", EntityKind.PERSON, 1),
            ("testford", EntityKind.PLACE, 2),
        ]
        assert "mistake" in self.ed.text() and "mistkae" not in self.ed.text()
        assert "mistkae" in self.ed.text("diplomatic")


class TestPoem:
    ed = property(lambda self: load("poem.xml"))

    def test_line_groups_and_line_numbers(self) -> None:
        poem = self.ed.body.blocks[0]
        assert isinstance(poem, LineGroup) and poem.type == "poem"
        stanzas = poem.items
        assert [s.type for s in stanzas] == ["stanza", "stanza"]  # type: ignore[union-attr]
        lines = all_of(poem, Line)
        assert [line.number for line in lines] == list(range(1, 9))
        assert [len(s.items) for s in stanzas] == [4, 4]  # type: ignore[union-attr]
        assert text_of(lines[2]) == "Then there's a pair of us — don't tell!"
        assert text_of(lines[7]) == "To an admiring bog!"

    def test_heading_carries_an_editorial_note(self) -> None:
        heading = self.ed.body.blocks[0].heading  # type: ignore[union-attr]
        assert heading is not None and heading.role == "head"
        assert text_of(heading) == "I'm nobody! Who are you?"
        (ref,) = all_of(heading, NoteRef)
        note = self.ed.note(ref.note)
        assert note.responsibility == "The edition test corpus"
        assert "added for this test file" in inline_text(note.blocks[0].content)  # type: ignore[union-attr]

    def test_text_has_one_line_a_verse_and_italics(self) -> None:
        text = self.ed.text()
        assert "I'm nobody! Who are you?\nAre you nobody, too?\n" in text
        (italic,) = [s for s in all_of(self.ed, Styled) if s.rend]
        assert italic.rend == ("italic",)
        assert inline_text(italic.children) == "Poems by Emily Dickinson, Second Series"
        assert self.ed.metadata.authors == ("Emily Dickinson",)
        assert "Poems by Emily Dickinson, Second Series" in self.ed.metadata.source


class TestAbbreviationsTable:
    ed = property(lambda self: load("abbreviations-table.xml"))

    def test_abbreviations_are_expansions_and_spellings_regularisations(self) -> None:
        assert kinds(self.ed) == [
            ("expansion", "Sth.", "South"),
            ("expansion", "Mr", "Mister"),
            ("expansion", "Mon.", "Monday"),
            ("regularisation", "entred", "entered"),
            ("expansion", "viz.", "namely"),
            ("regularisation", "hony", "honey"),
            ("expansion", "bxs.", "boxes"),
        ]
        division = self.ed.body.blocks[0]
        assert isinstance(division, Division) and division.heading is not None
        assert inline_text(division.heading.content) == "Inventory of the South storeroom"
        assert inline_text(division.heading.content, "diplomatic") == "Inventory of the Sth. storeroom"
        assert self.ed.intervention("i1").block == division.heading.id == f"{division.id}-head"

    def test_line_break_keeps_a_space(self) -> None:
        first = next(self.ed.paragraphs())
        assert all_of(first, LineBreak) == [LineBreak(hyphenated=False)]
        assert text_of(first) == (
            "Taken by Mister Ben Sample on the first Monday of the month, "
            "and entered in this book namely as follows."
        )

    def test_table_rows_cells_and_header_row(self) -> None:
        (table,) = all_of(self.ed, Table)
        assert table.heading is not None and text_of(table.heading) == "Goods in the storeroom"
        assert [row.header for row in table.rows] == [True, False, False]
        cells = [[" ".join(text_of(b) for b in cell.blocks) for cell in row.cells] for row in table.rows]  # type: ignore[arg-type]
        assert cells == [["Item", "Quantity"], ["Candles", "12"], ["Jars of honey", "three"]]
        numbers = [s for s in all_of(table, Styled) if s.role == "number"]
        assert [inline_text(n.children) for n in numbers] == ["12", "three"]

    def test_ab_milestone_and_lists(self) -> None:
        paragraphs = list(self.ed.paragraphs())
        assert [text_of(p) for p in paragraphs][1:] == ["Total: fifteen things.", "Things still to be done:"]
        assert [s.role for s in all_of(paragraphs[1], Styled)] == ["segment", "number"]
        assert all_of(self.ed, Milestone) == [Milestone("page", "2")]
        numbered, gloss = all_of(self.ed, ListBlock)
        assert numbered.ordered and not gloss.ordered
        assert [inline_text(i.blocks[0].content) for i in numbered.items] == [  # type: ignore[union-attr]
            "count the boxes again;",
            "sweep the floor;",
            "lock the door.",
        ]
        assert [(inline_text(i.label), inline_text(i.blocks[0].content)) for i in gloss.items] == [  # type: ignore[union-attr]
            ("Sth.", "South"),
            ("bxs.", "boxes"),
        ]


class TestNotes:
    ed = property(lambda self: load("notes.xml"))

    def test_every_kind_of_note(self) -> None:
        notes = self.ed.notes
        assert [n.label for n in notes] == ["1", "2", "3", "4", "*"]
        assert [n.number for n in notes] == [1, 2, 3, 4, 5]
        assert [n.responsibility for n in notes] == [None, None, "Chloe Editor", "Chloe Editor", None]
        division = self.ed.body.blocks[0]
        assert [n.block for n in notes] == [
            division.heading.id,
            "notes-p1",
            "notes-p1",
            "notes-p2",
            "notes-p2",
        ]  # type: ignore[union-attr]
        long_note = notes[3]
        assert [(b.role, b.number, text_of(b)) for b in long_note.blocks] == [  # type: ignore[union-attr]
            ("p", None, "This editorial note has a first paragraph."),
            ("p", None, "And it has a second paragraph."),
        ]

    def test_note_paragraphs_are_not_text_paragraphs(self) -> None:
        assert [p.id for p in self.ed.paragraphs()] == ["notes-p1", "notes-p2"]
        assert "second paragraph" not in self.ed.text()
        assert [s.role for s in all_of(self.ed.divisions, Styled)] == ["emphasis", "soCalled"]


class TestSicCorr:
    ed = property(lambda self: load("sic-corr.xml"))

    def test_corrections_with_reasons_and_responsibility(self) -> None:
        items = self.ed.interventions
        assert kinds(self.ed) == [
            ("correction", "wirtten", "written"),
            ("correction", "the the", "the"),
            ("correction", "resluts", "results"),
            ("sic", "seventy-twelve", "seventy-twelve"),
            ("correction", "", "added"),
        ]
        assert [i.reason for i in items] == ["Typographical slip", "Word written twice", None, None, None]
        assert [i.responsibility for i in items] == [None, None, "Chloe Editor", None, None]

    def test_views(self) -> None:
        reading, diplomatic = self.ed.text(), self.ed.text("diplomatic")
        assert "It says that the test passed" in reading
        assert "It says that the the test passed" in diplomatic
        assert "seventy-twelve" in reading and "seventy-twelve" in diplomatic  # flagged, not corrected
        assert "word is added by the editor" in reading
        assert "word is by the editor" in diplomatic  # a lone corr: the source had nothing there
        assert [p.topic for p in self.ed.metadata.principles] == ["Correction"]

    def test_source_description_keeps_the_bibl_text(self) -> None:
        assert self.ed.metadata.source.startswith("An imaginary typed report, invented for testing.")
        assert "Copy: An imaginary carbon copy of it." in self.ed.metadata.source


class TestSupplied:
    ed = property(lambda self: load("supplied.xml"))

    def test_supplied_text_with_reasons(self) -> None:
        items = self.ed.interventions
        assert {i.kind for i in items} == {InterventionKind.SUPPLIED}
        assert [(i.found, i.edited, i.reason) for i in items] == [
            ("", "gate", "lost"),
            ("", "the", "omitted"),
            ("", "oil", "illegible"),
            ("", "Ann", "lost"),
        ]
        assert (items[3].certainty, items[3].responsibility) == ("medium", "Dan Editor")
        assert [i.block for i in items] == ["p1", "p2", "p3", "p4"]

    def test_views_and_publication(self) -> None:
        assert "Meet me at the gate at noon." in self.ed.text()
        assert "Meet me at the at noon." in self.ed.text("diplomatic")
        meta = self.ed.metadata
        assert (meta.publisher, meta.date) == ("The edition test corpus", "2024-01-15")
        assert meta.licence == "Made-up test material; free to use."


class TestGap:
    ed = property(lambda self: load("gap.xml"))

    def test_gaps_and_removals(self) -> None:
        omissions = all_of(self.ed, Omission)
        assert [o.removed for o in omissions] == [False, False, False, True]
        items = [self.ed.intervention(o.intervention) for o in omissions]
        assert [i.kind.value for i in items] == ["gap", "gap", "gap", "removal"]
        assert items[0].description == "lost, two words"
        assert "3" in (items[1].description or "") and "line" in (items[1].description or "")
        assert items[2].description == "a brown stain" and items[2].reason == "illegible"
        assert items[3].description == "list of groceries, left out by the editor"
        assert [p.id for p in self.ed.paragraphs()] == [f"p{n}" for n in range(1, 7)]

    def test_marked_source_text(self) -> None:
        marks = {m.kind.value: m for m in all_of(self.ed, Marked)}
        assert set(marks) == {"unclear", "damage", "deletion", "addition", "surplus"}
        assert (marks["deletion"].in_reading, marks["deletion"].in_diplomatic) == (False, True)
        assert (marks["surplus"].in_reading, marks["surplus"].in_diplomatic) == (False, True)
        assert self.ed.intervention(marks["damage"].intervention).reason == "water"
        assert self.ed.intervention(marks["unclear"].intervention).reason == "faded"
        assert "We ran home and slept." in self.ed.text()
        assert "We walked ran home and and slept." in self.ed.text("diplomatic")
        assert all_of(self.ed, Milestone) == [Milestone("column", "b")]


class TestNames:
    ed = property(lambda self: load("names.xml"))

    def test_mentions_point_to_their_records(self) -> None:
        mentions = [(inline_text(m.children), m.kind.value, m.entity) for m in all_of(self.ed, Mention)]
        assert mentions == [
            ("Ann Example", "person", "ann"),
            ("Dr Sample", "person", "ben"),
            ("Testford", "place", "testford"),
            ("the Example Society", "organisation", "society"),
            ("Society of Testers", "organisation", "society"),
            ("Edgar Example", "person", "edgar"),
            ("Mr Nobody", "person", None),
            ("the tester", "person", "ann"),
        ]
        society = self.ed.entity("society")
        assert [o.block for o in society.occurrences] == ["p2", "p2"]
        assert [o.block for o in self.ed.entity("ann").occurrences] == ["p1", "p3"]

    def test_records(self) -> None:
        assert self.ed.entity("ben").names == ("Dr Ben Sample the Younger",)
        assert self.ed.entity("ann").description == "A made-up tester."
        assert self.ed.entity("testford").kind is EntityKind.PLACE
        assert [e.id for e in self.ed.entities] == ["ann", "ben", "edgar", "society", "testford"]

    def test_dates_and_foreign_words(self) -> None:
        assert [d.when for d in all_of(self.ed, DateRef)] == [
            "2024-03-08",
            "10:30:00",
            "2024-03-04/2024-03-08",
        ]
        foreign = [(inline_text(s.children), s.lang) for s in all_of(self.ed, Styled) if s.role == "foreign"]
        assert foreign == [("доброе утро", "ru"), ("sabahınız xeyir", "az"), ("dağ", "az"), ("gözəl", "az")]


class TestMetadata:
    ed = property(lambda self: load("metadata.xml"))

    def test_rich_header(self) -> None:
        meta = self.ed.metadata
        assert (meta.title, meta.subtitle) == (
            "A Test of Metadata",
            "Being a Made-up Document with a Rich Header",
        )
        assert [(c.name, c.role, c.marc) for c in meta.contributors] == [
            ("Ann Example", "author", "aut"),
            ("Ben Sample", "author", "aut"),
            ("Chloe Editor", "editor", "edt"),
            ("Dan Translator", "translated by", "trl"),
            ("The edition test corpus", "TEI encoding by", "mrk"),
        ]
        assert (meta.edition, meta.publisher, meta.date) == (
            "Second test edition",
            "Example Press",
            "2024-06-01",
        )
        assert meta.identifier == "urn:example:metadata-test"
        assert meta.licence_url == "https://creativecommons.org/licenses/by/4.0/"
        assert meta.licence == "Creative Commons Attribution 4.0 International"
        assert meta.languages == (("en", "English"), ("de", "German"))
        assert len(meta.principles) == 7
        assert (meta.created, meta.abstract) == ("2019", "A tiny made-up text with a large header.")
        assert meta.subjects == ("testing", "metadata")
        assert [(r.when, r.who) for r in meta.revisions] == [
            ("2024-05-01", "Chloe Editor"),
            ("2024-06-01", "The edition test corpus"),
        ]
        assert "Metadata for Testers" in meta.source and "pp. 1–4" in meta.source


class TestStructure:
    ed = property(lambda self: load("structure.xml"))

    def test_front_body_and_back(self) -> None:
        ed = self.ed
        assert [d.part for d in ed.divisions] == ["front", "body", "back"]
        assert [d.level for d in ed.divisions] == [0, 0, 0]
        headings = [inline_text(d.heading.content) for d in all_of(ed.divisions, Division) if d.heading]
        assert headings == ["Preface", "Part One", "Chapter One", "The first section", "Appendix"]
        assert [p.number for p in ed.paragraphs()] == list(range(1, 9))
        ids = [p.id for p in ed.paragraphs()]
        assert (ids[0], ids[-1]) == ("preface-p1", "appendix-p1")

    def test_epigraph_argument_byline_and_trailer(self) -> None:
        (epigraph, block_quote) = all_of(self.ed, Quotation)
        assert epigraph.role == "epigraph"
        assert inline_text(epigraph.attribution) == "William Shakespeare, Sonnet 18"
        assert text_of(epigraph.blocks[0]) == "So long lives this, and this gives life to thee."  # type: ignore[arg-type]
        assert block_quote.role == "quote" and len(block_quote.blocks) == 2
        roles = [p.role for p in all_of(self.ed, Paragraph) if p.role not in {"p", "head", "run"}]
        assert roles == ["byline", "trailer"]
        assert [g.role for g in all_of(self.ed, Group)] == ["argument"]

    def test_links_quotes_milestone_and_figure(self) -> None:
        links = [(link.target, inline_text(link.children)) for link in all_of(self.ed, Link)]
        assert links == [
            ("#s1-p2", "the next paragraph"),
            ("https://example.org/", "an example site"),
            ("https://example.com/page", "https://example.com/page"),
        ]
        assert [q.marks for q in all_of(self.ed, Quote)] == [("“", "”"), ("“", "”")]
        assert "Ann said “the parts must fit”, and Ben “agreed at once”." in self.ed.text()
        assert all_of(self.ed, Milestone) == [Milestone("section", "2")]
        (figure,) = all_of(self.ed, Figure)
        assert figure.image == "images/figure.png"
        assert figure.heading is not None and text_of(figure.heading) == "Figure 1. A test figure"
        assert figure.description == "A grey square standing for an illustration."

    def test_nested_divisions_have_increasing_levels(self) -> None:
        levels = {d.type: d.level for d in all_of(self.ed.body, Division)}
        assert levels == {None: 0, "part": 1, "chapter": 2, "section": 3}

    def test_divisions_in_front_and_back_say_where_they_are(self) -> None:
        ed = self.ed
        assert ed.front is not None and ed.back is not None
        assert {d.part for d in all_of(ed.front, Division)} == {"front"}
        assert {d.part for d in all_of(ed.back, Division)} == {"back"}


class TestMultilingual:
    ed = property(lambda self: load("multilingual.xml"))

    def test_foreign_words_keep_their_language(self) -> None:
        foreign = [(inline_text(s.children), s.lang) for s in all_of(self.ed, Styled) if s.role == "foreign"]
        assert foreign == [
            ("λόγος", "el"),
            ("слово", "ru"),
            ("dağ", "az"),
            ("qız", "az"),
            ("gözəl", "az"),
            ("كتاب", "ar"),
            ("שלום", "he"),
        ]
        assert [s.role for s in all_of(self.ed, Styled) if s.role != "foreign"] == ["mentioned"]
        assert "It is a “short” list" in self.ed.text()

    def test_language_and_a_stand_off_record(self) -> None:
        assert self.ed.metadata.language == "en"
        assert len(self.ed.metadata.languages) == 6
        (testford,) = self.ed.entities
        assert testford.id == "testford" and testford.kind is EntityKind.PLACE
        assert "standOff" in testford.description
        assert [o.block for o in testford.occurrences] == ["p4"]
