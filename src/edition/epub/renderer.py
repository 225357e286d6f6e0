"""The EPUB variant of the renderer: the content documents, their notes and links, the navigation."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import cast

from lxml import etree

from edition import sections
from edition.epub.cover import cover_description, cover_svg
from edition.errors import RenderError
from edition.html import (
    ENTITY_LABELS,
    EPUB_NS,
    KIND_LABELS,
    XML_LANG,
    Element,
    HtmlRenderer,
    add_text,
    h,
    local_name,
    root_element,
    safe_lang,
    sub,
    text_direction,
    to_xhtml,
)
from edition.model import (
    TITLE_ID,
    Block,
    Division,
    Edition,
    Figure,
    Intervention,
    Link,
    Note,
    NoteRef,
    Paragraph,
)
from edition.pages import PageStartLike, place_markers
from edition.text import inline_text

# lxml's own XPath: a book's documents hold tens of thousands of elements, and a Python loop
# over every one of them (for the few with an id, a lang or a local link) is most of the work.
_IDS = etree.XPath("//@id", smart_strings=False)
_WITH_LANG = etree.XPath("//*[@lang]")
_LOCAL_LINKS = etree.XPath("//a[starts-with(@href, '#')]")
EPUB_TYPE = f"{{{EPUB_NS}}}type"
NCX_NS = "http://www.daisy.org/z3986/2005/ncx/"


#: Image formats an EPUB 3 may use without a fallback (core media types), by their first bytes.
_IMAGE_TYPES: tuple[tuple[bytes, str, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "image/png", ".png"),
    (b"\xff\xd8\xff", "image/jpeg", ".jpg"),
    (b"GIF87a", "image/gif", ".gif"),
    (b"GIF89a", "image/gif", ".gif"),
)


@dataclass(slots=True)
class TocEntry:
    """One entry of the table of contents (nav document and NCX)."""

    label: str
    href: str
    children: list[TocEntry] = field(default_factory=list)


@dataclass(slots=True)
class Document:
    """One XHTML content document of the book."""

    file: str
    title: str
    fill: Callable[[Element], None]
    """Renders the document's content into its ``body``."""
    body_type: str | None = None
    """``epub:type`` of the ``body`` (``frontmatter``, ``bodymatter``, ``backmatter``)."""
    linear: bool = True
    landmark: tuple[str, str] | None = None
    """``(epub:type, label)`` when the document is one of the book's landmarks."""
    toc: list[TocEntry] = field(default_factory=list)
    text: bool = False
    """Part of the text itself (front, body, back): its footnotes follow it."""

    @property
    def id(self) -> str:
        return PurePosixPath(self.file).stem


@dataclass(frozen=True, slots=True)
class Resource:
    """A file of the book that is not a content document (style sheet, font, image)."""

    file: str
    media_type: str
    data: bytes
    id: str


# --------------------------------------------------------------------------- the renderer


class EpubRenderer(HtmlRenderer):
    """The EPUB variant of the renderer: links across documents, footnote asides, apparatus links."""

    medium = "epub"

    def __init__(
        self,
        edition: Edition,
        pictures: dict[str, bytes] | None = None,
        page_starts: Sequence[PageStartLike] = (),
    ) -> None:
        super().__init__(edition)
        self.pictures = dict(pictures or {})
        self.page_starts = tuple(page_starts)
        """Where the pages of the print edition begin: ``epub:type="pagebreak"`` markers and a page list."""
        self.anchors: dict[str, str] = {}
        """Anchor (an ``id``) → the content document that holds it; filled by a first pass."""
        self.resolved = False
        """Whether :attr:`anchors` is complete."""
        self.link_targets: list[str] = []
        """The ids the text's own links point at (rendered before :attr:`anchors` is complete)."""
        self.current = ""
        """The content document being rendered."""
        self.pending_notes: list[str] = []
        """Notes referred to in the current document whose aside is not yet written."""
        self.language = safe_lang(edition.metadata.language) or "und"
        self.images = self._images()
        self.documents = self._plan()

    # ------------------------------------------------------------------ hooks

    def href(self, anchor: str) -> str:
        """``#id`` inside the current document, ``file.xhtml#id`` for another one."""
        file = self.anchors.get(anchor)
        if file is None or file == self.current:
            return f"#{anchor}"
        return f"{file}#{anchor}"

    def noteref_attrs(self, note: Note) -> dict[str, str | None]:
        return {"role": "doc-noteref", EPUB_TYPE: "noteref", "aria-label": f"Note {note.label}"}

    def intervention_extras(self, intervention: Intervention, wrapper: Element) -> None:
        """A small link after the intervention to its row in the apparatus (which links back).

        Inside a link (a name that links to its register entry) it cannot nest, so it
        follows that link instead.
        """
        marker = h(
            "a",
            {
                "class": "app-ref",
                "href": self.href(f"app-{intervention.id}"),
                "aria-label": f"Apparatus: {KIND_LABELS[intervention.kind]}",
                "title": sections.tip_words(intervention),
            },
            "°",
        )
        if self.link_depth:
            self.after_link.append(marker)
        else:
            wrapper.addnext(marker)

    # ------------------------------------------------------------------ overrides

    def visit_NoteRef(self, node: NoteRef, parent: Element) -> None:
        if node.note not in self.pending_notes:
            self.pending_notes.append(node.note)
        super().visit_NoteRef(node, parent)

    def visit_Link(self, node: Link, parent: Element) -> None:
        """A link to an id the book does not render (a header record, say) keeps only its words."""
        target = node.target
        if target and target.startswith("#") and not self.resolved:
            self.link_targets.append(target[1:])
        if self.resolved and target and target.startswith("#") and target[1:] not in self.anchors:
            self.inlines(node.children, sub(parent, "span", {"class": "ref"}))
            return
        super().visit_Link(node, parent)

    # ------------------------------------------------------------------ rendering

    def render(self, on_document: Callable[[str, bytes], None] | None = None) -> dict[str, bytes]:
        """Every content document as XHTML bytes, keyed by file name, in reading order;
        ``on_document(file, data)`` is called with each as soon as it is serialised.

        Which document holds each id is known only once all are rendered, so links are
        written ``#id`` and then pointed at the right document (:meth:`_point_links`). A
        link to an id no document holds keeps only its words; should the book have one,
        everything is rendered again, knowing the ids from the start.
        """
        self.anchors, self.resolved, self.link_targets = {}, False, []
        trees = self._render_all()
        for file, tree in trees.items():
            for anchor in cast(list[str], _IDS(tree)):
                if anchor:
                    self.anchors.setdefault(anchor, file)
        self.resolved = True
        if all(target in self.anchors for target in self.link_targets):
            self._point_links(trees)
            trees["nav.xhtml"] = self.nav_document()  # its page list needs the anchors
        else:
            trees = self._render_all()
        documents: dict[str, bytes] = {}
        for file, tree in trees.items():
            documents[file] = serialise(tree)
            if on_document is not None:
                on_document(file, documents[file])
        return documents

    def _point_links(self, trees: dict[str, Element]) -> None:
        """``#id`` → ``file.xhtml#id`` where the id is in another document (as :meth:`href` does)."""
        for file, tree in trees.items():
            for element in cast(list[Element], _LOCAL_LINKS(tree)):
                target = element.get("href", "")
                holder = self.anchors.get(target[1:])
                if holder is not None and holder != file:
                    element.set("href", f"{holder}{target}")

    def _render_all(self) -> dict[str, Element]:
        trees = {document.file: self.document(document) for document in self.documents}
        trees["nav.xhtml"] = self.nav_document()
        return {document.file: trees[document.file] for document in self.spine_documents()}

    def spine_documents(self) -> list[Document]:
        """The documents in reading order, with the navigation document after the title page."""
        nav = Document(
            "nav.xhtml", "Contents", lambda body: None, body_type="frontmatter", landmark=("toc", "Contents")
        )
        documents = list(self.documents)
        documents.insert(2, nav)
        return documents

    def page(self, title: str, body_type: str | None = None) -> tuple[Element, Element]:
        """An empty XHTML content document: ``(html, body)``."""
        # HTML elements in no namespace, like every renderer's: to_xhtml declares XHTML's
        html = root_element("html", {"epub": EPUB_NS})
        html.set("lang", self.language)
        direction = text_direction(self.language)
        if direction:
            html.set("dir", direction)
        head = sub(html, "head")
        sub(head, "meta", {"charset": "utf-8"})
        sub(head, "title", None, title)
        for sheet in ("assets/base.css", "assets/epub.css"):
            sub(head, "link", {"rel": "stylesheet", "type": "text/css", "href": sheet})
        body = sub(html, "body")
        if body_type:
            body.set(EPUB_TYPE, body_type)
        return html, body

    def document(self, document: Document) -> Element:
        self.current = document.file
        self.pending_notes = []
        self.link_depth = 0
        self.after_link.clear()
        html, body = self.page(document.title, document.body_type)
        if document.text:
            body.set("class", "edition-text")  # the text itself (not title page, apparatus...): for checks
        document.fill(body)
        if document.text:
            place_markers(body, self.page_starts, self.page_marker)
            self.footnotes(body)
        for image in html.iter("img"):
            packaged = self.images.get(image.get("src", ""))
            if packaged is not None:
                image.set("src", packaged.file)
        return html

    @staticmethod
    def page_marker(start: PageStartLike) -> Element:
        """A page break of the print edition, as EPUB and DPUB-ARIA mark it."""
        return h(
            "span",
            {
                "id": f"page-{start.page}",
                EPUB_TYPE: "pagebreak",
                "role": "doc-pagebreak",
                "aria-label": str(start.page),
            },
        )

    def footnotes(self, body: Element) -> None:
        """The notes referred to in this document, as footnote asides after its text."""
        if not self.pending_notes:
            return
        container = sub(
            body, "section", {"class": "footnotes", EPUB_TYPE: "footnotes", "aria-label": "Notes"}
        )
        done: set[str] = set()
        while len(done) < len(self.pending_notes):  # a note may refer to another note
            note = self.edition.note(next(n for n in self.pending_notes if n not in done))
            done.add(note.id)
            container.append(self.footnote(note))

    def footnote(self, note: Note) -> Element:
        """One note as an ``aside``: its label, its words, who wrote it, and a link back."""
        aside = h(
            "aside",
            {"id": f"note-{note.id}", "class": "footnote", EPUB_TYPE: "footnote", "role": "doc-footnote"},
        )
        label = h("span", {"class": "note-label"}, note.label)
        blocks = note.blocks
        if not blocks or (len(blocks) == 1 and isinstance(blocks[0], Paragraph) and blocks[0].role == "run"):
            closing = sub(aside, "p")
            closing.append(label)
            add_text(closing, " ")
            self.flow(blocks, closing)
        else:
            self.blocks(blocks, aside)
            opening = aside[0]
            if local_name(opening) != "p":
                opening = h("p")
                aside.insert(0, opening)
            label.tail = " " + (opening.text or "")
            opening.text = None
            opening.insert(0, label)
            closing = aside[-1] if local_name(aside[-1]) == "p" else sub(aside, "p")
        add_text(closing, " ")
        sections.note_ending(self, note, closing)
        return aside

    # ------------------------------------------------------------------ the plan

    def _plan(self) -> list[Document]:
        edition = self.edition
        meta = edition.metadata
        documents = [
            Document("cover.xhtml", "Cover", self.fill_cover, landmark=("cover", "Cover")),
            Document(
                "titlepage.xhtml",
                "Title page",
                self.fill_titlepage,
                body_type="frontmatter",
                landmark=("titlepage", "Title page"),
            ),
        ]
        if edition.front is not None:
            front = edition.front

            def fill_front(body: Element) -> None:
                self.title_heading(body)
                self.visit(front, body)

            documents.append(
                Document(
                    "front.xhtml",
                    self._heading(front, "Front matter"),
                    fill_front,
                    body_type="frontmatter",
                    toc=self._toc(front.blocks, "front.xhtml"),
                    text=True,
                )
            )
        for index, segment in enumerate(body_segments(edition.body), start=1):
            file = f"text-{index}.xhtml"
            first = segment[0] if segment else None
            if index == 1 and not isinstance(first, Division):
                title = inline_text(edition.body.heading.content) if edition.body.heading else meta.title
            elif isinstance(first, Division):
                title = self._heading(first, f"Part {index}")
            else:
                title = f"Part {index}"
            children = self._toc(segment[1:] if isinstance(first, Division) else segment, file)
            if isinstance(first, Division):
                children = self._toc(first.blocks, file) + children
            documents.append(
                Document(
                    file,
                    title or meta.title,
                    self._text_filler(segment, index == 1 and edition.front is None),
                    body_type="bodymatter",
                    landmark=("bodymatter", "Start of the text") if index == 1 else None,
                    toc=children,
                    text=True,
                )
            )
        if edition.back is not None:
            back = edition.back
            documents.append(
                Document(
                    "back.xhtml",
                    self._heading(back, "Back matter"),
                    lambda body: self.visit(back, body),
                    body_type="backmatter",
                    toc=self._toc(back.blocks, "back.xhtml"),
                    text=True,
                )
            )
        if edition.interventions:
            documents.append(
                Document(
                    "apparatus.xhtml",
                    "Apparatus of interventions",
                    self.fill_apparatus,
                    body_type="backmatter",
                    landmark=("appendix", "Apparatus of interventions"),
                )
            )
        if edition.entities:
            kinds = {entity.kind for entity in edition.entities}
            registers = [
                TocEntry(title, f"registers.xhtml#register-{key}")
                for kind, (key, title) in ENTITY_LABELS.items()
                if kind in kinds
            ]
            documents.append(
                Document(
                    "registers.xhtml",
                    "Registers",
                    self.fill_registers,
                    body_type="backmatter",
                    landmark=("index", "Registers"),
                    toc=registers,
                )
            )
        documents.append(
            Document(
                "colophon.xhtml",
                "About this edition",
                self.fill_colophon,
                body_type="backmatter",
                landmark=("colophon", "About this edition"),
            )
        )
        documents.append(
            Document(
                "font-licence.xhtml",
                "Font licence",
                self.fill_font_licence,
                body_type="backmatter",
                linear=False,
            )
        )
        return documents

    def _heading(self, division: Division, fallback: str) -> str:
        return (inline_text(division.heading.content) if division.heading else "") or fallback

    def _toc(self, blocks: Iterable[Block], file: str) -> list[TocEntry]:
        """Entries for the divisions with headings among ``blocks``, nested as they are."""
        entries: list[TocEntry] = []
        for block in blocks:
            if isinstance(block, Division):
                children = self._toc(block.blocks, file)
                label = inline_text(block.heading.content) if block.heading else ""
                if label:
                    entries.append(TocEntry(label, f"{file}#{block.id}", children))
                else:
                    entries.extend(children)
        return entries

    def title_heading(self, body: Element) -> None:
        """The text opens with its title, as the web page and the print edition do."""
        heading = self.edition.body.heading
        anchor = heading.id if heading is not None and heading.id else TITLE_ID
        element = sub(body, "h1", {"id": anchor, "class": "text-title"})
        if heading is not None:
            self.inlines(heading.content, element)
        else:
            add_text(element, self.edition.metadata.title)

    def _text_filler(self, segment: list[Block], first: bool) -> Callable[[Element], None]:
        def fill(body: Element) -> None:
            if first:
                self.title_heading(body)
            self.blocks(segment, body)

        return fill

    # ------------------------------------------------------------------ the documents around the text

    def fill_cover(self, body: Element) -> None:
        body.set("class", "cover")
        section = sub(body, "section", {"class": "cover", "aria-label": "Cover"})
        sub(
            section,
            "img",
            {
                "src": "images/cover.svg",
                "alt": cover_description(self.edition),
                EPUB_TYPE: "cover",
                "role": "doc-cover",
            },
        )

    def fill_titlepage(self, body: Element) -> None:
        meta = self.edition.metadata
        section = sub(
            body,
            "section",
            {"class": "titlepage", EPUB_TYPE: "titlepage", "aria-labelledby": "titlepage-title"},
        )
        sub(section, "h1", {"id": "titlepage-title", "class": "title"}, meta.title)
        if meta.subtitle:
            sub(section, "p", {"class": "subtitle"}, meta.subtitle)
        roles = sections.contributors_by_role(meta)
        if roles:
            facts = sub(section, "dl", {"class": "contributors"})
            for role, names in roles:
                sub(facts, "dt", None, role[:1].upper() + role[1:])
                sub(facts, "dd", None, ", ".join(names))
        if meta.edition:
            sub(section, "p", {"class": "edition-statement"}, meta.edition)
        imprint = ", ".join(v for v in (meta.publisher, meta.date) if v)
        if imprint:
            sub(section, "p", {"class": "imprint"}, imprint)

    def fill_apparatus(self, body: Element) -> None:
        section = sections.apparatus_section(self)
        if section is not None:
            section.set(EPUB_TYPE, "appendix")
            section.set("role", "doc-appendix")
            body.append(section)

    def fill_registers(self, body: Element) -> None:
        section = sections.registers_section(self)
        if section is not None:
            section.set("role", "doc-index")
            body.append(section)

    def fill_colophon(self, body: Element) -> None:
        section = sections.metadata_section(self, self.medium)
        section.set(EPUB_TYPE, "colophon")
        section.set("role", "doc-colophon")
        made = sub(section, "p", {"class": "made-with"})
        add_text(
            made,
            "Made with the edition library from the TEI P5 source. Set in EB Garamond, embedded under the ",
        )
        sub(made, "a", {"href": "font-licence.xhtml"}, "SIL Open Font License")
        add_text(made, ".")
        body.append(section)

    def fill_font_licence(self, body: Element) -> None:
        section = sub(
            body,
            "section",
            {"id": "font-licence", "class": "font-licence", "aria-labelledby": "font-licence-title"},
        )
        sub(section, "h2", {"id": "font-licence-title"}, "Font licence")
        sub(
            section,
            "p",
            None,
            "This book embeds the typeface EB Garamond under the SIL Open Font License, "
            "Version 1.1, reproduced here as the licence requires.",
        )
        sub(section, "pre", {"class": "licence-text", "lang": "en"}, font_licence_text())

    # ------------------------------------------------------------------ navigation

    def toc_entries(self) -> list[TocEntry]:
        entries = []
        for document in self.documents:
            if document.file in ("cover.xhtml", "font-licence.xhtml"):
                continue
            entries.append(TocEntry(document.title, document.file, document.toc))
        return entries

    def nav_document(self) -> Element:
        self.current = "nav.xhtml"
        html, body = self.page("Contents", "frontmatter")
        toc = sub(
            body, "nav", {EPUB_TYPE: "toc", "id": "toc", "role": "doc-toc", "aria-labelledby": "toc-title"}
        )
        sub(toc, "h1", {"id": "toc-title"}, "Contents")

        def entries(parent: Element, items: list[TocEntry]) -> None:
            listing = sub(parent, "ol")
            for item in items:
                li = sub(listing, "li")
                sub(li, "a", {"href": item.href}, item.label)
                if item.children:
                    entries(li, item.children)

        entries(toc, self.toc_entries())
        placed = [start for start in self.page_starts if f"page-{start.page}" in self.anchors]
        if placed:
            pages = sub(
                body,
                "nav",
                {
                    EPUB_TYPE: "page-list",
                    "id": "page-list",
                    "role": "doc-pagelist",
                    "hidden": "hidden",
                    "aria-labelledby": "page-list-title",
                },
            )
            sub(pages, "h2", {"id": "page-list-title"}, "Pages of the print edition")
            listing = sub(pages, "ol")
            for start in placed:
                sub(sub(listing, "li"), "a", {"href": self.href(f"page-{start.page}")}, str(start.page))
        landmarks = sub(
            body,
            "nav",
            {
                EPUB_TYPE: "landmarks",
                "id": "landmarks",
                "hidden": "hidden",
                "aria-labelledby": "landmarks-title",
            },
        )
        sub(landmarks, "h2", {"id": "landmarks-title"}, "Landmarks")
        listing = sub(landmarks, "ol")
        for document in self.spine_documents():
            if document.landmark is not None:
                kind, label = document.landmark
                href = f"{document.file}#toc" if kind == "toc" else document.file
                sub(sub(listing, "li"), "a", {EPUB_TYPE: kind, "href": href}, label)
        return html

    def ncx(self) -> bytes:
        """The EPUB 2 table of contents, for reading systems that still read it."""
        meta = self.edition.metadata
        root = root_element(f"{{{NCX_NS}}}ncx", {None: NCX_NS}, version="2005-1")
        root.set(XML_LANG, self.language)
        head = etree.SubElement(root, f"{{{NCX_NS}}}head")
        entries = self.toc_entries()

        def depth(items: list[TocEntry]) -> int:
            return 1 + max((depth(i.children) for i in items), default=0) if items else 0

        for name, content in (
            ("dtb:uid", meta.identifier),
            ("dtb:depth", str(depth(entries))),
            ("dtb:totalPageCount", "0"),
            ("dtb:maxPageNumber", "0"),
        ):
            etree.SubElement(head, f"{{{NCX_NS}}}meta", name=name, content=content)
        for wrapper, words in (("docTitle", meta.title), *(("docAuthor", author) for author in meta.authors)):
            holder = etree.SubElement(root, f"{{{NCX_NS}}}{wrapper}")
            etree.SubElement(holder, f"{{{NCX_NS}}}text").text = words
        nav_map = etree.SubElement(root, f"{{{NCX_NS}}}navMap")
        counter = 0

        def points(parent: Element, items: list[TocEntry]) -> None:
            nonlocal counter
            for item in items:
                counter += 1
                point = etree.SubElement(
                    parent, f"{{{NCX_NS}}}navPoint", id=f"navpoint-{counter}", playOrder=str(counter)
                )
                label = etree.SubElement(point, f"{{{NCX_NS}}}navLabel")
                etree.SubElement(label, f"{{{NCX_NS}}}text").text = item.label
                etree.SubElement(point, f"{{{NCX_NS}}}content", src=item.href)
                points(point, item.children)

        points(nav_map, entries)
        etree.indent(root, space="  ")
        return etree.tostring(root, xml_declaration=True, encoding="utf-8") + b"\n"

    # ------------------------------------------------------------------ resources

    def _images(self) -> dict[str, Resource]:
        """Each figure's image (by its path in the source) → the file the book carries."""
        found: dict[str, Resource] = {}
        for block in self.edition.all_blocks:
            if not isinstance(block, Figure) or not block.image or block.image in found:
                continue
            data = self.pictures.get(block.image)
            if data is None:
                raise RenderError(
                    f"image {block.image!r} was not supplied to the EPUB",
                    path=self.edition.path,
                    hint="put the image beside the TEI file, or fix graphic/@url",
                )
            media_type, extension = image_type(data, block.image, self.edition.path)
            number = len(found) + 1
            found[block.image] = Resource(
                f"images/figure-{number}{extension}", media_type, data, f"figure-{number}"
            )
        return found

    def resources(self) -> list[Resource]:
        """Style sheets, fonts, the cover and the figures' images."""
        from edition.web import font_assets, package_file

        base = package_file("styles", "base.css").read_bytes()
        items = [
            Resource("assets/base.css", "text/css", base, "css-base"),
            Resource(
                "assets/epub.css", "text/css", package_file("styles", "epub.css").read_bytes(), "css-epub"
            ),
        ]
        for asset in font_assets():
            if asset.target.endswith(".ttf"):
                name = PurePosixPath(asset.target).stem.lower()
                items.append(Resource(asset.target, "font/ttf", asset.source.read_bytes(), f"font-{name}"))
        items.append(Resource("images/cover.svg", "image/svg+xml", cover_svg(self.edition), "cover-image"))
        items.extend(self.images.values())
        return items


def body_segments(body: Division) -> list[list[Block]]:
    """The body split into content documents: the blocks before the first division, then each
    top-level division with the undivided blocks that follow it (a byline after the last section)."""
    segments: list[list[Block]] = []
    current: list[Block] = []
    for block in body.blocks:
        if isinstance(block, Division) and current:
            segments.append(current)
            current = []
        current.append(block)
    if current or not segments:
        segments.append(current)
    return segments


def serialise(tree: Element) -> bytes:
    """XHTML bytes of a content document, with ``xml:lang`` beside every ``lang``."""
    for element in cast(list[Element], _WITH_LANG(tree)):
        element.set(XML_LANG, element.get("lang", ""))
    return to_xhtml(tree)


def image_type(data: bytes, name: str, path: str) -> tuple[str, str]:
    """``(media type, extension)`` of an image an EPUB may carry, else a :class:`RenderError`."""
    for magic, media_type, extension in _IMAGE_TYPES:
        if data.startswith(magic):
            return media_type, extension
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp", ".webp"
    head = data[:2048].lstrip()
    if head.startswith((b"<?xml", b"<svg", b"<!--")) and b"<svg" in head:
        return "image/svg+xml", ".svg"
    raise RenderError(
        f"image {name!r} is not PNG, JPEG, GIF, WebP or SVG, which an EPUB can carry",
        path=path,
        hint="convert the image to PNG or JPEG",
    )


def font_licence_text() -> str:
    from edition.web import font_assets

    for asset in font_assets():
        if not asset.target.endswith(".ttf"):
            return asset.source.read_text(encoding="utf-8").replace("\r\n", "\n").strip() + "\n"
    raise RenderError("the licence of the embedded font was not found", hint="reinstall fontpkg-eb-garamond")
