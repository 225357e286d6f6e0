"""The edition model: what a TEI critical edition says, as frozen Python values.

:func:`edition.load` builds one :class:`Edition` from a TEI file; every renderer (HTML,
EPUB, PDF) reads this model and never goes back to the XML. The model is a tree of small
frozen dataclasses:

* blocks (:class:`Division`, :class:`Paragraph`, :class:`Quotation`, :class:`LineGroup`,
  :class:`ListBlock`, :class:`Table`, :class:`Figure`) make up the structure;
* inlines (:class:`Text`, :class:`Styled`, :class:`Alternate`, :class:`Supplied`, ...)
  make up the content of a block;
* side tables (notes, interventions, entities) are keyed by id; the inline nodes that
  mark their place in the text (:class:`NoteRef`, the intervention nodes,
  :class:`Mention`) carry that id.

Which TEI element becomes which node is decided in one place, :mod:`edition.behaviours`.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterator
from dataclasses import dataclass, fields, is_dataclass
from functools import cached_property
from typing import Literal, TypeAlias

View: TypeAlias = Literal["reading", "diplomatic"]

TITLE_ID = "title"
"""The id of the text's title (the body's heading) in the model and in every output."""

RESERVED_IDS = frozenset(
    {
        TITLE_ID,
        "text",
        "main",
        "notes",
        "notes-title",
        "apparatus",
        "apparatus-title",
        "registers",
        "registers-title",
        "register-persons",
        "register-persons-title",
        "register-places",
        "register-places-title",
        "register-organisations",
        "register-organisations-title",
        "register-names",
        "register-names-title",
        "about",
        "about-title",
        "principles",
        "principles-title",
        "revisions",
        "revisions-title",
        "how-to-cite",
        "cite-title",
        "citation",
        "toc",
        "toc-title",
        "landmarks",
        "landmarks-title",
        "page-list",
        "page-list-title",
        "titlepage-title",
        "font-licence",
        "font-licence-title",
        "note-popover",
    }
)
"""Ids the outputs use for their own parts: a source element with one of them is renamed on load."""
VIEWS: tuple[View, ...] = ("reading", "diplomatic")


# --------------------------------------------------------------------------- inline nodes


@dataclass(frozen=True, slots=True)
class Text:
    """A run of characters, exactly as in the source (white space already normalised)."""

    text: str


@dataclass(frozen=True, slots=True)
class Styled:
    """Highlighted, emphasised or otherwise marked-up text (``hi``, ``emph``, ``title``,
    ``foreign``, ``term``...)."""

    role: str
    """What the mark-up means: ``emphasis``, ``highlight``, ``title``, ``foreign``, ``term``, ``segment``."""
    children: tuple[Inline, ...]
    rend: tuple[str, ...] = ()
    """Rendition keywords from ``@rend`` (``italic``, ``bold``, ``superscript``, ...), lower case."""
    lang: str | None = None
    """``@xml:lang`` of the element, when it sets one (Azerbaijani words carry ``az``)."""


@dataclass(frozen=True, slots=True)
class Quote:
    """Quoted or spoken words inside a paragraph (``q``, ``quote``, ``said``)."""

    children: tuple[Inline, ...]
    marks: tuple[str, str] | None = None
    """Quotation marks the renderers add; ``None`` when the source already has them."""
    lang: str | None = None


@dataclass(frozen=True, slots=True)
class Mention:
    """A name of a person, place or organisation (``persName``, ``placeName``, ``orgName``,
    ``name``, ``rs``)."""

    id: str
    """Generated id of this mention (``m1``, ``m2``... in document order), the anchor registers link to."""
    kind: EntityKind
    entity: str | None
    """Id of the :class:`Entity` in the header's lists, or ``None`` for a name with no record."""
    children: tuple[Inline, ...]
    lang: str | None = None


@dataclass(frozen=True, slots=True)
class DateRef:
    """A date or time in the text (``date``, ``time``) with its normalised value."""

    children: tuple[Inline, ...]
    when: str | None = None
    """ISO 8601 value from ``@when``, or a range ``from/to`` built from ``@from``/``@to``
    or ``@notBefore``/``@notAfter``."""


@dataclass(frozen=True, slots=True)
class Link:
    """A link (``ref``, ``ptr``). Unsafe targets were removed at load time, so ``target`` is safe to emit."""

    children: tuple[Inline, ...]
    target: str | None
    """``http``, ``https`` or ``mailto`` URL, or ``#id`` inside the
    edition; ``None`` if refused."""


@dataclass(frozen=True, slots=True)
class NoteRef:
    """The place a note is anchored; the note itself is in :attr:`Edition.notes`."""

    note: str


@dataclass(frozen=True, slots=True)
class Alternate:
    """Two readings of one place (``choice``): what the source has and what the editor reads."""

    intervention: str
    source: tuple[Inline, ...]
    """The reading of the source (``sic``, ``abbr``, ``orig``): shown in the diplomatic view."""
    reading: tuple[Inline, ...]
    """The editorial reading (``corr``, ``expan``, ``reg``): shown in the reading view."""


@dataclass(frozen=True, slots=True)
class Supplied:
    """Text the editor supplied because the source lost or omitted it (``supplied``): reading view only."""

    intervention: str
    children: tuple[Inline, ...]


@dataclass(frozen=True, slots=True)
class Omission:
    """A place where something is missing (``gap``): lost text, or material the editor removed."""

    intervention: str
    description: str
    """What is missing or was removed, for the marker's label (from ``desc``, ``@reason``, ``@extent``)."""
    removed: bool
    """``True`` when the editor left the material out on purpose (web boilerplate); ``False`` for a loss."""


@dataclass(frozen=True, slots=True)
class Marked:
    """Source text the editor marks without changing (``unclear``, ``add``, ``del``, ``damage``, ``surplus``).

    The text is always kept; :attr:`in_reading` and :attr:`in_diplomatic` say where it shows.
    """

    intervention: str
    kind: InterventionKind
    children: tuple[Inline, ...]
    in_reading: bool = True
    in_diplomatic: bool = True


@dataclass(frozen=True, slots=True)
class LineBreak:
    """A line break of the source (``lb``); ``hyphenated`` when ``@break="no"`` joins a word across it."""

    hyphenated: bool = False


@dataclass(frozen=True, slots=True)
class Milestone:
    """A boundary in the source (``pb`` page, ``cb`` column, ``milestone``) with its label."""

    unit: str
    label: str | None = None


@dataclass(frozen=True, slots=True)
class Embedded:
    """A block nested inside a paragraph (a list or table inside ``p``, as TEI allows)."""

    block: Block


@dataclass(frozen=True, slots=True)
class Unknown:
    """An element the library does not know: its text is kept (and a warning was given)."""

    element: str
    children: tuple[Inline, ...]


Inline: TypeAlias = (
    Text
    | Styled
    | Quote
    | Mention
    | DateRef
    | Link
    | NoteRef
    | Alternate
    | Supplied
    | Omission
    | Marked
    | LineBreak
    | Milestone
    | Embedded
    | Unknown
)


# --------------------------------------------------------------------------- block nodes


@dataclass(frozen=True, slots=True)
class Paragraph:
    """A paragraph, or another block of running text (``byline``, ``dateline``, ``salute``, ``signed``...)."""

    id: str | None
    """``@xml:id`` of the source, or a generated ``p<number>`` for numbered paragraphs without one."""
    number: int | None
    """Citable paragraph number (1, 2, ... over the whole text); ``None`` for unnumbered blocks."""
    content: tuple[Inline, ...]
    role: str = "p"
    """``p`` for paragraphs; otherwise the TEI element name (``byline``, ``salute``, ``signed``, ``head``...).

    ``run`` is an anonymous paragraph: loose inline content between blocks (as in a note
    without ``p``), wrapped so that every container holds only blocks."""
    lang: str | None = None


@dataclass(frozen=True, slots=True)
class Quotation:
    """A block quotation (``cit``, ``quote`` holding paragraphs, ``epigraph``) with its attribution."""

    id: str | None
    blocks: tuple[Block, ...]
    attribution: tuple[Inline, ...] = ()
    """The source of the quotation (``bibl`` inside ``cit``), e.g. the speaker's name."""
    role: str = "quote"
    """``quote``, or ``epigraph`` for a quotation that heads a text (an article's pull quote)."""


@dataclass(frozen=True, slots=True)
class Group:
    """A container of blocks with a role of its own (``argument``, ``opener``, ``closer``, ``postscript``).

    Also holds the blocks of an element the library does not know (role ``unknown``)."""

    id: str | None
    role: str
    blocks: tuple[Block, ...]


@dataclass(frozen=True, slots=True)
class Line:
    """A verse line (``l``)."""

    id: str | None
    number: int | None
    """Line number within the poem, counting from 1; ``@n`` when the source numbers its lines."""
    content: tuple[Inline, ...]


@dataclass(frozen=True, slots=True)
class LineGroup:
    """A stanza or poem (``lg``); groups may nest."""

    id: str | None
    heading: Paragraph | None
    items: tuple[Line | LineGroup, ...]
    type: str | None = None


@dataclass(frozen=True, slots=True)
class ListItem:
    """One item of a list: a label (``label``, optional) and its blocks."""

    label: tuple[Inline, ...]
    blocks: tuple[Block, ...]


@dataclass(frozen=True, slots=True)
class ListBlock:
    """A list (``list``): ordered when ``@type``/``@rend`` says so."""

    id: str | None
    heading: Paragraph | None
    items: tuple[ListItem, ...]
    ordered: bool = False


@dataclass(frozen=True, slots=True)
class Cell:
    """A table cell; ``header`` when ``@role="label"``."""

    blocks: tuple[Block, ...]
    header: bool = False
    columns: int = 1
    rows: int = 1


@dataclass(frozen=True, slots=True)
class Row:
    """A table row; ``header`` when ``@role="label"``."""

    cells: tuple[Cell, ...]
    header: bool = False


@dataclass(frozen=True, slots=True)
class Table:
    """A table (``table``) with an optional caption from its ``head``."""

    id: str | None
    heading: Paragraph | None
    rows: tuple[Row, ...]


@dataclass(frozen=True, slots=True)
class Figure:
    """A figure (``figure``) with an image (``graphic``), a caption (``head``) and a text
    alternative (``figDesc``)."""

    id: str | None
    image: str | None
    """Relative path of the image inside the edition's folder (checked at load time)."""
    heading: Paragraph | None
    description: str
    """The text alternative for readers who cannot see the image (empty if the source has none)."""


@dataclass(frozen=True, slots=True)
class Division:
    """A division of the text (``div``, ``front``, ``back``) with its heading and blocks."""

    id: str
    """``@xml:id``, or a generated ``div<n>``."""
    type: str | None
    level: int
    """1 for a top-level division, 2 inside it, and so on."""
    heading: Paragraph | None
    blocks: tuple[Block, ...]
    part: Literal["front", "body", "back"] = "body"


Block: TypeAlias = Paragraph | Group | Quotation | LineGroup | ListBlock | Table | Figure | Division


# --------------------------------------------------------------------------- side tables


class EntityKind(enum.StrEnum):
    """Kinds of named entities, each with its own register."""

    PERSON = "person"
    PLACE = "place"
    ORGANISATION = "organisation"
    NAME = "name"
    """A name whose kind the source does not say (``name`` without ``@type``)."""


class InterventionKind(enum.StrEnum):
    """What the editor did at a place (the apparatus groups by these)."""

    CORRECTION = "correction"  # choice/sic/corr, or a lone corr
    REGULARISATION = "regularisation"  # choice/orig/reg
    EXPANSION = "expansion"  # choice/abbr/expan
    SUPPLIED = "supplied"  # supplied
    GAP = "gap"  # gap: a loss recorded
    REMOVAL = "removal"  # gap with an editorial reason: material left out on purpose
    UNCLEAR = "unclear"  # unclear
    ADDITION = "addition"  # add
    DELETION = "deletion"  # del
    DAMAGE = "damage"  # damage: text intact, something else lost
    SURPLUS = "surplus"  # surplus: text the editor judges superfluous
    SIC = "sic"  # a lone sic: an error flagged and left as it is


@dataclass(frozen=True, slots=True)
class Intervention:
    """One editorial intervention: what the source has, what the editor made of it, and why."""

    id: str
    """``@xml:id`` of the element, or a generated ``i<n>`` in document order."""
    kind: InterventionKind
    found: str
    """The text as found (empty for supplied text or a loss)."""
    edited: str
    """The editorial text (empty where the editor removed or could not restore anything)."""
    reason: str | None
    """Why, in words: the header's category for ``@ana``, else ``@reason``/``@agent``, else ``None``."""
    block: str | None
    """Id of the paragraph (or heading) the intervention is in."""
    responsibility: str | None = None
    """Who made it (``@resp`` resolved to a name), when the source says."""
    certainty: str | None = None
    """``@cert`` as given (``high``, ``medium``, ``low``)."""
    line: int | None = None
    """Line of the element in the TEI source."""
    description: str | None = None
    """What is missing or was removed, in words (a gap's ``desc``, or its reason and extent)."""


@dataclass(frozen=True, slots=True)
class Note:
    """An explanatory note (``note``), numbered in document order."""

    id: str
    """``@xml:id``, or a generated ``n<number>``."""
    number: int
    label: str
    """What the reference shows: ``@n`` when the source sets it, else the number."""
    blocks: tuple[Block, ...]
    responsibility: str | None
    """Who wrote it (``@resp`` resolved to a name): the editor, or ``None`` for the author's own notes."""
    block: str | None
    """Id of the paragraph (or heading) that holds the reference."""
    type: str | None = None


@dataclass(frozen=True, slots=True)
class Occurrence:
    """One place an entity is mentioned."""

    mention: str
    """Id of the :class:`Mention`."""
    block: str | None
    """Id of the paragraph (or heading) that holds it."""


@dataclass(frozen=True, slots=True)
class Entity:
    """A person, place or organisation with its record from the header."""

    id: str
    kind: EntityKind
    names: tuple[str, ...]
    """Names from the record, the preferred name first (then the other names used for it)."""
    description: str
    """The record's short description (``note``/``desc``/``occupation``...), in one paragraph."""
    occurrences: tuple[Occurrence, ...] = ()
    languages: tuple[str | None, ...] = ()
    """``@xml:lang`` of each name, where the record gives one (``Nemət Pənahlı`` is ``az``)."""

    @property
    def name(self) -> str:
        return self.names[0] if self.names else self.id

    def language_of(self, index: int) -> str | None:
        """The language of the name at ``index`` of :attr:`names`, if the record says."""
        return self.languages[index] if index < len(self.languages) else None


# --------------------------------------------------------------------------- metadata


@dataclass(frozen=True, slots=True)
class Contributor:
    """A person or body with a role in the text or the edition."""

    name: str
    role: str
    """``author``, ``editor``, or the words of a ``resp`` (``interviewee``, ``translator``...)."""
    marc: str | None = None
    """The MARC relator code for the role (``aut``, ``edt``, ``ive``, ``trl``...), where one fits."""


@dataclass(frozen=True, slots=True)
class Principle:
    """One editorial principle from ``editorialDecl``: its topic and its words."""

    topic: str
    text: str


@dataclass(frozen=True, slots=True)
class Revision:
    """One entry of ``revisionDesc``."""

    when: str | None
    who: str | None
    text: str


@dataclass(frozen=True, slots=True)
class Metadata:
    """What the ``teiHeader`` says, in the shape renderers and packagers need."""

    title: str
    subtitle: str | None
    contributors: tuple[Contributor, ...]
    edition: str | None
    """The edition statement (``editionStmt``)."""
    publisher: str | None
    """``publisher`` or ``authority`` of the publication statement."""
    date: str | None
    """ISO date of this edition: ``publicationStmt/date/@when``, else the latest ``change/@when``."""
    identifier: str
    """A stable identifier: an ``idno`` of the publication statement, or a UUID derived from the title."""
    licence: str | None
    """The availability statement in words, as the source gives it."""
    licence_url: str | None
    source: str
    """The source description (``sourceDesc``) in one paragraph."""
    language: str
    """Main language of the text (``text/@xml:lang``, else the first ``language``)."""
    languages: tuple[tuple[str, str], ...]
    """``(code, name)`` for every language the header declares."""
    principles: tuple[Principle, ...]
    created: str | None
    """When the text itself was written, as the header states it (words, not only a value)."""
    subjects: tuple[str, ...]
    abstract: str | None
    revisions: tuple[Revision, ...]

    def names(self, *roles: str) -> tuple[str, ...]:
        """Names of the contributors with one of these roles, in order."""
        return tuple(c.name for c in self.contributors if c.role in roles)

    @property
    def authors(self) -> tuple[str, ...]:
        return self.names("author")

    @property
    def editors(self) -> tuple[str, ...]:
        return self.names("editor")


# --------------------------------------------------------------------------- the edition


@dataclass(frozen=True)
class Edition:
    """A loaded TEI edition. Build it with :func:`edition.load`; it never changes afterwards."""

    path: str
    """The TEI file it was loaded from."""
    metadata: Metadata
    front: Division | None
    """Front matter (``front``) as one level-0 division, if the text has any."""
    body: Division
    """The body as one level-0 division (its heading is the text's title, where the TEI gives one)."""
    back: Division | None
    notes: tuple[Note, ...]
    interventions: tuple[Intervention, ...]
    entities: tuple[Entity, ...]

    # -- lookups by id

    @cached_property
    def _notes(self) -> dict[str, Note]:
        return {note.id: note for note in self.notes}

    @cached_property
    def _interventions(self) -> dict[str, Intervention]:
        return {item.id: item for item in self.interventions}

    @cached_property
    def _entities(self) -> dict[str, Entity]:
        return {entity.id: entity for entity in self.entities}

    def note(self, note_id: str) -> Note:
        return self._notes[note_id]

    def intervention(self, intervention_id: str) -> Intervention:
        return self._interventions[intervention_id]

    def entity(self, entity_id: str) -> Entity:
        return self._entities[entity_id]

    @property
    def divisions(self) -> tuple[Division, ...]:
        """Front matter, body and back matter (those the text has), in order."""
        return tuple(d for d in (self.front, self.body, self.back) if d is not None)

    @cached_property
    def all_blocks(self) -> tuple[Block, ...]:
        """Every block of the text in document order (:func:`walk_blocks` over :attr:`divisions`).

        Computed once: each renderer looks through it several times (labels, figures, paragraph
        numbers), and the walk itself is a tenth of a long book's web page.
        """
        return tuple(walk_blocks(self.divisions))

    def paragraphs(self) -> Iterator[Paragraph]:
        """Every numbered paragraph, in order."""
        for block in self.all_blocks:
            if isinstance(block, Paragraph) and block.number is not None:
                yield block

    # -- text views

    def text(self, view: View = "reading") -> str:
        """The text as plain text, blocks separated by blank lines.

        ``reading``: corrections applied, supplied text in, removed and deleted text out.
        ``diplomatic``: the text as found: source readings, no supplied text, no removed
        web material. Notes are never part of either view.
        """
        from edition.text import plain_text  # local: text.py imports this module

        return plain_text(self, view)

    def pretty(self) -> str:
        """A readable, stable dump of the whole model (used by golden tests)."""
        from edition.text import pretty

        return pretty(self)


def walk_blocks(blocks: tuple[Block, ...] | list[Block]) -> Iterator[Block]:
    """Every block in document order, depth first, including nested ones and headings."""
    for block in blocks:
        yield block
        match block:
            case Division(heading=heading, blocks=children):
                if heading is not None:
                    yield heading
                yield from walk_blocks(children)
            case Quotation(blocks=children) | Group(blocks=children):
                yield from walk_blocks(children)
            case LineGroup(heading=heading, items=items):
                if heading is not None:
                    yield heading
                yield from walk_blocks(tuple(item for item in items if isinstance(item, LineGroup)))
            case ListBlock(heading=heading, items=items):
                if heading is not None:
                    yield heading
                for item in items:
                    yield from walk_blocks(item.blocks)
            case Table(heading=heading, rows=rows):
                if heading is not None:
                    yield heading
                for row in rows:
                    for cell in row.cells:
                        yield from walk_blocks(cell.blocks)
            case Figure(heading=heading):
                if heading is not None:
                    yield heading
            case Paragraph(content=content):
                for node in walk_inlines(content):
                    if isinstance(node, Embedded):
                        yield from walk_blocks((node.block,))


def inline_children(node: Inline) -> tuple[Inline, ...]:
    """The child inlines of a node, for walkers that treat every reading alike."""
    if isinstance(node, Alternate):
        return (*node.source, *node.reading)
    return getattr(node, "children", ())


def walk_inlines(nodes: tuple[Inline, ...]) -> Iterator[Inline]:
    """Every inline in document order, depth first (both readings of an :class:`Alternate`)."""
    for node in nodes:
        yield node
        yield from walk_inlines(inline_children(node))


def slug(text: str) -> str:
    """A lower-case ASCII id fragment for ``text`` (``"Nemat Panahli"`` → ``nemat-panahli``)."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "x"


def dataclass_items(value: object) -> Iterator[tuple[str, object]]:
    """``(name, value)`` of a model dataclass's public fields, for dumps."""
    assert is_dataclass(value)
    for f in fields(value):
        if not f.name.startswith("_"):
            yield f.name, getattr(value, f.name)
