"""The one HTML renderer: model → (X)HTML elements, one ``visit_<Node>`` per model type.

Web page, EPUB and print all use this renderer; each medium subclasses it and overrides
only the hooks where the medium differs (:mod:`edition.web`, :mod:`edition.epub`,
:mod:`edition.pdf`). Elements are built with lxml as HTML elements in no namespace, so
every string from the source is escaped by construction and the same tree serialises as
HTML5 (web, print: :func:`to_html`) or XHTML (EPUB: :func:`to_xhtml`, which declares the
XHTML namespace). Building them in no namespace rather than XHTML's saves a sixth of the
web page's time: lxml makes a namespaced element more slowly, and HTML5 needed every
element renamed out of the namespace again.

A model type without a ``visit_`` method raises :class:`NotImplementedError`: a new node
type can never be skipped quietly.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from typing import Any, ClassVar, cast

from lxml import etree

from edition.model import (
    TITLE_ID,
    Alternate,
    Block,
    DateRef,
    Division,
    Edition,
    Embedded,
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
    Marked,
    Mention,
    Milestone,
    Note,
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
    walk_inlines,
)
from edition.text import inline_text

XHTML_NS = "http://www.w3.org/1999/xhtml"

EPUB_NS = "http://www.idpf.org/2007/ops"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
Element = etree._Element

#: Languages written right to left: their spans get ``dir="rtl"``.
RTL_LANGUAGES = frozenset({"ar", "he", "fa", "ur", "yi", "ps", "syr", "dv", "ckb", "sd", "ug"})
_LANG_TAG = re.compile(r"^[A-Za-z]{1,8}(-[A-Za-z0-9]{1,8})*$")
_HTML_DATETIME = re.compile(
    r"^(\d{4,}|\d{4,}-\d{2}|\d{4,}-\d{2}-\d{2}|\d{4,}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})?)$"
)

#: Words for each kind of intervention, as readers see them.
KIND_LABELS: dict[InterventionKind, str] = {
    InterventionKind.CORRECTION: "corrected",
    InterventionKind.REGULARISATION: "regularised",
    InterventionKind.EXPANSION: "abbreviation expanded",
    InterventionKind.SUPPLIED: "supplied",
    InterventionKind.GAP: "lost",
    InterventionKind.REMOVAL: "left out",
    InterventionKind.UNCLEAR: "unclear",
    InterventionKind.ADDITION: "added in the source",
    InterventionKind.DELETION: "deleted in the source",
    InterventionKind.DAMAGE: "damaged",
    InterventionKind.SURPLUS: "superfluous",
    InterventionKind.SIC: "sic",
}

ENTITY_LABELS: dict[EntityKind, tuple[str, str]] = {
    EntityKind.PERSON: ("persons", "Persons"),
    EntityKind.PLACE: ("places", "Places"),
    EntityKind.ORGANISATION: ("organisations", "Organisations"),
    EntityKind.NAME: ("names", "Other names"),
}

_STYLED_TAGS: dict[str, str] = {
    "emphasis": "em",
    "title": "cite",
    "abbreviation": "abbr",
}
_RENDITION_TAGS: dict[str, str] = {
    "italic": "i",
    "bold": "b",
    "superscript": "sup",
    "subscript": "sub",
    "underline": "u",
    "strikethrough": "s",
}


def h(tag: str, attrs: dict[str, str | None] | None = None, text: str | None = None) -> Element:
    """A new HTML element (in no namespace); attributes whose value is ``None`` are left out."""
    element = etree.Element(tag)
    for key, value in (attrs or {}).items():
        if value is not None:
            element.set(key, value)
    if text:
        element.text = text
    return element


def sub(
    parent: Element, tag: str, attrs: dict[str, str | None] | None = None, text: str | None = None
) -> Element:
    """A new HTML child element at the end of ``parent``."""
    child = etree.SubElement(parent, tag)
    for key, value in (attrs or {}).items():
        if value is not None:
            child.set(key, value)
    if text:
        child.text = text
    return child


def root_element(tag: str, namespaces: dict[str | None, str], **attributes: str) -> Element:
    """A root element that declares ``namespaces`` (the default namespace under the key ``None``)."""
    return etree.Element(tag, attributes, nsmap=namespaces)  # type: ignore[arg-type]  # stubs lack the None key


def add_text(parent: Element, text: str) -> None:
    """Append text at the end of ``parent`` (after its last child, if it has one)."""
    if not text:
        return
    if len(parent):
        last = parent[-1]
        last.tail = (last.tail or "") + text
    else:
        parent.text = (parent.text or "") + text


def safe_lang(lang: str | None) -> str | None:
    """A language tag fit for ``lang`` (BCP 47 shape), else ``None``."""
    return lang if lang and _LANG_TAG.match(lang) else None


def text_direction(lang: str | None) -> str | None:
    return "rtl" if lang and lang.split("-")[0].lower() in RTL_LANGUAGES else None


def plain(element: Element) -> str:
    """The text of an element, white space collapsed."""
    return " ".join("".join(str(t) for t in element.itertext()).split())


class HtmlRenderer:
    """Renders an :class:`Edition` to XHTML elements. Subclass per medium; override the hooks."""

    medium: ClassVar[str] = "html"
    views: ClassVar[tuple[View, ...]] = ("reading",)
    """Views the output carries: the web page carries both and switches with CSS."""

    def __init__(self, edition: Edition) -> None:
        self.edition = edition
        self.link_depth = 0
        self.after_link: list[Element] = []
        """Elements that must follow the link being rendered (links cannot nest)."""
        self.block_labels = self._block_labels()
        self._visitors: dict[type, Callable[[Any, Element], None]] = {}
        """Model type → its ``visit_`` method, looked up once per type, not once per node."""

    # ------------------------------------------------------------------ hooks

    def href(self, anchor: str) -> str:
        """The URL of an anchor; EPUB overrides it to name the content document that holds it."""
        return f"#{anchor}"

    def noteref_attrs(self, note: Note) -> dict[str, str | None]:
        return {"role": "doc-noteref"}

    def intervention_extras(self, intervention: Intervention, wrapper: Element) -> None:
        """Medium-specific additions to an intervention's wrapper (a tooltip on the web)."""

    def mention_href(self, mention: Mention) -> str | None:
        return self.href(f"reg-{mention.entity}") if mention.entity else None

    # ------------------------------------------------------------------ dispatch

    def visit(self, node: Block | Inline, parent: Element) -> None:
        kind = type(node)
        method = self._visitors.get(kind)
        if method is None:  # the first node of its type: look its method up once
            method = getattr(self, f"visit_{kind.__name__}", None)
            if method is None:
                raise NotImplementedError(f"{type(self).__name__} has no visit_{kind.__name__}")
            self._visitors[kind] = method
        method(node, parent)

    def blocks(self, blocks: Iterable[Block], parent: Element) -> None:
        for block in blocks:
            self.visit(block, parent)

    def inlines(self, nodes: Iterable[Inline], parent: Element) -> None:
        for node in nodes:
            self.visit(node, parent)

    def flow(self, blocks: tuple[Block, ...], parent: Element) -> None:
        """Blocks inside a list item, cell or note: a lone anonymous run renders inline."""
        if len(blocks) == 1 and isinstance(blocks[0], Paragraph) and blocks[0].role == "run":
            self.inlines(blocks[0].content, parent)
        else:
            self.blocks(blocks, parent)

    # ------------------------------------------------------------------ blocks

    def heading_tag(self, division: Division) -> str:
        if division.level == 0:
            return "h1" if division.part == "body" else "h2"
        return f"h{min(division.level + 1, 6)}"

    def visit_Division(self, division: Division, parent: Element) -> None:
        classes = " ".join(c for c in ("division", division.part, division.type) if c)
        section = sub(parent, "section", {"id": division.id, "class": classes})
        if division.heading is not None:
            heading = sub(section, self.heading_tag(division), {"id": division.heading.id})
            self.inlines(division.heading.content, heading)
            if section.get("id"):
                section.set("aria-labelledby", self._heading_id(division, heading))
        self.blocks(division.blocks, section)

    @staticmethod
    def _heading_id(division: Division, heading: Element) -> str:
        if not heading.get("id"):
            heading.set("id", f"{division.id}-head")
        return heading.get("id", "")

    def visit_Paragraph(self, paragraph: Paragraph, parent: Element) -> None:
        embeds = any(isinstance(n, Embedded) for n in paragraph.content)
        classes = "p" if paragraph.role == "p" else paragraph.role
        lang = safe_lang(paragraph.lang)
        attrs: dict[str, str | None] = {"id": paragraph.id, "class": classes, "lang": lang}
        attrs["dir"] = text_direction(lang)
        if embeds:
            attrs["role"] = "paragraph"
        element = sub(parent, "div" if embeds else "p", attrs)
        if paragraph.number is not None and paragraph.id:
            self.paragraph_number(paragraph, element)
        self.inlines(paragraph.content, element)

    def paragraph_number(self, paragraph: Paragraph, element: Element) -> None:
        """The visible, linkable paragraph number (citation: "¶ 12")."""
        number = str(paragraph.number)
        sub(
            element,
            "a",
            {"class": "pnum", "href": self.href(paragraph.id or ""), "aria-label": f"Paragraph {number}"},
            number,
        )
        add_text(element, " ")

    def visit_Group(self, group: Group, parent: Element) -> None:
        element = sub(parent, "div", {"id": group.id, "class": f"group {group.role}"})
        self.blocks(group.blocks, element)

    def visit_Quotation(self, quotation: Quotation, parent: Element) -> None:
        figure = sub(parent, "figure", {"id": quotation.id, "class": quotation.role})
        quote = sub(figure, "blockquote")
        self.blocks(quotation.blocks, quote)
        if quotation.attribution:
            caption = sub(figure, "figcaption", {"class": "attribution"})
            self.inlines(quotation.attribution, caption)

    def visit_LineGroup(self, group: LineGroup, parent: Element) -> None:
        element = sub(parent, "div", {"id": group.id, "class": " ".join(c for c in ("lg", group.type) if c)})
        if group.heading is not None:
            self.visit(group.heading, element)
        for item in group.items:
            if isinstance(item, Line):
                self.visit_Line(item, element)
            else:
                self.visit_LineGroup(item, element)

    def visit_Line(self, line: Line, parent: Element) -> None:
        element = sub(parent, "div", {"id": line.id, "class": "l"})
        if line.number is not None and line.number % 5 == 0:
            sub(element, "span", {"class": "lnum", "aria-hidden": "true"}, str(line.number))
        self.inlines(line.content, element)

    def visit_ListBlock(self, block: ListBlock, parent: Element) -> None:
        if block.heading is not None:
            self.visit(block.heading, parent)
        element = sub(parent, "ol" if block.ordered else "ul", {"id": block.id, "class": "list"})
        for item in block.items:
            li = sub(element, "li")
            if item.label:
                label = sub(li, "span", {"class": "label"})
                self.inlines(item.label, label)
                add_text(li, " ")
            self.flow(item.blocks, li)

    def visit_Table(self, table: Table, parent: Element) -> None:
        element = sub(parent, "table", {"id": table.id})
        if table.heading is not None:
            caption = sub(element, "caption")
            self.inlines(table.heading.content, caption)
        body = sub(element, "tbody")
        for row in table.rows:
            tr = sub(body, "tr")
            for cell in row.cells:
                header = cell.header or row.header
                td = sub(
                    tr,
                    "th" if header else "td",
                    {
                        "colspan": str(cell.columns) if cell.columns > 1 else None,
                        "rowspan": str(cell.rows) if cell.rows > 1 else None,
                        "scope": ("col" if row.header else "row") if header else None,
                    },
                )
                self.flow(cell.blocks, td)

    def visit_Figure(self, figure: Figure, parent: Element) -> None:
        element = sub(parent, "figure", {"id": figure.id, "class": "figure"})
        if figure.image:
            sub(element, "img", {"src": figure.image, "alt": figure.description})
        if figure.heading is not None:
            caption = sub(element, "figcaption")
            self.inlines(figure.heading.content, caption)

    # ------------------------------------------------------------------ inlines

    def visit_Text(self, node: Text, parent: Element) -> None:
        add_text(parent, node.text)

    def visit_Styled(self, node: Styled, parent: Element) -> None:
        lang = safe_lang(node.lang)
        tag = _STYLED_TAGS.get(node.role, "span")
        attrs: dict[str, str | None] = {"lang": lang, "dir": text_direction(lang)}
        if tag == "span":
            attrs["class"] = node.role
        element = sub(parent, tag, attrs)
        for rendition in node.rend:
            inner_tag = _RENDITION_TAGS.get(rendition)
            element = sub(element, inner_tag) if inner_tag else sub(element, "span", {"class": rendition})
        self.inlines(node.children, element)

    def visit_Quote(self, node: Quote, parent: Element) -> None:
        lang = safe_lang(node.lang)
        element = sub(parent, "span", {"class": "quote", "lang": lang, "dir": text_direction(lang)})
        if node.marks:
            add_text(element, node.marks[0])
        self.inlines(node.children, element)
        if node.marks:
            add_text(element, node.marks[1])

    def visit_Mention(self, node: Mention, parent: Element) -> None:
        lang = safe_lang(node.lang)
        target = self.mention_href(node)
        attrs: dict[str, str | None] = {
            "id": node.id,
            "class": f"mention {node.kind.value}",
            "lang": lang,
            "dir": text_direction(lang),
        }
        if target and not self.link_depth:
            attrs["href"] = target
            self.link(parent, attrs, node.children)
        else:
            self.inlines(node.children, sub(parent, "span", attrs))

    def link(self, parent: Element, attrs: dict[str, str | None], children: tuple[Inline, ...]) -> Element:
        """An ``a`` element; anything inside that must not nest in a link is placed after it."""
        element = sub(parent, "a", attrs)
        self.link_depth += 1
        try:
            self.inlines(children, element)
        finally:
            self.link_depth -= 1
        if not self.link_depth:
            for deferred in self.after_link:
                parent.append(deferred)
            self.after_link.clear()
        return element

    def visit_DateRef(self, node: DateRef, parent: Element) -> None:
        if node.when and _HTML_DATETIME.match(node.when):
            element = sub(parent, "time", {"datetime": node.when})
        else:
            element = sub(parent, "span", {"class": "date", "data-when": node.when})
        self.inlines(node.children, element)

    def visit_Link(self, node: Link, parent: Element) -> None:
        if node.target is None or self.link_depth:
            self.inlines(node.children, sub(parent, "span", {"class": "ref"}))
            return
        target = self.href(node.target[1:]) if node.target.startswith("#") else node.target
        external = target.startswith(("http:", "https:"))
        self.link(
            parent, {"class": "ref", "href": target, "rel": "external" if external else None}, node.children
        )

    def visit_NoteRef(self, node: NoteRef, parent: Element) -> None:
        note = self.edition.note(node.note)
        attrs: dict[str, str | None] = {
            "id": f"noteref-{note.id}",
            "class": "noteref",
            "href": self.href(f"note-{note.id}"),
        }
        attrs |= self.noteref_attrs(note)
        element = h("a", attrs)
        sub(element, "sup", None, note.label)
        if self.link_depth:
            self.after_link.append(element)
        else:
            parent.append(element)

    def intervention(
        self, iid: str, parent: Element, fill: Callable[[Element], None], tag: str = "span"
    ) -> None:
        """An intervention: a wrapper marked with its kind and anchored by its id, filled, then
        given the medium's extras (which may look at what the wrapper holds)."""
        item = self.edition.intervention(iid)
        wrapper = sub(parent, tag, {"id": item.id, "class": f"iv {item.kind.value}"})
        fill(wrapper)
        self.intervention_extras(item, wrapper)

    def visit_Alternate(self, node: Alternate, parent: Element) -> None:
        def fill(wrapper: Element) -> None:
            self.inlines(node.reading, sub(wrapper, "span", {"class": "reading"}))
            if "diplomatic" in self.views:
                self.inlines(node.source, sub(wrapper, "span", {"class": "source"}))

        self.intervention(node.intervention, parent, fill)

    def visit_Supplied(self, node: Supplied, parent: Element) -> None:
        self.intervention(node.intervention, parent, lambda wrapper: self.inlines(node.children, wrapper))

    def visit_Omission(self, node: Omission, parent: Element) -> None:
        marker = "[…]"

        def fill(wrapper: Element) -> None:
            sub(wrapper, "span", {"class": "marker"}, marker)

        self.intervention(node.intervention, parent, fill)

    def visit_Marked(self, node: Marked, parent: Element) -> None:
        if not node.in_reading and "diplomatic" not in self.views:
            # keep the anchor the apparatus links to, without the text the reading view leaves out
            self.intervention(node.intervention, parent, lambda wrapper: None)
            return
        tag = {InterventionKind.DELETION: "del", InterventionKind.ADDITION: "ins"}.get(node.kind, "span")
        self.intervention(
            node.intervention, parent, lambda wrapper: self.inlines(node.children, wrapper), tag
        )

    def visit_LineBreak(self, node: LineBreak, parent: Element) -> None:
        sub(parent, "br", {"class": "lb-join" if node.hyphenated else None})

    def visit_Milestone(self, node: Milestone, parent: Element) -> None:
        label = f"{node.unit} {node.label}" if node.label else node.unit
        sub(
            parent,
            "span",
            {"class": f"milestone {node.unit}", "title": label, "aria-hidden": "true"},
            f"|{node.label}|" if node.label else "|",
        )

    def visit_Embedded(self, node: Embedded, parent: Element) -> None:
        self.visit(node.block, parent)

    def visit_Unknown(self, node: Unknown, parent: Element) -> None:
        self.inlines(node.children, sub(parent, "span", {"class": "unknown", "data-tei": node.element}))

    # ------------------------------------------------------------------ labels

    def _block_labels(self) -> dict[str, str]:
        """How to name each block that can hold something: "¶ 5", "note 3", a heading's words."""
        labels: dict[str, str] = {}
        for paragraph in self.edition.paragraphs():
            if paragraph.id:
                labels[paragraph.id] = f"¶ {paragraph.number}"
        for note in self.edition.notes:
            labels[note.id] = f"note {note.label}"
        for block in self.edition.all_blocks:
            if isinstance(block, Quotation) and block.id:
                labels.setdefault(block.id, block.role if block.role == "epigraph" else "quotation")
            elif isinstance(block, Paragraph) and block.id and block.role == "head":
                text = inline_text(block.content)
                labels.setdefault(
                    block.id, "title" if block.id == TITLE_ID else f"heading “{_shortened(text)}”"
                )
            elif isinstance(block, Paragraph) and block.id and block.number is None:
                labels.setdefault(block.id, _ROLE_LABELS.get(block.role, block.role))
            elif isinstance(block, Division):
                heading = inline_text(block.heading.content) if block.heading else ""
                named = heading and block.level > 0
                labels.setdefault(block.id, f"heading “{_shortened(heading)}”" if named else "text")
        return labels

    def place_label(self, block: str | None) -> str:
        return self.block_labels.get(block or "", "text")


_ROLE_LABELS = {"docAuthor": "author", "salute": "salutation", "signed": "signature", "bibl": "reference"}


def _shortened(words: str, most: int = 6) -> str:
    """The first words of a heading, for a place label."""
    parts = words.split()
    return " ".join(parts[:most]) + ("…" if len(parts) > most else "")


def _divisions(divisions: Iterable[Block]) -> Iterator[Division]:
    for block in divisions:
        if isinstance(block, Division):
            yield block
            yield from _divisions(block.blocks)


def interventions_inside(nodes: tuple[Inline, ...]) -> bool:
    """Whether any inline in ``nodes`` is an intervention (a mention that holds one renders differently)."""
    return any(isinstance(n, Alternate | Supplied | Omission | Marked) for n in walk_inlines(nodes))


# --------------------------------------------------------------------------- serialisation

#: Elements after which a line break may be added without changing what a reader sees.
_BREAKABLE = frozenset(
    (
        "html",
        "head",
        "body",
        "header",
        "main",
        "footer",
        "nav",
        "article",
        "section",
        "aside",
        "div",
        "p",
        "ol",
        "ul",
        "li",
        "dl",
        "dt",
        "dd",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "table",
        "thead",
        "tbody",
        "tr",
        "th",
        "td",
        "caption",
        "figure",
        "figcaption",
        "blockquote",
        "meta",
        "link",
        "title",
        "script",
        "fieldset",
        "legend",
        "label",
        "details",
        "summary",
    )
)
_CONTAINERS = frozenset(
    (
        "html",
        "head",
        "body",
        "header",
        "main",
        "footer",
        "nav",
        "article",
        "section",
        "aside",
        "div",
        "ol",
        "ul",
        "dl",
        "table",
        "thead",
        "tbody",
        "tr",
        "figure",
        "blockquote",
        "fieldset",
        "details",
    )
)


def local_name(element: Element) -> str:
    """The local name of an element's tag (``""`` for a comment or processing instruction)."""
    tag = element.tag
    return tag.rpartition("}")[2] if isinstance(tag, str) else ""


def break_lines(root: Element) -> Element:
    """Add line breaks between block elements (never inside running text), for readable files.

    The tree is HTML in no namespace, as :func:`to_html` and :func:`to_xhtml` hand it over.
    """
    for parent in root.iter(*_CONTAINERS):  # lxml picks the containers out
        for index, element in enumerate(parent):
            if element.tag not in _BREAKABLE:
                continue
            if not (element.tail or "").strip():
                element.tail = "\n"
            if index == 0 and not (parent.text or "").strip():
                parent.text = "\n"
    return root


#: The renderers make HTML trees in no namespace; this finds any element that has one.
_NAMESPACED = etree.XPath("descendant-or-self::*[namespace-uri() != '']")


def to_html(root: Element, *, consume: bool = False) -> str:
    """HTML5 text of an HTML tree; elements in a namespace (XHTML, say) lose it, so void
    elements serialise as HTML.

    ``consume=True`` when the caller has no further use for the tree: it is changed in place
    instead of copied (a copy of a book's tree is a tenth of the web page's time).
    """
    import copy

    tree = root if consume else copy.deepcopy(root)
    namespaced = cast(list[Element], _NAMESPACED(tree))
    for element in namespaced:
        element.tag = local_name(element)
    if namespaced:
        etree.cleanup_namespaces(tree)
    break_lines(tree)
    return "<!DOCTYPE html>\n" + etree.tostring(tree, method="html", encoding="unicode") + "\n"


def to_xhtml(root: Element) -> bytes:
    """XHTML (XML) bytes of an ``html`` tree, with an XML declaration (EPUB content documents).

    The tree's elements are HTML elements in no namespace (see the module's docstring); in
    XML, HTML elements are in the XHTML namespace, which the root declares as the default:
    the bytes say what the tree means.
    """
    if root.tag != "html":
        raise ValueError(f"an XHTML document's root must be html in no namespace, not {root.tag!r}")
    break_lines(root)
    body = etree.tostring(root, method="xml", encoding="utf-8", xml_declaration=False)
    return (
        b'<?xml version="1.0" encoding="utf-8"?>\n<!DOCTYPE html>\n<html xmlns="'
        + XHTML_NS.encode()
        + b'"'
        + body[5:]
        + b"\n"
    )
