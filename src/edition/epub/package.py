"""The EPUB's package: metadata, accessibility claims and the reproducible zip (ebooklib writes the OPF)."""

from __future__ import annotations

import io
import re
import warnings
import zipfile
from collections.abc import Sequence
from datetime import UTC, datetime

from lxml import etree

from edition.archive import ReproducibleZip
from edition.epub.renderer import EpubRenderer, Resource
from edition.errors import RenderError
from edition.html import XML_LANG, text_direction
from edition.model import Edition, Figure
from edition.pages import PageStartLike

#: The folder ebooklib puts the book's files in, inside the zip.
CONTENT_FOLDER = "EPUB/"
OPF_PATH = f"{CONTENT_FOLDER}content.opf"
MIMETYPE = b"application/epub+zip"

#: The conformance claim of EPUB Accessibility 1.1, exactly as the specification spells it.
CONFORMS_TO = "EPUB Accessibility 1.1 - WCAG 2.2 Level AA"

_W3CDTF = re.compile(r"^\d{4}(-\d{2}(-\d{2})?)?$")


def print_edition_name(edition: Edition) -> str:
    """How the package names the print edition its page breaks come from (``pageBreakSource``)."""
    return f"{edition.metadata.identifier} (print edition, PDF)"


def accessibility(edition: Edition, renderer: EpubRenderer) -> list[tuple[str, str]]:
    """``(property, value)`` pairs of EPUB Accessibility 1.1 metadata, true of this book."""
    figures = [b for b in edition.all_blocks if isinstance(b, Figure) and b.image]
    described = all(f.description.strip() for f in figures)
    pairs = [("schema:accessMode", "textual")]
    if figures:
        pairs.append(("schema:accessMode", "visual"))
    if described:
        pairs.append(("schema:accessModeSufficient", "textual"))
    if figures:
        pairs.append(("schema:accessModeSufficient", "textual,visual"))
    features = ["structuralNavigation", "tableOfContents", "readingOrder", "displayTransformability", "ARIA"]
    if renderer.page_starts:
        features += ["pageBreakMarkers", "pageNavigation"]
    if figures and described:
        features.append("alternativeText")
    if edition.entities:
        features.append("index")
    pairs += [("schema:accessibilityFeature", feature) for feature in features]
    pairs.append(("schema:accessibilityHazard", "none"))
    parts = [
        "A critical edition with a table of contents, landmarks and a heading for every section, in a "
        "logical reading order.",
        "Notes are footnotes marked as such, placed after the section that refers to them, each linked "
        "to its reference and back.",
    ]
    if edition.interventions:
        parts.append(
            "Every editorial intervention is marked in the text and linked, both ways, to its "
            "entry in the apparatus."
        )
    if edition.entities:
        parts.append("Registers of names link to every place a name is mentioned.")
    if figures:
        parts.append(
            "Images have text alternatives."
            if described
            else "Some images have no text alternative in the source."
        )
    parts.append(
        "Words in other languages are marked with their language. The book sets no text colour "
        "and no fixed text size, so the reader's own settings apply."
    )
    pairs.append(("schema:accessibilitySummary", " ".join(parts)))
    return pairs


def package(
    renderer: EpubRenderer, documents: dict[str, bytes], resources: list[Resource], when: datetime
) -> bytes:
    """ebooklib's archive of the book: its package document, container and NCX around the
    ``documents`` and ``resources``, every file stored (:func:`finish_zip` compresses)."""
    from ebooklib import epub

    edition = renderer.edition
    meta = edition.metadata
    book = epub.EpubBook()
    book.metadata = {}  # ebooklib starts with a random identifier and its own generator: neither is wanted
    book.IDENTIFIER_ID = "pub-id"
    book.set_identifier(meta.identifier)
    book.title = meta.title
    book.language = renderer.language
    direction = text_direction(renderer.language)
    if direction:
        book.set_direction(direction)

    def dc(name: str, value: str | None, attrs: dict[str, str] | None = None) -> None:
        if value:
            book.add_metadata("DC", name, value, attrs)

    def meta_property(prop: str, value: str, refines: str | None = None, **more: str) -> None:
        attrs = {"refines": f"#{refines}"} if refines else {}
        attrs["property"] = prop
        attrs.update(more)
        book.add_metadata(None, "meta", value, attrs)

    dc("title", meta.title, {"id": "title"})
    meta_property("title-type", "main", "title")
    if meta.subtitle:
        dc("title", meta.subtitle, {"id": "subtitle"})
        meta_property("title-type", "subtitle", "subtitle")
    dc("language", renderer.language)
    creators = contributors = 0
    for person in meta.contributors:
        if person.role == "author":
            creators += 1
            ident = f"creator-{creators}"
            dc("creator", person.name, {"id": ident})
        else:
            contributors += 1
            ident = f"contributor-{contributors}"
            dc("contributor", person.name, {"id": ident})
        if person.marc:
            meta_property("role", person.marc, ident, scheme="marc:relators")
    dc("publisher", meta.publisher)
    if meta.date and _W3CDTF.match(meta.date):
        dc("date", meta.date)
    dc("source", meta.source)
    dc("rights", meta.licence)
    if meta.licence_url:
        meta_property("dcterms:license", meta.licence_url)
    dc("description", meta.abstract)
    for subject in meta.subjects:
        dc("subject", subject)
    for prop, value in accessibility(edition, renderer):
        meta_property(prop, value)
    meta_property("dcterms:conformsTo", CONFORMS_TO)
    if renderer.page_starts:
        meta_property("pageBreakSource", print_edition_name(edition))
    certifier = meta.publisher or ", ".join(meta.editors) or ", ".join(meta.authors) or "The edition library"
    meta_property("a11y:certifiedBy", certifier)
    book.add_metadata(None, "meta", "", {"name": "cover", "content": "cover-image"})

    spine: list[tuple[object, str]] = []
    for document in renderer.spine_documents():
        item = epub.EpubItem(
            uid=document.id,
            file_name=document.file,
            media_type="application/xhtml+xml",
            content=documents[document.file],
        )
        if document.file == "nav.xhtml":
            item.properties = ["nav"]
        book.add_item(item)
        spine.append((item, "yes" if document.linear else "no"))
    book.add_item(
        epub.EpubItem(
            uid="ncx", file_name="toc.ncx", media_type="application/x-dtbncx+xml", content=renderer.ncx()
        )
    )
    for resource in resources:
        if resource.id == "cover-image":
            item = epub.EpubCover(uid=resource.id, file_name=resource.file)
            item.media_type = resource.media_type
            item.content = resource.data
        else:
            item = epub.EpubItem(
                uid=resource.id,
                file_name=resource.file,
                media_type=resource.media_type,
                content=resource.data,
            )
        book.add_item(item)
    book.spine = spine
    first_text = next(d for d in renderer.documents if d.landmark and d.landmark[0] == "bodymatter")
    book.guide = [
        {"type": "cover", "title": "Cover", "href": "cover.xhtml"},
        {"type": "title-page", "title": "Title page", "href": "titlepage.xhtml"},
        {"type": "toc", "title": "Contents", "href": "nav.xhtml"},
        {"type": "text", "title": first_text.title, "href": first_text.file},
    ]
    buffer = io.BytesIO()
    options = {
        "raise_exceptions": True,
        "mtime": when,
        "epub3_landmark": False,
        "epub3_pages": False,
        "compresslevel": 0,  # an intermediate zip: finish_zip compresses each file once
    }
    with warnings.catch_warnings():
        # ebooklib warns that it will raise in future just before it re-raises an OSError; the
        # error itself is what matters (and filterwarnings=error would hide it behind the warning).
        warnings.filterwarnings("ignore", message="In the future throwing exceptions", category=UserWarning)
        epub.write_epub(buffer, book, options)
    return buffer.getvalue()


def finish_opf(data: bytes, language: str, direction: str | None) -> bytes:
    """The package document with ``xml:lang`` (and ``dir``) on ``package``, which ebooklib leaves out."""
    root = etree.fromstring(data, etree.XMLParser(resolve_entities=False, no_network=True))
    root.set(XML_LANG, language)
    if direction:
        root.set("dir", direction)
    return etree.tostring(root, xml_declaration=True, encoding="utf-8")


def finish_zip(written: bytes, archive: ReproducibleZip, language: str, direction: str | None) -> bytes:
    """The reproducible EPUB: what ``archive`` already holds (``mimetype``, resources,
    documents), then the rest of ebooklib's archive ``written``, in ebooklib's (fixed) order.

    Each file added early must be in ebooklib's archive with the same bytes: the package
    document lists exactly what ebooklib wrote.
    """
    with zipfile.ZipFile(io.BytesIO(written)) as source:
        names = source.namelist()
        for name, early in archive.contents.items():
            if name not in names or source.read(name) != early:
                raise RenderError(
                    f"ebooklib's archive does not hold {name!r} as given to it",
                    hint="a bug in the edition library or ebooklib; please report it",
                )
        for name in names:
            if name not in archive.contents:
                content = source.read(name)
                if name == OPF_PATH:
                    content = finish_opf(content, language, direction)
                archive.add(name, content)
    return archive.close()


def render_epub(
    edition: Edition, pictures: dict[str, bytes], when: datetime, page_starts: Sequence[PageStartLike] = ()
) -> bytes:
    """The EPUB 3 of an edition, as bytes; the same input gives the same bytes.

    ``pictures`` holds the bytes of every figure's image, keyed by its path in the source
    (:func:`edition.build.images`); ``when`` is the modification date the book records
    (:func:`edition.build.source_date`: ``SOURCE_DATE_EPOCH`` or the edition's date).
    """
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    when = when.astimezone(UTC).replace(microsecond=0)
    renderer = EpubRenderer(edition, pictures, page_starts)
    resources = renderer.resources()
    with ReproducibleZip(when) as archive:
        archive.add("mimetype", MIMETYPE, stored=True)
        for resource in resources:  # compressed on another thread while the documents are rendered
            archive.add(CONTENT_FOLDER + resource.file, resource.data)
        documents = renderer.render(lambda file, data: archive.add(CONTENT_FOLDER + file, data))
        try:
            written = package(renderer, documents, resources, when)
            return finish_zip(written, archive, renderer.language, text_direction(renderer.language))
        except RenderError:
            raise
        except Exception as error:  # ebooklib or zipfile: whatever went wrong, the user gets one error
            raise RenderError(
                f"could not package the EPUB: {type(error).__name__}: {error}",
                path=edition.path,
                hint="a bug in the edition library or ebooklib; please report it",
            ) from error
