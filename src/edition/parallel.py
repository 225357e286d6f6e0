"""Parallel and incremental layout of long print editions.

A long edition is cut into *parts* where the print stylesheet starts a new right-hand page
(``break-before: right``): the front matter with the opening of the text, every chapter
(or part, book, letter) and every section of the back matter. Parts are laid out by
WeasyPrint in separate processes and joined into one PDF whose pages, folios, running
heads, page references, outline, named destinations, links, tags and metadata are those
of the single WeasyPrint document the same book makes (:func:`edition.pdf.print_edition`
with ``jobs=1``).

Why this is exact. The layout of a part does not depend on where it lands in the book,
as long as it starts on a right-hand page (mirrored margins keep the measure equal on
both sides). What does depend on the position is handled here:

* **blank versos**: a part after an odd number of pages is preceded by a ``:blank``
  page, as WeasyPrint would insert one;
* **folios** (margin boxes whose content uses ``counter(page)``): parts are laid out
  with those boxes empty; the folios are laid out afterwards, in documents of empty pages
  with only those margin boxes and the right page numbers, and drawn onto the pages as
  ``/Artifact`` content (a page number is pagination, not text);
* **named strings** (``string-set`` / ``string()``): a part that does not set a string
  used in a running head gets that head as a literal (the value the string has where
  the part begins); a part that does set it must set it at its start (its heading);
* **page references** (``target-counter(attr(… url), page)``): parts that print them
  (the apparatus, the registers) are laid out second, once every page is known, with the
  numbers written into the part (``attr()``) instead of looked up;
* **the outline, destinations, links and the structure tree** are rebuilt for the
  whole book from what each part reports and from the parts' PDFs (pikepdf).

Everything the stylesheets do that this cannot reproduce (page-based counters other
than the folio, ``:first`` pages, ``counter()`` in the text, decorated page boxes, a
string first set later in a part...) is detected before any layout, and the book is
then laid out in one piece instead (``log.info`` says why).

Incremental rebuilds: with a cache folder, every part and every folio sheet is stored
under a hash of everything its bytes depend on (its HTML, the stylesheets, the options,
the date, the fonts, WeasyPrint's version and this code). A rebuild lays out only what
changed and joins the rest from the cache; the result is byte-identical to a clean
build. A missing, stale or corrupt cache entry is simply laid out again.

Processes: a layout worker and the join's process are started before the book is planned
(:class:`_Warm`), so that their imports overlap the planning, and each part goes to a
worker as soon as its HTML is written. Parts found in the cache are handed to the join's
process while the changed ones are laid out, and it opens them meanwhile. (Parts laid out
in the first phase are not: opened while the second phase is laid out, they raised the
build's peak memory at N = 100 from 820 to 949 MiB, for about a second of the join.) The
workers are ended as soon as the last layout is back, not waited for; the join itself runs
while the caller renders the web page and the EPUB.

WeasyPrint internals used (reading only): ``Page._page_box`` to see which pages carry a
folio box (:func:`_has_folio`) and whether a part ends on a blank page, as
:func:`edition.pdf.page_starts` already reads the layout. Everything else is public API
(``HTML.render``, ``Document.pages``, ``Page.anchors/links/bookmarks``, ``write_pdf``)
plus pikepdf.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import copy
import functools
import hashlib
import io
import json
import logging
import os
import pickle
import re
import string
import subprocess
import sys
import threading
import time
import warnings
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from importlib.metadata import version
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, cast
from urllib.request import pathname2url
from xml.sax.saxutils import escape

from edition.errors import RenderError
from edition.html import Element, h, local_name, to_html

if TYPE_CHECKING:
    from edition.model import Edition, Metadata
    from edition.pdf import PageStart, PrintResult

log = logging.getLogger("edition")

#: Bump when anything that changes a part's bytes changes in a way the key does not see.
CACHE_FORMAT = "edition-parts-1"
#: Below this many parts a book is laid out in one piece: starting processes and laying out
#: fonts once per part cost more than they save (at 7 parts, a book of 4 chapters, the
#: parallel build is about as fast as one document on two cores; at 13 parts, 0.7 of it).
MIN_PARTS = 8
#: Target pages per folio sheet (empty pages with only the page numbers).
FOLIO_CHUNK = 160
#: Margin boxes (CSS Paged Media) an ``@page`` rule can hold.
MARGIN_BOXES = frozenset(
    f"{edge}-{where}"
    for edge, places in (
        ("top", ("left-corner", "left", "center", "right", "right-corner")),
        ("bottom", ("left-corner", "left", "center", "right", "right-corner")),
        ("left", ("top", "middle", "bottom")),
        ("right", ("top", "middle", "bottom")),
    )
    for where in places
)
_PAGE_PROPERTIES_WITH_INK = re.compile(r"^(background|border|outline|box-shadow)")
_PAGE_GEOMETRY = re.compile(r"^(size|margin|padding|bleed|marks)")
_TAG = re.compile(r"^([A-Z]{6})\+")
_ASCII_SPACE = re.compile(r"[ \t\n\r\f]+")
_FIRST_OF_GROUP = re.compile(
    r"^[\w-]*(?::(?:left|right|blank))*:nth\(\s*1\s+of\s+([\w-]+)\s*\)(?::(?:left|right|blank))*$"
)


class Unsupported(Exception):  # noqa: N818 (not an error: a reason to lay the book out in one piece)
    """The book cannot be laid out in parts exactly (the message says why)."""


# ======================================================================== the stylesheets


@dataclass(slots=True)
class _Rule:
    order: int
    prelude: str
    selectors: list[Any]
    declarations: list[Any]


@dataclass(slots=True)
class _MarginRule:
    selector: str
    """The ``@page`` selector, as written (``""``, ``:left``, ``chapter:nth(1 of chapter)``)."""
    box: str
    """The margin box, ``bottom-center``..."""
    content: list[Any] | None
    """The tokens of its ``content`` declaration, if it has one."""


@dataclass(slots=True)
class _TargetRule:
    prelude: str
    selectors: list[Any]
    declaration: str
    tokens: list[Any]
    attributes: tuple[str, ...]
    """The attributes whose ``url`` ``target-counter()`` looks up (``data-ref``)."""


def _functions(tokens: Iterable[Any]) -> Iterator[Any]:
    """Every function token in ``tokens``, nested ones too."""
    for token in tokens:
        if getattr(token, "type", None) == "function":
            yield token
            yield from _functions(token.arguments)
        elif getattr(token, "type", None) in ("() block", "[] block", "{} block"):
            yield from _functions(token.content)


def _meaningful(tokens: Iterable[Any]) -> list[Any]:
    return [t for t in tokens if getattr(t, "type", None) not in ("whitespace", "comment")]


def _split_commas(tokens: Iterable[Any]) -> list[list[Any]]:
    groups: list[list[Any]] = [[]]
    for token in tokens:
        if getattr(token, "type", None) == "literal" and token.value == ",":
            groups.append([])
        else:
            groups[-1].append(token)
    return [_meaningful(group) for group in groups]


class Styles:
    """What the print stylesheets ask for that matters to laying a book out in parts."""

    def __init__(self, sheets: Sequence[str]) -> None:
        import cssselect2  # type: ignore[import-untyped]
        import tinycss2  # type: ignore[import-untyped]

        self._tinycss2 = tinycss2
        self.rules: list[_Rule] = []
        self.margins: list[_MarginRule] = []
        self.page_marks: str | None = None
        self.group_starts: set[str] = set()
        """Page names ``N`` of ``@page :nth(1 of N)`` rules (the first page of a page group)."""
        order = 0

        def walk(nodes: Iterable[Any]) -> None:
            nonlocal order
            for node in nodes:
                if node.type == "qualified-rule":
                    order += 1
                    prelude = tinycss2.serialize(node.prelude).strip()
                    try:
                        selectors = list(cssselect2.compile_selector_list(node.prelude))
                    except cssselect2.SelectorError:
                        selectors = []
                    declarations = [
                        d
                        for d in tinycss2.parse_blocks_contents(
                            node.content, skip_comments=True, skip_whitespace=True
                        )
                        if d.type == "declaration"
                    ]
                    self.rules.append(_Rule(order, prelude, selectors, declarations))
                elif node.type == "at-rule" and node.lower_at_keyword == "page":
                    self._page_rule(node)
                elif (
                    node.type == "at-rule"
                    and node.lower_at_keyword in ("media", "supports", "layer")
                    and node.content is not None
                ):
                    walk(tinycss2.parse_rule_list(node.content, skip_comments=True, skip_whitespace=True))

        for text in sheets:
            walk(tinycss2.parse_stylesheet(text, skip_comments=True, skip_whitespace=True))
        self._check()

    def _page_rule(self, node: Any) -> None:
        tinycss2 = self._tinycss2
        selector = tinycss2.serialize(node.prelude).strip()
        if ":first" in selector:
            raise Unsupported(f"@page {selector}: the first page of a part is not the book's first page")
        if ":nth(" in selector:
            match = _FIRST_OF_GROUP.match(selector)
            if match is None:
                raise Unsupported(f"@page {selector}: only :nth(1 of <name>) is supported")
            self.group_starts.add(match.group(1))
        for item in tinycss2.parse_blocks_contents(node.content, skip_comments=True, skip_whitespace=True):
            if item.type == "declaration":
                if _PAGE_PROPERTIES_WITH_INK.match(item.lower_name):
                    raise Unsupported(f"@page {selector} draws a {item.lower_name}")
                if selector not in ("", ":left", ":right") and _PAGE_GEOMETRY.match(item.lower_name):
                    # folio sheets and blank versos are unnamed pages: their boxes must be the same
                    raise Unsupported(f"@page {selector} sets its own {item.lower_name}")
                if item.lower_name == "marks" and not selector:
                    self.page_marks = tinycss2.serialize(item.value).strip()
            elif item.type == "at-rule" and item.lower_at_keyword in MARGIN_BOXES:
                content = None
                for declaration in tinycss2.parse_blocks_contents(
                    item.content, skip_comments=True, skip_whitespace=True
                ):
                    if declaration.type != "declaration":
                        continue
                    if _PAGE_PROPERTIES_WITH_INK.match(declaration.lower_name):
                        raise Unsupported(f"@page {selector} @{item.lower_at_keyword} draws a border")
                    if declaration.lower_name == "content":
                        content = list(declaration.value)
                self.margins.append(_MarginRule(selector, item.lower_at_keyword, content))

    def _check(self) -> None:
        """Refuse what parts laid out apart cannot reproduce."""
        for rule in self.rules:
            for declaration in rule.declarations:
                name = declaration.lower_name
                if name in ("counter-reset", "counter-increment", "counter-set"):
                    raise Unsupported(f"{rule.prelude} {{ {name} }}: counters run across parts")
                for function in _functions(declaration.value):
                    if function.lower_name in ("counter", "counters"):
                        raise Unsupported(f"{rule.prelude}: counter() runs across parts")
                    if function.lower_name in ("target-counters", "target-text"):
                        raise Unsupported(f"{rule.prelude}: {function.lower_name}() is not supported")
                if name == "float" and "footnote" in self._tinycss2.serialize(declaration.value):
                    for pseudo in ("::footnote-call", "::footnote-marker"):
                        if not any(pseudo in r.prelude and self._sets_content(r) for r in self.rules):
                            raise Unsupported(f"footnotes numbered by WeasyPrint's counter ({pseudo})")
        for margin in self.margins:
            functions = list(_functions(margin.content or []))
            names = {f.lower_name for f in functions}
            counters = [
                _meaningful(f.arguments) for f in functions if f.lower_name in ("counter", "counters")
            ]
            if any(args and getattr(args[0], "lower_value", "") == "pages" for args in counters):
                raise Unsupported("counter(pages) needs the whole book")
            if counters and names - {"counter", "counters"}:
                raise Unsupported(
                    f"@page {margin.selector} @{margin.box} mixes a page number with other content"
                )
            if counters and margin.selector not in ("", ":left", ":right"):
                raise Unsupported(f"@page {margin.selector} @{margin.box}: a page number styled by page name")
            for function in functions:
                args = _split_commas(function.arguments) if function.lower_name == "string" else []
                keyword = args[1][0].lower_value if len(args) > 1 and args[1] else "first"
                if keyword not in ("first", "first-except", "last"):
                    raise Unsupported(f"string(…, {keyword}) depends on the pages before a part")
            if names & {"element", "leader", "target-counter", "target-text"}:
                raise Unsupported(f"@page {margin.selector} @{margin.box}: {', '.join(sorted(names))}")
        folios = self.folio_boxes()
        edges = {box.split("-")[0] for box in folios}
        for margin in self.margins:
            shown = margin.content is not None and self.serialize(margin.content).strip() not in (
                "none",
                "normal",
            )
            edge = margin.box.split("-")[0]
            if shown and edge in edges and margin.box not in folios and "corner" not in margin.box:
                raise Unsupported(f"@{margin.box} shares its edge with a page number (their widths interact)")

    @staticmethod
    def _sets_content(rule: _Rule) -> bool:
        return any(
            d.lower_name == "content" and not any(f.lower_name == "counter" for f in _functions(d.value))
            for d in rule.declarations
        )

    # ------------------------------------------------------------------ queries

    def folio_boxes(self) -> set[str]:
        """Margin boxes that print the page number (``@bottom-center``)."""
        return {
            m.box for m in self.margins if any(f.lower_name == "counter" for f in _functions(m.content or []))
        }

    def running_strings(self) -> set[str]:
        """Named strings printed in margin boxes (``book-title``, ``section-title``)."""
        names = set()
        for margin in self.margins:
            for function in _functions(margin.content or []):
                if function.lower_name == "string":
                    args = _meaningful(function.arguments)
                    if args:
                        names.add(args[0].value)
        return names

    def string_rules(self) -> list[tuple[_Rule, str]]:
        """``(rule, name)`` for every ``string-set: name content()``."""
        found = []
        for rule in self.rules:
            for declaration in rule.declarations:
                if declaration.lower_name != "string-set":
                    continue
                for group in _split_commas(declaration.value):
                    if len(group) == 1 and group[0].type == "ident" and group[0].lower_value == "none":
                        continue
                    if (
                        len(group) != 2
                        or group[0].type != "ident"
                        or group[1].type != "function"
                        or group[1].lower_name != "content"
                        or [t.value for t in _meaningful(group[1].arguments)] not in ([], ["text"])
                    ):
                        raise Unsupported(f"{rule.prelude}: string-set other than content()")
                    found.append((rule, group[0].value))
        return found

    def page_names(self) -> list[tuple[_Rule, str]]:
        """``(rule, name)`` for every ``page`` declaration (named pages)."""
        return [
            (rule, self._tinycss2.serialize(d.value).strip())
            for rule in self.rules
            for d in rule.declarations
            if d.lower_name == "page"
        ]

    def break_rules(self) -> list[tuple[_Rule, str]]:
        found = []
        for rule in self.rules:
            for declaration in rule.declarations:
                if declaration.lower_name in ("break-before", "page-break-before"):
                    value = self._tinycss2.serialize(declaration.value).strip().lower()
                    if value == "always":
                        value = "page"
                    found.append((rule, value))
        return found

    def target_rules(self) -> list[_TargetRule]:
        found = []
        for rule in self.rules:
            for declaration in rule.declarations:
                targets = [f for f in _functions(declaration.value) if f.lower_name == "target-counter"]
                if not targets:
                    continue
                attributes = []
                for function in targets:
                    args = _split_commas(function.arguments)
                    ok = (
                        len(args) == 2
                        and len(args[0]) == 1
                        and args[0][0].type == "function"
                        and args[0][0].lower_name == "attr"
                        and [getattr(t, "lower_value", None) for t in args[1]] == ["page"]
                    )
                    inner = _meaningful(args[0][0].arguments) if ok else []
                    if not ok or len(inner) != 2 or getattr(inner[1], "lower_value", None) != "url":
                        raise Unsupported(
                            f"{rule.prelude}: only target-counter(attr(X url), page) is supported"
                        )
                    attributes.append(inner[0].value)
                found.append(
                    _TargetRule(
                        rule.prelude,
                        rule.selectors,
                        declaration.name,
                        list(declaration.value),
                        tuple(attributes),
                    )
                )
        return found

    # ------------------------------------------------------------------ writing CSS

    def serialize(self, tokens: Iterable[Any]) -> str:
        return cast(str, self._tinycss2.serialize(tokens))

    def literal_strings(self, values: dict[str, str]) -> str:
        """``@page`` rules printing these named strings as literals (a part that does not set them)."""
        out = []
        for margin in self.margins:
            if margin.content is None:
                continue
            replaced, changed = self._replace_strings(margin.content, values)
            if changed:
                out.append(f"@page {margin.selector} {{ @{margin.box} {{ content: {replaced}; }} }}")
        return "\n".join(out)

    def _replace_strings(self, tokens: list[Any], values: dict[str, str]) -> tuple[str, bool]:
        parts: list[str] = []
        changed = False
        for token in tokens:
            if getattr(token, "type", None) == "function" and token.lower_name == "string":
                args = _meaningful(token.arguments)
                if args and args[0].value in values:
                    parts.append(css_string(values[args[0].value]))
                    changed = True
                    continue
            parts.append(self._tinycss2.serialize([token]))
        return "".join(parts).strip(), changed

    def empty_folios(self) -> str:
        """Rules that leave the folio boxes empty but generated (so a part shows where they go)."""
        return "\n".join(
            f'@page {m.selector} {{ @{m.box} {{ content: ""; }} }}'
            for m in self.margins
            if any(f.lower_name == "counter" for f in _functions(m.content or []))
        )

    def folios_only(self, press_marks: bool) -> str:
        """Rules for folio sheets: every margin box empty except the page numbers; marks on blanks only."""
        out = []
        boxes = self.folio_boxes()
        for margin in self.margins:
            numbered = any(f.lower_name == "counter" for f in _functions(margin.content or []))
            if margin.content is not None and not numbered:
                out.append(f"@page {margin.selector} {{ @{margin.box} {{ content: none; }} }}")
        for box in sorted(MARGIN_BOXES - boxes):
            out.append(f"@page {{ @{box} {{ content: none; }} }}")
        if press_marks and self.page_marks:
            out.append(f"@page {{ marks: none; }}\n@page :blank {{ marks: {self.page_marks}; }}")
        return "\n".join(out)

    def page_numbers(self, rules: list[_TargetRule]) -> str:
        """The page-reference rules again, reading the page from an attribute the part carries."""
        out = []
        for rule in rules:
            text = []
            for token in rule.tokens:
                if getattr(token, "type", None) == "function" and token.lower_name == "target-counter":
                    args = _split_commas(token.arguments)
                    name = _meaningful(args[0][0].arguments)[0].value
                    text.append(f"attr({page_attribute(name)})")
                else:
                    text.append(self._tinycss2.serialize([token]))
            out.append(f"{rule.prelude} {{ {rule.declaration}: {''.join(text).strip()}; }}")
        return "\n".join(out)


@functools.cache
def without_group_starts(text: str) -> str:
    """A stylesheet without its ``@page …:nth(…)`` rules (for a part that continues a page group).

    Cached: a worker asks for the same few stylesheets for every such part, and parsing them
    took a fifth of its own (not WeasyPrint's) time at N = 10.
    """
    import tinycss2

    nodes = tinycss2.parse_stylesheet(text, skip_comments=False, skip_whitespace=False)
    return "".join(
        node.serialize()
        for node in nodes
        if not (
            node.type == "at-rule"
            and node.lower_at_keyword == "page"
            and ":nth(" in tinycss2.serialize(node.prelude)
        )
    )


def css_string(value: str) -> str:
    """A CSS string literal for any text (every character outside plain ASCII escaped)."""
    out = []
    for char in value:
        if char.isascii() and (char.isalnum() or char in " .,;:!?()-_'/&+*=@#$%[]{}~^|`"):
            out.append(char)
        else:
            out.append(f"\\{ord(char):x} ")
    return '"' + "".join(out) + '"'


def page_attribute(name: str) -> str:
    return f"data-edition-page-{name}"


# ======================================================================== the plan


@dataclass(slots=True)
class PartPlan:
    """One part of the book, before layout."""

    name: str
    tree: Element
    """The part as an HTML document (head, and the part's share of the body)."""
    css: list[str] = field(default_factory=list)
    """Stylesheet additions for this part (empty folios, literal running heads, page numbers)."""
    targets: list[tuple[Element, str, str]] = field(default_factory=list)
    """``(element of the part's tree, attribute, id)`` for every page reference the part prints."""
    continues_group: bool = False
    """In the book, the part's first page continues a page group (``@page :nth(1 of …)``
    does not match it): the part is laid out without those rules."""

    @property
    def phase(self) -> int:
        """1: laid out at once; 2: laid out once the pages of its references are known."""
        return 2 if self.targets else 1

    def html(self, pages: dict[str, int] | None = None) -> str:
        """The part's HTML; for a phase-2 part, with the page numbers of its references filled in."""
        for element, attribute, target in self.targets:
            if pages is None or target not in pages:
                raise Unsupported(f"part {self.name} refers to #{target}, which no phase-1 part holds")
            element.set(page_attribute(attribute), str(pages[target]))
        return to_html(self.tree, consume=True)


_MATCHER_INDEX = (
    "id_selectors",
    "class_selectors",
    "lower_local_name_selectors",
    "namespace_selectors",
    "lang_attr_selectors",
    "other_selectors",
)


class _Matcher:
    """Which elements of the book match which rules (cssselect2).

    A long book has tens of thousands of elements and the rules the plan needs name a few
    kinds of them (headings, page references), so elements are wrapped for cssselect2 only
    when asked about, and :meth:`matching` asks only about those a rule could match: its
    key (id, class or element name, as ``cssselect2.Matcher`` files it) is on the element.
    """

    def __init__(self, root: Element) -> None:
        import cssselect2

        self._cssselect2 = cssselect2
        self.root = root
        self._wrappers = {root: cssselect2.ElementWrapper.from_html_root(root)}

    def wrapper(self, element: Element) -> Any:
        """The cssselect2 wrapper of an element (its parent's children are wrapped together)."""
        found = self._wrappers.get(element)
        if found is None:
            parent = element.getparent()
            assert parent is not None  # the root is wrapped from the start
            for child in self.wrapper(parent).iter_children():
                self._wrappers[child.etree_element] = child
            found = self._wrappers[element]
        return found

    def matching(self, rules: Sequence[tuple[list[Any], Any]]) -> dict[Element, list[Any]]:
        """Element → payloads of the selectors it matches (a pseudo-element counts as its element)."""
        matcher = self._cssselect2.Matcher()
        for selectors, payload in rules:
            for selector in selectors:
                matcher.add_selector(selector, payload)
        found: dict[Element, list[Any]] = {}
        for element in self._candidates(matcher):
            matches = matcher.match(self.wrapper(element))
            if matches:
                found[element] = [m[3] for m in matches]
        return found

    def _candidates(self, matcher: Any) -> Iterator[Element]:
        """The elements, in document order, that ``matcher`` has a selector for (by its key).

        The keys are where ``cssselect2.Matcher`` files its selectors (public attributes, not
        documented ones): should a later cssselect2 file them otherwise, every element is
        a candidate, which is slower and gives the same plan.
        """
        elements = (e for e in self.root.iter() if isinstance(e.tag, str))
        index: list[Any] = [getattr(matcher, name, None) for name in _MATCHER_INDEX]
        ids, classes, names, by_namespace, by_lang, others = index
        if any(found is None for found in index) or by_namespace or others:
            yield from elements  # selectors without a key: every element is a candidate
            return
        lower, split = self._cssselect2.ascii_lower, self._cssselect2.compiler.split_whitespace
        for element in elements:
            if (
                lower(local_name(element)) in names
                or element.get("id") in ids
                or (classes and not classes.keys().isdisjoint(split(element.get("class", ""))))
                or (by_lang and "lang" in element.attrib)
            ):
                yield element

    def tests(self, element: Element, selectors: Iterable[Any]) -> Iterator[Any]:
        wrapper = self.wrapper(element)
        for selector in selectors:
            if selector.pseudo_element is None and selector.test(wrapper):
                yield selector

    def cascade(self, element: Element, rules: list[tuple[_Rule, str]]) -> str | None:
        """The value the cascade gives ``element`` among these declarations (author origin)."""
        best: tuple[tuple[int, int, int], int, str] | None = None
        for rule, value in rules:
            for selector in self.tests(element, rule.selectors):
                candidate = (selector.specificity, rule.order, value)
                if best is None or candidate[:2] > best[:2]:
                    best = candidate
        return best[2] if best else None


def plan_parts(book: Element, styles: Styles) -> list[PartPlan]:
    """Cut the book's HTML into parts, each with its stylesheet additions.

    Cuts fall before the children of ``main`` and of ``body`` (after ``main``) that the
    stylesheets start on a right-hand page. Raises :class:`Unsupported` when a cut would
    not be exact.
    """
    matcher = _Matcher(book)
    head = next(c for c in book if local_name(c) == "head")
    body = next(c for c in book if local_name(c) == "body")
    main = next((c for c in body if local_name(c) == "main"), None)
    if main is None:
        raise Unsupported("no main text")
    for rule in styles.rules:
        if any(True for _ in matcher.tests(main, rule.selectors)):
            for declaration in rule.declarations:
                if re.match(r"^(margin|padding|border|background|box-decoration)", declaration.lower_name):
                    raise Unsupported(f"{rule.prelude} decorates the text's container, which parts split")
    breaks = styles.break_rules()
    page_names = styles.page_names()
    main_page = matcher.cascade(main, page_names) or "auto"

    def starts_part(element: Element) -> bool:
        return matcher.cascade(element, breaks) in ("right", "recto")

    # ---- where the cuts fall: lists of (in main?, element of the book)
    children = list(body)
    before = [c for c in children[: children.index(main)] if isinstance(c.tag, str)]
    groups: list[list[tuple[bool, Element]]] = [[(False, c) for c in before]]
    opening = True
    for child in main:
        if isinstance(child.tag, str):
            if starts_part(child) and not opening:
                groups.append([])
            groups[-1].append((True, child))
            opening = False
    for child in children[children.index(main) + 1 :]:
        if isinstance(child.tag, str):
            if starts_part(child):
                groups.append([])
            groups[-1].append((False, child))

    # ---- what each part needs to know
    running = styles.running_strings()
    target_rules = styles.target_rules()
    # one pass over the book for both kinds of rule (a pass is most of the planning's time)
    matched = matcher.matching(
        [(rule.selectors, ("string", name)) for rule, name in styles.string_rules() if name in running]
        + [(rule.selectors, ("target", rule)) for rule in target_rules]
    )
    setters = {e: [v for k, v in found if k == "string"] for e, found in matched.items()}
    targets = {e: [v for k, v in found if k == "target"] for e, found in matched.items()}
    folios = styles.empty_folios()
    strings: dict[str, str] = {}

    parts: list[PartPlan] = []
    for index, group in enumerate(groups):
        tree = h("html", _attributes(book))
        tree.append(copy.deepcopy(head))
        part_body = h("body", _attributes(body))
        tree.append(part_body)
        container: Element | None = None
        part = PartPlan(_part_name(group[0][1], index), tree)
        used_rules: list[_TargetRule] = []
        found: list[tuple[Element, str]] = []
        for in_main, element in group:
            duplicate = copy.deepcopy(element)
            if in_main:
                if container is None:
                    attributes = _attributes(main)
                    if index:
                        attributes.pop("id", None)  # every anchor once in the book: the first part's
                    container = h("main", attributes)
                    part_body.append(container)
                container.append(duplicate)
            else:
                part_body.append(duplicate)
            for original, copied in zip(element.iter(), duplicate.iter(), strict=True):
                for name in setters.get(original, ()):
                    found.append((original, name))
                for rule in targets.get(original, ()):
                    if rule not in used_rules:
                        used_rules.append(rule)
                    for attribute in rule.attributes:
                        value = original.get(attribute) or ""
                        if not value.startswith("#"):
                            raise Unsupported(f"a page reference to {value!r}, not an anchor")
                        part.targets.append((copied, attribute, value[1:]))
        if folios:
            part.css.append(folios)
        if index:
            first = group[0][1]
            first_page = matcher.cascade(first, page_names) or "auto"
            # WeasyPrint starts no page group where the page name does not change
            part.continues_group = (
                group[0][0] and main_page in styles.group_starts and first_page in ("auto", main_page)
            )
            at_start = {first, *[c for c in first if isinstance(c.tag, str)][:1]}
            own: set[str] = set()
            for element, name in found:
                if name not in own and element not in at_start:
                    raise Unsupported(f"part {part.name} sets the running string {name!r} after its start")
                own.add(name)
            inherited = {name: strings.get(name, "") for name in sorted(running - own)}
            if inherited:
                part.css.append(styles.literal_strings(inherited))
        for element, name in found:
            strings[name] = _text_content(element)
        if used_rules:
            part.css.append(styles.page_numbers(used_rules))
        parts.append(part)
    return parts


def _part_name(element: Element, index: int) -> str:
    return "opening" if index == 0 else f"{index:03d}-{element.get('id') or local_name(element)}"


def _text_content(element: Element) -> str:
    """What ``string-set: x content()`` takes: the text, ASCII white space collapsed (not NBSP)."""
    return _ASCII_SPACE.sub(" ", "".join(str(t) for t in element.itertext())).strip(" ")


def _attributes(element: Element) -> dict[str, str | None]:
    return {str(key): str(value) for key, value in element.attrib.items()}


# ======================================================================== layout (in worker processes)


@dataclass(frozen=True, slots=True)
class LayoutConfig:
    """What every layout of one book shares (sent once to each worker process)."""

    profile: str
    trim: str
    folder: str
    when: datetime
    metadata: Metadata
    path: str
    folio_boxes: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class PartLayout:
    """A laid-out part: its PDF and what the join needs to know about its pages."""

    pdf: bytes
    pages: int
    folios: tuple[bool, ...]
    """Per page: does the book print a page number on it (a folio box is generated)?"""
    blank_end: bool
    """The last page is a blank page (notes carried past the end): the cut would not be exact."""
    anchors: dict[str, int]
    """Every id laid out in the part → 0-based page index in the part."""
    bookmarks: tuple[tuple[int, int, str, float, float, str], ...]
    """``(page index, level, label, x, y, state)``, in PDF coordinates, in order."""
    starts: tuple[tuple[int, str, int], ...]
    """:class:`edition.pdf.PageStart` fields, pages counted from 1 in the part."""
    messages: tuple[str, ...]
    table_ids: bool
    """Its structure tree has table header ids (WeasyPrint numbers them per document)."""

    def facts(self) -> dict[str, Any]:
        return {
            "pages": self.pages,
            "folios": list(self.folios),
            "blank_end": self.blank_end,
            "anchors": self.anchors,
            "bookmarks": [list(b) for b in self.bookmarks],
            "starts": [list(s) for s in self.starts],
            "messages": list(self.messages),
            "table_ids": self.table_ids,
        }

    @classmethod
    def from_facts(cls, facts: dict[str, Any], pdf: bytes) -> PartLayout:
        return cls(
            pdf=pdf,
            pages=int(facts["pages"]),
            folios=tuple(bool(f) for f in facts["folios"]),
            blank_end=bool(facts["blank_end"]),
            anchors={str(k): int(v) for k, v in facts["anchors"].items()},
            bookmarks=tuple(
                (int(p), int(lv), str(lb), float(x), float(y), str(st))
                for p, lv, lb, x, y, st in facts["bookmarks"]
            ),
            starts=tuple((int(p), str(b), int(o)) for p, b, o in facts["starts"]),
            messages=tuple(str(m) for m in facts["messages"]),
            table_ids=bool(facts["table_ids"]),
        )


@dataclass(frozen=True, slots=True)
class _Failure:
    message: str
    refused: str | None


class _MetadataOnly:
    """What :func:`edition.pdf._finisher` reads of an edition (workers do not get the whole model)."""

    def __init__(self, metadata: Metadata) -> None:
        self.metadata = metadata


#: What :meth:`Layouter.warm_up` lays out: a heading, running text in three faces, a footnote.
_WARM_UP = (
    '<html lang="en"><body><main class="text"><section class="division body chapter">'
    '<h2>Warm-up</h2><p class="p">Text, <em>emphasis</em> and <strong>strength</strong>.'
    '<span class="footnote">A note.</span></p></section></main></body></html>'
)


class Layouter:
    """Lays out parts and folio sheets with WeasyPrint, exactly as :func:`edition.pdf.print_edition`."""

    def __init__(self, config: LayoutConfig) -> None:
        from edition.pdf import PrintOptions, print_assets, print_sheets

        self.config = config
        self.options = PrintOptions(config.profile, config.trim)
        self.assets = print_assets(self.options)
        self.folder = Path(config.folder)
        self.base = f"file://{pathname2url(str(self.folder))}/"
        self.sheets = print_sheets(self.options, self.assets)

    def _pdf_options(self, tagged: bool) -> dict[str, Any]:
        from edition.pdf import pdf_variant

        if not tagged and not self.options.press:
            return {"pdf_variant": None, "pdf_tags": False, "output_intent": None}
        return pdf_variant(self.options)

    @contextlib.contextmanager
    def _render(
        self,
        html: str,
        extra: Sequence[str],
        pdf_options: dict[str, Any],
        sheets: Sequence[tuple[str, str]] | None = None,
    ) -> Iterator[tuple[Any, Any]]:
        import weasyprint
        from weasyprint.text.fonts import FontConfiguration

        from edition.pdf import ConfinedFetcher, _source_date_epoch, _WeasyPrintLog

        fetcher = ConfinedFetcher(self.folder, self.assets)
        fonts = FontConfiguration()
        profiles: dict[str, object] = {}
        records = _WeasyPrintLog()
        with records, _source_date_epoch(self.config.when):
            stylesheets = [
                weasyprint.CSS(
                    string=text,
                    base_url=f"{self.base}assets/{name}",
                    url_fetcher=fetcher,
                    font_config=fonts,
                    color_profiles=profiles,
                )
                for text, name in [*(sheets or self.sheets), *((text, "part.css") for text in extra)]
            ]
            document = weasyprint.HTML(string=html, base_url=self.base, url_fetcher=fetcher).render(
                stylesheets=stylesheets, font_config=fonts, color_profiles=profiles, **pdf_options
            )
            yield document, records
        if fetcher.refused:
            raise PermissionError(f"refused to fetch {fetcher.refused[0]}")

    def warm_up(self) -> None:
        """Lay out a few lines and throw them away, before the first part comes.

        Why: WeasyPrint's first document in a process loads the fonts and fills its caches.
        Measured once at N = 100: a chapter took 1.8 s as a fresh process's first layout and
        1.2-1.3 s after this 0.2 s warm-up, which a worker started early (:class:`_Warm`)
        does while the book is planned. The parts' bytes do not depend on it (a worker lays
        out many parts anyway, in any order).
        """
        with contextlib.suppress(Exception):  # a real part fails the same way, and says why
            self.part(_WARM_UP, ())

    def part(self, html: str, css: Sequence[str], continues_group: bool = False) -> PartLayout:
        from weasyprint.matrix import Matrix

        from edition.pdf import _finisher, page_starts

        pdf_options = self._pdf_options(tagged=True)
        sheets = (
            [(without_group_starts(text), name) for text, name in self.sheets] if continues_group else None
        )
        with self._render(html, css, pdf_options, sheets) as (document, records):
            pages = document.pages
            folios = tuple(_has_folio(page, self.config.folio_boxes) for page in pages)
            anchors: dict[str, int] = {}
            for index, page in enumerate(pages):
                for name in page.anchors:
                    anchors.setdefault(name, index)
            wanted = {target for page in pages for kind, target, _, _ in page.links if kind == "internal"}
            for name in sorted(wanted - anchors.keys()):
                # a link into another part: a stand-in anchor makes WeasyPrint write the link
                # (its destination is dropped at the join, where the real one is)
                pages[0].anchors[name] = (0, 0, 0, 0)
            bookmarks = []
            for index, page in enumerate(pages):
                matrix = Matrix(a=0.75, d=-0.75, f=page.height * 0.75)
                for level, label, (x, y), state in page.bookmarks:
                    x, y = matrix.transform_point(x, y)
                    bookmarks.append((index, level, label, x, y, state))
            starts = tuple((s.page, s.block, s.offset) for s in page_starts(document))
            holder = cast("Edition", _MetadataOnly(self.config.metadata))
            pdf = document.write_pdf(finisher=_finisher(holder, self.options), **pdf_options)
            blank_end = bool(pages[-1]._page_box.page_type.blank)
        return PartLayout(
            pdf=pdf,
            pages=len(pages),
            folios=folios,
            blank_end=blank_end,
            anchors=anchors,
            bookmarks=tuple(bookmarks),
            starts=starts,
            messages=tuple(records.messages),
            table_ids="<th" in html and _has_table_ids(pdf),  # only a th element is tagged TH
        )

    def folio_sheet(self, first: int, kinds: str, css: str) -> bytes:
        """Empty pages ``first``… with only their page numbers; ``B`` pages are blank versos."""
        divs = []
        for index, kind in enumerate(kinds):
            if kind == "B":
                continue
            if index == 0:
                divs.append("<div></div>")
            else:
                divs.append(f'<div class="{"ed-r" if kinds[index - 1] == "B" else "ed-p"}"></div>')
        if kinds.endswith("B"):
            divs.append('<div class="ed-r"></div>')  # makes the last blank; itself not used
        language = escape(self.config.metadata.language or "und", {'"': "&quot;"})
        html = f'<!DOCTYPE html>\n<html lang="{language}"><body>{"".join(divs)}</body></html>'
        sheet = (
            f"{css}\n.ed-p {{ break-before: page; }}\n.ed-r {{ break-before: right; }}\n"
            f"@page :first {{ counter-reset: page {first}; }}\n"
            + ("html { break-before: left; }\n" if first % 2 == 0 else "")
        )
        with self._render(html, [sheet], self._pdf_options(tagged=False)) as (document, _):
            count = len(document.pages)
            expected = len(kinds) + (1 if kinds.endswith("B") else 0)
            if count != expected:
                raise RuntimeError(f"folio sheet from page {first}: {count} pages, not {expected}")
            blanks = [bool(page._page_box.page_type.blank) for page in document.pages[: len(kinds)]]
            if blanks != [kind == "B" for kind in kinds]:
                raise RuntimeError(f"folio sheet from page {first}: blank pages out of place")
            return cast(bytes, document.write_pdf(**self._pdf_options(tagged=False)))


def _has_folio(page: Any, folio_boxes: Sequence[str]) -> bool:
    from weasyprint.formatting_structure import boxes

    wanted = {f"@{name}" for name in folio_boxes}
    return any(
        isinstance(box, boxes.MarginBox) and box.at_keyword in wanted for box in page._page_box.children
    )


_LAYOUTER: Layouter | None = None


def _init_worker(config: LayoutConfig) -> None:
    global _LAYOUTER
    _LAYOUTER = Layouter(config)


def _task(kind: str, *args: Any) -> PartLayout | bytes | _Failure:
    """One layout in a worker (or inline): failures come back as values (exceptions may not pickle)."""
    assert _LAYOUTER is not None
    try:
        if kind == "part":
            return _LAYOUTER.part(*args)
        return _LAYOUTER.folio_sheet(*args)
    except Exception as error:  # WeasyPrint raises many kinds; the coordinator reports them
        message = f"{type(error).__name__}: {error}"
        refused = str(error).removeprefix("refused to fetch ") if isinstance(error, PermissionError) else None
        return _Failure(message, refused)


# ======================================================================== the cache


class PartCache:
    """Laid-out parts and folio sheets on disk, keyed by a hash of everything their bytes depend on.

    Safe to delete at any time. An entry is two files, ``<key>.pdf`` and ``<key>.json`` (the
    facts, with the PDF's SHA-256): an entry that is missing, unreadable or does not match
    its hash is a miss, and the part is laid out again.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.used: set[str] = set()

    def get(self, key: str) -> tuple[dict[str, Any], bytes] | None:
        self.used.add(key)
        try:
            facts = json.loads((self.folder / f"{key}.json").read_text(encoding="utf-8"))
            data = (self.folder / f"{key}.pdf").read_bytes()
        except (OSError, ValueError):
            return None
        if not isinstance(facts, dict) or facts.get("sha256") != hashlib.sha256(data).hexdigest():
            return None
        return facts, data

    def put(self, key: str, facts: dict[str, Any], data: bytes) -> None:
        self.used.add(key)
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            record = {**facts, "sha256": hashlib.sha256(data).hexdigest()}
            for suffix, content in ((".pdf", data), (".json", json.dumps(record).encode("utf-8"))):
                temporary = self.folder / f".{key}{suffix}.{os.getpid()}.tmp"
                temporary.write_bytes(content)
                temporary.replace(self.folder / f"{key}{suffix}")
        except OSError as error:  # a cache that cannot be written only costs time
            log.info("layout cache not written (%s): %s", self.folder, error)

    def prune(self) -> None:
        """Remove entries this build did not use (what an earlier version of the book needed)."""
        with contextlib.suppress(OSError):
            for path in self.folder.iterdir():
                key = path.name.split(".")[0] if not path.name.startswith(".") else ""
                if key not in self.used:
                    with contextlib.suppress(OSError):
                        path.unlink()


def _fingerprint(config: LayoutConfig, layouter: Layouter) -> hashlib._Hash:
    """What every cached layout of this book depends on besides its own HTML.

    The versions are read from the installed packages' metadata: importing WeasyPrint here
    would cost this process a second that the layout workers spend anyway.
    """
    digest = hashlib.sha256()

    def add(*values: object) -> None:
        for value in values:
            data = value if isinstance(value, bytes) else str(value).encode("utf-8")
            digest.update(len(data).to_bytes(8, "big") + data)

    meta = config.metadata
    add(CACHE_FORMAT, version("weasyprint"), version("pydyf"), config.profile, config.trim, config.folder)
    add(config.when.isoformat(), meta.identifier, meta.language, meta.date, meta.licence)
    for module in ("pdf.py", "parallel.py"):
        add((Path(__file__).parent / module).read_bytes())
    for text, name in layouter.sheets:
        add(name, text)
    for target in sorted(layouter.assets):
        add(target, hashlib.sha256(layouter.assets[target].source.read_bytes()).digest())
    return digest


def _key(fingerprint: hashlib._Hash, *values: str) -> str:
    digest = fingerprint.copy()
    for value in values:
        data = value.encode("utf-8")
        digest.update(len(data).to_bytes(8, "big") + data)
    return digest.hexdigest()


def _files_referenced(html: str, folder: Path) -> str:
    """Contents' hashes of the edition's files a part loads (images): their bytes are in the PDF."""
    found = []
    for match in sorted(set(re.findall(r'\ssrc="([^"]+)"', html))):
        path = (folder / match).resolve()
        if path.is_relative_to(folder) and path.is_file():
            found.append(f"{match}:{hashlib.sha256(path.read_bytes()).hexdigest()}")
    return "\n".join(found)


# ======================================================================== joining


@dataclass(slots=True)
class Placed:
    """A part in the book: its layout, where it starts, and whether a blank verso precedes it."""

    name: str
    layout: PartLayout
    first: int
    """The book's page number of the part's first page."""
    blank_before: bool


@dataclass(frozen=True, slots=True)
class FolioSheet:
    first: int
    kinds: str
    pdf: bytes


def _subset_tag(old: str, label: str, taken: set[str]) -> str:
    for attempt in range(1000):
        digest = hashlib.sha256(f"{old}|{label}|{attempt}".encode()).digest()
        tag = "".join(string.ascii_uppercase[b % 26] for b in digest[:6])
        if tag not in taken:
            taken.add(tag)
            return tag
    raise RuntimeError("no free font subset tag")  # pragma: no cover


def _retag_fonts(pdf: Any, label: str, taken: set[str], keep: bool) -> None:
    """Fonts are subset per part: each subset gets its own tag (ISO 32000: one tag per subset)."""
    import pikepdf

    fonts: dict[tuple[int, int], Any] = {}
    for page in pdf.pages:
        resources = page.obj.get("/Resources")
        font_dict = resources.get("/Font") if resources is not None else None
        if font_dict is None:
            continue
        for _, font in font_dict.items():
            fonts.setdefault(font.objgen, font)
    renamed: dict[str, str] = {}
    for font in fonts.values():
        descendants = list(font.get("/DescendantFonts", pikepdf.Array()))
        for holder, key in [(font, "/BaseFont"), *((d, "/BaseFont") for d in descendants)]:
            descriptor = holder.get("/FontDescriptor")
            for owner, name_key in [
                (holder, key),
                *([(descriptor, "/FontName")] if descriptor is not None else []),
            ]:
                name = str(owner.get(name_key, ""))
                match = _TAG.match(name.lstrip("/"))
                if not match:
                    continue
                old = match.group(1)
                if keep:
                    taken.add(old)
                    continue
                if old not in renamed:
                    renamed[old] = _subset_tag(old, label, taken)
                owner[name_key] = pikepdf.Name("/" + renamed[old] + name.lstrip("/")[6:])


def _retag_table_ids(pdf: Any, prefix: str) -> None:
    """Table header ids (``/ID``, ``/Headers``) of a second tagged table part, made unique in the book."""
    import pikepdf

    root = pdf.Root.get("/StructTreeRoot")
    if root is None:
        return
    stack = [root]
    seen: set[tuple[int, int]] = set()
    while stack:
        node = stack.pop()
        if isinstance(node, pikepdf.Dictionary):
            if node.is_indirect:
                if node.objgen in seen:
                    continue
                seen.add(node.objgen)
            if node.get("/Type") == "/OBJR":
                continue
            if "/ID" in node:
                node.ID = pikepdf.String(prefix + str(node.ID))
            attributes = node.get("/A")
            if isinstance(attributes, pikepdf.Dictionary) and "/Headers" in attributes:
                attributes.Headers = pikepdf.Array(
                    [pikepdf.String(prefix + str(h)) for h in attributes.Headers]
                )
            kids = node.get("/K")
            if isinstance(kids, pikepdf.Array):
                stack.extend(kids)
            elif isinstance(kids, pikepdf.Dictionary):
                stack.append(kids)


def _outline_tree(bookmarks: Sequence[tuple[int, int, str, float, float, str]]) -> list[Any]:
    """WeasyPrint's bookmark tree (``Document.make_bookmark_tree``) over the whole book's bookmarks."""
    root: list[Any] = []
    skipped_levels: list[int] = []
    last_by_depth: list[list[Any]] = [root]
    previous_level = 0
    for page, level, label, x, y, state in bookmarks:
        if level > previous_level:
            skipped_levels.append(level - previous_level - 1)
        else:
            temporary = level
            while temporary < previous_level:
                temporary += 1 + skipped_levels.pop()
            if temporary > previous_level:
                skipped_levels.append(temporary - previous_level - 1)
        previous_level = level
        depth = level - sum(skipped_levels)
        children: list[Any] = []
        last_by_depth[depth - 1].append((label, (page, x, y), children, state))
        del last_by_depth[depth:]
        last_by_depth.append(children)
    return root


def _add_outlines(pdf: Any, bookmarks: list[Any], parent: Any = None) -> tuple[list[Any], int]:
    """WeasyPrint's ``add_outlines``, with pikepdf objects."""
    import pikepdf

    count = len(bookmarks)
    outlines: list[Any] = []
    for title, (page, x, y), children, state in bookmarks:
        destination = pikepdf.Array([pdf.pages[page].obj, pikepdf.Name.XYZ, x, y, 0])
        outline = pdf.make_indirect(pikepdf.Dictionary(Title=pikepdf.String(title), Dest=destination))
        children_outlines, children_count = _add_outlines(pdf, children, outline)
        outline.Count = -children_count if state == "closed" else children_count
        if state != "closed":
            count += children_count
        if outlines:
            outline.Prev = outlines[-1]
            outlines[-1].Next = outline
        if children_outlines:
            outline.First = children_outlines[0]
            outline.Last = children_outlines[-1]
        if parent is not None:
            outline.Parent = parent
        outlines.append(outline)
    if parent is None and outlines:
        root = pdf.make_indirect(pikepdf.Dictionary(Count=count, First=outlines[0], Last=outlines[-1]))
        for outline in outlines:
            outline.Parent = root
        pdf.Root.Outlines = root
    return outlines, count


def _dedupe_profiles(pdf: Any) -> None:
    """One copy of each ICC profile: every part embeds the press profile (colour spaces, page groups)."""
    import pikepdf

    canonical: dict[bytes, Any] = {}
    seen: set[tuple[int, int]] = set()

    def key(stream: Any) -> bytes:
        details = sorted((str(k), str(v)) for k, v in stream.stream_dict.items() if k != "/Length")
        return hashlib.sha256(stream.read_raw_bytes() + repr(details).encode()).digest()

    def same(space: Any) -> Any:
        """``[/ICCBased profile]`` with the book's one copy of that profile."""
        if isinstance(space, pikepdf.Array) and len(space) == 2 and space[0] == pikepdf.Name.ICCBased:
            found = canonical.setdefault(key(space[1]), space[1])
            if found.objgen != space[1].objgen:
                return pikepdf.Array([pikepdf.Name.ICCBased, found])
        return space

    def group(owner: Any) -> None:
        transparency = owner.get("/Group")
        if isinstance(transparency, pikepdf.Dictionary) and "/CS" in transparency:
            transparency.CS = same(transparency.CS)

    def resources(dictionary: Any) -> None:
        if not isinstance(dictionary, pikepdf.Dictionary):
            return
        if dictionary.is_indirect:
            if dictionary.objgen in seen:
                return
            seen.add(dictionary.objgen)
        spaces = dictionary.get("/ColorSpace")
        if isinstance(spaces, pikepdf.Dictionary):
            for name, value in list(spaces.items()):
                spaces[name] = same(value)
        xobjects = dictionary.get("/XObject")
        if isinstance(xobjects, pikepdf.Dictionary):
            for _, xobject in xobjects.items():
                if xobject.get("/Subtype") == "/Form" and xobject.objgen not in seen:
                    seen.add(xobject.objgen)
                    group(xobject)
                    resources(xobject.get("/Resources"))

    for intent in pdf.Root.get("/OutputIntents", pikepdf.Array()):
        profile = intent.get("/DestOutputProfile")
        if profile is not None:
            canonical.setdefault(key(profile), profile)
    for page in pdf.pages:
        group(page.obj)
        resources(page.obj.get("/Resources"))


def join(
    placed: Sequence[Placed],
    sheets: Sequence[FolioSheet],
    *,
    tagged: bool,
    early: dict[bytes, Any] | None = None,
    deliver: Callable[[bytes], None] | None = None,
) -> bytes:
    """One PDF from the parts, as the single WeasyPrint document would be (see the module's docstring).

    ``early`` holds parts opened before the join began, by their bytes (see :func:`_join_main`).
    ``deliver``, if given, receives the PDF as soon as it is written, before the parts and
    the joined document are freed: freeing them takes 0.6-0.8 s at N = 100, which the join's
    process, about to exit, need not make the build wait for.
    """
    import pikepdf
    from pikepdf import Array, Dictionary, Name

    out = pikepdf.new()
    opened: list[Any] = list((early or {}).values())  # closed at the end, used or not

    def open_pdf(data: bytes) -> Any:
        pdf = (early or {}).pop(data, None)
        if pdf is None:
            pdf = pikepdf.open(io.BytesIO(data))
            opened.append(pdf)
        return pdf

    taken: set[str] = set()
    sheet_pages: dict[int, tuple[Any, int]] = {}
    for sheet in sheets:
        sheet_pdf = open_pdf(sheet.pdf)
        _retag_fonts(sheet_pdf, f"folios-{sheet.first}", taken, keep=False)
        for index in range(len(sheet.kinds)):
            sheet_pages[sheet.first + index] = (sheet_pdf, index)

    begin = out.make_stream(b"q\n")
    if tagged:
        finish = out.make_stream(b"Q\n/Artifact <</Type /Pagination>> BDC\nq /EdFolio Do Q\nEMC\n")
    else:
        finish = out.make_stream(b"Q\nq /EdFolio Do Q\n")

    def overlay(page: Any, number: int) -> None:
        sheet_pdf, index = sheet_pages[number]
        form = out.copy_foreign(sheet_pdf.make_indirect(sheet_pdf.pages[index].as_form_xobject()))
        old = page.obj.Resources
        resources = Dictionary({key: value for key, value in old.items()})
        xobjects = Dictionary({key: value for key, value in old.get("/XObject", Dictionary()).items()})
        xobjects.EdFolio = form
        resources.XObject = xobjects
        page.obj.Resources = resources
        contents = page.obj.Contents
        parts = list(contents) if isinstance(contents, Array) else [contents]
        page.obj.Contents = Array([begin, *parts, finish])

    struct_root = struct_document = None
    if tagged:
        struct_root = out.make_indirect(Dictionary(Type=Name.StructTreeRoot))
        struct_document = out.make_indirect(
            Dictionary(Type=Name.StructElem, S=Name.Document, K=Array(), P=struct_root)
        )
        struct_root.K = Array([struct_document])
    document_kids: list[Any] = []
    page_maps: list[Any] = []
    annotations: list[tuple[Any, Any]] = []
    destinations: list[tuple[str, Any]] = []
    bookmarks: list[tuple[int, int, str, float, float, str]] = []
    tables = 0
    first_pdf = None

    for part in placed:
        source = open_pdf(part.layout.pdf)
        if first_pdf is None:
            first_pdf = source
        _retag_fonts(source, part.name, taken, keep=part is placed[0])
        if part.blank_before:
            number = len(out.pages) + 1
            sheet_pdf, index = sheet_pages[number]
            out.pages.append(sheet_pdf.pages[index])
            if tagged:
                out.pages[-1].obj.Tabs = Name.S
                out.pages[-1].obj.StructParents = number - 1
                page_maps.append(Array())
        start = len(out.pages)
        assert start + 1 == part.first, (part.name, start, part.first)
        part_root = source.Root.get("/StructTreeRoot") if tagged else None
        kids: list[Any] = []
        if part_root is not None:
            if part.layout.table_ids:
                tables += 1
                if tables > 1:
                    _retag_table_ids(source, f"{part.name}-")
            kids = list(part_root.K[0].K)
            for kid in kids:
                del kid.P  # copied alone, not with the part's tree root
        with warnings.catch_warnings():
            # pikepdf warns that destinations do not follow pages; they are rebuilt below
            warnings.simplefilter("ignore", pikepdf.PageCopyWarning)
            out.pages.extend(source.pages)
        for j in range(part.layout.pages):
            page = out.pages[start + j]
            if tagged:
                page.obj.StructParents = start + j
            if part.layout.folios[j]:
                overlay(page, start + j + 1)
        wanted: list[tuple[str, Any]] = []
        names = source.Root.get("/Names")
        if names is not None and "/Dests" in names:
            wanted = [(n, t) for n, t in pikepdf.NameTree(names.Dests).items() if n in part.layout.anchors]
        # what the book takes from the part besides its pages, copied in one call (object by
        # object, pikepdf's copies were most of the join's time); references to the part's
        # pages become references to their copies
        bundle = Array(
            [
                Array(kids),
                part_root.ParentTree.Nums if part_root is not None else Array(),
                Array([target for _, target in wanted]),
            ]
        )
        copied_kids, copied_nums, copied_targets = out.copy_foreign(source.make_indirect(bundle))
        destinations += [(name, target) for (name, _), target in zip(wanted, copied_targets, strict=True)]
        if part_root is not None:
            assert struct_document is not None
            for kid in copied_kids:
                kid.P = struct_document
                document_kids.append(kid)
            part_nums = list(copied_nums)
            by_key: dict[int, Any] = {}
            for entry, value in zip(part_nums[::2], part_nums[1::2], strict=True):
                if int(entry) < part.layout.pages:
                    page_maps.append(value)
                else:
                    by_key[int(entry)] = value
            part_annotations = []
            for j in range(part.layout.pages):
                for annotation in out.pages[start + j].obj.get("/Annots", Array()):
                    if "/StructParent" in annotation:
                        key = int(annotation.StructParent)
                        part_annotations.append((key, annotation, by_key[key]))
            part_annotations.sort(key=lambda item: item[0])
            annotations.extend((annotation, element) for _, annotation, element in part_annotations)
        if source is not first_pdf:
            # its objects are copied; a copied stream keeps the source's input, not its parsed objects
            opened.remove(source)
            source.close()
        bookmarks.extend(
            (start + p, level, label, x, y, state) for p, level, label, x, y, state in part.layout.bookmarks
        )

    assert first_pdf is not None
    total = len(out.pages)
    if tagged:
        assert struct_root is not None
        nums: list[Any] = []  # built as a list: growing a pikepdf Array one item at a time is quadratic
        for number, mapping in enumerate(page_maps):
            nums += [number, mapping]
        for offset, (annotation, element) in enumerate(annotations):
            annotation.StructParent = total + offset
            nums += [total + offset, element]
        struct_root.ParentTree = out.make_indirect(Dictionary(Nums=Array(nums)))
        assert struct_document is not None
        struct_document.K = Array(document_kids)
        out.Root.StructTreeRoot = struct_root
    for key, value in first_pdf.Root.items():
        if key not in ("/Type", "/Pages", "/Outlines", "/Names", "/StructTreeRoot"):
            out.Root[key] = (
                _copy_direct(out, value)
                if not getattr(value, "is_indirect", False)
                else out.copy_foreign(value)
            )
    if destinations:
        flat: list[Any] = []
        for name, target in sorted(destinations, key=lambda item: item[0]):
            flat += [pikepdf.String(name), target]
        out.Root.Names = Dictionary(Dests=Dictionary(Names=Array(flat)))
    _add_outlines(out, _outline_tree(bookmarks))
    out.trailer.Info = out.copy_foreign(first_pdf.trailer.Info)
    _dedupe_profiles(out)
    buffer = io.BytesIO()
    out.save(
        buffer,
        deterministic_id=True,
        object_stream_mode=pikepdf.ObjectStreamMode.generate,
        stream_decode_level=pikepdf.StreamDecodeLevel.none,
        force_version=str(first_pdf.pdf_version),
        fix_metadata_version=False,  # the XMP stays byte for byte the one WeasyPrint wrote
    )
    data = buffer.getvalue()
    if deliver is not None:
        deliver(data)
    for pdf in opened:
        pdf.close()
    out.close()
    return data


def _has_table_ids(data: bytes) -> bool:
    """Whether a part's structure tree has table header ids (only parts with tables do).

    Checked where the part is laid out, so that the join (one process, every part) need not.
    """
    import pikepdf

    with pikepdf.open(io.BytesIO(data)) as pdf:
        root = pdf.Root.get("/StructTreeRoot")
        if root is None:
            return False
        nums = root.get("/ParentTree", pikepdf.Dictionary()).get("/Nums", pikepdf.Array())
        for value in list(nums)[1::2]:
            elements = value if isinstance(value, pikepdf.Array) else [value]
            for element in elements:
                if not isinstance(element, pikepdf.Dictionary):
                    continue
                parent = element.get("/P")
                if element.get("/S") == "/TH" or (
                    isinstance(parent, pikepdf.Dictionary) and parent.get("/S") == "/TH"
                ):
                    return True
    return False


def _copy_direct(pdf: Any, value: Any) -> Any:
    """A direct object of another PDF, with its indirect references copied."""
    import pikepdf

    def one(item: Any) -> Any:
        if isinstance(item, pikepdf.Object) and item.is_indirect:
            return pdf.copy_foreign(item)
        return _copy_direct(pdf, item)

    if isinstance(value, pikepdf.Dictionary):
        return pikepdf.Dictionary({key: one(item) for key, item in value.items()})
    if isinstance(value, pikepdf.Array):
        return pikepdf.Array([one(item) for item in value])
    return value


# ======================================================================== the coordinator


@dataclass(slots=True)
class BuildStats:
    """What a parallel build did: which parts it laid out and which it took from the cache."""

    parts: int = 0
    laid_out: list[str] = field(default_factory=list)
    cached: list[str] = field(default_factory=list)
    folio_sheets_laid_out: int = 0
    folio_sheets_cached: int = 0
    jobs: int = 1
    seconds: dict[str, float] = field(default_factory=dict)

    def summary(self) -> str:
        """Say what was laid out and what came from the cache, e.g. ``in 104 parts: 1 laid out, ...``."""
        return (
            f"in {self.parts} parts: {len(self.laid_out)} laid out, {len(self.cached)} from the cache; "
            f"folio sheets: {self.folio_sheets_laid_out} laid out, "
            f"{self.folio_sheets_cached} from the cache; "
            f"{self.jobs} jobs"
        )


@dataclass(frozen=True, slots=True)
class ParallelResult:
    result: PrintResult
    stats: BuildStats


T = TypeVar("T")


class _Runner:
    """Runs layouts in worker processes (started only when two or more layouts can run at once), or inline.

    Workers are fresh interpreters (``python -c`` running :func:`_worker_main`) fed pickled tasks over a
    pipe, one per thread of a thread pool: unlike :mod:`multiprocessing`'s spawn, they never
    re-import the caller's ``__main__`` (a script without a ``__name__`` guard still works),
    and unlike fork they inherit no half-initialised font machinery.
    """

    def __init__(self, config: LayoutConfig, jobs: int, warm: subprocess.Popen[bytes] | None = None) -> None:
        self.config = config
        self.jobs = jobs
        self.threads: concurrent.futures.ThreadPoolExecutor | None = None
        self.local = threading.local()
        self.processes: list[subprocess.Popen[bytes]] = []
        self.lock = threading.Lock()
        self.inline = False
        self.warm = warm
        """A worker started before the book was planned and configured (see :class:`_Warm`): the
        first thread takes it."""

    def submit(
        self, batch: Sequence[tuple[Any, ...]], *, more: bool = False
    ) -> list[concurrent.futures.Future[Any]]:
        """Lay out ``batch``; ``more``: other layouts may follow at once (workers are worth starting)."""
        # one layout goes to the warm worker too: this process then never imports WeasyPrint
        if (
            self.threads is None
            and self.jobs > 1
            and (len(batch) > 1 or more or (batch and self.warm is not None))
        ):
            self.threads = concurrent.futures.ThreadPoolExecutor(
                self.jobs, thread_name_prefix="edition-layout"
            )
        futures: list[concurrent.futures.Future[Any]] = []
        for args in batch:
            if self.threads is not None:
                futures.append(self.threads.submit(self._remote, args))
                continue
            if not self.inline:
                _init_worker(self.config)
                self.inline = True
            future: concurrent.futures.Future[Any] = concurrent.futures.Future()
            future.set_result(_task(*args))
            futures.append(future)
        return futures

    def _remote(self, args: tuple[Any, ...]) -> Any:
        process: subprocess.Popen[bytes] | None = getattr(self.local, "process", None)
        if process is None:
            with self.lock:
                process, self.warm = self.warm, None
            if process is None:
                process = _python("_worker_main")
                assert process.stdin is not None
                _send(process.stdin, self.config)
            with self.lock:
                self.processes.append(process)
            self.local.process = process
        assert process.stdin is not None and process.stdout is not None
        try:
            _send(process.stdin, args)
            return _receive(process.stdout)
        except (OSError, EOFError, pickle.UnpicklingError) as error:
            return _Failure(f"a layout process ended unexpectedly ({type(error).__name__})", None)

    def close(self) -> None:
        """End the workers at once.

        Why at once, and by a signal, rather than letting each end at the end of its input:
        once every layout is back a worker has nothing left to do but free WeasyPrint's
        memory, which took 0.3-0.7 s at N = 100 while the build waited to join the PDF;
        ended by the system, its memory is free at once (the join's process is stopped the
        same way once it has answered). After a failure, layouts still running are not
        waited for either.
        """
        for process in self.processes:
            _stop(process, grace=0)
        self.processes.clear()
        if self.warm is not None:  # never needed: every part came from the cache
            _stop(self.warm, grace=0)
            self.warm = None
        if self.threads is not None:
            self.threads.shutdown(wait=True, cancel_futures=True)
            self.threads = None


def _stop(process: subprocess.Popen[bytes], *, grace: float) -> None:
    """Close a helper process's pipes; kill it if it has not ended ``grace`` seconds later."""
    for stream in (process.stdin, process.stdout):
        if stream is not None:
            with contextlib.suppress(OSError):
                stream.close()
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _python(main: str) -> subprocess.Popen[bytes]:
    """A fresh interpreter running ``edition.parallel.<main>()``, talking over its stdin and stdout."""
    import edition

    environment = dict(os.environ)
    package_root = str(Path(edition.__file__).resolve().parents[1])
    environment["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, environment.get("PYTHONPATH")) if p)
    return subprocess.Popen(
        [sys.executable, "-c", f"import sys, edition.parallel as p; sys.exit(p.{main}())"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        env=environment,
    )


class _Warm:
    """A layout worker and the join's process, started before the book is planned.

    Why: each is a fresh interpreter, and a layout worker's first second goes to importing
    WeasyPrint. Started before the plan (a second or two of this process's time on a long
    book), they import meanwhile; a rebuild that lays out one changed part then finds its
    worker ready, and the join's process opens the cached parts (:meth:`prefetch`) while
    that part is laid out. Measured on 2 cores at N = 100, a rebuild after a one-note
    change as a fresh process: median 11.9 s against 13.2 s before (10 runs each). What is
    not taken is stopped by :meth:`close`.
    """

    def __init__(self, jobs: int, *, join: bool) -> None:
        self.worker = self.joiner = None
        self.configured = False
        if jobs > 1:
            self.worker = self._start("_worker_main")
            self.joiner = self._start("_join_main") if join else None

    def configure(self, config: LayoutConfig) -> None:
        """Send the worker its configuration, as soon as it is known (before the plan)."""
        if self.worker is None:
            return
        try:
            assert self.worker.stdin is not None
            _send(self.worker.stdin, config)
            self.configured = True
        except OSError:  # it has died: the runner starts its own
            _stop(self.worker, grace=0)
            self.worker = None

    @staticmethod
    def _start(main: str) -> subprocess.Popen[bytes] | None:
        try:
            return _python(main)
        except OSError:  # started when needed, or the work is done here
            return None

    def prefetch(self, parts: list[bytes]) -> None:
        """Hand the join's process parts it can open while the others are laid out."""
        if self.joiner is None or not parts:
            return
        try:
            assert self.joiner.stdin is not None
            _send(self.joiner.stdin, ("open", parts))
        except OSError:  # it has died: the join starts its own process
            _stop(self.joiner, grace=0)
            self.joiner = None

    def take_worker(self) -> subprocess.Popen[bytes] | None:
        """The worker, configured (see :meth:`configure`), or ``None``."""
        worker, self.worker = self.worker, None
        if worker is not None and not self.configured:
            _stop(worker, grace=0)
            return None
        return worker

    def take_joiner(self) -> subprocess.Popen[bytes] | None:
        joiner, self.joiner = self.joiner, None
        return joiner

    def close(self) -> None:
        for process in (self.take_worker(), self.take_joiner()):
            if process is not None:
                _stop(process, grace=0)


class _Join:
    """The join in a process of its own, so that the caller can render the web page and the
    EPUB meanwhile (they need only the page starts, known before the join). Where no process
    can be started, the join is made inline when its result is asked for."""

    def __init__(
        self,
        placed: Sequence[Placed],
        sheets: Sequence[FolioSheet],
        tagged: bool,
        warm: subprocess.Popen[bytes] | None = None,
    ) -> None:
        self.args = (list(placed), list(sheets), tagged)
        self.process: subprocess.Popen[bytes] | None = warm
        try:
            self.process = self.process or _python("_join_main")
            assert self.process.stdin is not None
            _send(self.process.stdin, ("join", *self.args))
            self.process.stdin.close()
        except OSError:
            self.close()

    def result(self) -> bytes:
        if self.process is not None:
            assert self.process.stdout is not None
            try:
                answer = _receive(self.process.stdout)
            except (OSError, EOFError, pickle.UnpicklingError):
                answer = None
            self.close()  # at once: having answered, it is only freeing the parts (``join(deliver=...)``)
            if isinstance(answer, bytes):
                return answer
            log.info("the join's process failed (%s): joining here", answer or "no answer")
        placed, sheets, tagged = self.args
        return join(placed, sheets, tagged=tagged)

    def close(self) -> None:
        """End the process (at once, if it has not answered)."""
        process, self.process = self.process, None
        if process is not None:
            _stop(process, grace=0)


def _join_main() -> int:
    """The join's process: the parts on stdin; the PDF (or what went wrong, as text) on stdout.

    Messages: any number of ``("open", [part PDFs])``, then ``("join", placed, sheets, tagged)``.
    """
    import pikepdf  # before the parts come: a process started early imports meanwhile

    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    sys.stdout = sys.stderr
    early: dict[bytes, Any] = {}
    try:
        while (message := _receive(stdin))[0] == "open":
            # parts the coordinator took from the cache while others are still being laid out:
            # opened meanwhile (a tenth of the join's time at N = 100), joined when all are there
            for data in message[1]:
                with contextlib.suppress(Exception):  # the join opens it again, and says what is wrong
                    early.setdefault(data, pikepdf.open(io.BytesIO(data)))
        _, placed, sheets, tagged = message
    except EOFError:  # the coordinator gave up before sending the parts
        return 0
    delivered = False

    def deliver(data: bytes) -> None:
        nonlocal delivered
        delivered = True
        _send(stdout, data)

    try:
        join(placed, sheets, tagged=tagged, early=early, deliver=deliver)
    except Exception as error:  # the coordinator joins inline, and raises there if it fails again
        if not delivered:
            _send(stdout, f"{type(error).__name__}: {error}")
    return 0


def _send(stream: Any, value: object) -> None:
    data = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(len(data).to_bytes(8, "big") + data)
    stream.flush()


def _receive(stream: Any) -> Any:
    header = stream.read(8)
    if len(header) < 8:
        raise EOFError("no answer")
    size = int.from_bytes(header, "big")
    data = stream.read(size)
    if len(data) < size:
        raise EOFError("short answer")
    return pickle.loads(data)


def _worker_main() -> int:
    """A layout worker: a configuration, then tasks, on stdin; results on stdout; ends at EOF."""
    import weasyprint  # noqa: F401 (before the configuration comes: a worker started early imports meanwhile)

    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    sys.stdout = sys.stderr  # nothing else may write into the answer channel
    try:
        config = _receive(stdin)
    except EOFError:
        return 0
    _init_worker(config)
    assert _LAYOUTER is not None
    _LAYOUTER.warm_up()
    while True:
        try:
            args = _receive(stdin)
        except EOFError:
            return 0
        _send(stdout, _task(*args))


def default_jobs() -> int:
    """The number of cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # pragma: no cover (not Linux)
        return os.cpu_count() or 1


def print_book(
    edition: Edition,
    *,
    profile: str = "screen",
    when: datetime,
    trim: str = "6x9in",
    jobs: int | None = None,
    cache: Path | None = None,
    min_parts: int | None = None,
    on_starts: Callable[[tuple[PageStart, ...]], None] | None = None,
) -> ParallelResult | None:
    """Lay out the print edition in parts, in ``jobs`` processes, and join them.

    ``cache`` is a folder for laid-out parts (``<output folder>/.edition-cache``): a
    rebuild lays out only the parts that changed. Returns ``None`` when the book has fewer
    than ``min_parts`` parts or cannot be laid out in parts exactly (the log says why):
    the caller then lays it out in one piece.

    ``on_starts`` is called with the page starts as soon as they are known, before the join,
    which then runs in another process meanwhile (the build renders the web page and EPUB).
    """
    from edition.model import Division

    min_parts = MIN_PARTS if min_parts is None else min_parts
    # at most: the opening, each top-level division, the front and back matter, apparatus, registers
    if 3 + len(edition.divisions) + sum(isinstance(b, Division) for b in edition.body.blocks) < min_parts:
        return None
    jobs = max(1, jobs if jobs is not None else default_jobs())
    warm = _Warm(jobs, join=on_starts is not None)
    try:
        return _print_book(edition, warm, profile, when, trim, jobs, cache, min_parts, on_starts)
    finally:
        warm.close()


def _print_book(
    edition: Edition,
    warm: _Warm,
    profile: str,
    when: datetime,
    trim: str,
    jobs: int,
    cache: Path | None,
    min_parts: int,
    on_starts: Callable[[tuple[PageStart, ...]], None] | None,
) -> ParallelResult | None:
    """:func:`print_book` once the book may have enough parts (the plan says whether it has)."""
    from edition.pdf import PageStart, PrintOptions, PrintRenderer, PrintResult, _strip_links

    began = time.perf_counter()
    options = PrintOptions(profile, trim)
    folder = Path(edition.path).resolve().parent
    try:
        probe = Layouter(
            LayoutConfig(profile, trim, str(folder), when, edition.metadata, str(edition.path), ())
        )
        styles = Styles([text for text, _ in probe.sheets])
        config = LayoutConfig(
            profile,
            trim,
            str(folder),
            when,
            edition.metadata,
            str(edition.path),
            tuple(sorted(styles.folio_boxes())),
        )
        warm.configure(config)  # the warm worker sets WeasyPrint up while the book is planned
        book = PrintRenderer(edition).book(when)
        if options.press:
            _strip_links(book)
        parts = plan_parts(book, styles)
        del book
        _check_phases(parts)
    except Unsupported as why:
        log.info("laid out in one piece: %s", why)
        return None
    if len(parts) < min_parts:
        return None
    stats = BuildStats(parts=len(parts), jobs=jobs)
    store = PartCache(cache / f"pdf-{profile}-{trim}") if cache is not None else None
    fingerprint = _fingerprint(config, probe)
    folio_css = styles.folios_only(options.press)
    runner = _Runner(config, jobs, warm.take_worker())
    stats.seconds["plan"] = time.perf_counter() - began
    try:
        layouts: dict[int, PartLayout] = {}

        def run_parts(indices: Sequence[int], pages: dict[str, int] | None) -> list[tuple[int, str, Any]]:
            """Each part not in the cache goes to a worker as soon as its HTML is written: the first
            layouts need not wait for the other parts to be serialised."""
            pending: list[tuple[int, str, Any]] = []
            cached: list[bytes] = []
            for index in indices:
                part = parts[index]
                html = part.html(pages)
                part.tree = h("html")  # serialised: the copy of the book is not needed any more
                key = _key(
                    fingerprint,
                    "part",
                    html,
                    *part.css,
                    str(part.continues_group),
                    _files_referenced(html, folder),
                )
                hit = store.get(key) if store is not None else None
                if hit is not None:
                    with contextlib.suppress(KeyError, TypeError, ValueError):
                        layouts[index] = PartLayout.from_facts(hit[0], hit[1])
                        stats.cached.append(part.name)
                        cached.append(hit[1])
                        continue
                args = ("part", html, part.css, part.continues_group)
                pending.append((index, key, runner.submit([args], more=len(indices) > 1)[0]))
            warm.prefetch(cached)
            return pending

        def collect(pending: list[tuple[int, str, Any]]) -> None:
            for index, key, future in pending:
                outcome = future.result()
                if isinstance(outcome, _Failure):
                    _raise(outcome, edition)
                assert isinstance(outcome, PartLayout)
                if outcome.blank_end and index != len(parts) - 1:  # the book's end is the part's
                    raise Unsupported(f"part {parts[index].name} ends with notes carried onto a blank page")
                layouts[index] = outcome
                stats.laid_out.append(parts[index].name)
                if store is not None:
                    store.put(key, outcome.facts(), outcome.pdf)

        first_phase = [i for i, p in enumerate(parts) if p.phase == 1]
        second_phase = [i for i, p in enumerate(parts) if p.phase == 2]
        collect(run_parts(first_phase, None))
        stats.seconds["phase 1"] = time.perf_counter() - began
        placed = _place(parts, layouts, first_phase)
        pages = {name: part.first + index for part in placed for name, index in part.layout.anchors.items()}
        pending = run_parts(second_phase, pages)
        sheets: list[FolioSheet] = []
        early = _folio_jobs(placed, more=bool(second_phase))
        sheet_pending = _run_sheets(early, fingerprint, folio_css, store, runner, stats)
        collect(pending)
        stats.seconds["phase 2"] = time.perf_counter() - began
        placed = _place(parts, layouts, range(len(parts)))
        late = _folio_jobs(placed[len(first_phase) :], more=False)
        sheet_pending += _run_sheets(late, fingerprint, folio_css, store, runner, stats)
        for first, kinds, key, future in sheet_pending:
            outcome = future.result() if isinstance(future, concurrent.futures.Future) else future
            if isinstance(outcome, _Failure):
                _raise(outcome, edition)
            assert isinstance(outcome, bytes)
            if store is not None and isinstance(future, concurrent.futures.Future):
                store.put(key, {"first": first, "kinds": kinds}, outcome)
            sheets.append(FolioSheet(first, kinds, outcome))
        stats.seconds["folios"] = time.perf_counter() - began
    except Unsupported as why:
        log.info("laid out in one piece: %s", why)
        return None
    finally:
        runner.close()  # the workers are ended before the join, not waited for
    starts = tuple(
        PageStart(part.first + page - 1, block, offset)
        for part in placed
        for page, block, offset in part.layout.starts
    )
    if on_starts is not None and jobs > 1:
        joining = _Join(placed, sheets, not options.press, warm.take_joiner())
        try:
            on_starts(starts)
        except BaseException:
            joining.close()
            raise
        data = joining.result()
    else:  # one job: one process
        data = join(placed, sheets, tagged=not options.press)
        if on_starts is not None:
            on_starts(starts)
    stats.seconds["join"] = time.perf_counter() - began
    if store is not None:
        store.prune()
    for part in placed:
        for message in part.layout.messages:
            log.info("WeasyPrint (%s): %s", part.name, message)
    total = placed[-1].first + placed[-1].layout.pages - 1
    log.info("PDF laid out %s", stats.summary())
    return ParallelResult(PrintResult(data, total, starts, stats.summary()), stats)


def _check_phases(parts: Sequence[PartPlan]) -> None:
    """Parts with page references come last, and refer only to ids of the parts before them."""
    seen_second = False
    ids: set[str] = set()
    for part in parts:
        if part.phase == 2:
            seen_second = True
            for _, _, target in part.targets:
                if target not in ids:
                    raise Unsupported(
                        f"part {part.name} refers to #{target}, not in a part laid out before it"
                    )
        elif seen_second:
            raise Unsupported(f"part {part.name} follows a part with page references")
        else:
            ids.update(e.get("id") or "" for e in part.tree.iter() if isinstance(e.tag, str))


def _place(parts: Sequence[PartPlan], layouts: dict[int, PartLayout], indices: Iterable[int]) -> list[Placed]:
    """Where each laid-out part falls in the book (every part but the first starts on a right page)."""
    placed: list[Placed] = []
    count = 0
    for index in indices:
        layout = layouts[index]
        blank = index > 0 and count % 2 == 1
        count += blank
        placed.append(Placed(parts[index].name, layout, count + 1, blank))
        count += layout.pages
    return placed


def _folio_jobs(placed: Sequence[Placed], *, more: bool) -> list[tuple[int, str]]:
    """``(first page, kinds)`` of folio sheets: ``F`` numbered page, ``N`` page without, ``B`` blank verso.

    A sheet starts at a part's first page and holds whole parts (with the blank verso after
    them, if the next part needs one); ``more`` says parts will follow the last one placed.
    """
    segments: list[tuple[int, str]] = []
    for position, part in enumerate(placed):
        kinds = "".join("F" if folio else "N" for folio in part.layout.folios)
        following = placed[position + 1] if position + 1 < len(placed) else None
        end = part.first + part.layout.pages - 1
        if (following is not None and following.blank_before) or (
            following is None and more and end % 2 == 1
        ):
            kinds += "B"
        segments.append((part.first, kinds))
    jobs: list[tuple[int, str]] = []
    for first, kinds in segments:
        if jobs and len(jobs[-1][1]) + len(kinds) <= FOLIO_CHUNK:
            jobs[-1] = (jobs[-1][0], jobs[-1][1] + kinds)
        else:
            jobs.append((first, kinds))
    return [(first, kinds) for first, kinds in jobs if "F" in kinds or "B" in kinds]


def _run_sheets(
    jobs: Sequence[tuple[int, str]],
    fingerprint: hashlib._Hash,
    css: str,
    store: PartCache | None,
    runner: _Runner,
    stats: BuildStats,
) -> list[tuple[int, str, str, Any]]:
    ready: list[tuple[int, str, str, Any]] = []
    batch: list[tuple[int, str, str]] = []
    for first, kinds in jobs:
        key = _key(fingerprint, "folios", str(first), kinds, css)
        hit = store.get(key) if store is not None else None
        if hit is not None and hit[0].get("first") == first and hit[0].get("kinds") == kinds:
            ready.append((first, kinds, key, hit[1]))
            stats.folio_sheets_cached += 1
        else:
            batch.append((first, kinds, key))
    futures = runner.submit([("folios", first, kinds, css) for first, kinds, _ in batch])
    stats.folio_sheets_laid_out += len(batch)
    return ready + [
        (first, kinds, key, future) for (first, kinds, key), future in zip(batch, futures, strict=True)
    ]


def _raise(failure: _Failure, edition: Edition) -> None:
    if failure.refused:
        raise RenderError(
            f"refused to fetch {failure.refused}",
            path=edition.path,
            hint="images must be files inside the edition's folder",
        )
    raise RenderError(f"layout failed: {failure.message}", path=edition.path)
