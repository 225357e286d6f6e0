"""Print page breaks in every format: "p. 3, ¶ 12" means the same place everywhere.

The print layout (WeasyPrint) says where each page begins: a block id and a count of
countable characters (:func:`edition.text.countable`) into that block
(:class:`edition.pdf.PageStart`). This module places a marker at that position in an
(X)HTML tree — the web page's margin note, the EPUB's ``epub:type="pagebreak"`` — by
walking the block's text in document order, skipping what is not running text.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Sequence
from typing import Protocol, cast

from edition.html import Element
from edition.text import countable

#: Classes of elements whose text is not the block's running text in web or EPUB output
#: (tooltips, the source reading of the diplomatic view, numbers, note and apparatus links).
NOT_RUNNING_TEXT = frozenset(
    {"tip", "source", "pnum", "noteref", "page-marker", "app-ref", "cite-button", "lnum"}
)

_UNCOUNTED = re.compile(r"[\s\-\u2010\u00ad⟨⟩]")


class PageStartLike(Protocol):
    """What a page start must have (:class:`edition.pdf.PageStart`): read-only fields."""

    @property
    def page(self) -> int: ...
    @property
    def block(self) -> str: ...
    @property
    def offset(self) -> int: ...


def _skipped(element: Element) -> bool:
    return bool(set((element.get("class") or "").split()) & NOT_RUNNING_TEXT)


def _slots(element: Element) -> Iterator[tuple[Element, str]]:
    """``(holder, "text"|"tail")`` text slots inside ``element`` in reading order, skipping non-text."""
    yield element, "text"
    for child in element:
        if isinstance(child.tag, str) and not _skipped(child):
            yield from _slots(child)
        yield child, "tail"


def _split_index(text: str, wanted: int) -> int:
    """Index in ``text`` of its ``wanted``-th countable character, moved back to its word's start."""
    seen = 0
    for index, char in enumerate(text):
        if not _UNCOUNTED.match(char):
            if seen == wanted:
                while index > 0 and not text[index - 1].isspace():
                    index -= 1
                return index
            seen += 1
    return len(text)


def insert_marker(block: Element, offset: int, marker: Element) -> bool:
    """Put ``marker`` before the word holding the ``offset``-th countable character of ``block``."""
    remaining = offset
    for holder, slot in _slots(block):
        text = getattr(holder, slot) or ""
        count = countable(text)
        if remaining >= count and not (remaining == 0 and slot == "text"):
            remaining -= count
            continue
        index = _split_index(text, remaining)
        if slot == "text" and index == 0 and holder is not block:
            _before_element(block, holder, marker)
            return True
        before, after = text[:index], text[index:]
        marker.tail = after or None
        setattr(holder, slot, before or None)
        if slot == "text":
            holder.insert(0, marker)
        else:
            holder.addnext(marker)
        return True
    return False


def _before_element(block: Element, element: Element, marker: Element) -> None:
    """Put the marker before ``element`` and before every element it opens (a page break that
    falls at the start of a name goes before the name's link, not inside it)."""
    while True:
        parent = element.getparent()
        at_start = parent is not None and parent is not block and not (parent.text or "").strip()
        if not (at_start and parent is not None and parent[0] is element):
            break
        element = parent
    element.addprevious(marker)


def place_markers(
    root: Element, starts: Sequence[PageStartLike], make_marker: Callable[[PageStartLike], Element]
) -> list[PageStartLike]:
    """Insert a marker for every page start whose block is in ``root``; return those not placed."""
    if not starts:
        return []
    holders = cast(list[Element], root.xpath("descendant-or-self::*[@id]"))
    blocks = {element.get("id"): element for element in holders}
    missing: list[PageStartLike] = []
    for start in starts:
        block = blocks.get(start.block)
        if block is None or not insert_marker(block, start.offset, make_marker(start)):
            missing.append(start)
    return missing


def page_list_json(starts: Sequence[PageStartLike]) -> bytes:
    """The page starts as JSON (``pages.json`` beside the outputs), for tools and for ``edition check``."""
    data = [{"page": s.page, "block": s.block, "offset": s.offset} for s in starts]
    return (json.dumps(data, indent=1) + "\n").encode("utf-8")


__all__ = ["NOT_RUNNING_TEXT", "insert_marker", "page_list_json", "place_markers"]
