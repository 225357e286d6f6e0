"""The print edition: the PDF checked from the file itself (poppler, qpdf, pikepdf)."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import threading
from pathlib import Path

import pytest

import edition
import external
from edition.errors import RenderError, UnsafeInputError
from edition.inspect import PdfFacts, dehyphenate, fold_hyphens, pdf_facts, pdftotext, without_markers
from edition.text import missing_in_order, split_note_calls, words

ROOT = Path(__file__).resolve().parents[1]
INTERVIEW = ROOT / "sources" / "panahli-january-20.xml"
SCREENSHOTS = ROOT / "output" / "screenshots"
POINTS_PER_INCH = 72
BLEED_POINTS = 3 / 25.4 * POINTS_PER_INCH

pytestmark = pytest.mark.slow


def build_pdf(out: Path, *, source: Path = INTERVIEW, profile: str = "screen", trim: str = "6x9in") -> Path:
    result = edition.build(source, out, formats=["pdf"], profile=profile, trim=trim)
    return result.out_dir / f"{source.stem}.pdf"


@pytest.fixture(scope="module")
def screen_pdf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_pdf(tmp_path_factory.mktemp("screen"))


@pytest.fixture(scope="module")
def press_pdf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_pdf(tmp_path_factory.mktemp("press"), profile="press")


@pytest.fixture(scope="module")
def screen_facts(screen_pdf: Path) -> PdfFacts:
    return pdf_facts(screen_pdf)


@pytest.fixture(scope="module")
def interview() -> edition.Edition:
    return edition.load(INTERVIEW)


@pytest.fixture(scope="module")
def pages(screen_pdf: Path) -> list[str]:
    external.require("pdftotext", external.poppler("pdftotext"))
    return pdftotext(screen_pdf)


def run(tool: str, *args: str | Path) -> subprocess.CompletedProcess[str]:
    found = external.qpdf() if tool == "qpdf" else external.poppler(tool)
    external.require(tool, found)
    assert found is not None
    return subprocess.run([found, *map(str, args)], capture_output=True, text=True, check=False)


# ------------------------------------------------------------------ the file


@pytest.mark.parametrize("which", ["screen_pdf", "press_pdf"])
def test_every_font_is_embedded(which: str, request: pytest.FixtureRequest) -> None:
    pdf = request.getfixturevalue(which)
    lines = run("pdffonts", pdf).stdout.splitlines()[2:]
    assert lines, "pdffonts lists no fonts"
    not_embedded = [line for line in lines if line.split()[-5] != "yes"]
    assert not not_embedded, not_embedded
    assert any("EB-Garamond" in line for line in lines), lines


@pytest.mark.parametrize("which", ["screen_pdf", "press_pdf"])
def test_qpdf_finds_no_errors(which: str, request: pytest.FixtureRequest) -> None:
    result = run("qpdf", "--check", request.getfixturevalue(which))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No syntax or stream encoding errors found" in result.stdout


def _size(pdf: Path) -> tuple[float, float]:
    line = next(line for line in run("pdfinfo", pdf).stdout.splitlines() if line.startswith("Page size:"))
    width, _, height = line.split(":", 1)[1].split()[:3]
    return float(width), float(height)


def test_screen_page_size_is_the_trim_size(screen_pdf: Path) -> None:
    assert _size(screen_pdf) == pytest.approx((6 * POINTS_PER_INCH, 9 * POINTS_PER_INCH), abs=0.01)


def test_a5_trim_size(tmp_path: Path) -> None:
    pdf = build_pdf(tmp_path, trim="a5")
    assert _size(pdf) == pytest.approx((148 / 25.4 * 72, 210 / 25.4 * 72), abs=0.01)


def test_press_page_is_trim_plus_bleed_with_correct_boxes(press_pdf: Path) -> None:
    width, height = 6 * POINTS_PER_INCH, 9 * POINTS_PER_INCH
    assert _size(press_pdf) == pytest.approx((width + 2 * BLEED_POINTS, height + 2 * BLEED_POINTS), abs=0.02)
    facts = pdf_facts(press_pdf)
    assert facts.trim_box == pytest.approx((0, 0, width, height), abs=0.01)
    assert facts.bleed_box == pytest.approx(
        (-BLEED_POINTS, -BLEED_POINTS, width + BLEED_POINTS, height + BLEED_POINTS), abs=0.02
    )


def test_press_is_pdf_x_with_a_cmyk_output_intent_and_no_interactive_elements(press_pdf: Path) -> None:
    facts = pdf_facts(press_pdf)
    assert facts.xmp.get("pdfxid:GTS_PDFXVersion") == "PDF/X-4"
    assert len(facts.output_intents) == 1
    intent = facts.output_intents[0]
    assert intent["S"] == "/GTS_PDFX"
    assert intent["OutputConditionIdentifier"] == "CGATS TR 001"
    assert facts.annotations == 0, "a press PDF must have no links or other annotations"
    assert facts.info["Trapped"] == "/False"


def test_screen_is_tagged_pdf_ua_with_live_links(screen_facts: PdfFacts) -> None:
    assert screen_facts.tagged
    assert screen_facts.xmp.get("pdfuaid:part") == "1"
    assert screen_facts.annotations > 0
    assert screen_facts.language == "en"


def test_metadata_comes_from_the_header(screen_facts: PdfFacts, interview: edition.Edition) -> None:
    meta = interview.metadata
    assert screen_facts.info["Title"] == meta.title
    assert screen_facts.info["Author"] == ", ".join(meta.authors)
    assert screen_facts.info["Subject"] == meta.abstract
    assert screen_facts.info["Keywords"] == ", ".join(meta.subjects)
    assert screen_facts.xmp["dc:title"] == meta.title


def test_outline_has_the_headings(screen_facts: PdfFacts) -> None:
    titles = [title for _, title, _ in screen_facts.outline]
    assert "Editorial principles" in titles
    assert titles.count("Memories of January 20: “We Knew the Army Would Enter Baku…”") == 1
    assert "What might have happened if barricades had not been set up in Baku?" in titles
    assert "Apparatus of interventions" in titles and "Registers" in titles
    assert all(page is not None for _, _, page in screen_facts.outline)


# ------------------------------------------------------------------ the text


def test_reading_text_is_in_the_pdf_in_order(pages: list[str], interview: edition.Edition) -> None:
    expected = fold_hyphens(words(interview.text("reading")))
    actual = fold_hyphens(split_note_calls(words(without_markers(dehyphenate("\n".join(pages))))))
    assert missing_in_order(expected, actual) == []


def test_every_footnote_is_on_the_page_of_its_reference(
    screen_facts: PdfFacts, interview: edition.Edition
) -> None:
    destinations = screen_facts.destinations
    placed = {
        note.id: (destinations.get(f"noteref-{note.id}"), destinations.get(f"note-{note.id}"))
        for note in interview.notes
    }
    assert all(ref is not None and body is not None for ref, body in placed.values()), placed
    wrong = {note: pair for note, pair in placed.items() if pair[0] != pair[1]}
    assert not wrong, f"notes on another page than their reference: {wrong}"


def test_footnotes_are_numbered_as_in_the_model(
    pages: list[str], screen_facts: PdfFacts, interview: edition.Edition
) -> None:
    for note in interview.notes:
        page = pages[screen_facts.destinations[f"note-{note.id}"] - 1]
        first_words = " ".join(words(_note_text(interview, note))[:3])
        assert f"{note.label}. " in page, f"note {note.label} has no marker on its page"
        assert first_words in " ".join(words(dehyphenate(page))), f"note {note.label} text not on its page"


def _note_text(interview: edition.Edition, note: edition.Note) -> str:
    from edition.text import _block_parts  # the same text rules as the views

    return "".join(_block_parts(note.blocks, "reading"))


def test_interventions_show_the_reading_in_the_text_and_the_source_in_the_apparatus(
    pages: list[str], interview: edition.Edition
) -> None:
    text = dehyphenate("\n".join(pages))
    apparatus_start = text.index("Apparatus of interventions")
    body, apparatus = text[:apparatus_start], text[apparatus_start:]
    for item in interview.interventions:
        if item.kind == "correction":
            assert item.edited in body
            assert item.found in apparatus
            assert item.found not in body.split("Editorial principles")[-1] or item.found == "peoples"


def test_apparatus_and_registers_print_page_numbers(
    pages: list[str], screen_facts: PdfFacts, interview: edition.Edition
) -> None:
    text = "\n".join(pages).replace("\u00a0", " ")  # pdftotext writes no-break spaces as spaces
    azerbaijan = interview.intervention("i-azerbaijan")
    page = screen_facts.destinations[azerbaijan.id]
    assert f"¶ 8, p. {page}" in text
    panahli = interview.entity("panahli")
    first = screen_facts.destinations[panahli.occurrences[0].mention]
    assert f"p. {first}" in text


# ------------------------------------------------------------------ reproducible


def test_two_builds_are_byte_identical(screen_pdf: Path, tmp_path: Path) -> None:
    assert build_pdf(tmp_path).read_bytes() == screen_pdf.read_bytes()


def test_press_builds_are_byte_identical(press_pdf: Path, tmp_path: Path) -> None:
    assert build_pdf(tmp_path, profile="press").read_bytes() == press_pdf.read_bytes()


def test_source_date_epoch_sets_the_dates(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "946684800")  # 2000-01-01
    facts = pdf_facts(build_pdf(tmp_path))
    assert facts.info["CreationDate"].startswith("D:20000101")
    assert facts.info["ModDate"].startswith("D:20000101")


def test_without_source_date_epoch_the_date_is_the_editions(screen_facts: PdfFacts) -> None:
    assert screen_facts.info["CreationDate"].startswith("D:20261125")


# ------------------------------------------------------------------ golden files


def test_golden_text_per_page(pages: list[str], data_regression: object) -> None:
    per_page = {
        f"page {n:02d}": [line.rstrip() for line in page.splitlines() if line.strip()]
        for n, page in enumerate(pages, start=1)
    }
    data_regression.check(per_page)  # type: ignore[attr-defined]


def test_golden_metadata(screen_facts: PdfFacts, data_regression: object) -> None:
    data_regression.check(
        {  # type: ignore[attr-defined]
            "pages": screen_facts.pages,
            "info": {k: v for k, v in screen_facts.info.items() if k != "Producer"},
            "xmp": screen_facts.xmp,
            "language": screen_facts.language,
            "outline": [[level, title, page] for level, title, page in screen_facts.outline],
            "page_size": list(screen_facts.page_size),
        }
    )


# ------------------------------------------------------------------ nothing fetched


def _tei_with_graphic(folder: Path, url: str) -> Path:
    source = (ROOT / "tests" / "corpus" / "structure.xml").read_text(encoding="utf-8")
    assert 'url="images/figure.png"' in source
    path = folder / "graphic.xml"
    path.write_text(source.replace('url="images/figure.png"', f'url="{url}"'), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "/etc/passwd",
        "../outside.png",
        "http://example.org/x.png",
        "//example.org/x.png",
        "data:image/png;base64,iVBORw0KGgo=",
    ],
)
def test_graphic_outside_the_folder_is_refused_at_load(tmp_path: Path, url: str) -> None:
    with pytest.raises(UnsafeInputError) as caught:
        edition.load(_tei_with_graphic(tmp_path, url))
    assert caught.value.line is not None
    assert "outside the edition's folder" in str(caught.value)


def test_a_network_graphic_is_never_fetched(tmp_path: Path) -> None:
    """A local listener stands in for the network: it must see no connection at all."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    listener.settimeout(0.5)
    port = listener.getsockname()[1]
    connections: list[object] = []

    def accept() -> None:
        with contextlib.suppress(OSError):  # the timeout: nobody connected, as it should be
            connection, _ = listener.accept()
            connections.append(connection.getpeername())
            connection.close()

    thread = threading.Thread(target=accept)
    thread.start()
    try:
        with pytest.raises(UnsafeInputError):
            edition.build(_tei_with_graphic(tmp_path, f"http://127.0.0.1:{port}/x.png"), tmp_path / "out")
        thread.join()
    finally:
        listener.close()
    assert connections == []
    assert not (tmp_path / "out").exists()


def test_an_image_that_links_outside_the_folder_is_refused(tmp_path: Path) -> None:
    outside = tmp_path / "outside.png"
    outside.write_bytes(b"\x89PNG\r\n\x1a\n")
    edition_folder = tmp_path / "edition"
    (edition_folder / "images").mkdir(parents=True)
    (edition_folder / "images" / "figure.png").symlink_to(outside)
    source = _tei_with_graphic(edition_folder, "images/figure.png")
    with pytest.raises(RenderError, match="outside the edition's folder"):
        edition.build(source, tmp_path / "out", formats=["pdf"])


# ------------------------------------------------------------------ for review


def test_screenshots_of_the_first_pages(screen_pdf: Path, press_pdf: Path) -> None:
    """Saves PNGs of the first pages under output/screenshots/ for a person to look at."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for name, pdf in (("pdf-screen", screen_pdf), ("pdf-press", press_pdf)):
        result = run("pdftoppm", "-r", "60", "-f", "1", "-l", "9", "-png", pdf, SCREENSHOTS / name)
        assert result.returncode == 0, result.stderr
    assert len(list(SCREENSHOTS.glob("pdf-screen-*.png"))) >= 9


def test_no_line_runs_into_the_margin_or_off_the_page(screen_pdf: Path) -> None:
    """No overfull lines: every word stays inside the text block (the outer margin is 0.55 in;
    paragraph numbers sit in the inner margin, so the test allows the inner side more)."""
    import re as regex

    result = run("pdftotext", "-bbox", screen_pdf, "-")
    assert result.returncode == 0, result.stderr
    width = 6 * POINTS_PER_INCH
    outer, inner = 0.55 * POINTS_PER_INCH, 0.3 * POINTS_PER_INCH
    overfull = []
    for number, page in enumerate(result.stdout.split("<page ")[1:], start=1):
        left_page = number % 2 == 0
        low = (outer if left_page else inner) - 1
        high = width - (inner if left_page else outer) + 1
        words = regex.findall(r'xMin="([\d.]+)" yMin="[\d.]+" xMax="([\d.]+)"[^>]*>([^<]*)<', page)
        for x_min, x_max, word in words:
            if word.isdigit() and float(x_max) < low + 8:
                continue  # a paragraph number, which the design sets in the margin
            if float(x_min) < low or float(x_max) > high:
                overfull.append((number, word, round(float(x_min)), round(float(x_max))))
    assert overfull == [], f"words outside the text block (page, word, from, to): {overfull[:10]}"
