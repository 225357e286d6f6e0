"""The plan: the book cut into parts where a new right-hand page begins."""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from edition.html import Element, h, local_name, to_html
from edition.parallel.styles import _ASCII_SPACE, Styles, Unsupported, _Rule, _TargetRule, page_attribute


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
        import cssselect2  # type: ignore[import-untyped]

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
    stylesheets start on a right-hand page. Raises :class:`~edition.parallel.styles.Unsupported`
    when a cut would not be exact.
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
