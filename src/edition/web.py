"""The web page: the HTML renderer's web variant, and the assets the page needs beside it.

What the web adds to the shared renderer: both views in one page (a switch shows one),
tooltips on interventions, popover notes (by script, with the note list as the fallback),
the title block, and download links. The page makes no request outside its folder: its
styles, script and fonts are copied beside it, and a Content-Security-Policy says so.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path

from edition import sections
from edition.html import Element, HtmlRenderer, add_text, h, safe_lang, sub, to_html
from edition.model import Division, Edition, Intervention
from edition.pages import PageStartLike, place_markers
from edition.text import inline_text

#: A place label that is a number ("¶ 12", "note 3"), whose space must not break a line.
_NUMBERED_PLACE = re.compile(r"^(¶|note) (?=\S+$)")


@functools.lru_cache(maxsize=4096)
def _unbroken(label: str) -> str:
    """The label with a no-break space after "¶" or "note" (the registers ask for the same
    few thousand labels again and again)."""
    return _NUMBERED_PLACE.sub("\\1\u00a0", label)


log = logging.getLogger("edition")

#: The policy the page declares: nothing from outside its own folder, no inline script or style.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; font-src 'self'; img-src 'self'; "
    "base-uri 'none'; form-action 'none'"
)


@dataclass(frozen=True, slots=True)
class Asset:
    """A file the page needs, copied into the output folder at ``target``."""

    source: Traversable | Path
    target: str


def package_file(*parts: str) -> Traversable:
    """A file shipped with the package (styles, script)."""
    return resources.files("edition").joinpath(*parts)


def font_assets() -> Iterator[Asset]:
    """EB Garamond (SIL Open Font License), from the fontpkg-eb-garamond package, and its licence."""
    import fontpkg_eb_garamond

    files = Path(fontpkg_eb_garamond.ROOT)
    yield Asset(files / "files" / "EBGaramond[wght].ttf", "assets/fonts/EBGaramond.ttf")
    yield Asset(files / "files" / "EBGaramond-Italic[wght].ttf", "assets/fonts/EBGaramond-Italic.ttf")
    yield Asset(files / "LICENSE", "assets/fonts/OFL.txt")


def web_assets() -> list[Asset]:
    return [
        Asset(package_file("styles", "base.css"), "assets/base.css"),
        Asset(package_file("styles", "screen.css"), "assets/screen.css"),
        Asset(package_file("assets", "edition.js"), "assets/edition.js"),
        *font_assets(),
    ]


class WebRenderer(HtmlRenderer):
    """The web variant: both views, tooltips, and the page around the text."""

    medium = "web"
    views = ("reading", "diplomatic")

    def __init__(
        self,
        edition: Edition,
        *,
        downloads: dict[str, str] | None = None,
        page_starts: Sequence[PageStartLike] = (),
    ) -> None:
        super().__init__(edition)
        self.page_starts = tuple(page_starts)
        """Where the pages of the print edition begin: marked in the margin ("p. 3")."""
        self.downloads = downloads or {}
        """Label → file name of the other formats built beside the page (``{"PDF": "x.pdf"}``)."""

    def intervention_extras(self, intervention: Intervention, wrapper: Element) -> None:
        """A tooltip saying what the source reads and why, shown on hover and on keyboard focus.

        The wrapper takes keyboard focus itself unless a link holds it or it holds a link (links
        cannot nest focus); then that link is what a keyboard reaches, so the link is described
        by the tip too (a note reference excepted: it leads to a note, not to this place).
        """
        tip_id = f"tip-{intervention.id}"
        inner = [a for a in wrapper.iter("{*}a") if "noteref" not in (a.get("class") or "").split()]
        outer = list(wrapper.iterancestors("{*}a")) if self.link_depth else []
        if not self.link_depth and not any(True for _ in wrapper.iter("{*}a")):
            wrapper.set("tabindex", "0")
        wrapper.set("aria-describedby", tip_id)
        for link in inner + outer:
            described = (link.get("aria-describedby") or "").split()
            link.set("aria-describedby", " ".join([*described, tip_id]))
        # aria-hidden: the tip is read as the description of what it describes, not as more text
        # (shown, it would otherwise join the name of a link that holds it).
        sub(
            wrapper,
            "span",
            {"class": "tip", "role": "tooltip", "id": tip_id, "aria-hidden": "true"},
            sections.tip_words(intervention),
        )

    def place_label(self, block: str | None) -> str:
        """ "¶ 12", "note 3": kept on one line on the web page (a no-break space)."""
        return _unbroken(super().place_label(block))

    # ------------------------------------------------------------------ the page

    def page(self) -> Element:
        edition = self.edition
        meta = edition.metadata
        html = h("html", {"lang": safe_lang(meta.language) or "und", "data-view": "reading"})
        head = sub(html, "head")
        sub(head, "meta", {"charset": "utf-8"})
        sub(head, "meta", {"http-equiv": "Content-Security-Policy", "content": CONTENT_SECURITY_POLICY})
        sub(head, "meta", {"name": "viewport", "content": "width=device-width, initial-scale=1"})
        sub(head, "title", None, meta.title)
        for name, value in self.head_metadata():
            sub(head, "meta", {"name": name, "content": value})
        sub(head, "meta", {"name": "color-scheme", "content": "light dark"})
        sub(head, "link", {"rel": "stylesheet", "href": "assets/base.css"})
        sub(head, "link", {"rel": "stylesheet", "href": "assets/screen.css"})
        sub(head, "script", {"src": "assets/edition.js", "defer": "defer"})
        body = sub(html, "body")
        sub(body, "a", {"class": "skip-link", "href": "#text"}, "Skip to the text")
        body.append(self.title_block())
        main = sub(body, "main", {"id": "main"})
        article = sub(main, "article", {"id": "text", "class": "text", "aria-labelledby": "title"})
        for division in edition.divisions:
            if division is edition.body:
                self.blocks(division.blocks, article)
            else:
                self.visit(division, article)
        for part in (
            sections.notes_section(self),
            sections.apparatus_section(self),
            sections.registers_section(self),
            sections.metadata_section(self, self.medium),
        ):
            if part is not None:
                main.append(part)
        footer = sub(body, "footer", {"class": "colophon"})
        made = f"{(meta.edition or meta.title).rstrip('.')}. Made with the edition library from TEI P5."
        sub(footer, "p", None, made)
        missing = place_markers(body, self.page_starts, self.page_marker)
        if missing:
            log.warning("page breaks not marked (their place is not in the page): %s", missing)
        return html

    @staticmethod
    def page_marker(start: PageStartLike) -> Element:
        """Where a page of the print edition begins: "p. 3" in the margin, a page break for AT."""
        return h(
            "span",
            {
                "class": "page-marker",
                "id": f"page-{start.page}",
                "role": "doc-pagebreak",
                "aria-label": f"Page {start.page} of the print edition",
            },
            f"p.\u00a0{start.page}",
        )

    def head_metadata(self) -> list[tuple[str, str]]:
        """``<meta name content>`` pairs: Dublin Core terms the agreement checks compare across formats."""
        meta = self.edition.metadata
        pairs = [("author", a) for a in meta.authors]
        pairs += [
            ("dcterms.title", meta.title),
            ("dcterms.language", meta.language),
            ("dcterms.identifier", meta.identifier),
        ]
        pairs += [("dcterms.creator", a) for a in meta.authors]
        pairs += [
            ("dcterms.contributor", f"{c.name} ({c.role})") for c in meta.contributors if c.role != "author"
        ]
        if meta.date:
            pairs.append(("dcterms.date", meta.date))
        if meta.licence:
            pairs.append(("dcterms.rights", meta.licence))
        if meta.abstract:
            pairs.append(("description", meta.abstract))
        if meta.subjects:
            pairs.append(("keywords", ", ".join(meta.subjects)))
        pairs.append(("generator", "edition"))
        return pairs

    def title_block(self) -> Element:
        edition = self.edition
        meta = edition.metadata
        header = h("header", {"class": "title-block"})
        title = sub(header, "h1", {"id": "title"})
        if edition.body.heading is not None:
            self.inlines(edition.body.heading.content, title)
        else:
            add_text(title, meta.title)
        if meta.subtitle:
            sub(header, "p", {"class": "subtitle"}, meta.subtitle)
        facts = sub(header, "dl", {"class": "facts"})
        for role, names in sections.contributors_by_role(meta):
            sub(facts, "dt", None, role[:1].upper() + role[1:])
            sub(facts, "dd", None, ", ".join(names))
        if meta.edition:
            sub(facts, "dt", None, "Edition")
            sub(facts, "dd", None, meta.edition)
        # The source description and the licence can run to paragraphs: they are in full in
        # "About this edition", to which the title block points instead of repeating them.
        more = sub(header, "p", {"class": "more"})
        add_text(more, "Source, licence and editorial principles: ")
        sub(more, "a", {"href": "#about"}, "About this edition")
        add_text(more, ".")
        header.append(self.contents())
        controls = sub(header, "div", {"class": "controls"})
        if self.downloads:
            downloads = sub(controls, "p", {"class": "downloads"})
            add_text(downloads, "Download: ")
            for index, (label, filename) in enumerate(self.downloads.items()):
                if index:
                    add_text(downloads, " · ")
                sub(
                    downloads,
                    "a",
                    {"href": filename, "download": filename, "class": f"download {label.lower()}"},
                    label,
                )
        switch = sub(controls, "fieldset", {"class": "view-switch", "hidden": "hidden"})
        sub(switch, "legend", None, "Text view")
        for value, label, hint in (
            ("reading", "Reading", "corrections applied"),
            ("diplomatic", "Diplomatic", "the text as found"),
        ):
            option = sub(switch, "label")
            sub(
                option,
                "input",
                {
                    "type": "radio",
                    "name": "view",
                    "value": value,
                    "checked": "checked" if value == "reading" else None,
                },
            )
            add_text(option, f" {label} ")
            sub(option, "span", {"class": "hint"}, f"({hint})")
        cite = sub(header, "p", {"class": "cite-line"})
        sub(cite, "span", {"class": "cite-label"}, "How to cite: ")
        sub(cite, "span", {"class": "citation", "id": "citation"}, sections.citation(edition, self.medium))
        return header

    def contents(self) -> Element:
        nav = h("nav", {"class": "toc", "aria-label": "Contents"})
        listing = sub(nav, "ol")
        text_item = sub(listing, "li")
        sub(text_item, "a", {"href": "#text"}, "Text")
        divisions = [d for d in _top_divisions(self.edition) if d.heading is not None]
        if divisions:
            inner = sub(text_item, "ol")
            for division in divisions:
                assert division.heading is not None
                sub(sub(inner, "li"), "a", {"href": f"#{division.id}"}, inline_text(division.heading.content))
        for anchor, label, present in (
            ("notes", "Notes", bool(self.edition.notes)),
            ("apparatus", "Apparatus", bool(self.edition.interventions)),
            ("registers", "Registers", bool(self.edition.entities)),
            ("about", "About this edition", True),
        ):
            if present:
                sub(sub(listing, "li"), "a", {"href": f"#{anchor}"}, label)
        return nav


def _top_divisions(edition: Edition) -> Iterator[Division]:
    for division in edition.divisions:
        if division is edition.body:
            yield from (b for b in division.blocks if isinstance(b, Division))
        else:
            yield division


def render_page(
    edition: Edition, downloads: dict[str, str] | None = None, page_starts: Sequence[PageStartLike] = ()
) -> str:
    """The web page as HTML5 text (with the print edition's page breaks, when given)."""
    return to_html(WebRenderer(edition, downloads=downloads, page_starts=page_starts).page(), consume=True)
