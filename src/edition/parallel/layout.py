"""Layout of parts and folio sheets by WeasyPrint, in the worker processes."""

from __future__ import annotations

import contextlib
import io
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast
from urllib.request import pathname2url
from xml.sax.saxutils import escape

from edition.parallel.styles import without_group_starts

if TYPE_CHECKING:
    from edition.model import Edition, Metadata


@dataclass(frozen=True, slots=True)
class LayoutConfig:
    """What every layout of one book shares (sent once to each worker process)."""

    profile: str
    trim: str
    folder: str
    when: datetime
    metadata: Metadata
    path: str
    folio_boxes: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class PartLayout:
    """A laid-out part: its PDF and what the join needs to know about its pages."""

    pdf: bytes
    pages: int
    folios: tuple[bool, ...]
    """Per page: does the book print a page number on it (a folio box is generated)?"""
    blank_end: bool
    """The last page is a blank page (notes carried past the end): the cut would not be exact."""
    anchors: dict[str, int]
    """Every id laid out in the part → 0-based page index in the part."""
    bookmarks: tuple[tuple[int, int, str, float, float, str], ...]
    """``(page index, level, label, x, y, state)``, in PDF coordinates, in order."""
    starts: tuple[tuple[int, str, int], ...]
    """:class:`edition.pdf.PageStart` fields, pages counted from 1 in the part."""
    messages: tuple[str, ...]
    table_ids: bool
    """Its structure tree has table header ids (WeasyPrint numbers them per document)."""

    def facts(self) -> dict[str, Any]:
        return {
            "pages": self.pages,
            "folios": list(self.folios),
            "blank_end": self.blank_end,
            "anchors": self.anchors,
            "bookmarks": [list(b) for b in self.bookmarks],
            "starts": [list(s) for s in self.starts],
            "messages": list(self.messages),
            "table_ids": self.table_ids,
        }

    @classmethod
    def from_facts(cls, facts: dict[str, Any], pdf: bytes) -> PartLayout:
        return cls(
            pdf=pdf,
            pages=int(facts["pages"]),
            folios=tuple(bool(f) for f in facts["folios"]),
            blank_end=bool(facts["blank_end"]),
            anchors={str(k): int(v) for k, v in facts["anchors"].items()},
            bookmarks=tuple(
                (int(p), int(lv), str(lb), float(x), float(y), str(st))
                for p, lv, lb, x, y, st in facts["bookmarks"]
            ),
            starts=tuple((int(p), str(b), int(o)) for p, b, o in facts["starts"]),
            messages=tuple(str(m) for m in facts["messages"]),
            table_ids=bool(facts["table_ids"]),
        )


@dataclass(frozen=True, slots=True)
class _Failure:
    message: str
    refused: str | None


class _MetadataOnly:
    """What :func:`edition.pdf._finisher` reads of an edition (workers do not get the whole model)."""

    def __init__(self, metadata: Metadata) -> None:
        self.metadata = metadata


#: What :meth:`Layouter.warm_up` lays out: a heading, running text in three faces, a footnote.
_WARM_UP = (
    '<html lang="en"><body><main class="text"><section class="division body chapter">'
    '<h2>Warm-up</h2><p class="p">Text, <em>emphasis</em> and <strong>strength</strong>.'
    '<span class="footnote">A note.</span></p></section></main></body></html>'
)


class Layouter:
    """Lays out parts and folio sheets with WeasyPrint, exactly as :func:`edition.pdf.print_edition`."""

    def __init__(self, config: LayoutConfig) -> None:
        from edition.pdf import PrintOptions, print_assets, print_sheets

        self.config = config
        self.options = PrintOptions(config.profile, config.trim)
        self.assets = print_assets(self.options)
        self.folder = Path(config.folder)
        self.base = f"file://{pathname2url(str(self.folder))}/"
        self.sheets = print_sheets(self.options, self.assets)

    def _pdf_options(self, tagged: bool) -> dict[str, Any]:
        from edition.pdf import pdf_variant

        if not tagged and not self.options.press:
            return {"pdf_variant": None, "pdf_tags": False, "output_intent": None}
        return pdf_variant(self.options)

    @contextlib.contextmanager
    def _render(
        self,
        html: str,
        extra: Sequence[str],
        pdf_options: dict[str, Any],
        sheets: Sequence[tuple[str, str]] | None = None,
    ) -> Iterator[tuple[Any, Any]]:
        from edition.pdf import ConfinedFetcher, _source_date_epoch, _WeasyPrintLog, lay_out

        fetcher = ConfinedFetcher(self.folder, self.assets)
        records = _WeasyPrintLog()
        with records, _source_date_epoch(self.config.when):
            all_sheets = [*(sheets or self.sheets), *((text, "part.css") for text in extra)]
            yield lay_out(html, all_sheets, self.base, fetcher, pdf_options), records
        if fetcher.refused:
            raise PermissionError(f"refused to fetch {fetcher.refused[0]}")

    def warm_up(self) -> None:
        """Lay out a few lines and throw them away, before the first part comes.

        Why: WeasyPrint's first document in a process loads the fonts and fills its caches.
        Measured once at N = 100: a chapter took 1.8 s as a fresh process's first layout and
        1.2-1.3 s after this 0.2 s warm-up, which a worker started early
        (:class:`~edition.parallel.processes._Warm`) does while the book is planned. The
        parts' bytes do not depend on it (a worker lays out many parts anyway, in any order).
        """
        with contextlib.suppress(Exception):  # a real part fails the same way, and says why
            self.part(_WARM_UP, ())

    def part(self, html: str, css: Sequence[str], continues_group: bool = False) -> PartLayout:
        from weasyprint.matrix import Matrix

        from edition.pdf import _finisher, page_starts

        pdf_options = self._pdf_options(tagged=True)
        sheets = (
            [(without_group_starts(text), name) for text, name in self.sheets] if continues_group else None
        )
        with self._render(html, css, pdf_options, sheets) as (document, records):
            pages = document.pages
            folios = tuple(_has_folio(page, self.config.folio_boxes) for page in pages)
            anchors: dict[str, int] = {}
            for index, page in enumerate(pages):
                for name in page.anchors:
                    anchors.setdefault(name, index)
            wanted = {target for page in pages for kind, target, _, _ in page.links if kind == "internal"}
            for name in sorted(wanted - anchors.keys()):
                # a link into another part: a stand-in anchor makes WeasyPrint write the link
                # (its destination is dropped at the join, where the real one is)
                pages[0].anchors[name] = (0, 0, 0, 0)
            bookmarks = []
            for index, page in enumerate(pages):
                matrix = Matrix(a=0.75, d=-0.75, f=page.height * 0.75)
                for level, label, (x, y), state in page.bookmarks:
                    x, y = matrix.transform_point(x, y)
                    bookmarks.append((index, level, label, x, y, state))
            starts = tuple((s.page, s.block, s.offset) for s in page_starts(document))
            holder = cast("Edition", _MetadataOnly(self.config.metadata))
            pdf = document.write_pdf(finisher=_finisher(holder, self.options), **pdf_options)
            blank_end = bool(pages[-1]._page_box.page_type.blank)
        return PartLayout(
            pdf=pdf,
            pages=len(pages),
            folios=folios,
            blank_end=blank_end,
            anchors=anchors,
            bookmarks=tuple(bookmarks),
            starts=starts,
            messages=tuple(records.messages),
            table_ids="<th" in html and _has_table_ids(pdf),  # only a th element is tagged TH
        )

    def folio_sheet(self, first: int, kinds: str, css: str) -> bytes:
        """Empty pages ``first``… with only their page numbers; ``B`` pages are blank versos."""
        divs = []
        for index, kind in enumerate(kinds):
            if kind == "B":
                continue
            if index == 0:
                divs.append("<div></div>")
            else:
                divs.append(f'<div class="{"ed-r" if kinds[index - 1] == "B" else "ed-p"}"></div>')
        if kinds.endswith("B"):
            divs.append('<div class="ed-r"></div>')  # makes the last blank; itself not used
        language = escape(self.config.metadata.language or "und", {'"': "&quot;"})
        html = f'<!DOCTYPE html>\n<html lang="{language}"><body>{"".join(divs)}</body></html>'
        sheet = (
            f"{css}\n.ed-p {{ break-before: page; }}\n.ed-r {{ break-before: right; }}\n"
            f"@page :first {{ counter-reset: page {first}; }}\n"
            + ("html { break-before: left; }\n" if first % 2 == 0 else "")
        )
        with self._render(html, [sheet], self._pdf_options(tagged=False)) as (document, _):
            count = len(document.pages)
            expected = len(kinds) + (1 if kinds.endswith("B") else 0)
            if count != expected:
                raise RuntimeError(f"folio sheet from page {first}: {count} pages, not {expected}")
            blanks = [bool(page._page_box.page_type.blank) for page in document.pages[: len(kinds)]]
            if blanks != [kind == "B" for kind in kinds]:
                raise RuntimeError(f"folio sheet from page {first}: blank pages out of place")
            return cast(bytes, document.write_pdf(**self._pdf_options(tagged=False)))


def _has_folio(page: Any, folio_boxes: Sequence[str]) -> bool:
    from weasyprint.formatting_structure import boxes

    wanted = {f"@{name}" for name in folio_boxes}
    return any(
        isinstance(box, boxes.MarginBox) and box.at_keyword in wanted for box in page._page_box.children
    )


_LAYOUTER: Layouter | None = None


def _init_worker(config: LayoutConfig) -> Layouter:
    """Make this process's layouter (the one :func:`_task` uses)."""
    global _LAYOUTER
    _LAYOUTER = Layouter(config)
    return _LAYOUTER


def _task(kind: str, *args: Any) -> PartLayout | bytes | _Failure:
    """One layout in a worker (or inline): failures come back as values (exceptions may not pickle)."""
    assert _LAYOUTER is not None
    try:
        if kind == "part":
            return _LAYOUTER.part(*args)
        return _LAYOUTER.folio_sheet(*args)
    except Exception as error:  # WeasyPrint raises many kinds; the coordinator reports them
        message = f"{type(error).__name__}: {error}"
        refused = str(error).removeprefix("refused to fetch ") if isinstance(error, PermissionError) else None
        return _Failure(message, refused)


def _has_table_ids(data: bytes) -> bool:
    """Whether a part's structure tree has table header ids (only parts with tables do).

    Checked where the part is laid out, so that the join (one process, every part) need not.
    """
    import pikepdf

    with pikepdf.open(io.BytesIO(data)) as pdf:
        root = pdf.Root.get("/StructTreeRoot")
        if root is None:
            return False
        nums = root.get("/ParentTree", pikepdf.Dictionary()).get("/Nums", pikepdf.Array())
        for value in list(nums)[1::2]:
            elements = value if isinstance(value, pikepdf.Array) else [value]
            for element in elements:
                if not isinstance(element, pikepdf.Dictionary):
                    continue
                parent = element.get("/P")
                if element.get("/S") == "/TH" or (
                    isinstance(parent, pikepdf.Dictionary) and parent.get("/S") == "/TH"
                ):
                    return True
    return False
