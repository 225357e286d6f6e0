"""What the print stylesheets do to pages, and whether a book can be laid out in parts exactly."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, cast

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
_ASCII_SPACE = re.compile(r"[ \t\n\r\f]+")
_FIRST_OF_GROUP = re.compile(
    r"^[\w-]*(?::(?:left|right|blank))*:nth\(\s*1\s+of\s+([\w-]+)\s*\)(?::(?:left|right|blank))*$"
)


class Unsupported(Exception):  # noqa: N818 (not an error: a reason to lay the book out in one piece)
    """The book cannot be laid out in parts exactly (the message says why)."""


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
