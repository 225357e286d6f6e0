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
import hashlib
import io
import json
import logging
import multiprocessing
import os
import re
import string
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, cast
from urllib.request import pathname2url

from edition.errors import RenderError
from edition.html import Element, h, to_html

if TYPE_CHECKING:
    from edition.model import Edition, Metadata
    from edition.pdf import PageStart, PrintOptions, PrintResult

log = logging.getLogger("edition")

#: Bump when anything that changes a part's bytes changes in a way the key does not see.
CACHE_FORMAT = "edition-parts-1"
#: Below this many parts a book is laid out in one piece (processes cost more than they save).
MIN_PARTS = 4
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
_TAG = re.compile(r"^([A-Z]{6})\+")
_ASCII_SPACE = re.compile(r"[ \t\n\r\f]+")


class Unsupported(Exception):
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
                elif node.type == "at-rule" and node.lower_at_keyword in ("media", "supports", "layer"):
                    if node.content is not None:
                        walk(tinycss2.parse_rule_list(node.content, skip_comments=True, skip_whitespace=True))

        for text in sheets:
            walk(tinycss2.parse_stylesheet(text, skip_comments=True, skip_whitespace=True))
        self._check()

    def _page_rule(self, node: Any) -> None:
        tinycss2 = self._tinycss2
        selector = tinycss2.serialize(node.prelude).strip()
        if ":first" in selector:
            raise Unsupported(f"@page {selector}: the first page of a part is not the book's first page")
        for item in tinycss2.parse_blocks_contents(node.content, skip_comments=True, skip_whitespace=True):
            if item.type == "declaration":
                if _PAGE_PROPERTIES_WITH_INK.match(item.lower_name):
                    raise Unsupported(f"@page {selector} draws a {item.lower_name}")
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
            counters = [_meaningful(f.arguments) for f in functions if f.lower_name in ("counter", "counters")]
            if any(args and getattr(args[0], "lower_value", "") == "pages" for args in counters):
                raise Unsupported("counter(pages) needs the whole book")
            if counters and names - {"counter", "counters"}:
                raise Unsupported(f"@page {margin.selector} @{margin.box} mixes a page number with other content")
            if counters and margin.selector not in ("", ":left", ":right"):
                raise Unsupported(f"@page {margin.selector} @{margin.box}: a page number styled by page name")
            if names & {"element", "leader", "target-counter", "target-text"}:
                raise Unsupported(f"@page {margin.selector} @{margin.box}: {', '.join(sorted(names))}")

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
            m.box
            for m in self.margins
            if any(f.lower_name == "counter" for f in _functions(m.content or []))
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
                        raise Unsupported(f"{rule.prelude}: only target-counter(attr(X url), page) is supported")
                    attributes.append(inner[0].value)
                found.append(
                    _TargetRule(
                        rule.prelude, rule.selectors, declaration.name, list(declaration.value), tuple(attributes)
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
        boxes = self.folio_boxes()
        return "\n".join(
            f'@page {m.selector} {{ @{m.box} {{ content: ""; }} }}'
            for m in self.margins
            if m.box in boxes and m.content is not None
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
        return to_html(self.tree)


def _local(element: Element) -> str:
    tag = element.tag
    return tag.split("}")[-1] if isinstance(tag, str) else ""


class _Matcher:
    """Which elements of the book match which rules (cssselect2)."""

    def __init__(self, root: Element) -> None:
        import cssselect2

        self._cssselect2 = cssselect2
        self.wrappers = {w.etree_element: w for w in cssselect2.ElementWrapper.from_html_root(root).iter_subtree()}
        self.order = {element: n for n, element in enumerate(self.wrappers)}

    def matching(self, rules: Sequence[tuple[list[Any], Any]]) -> dict[Element, list[Any]]:
        """Element → payloads of the selectors it matches (a pseudo-element counts as its element)."""
        matcher = self._cssselect2.Matcher()
        for selectors, payload in rules:
            for selector in selectors:
                matcher.add_selector(selector, payload)
        found: dict[Element, list[Any]] = {}
        for element, wrapper in self.wrappers.items():
            matches = matcher.match(wrapper)
            if matches:
                found[element] = [m[3] for m in matches]
        return found

    def tests(self, element: Element, selectors: Iterable[Any]) -> Iterator[Any]:
        wrapper = self.wrappers[element]
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
    head = next(c for c in book if _local(c) == "head")
    body = next(c for c in book if _local(c) == "body")
    main = next((c for c in body if _local(c) == "main"), None)
    if main is None:
        raise Unsupported("no main text")
    for rule in styles.rules:
        if any(True for _ in matcher.tests(main, rule.selectors)):
            for declaration in rule.declarations:
                if re.match(r"^(margin|padding|border|background|box-decoration)", declaration.lower_name):
                    raise Unsupported(f"{rule.prelude} decorates the text's container, which parts split")
    breaks = styles.break_rules()

    def starts_part(element: Element) -> bool:
        return matcher.cascade(element, breaks) in ("right", "recto")

    # ---- where the cuts fall: lists of (in main?, element of the book)
    before = [c for c in body[: body.index(main)] if isinstance(c.tag, str)]
    groups: list[list[tuple[bool, Element]]] = [[(False, c) for c in before]]
    opening = True
    for child in main:
        if isinstance(child.tag, str):
            if starts_part(child) and not opening:
                groups.append([])
            groups[-1].append((True, child))
            opening = False
    for child in body[body.index(main) + 1 :]:
        if isinstance(child.tag, str):
            if starts_part(child):
                groups.append([])
            groups[-1].append((False, child))

    # ---- what each part needs to know
    running = styles.running_strings()
    setters = matcher.matching([(rule.selectors, name) for rule, name in styles.string_rules() if name in running])
    target_rules = styles.target_rules()
    targets = matcher.matching([(rule.selectors, rule) for rule in target_rules])
    folios = styles.empty_folios()
    strings: dict[str, str] = {}

    parts: list[PartPlan] = []
    for index, group in enumerate(groups):
        tree = h("html", dict(book.attrib))
        tree.append(copy.deepcopy(head))
        part_body = h("body", dict(body.attrib))
        tree.append(part_body)
        container: Element | None = None
        part = PartPlan(_part_name(group[0][1], index), tree)
        used_rules: list[_TargetRule] = []
        found: list[tuple[Element, str]] = []
        for in_main, element in group:
            duplicate = copy.deepcopy(element)
            if in_main:
                if container is None:
                    attributes = dict(main.attrib)
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
    return "opening" if index == 0 else f"{index:03d}-{element.get('id') or _local(element)}"


def _text_content(element: Element) -> str:
    """What ``string-set: x content()`` takes: the text, ASCII white space collapsed (not NBSP)."""
    return _ASCII_SPACE.sub(" ", "".join(element.itertext())).strip(" ")
