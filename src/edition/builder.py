"""TEI ``text`` → model: one walk, every element looked up in :mod:`edition.behaviours`.

The builder keeps the side tables (notes, interventions, entity occurrences) as it walks,
numbers paragraphs and notes in document order, and generates ids where the source has
none (``p12``, ``n3``, ``i5``, ``m40``), never reusing an id the source already uses.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import PurePosixPath
from typing import cast
from urllib.parse import SplitResult, unquote, urlsplit

from lxml import etree

from edition import behaviours as bh
from edition.behaviours import Behaviour, Rule
from edition.errors import ParseError, UnsafeInputError
from edition.header import XML_ID, XML_LANG, HeaderIndex, line_of, local, words_of
from edition.model import (
    TITLE_ID,
    Alternate,
    Block,
    Cell,
    DateRef,
    Division,
    Embedded,
    Entity,
    EntityKind,
    Figure,
    Group,
    Inline,
    Intervention,
    InterventionKind,
    Line,
    LineBreak,
    LineGroup,
    Link,
    ListBlock,
    ListItem,
    Marked,
    Mention,
    Milestone,
    Note,
    NoteRef,
    Occurrence,
    Omission,
    Paragraph,
    Quotation,
    Quote,
    Row,
    Styled,
    Supplied,
    Table,
    Text,
    Unknown,
)
from edition.tei import Limits
from edition.text import inline_text

B = Behaviour

_XML_SPACE = re.compile(r"[ \t\r\n]+")
_SAFE_SCHEMES = frozenset({"http", "https", "mailto"})
_CONTROL = re.compile(r"[\x00-\x20\x7f]")


def collapse(text: str) -> str:
    """XML white space (not no-break spaces: those are typography) collapsed to one space."""
    if "  " in text or "\n" in text or "\t" in text or "\r" in text:  # most runs have none
        return _XML_SPACE.sub(" ", text)
    return text


def humanise(value: str | None) -> str | None:
    """``"lost-in-extraction"`` → ``"lost in extraction"``."""
    return " ".join(re.split(r"[-_\s]+", value)).strip() or None if value else None


def _split(url: str) -> SplitResult | None:
    """``urlsplit``, or ``None`` for what it cannot split (``http://[x`` raises ``ValueError``)."""
    try:
        return urlsplit(url)
    except ValueError:
        return None


def safe_link(raw: str | None) -> str | None:
    """The first target of ``@target`` if it is safe to emit as a link in every format, else ``None``.

    Safe: ``http``/``https`` (with a host), ``mailto``, or ``#id`` inside the edition.
    Everything else is refused: ``javascript:``, ``data:``, ``file:``, ``//host/``, any other
    scheme, and every path (``/etc/passwd``, ``../x``, ``notes.html``). A path is not a link
    that works in all three formats: WeasyPrint turns it into a ``file:`` URL of the build
    machine (naming the folder the PDF was built in), and the EPUB holds no such file.
    """
    if not raw or not raw.split():
        return None
    target = raw.split()[0]
    if target.startswith("#"):
        return target if len(target) > 1 else None
    probe = _CONTROL.sub("", unquote(target)).lower()
    parts = _split(probe)
    if parts is None or parts.scheme not in _SAFE_SCHEMES:
        return None
    if parts.scheme in {"http", "https"} and not parts.netloc:
        return None
    if parts.scheme == "mailto" and not parts.path:
        return None
    return target


def safe_image_path(raw: str | None) -> str | None:
    """A ``graphic/@url`` if it stays inside the edition's folder, else ``None``."""
    if not raw:
        return None
    probe = _CONTROL.sub("", unquote(raw.strip()))
    parts = _split(probe)
    if parts is None or parts.scheme or probe.startswith(("/", "\\")) or ":" in probe.split("/")[0]:
        return None
    path = PurePosixPath(probe.replace("\\", "/"))
    if ".." in path.parts or not path.parts:
        return None
    return path.as_posix()


def _trimmed(nodes: list[Inline]) -> tuple[Inline, ...]:
    """Merge neighbouring text runs and drop white space at both ends."""
    merged: list[Inline] = []
    for node in nodes:
        if isinstance(node, Text) and merged and isinstance(merged[-1], Text):
            merged[-1] = Text(collapse(merged[-1].text + node.text))
        elif not (isinstance(node, Text) and not node.text):
            merged.append(node)
    if merged and isinstance(merged[0], Text):
        merged[0] = Text(merged[0].text.lstrip(" "))
        if not merged[0].text:
            merged.pop(0)
    if merged and isinstance(merged[-1], Text):
        merged[-1] = Text(merged[-1].text.rstrip(" "))
        if not merged[-1].text:
            merged.pop()
    return tuple(merged)


_IDS = etree.XPath("//@xml:id", smart_strings=False)


def source_ids(root: etree._Element) -> set[str]:
    """Every ``xml:id`` of the document (plain strings: lxml's "smart" ones keep their element)."""
    return set(cast(list[str], _IDS(root)))


def _is_element(node: etree._Element) -> bool:
    return isinstance(node.tag, str)


def _name(element: etree._Element) -> str:
    """Local name in the TEI namespace, else the qualified name (``{ns}x``) for warnings."""
    return local(element) or str(element.tag)


class Builder:
    """Builds the text's blocks and the side tables. One builder per load."""

    def __init__(self, path: str, root: etree._Element, index: HeaderIndex, limits: Limits) -> None:
        self.path = path
        self.index = index
        self.limits = limits
        self.taken_ids = source_ids(root)
        self.notes: list[Note] = []
        self.note_count = 0
        self.interventions: list[Intervention] = []
        self.occurrences: dict[str, list[Occurrence]] = defaultdict(list)
        self.counters: dict[str, int] = defaultdict(int)
        self.unknown: dict[str, tuple[int, int]] = {}
        """Unknown element name → (first line, count), for one warning per name."""
        self.block_stack: list[str | None] = [None]
        self.in_note = 0
        self.part = "body"
        """The part of the text being built (``front``, ``body``, ``back``)."""
        self.notices: list[str] = []
        """Warnings for the user, given by :func:`edition.load` once the text is built."""

    # ------------------------------------------------------------------ ids and context

    def new_id(self, prefix: str) -> str:
        """The next free generated id with this prefix (``p1``, ``p2``...), skipping ids the source uses."""
        while True:
            self.counters[prefix] += 1
            candidate = f"{prefix}{self.counters[prefix]}"
            if candidate not in self.taken_ids:
                self.taken_ids.add(candidate)
                return candidate

    @property
    def current_block(self) -> str | None:
        return self.block_stack[-1]

    def inside(self, block_id: str | None, build: Callable[[], tuple[Inline, ...]]) -> tuple[Inline, ...]:
        """Build content while ``block_id`` is the block that notes and interventions are 'in'."""
        self.block_stack.append(block_id or self.current_block)
        try:
            return build()
        finally:
            self.block_stack.pop()

    def warn_unknown(self, element: etree._Element) -> None:
        name = _name(element)
        line, count = self.unknown.get(name, (line_of(element) or 0, 0))
        self.unknown[name] = (line, count + 1)

    def report_unknown(self) -> list[str]:
        """The warnings of this build: one per unknown element name (first line, count), then the rest."""
        unknown = []
        for name, (line, count) in sorted(self.unknown.items()):
            times = "once" if count == 1 else f"{count} times"
            unknown.append(
                f"{self.path}:{line}: <{name}> ({times}) is not an element the library knows; "
                "its text is kept as plain text"
            )
        return unknown + self.notices

    # ------------------------------------------------------------------ blocks

    def section(self, element: etree._Element, level: int, part: str) -> Division:
        """A ``div`` (or ``front``/``body``/``back`` at level 0) with its heading and blocks."""
        rule = bh.rule_for(local(element))
        default = rule.role if rule and rule.role else None
        division_id = element.get(XML_ID) or (default if default and level == 0 else self.new_id("div"))
        if level == 0:
            self.part = part
        self.block_stack.append(division_id)
        try:
            blocks = list(self.blocks(element, level))
        finally:
            self.block_stack.pop()
        heading_at = next(
            (i for i, b in enumerate(blocks) if isinstance(b, Paragraph) and b.role == "head"), None
        )
        heading = blocks.pop(heading_at) if heading_at is not None else None
        assert heading is None or isinstance(heading, Paragraph)
        return Division(
            id=division_id,
            type=element.get("type"),
            level=level,
            heading=heading,
            blocks=tuple(blocks),
            part=self.part,  # type: ignore[arg-type]
        )

    def blocks(self, container: etree._Element, level: int | None = None) -> Iterator[Block]:
        """The blocks of a container; loose inline content between blocks becomes a ``run`` paragraph."""
        level = self._level(container) if level is None else level
        run: list[Inline] = []

        def flush() -> Iterator[Block]:
            content = _trimmed(run)
            run.clear()
            if content:
                yield Paragraph(None, None, content, role="run")

        if container.text:
            run.append(Text(collapse(container.text)))
        for child in container:
            if _is_element(child):
                rule = bh.rule_for(local(child))
                if rule is not None and rule.behaviour in bh.BLOCK_BEHAVIOURS:
                    yield from flush()
                    yield from self.block(child, rule, level)
                elif rule is None and self._holds_blocks(child):
                    yield from flush()
                    self.warn_unknown(child)
                    yield Group(child.get(XML_ID), "unknown", tuple(self.blocks(child, level)))
                else:
                    run.extend(self.inline(child))
            if child.tail:
                run.append(Text(collapse(child.tail)))
        yield from flush()

    @staticmethod
    def _level(element: etree._Element) -> int:
        """The division level of what an element contains: the divisions around it, itself included."""
        own = 1 if local(element) == "div" else 0
        return own + sum(1 for a in element.iterancestors() if local(a) == "div")

    def _holds_blocks(self, element: etree._Element) -> bool:
        for child in element:
            rule = bh.rule_for(local(child)) if _is_element(child) else None
            if rule is not None and rule.behaviour in bh.BLOCK_BEHAVIOURS:
                return True
        return False

    def block(self, element: etree._Element, rule: Rule, level: int) -> Iterator[Block]:
        """The block(s) one block-level element makes."""
        element_id = element.get(XML_ID)
        match rule.behaviour:
            case B.SECTION:
                yield self.section(element, level + 1, "body")
            case B.HEADING:
                heading_id = element_id or self.heading_id(element)
                yield Paragraph(heading_id, None, self.content(element, heading_id), role="head")
            case B.PARAGRAPH:
                yield self.paragraph(element)
            case B.BLOCK:  # a generated id lets the apparatus and registers name the place ("byline")
                block_id = element_id or self.new_id(rule.role or "block")
                yield Paragraph(block_id, None, self.content(element, block_id), role=rule.role or "block")
            case B.CITATION:
                yield Paragraph(element_id, None, self.content(element, element_id), role="bibl")
            case B.GROUP:
                yield Group(element_id, rule.role or local(element), tuple(self.blocks(element, level)))
            case B.QUOTATION | B.QUOTE:
                yield self.quotation(element, rule)
            case B.LINE_GROUP:
                yield self.line_group(element)
            case B.LINE:
                yield LineGroup(None, None, (self.line(element, 1),))
            case B.LIST:
                yield self.list_block(element)
            case B.TABLE:
                yield self.table(element)
            case B.FIGURE:
                yield self.figure(element)
            case _:
                raise AssertionError(f"{rule.behaviour} is not a block behaviour")

    def heading_id(self, head: etree._Element) -> str | None:
        """The id of a division's heading without one: ``title`` for the text's, ``<div>-head`` else."""
        parent = head.getparent()
        if parent is None or local(parent) not in {"body", "div", "front", "back"}:
            return None
        candidate = TITLE_ID if local(parent) == "body" else f"{self.current_block}-head"
        if candidate in self.taken_ids:
            return self.new_id(f"{candidate}-")
        self.taken_ids.add(candidate)
        return candidate

    def paragraph(self, element: etree._Element) -> Paragraph:
        if self.in_note:
            element_id = element.get(XML_ID)
            return Paragraph(element_id, None, self.content(element, element_id), lang=element.get(XML_LANG))
        self.counters["paragraph"] += 1
        number = self.counters["paragraph"]
        element_id = element.get(XML_ID) or self._paragraph_id(number)
        content = self.content(element, element_id)
        return Paragraph(element_id, number, content, role="p", lang=element.get(XML_LANG))

    def _paragraph_id(self, number: int) -> str:
        candidate = f"p{number}"
        if candidate in self.taken_ids:
            return self.new_id(f"p{number}-")
        self.taken_ids.add(candidate)
        return candidate

    def content(self, element: etree._Element, block_id: str | None = None) -> tuple[Inline, ...]:
        """The inline content of an element, trimmed, with ``block_id`` as the enclosing block."""
        return self.inside(block_id, lambda: _trimmed(self.children(element)))

    def children(self, element: etree._Element) -> list[Inline]:
        """Inline nodes for an element's text, children and their tails (untrimmed)."""
        out: list[Inline] = []
        if element.text:
            out.append(Text(collapse(element.text)))
        for child in element:
            if _is_element(child):
                out.extend(self.inline(child))
            if child.tail:
                out.append(Text(collapse(child.tail)))
        return out

    def quotation(self, element: etree._Element, rule: Rule) -> Quotation:
        """``cit`` (quote + bibl), ``epigraph`` (usually holding a cit), or a block ``quote``."""
        self.block_stack.append(element.get(XML_ID) or self.new_id(local(element)))
        try:
            return self._quotation(element)
        finally:
            self.block_stack.pop()

    def _quotation(self, element: etree._Element) -> Quotation:
        role = "epigraph" if local(element) == "epigraph" else "quote"
        source = element
        if role == "epigraph":
            parts = [c for c in element if _is_element(c)]
            if len(parts) == 1 and local(parts[0]) == "cit":
                source = parts[0]
        if local(source) != "cit":
            return Quotation(self.current_block, tuple(self.blocks(source)), (), role)
        blocks: list[Block] = []
        attribution: list[Inline] = []
        for child in source:
            if not _is_element(child):
                continue
            if local(child) in {"quote", "q", "said"}:
                blocks.extend(self.blocks(child))
            elif local(child) == "bibl":
                attribution.extend(self.children(child))
            else:
                attribution.extend(self.inline(child))
        return Quotation(self.current_block, tuple(blocks), _trimmed(attribution), role)

    def line_group(self, element: etree._Element) -> LineGroup:
        items: list[Line | LineGroup] = []
        heading = None
        number = 0
        for child in element:
            if not _is_element(child):
                continue
            name = local(child)
            if name == "head" and heading is None:
                heading = Paragraph(child.get(XML_ID), None, self.content(child), role="head")
            elif name == "l":
                number += 1
                items.append(self.line(child, number))
            elif name == "lg":
                group = self.line_group(child)
                number += sum(1 for _ in _lines(group))
                items.append(group)
            else:
                items.extend(_as_lines(self.inline(child)))
        return LineGroup(element.get(XML_ID), heading, tuple(items), element.get("type"))

    def line(self, element: etree._Element, number: int) -> Line:
        n = element.get("n")
        element_id = element.get(XML_ID)
        return Line(element_id, int(n) if n and n.isdigit() else number, self.content(element, element_id))

    def list_block(self, element: etree._Element) -> ListBlock:
        heading = None
        items: list[ListItem] = []
        label: tuple[Inline, ...] = ()
        for child in element:
            if not _is_element(child):
                continue
            name = local(child)
            if name == "head" and heading is None:
                heading = Paragraph(child.get(XML_ID), None, self.content(child), role="head")
            elif name == "label":
                label = self.content(child)
            elif name == "item":
                items.append(ListItem(label, tuple(self.blocks(child))))
                label = ()
            else:
                items.append(ListItem((), tuple(self.blocks_of_one(child))))
        ordered = element.get("type") in {"ordered", "numbered"} or "numbered" in (element.get("rend") or "")
        return ListBlock(element.get(XML_ID), heading, tuple(items), ordered)

    def blocks_of_one(self, element: etree._Element) -> Iterator[Block]:
        rule = bh.rule_for(local(element))
        if rule is not None and rule.behaviour in bh.BLOCK_BEHAVIOURS:
            yield from self.block(element, rule, self._level(element))
        else:
            content = _trimmed(self.inline(element))
            if content:
                yield Paragraph(None, None, content, role="run")

    def table(self, element: etree._Element) -> Table:
        heading = None
        rows: list[Row] = []
        for child in element:
            if not _is_element(child):
                continue
            if local(child) == "head" and heading is None:
                heading = Paragraph(child.get(XML_ID), None, self.content(child), role="head")
            elif local(child) == "row":
                cells = tuple(
                    Cell(
                        tuple(self.blocks(cell)),
                        header=cell.get("role") == "label",
                        columns=_positive(cell.get("cols")),
                        rows=_positive(cell.get("rows")),
                    )
                    for cell in child
                    if _is_element(cell) and local(cell) == "cell"
                )
                rows.append(Row(cells, header=child.get("role") == "label"))
            else:
                rows.append(Row((Cell(tuple(self.blocks_of_one(child))),)))
        return Table(element.get(XML_ID), heading, tuple(rows))

    def figure(self, element: etree._Element) -> Figure:
        heading = None
        image = None
        description = ""
        caption: list[Inline] = []
        for child in element:
            if not _is_element(child):
                continue
            name = local(child)
            if name == "head" and heading is None:
                heading = Paragraph(child.get(XML_ID), None, self.content(child), role="head")
            elif name == "graphic" and image is None:
                image = self.image(child)
            elif name == "figDesc":
                description = words_of(child)
            else:
                caption.extend(self.inline(child))
        if heading is None and _trimmed(caption):
            heading = Paragraph(None, None, _trimmed(caption), role="head")
        return Figure(element.get(XML_ID), image, heading, description)

    def image(self, graphic: etree._Element) -> str:
        raw = graphic.get("url")
        path = safe_image_path(raw)
        if path is None:
            raise UnsafeInputError(
                f'graphic url "{raw}" points outside the edition\'s folder',
                path=self.path,
                line=line_of(graphic),
                hint="use a relative path to an image inside the edition's folder",
            )
        return path

    # ------------------------------------------------------------------ inlines

    def inline(self, element: etree._Element) -> list[Inline]:
        """The inline node(s) an element makes where it stands in running text."""
        rule = bh.rule_for(local(element))
        if rule is None:
            self.warn_unknown(element)
            return [Unknown(_name(element), tuple(self.children(element)))]
        lang = element.get(XML_LANG)
        match rule.behaviour:
            case B.INLINE:
                rend = _renditions(element.get("rend")) if local(element) == "hi" else ()
                return [Styled(rule.role or local(element), tuple(self.children(element)), rend, lang)]
            case B.ENTITY:
                return [self.mention(element, rule)]
            case B.DATE:
                return [DateRef(tuple(self.children(element)), _date_value(element))]
            case B.LINK:
                return [self.link(element)]
            case B.NOTE:
                return [self.note(element)]
            case B.ALTERNATE:
                return [self.alternate(element, rule)]
            case B.SUPPLIED:
                return [self.supplied(element)]
            case B.OMIT:
                return [self.omission(element)]
            case B.MARK:
                return [self.marked(element, rule)]
            case B.BREAK:
                if rule.role == "line":
                    return [LineBreak(hyphenated=element.get("break") == "no")]
                unit = element.get("unit") or rule.role or "milestone"
                return [Milestone(unit, element.get("n"))]
            case B.QUOTE if not self._holds_blocks(element):
                children = tuple(self.children(element))
                return [Quote(children, _quote_marks(element, children), lang)]
            case B.CITATION | B.HEADING | B.BLOCK:
                return [Styled(rule.role or local(element), tuple(self.children(element)), (), lang)]
            case B.DESCRIPTION | B.FIGURE_DESCRIPTION | B.LABEL:
                return [Styled(local(element), tuple(self.children(element)), (), lang)]
            case _:
                # a block inside running text (a list in a paragraph): keep it whole
                return [Embedded(b) for b in self.blocks_of_one(element)]

    def mention(self, element: etree._Element, rule: Rule) -> Mention:
        ref = element.get("ref") or element.get("key")
        record = None
        if ref and ref.startswith("#"):
            record = self.index.records.get(ref[1:])
        kind = rule.entity or EntityKind.NAME
        if kind is EntityKind.NAME:
            declared = (element.get("type") or "").lower()
            kind = {
                "person": EntityKind.PERSON,
                "place": EntityKind.PLACE,
                "org": EntityKind.ORGANISATION,
                "organisation": EntityKind.ORGANISATION,
                "organization": EntityKind.ORGANISATION,
            }.get(declared, record.kind if record else EntityKind.NAME)
        mention_id = element.get(XML_ID) or self.new_id("m")
        if record is not None:
            self.occurrences[record.id].append(Occurrence(mention_id, self.current_block))
        children = tuple(self.children(element))
        return Mention(mention_id, kind, record.id if record else None, children, element.get(XML_LANG))

    def link(self, element: etree._Element) -> Link:
        raw = element.get("target")
        target = safe_link(raw)
        if raw and target is None:
            self.notices.append(
                f"{self.path}:{line_of(element)}: link target {raw!r} refused (only http, https and mailto "
                "URLs and #ids are linked, in every format); text kept"
            )
        children = tuple(self.children(element))
        if not _trimmed(list(children)) and target:
            children = (Text(target),)
        return Link(children, target)

    def note(self, element: etree._Element) -> NoteRef:
        self.note_count += 1
        if self.note_count > self.limits.max_notes:
            raise ParseError(
                f"more than {self.limits.max_notes:,} notes",
                path=self.path,
                line=line_of(element),
                hint="raise Limits.max_notes if the edition really has so many",
            )
        number = self.note_count
        note_id = element.get(XML_ID) or self.new_id("n")
        block = self.current_block
        self.in_note += 1
        self.block_stack.append(note_id)
        try:
            blocks = tuple(self.blocks(element))
        finally:
            self.block_stack.pop()
            self.in_note -= 1
        self.notes.append(
            Note(
                id=note_id,
                number=number,
                label=element.get("n") or str(number),
                blocks=blocks,
                responsibility=self.index.name(element.get("resp")),
                block=block,
                type=element.get("type"),
            )
        )
        return NoteRef(note_id)

    # ------------------------------------------------------------------ interventions

    def record(
        self,
        element: etree._Element,
        kind: InterventionKind,
        found: str,
        edited: str,
        *,
        reason: str | None = None,
        description: str | None = None,
        resp: str | None = None,
        cert: str | None = None,
    ) -> str:
        """Add an intervention to the side table; returns its id."""
        intervention_id = element.get(XML_ID) or self.new_id("i")
        self.interventions.append(
            Intervention(
                id=intervention_id,
                kind=kind,
                found=found,
                edited=edited,
                reason=reason,
                block=self.current_block,
                responsibility=self.index.name(resp),
                certainty=cert,
                line=line_of(element),
                description=description,
            )
        )
        return intervention_id

    def _reason(
        self, *elements: etree._Element | None, attributes: tuple[str, ...] = ("reason",)
    ) -> str | None:
        """The words for why: a category ``@ana`` points at, else the first of ``attributes`` set."""
        present = [e for e in elements if e is not None]
        for element in present:
            # only pointers to categories the header has: HeaderIndex.reason raises KeyError on others
            pointers = [
                p for p in (element.get("ana") or "").split() if p.removeprefix("#") in self.index.reasons
            ]
            found = self.index.reason(" ".join(pointers))
            if found:
                return found
        for element in present:
            for attribute in attributes:
                if element.get(attribute):
                    return humanise(element.get(attribute))
        return None

    def alternate(self, element: etree._Element, rule: Rule) -> Inline:
        parts = [c for c in element if _is_element(c)]
        if local(element) != "choice":  # a lone sic or corr
            children = tuple(self.children(element))
            text = inline_text(children)
            reason = self._reason(element, attributes=("type",))
            if local(element) == "sic":
                iid = self.record(
                    element,
                    InterventionKind.SIC,
                    text,
                    text,
                    reason=reason,
                    resp=element.get("resp"),
                    cert=element.get("cert"),
                )
                return Marked(iid, InterventionKind.SIC, children)
            iid = self.record(
                element,
                InterventionKind.CORRECTION,
                "",
                text,
                reason=reason,
                resp=element.get("resp"),
                cert=element.get("cert"),
            )
            return Alternate(iid, (), children)
        by_name = {local(p): p for p in parts}
        source_el, edited_el, kind = None, None, InterventionKind.CORRECTION
        for source_name, edited_name, pair_kind in bh.ALTERNATE_PAIRS:
            if source_name in by_name and edited_name in by_name:
                source_el, edited_el, kind = by_name[source_name], by_name[edited_name], pair_kind
                break
        else:
            if len(parts) >= 2:  # e.g. two alternative corrections: first is the source's
                source_el, edited_el = parts[0], parts[1]
            elif len(parts) == 1:
                source_el = edited_el = parts[0]
        source = tuple(self.children(source_el)) if source_el is not None else ()
        reading = tuple(self.children(edited_el)) if edited_el is not None else ()
        iid = self.record(
            element,
            kind,
            inline_text(source, "diplomatic"),
            inline_text(reading, "reading"),
            reason=self._reason(element, edited_el, attributes=("type",)),
            resp=element.get("resp") or (edited_el.get("resp") if edited_el is not None else None),
            cert=element.get("cert") or (edited_el.get("cert") if edited_el is not None else None),
        )
        return Alternate(iid, source, reading)

    def supplied(self, element: etree._Element) -> Supplied:
        children = tuple(self.children(element))
        iid = self.record(
            element,
            InterventionKind.SUPPLIED,
            "",
            inline_text(children, "reading"),
            reason=self._reason(element),
            resp=element.get("resp"),
            cert=element.get("cert"),
        )
        return Supplied(iid, children)

    def omission(self, element: etree._Element) -> Omission:
        removed = (element.get("reason") or "").lower() in bh.REMOVAL_REASONS
        kind = InterventionKind.REMOVAL if removed else InterventionKind.GAP
        described = " ".join(words_of(d) for d in element if _is_element(d) and local(d) == "desc")
        extent = element.get("extent") or _quantity(element.get("quantity"), element.get("unit"))
        reason = self._reason(element, attributes=("reason", "agent"))
        description = described or ", ".join(v for v in (humanise(element.get("reason")), extent) if v)
        iid = self.record(
            element,
            kind,
            "",
            "",
            reason=reason,
            description=description or None,
            resp=element.get("resp"),
            cert=element.get("cert"),
        )
        return Omission(iid, description or ("removed" if removed else "lost"), removed)

    def marked(self, element: etree._Element, rule: Rule) -> Marked:
        kind = rule.intervention or InterventionKind.UNCLEAR
        in_reading, in_diplomatic = bh.MARK_VIEWS[kind]
        children = tuple(self.children(element))
        text = inline_text(children, "diplomatic")
        iid = self.record(
            element,
            kind,
            text,
            text if in_reading else "",
            reason=self._reason(element, attributes=("reason", "agent", "type")),
            resp=element.get("resp"),
            cert=element.get("cert"),
        )
        return Marked(iid, kind, children, in_reading, in_diplomatic)


# ------------------------------------------------------------------ small helpers


def _quantity(quantity: str | None, unit: str | None) -> str:
    """``@quantity`` and ``@unit`` in words: ``3`` + ``line`` → ``3 lines``."""
    if not unit:
        return quantity or ""
    plural = quantity not in (None, "1") and not unit.endswith("s")
    return " ".join(v for v in (quantity, unit + ("s" if plural else "")) if v)


def _positive(value: str | None) -> int:
    return int(value) if value and value.isdigit() and int(value) > 0 else 1


def _renditions(rend: str | None) -> tuple[str, ...]:
    """Known ``@rend`` keywords, canonical and in order (unknown ones are presentation hints we ignore)."""
    found = (bh.RENDITIONS.get(token.lower()) for token in (rend or "").split())
    return tuple(dict.fromkeys(r for r in found if r))


def _date_value(element: etree._Element) -> str | None:
    when = element.get("when") or element.get("when-iso")
    if when:
        return when
    start = element.get("from") or element.get("notBefore")
    end = element.get("to") or element.get("notAfter")
    if start or end:
        return f"{start or '..'}/{end or '..'}"
    return None


def _quote_marks(element: etree._Element, children: tuple[Inline, ...]) -> tuple[str, str] | None:
    """Marks to add around a quotation: none if the text already has them or ``@rend`` says so."""
    rend = (element.get("rend") or "").lower()
    if rend in {"none", "no-quotes", "block", "inline-no-marks"} or element.get("direct") == "false":
        return None
    text = inline_text(children).strip()
    if text[:1] in bh.QUOTE_CHARACTERS or text[:2].lstrip("…. ")[:1] in bh.QUOTE_CHARACTERS:
        return None
    return bh.DEFAULT_QUOTE_MARKS


def _lines(group: LineGroup) -> Iterator[Line]:
    for item in group.items:
        if isinstance(item, Line):
            yield item
        else:
            yield from _lines(item)


def _as_lines(nodes: list[Inline]) -> list[Line | LineGroup]:
    """Loose content inside a line group (a note, a gap between lines) as an unnumbered line."""
    content = _trimmed(nodes)
    return [Line(None, None, content)] if content else []


def finish_entities(builder: Builder) -> tuple[Entity, ...]:
    """Header records with the occurrences the builder found, in header order."""
    return tuple(
        replace(record, occurrences=tuple(builder.occurrences.get(record.id, ())))
        for record in builder.index.records.values()
    )
