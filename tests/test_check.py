"""One source, three outputs that agree: proved from the built files by ``edition check``.

Every good TEI file is built in all three formats and checked; then each kind of output is
broken on purpose, one way at a time, and the check must say so, naming the place.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import edition
import external
from edition.check import Report, check_folder
from edition.inspect import dehyphenate, fold_hyphens, pdftotext, without_markers
from edition.text import split_note_calls, words

ROOT = Path(__file__).resolve().parents[1]
INTERVIEW = ROOT / "sources" / "panahli-january-20.xml"
CORPUS = sorted(p for p in (ROOT / "tests" / "corpus").glob("*.xml"))

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module", autouse=True)
def _tools() -> None:
    external.require("pdftotext", external.poppler("pdftotext"))


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return edition.build(INTERVIEW, tmp_path_factory.mktemp("interview") / "out").out_dir


def broken_copy(built: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "copy"
    shutil.copytree(built, copy)
    return copy


def assert_fails(report: Report, topic: str, *expected: str) -> None:
    failures = report.failures(topic)
    assert failures, f"the check did not notice the break ({topic}):\n{report}"
    text = "\n".join(map(str, failures))
    for part in expected:
        assert part in text, f"{part!r} not in:\n{text}"


def rewrite_zip(path: Path, member: str, change: object) -> None:
    """Replace one member of a zip (an EPUB), keeping the order and the rest."""
    with zipfile.ZipFile(path) as old:
        items = [(info, old.read(info.filename)) for info in old.infolist()]
    with zipfile.ZipFile(path, "w") as new:
        for info, data in items:
            if info.filename == member:
                data = change(data.decode("utf-8")).encode("utf-8")  # type: ignore[operator]
            new.writestr(info, data)


# ------------------------------------------------------------------ outputs that agree


def test_the_interview_agrees_in_all_three(built: Path) -> None:
    report = check_folder(built)
    assert report.ok, str(report)
    topics = {f.topic for f in report.findings}
    assert topics == {"text", "notes", "interventions", "links", "metadata", "citation"}


@pytest.mark.parametrize("source", CORPUS, ids=lambda p: p.name)
def test_every_corpus_file_agrees_in_all_three(source: Path, tmp_path: Path) -> None:
    if source.name == "structure.xml":  # its figure needs an image beside it
        from PIL import Image

        shutil.copy(source, tmp_path / source.name)
        (tmp_path / "images").mkdir()
        Image.new("RGB", (40, 30), "white").save(tmp_path / "images" / "figure.png")
        source = tmp_path / source.name
    strict = not source.name.startswith("nonstrict-")
    if strict:
        out = edition.build(source, tmp_path / "out", strict=True).out_dir
    else:
        with pytest.warns(edition.EditionWarning):
            out = edition.build(source, tmp_path / "out", strict=False).out_dir
    report = check_folder(out)
    assert report.ok, str(report)


def test_page_markers_start_their_pdf_pages(built: Path) -> None:
    """The first words after each marker in the web page begin that page of the PDF."""
    from edition.check import read_epub, read_web

    web, book = read_web(built / "index.html"), read_epub(built / "panahli-january-20.epub")
    pages = pdftotext(built / "panahli-january-20.pdf")
    assert web.pages and web.pages == book.pages
    for page, first in web.pages.items():
        top = fold_hyphens(split_note_calls(words(without_markers(dehyphenate(pages[page - 1])))))
        start = next(i for i, w in enumerate(top) if w == fold_hyphens(first.split()[:1])[0])
        assert start <= 12, f"p. {page}: {first!r} is not where the page begins: {top[:15]}"
        assert top[start : start + 4] == fold_hyphens(first.split()[:4])


def test_paragraph_numbers_and_anchors_are_the_same_everywhere(built: Path) -> None:
    from edition.check import read_epub, read_web

    web, book = read_web(built / "index.html"), read_epub(built / "panahli-january-20.epub")
    assert web.paragraphs == book.paragraphs == {f"p{n:02d}": str(n) for n in range(1, 15)}


# ------------------------------------------------------------------ outputs broken on purpose


def test_a_word_lost_from_the_web_page(built: Path, tmp_path: Path) -> None:
    folder = broken_copy(built, tmp_path)
    page = folder / "index.html"
    page.write_text(
        page.read_text(encoding="utf-8").replace("eternal slavery", "slavery", 1), encoding="utf-8"
    )
    assert_fails(check_folder(folder), "text", "eternal")


def test_a_note_renumbered_in_the_web_page(built: Path, tmp_path: Path) -> None:
    folder = broken_copy(built, tmp_path)
    page = folder / "index.html"
    html = page.read_text(encoding="utf-8")
    page.write_text(html.replace('id="note-n-kgb" value="7"', 'id="note-n-kgb" value="70"'), encoding="utf-8")
    assert_fails(check_folder(folder), "notes", "n-kgb (web 70, EPUB 7)")


def test_a_broken_back_link_in_the_web_page(built: Path, tmp_path: Path) -> None:
    folder = broken_copy(built, tmp_path)
    page = folder / "index.html"
    html = page.read_text(encoding="utf-8")
    page.write_text(html.replace('href="#noteref-n-kgb"', 'href="#noteref-gone"'), encoding="utf-8")
    assert_fails(check_folder(folder), "links", "#noteref-gone")


def test_a_note_relabelled_in_the_epub(built: Path, tmp_path: Path) -> None:
    folder = broken_copy(built, tmp_path)
    epub = folder / "panahli-january-20.epub"
    rewrite_zip(
        epub,
        "EPUB/text-1.xhtml",
        lambda x: re.sub(
            r'(<aside id="note-n-kgb".*?<span class="note-label">)7<', r"\g<1>77<", x, flags=re.S
        ),
    )
    assert_fails(check_folder(folder), "notes", "n-kgb (web 7, EPUB 77)")


def test_a_different_title_in_the_epub_package(built: Path, tmp_path: Path) -> None:
    folder = broken_copy(built, tmp_path)
    rewrite_zip(
        folder / "panahli-january-20.epub",
        "EPUB/content.opf",
        lambda x: x.replace('<dc:title id="title">Memories', '<dc:title id="title">Recollections', 1),
    )
    assert_fails(check_folder(folder), "metadata", "title differs", "Recollections")


def test_a_page_marker_lost_from_the_epub(built: Path, tmp_path: Path) -> None:
    folder = broken_copy(built, tmp_path)
    rewrite_zip(
        folder / "panahli-january-20.epub",
        "EPUB/text-2.xhtml",
        lambda x: re.sub(r'<span id="page-9"[^>]*/>', "", x),
    )
    assert_fails(check_folder(folder), "citation", "page markers differ")


def test_a_different_author_in_the_pdf(built: Path, tmp_path: Path) -> None:
    import pikepdf

    folder = broken_copy(built, tmp_path)
    path = folder / "panahli-january-20.pdf"
    with pikepdf.open(path, allow_overwriting_input=True) as pdf:
        pdf.docinfo["/Author"] = "Somebody Else"
        pdf.save(path)
    assert_fails(check_folder(folder), "metadata", "author differs", "Somebody Else")


def test_a_footnote_moved_to_another_page_in_the_pdf(built: Path, tmp_path: Path) -> None:
    import pikepdf

    folder = broken_copy(built, tmp_path)
    path = folder / "panahli-january-20.pdf"
    with pikepdf.open(path, allow_overwriting_input=True) as pdf:
        names = pikepdf.NameTree(pdf.Root.Names.Dests)
        target = names["note-n-kgb"]
        array = target.D if isinstance(target, pikepdf.Dictionary) else target
        array[0] = pdf.pages[-1].obj
        pdf.save(path)
    assert_fails(check_folder(folder), "notes", "note 7: on page")


def test_text_missing_from_the_pdf(built: Path, tmp_path: Path) -> None:
    """A PDF of another, shorter text: the check names the words it lacks."""
    short = tmp_path / "short.xml"
    short.write_text(
        INTERVIEW.read_text(encoding="utf-8").replace("eternal slavery", "slavery"), encoding="utf-8"
    )
    other = edition.build(short, tmp_path / "other", formats=["pdf"]).out_dir
    folder = broken_copy(built, tmp_path)
    shutil.copy(other / "short.pdf", folder / "panahli-january-20.pdf")
    assert_fails(check_folder(folder), "text", "'eternal'")


# ------------------------------------------------------------------ the command


def run_check(*folders: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "edition.cli", "check", *map(str, folders)],
        capture_output=True,
        text=True,
        check=False,
    )


def test_edition_check_prints_a_report_and_exits_0(built: Path) -> None:
    result = run_check(built)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip().endswith("all outputs agree")
    assert "ok   notes:" in result.stdout


def test_edition_check_exits_1_on_disagreement(built: Path, tmp_path: Path) -> None:
    folder = broken_copy(built, tmp_path)
    page = folder / "index.html"
    page.write_text(
        page.read_text(encoding="utf-8").replace("eternal slavery", "slavery", 1), encoding="utf-8"
    )
    result = run_check(folder)
    assert result.returncode == 1
    assert "FAIL text:" in result.stdout and "1 disagreement" in result.stdout


def test_edition_check_on_an_incomplete_folder_is_one_clear_line(built: Path, tmp_path: Path) -> None:
    folder = broken_copy(built, tmp_path)
    (folder / "panahli-january-20.pdf").unlink()
    result = run_check(folder)
    assert result.returncode == 1
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "lacks *.pdf" in lines[0] and "Traceback" not in result.stderr
