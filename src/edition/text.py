"""Plain-text views of the model, word lists for comparing outputs, and the readable dump.

The two views are the edition's contract with every output: the web page, the EPUB and
the PDF must each contain the words of :func:`plain_text` in the reading view, in order.
"""

from __future__ import annotations

import enum
import re
import unicodedata
from collections.abc import Iterable, Iterator

from edition.model import (
    Alternate,
    Block,
    DateRef,
    Division,
    Edition,
    Embedded,
    Figure,
    Group,
    Inline,
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
    Text,
    Unknown,
    View,
    dataclass_items,
)


def inline_text(nodes: Iterable[Inline], view: View = "reading") -> str:
    """The text of inline nodes in one view, white space collapsed; notes left out."""
    return " ".join("".join(_inline_parts(nodes, view)).split())


def _inline_parts(nodes: Iterable[Inline], view: View) -> Iterator[str]:
    reading = view == "reading"
    for node in nodes:
        match node:
            case Text(text=text):
                yield text
            case Quote(children=children, marks=marks):
                yield marks[0] if marks else ""
                yield from _inline_parts(children, view)
                yield marks[1] if marks else ""
            case Styled(children=children) | Mention(children=children) | DateRef(children=children):
                yield from _inline_parts(children, view)
            case Link(children=children) | Unknown(children=children):
                yield from _inline_parts(children, view)
            case Alternate(source=source, reading=edited):
                yield from _inline_parts(edited if reading else source, view)
            case Supplied(children=children):
                if reading:
                    yield from _inline_parts(children, view)
            case Marked(children=children, in_reading=in_reading, in_diplomatic=in_diplomatic):
                if in_reading if reading else in_diplomatic:
                    yield from _inline_parts(children, view)
            case LineBreak(hyphenated=hyphenated):
                yield "" if hyphenated else " "
            case Embedded(block=block):
                yield "\n\n"
                yield from _block_parts((block,), view)
                yield "\n\n"
            case NoteRef() | Omission() | Milestone():
                pass
            case _:
                raise TypeError(f"no text rule for {type(node).__name__}")


def _block_parts(blocks: Iterable[Block], view: View) -> Iterator[str]:
    for block in blocks:
        match block:
            case Paragraph(content=content):
                yield inline_text(content, view) + "\n\n"
            case Division(heading=heading, blocks=children):
                if heading is not None:
                    yield from _block_parts((heading,), view)
                yield from _block_parts(children, view)
            case Group(blocks=children):
                yield from _block_parts(children, view)
            case Quotation(blocks=children, attribution=attribution):
                yield from _block_parts(children, view)
                if attribution:
                    yield inline_text(attribution, view) + "\n\n"
            case LineGroup(heading=heading, items=items):
                if heading is not None:
                    yield from _block_parts((heading,), view)
                for item in items:
                    if isinstance(item, Line):
                        yield inline_text(item.content, view) + "\n"
                    else:
                        yield from _block_parts((item,), view)
                yield "\n"
            case ListBlock(heading=heading, items=items):
                if heading is not None:
                    yield from _block_parts((heading,), view)
                for list_item in items:
                    label = inline_text(list_item.label, view)
                    yield (label + " " if label else "") + "".join(_block_parts(list_item.blocks, view))
            case Table(heading=heading, rows=rows):
                if heading is not None:
                    yield from _block_parts((heading,), view)
                for row in rows:
                    cells = ("".join(_block_parts(cell.blocks, view)).strip() for cell in row.cells)
                    yield "\t".join(cells) + "\n"
                yield "\n"
            case Figure(heading=heading):
                if heading is not None:
                    yield from _block_parts((heading,), view)
            case _:
                raise TypeError(f"no text rule for {type(block).__name__}")


def plain_text(edition: Edition, view: View = "reading") -> str:
    """The whole text in one view: blocks separated by blank lines, no notes."""
    if view not in ("reading", "diplomatic"):
        raise ValueError(f"unknown view {view!r}: use 'reading' or 'diplomatic'")
    text = "".join(_block_parts(edition.divisions, view))
    lines = (" ".join(line.split()) for line in text.splitlines())
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip() + "\n"


# --------------------------------------------------------------------------- words

_WORD = re.compile(r"[\w’'\-‐]+")
_APOSTROPHES = str.maketrans({"'": "’"})


def words(text: str) -> list[str]:
    """The words of a text for comparing outputs: letters and digits, apostrophes kept inside words.

    Punctuation, quotation marks and dashes are not words (a PDF's text extraction may
    split or join them differently); Unicode is NFC-normalised; apostrophes are unified;
    hyphens inside words are kept (so ``self-defense`` stays one word).
    """
    text = unicodedata.normalize("NFC", text).translate(_APOSTROPHES)
    found = (match.group().strip("’-‐") for match in _WORD.finditer(text))
    return [word for word in found if any(ch.isalnum() for ch in word)]


def missing_in_order(expected: list[str], actual: list[str]) -> list[tuple[int, str]]:
    """Words of ``expected`` not found, in order, in ``actual`` (other words may come between).

    Returns ``(index, word)`` for each expected word the best alignment of the two lists
    leaves unmatched (difflib's matching blocks), so one lost or garbled word is reported
    alone instead of throwing the rest of the comparison off.
    """
    import difflib

    matcher = difflib.SequenceMatcher(a=expected, b=actual, autojunk=False)
    matched = [False] * len(expected)
    for block in matcher.get_matching_blocks():
        for index in range(block.a, block.a + block.size):
            matched[index] = True
    return [(index, word) for index, word in enumerate(expected) if not matched[index]]


_NOTE_CALL = re.compile(r"^(.*[^\W\d_])(\d{1,3})$")


def split_note_calls(found: list[str]) -> list[str]:
    """Split footnote call numbers that text extraction glued to a word.

    ``Azadliq1`` → ``Azadliq``, ``1``.
    """
    out: list[str] = []
    for word in found:
        match = _NOTE_CALL.match(word)
        out.extend(match.groups() if match else (word,))
    return out


#: Characters that never count when outputs compare positions in a text: white space,
#: hyphens (layout inserts them at line ends) and the editorial brackets stylesheets draw.
_UNCOUNTED = frozenset("-\u2010\u00ad⟨⟩")


def countable(text: str) -> int:
    """How many characters of ``text`` count for positions shared by every output.

    A position "after the 812th countable character of paragraph p12" is the same place in
    the PDF (whatever its line breaks and hyphenation), the web page and the EPUB.
    """
    return sum(1 for ch in text if not ch.isspace() and ch not in _UNCOUNTED)


# --------------------------------------------------------------------------- dump


def pretty(edition: Edition) -> str:
    """A stable, readable dump of the model: one node a line, children indented."""
    out: list[str] = []
    _dump(edition, 0, out, name=None)
    return "\n".join(out) + "\n"


def _scalar(value: object) -> bool:
    return value is None or isinstance(value, str | int | float | bool | enum.Enum)


def _show(value: object) -> str:
    if isinstance(value, enum.Enum):
        return str(value.value)
    if isinstance(value, str):
        return repr(value) if len(value) < 400 else repr(value[:397] + "...")
    return repr(value)


def _dump(value: object, depth: int, out: list[str], name: str | None) -> None:
    pad = "  " * depth
    label = f"{name}: " if name else ""
    if isinstance(value, Text):
        out.append(f"{pad}{label}{value.text!r}")
        return
    if isinstance(value, tuple):
        if not value or all(v is None for v in value):
            return
        if all(_scalar(v) for v in value):
            out.append(f"{pad}{label}{', '.join(_show(v) for v in value)}")
            return
        out.append(f"{pad}{label}")
        for item in value:
            _dump(item, depth + 1, out, name=None)
        return
    items = list(dataclass_items(value))
    scalars = " ".join(f"{k}={_show(v)}" for k, v in items if _scalar(v) and v not in (None, (), ""))
    out.append(f"{pad}{label}{type(value).__name__} {scalars}".rstrip())
    for key, child in items:
        if not _scalar(child):
            _dump(child, depth + 1, out, name=key)
