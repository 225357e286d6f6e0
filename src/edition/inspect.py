"""Reading built outputs back: what a PDF says, page by page, and where its anchors are.

The tests and ``edition check`` use these to prove, from the files themselves, that the
outputs agree with the model and with each other. Text comes from poppler's ``pdftotext``
(the reference text extractor); structure (named destinations, metadata, outline) from
pikepdf.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from edition.errors import EditionError

_LINE_END_HYPHEN = re.compile(r"(\w)[-\u00ad\u2010]\n(\w)")


def pdftotext(path: Path, *, layout: bool = False) -> list[str]:
    """The text of every page (poppler's ``pdftotext``), one string per page."""
    tool = shutil.which("pdftotext")
    if tool is None:
        raise EditionError(
            "pdftotext is not installed", hint="install poppler-utils (apt-get install poppler-utils)"
        )
    command = [tool, "-enc", "UTF-8", *(["-layout"] if layout else []), str(path), "-"]
    result = subprocess.run(command, capture_output=True, check=False)
    if result.returncode != 0:
        raise EditionError(f"pdftotext failed: {result.stderr.decode(errors='replace').strip()}", path=path)
    pages = result.stdout.decode("utf-8").split("\f")
    return pages[:-1] if pages and not pages[-1].strip() else pages


def dehyphenate(text: str) -> str:
    """Join words the layout hyphenated at line ends (``Ar-\\nmenia`` → ``Armenia``).

    A word that has a hyphen of its own and broke there (``self-\\ndefense``) loses it too;
    compare words with :func:`fold_hyphens` to make both sides alike.
    """
    return _LINE_END_HYPHEN.sub(r"\1\2", text)


#: Editorial signs the stylesheets add around supplied text (CSS generated content, not text).
EDITORIAL_MARKERS = str.maketrans("", "", "⟨⟩")


def without_markers(text: str) -> str:
    """Text without the editorial brackets the stylesheets draw around supplied text."""
    return text.translate(EDITORIAL_MARKERS)


def fold_hyphens(words: list[str]) -> list[str]:
    """Words with hyphens removed, for comparisons that line-end hyphenation must not upset."""
    return [w.replace("-", "").replace("\u2010", "") for w in words]


@dataclass(frozen=True, slots=True)
class PdfFacts:
    """What a PDF says about itself."""

    pages: int
    destinations: dict[str, int]
    """Named destination (an HTML id) → 1-based page number."""
    info: dict[str, str]
    """The document information dictionary (``/Title`` → ``Title``)."""
    xmp: dict[str, str]
    """Selected XMP properties (``dc:title``, ``dc:creator``, ``dc:language``...)."""
    language: str | None
    outline: list[tuple[int, str, int | None]]
    """``(level, title, page)`` of every bookmark, in order."""
    page_size: tuple[float, float]
    """Width and height of the first page's MediaBox, in points."""
    trim_box: tuple[float, float, float, float] | None
    bleed_box: tuple[float, float, float, float] | None
    annotations: int
    tagged: bool
    output_intents: list[dict[str, str]]


def pdf_facts(path: Path) -> PdfFacts:
    """Open a PDF with pikepdf and collect :class:`PdfFacts`."""
    import pikepdf

    try:
        pdf = pikepdf.open(path)
    except (pikepdf.PdfError, OSError) as error:
        raise EditionError(f"not a readable PDF: {error}", path=path) from None
    with pdf:
        page_numbers: dict[object, int] = {page.objgen: index + 1 for index, page in enumerate(pdf.pages)}
        destinations: dict[str, int] = {}
        names = pdf.Root.get("/Names")
        if names is not None and "/Dests" in names:
            for name, target in pikepdf.NameTree(names.Dests).items():
                array = target.get("/D", target) if isinstance(target, pikepdf.Dictionary) else target
                page = page_numbers.get(array[0].objgen)
                if page is not None:
                    destinations[str(name)] = page
        info = {str(k).lstrip("/"): str(v) for k, v in pdf.docinfo.items()}
        xmp: dict[str, str] = {}
        with pdf.open_metadata() as meta:
            for key in (
                "dc:title",
                "dc:creator",
                "dc:language",
                "dc:description",
                "dc:rights",
                "dc:identifier",
                "dc:date",
                "pdf:Keywords",
                "xmp:CreateDate",
                "pdfxid:GTS_PDFXVersion",
                "pdfuaid:part",
            ):
                value = meta.get(key)
                if value:
                    xmp[key] = ", ".join(sorted(value)) if isinstance(value, set | list) else str(value)
        outline: list[tuple[int, str, int | None]] = []
        with pdf.open_outline() as tree:

            def walk(items: list[pikepdf.OutlineItem], level: int) -> None:
                for item in items:
                    page = None
                    destination = item.destination
                    if isinstance(destination, pikepdf.Array) and len(destination):
                        page = page_numbers.get(destination[0].objgen)
                    elif destination is not None and str(destination) in destinations:
                        page = destinations[str(destination)]
                    outline.append((level, str(item.title), page))
                    walk(item.children, level + 1)

            walk(tree.root, 1)
        first = pdf.pages[0]
        box = [float(v) for v in first.MediaBox]

        def rectangle(key: str) -> tuple[float, float, float, float] | None:
            value = first.obj.get(key)
            return tuple(float(v) for v in value) if value is not None else None  # type: ignore[return-value]

        intents = [
            {str(k).lstrip("/"): str(v) for k, v in intent.items() if k != "/DestOutputProfile"}
            for intent in pdf.Root.get("/OutputIntents", [])
        ]
        return PdfFacts(
            pages=len(pdf.pages),
            destinations=destinations,
            info=info,
            xmp=xmp,
            language=str(pdf.Root.Lang) if "/Lang" in pdf.Root else None,
            outline=outline,
            page_size=(box[2] - box[0], box[3] - box[1]),
            trim_box=rectangle("/TrimBox"),
            bleed_box=rectangle("/BleedBox"),
            annotations=sum(len(page.get("/Annots", [])) for page in pdf.pages),
            tagged="/StructTreeRoot" in pdf.Root,
            output_intents=intents,
        )
