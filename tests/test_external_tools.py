"""Smoke tests: each external tool the suite relies on is installed and works here.

They check the tools, not the project: a tiny valid input must pass and a tiny broken one must
fail, so a validator that silently checks nothing is caught too. A missing tool skips locally
and fails when CI=true (see tests/external.py and docs/tools.md).
"""

from __future__ import annotations

import os
import subprocess
import warnings
import zipfile
from pathlib import Path

import pytest

import external

VALID_HTML = """<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>Smoke test</title><style>p { color: #333; }</style></head>
<body><main><h1>Smoke test</h1><p>Hello.</p></main></body>
</html>
"""

# A stray end tag, an unknown element and an unknown CSS property.
INVALID_HTML = """<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>Broken</title><style>p { colr: red; }</style></head>
<body><p><div>block in a paragraph</div></p><blink>unknown</blink></body>
</html>
"""

TEI_DOCUMENT = """<?xml version="1.0" encoding="UTF-8"?>
<TEI xmlns="http://www.tei-c.org/ns/1.0">
  <teiHeader>
    <fileDesc>
      <titleStmt><title>Smoke test</title></titleStmt>
      <publicationStmt><p>Unpublished.</p></publicationStmt>
      <sourceDesc><p>Born digital.</p></sourceDesc>
    </fileDesc>
  </teiHeader>
  <text><body><p>Hello.</p></body></text>
</TEI>
"""


def write_epub(path: Path, *, image_without_alt: bool = False) -> Path:
    """Write a tiny EPUB 3 with ebooklib: one chapter, a nav document and an NCX."""
    from ebooklib import epub

    book = epub.EpubBook()
    book.set_identifier("urn:uuid:0b8c3a52-6d7e-4a43-9c1e-2f7c1b5d9e01")
    book.set_title("Smoke test")
    book.set_language("en")
    book.add_author("The edition developers")
    # Accessibility metadata, so that Ace's package checks have less to say.
    for prop, value in [
        ("schema:accessMode", "textual"),
        ("schema:accessModeSufficient", "textual"),
        ("schema:accessibilityFeature", "structuralNavigation"),
        ("schema:accessibilityHazard", "none"),
        ("schema:accessibilitySummary", "A one-page test book."),
    ]:
        book.add_metadata(None, "meta", value, {"property": prop})
    chapter = epub.EpubHtml(title="Chapter 1", file_name="chap1.xhtml", lang="en")
    body = "<h1>Chapter 1</h1><p>Hello.</p>"
    if image_without_alt:
        book.add_item(epub.EpubImage(uid="dot", file_name="dot.gif", media_type="image/gif", content=_GIF))
        body += '<p><img src="dot.gif"/></p>'
    chapter.content = f"<html><head><title>Chapter 1</title></head><body>{body}</body></html>"
    book.add_item(chapter)
    book.toc = [epub.Link("chap1.xhtml", "Chapter 1", "chap1")]
    book.add_item(epub.EpubNcx())
    book.add_item(epub.EpubNav())
    book.spine = ["nav", chapter]
    # ebooklib warns "In the future throwing exceptions while writing will be default behavior"
    # just before it re-raises an OSError from writing, even with raise_exceptions=True. Under
    # the project's filterwarnings=error that UserWarning would be raised instead, hiding the
    # real error; so it alone is silenced here, and only around the write.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="In the future throwing exceptions", category=UserWarning)
        epub.write_epub(str(path), book, options={"raise_exceptions": True})
    return path


# A 1x1 transparent GIF.
_GIF = bytes.fromhex("47494638396101000100800000000000ffffff21f90401000000002c00000000010001000002024401003b")


def break_epub(source: Path, target: Path) -> Path:
    """Copy an EPUB, giving its chapter a link to a file that is not there and an element XHTML lacks."""
    with zipfile.ZipFile(source) as src, zipfile.ZipFile(target, "w") as dst:
        for info in src.infolist():  # keeps the order and compression: mimetype first, stored
            data = src.read(info)
            if info.filename.endswith("chap1.xhtml"):
                data = data.replace(
                    b"<p>Hello.</p>", b'<p><a href="missing.xhtml">Hello.</a></p><blink>unknown</blink>'
                )
            dst.writestr(info, data)
    return target


# --- Nu Html Checker ---------------------------------------------------------------------------


@pytest.mark.slow
def test_vnu_accepts_valid_html_and_rejects_invalid(tmp_path: Path) -> None:
    valid = tmp_path / "valid.html"
    invalid = tmp_path / "invalid.html"
    valid.write_text(VALID_HTML, encoding="utf-8")
    invalid.write_text(INVALID_HTML, encoding="utf-8")

    messages = external.run_vnu([valid, invalid])  # one JVM for both files

    by_file = {
        name: [m for m in external.vnu_errors(messages) if m["url"].rsplit("/", 1)[-1] == name]
        for name in ("valid.html", "invalid.html")
    }
    assert by_file["valid.html"] == []
    assert len(by_file["invalid.html"]) >= 2, messages
    assert any("colr" in m["message"] for m in by_file["invalid.html"]), "CSS was not checked"


# --- EPUBCheck ---------------------------------------------------------------------------------


@pytest.mark.slow
def test_epubcheck_passes_a_valid_epub(tmp_path: Path) -> None:
    result = external.run_epubcheck(write_epub(tmp_path / "valid.epub"))

    assert (result["fatal"], result["error"], result["warning"]) == (0, 0, 0), result["problems"]


@pytest.mark.slow
def test_epubcheck_reports_a_broken_epub(tmp_path: Path) -> None:
    broken = break_epub(write_epub(tmp_path / "valid.epub"), tmp_path / "broken.epub")

    result = external.run_epubcheck(broken)

    assert result["fatal"] + result["error"] >= 2, result["problems"]
    ids = {m["ID"] for m in result["messages"]}
    assert "RSC-007" in ids, result["problems"]  # reference to a missing resource
    assert "RSC-005" in ids, result["problems"]  # XHTML schema error: <blink>


# --- Ace by DAISY ------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.browser
def test_ace_checks_an_epub_in_chromium(tmp_path: Path) -> None:
    epub_path = write_epub(tmp_path / "book.epub", image_without_alt=True)

    result = external.run_ace(epub_path, tmp_path / "ace")

    rules = {impact: {v["rule"] for v in found} for impact, found in result["violations"].items()}
    # The content document was loaded in Chromium and checked by axe: the image has no alt.
    assert "image-alt" in rules["critical"], result["violations"]
    # ebooklib writes no xml:lang on the OPF <package>: Ace's own package check says so.
    assert "epub-lang" in rules["serious"], result["violations"]
    # The accessibility metadata written above was read.
    assert not any(rule.startswith("metadata-") for found in rules.values() for rule in found), rules


# --- Playwright with Debian's Chromium ---------------------------------------------------------


@pytest.mark.browser
def test_playwright_opens_a_file_page_in_chromium(tmp_path: Path) -> None:
    sync_api = external.optional_module("playwright.sync_api")
    external.require("playwright", sync_api)
    assert sync_api is not None
    page_path = tmp_path / "page.html"
    page_path.write_text(VALID_HTML, encoding="utf-8")

    with sync_api.sync_playwright() as playwright:
        browser = external.launch_chromium(playwright)
        try:
            page = browser.new_page()
            page.goto(page_path.as_uri())
            title = page.title()
            heading = page.locator("h1").inner_text()
        finally:
            browser.close()

    assert (title, heading) == ("Smoke test", "Smoke test")


# --- poppler-utils and qpdf on a WeasyPrint PDF ------------------------------------------------


@pytest.fixture(scope="module")
def tiny_pdf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import weasyprint

    html = "<html lang='en'><head><title>Smoke PDF</title></head><body><p>Hello from WeasyPrint.</p></body>"
    path = tmp_path_factory.mktemp("pdf") / "tiny.pdf"
    path.write_bytes(weasyprint.HTML(string=html).write_pdf())
    return path


def run(cmd: list[str]) -> str:
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 0, f"{cmd} exited {proc.returncode}: {proc.stderr}"
    return proc.stdout


@pytest.mark.parametrize("tool", ["pdftotext", "pdffonts", "pdfinfo"])
def test_poppler_reads_a_weasyprint_pdf(tool: str, tiny_pdf: Path) -> None:
    path = external.poppler(tool)
    external.require(tool, path)
    assert path is not None

    out = run([path, str(tiny_pdf), "-"] if tool == "pdftotext" else [path, str(tiny_pdf)])

    expected = {"pdftotext": "Hello from WeasyPrint.", "pdffonts": "yes", "pdfinfo": "Pages:"}[tool]
    assert expected in out, out


def test_pdftoppm_renders_a_weasyprint_pdf(tiny_pdf: Path, tmp_path: Path) -> None:
    path = external.poppler("pdftoppm")
    external.require("pdftoppm", path)
    assert path is not None

    run([path, "-png", "-r", "20", "-singlefile", str(tiny_pdf), str(tmp_path / "page")])

    assert (tmp_path / "page.png").read_bytes().startswith(b"\x89PNG")


def test_qpdf_checks_a_weasyprint_pdf(tiny_pdf: Path, tmp_path: Path) -> None:
    path = external.qpdf()
    external.require("qpdf", path)
    assert path is not None

    out = run([path, "--check", str(tiny_pdf)])
    assert "No syntax or stream encoding errors found" in out, out

    # ... and it does complain about a damaged file (exit 2: errors; 3: warnings only).
    damaged = tmp_path / "damaged.pdf"
    damaged.write_bytes(tiny_pdf.read_bytes()[:-200])
    proc = subprocess.run(
        [path, "--check", str(damaged)], capture_output=True, text=True, timeout=60, check=False
    )
    assert proc.returncode in (2, 3), proc.stdout + proc.stderr


# --- jing and TEI tei_all ----------------------------------------------------------------------


@pytest.mark.slow
def test_jing_validates_tei_against_tei_all(tmp_path: Path) -> None:
    schema = external.tei_all_rng()
    external.require("tei_all.rng", schema)
    assert schema is not None
    valid = tmp_path / "valid.xml"
    invalid = tmp_path / "invalid.xml"
    valid.write_text(TEI_DOCUMENT, encoding="utf-8")
    invalid.write_text(TEI_DOCUMENT.replace("<p>Hello.</p>", "<bogus>Hello.</bogus>"), encoding="utf-8")

    errors = external.run_jing(schema, [valid, invalid])  # one JVM, one schema compilation

    assert not [e for e in errors if os.fspath(valid) in e], errors
    assert any(os.fspath(invalid) in e and '"bogus"' in e for e in errors), errors


# --- the rule itself ---------------------------------------------------------------------------


def test_require_skips_locally_and_fails_in_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="not installed: apt-get install qpdf"):
        external.require("qpdf", None)
    monkeypatch.setenv("CI", "")
    with pytest.raises(pytest.skip.Exception, match="not installed: apt-get install poppler-utils"):
        external.require("pdftotext", None)
    external.require("qpdf", "/usr/bin/qpdf")  # found: nothing happens


def test_a_wrong_env_var_is_not_replaced_by_path(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("EDITION_QPDF", str(tmp_path / "no-such-qpdf"))
    assert external.qpdf() is None
