"""The print edition: the HTML renderer's print variant, laid out by WeasyPrint.

What print adds to the shared renderer: notes become footnotes (CSS ``float: footnote``)
at the place of their reference; links carry ``data-ref`` so the stylesheet can print page
numbers with ``target-counter()``; and a book is assembled around the text (half title,
title page, colophon, principles; apparatus and registers at the back).

Two profiles: ``screen`` (tagged PDF/UA-1, live links) and ``press`` (PDF/X-4 with a CMYK
output intent, 3 mm bleed, crop marks, no links). Rendering fetches only the package's
styles and fonts and files inside the edition's folder; anything else is refused.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit
from urllib.request import pathname2url
from xml.sax.saxutils import escape

from edition import sections
from edition.errors import RenderError
from edition.html import Element, HtmlRenderer, add_text, h, local_name, safe_lang, sub, to_html
from edition.instances import PRINT_FACES, static_instance
from edition.model import TITLE_ID, Edition, NoteRef
from edition.text import countable
from edition.web import Asset, font_assets, package_file

log = logging.getLogger("edition")

#: Trim sizes a publisher can choose (``--trim``): width and height as CSS lengths.
TRIM_SIZES: dict[str, tuple[str, str]] = {
    "6x9in": ("6in", "9in"),
    "5.5x8.5in": ("5.5in", "8.5in"),
    "a5": ("148mm", "210mm"),
    "royal": ("156mm", "234mm"),
}
DEFAULT_TRIM = "6x9in"
BLEED = "3mm"

#: The CMYK characterisation the press profile declares as its output intent (PDF/X needs one).
#: Debian's libgs-common ships it (Artifex's SWOP profile, the US web-offset standard).
CMYK_PROFILES = (Path("/usr/share/color/icc/ghostscript/default_cmyk.icc"),)
CMYK_CONDITION = "CGATS TR 001"  # SWOP (coated), registered at the ICC registry


@dataclass(frozen=True, slots=True)
class PrintOptions:
    """How to make the PDF."""

    profile: str = "screen"
    trim: str = DEFAULT_TRIM

    @property
    def press(self) -> bool:
        return self.profile == "press"


class PrintRenderer(HtmlRenderer):
    """The print variant: footnotes in place, page references, a book around the text."""

    medium = "print"
    views = ("reading",)

    def visit_NoteRef(self, node: NoteRef, parent: Element) -> None:
        """The note itself, floated to the foot of the page, with an anchor where it is called.

        The anchor (``noteref-…``) and the note (``note-…``) each become a named destination
        in the PDF, which is how the tests check that every note is on its reference's page.
        """
        note = self.edition.note(node.note)
        anchor = h("span", {"id": f"noteref-{note.id}", "class": "fn-anchor"})
        footnote = h("span", {"id": f"note-{note.id}", "class": "footnote", "data-label": note.label})
        holder = h("div")
        self.flow(note.blocks, holder)
        if holder.text:
            footnote.text = holder.text
        for child in holder:
            footnote.append(child)
        _inline_only(footnote)
        for element in (anchor, footnote):
            if self.link_depth:
                self.after_link.append(element)
            else:
                parent.append(element)

    # ------------------------------------------------------------------ the book

    def book(self, when: datetime) -> Element:
        edition = self.edition
        meta = edition.metadata
        html = h("html", {"lang": safe_lang(meta.language) or "und"})
        head = sub(html, "head")
        sub(head, "meta", {"charset": "utf-8"})
        sub(head, "title", None, meta.title)
        for author in meta.authors:
            sub(head, "meta", {"name": "author", "content": author})
        if meta.abstract:
            sub(head, "meta", {"name": "description", "content": meta.abstract})
        if meta.subjects:
            sub(head, "meta", {"name": "keywords", "content": ", ".join(meta.subjects)})
        stamp = when.strftime("%Y-%m-%dT%H:%M:%SZ")
        sub(head, "meta", {"name": "dcterms.created", "content": stamp})
        sub(head, "meta", {"name": "dcterms.modified", "content": stamp})
        sub(head, "meta", {"name": "generator", "content": "edition"})
        body = sub(html, "body")
        for part in self.front_matter():
            body.append(part)
        text = sub(body, "main", {"class": "text", "id": "text"})
        title = sub(text, "h1", {"class": "text-title", "id": TITLE_ID})
        if edition.body.heading is not None:
            self.inlines(edition.body.heading.content, title)
        else:
            add_text(title, meta.title)
        for division in edition.divisions:
            if division is edition.body:
                self.blocks(division.blocks, text)
            else:
                self.visit(division, text)
        for back in (sections.apparatus_section(self), sections.registers_section(self)):
            if back is not None:
                back.set("class", (back.get("class", "") + " back-matter").strip())
                body.append(back)
        _page_references(html)
        return html

    def front_matter(self) -> Iterator[Element]:
        meta = self.edition.metadata
        half = h("section", {"class": "half-title front-matter"})
        sub(half, "p", {"class": "half-title-text"}, meta.title)
        yield half
        title_page = h("section", {"class": "title-page front-matter"})
        sub(title_page, "p", {"class": "book-title"}, meta.title)
        if meta.subtitle:
            sub(title_page, "p", {"class": "book-subtitle"}, meta.subtitle)
        for role, names in sections.contributors_by_role(meta):
            sub(title_page, "p", {"class": "book-contributor"}, f"{_role_words(role)} {', '.join(names)}")
        if meta.publisher:
            sub(title_page, "p", {"class": "book-publisher"}, meta.publisher)
        yield title_page
        colophon = h("section", {"class": "colophon-page front-matter"})
        for label, value in (
            ("Edition", meta.edition),
            ("Date", meta.date),
            ("Identifier", meta.identifier),
            ("Source", meta.source),
            ("Written", meta.created),
            ("Licence", meta.licence),
            ("How to cite", sections.citation(self.edition, self.medium)),
        ):
            if value:
                line = sub(colophon, "p", {"class": "colophon-entry"})
                sub(line, "span", {"class": "colophon-label"}, f"{label}: ")
                before, found, after = value.partition(meta.identifier)
                add_text(line, before)
                if found:  # an identifier must not break at its hyphens (a reader would copy it wrong)
                    sub(line, "span", {"class": "identifier"}, found)
                    add_text(line, after)
        sub(
            colophon,
            "p",
            {"class": "colophon-entry typeset"},
            "Typeset in EB Garamond (SIL Open Font License) with the edition library and WeasyPrint.",
        )
        yield colophon
        if meta.principles:
            principles = h("section", {"class": "principles front-matter", "id": "principles"})
            sub(principles, "h2", {"id": "principles-title"}, "Editorial principles")
            for principle in meta.principles:
                entry = sub(principles, "p", {"class": "principle"})
                sub(entry, "span", {"class": "principle-topic"}, f"{principle.topic}. ")
                add_text(entry, principle.text)
            yield principles


def _role_words(role: str) -> str:
    """ "author" → "By", "editor" → "Edited by", "interviewee" → "Interviewee:"."""
    return {"author": "By", "editor": "Edited by"}.get(role, f"{role[:1].upper()}{role[1:]}:")


_BLOCK_TAGS = frozenset(
    [
        "p",
        "div",
        "ul",
        "ol",
        "li",
        "dl",
        "dt",
        "dd",
        "table",
        "tbody",
        "tr",
        "td",
        "th",
        "figure",
        "figcaption",
        "blockquote",
        "section",
    ]
)


def _inline_only(element: Element) -> None:
    """Turn block elements inside a footnote into spans (an HTML parser would end the paragraph)."""
    for child in element.iter():
        local = local_name(child)
        if local in _BLOCK_TAGS:
            child.set("class", f"fn-{local} {child.get('class', '')}".strip())
            child.tag = child.tag.replace(local, "span") if "}" in child.tag else "span"


def _page_references(html: Element) -> None:
    """Every internal link also gets ``data-ref``: print.css asks ``target-counter()`` for its page."""
    for link in html.iter("{*}a"):
        target = link.get("href", "")
        if target.startswith("#"):
            link.set("data-ref", target)


def _strip_links(html: Element) -> None:
    """No interactive elements for press: links lose their targets (their text and page refs stay)."""
    for link in html.iter("{*}a"):
        if "href" in link.attrib:
            del link.attrib["href"]


# ------------------------------------------------------------------ rendering


class ConfinedFetcher:
    """WeasyPrint's URL fetcher for this edition: package styles and fonts, and the edition's folder.

    Anything else (another folder, ``..``, a symlink out, ``http:``, ``data:``) is refused and
    remembered, and the render fails with a clear error naming it.
    """

    def __init__(self, folder: Path, assets: dict[str, Asset]) -> None:
        self.folder = folder.resolve()
        self.assets = assets
        self.refused: list[str] = []

    def __call__(self, url: str) -> object:
        from weasyprint.urls import URLFetcherResponse

        parts = urlsplit(url)
        if parts.scheme == "file":
            path = Path(unquote(parts.path))
            key = _relative(path, self.folder)
            if key in self.assets:
                return URLFetcherResponse(url, self.assets[key].source.read_bytes())
            resolved = path.resolve()
            if key is not None and resolved.is_relative_to(self.folder) and resolved.is_file():
                return URLFetcherResponse(url, resolved.read_bytes())
        self.refused.append(url)
        raise PermissionError(f"refused to fetch {url}: outside the edition's folder")


def _relative(path: Path, folder: Path) -> str | None:
    try:
        return path.relative_to(folder).as_posix()
    except ValueError:
        return None


def print_assets(options: PrintOptions) -> dict[str, Asset]:
    """Styles and fonts, at the paths base.css expects relative to itself (``assets/``)."""
    assets = {asset.target: asset for asset in font_assets()}
    for stem, weight in PRINT_FACES:  # static faces: see edition.instances for why
        variable = Path(str(assets[f"assets/fonts/{stem}.ttf"].source))
        target = f"assets/fonts/{stem}-{weight}.ttf"
        assets[target] = Asset(static_instance(variable, weight), target)
    for name in ("base.css", "print.css"):
        assets[f"assets/{name}"] = Asset(package_file("styles", name), f"assets/{name}")
    if options.press:
        profile = next((p for p in CMYK_PROFILES if p.is_file()), None)
        if profile is None:
            raise RenderError(
                "no CMYK colour profile for the press PDF's output intent",
                hint="install Debian's libgs-common (Ghostscript's ICC profiles)",
            )
        assets["assets/output-intent.icc"] = Asset(profile, "assets/output-intent.icc")
    return assets


def page_css(options: PrintOptions) -> str:
    """The page box for the chosen trim size and profile (the rest of the design is print.css)."""
    if options.trim not in TRIM_SIZES:
        raise RenderError(f"unknown trim size {options.trim!r}", hint=f"choose from {', '.join(TRIM_SIZES)}")
    width, height = TRIM_SIZES[options.trim]
    css = f"@page {{ size: {width} {height}; }}\n"
    if options.press:
        css += (
            f"@page {{ bleed: {BLEED}; marks: crop; }}\n"
            "@color-profile device-cmyk {\n"
            '  src: url("output-intent.icc");\n'
            "  components: cyan, magenta, yellow, black;\n"
            "}\n"
        )
    return css


def print_sheets(options: PrintOptions, assets: dict[str, Asset]) -> list[tuple[str, str]]:
    """The print edition's stylesheets, in cascade order, as (text, name beside base.css)."""
    names = ("base.css", "print.css")
    sheets = [(assets[f"assets/{name}"].source.read_text(encoding="utf-8"), name) for name in names]
    sheets.append((page_css(options), "page.css"))
    return sheets


def pdf_variant(options: PrintOptions) -> dict[str, object]:
    """WeasyPrint's PDF options for the profile: tagged PDF/UA-1 on screen, PDF/X-4 for press."""
    return {
        "pdf_variant": "pdf/x-4" if options.press else "pdf/ua-1",
        "pdf_tags": not options.press,
        "output_intent": "device-cmyk" if options.press else None,
    }


def render_pdf(
    edition: Edition, *, profile: str = "screen", when: datetime, trim: str = DEFAULT_TRIM
) -> bytes:
    """The print edition as PDF bytes (same source and date → same bytes)."""
    return print_edition(edition, profile=profile, when=when, trim=trim).pdf


@dataclass(frozen=True, slots=True)
class PageStart:
    """Where a page of the print edition begins in the text: shared by every format for citation."""

    page: int
    """The folio (page number) of the print edition."""
    block: str
    """The id of the block (paragraph, heading...) holding the first words of the page."""
    offset: int
    """How many countable characters (:func:`edition.text.countable`) of that block come before."""


@dataclass(frozen=True, slots=True)
class PrintResult:
    """A laid-out print edition: the PDF, and where its pages begin in the text."""

    pdf: bytes
    pages: int
    starts: tuple[PageStart, ...]
    """Where each page of the text (not the front or back matter) begins."""
    layout: str = "laid out in one piece"
    """How: in one piece, or in parts (how many laid out, how many from the cache)."""


#: Element tags whose id can anchor a page start (blocks; never a name, a date or a note).
_BLOCK_ANCHORS = frozenset(
    [
        "p",
        "div",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "figure",
        "blockquote",
        "li",
        "dt",
        "dd",
        "td",
        "th",
        "section",
    ]
)
#: Classes whose boxes are not running text (margin numbers, footnotes, anchors).
_NOT_TEXT = frozenset({"pnum", "footnote", "fn-anchor", "lnum"})


def page_starts(document: object) -> tuple[PageStart, ...]:
    """Read page starts off WeasyPrint's layout: for each page of the text, its first text box.

    Counting countable characters (not words or lines) makes the position independent of
    line breaks and hyphenation, so the web page and the EPUB can mark the same place.
    """
    from weasyprint.formatting_structure import boxes

    seen: dict[str, int] = {}
    starts: list[PageStart] = []

    def walk(box: object, block: str | None, in_text: bool) -> Iterator[tuple[str, str]]:
        element = getattr(box, "element", None)
        if isinstance(box, boxes.FootnoteAreaBox | boxes.MarginBox):
            return
        if element is not None:
            classes = set((element.get("class") or "").split())
            if classes & _NOT_TEXT:
                return
            tag = getattr(box, "element_tag", "")
            in_text = in_text or (tag == "main" and "text" in classes)
            if element.get("id") and tag in _BLOCK_ANCHORS:
                block = element.get("id")
        if isinstance(box, boxes.TextBox):
            if in_text and block is not None:
                yield block, box.text
            return
        for child in getattr(box, "children", ()):
            yield from walk(child, block, in_text)

    for number, page in enumerate(document.pages, start=1):  # type: ignore[attr-defined]
        first: PageStart | None = None
        for block, text in walk(page._page_box, None, False):
            if first is None and countable(text):
                first = PageStart(number, block, seen.get(block, 0))
            seen[block] = seen.get(block, 0) + countable(text)
        if first is not None:
            starts.append(first)
    return tuple(starts)


def print_edition(
    edition: Edition,
    *,
    profile: str = "screen",
    when: datetime,
    trim: str = DEFAULT_TRIM,
    jobs: int | None = None,
    cache: Path | None = None,
    on_starts: Callable[[tuple[PageStart, ...]], None] | None = None,
) -> PrintResult:
    """Lay out and write the print edition. WeasyPrint's warnings are logged (``-v``), not printed.

    A long edition (many chapters) is laid out in parts by ``jobs`` processes (default: one
    per core) and joined into the same PDF (:mod:`edition.parallel`); ``cache`` is a folder
    where laid-out parts are kept, so that a rebuild lays out only what changed. ``jobs=1``
    and no cache: one WeasyPrint document, as below.

    ``on_starts``, if given, is called once with the page starts as soon as they are known:
    for a book in parts, while the parts are joined in another process.
    """
    # --- edition.parallel: long books in parts; None when a book is short or cannot be split exactly
    if jobs != 1 or cache is not None:
        from edition import parallel

        done = parallel.print_book(
            edition, profile=profile, when=when, trim=trim, jobs=jobs, cache=cache, on_starts=on_starts
        )
        if done is not None:
            return done.result
    # --- one WeasyPrint document
    options = PrintOptions(profile, trim)
    book = PrintRenderer(edition).book(when)
    if options.press:
        _strip_links(book)
    folder = Path(edition.path).resolve().parent
    assets = print_assets(options)
    fetcher = ConfinedFetcher(folder, assets)
    base = f"file://{pathname2url(str(folder))}/"
    pdf_options = pdf_variant(options)
    records = _WeasyPrintLog()
    try:
        with records, _source_date_epoch(when):
            html = to_html(book, consume=True)
            document = lay_out(html, print_sheets(options, assets), base, fetcher, pdf_options)
            pdf = document.write_pdf(finisher=_finisher(edition, options), **pdf_options)
    except Exception as error:  # WeasyPrint raises many kinds; a refused fetch is the user's
        if fetcher.refused:
            raise RenderError(
                f"refused to fetch {fetcher.refused[0]}",
                path=edition.path,
                hint="images must be files inside the edition's folder",
            ) from None
        raise RenderError(f"layout failed: {type(error).__name__}: {error}", path=edition.path) from error
    if fetcher.refused:
        raise RenderError(
            f"refused to fetch {fetcher.refused[0]}",
            path=edition.path,
            hint="images must be files inside the edition's folder",
        )
    failed = [m for m in records.messages if m.startswith("Failed to load image")]
    if failed:  # WeasyPrint only logs it: an image would vanish from the PDF without a word
        raise RenderError(failed[0], path=edition.path, hint="check the image file")
    for message in records.messages:
        log.info("WeasyPrint: %s", message)
    assert isinstance(pdf, bytes)
    result = PrintResult(pdf, len(document.pages), page_starts(document))
    if on_starts is not None:
        on_starts(result.starts)
    return result


def lay_out(
    html: str,
    sheets: Iterable[tuple[str, str]],
    base: str,
    fetcher: ConfinedFetcher,
    pdf_options: dict[str, Any],
) -> Any:
    """WeasyPrint's layout of ``html`` with the print stylesheets ``sheets`` (``(text, name)``):
    the one way this library lays out, so that a book laid out in parts
    (:mod:`edition.parallel`) is laid out exactly as the whole book is. Every fetch goes
    through ``fetcher``; ``@font-face`` rules load only through a font configuration, and
    ``@color-profile`` rules only into a dictionary the stylesheets share."""
    import weasyprint
    from weasyprint.text.fonts import FontConfiguration

    fonts = FontConfiguration()
    profiles: dict[str, object] = {}
    stylesheets = [
        weasyprint.CSS(
            string=text,
            base_url=f"{base}assets/{name}",
            url_fetcher=fetcher,
            font_config=fonts,
            color_profiles=profiles,
        )
        for text, name in sheets
    ]
    return weasyprint.HTML(string=html, base_url=base, url_fetcher=fetcher).render(
        stylesheets=stylesheets, font_config=fonts, color_profiles=profiles, **pdf_options
    )


@contextlib.contextmanager
def _source_date_epoch(when: datetime) -> Iterator[None]:
    """``SOURCE_DATE_EPOCH`` for the render: fontTools stamps subset fonts with it instead of the clock."""
    previous = os.environ.get("SOURCE_DATE_EPOCH")
    os.environ["SOURCE_DATE_EPOCH"] = str(int(when.timestamp()))
    try:
        yield
    finally:
        if previous is None:
            del os.environ["SOURCE_DATE_EPOCH"]
        else:
            os.environ["SOURCE_DATE_EPOCH"] = previous


class _WeasyPrintLog(logging.Handler):
    """Collects what WeasyPrint logs during one render (it logs, rather than raises, most problems)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())

    def __enter__(self) -> _WeasyPrintLog:
        logger = logging.getLogger("weasyprint")
        logger.addHandler(self)
        self.propagated = logger.propagate
        logger.propagate = False  # ours to report (at -v), not to print over the user's terminal
        return self

    def __exit__(self, *_: object) -> None:
        logger = logging.getLogger("weasyprint")
        logger.removeHandler(self)
        logger.propagate = self.propagated


_RANDOM_DOCUMENT_ID = re.compile(rb"xmp\.did:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def _with_dublin_core(xmp: bytes, edition: Edition) -> bytes:
    """XMP with the Dublin Core terms WeasyPrint leaves out: identifier, date, rights, language.

    The agreement checks compare them with the web page's head and the EPUB's package.
    """
    meta = edition.metadata
    parts = [f"<dc:identifier>{escape(meta.identifier)}</dc:identifier>"]
    parts.append(f"<dc:language><rdf:Bag><rdf:li>{escape(meta.language)}</rdf:li></rdf:Bag></dc:language>")
    if meta.date:
        parts.append(f"<dc:date><rdf:Seq><rdf:li>{escape(meta.date)}</rdf:li></rdf:Seq></dc:date>")
    if meta.licence:
        parts.append(
            '<dc:rights><rdf:Alt><rdf:li xml:lang="x-default">'
            f"{escape(meta.licence)}</rdf:li></rdf:Alt></dc:rights>"
        )
    description = (
        '<rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/">'
        + "".join(parts)
        + "</rdf:Description>"
    )
    return xmp.replace(b"</rdf:RDF>", description.encode("utf-8") + b"</rdf:RDF>", 1)


def _finisher(edition: Edition, options: PrintOptions) -> object:
    """Last touches before WeasyPrint writes the file (so its hash-based /ID covers them).

    Press: name the output condition of the output intent (WeasyPrint names it after the
    CSS profile), and replace the random XMP DocumentID of PDF/X files with a derived one.
    """
    import pydyf  # type: ignore[import-untyped]

    stable = f"xmp.did:{uuid.uuid5(uuid.NAMESPACE_URL, f'{edition.metadata.identifier}|{options.trim}')}"

    def finish(document: object, pdf: pydyf.PDF) -> None:
        reference = pdf.catalog.get("Metadata")
        metadata = None
        if reference is not None:
            number = reference.split()[0] if isinstance(reference, bytes) else str(reference).split()[0]
            metadata = pdf.objects[int(number)]
            metadata.stream = [_with_dublin_core(b"".join(metadata.stream), edition)]
        if not options.press:
            return
        for intent in pdf.catalog.get("OutputIntents", []):
            intent["OutputConditionIdentifier"] = pydyf.String(CMYK_CONDITION)
            intent["RegistryName"] = pydyf.String("http://www.color.org")
            intent["Info"] = pydyf.String("SWOP (CGATS TR 001), Artifex CMYK SWOP profile")
        if metadata is not None:
            metadata.stream = [_RANDOM_DOCUMENT_ID.sub(stable.encode(), chunk) for chunk in metadata.stream]

    return finish


__all__ = ["TRIM_SIZES", "PrintOptions", "PrintRenderer", "render_pdf"]
