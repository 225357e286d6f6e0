"""Derive the project's RELAX NG schema, a provable subset of TEI P5, from ``tei_all.rng``.

The derivation works the way an ODD customisation deletes elements:

1. Keep the element definitions (``<define name="X"><element name="X">``) whose element name is in
   :data:`KEPT_ELEMENTS`; delete every other element definition.
2. Replace every ``<ref>`` to a deleted or unusable definition by ``<notAllowed/>``. RELAX NG
   patterns are monotone, so replacing a sub-pattern by ``notAllowed`` can only shrink the language:
   every document valid against the result is valid against ``tei_all``. The only other change that
   touches the language is ``<start>``, restricted to ``TEI`` (``teiCorpus`` is dropped), which also
   only shrinks it.
3. Simplify with rewrites that preserve the language exactly (``choice`` loses ``notAllowed``
   branches, a ``group`` or ``element`` with a required ``notAllowed`` becomes ``notAllowed``,
   ``optional``/``zeroOrMore`` of ``notAllowed`` become ``empty``, a reference to a definition with no
   finite instance becomes ``notAllowed``, ...), iterate to a fixed point, then drop the definitions
   that ``<start>`` no longer reaches.
4. Drop annotations (Schematron, ``a:documentation``, XHTML) and pretty-print deterministically.

Schematron rules are not part of the RELAX NG language, so neither lxml nor jing check them against
``tei_all`` either; dropping them does not change which documents validate.

Usage::

    python tools/derive_schema.py [--tei-all PATH] [--check]

``--check`` regenerates in memory and exits 1 if ``src/edition/schema/edition.rng`` differs.
To support one more element, add its name to :data:`KEPT_ELEMENTS` and re-run the script.
"""

from __future__ import annotations

import argparse
import sys
import textwrap
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final, cast

from lxml import etree

#: The TEI elements the library supports. Keep each group sorted; add a name and re-run the script.
KEPT_ELEMENTS: Final[tuple[str, ...]] = (
    # -- root and text structure --
    "TEI", "ab", "argument", "back", "bibl", "body", "byline", "cell", "cit", "closer", "dateline",
    "div", "docAuthor", "epigraph", "figDesc", "figure", "front", "graphic", "head", "item", "l",
    "label", "lg", "list", "opener", "p", "postscript", "q", "quote", "row", "said", "salute",
    "signed", "table", "teiHeader", "text", "trailer",
    # -- phrase level --
    "abbr", "cb", "date", "emph", "expan", "foreign", "hi", "lb", "mentioned", "milestone", "name",
    "note", "num", "orgName", "orig", "pb", "persName", "placeName", "ptr", "ref", "reg", "rs",
    "seg", "soCalled", "term", "time", "title",
    # -- editorial --
    "add", "choice", "corr", "damage", "del", "desc", "gap", "sic", "supplied", "surplus", "unclear",
    # -- header --
    "abstract", "addName", "affiliation", "author", "authority", "availability", "biblScope",
    "birth", "catDesc", "category", "change", "classDecl", "correction", "country", "creation",
    "death", "distributor", "edition", "editionStmt", "editor", "editorialDecl", "encodingDesc",
    "fileDesc", "forename", "geo", "hyphenation", "idno", "interpretation", "keywords", "langUsage",
    "language", "licence", "listBibl", "listChange", "listOrg", "listPerson", "listPlace",
    "location", "normalization", "notesStmt", "occupation", "org", "particDesc", "person", "place",
    "profileDesc", "projectDesc", "pubPlace", "publicationStmt", "publisher", "punctuation",
    "quotation", "region", "relatedItem", "resp", "respStmt", "revisionDesc", "roleName",
    "segmentation", "setting", "settingDesc", "settlement", "sourceDesc", "standOff", "surname",
    "taxonomy", "textClass", "textLang", "titleStmt",
)  # fmt: skip

#: The only root element the derived schema accepts.
START_ELEMENT: Final = "TEI"
TEI_VERSION: Final = "4.12.0"

RNG_NS: Final = "http://relaxng.org/ns/structure/1.0"
ANN_NS: Final = "http://relaxng.org/ns/compatibility/annotations/1.0"
TEI_NS: Final = "http://www.tei-c.org/ns/1.0"
XSD_LIBRARY: Final = "http://www.w3.org/2001/XMLSchema-datatypes"
# lxml takes None as the default namespace's prefix; lxml-stubs 0.5 types nsmap keys as str only.
RNG_NSMAP: Final = cast("dict[str, str]", {None: RNG_NS})
GRAMMAR_NSMAP: Final = cast("dict[str, str]", {None: RNG_NS, "a": ANN_NS})

REPO_ROOT: Final = Path(__file__).resolve().parents[1]
DEFAULT_TEI_ALL: Final = REPO_ROOT.parent / "shared" / "schema" / "tei_all.rng"
OUTPUT: Final = REPO_ROOT / "src" / "edition" / "schema" / "edition.rng"

#: Non-RELAX NG attributes worth keeping: attribute defaults are information, not noise.
KEPT_FOREIGN_ATTRIBUTES: Final = frozenset({f"{{{ANN_NS}}}defaultValue"})
#: RELAX NG elements whose text content is significant.
TEXT_ELEMENTS: Final = frozenset({"value", "param", "name", "nsName"})

_NOT_ALLOWED: Final = "notAllowed"
_EMPTY: Final = "empty"


def rng(local: str, **attrs: str) -> etree._Element:
    """Return a new element ``local`` in the RELAX NG namespace with the given attributes."""
    element = etree.Element(f"{{{RNG_NS}}}{local}", nsmap=RNG_NSMAP)
    for key, value in attrs.items():
        element.set(key, value)
    return element


def local_name(element: etree._Element) -> str:
    """Return the local name of a RELAX NG element."""
    return etree.QName(element).localname


def is_rng(node: etree._Element) -> bool:
    """True for elements (not comments, not processing instructions) in the RELAX NG namespace."""
    return isinstance(node.tag, str) and etree.QName(node).namespace == RNG_NS


def rng_children(element: etree._Element) -> list[etree._Element]:
    """The RELAX NG child elements of ``element``, annotations and comments skipped."""
    return [child for child in element if is_rng(child)]


def clean_copy(element: etree._Element) -> etree._Element:
    """Copy a RELAX NG element without annotations, comments or insignificant whitespace."""
    copy = rng(local_name(element))
    for key, value in element.attrib.items():
        if etree.QName(key).namespace is None or key in KEPT_FOREIGN_ATTRIBUTES:
            copy.set(key, value)
    if local_name(element) in TEXT_ELEMENTS:
        copy.text = element.text
    for child in rng_children(element):
        copy.append(clean_copy(child))
    return copy


def split_name_class(element: etree._Element) -> tuple[etree._Element | None, list[etree._Element]]:
    """Split an ``element``/``attribute`` pattern into its name-class child (if any) and its content.

    With a ``name`` attribute there is no name-class child; otherwise the first child is one.
    """
    children = rng_children(element)
    if element.get("name") is not None:
        return None, children
    return children[0], children[1:]


@dataclass
class Simplifier:
    """Language-preserving simplification of patterns, given which definitions are known to be
    ``notAllowed`` (``unusable``) and which are exactly ``empty`` (``empties``)."""

    unusable: set[str] = field(default_factory=set)
    empties: set[str] = field(default_factory=set)

    def sequence(self, patterns: Iterable[etree._Element]) -> list[etree._Element] | None:
        """Simplify an implicit ``group`` of patterns.

        Returns ``None`` if the group is ``notAllowed`` (any member is), else its members without the
        ``empty`` ones (an empty list means the group is ``empty``).
        """
        result: list[etree._Element] = []
        for pattern in patterns:
            simple = self.pattern(pattern)
            kind = local_name(simple)
            if kind == _NOT_ALLOWED:
                return None
            if kind == _EMPTY:
                continue
            if kind == "group":
                result.extend(rng_children(simple))
            else:
                result.append(simple)
        return result

    @staticmethod
    def wrap(local: str, members: list[etree._Element], **attrs: str) -> etree._Element:
        """Return ``<local>`` holding ``members`` (an explicit ``<empty/>`` if there are none)."""
        wrapper = rng(local, **attrs)
        for member in members or [rng(_EMPTY)]:
            wrapper.append(member)
        return wrapper

    @staticmethod
    def as_group(members: list[etree._Element]) -> etree._Element:
        """One pattern for a sequence: ``empty``, the single member, or a ``group``."""
        if not members:
            return rng(_EMPTY)
        if len(members) == 1:
            return members[0]
        return Simplifier.wrap("group", members)

    def pattern(self, element: etree._Element) -> etree._Element:
        """Return a simplified copy of the pattern ``element``; the language is unchanged."""
        kind = local_name(element)
        children = rng_children(element)
        if kind == "ref":
            name = element.get("name", "")
            if name in self.unusable:
                return rng(_NOT_ALLOWED)
            if name in self.empties:
                return rng(_EMPTY)
            return clean_copy(element)
        if kind in {_NOT_ALLOWED, _EMPTY, "text", "value", "data"}:
            return clean_copy(element)
        if kind == "choice":
            branches = [self.pattern(child) for child in children]
            branches = [branch for branch in branches if local_name(branch) != _NOT_ALLOWED]
            if not branches:
                return rng(_NOT_ALLOWED)
            if len(branches) == 1:
                return branches[0]
            return self.wrap("choice", branches)
        if kind in {"group", "interleave"}:
            members = self.sequence(children)
            if members is None:
                return rng(_NOT_ALLOWED)
            if kind == "group" or len(members) <= 1:
                return self.as_group(members)
            return self.wrap(kind, members)
        if kind in {"oneOrMore", "zeroOrMore", "optional", "mixed", "list"}:
            members = self.sequence(children)
            if members is None:
                # oneOrMore/mixed/list of notAllowed: notAllowed; optional/zeroOrMore: empty.
                return rng(_NOT_ALLOWED if kind in {"oneOrMore", "mixed", "list"} else _EMPTY)
            if not members and kind != "list":
                # oneOrMore/zeroOrMore/optional of empty: empty; mixed of empty: text.
                return rng("text" if kind == "mixed" else _EMPTY)
            return self.wrap(kind, members)
        if kind in {"element", "attribute"}:
            name_class, content = split_name_class(element)
            if kind == "attribute" and not content:
                return clean_copy(element)  # an attribute with no content pattern holds text
            members = self.sequence(content)
            if members is None:
                return rng(_NOT_ALLOWED)
            if kind == "attribute" and len(members) > 1:
                members = [self.wrap("group", members)]
            simple = rng(kind)
            for key, value in element.attrib.items():
                if etree.QName(key).namespace is None or key in KEPT_FOREIGN_ATTRIBUTES:
                    simple.set(key, value)
            if name_class is not None:
                simple.append(clean_copy(name_class))
            for member in members or [rng(_EMPTY)]:
                simple.append(member)
            return simple
        raise ValueError(f"unexpected RELAX NG pattern <{kind}> on line {element.sourceline}")


def productive(element: etree._Element, known: set[str]) -> bool:
    """True unless the pattern certainly has no finite instance, given the productive defines ``known``.

    Data types and values are assumed non-empty (an over-approximation, so a ``False`` is sound).
    """
    kind = local_name(element)
    if kind in {"element", "attribute"}:
        _, children = split_name_class(element)
    else:
        children = rng_children(element)
    if kind == "ref":
        return element.get("name", "") in known
    if kind == _NOT_ALLOWED:
        return False
    if kind in {_EMPTY, "text", "value", "data", "optional", "zeroOrMore"}:
        return True
    if kind == "choice":
        return any(productive(child, known) for child in children)
    return all(productive(child, known) for child in children)


def references(element: etree._Element) -> Iterator[str]:
    """The names of all definitions referenced from inside ``element``."""
    for ref in element.iter(f"{{{RNG_NS}}}ref"):
        yield ref.get("name", "")


@dataclass
class Derivation:
    """The result of deriving the subset: the output document and what happened on the way."""

    document: bytes
    defines: int
    missing: list[str]
    unusable_elements: list[str]
    unreachable_elements: list[str]


def element_definitions(defines: dict[str, etree._Element]) -> dict[str, str]:
    """Map each define that is exactly one named ``<element>`` to that element's name."""
    result: dict[str, str] = {}
    for name, define in defines.items():
        body = rng_children(define)
        if len(body) == 1 and local_name(body[0]) == "element" and body[0].get("name"):
            result[name] = body[0].get("name", "")
    return result


def derive(tei_all: Path, kept: Iterable[str] = KEPT_ELEMENTS) -> Derivation:
    """Derive the subset schema from ``tei_all`` keeping the element names ``kept``."""
    kept_names = list(kept)
    duplicates = sorted({name for name in kept_names if kept_names.count(name) > 1})
    if duplicates:
        raise ValueError(f"KEPT_ELEMENTS lists these twice: {', '.join(duplicates)}")
    parser = etree.XMLParser(remove_blank_text=True, resolve_entities=False, no_network=True)
    source = etree.parse(str(tei_all), parser).getroot()

    defines: dict[str, etree._Element] = {}
    for child in rng_children(source):
        if local_name(child) == "define":
            if child.get("combine") is not None or child.get("name", "") in defines:
                raise ValueError(f"combined define {child.get('name')!r} is not supported")
            defines[child.get("name", "")] = child
        elif local_name(child) != "start":
            raise ValueError(f"unexpected top-level <{local_name(child)}> in {tei_all}")

    elements = element_definitions(defines)
    defined_names = set(elements.values())
    missing = [name for name in kept_names if name not in defined_names]
    removed = {define for define, element in elements.items() if element not in kept_names}

    # The fixed point: simplify every define, then mark as unusable the ones whose body is notAllowed
    # or which have no finite instance at all, and the ones that are exactly empty; repeat.
    simplifier = Simplifier(unusable=set(removed))
    bodies: dict[str, list[etree._Element] | None] = {}
    while True:
        bodies = {
            name: simplifier.sequence(rng_children(define))
            for name, define in defines.items()
            if name not in simplifier.unusable
        }
        alive: set[str] = set()
        changed = True
        while changed:  # least fixed point of "has a finite instance"
            changed = False
            for name, body in bodies.items():
                if name not in alive and body is not None and all(productive(p, alive) for p in body):
                    alive.add(name)
                    changed = True
        unusable = set(removed) | {name for name in defines if name not in alive}
        empties = {name for name, body in bodies.items() if body == [] and name in alive}
        if unusable == simplifier.unusable and empties == simplifier.empties:
            break
        simplifier = Simplifier(unusable=unusable, empties=empties)

    if START_ELEMENT in simplifier.unusable:
        raise ValueError(f"the start element {START_ELEMENT} became notAllowed")
    start = simplifier.pattern(rng("ref", name=START_ELEMENT))

    # Keep what <start> reaches, in tei_all's order.
    reachable: set[str] = set()
    todo = list(references(start))
    while todo:
        name = todo.pop()
        if name in reachable:
            continue
        reachable.add(name)
        for pattern in bodies[name] or []:
            todo.extend(references(pattern))

    unusable_elements = sorted(
        element
        for define, element in elements.items()
        if element in kept_names and define in simplifier.unusable
    )
    unreachable_elements = sorted(
        element
        for define, element in elements.items()
        if element in kept_names and define not in simplifier.unusable and define not in reachable
    )

    grammar = etree.Element(f"{{{RNG_NS}}}grammar", nsmap=GRAMMAR_NSMAP)
    grammar.set("ns", TEI_NS)
    grammar.set("datatypeLibrary", XSD_LIBRARY)
    grammar.append(etree.Comment(header_comment(kept_names, missing, unusable_elements)))
    start_element = rng("start")
    start_element.append(start)
    grammar.append(start_element)
    kept_defines = 0
    for name in defines:
        if name in reachable:
            define = Simplifier.wrap("define", bodies[name] or [], name=name)
            grammar.append(define)
            kept_defines += 1
    etree.cleanup_namespaces(grammar, top_nsmap=GRAMMAR_NSMAP)
    if not any(key in KEPT_FOREIGN_ATTRIBUTES for node in grammar.iter() for key in node.attrib):
        etree.cleanup_namespaces(grammar, top_nsmap=RNG_NSMAP)
    etree.indent(grammar, space="  ")
    document = b'<?xml version="1.0" encoding="UTF-8"?>\n' + etree.tostring(grammar, encoding="UTF-8") + b"\n"
    return Derivation(document, kept_defines, missing, unusable_elements, unreachable_elements)


def header_comment(kept: list[str], missing: list[str], unusable: list[str]) -> str:
    """The leading comment of the generated schema."""
    lines = [
        f"Generated by tools/derive_schema.py from TEI P5 tei_all {TEI_VERSION}. Do not edit by hand:",
        "edit KEPT_ELEMENTS in the script and re-run it.",
        "",
        "A subset of tei_all by construction: every document valid against this schema is valid",
        "against tei_all (element definitions deleted, references to them replaced by notAllowed,",
        "start restricted to TEI, then language-preserving simplification).",
        "",
        "Derived from the TEI P5 Guidelines, (c) the TEI Consortium, licensed under",
        "CC BY 3.0 and BSD-2-Clause (https://www.tei-c.org/guidelines/p5/).",
        "",
        f"Kept elements ({len(kept)}):",
        *textwrap.wrap(" ".join(kept), width=96, initial_indent="  ", subsequent_indent="  "),
    ]
    if missing:
        lines += ["Not defined by tei_all (ignored):", "  " + " ".join(missing)]
    if unusable:
        lines += ["Kept but unusable (required content was removed):", "  " + " ".join(unusable)]
    return "\n" + "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Command line entry point; returns the exit status."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument(
        "--tei-all",
        type=Path,
        default=DEFAULT_TEI_ALL,
        help=f"path to tei_all.rng (default: {DEFAULT_TEI_ALL})",
    )
    parser.add_argument(
        "--check", action="store_true", help=f"exit 1 if {OUTPUT.relative_to(REPO_ROOT)} is not up to date"
    )
    args = parser.parse_args(argv)
    if not args.tei_all.is_file():
        print(f"derive_schema: {args.tei_all} not found; pass --tei-all PATH", file=sys.stderr)
        return 2
    result = derive(args.tei_all)
    for label, names in (
        ("not defined by tei_all", result.missing),
        ("kept but unusable (notAllowed)", result.unusable_elements),
        ("kept but unreachable from TEI", result.unreachable_elements),
    ):
        if names:
            print(f"derive_schema: warning: {label}: {', '.join(names)}", file=sys.stderr)
    shown = OUTPUT.relative_to(REPO_ROOT)
    if args.check:
        if not OUTPUT.is_file() or OUTPUT.read_bytes() != result.document:
            print(
                f"derive_schema: {shown} is out of date; run python tools/derive_schema.py", file=sys.stderr
            )
            return 1
        print(f"derive_schema: {shown} is up to date")
        return 0
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    OUTPUT.write_bytes(result.document)
    print(f"derive_schema: wrote {shown}: {len(result.document)} bytes, {result.defines} defines")
    return 0


if __name__ == "__main__":
    sys.exit(main())
