"""The element → behaviour table: what each TEI element *means*, decided once.

This is the library's counterpart of a TEI Processing Model ODD (``<model
behaviour="alternate">``): the loader (:mod:`edition.builder`) looks every element up
here and builds the model node its behaviour calls for; every renderer then renders model
nodes, so an element means the same thing in the web page, the EPUB and the PDF.

An element that is not in the table keeps its text and the loader warns, naming it
(:class:`edition.model.Unknown`): nothing is dropped silently.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from edition.model import EntityKind, InterventionKind

TEI_NS = "http://www.tei-c.org/ns/1.0"
XML_NS = "http://www.w3.org/XML/1998/namespace"


class Behaviour(enum.StrEnum):
    """What an element does, in the vocabulary of the TEI Processing Model where it has a word."""

    SECTION = "section"  # a division with a heading and blocks
    HEADING = "heading"  # the heading of the enclosing division, list, table...
    PARAGRAPH = "paragraph"  # a numbered, citable paragraph
    BLOCK = "block"  # a short unnumbered block (byline, dateline, salute...)
    GROUP = "group"  # a container of blocks (argument, opener, closer)
    QUOTATION = "quotation"  # a block quotation with attribution (cit, epigraph)
    QUOTE = "quote"  # quoted words: inline, or a block quotation when it holds paragraphs
    CITATION = "citation"  # a bibliographic reference: attribution in cit, else inline
    LINE_GROUP = "lineGroup"
    LINE = "line"
    LIST = "list"
    ITEM = "item"
    LABEL = "label"
    TABLE = "table"
    ROW = "row"
    CELL = "cell"
    FIGURE = "figure"
    GRAPHIC = "graphic"
    FIGURE_DESCRIPTION = "figDesc"
    INLINE = "inline"  # styled text
    ENTITY = "entity"  # a name that links to a register
    DATE = "date"
    LINK = "link"
    NOTE = "note"
    ALTERNATE = "alternate"  # choice: two readings
    SUPPLIED = "supplied"
    OMIT = "omit"  # gap
    MARK = "mark"  # source text marked by the editor, kept
    BREAK = "break"
    DESCRIPTION = "description"  # desc: read by its parent (gap), never text on its own


@dataclass(frozen=True, slots=True)
class Rule:
    """One row of the table: the behaviour and what the builder needs to apply it."""

    behaviour: Behaviour
    role: str | None = None
    """A refinement: the styled role (``emphasis``), the block role (``byline``), or the
    break unit (``page``)."""
    entity: EntityKind | None = None
    intervention: InterventionKind | None = None


B = Behaviour

#: The table. Keys are local names in the TEI namespace.
ELEMENTS: dict[str, Rule] = {
    # structure
    "body": Rule(B.SECTION, "body"),
    "front": Rule(B.SECTION, "front"),
    "back": Rule(B.SECTION, "back"),
    "div": Rule(B.SECTION),
    "head": Rule(B.HEADING),
    "p": Rule(B.PARAGRAPH),
    "ab": Rule(B.PARAGRAPH),
    "byline": Rule(B.BLOCK, "byline"),
    "dateline": Rule(B.BLOCK, "dateline"),
    "salute": Rule(B.BLOCK, "salute"),
    "signed": Rule(B.BLOCK, "signed"),
    "trailer": Rule(B.BLOCK, "trailer"),
    "docAuthor": Rule(B.BLOCK, "docAuthor"),
    "argument": Rule(B.GROUP, "argument"),
    "opener": Rule(B.GROUP, "opener"),
    "closer": Rule(B.GROUP, "closer"),
    "postscript": Rule(B.GROUP, "postscript"),
    "epigraph": Rule(B.QUOTATION, "epigraph"),
    "cit": Rule(B.QUOTATION, "quote"),
    "quote": Rule(B.QUOTE, "quote"),
    "q": Rule(B.QUOTE, "q"),
    "said": Rule(B.QUOTE, "said"),
    "bibl": Rule(B.CITATION),
    "lg": Rule(B.LINE_GROUP),
    "l": Rule(B.LINE),
    "list": Rule(B.LIST),
    "item": Rule(B.ITEM),
    "label": Rule(B.LABEL),
    "table": Rule(B.TABLE),
    "row": Rule(B.ROW),
    "cell": Rule(B.CELL),
    "figure": Rule(B.FIGURE),
    "graphic": Rule(B.GRAPHIC),
    "figDesc": Rule(B.FIGURE_DESCRIPTION),
    # styled phrases
    "hi": Rule(B.INLINE, "highlight"),
    "emph": Rule(B.INLINE, "emphasis"),
    "foreign": Rule(B.INLINE, "foreign"),
    "title": Rule(B.INLINE, "title"),
    "term": Rule(B.INLINE, "term"),
    "mentioned": Rule(B.INLINE, "mentioned"),
    "soCalled": Rule(B.INLINE, "soCalled"),
    "seg": Rule(B.INLINE, "segment"),
    "num": Rule(B.INLINE, "number"),
    # a lone member of a choice pair is plain styled text, not an intervention
    "abbr": Rule(B.INLINE, "abbreviation"),
    "expan": Rule(B.INLINE, "expansion"),
    "orig": Rule(B.INLINE, "original"),
    "reg": Rule(B.INLINE, "regularised"),
    # names and dates
    "persName": Rule(B.ENTITY, entity=EntityKind.PERSON),
    "placeName": Rule(B.ENTITY, entity=EntityKind.PLACE),
    "orgName": Rule(B.ENTITY, entity=EntityKind.ORGANISATION),
    "name": Rule(B.ENTITY, entity=EntityKind.NAME),
    "rs": Rule(B.ENTITY, entity=EntityKind.NAME),
    "date": Rule(B.DATE),
    "time": Rule(B.DATE),
    # links and notes
    "ref": Rule(B.LINK),
    "ptr": Rule(B.LINK),
    "note": Rule(B.NOTE),
    # editorial interventions
    "choice": Rule(B.ALTERNATE),
    "sic": Rule(B.ALTERNATE, intervention=InterventionKind.CORRECTION),  # alone: an error flagged
    "corr": Rule(B.ALTERNATE, intervention=InterventionKind.CORRECTION),  # alone: a correction
    "supplied": Rule(B.SUPPLIED, intervention=InterventionKind.SUPPLIED),
    "gap": Rule(B.OMIT, intervention=InterventionKind.GAP),
    "desc": Rule(B.DESCRIPTION),
    "unclear": Rule(B.MARK, intervention=InterventionKind.UNCLEAR),
    "add": Rule(B.MARK, intervention=InterventionKind.ADDITION),
    "del": Rule(B.MARK, intervention=InterventionKind.DELETION),
    "damage": Rule(B.MARK, intervention=InterventionKind.DAMAGE),
    "surplus": Rule(B.MARK, intervention=InterventionKind.SURPLUS),
    # boundaries
    "lb": Rule(B.BREAK, "line"),
    "pb": Rule(B.BREAK, "page"),
    "cb": Rule(B.BREAK, "column"),
    "milestone": Rule(B.BREAK, "milestone"),
}

#: Behaviours that make a block when they stand among blocks (in a div, a note, an item).
BLOCK_BEHAVIOURS = frozenset(
    {
        B.SECTION,
        B.HEADING,
        B.PARAGRAPH,
        B.BLOCK,
        B.GROUP,
        B.QUOTATION,
        B.QUOTE,
        B.CITATION,
        B.LINE_GROUP,
        B.LINE,
        B.LIST,
        B.TABLE,
        B.FIGURE,
    }
)

#: Behaviours that are always blocks: inside a paragraph they become an embedded block.
ALWAYS_BLOCK = frozenset({B.LINE_GROUP, B.LIST, B.TABLE, B.FIGURE, B.QUOTATION, B.PARAGRAPH})

#: ``choice`` children: (source reading, editorial reading) element pairs and their kind.
ALTERNATE_PAIRS: tuple[tuple[str, str, InterventionKind], ...] = (
    ("sic", "corr", InterventionKind.CORRECTION),
    ("orig", "reg", InterventionKind.REGULARISATION),
    ("abbr", "expan", InterventionKind.EXPANSION),
)

#: ``gap/@reason`` values (TEI's own suggested values) that mean the editor left material
#: out on purpose (a removal) rather than that the source lost it (a gap).
REMOVAL_REASONS = frozenset({"editorial", "irrelevant", "sampling"})

#: Where source text marked by the editor shows: (in the reading view, in the diplomatic view).
MARK_VIEWS: dict[InterventionKind, tuple[bool, bool]] = {
    InterventionKind.UNCLEAR: (True, True),
    InterventionKind.ADDITION: (True, True),
    InterventionKind.DELETION: (False, True),
    InterventionKind.DAMAGE: (True, True),
    InterventionKind.SURPLUS: (False, True),
}

#: ``hi/@rend`` keywords the renderers understand, with their canonical name.
RENDITIONS: dict[str, str] = {
    "italic": "italic",
    "italics": "italic",
    "i": "italic",
    "bold": "bold",
    "b": "bold",
    "sup": "superscript",
    "superscript": "superscript",
    "sub": "subscript",
    "subscript": "subscript",
    "smallcaps": "small-caps",
    "small-caps": "small-caps",
    "sc": "small-caps",
    "underline": "underline",
    "u": "underline",
    "strikethrough": "strikethrough",
}

#: Quotation marks the renderers add to ``q``/``quote``/``said`` whose text has none.
DEFAULT_QUOTE_MARKS = ("“", "”")
QUOTE_CHARACTERS = frozenset("“”‘’\"'«»„‚‹›「」『』")


def rule_for(local_name: str) -> Rule | None:
    """The table row for a TEI element, or ``None`` for an element the library does not know."""
    return ELEMENTS.get(local_name)
