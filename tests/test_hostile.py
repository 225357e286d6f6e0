"""Hostile input (``tests/hostile/``, see its README): every attack is refused with one clear
error, or neutralised in every format (web page, PDF, EPUB); nothing is fetched, nothing
leaks, nothing hangs, and every limit of :class:`edition.Limits` is enforced.

Files that name ``127.0.0.1:PORT`` are copied with ``PORT`` replaced by the port of a local
listener that must see no connection; on top of that, every Python-level socket connection
is refused and recorded for the whole module.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import socket
import struct
import subprocess
import sys
import threading
import time
import unicodedata
import warnings
import zipfile
import zlib
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path, PurePosixPath
from typing import Any

import pytest
from click.testing import CliRunner
from lxml import etree
from lxml import html as lxml_html

import edition
import external
from conftest import REPO, tei_document
from edition import EditionError, EditionWarning, Limits, ParseError, RenderError, UnsafeInputError
from edition.cli import main as cli

HOSTILE = Path(__file__).resolve().parent / "hostile"
XHTML = "http://www.w3.org/1999/xhtml"
XLINK_HREF = "{http://www.w3.org/1999/xlink}href"
FORMATS = ("html", "pdf", "epub")

#: Strings that must never reach any output: the markers of the attack files, local files' contents.
NEVER = ("127.0.0.1", "file:", "javascript:", "vbscript:", "/etc/passwd", "/etc/shadow", "root:x:0:0")


# --------------------------------------------------------------------------- nothing is fetched


class Listener:
    """A TCP listener on 127.0.0.1 standing in for the network: it records every connection."""

    def __init__(self) -> None:
        self.server = socket.socket()
        self.server.bind(("127.0.0.1", 0))
        self.server.listen(8)
        self.server.settimeout(0.1)
        self.port: int = self.server.getsockname()[1]
        self.connections: list[object] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                connection, peer = self.server.accept()
            except OSError:
                continue
            self.connections.append(peer)
            connection.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.server.close()


@pytest.fixture
def listener() -> Iterator[Listener]:
    server = Listener()
    try:
        yield server
    finally:
        server.close()
    assert server.connections == [], f"something connected to the stand-in network: {server.connections}"


@pytest.fixture(autouse=True)
def no_connections(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[object]]:
    """Any connection Python code opens during a test here fails, and the test with it."""
    attempts: list[object] = []
    original = socket.socket.connect

    def refuse(self: socket.socket, address: Any) -> None:
        if self.family == socket.AF_UNIX:  # fontconfig, D-Bus and the like: local, not the network
            original(self, address)
            return
        attempts.append(address)
        raise ConnectionRefusedError(f"test_hostile: no connection allowed (to {address})")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    yield attempts
    assert attempts == [], f"the library tried to connect to {attempts}"


# --------------------------------------------------------------------------- placing attack files


def place(name: str, folder: Path, port: int = 9) -> Path:
    """Copy ``tests/hostile/NAME`` and the SVG images the attack files use into ``folder``, ``PORT`` set."""
    folder.mkdir(parents=True, exist_ok=True)
    for companion in [name, *(p.name for p in HOSTILE.glob("*.svg"))]:
        text = (HOSTILE / companion).read_text(encoding="utf-8")
        (folder / companion).write_text(text.replace("PORT", str(port)), encoding="utf-8")
    return folder / name


def png(width: int, height: int) -> bytes:
    """A valid greyscale PNG of any size, all black; it compresses to almost nothing."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    compressor = zlib.compressobj(9)
    row = b"\x00" + b"\x00" * ((width + 7) // 8)
    body = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", body) + chunk(b"IEND", b"")


def quietly_load(path: Path, **options: Any) -> tuple[edition.Edition, list[str]]:
    """Load, returning the model and the messages of the EditionWarnings it gave (others still fail)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", EditionWarning)
        loaded = edition.load(path, **options)
    others = [w for w in caught if not issubclass(w.category, EditionWarning)]
    for warning in others:
        warnings.warn_explicit(warning.message, warning.category, warning.filename, warning.lineno)
    return loaded, [str(w.message) for w in caught if issubclass(w.category, EditionWarning)]


def quietly_build(source: Path, out: Path, **options: Any) -> tuple[edition.BuildResult, list[str]]:
    """Build, returning the result and the messages of the EditionWarnings it gave."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", EditionWarning)
        result = edition.build(source, out, **options)
    others = [w for w in caught if not issubclass(w.category, EditionWarning)]
    for warning in others:
        warnings.warn_explicit(warning.message, warning.category, warning.filename, warning.lineno)
    return result, [str(w.message) for w in caught if issubclass(w.category, EditionWarning)]


def assert_clear(error: EditionError, path: Path, *, line: int | None = None) -> None:
    """One line that names the file (and line), with a hint: what the CLI prints."""
    message = str(error)
    assert error.path == str(path)
    assert message.startswith(f"{path}:"), message
    assert "\n" not in message, message
    assert error.hint and error.hint in message, message
    if line is not None:
        assert error.line == line, message


# --------------------------------------------------------------------------- what an output holds


def pdf_links(pdf: Path) -> list[str]:
    """Every URI and other action of the PDF's annotations, and any JavaScript or launch action."""
    import pikepdf

    found: list[str] = []
    with pikepdf.open(pdf) as document:
        for page in document.pages:
            for annotation in page.get("/Annots", []):
                action = annotation.get("/A")
                if action is None:
                    continue
                kind = str(action.get("/S"))
                if kind == "/URI":
                    found.append(str(action.get("/URI")))
                elif kind != "/GoTo":
                    found.append(f"{kind} action")
        for obj in document.objects:
            if isinstance(obj, pikepdf.Dictionary) and str(obj.get("/S", "")) in {"/JavaScript", "/Launch"}:
                found.append(f"{obj.get('/S')} action")
        if "/Names" in document.Root and "/JavaScript" in document.Root.Names:
            found.append("document JavaScript")
        if "/OpenAction" in document.Root:
            found.append("open action")
    return found


def pdf_bytes(pdf: Path) -> bytes:
    """Every object of a PDF, streams decompressed: what a search for a leaked string must look in."""
    import pikepdf

    parts: list[bytes] = []
    with pikepdf.open(pdf) as document:
        for obj in document.objects:
            if isinstance(obj, pikepdf.Stream):
                with contextlib.suppress(pikepdf.PdfError):
                    parts.append(obj.read_bytes())
            with contextlib.suppress(Exception):
                parts.append(obj.unparse())
    return b"\n".join(parts)


def epub_documents(epub: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(epub) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


#: Attributes that make a reader's software fetch or follow something.
_REFERENCES = frozenset(
    {"href", "src", "srcset", "action", "formaction", "poster", "data", "cite", "background"}
)


def html_references(root: etree._Element) -> list[tuple[str, str]]:
    """``(attribute, value)`` of every attribute that makes a reader's software fetch or follow something."""
    found = []
    for element in root.iter():
        if not isinstance(element.tag, str):
            continue
        for name, value in element.attrib.items():
            local = name.split("}")[-1]
            if local in _REFERENCES:
                found.append((local, value))
    return found


def assert_safe_markup(root: etree._Element, *, medium: str) -> None:
    """No event handler, no inline style, no script but the page's own, no foreign frame or object."""
    for element in root.iter():
        if not isinstance(element.tag, str):
            continue
        local = etree.QName(element).localname
        assert local not in {"iframe", "object", "embed", "base", "form", "style", "frame"}, (medium, local)
        if local == "script":
            assert medium == "web" and element.get("src") == "assets/edition.js", etree.tostring(element)
        for name in element.attrib:
            attribute = name.split("}")[-1].lower()
            assert not attribute.startswith("on"), (medium, local, name, element.get(name))
            assert attribute != "style", (medium, local, element.get(name))


def allowed_target(value: str, *, external_ok: frozenset[str], exists: Callable[[str], bool]) -> bool:
    if value.startswith("#"):
        return True
    if value in external_ok:
        return True
    if re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:", value) or value.startswith(("/", "\\")):
        return False
    path = value.split("#")[0]
    return ".." not in PurePosixPath(path).parts and exists(path)


def assert_outputs_safe(out: Path, stem: str, *, external_ok: frozenset[str] = frozenset()) -> None:
    """Every link and reference of every output is a fragment, a file of the output itself, or
    one of ``external_ok``; no script, handler or style from the source; nothing in ``NEVER``."""
    page_file = out / "index.html"
    if page_file.exists():
        text = page_file.read_text(encoding="utf-8")
        page = lxml_html.document_fromstring(text)
        assert_safe_markup(page, medium="web")
        for attribute, value in html_references(page):
            assert allowed_target(value, external_ok=external_ok, exists=lambda p: (out / p).is_file()), (
                f"web page: {attribute}={value!r}"
            )
        for needle in NEVER:
            assert needle not in text, f"web page holds {needle!r}"
    pdf = out / f"{stem}.pdf"
    if pdf.exists():
        links = pdf_links(pdf)
        assert all(link in external_ok for link in links), f"PDF links: {links}"
        raw = pdf_bytes(pdf)
        for needle in NEVER:
            assert needle.encode() not in raw, f"PDF holds {needle!r}"
    epub = out / f"{stem}.epub"
    if epub.exists():
        members = epub_documents(epub)
        for name, data in members.items():
            for needle in NEVER:
                assert needle.encode() not in data, f"EPUB {name} holds {needle!r}"
            if not name.endswith(".xhtml"):
                continue
            root = etree.fromstring(data, etree.XMLParser(resolve_entities=False, no_network=True))
            assert_safe_markup(root, medium="epub")
            folder = PurePosixPath(name).parent

            def inside(path: str, folder: PurePosixPath = folder) -> bool:
                return str(folder / path) in members

            for attribute, value in html_references(root):
                assert allowed_target(value, external_ok=external_ok, exists=inside), (
                    f"EPUB {name}: {attribute}={value!r}"
                )


def visible_text(root: etree._Element) -> str:
    """The text of the page's body, without the parts that are not text (scripts)."""
    body = root.find(".//body") if root.find(".//body") is not None else root
    assert body is not None
    return "".join(body.itertext())


def _characters(text: str) -> list[str]:
    return [c for c in unicodedata.normalize("NFC", text) if not c.isspace()]


def missing_characters(expected_text: str, page_text: str) -> list[str]:
    """Characters of ``expected_text`` (NFC, white space aside) that the page lacks, counting
    repeats, or that it has out of order; empty when every character is there in order."""
    expected = _characters(expected_text)
    actual = _characters(page_text)
    short = Counter(expected) - Counter(actual)
    if short:
        return sorted(short.elements())
    position = 0
    for index, character in enumerate(expected):
        position = actual.index(character, position) if character in actual[position:] else -1
        if position < 0:
            return [f"{character!r} (character {index} of the reading text) out of order"]
        position += 1
    return []


# --------------------------------------------------------------------------- refused at load

#: Attack files refused when loaded (strict or not): (error, line, column, words of the message).
REFUSED_AT_LOAD: dict[str, tuple[type[EditionError], int, int | None, str]] = {
    "doctype-after-comment.xml": (UnsafeInputError, 4, 1, "DOCTYPE"),
    "parameter-entity.xml": (UnsafeInputError, 2, 1, "DOCTYPE"),
    "external-dtd.xml": (UnsafeInputError, 2, 1, "DOCTYPE"),
    "quadratic-blowup.xml": (UnsafeInputError, 2, 1, "DOCTYPE"),
    "char-ref-control.xml": (ParseError, 12, 48, "invalid xmlChar value 1"),
    "deep-nesting.xml": (ParseError, 12, None, "nested 129 deep, over the limit of 128"),
    "graphic-file-url.xml": (UnsafeInputError, 14, None, "outside the edition's folder"),
    "graphic-absolute.xml": (UnsafeInputError, 14, None, "outside the edition's folder"),
    "graphic-parent.xml": (UnsafeInputError, 14, None, "outside the edition's folder"),
    "graphic-encoded-parent.xml": (UnsafeInputError, 14, None, "outside the edition's folder"),
    "graphic-backslash.xml": (UnsafeInputError, 14, None, "outside the edition's folder"),
    "graphic-network.xml": (UnsafeInputError, 14, None, "outside the edition's folder"),
    "graphic-protocol-relative.xml": (UnsafeInputError, 14, None, "outside the edition's folder"),
    "graphic-data.xml": (UnsafeInputError, 14, None, "outside the edition's folder"),
    "graphic-unparseable.xml": (UnsafeInputError, 14, None, "outside the edition's folder"),
}


@pytest.mark.parametrize("name", sorted(REFUSED_AT_LOAD))
def test_refused_at_load_with_file_line_and_hint(name: str, tmp_path: Path, listener: Listener) -> None:
    kind, line, column, words = REFUSED_AT_LOAD[name]
    source = place(name, tmp_path, listener.port)
    started = time.perf_counter()
    with pytest.raises(kind) as caught:
        edition.load(source, strict=False)
    assert time.perf_counter() - started < 5, "refusing took seconds: was something expanded?"
    error = caught.value
    assert_clear(error, source, line=line)
    if column is not None:
        assert error.column == column, str(error)
    assert words in error.message
    for needle in ("root:", "XML_PARSE", "Traceback", "xmlParse"):
        assert needle not in str(error)


@pytest.mark.parametrize("name", sorted(REFUSED_AT_LOAD))
def test_the_command_line_says_one_line_and_writes_nothing(name: str, tmp_path: Path) -> None:
    source = place(name, tmp_path)
    out = tmp_path / "out"
    result = CliRunner().invoke(cli, ["build", str(source), "-o", str(out), "--non-strict"])
    assert result.exit_code == 1, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1, result.output
    assert lines[0].startswith(f"{source}:"), lines[0]
    assert "Traceback" not in result.output
    assert not isinstance(result.exception, Exception) or isinstance(result.exception, SystemExit)
    assert not out.exists()


def test_a_real_process_fails_in_one_line_without_a_traceback_or_a_connection(
    tmp_path: Path, listener: Listener
) -> None:
    """The installed command, in a process of its own: the C parser cannot reach the network either."""
    for name in ("parameter-entity.xml", "external-dtd.xml", "graphic-network.xml"):
        source = place(name, tmp_path, listener.port)
        process = subprocess.run(
            [
                sys.executable,
                "-m",
                "edition.cli",
                "build",
                str(source),
                "-o",
                str(tmp_path / "out"),
                "--non-strict",
                "--format",
                "html",
            ],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
            cwd=REPO,
            env={**os.environ, "PYTHONPATH": str(REPO / "src")},
        )
        assert process.returncode == 1, process.stderr
        assert process.stderr.count("\n") == 1 and process.stderr.startswith(f"{source}:"), process.stderr
        assert "Traceback" not in process.stderr
        assert process.stdout == ""


def test_the_default_size_limit_refuses_a_huge_file_before_reading_it(tmp_path: Path) -> None:
    source = tmp_path / "huge.xml"
    with source.open("wb") as handle:  # sparse: 64 MiB + 1 byte of nothing, on no disk
        handle.truncate(Limits().max_bytes + 1)
    started = time.perf_counter()
    with pytest.raises(ParseError) as caught:
        edition.build(source, tmp_path / "out")
    assert time.perf_counter() - started < 2
    assert_clear(caught.value, source)
    assert "over the limit of 67,108,864" in caught.value.message
    assert "max_bytes" in (caught.value.hint or "")


def test_a_smaller_size_limit_is_applied_by_build(tmp_path: Path) -> None:
    source = place("many-notes.xml", tmp_path)
    with pytest.raises(ParseError, match="over the limit of 100"):
        edition.build(source, tmp_path / "out", formats="html", limits=Limits(max_bytes=100))
    assert not (tmp_path / "out").exists()


def test_a_text_longer_than_the_parser_allows_is_a_clear_error(tmp_path: Path) -> None:
    source = tmp_path / "long-text.xml"
    source.write_text(tei_document("<p>" + "a" * 10_000_001 + "</p>"), encoding="utf-8")
    with pytest.raises(ParseError) as caught:
        edition.load(source)
    assert_clear(caught.value, source, line=1)
    assert "longer than the XML parser allows" in caught.value.message
    assert "XML_PARSE_HUGE" not in str(caught.value)


def test_too_many_notes_are_refused_by_build_at_the_first_over_the_limit(tmp_path: Path) -> None:
    source = place("many-notes.xml", tmp_path)
    assert len(edition.load(source).notes) == 6
    with pytest.raises(ParseError) as caught:
        edition.build(source, tmp_path / "out", formats="html", limits=Limits(max_notes=5))
    assert_clear(caught.value, source, line=12)
    assert "more than 5 notes" in caught.value.message
    assert not (tmp_path / "out").exists()


def test_nesting_at_the_depth_limit_renders_in_every_format(tmp_path: Path) -> None:
    source = place("deep-at-limit.xml", tmp_path)
    result = edition.build(source, tmp_path / "out", formats=FORMATS)
    page = (result.out_dir / "index.html").read_text(encoding="utf-8")
    assert "as deep as allowed" in page
    assert_outputs_safe(result.out_dir, source.stem)


# --------------------------------------------------------------------------- refused at build


def _prepare_symlink(folder: Path) -> None:
    outside = folder.parent / "outside.png"
    outside.write_bytes(png(8, 8))
    (folder / "images").mkdir(exist_ok=True)
    (folder / "images" / "link.png").symlink_to(outside)


def _prepare_fifo(folder: Path) -> None:
    (folder / "images").mkdir(exist_ok=True)
    os.mkfifo(folder / "images" / "pipe.png")


def _prepare_secret(folder: Path) -> None:
    (folder / "secret.txt").write_text("SECRET-TEXT-9e1f, not an image", encoding="utf-8")


def _prepare_directory(folder: Path) -> None:
    (folder / "images").mkdir(exist_ok=True)


def _prepare_bomb(folder: Path) -> None:
    (folder / "images").mkdir(exist_ok=True)
    (folder / "images" / "bomb.png").write_bytes(png(30_000, 30_000))  # 900 million pixels, ~100 KB


#: Attack files that load but cannot be built: (how to set up the folder, words of the error).
REFUSED_AT_BUILD: dict[str, tuple[Callable[[Path], None], str]] = {
    "graphic-symlink.xml": (_prepare_symlink, "resolves outside the edition's folder"),
    "graphic-fifo.xml": (_prepare_fifo, "is not a regular file"),
    "graphic-not-an-image.xml": (_prepare_secret, "is not a PNG, JPEG, GIF, WebP or SVG image"),
    "graphic-directory.xml": (_prepare_directory, "is not a regular file"),
    "image-bomb.xml": (_prepare_bomb, "has more than 50,000,000 pixels"),
    "svg-entities.xml": (lambda folder: None, "declares or uses entities"),
    "svg-external.xml": (lambda folder: None, "refers to another file"),
}


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("name", sorted(REFUSED_AT_BUILD))
def test_refused_at_build_in_every_format_and_nothing_written(
    name: str, fmt: str, tmp_path: Path, listener: Listener
) -> None:
    prepare, words = REFUSED_AT_BUILD[name]
    folder = tmp_path / "edition"
    source = place(name, folder, listener.port)
    prepare(folder)
    out = tmp_path / "out"
    started = time.perf_counter()
    with pytest.raises(RenderError) as caught:
        edition.build(source, out, formats=fmt)
    assert time.perf_counter() - started < 30, "never a hang"
    assert_clear(caught.value, source)
    assert words in caught.value.message
    assert "SECRET-TEXT" not in str(caught.value)
    assert not out.exists()


def test_an_image_over_the_byte_limit_is_refused(tmp_path: Path) -> None:
    source = place("image-large.xml", tmp_path)
    (tmp_path / "images").mkdir()
    (tmp_path / "images" / "large.png").write_bytes(png(2000, 2000))
    size = (tmp_path / "images" / "large.png").stat().st_size
    with pytest.raises(RenderError) as caught:
        edition.build(source, tmp_path / "out", formats="html", limits=Limits(max_image_bytes=size - 1))
    assert_clear(caught.value, source)
    assert f"larger than {size - 1:,} bytes" in caught.value.message
    assert "max_image_bytes" in (caught.value.hint or "")
    result = edition.build(source, tmp_path / "out", formats="html", limits=Limits(max_image_bytes=size))
    copied = result.out_dir / "images" / "large.png"
    assert copied.read_bytes() == (tmp_path / "images" / "large.png").read_bytes()


def test_a_smaller_pixel_limit_is_applied(tmp_path: Path) -> None:
    source = place("image-large.xml", tmp_path)
    (tmp_path / "images").mkdir()
    (tmp_path / "images" / "large.png").write_bytes(png(100, 50))
    with pytest.raises(RenderError, match="more than 4,999 pixels"):
        edition.build(source, tmp_path / "out", formats="html", limits=Limits(max_image_pixels=4_999))
    edition.build(source, tmp_path / "out", formats="html", limits=Limits(max_image_pixels=5_000))


def test_the_pdf_fetcher_refuses_what_build_would_have_caught(tmp_path: Path, listener: Listener) -> None:
    """Second line of defence: rendering the PDF directly (no image check first) still fetches nothing."""
    from edition import pdf
    from edition.build import source_date

    source = place("svg-external.xml", tmp_path, listener.port)
    loaded = edition.load(source)
    with pytest.raises(RenderError) as caught:
        pdf.render_pdf(loaded, when=source_date(loaded))
    assert "refused to fetch" in caught.value.message
    assert str(listener.port) in caught.value.message or "file:" in caught.value.message


# --------------------------------------------------------------------------- neutralised in every format

GOOD_LINKS = frozenset({"https://example.org/fine", "mailto:editor@example.org"})


@pytest.fixture(scope="module")
def link_build(tmp_path_factory: pytest.TempPathFactory) -> tuple[edition.BuildResult, list[str]]:
    folder = tmp_path_factory.mktemp("links")
    source = place("link-schemes.xml", folder)
    return quietly_build(source, folder / "out", formats=FORMATS, strict=False)


def test_unsafe_links_are_refused_one_by_one_with_a_warning_each(
    link_build: tuple[edition.BuildResult, list[str]],
) -> None:
    _, messages = link_build
    refused = [m for m in messages if "refused" in m]
    assert len(refused) == 20, "\n".join(messages)  # 19 refs and a ptr
    source_lines = (HOSTILE / "link-schemes.xml").read_text(encoding="utf-8").splitlines()
    for message in refused:
        line = int(message.split(":")[1])
        assert "target=" in source_lines[line - 1], message
    assert not any("example.org/fine" in m or "editor@example.org" in m or "#p1" in m for m in refused)


@pytest.mark.parametrize("medium", ["web", "pdf", "epub"])
def test_only_safe_links_reach_each_format(
    medium: str, link_build: tuple[edition.BuildResult, list[str]]
) -> None:
    result, _ = link_build
    out, stem = result.out_dir, result.source.stem
    if medium == "web":
        page = lxml_html.document_fromstring((out / "index.html").read_text(encoding="utf-8"))
        targets = {value for attribute, value in html_references(page) if attribute == "href"}
        assert targets >= GOOD_LINKS
        assert "#p1" in targets
        for needle in ("script", "mixed case", "a local file", "climbing out", "an unparseable URL"):
            assert needle in visible_text(page), f"the text of a refused link is lost: {needle}"
    elif medium == "pdf":
        assert set(pdf_links(out / f"{stem}.pdf")) == GOOD_LINKS
    else:
        hrefs = set()
        for name, data in epub_documents(out / f"{stem}.epub").items():
            if name.endswith(".xhtml"):
                root = etree.fromstring(data, etree.XMLParser(resolve_entities=False, no_network=True))
                hrefs |= {value for attribute, value in html_references(root) if attribute == "href"}
        assert hrefs >= GOOD_LINKS
    assert_outputs_safe(out, stem, external_ok=GOOD_LINKS)


@pytest.mark.parametrize(
    "name",
    [
        "facs.xml",
        "source-css.xml",
        "markup-injection.xml",
        "xinclude.xml",
        "processing-instructions.xml",
        "schema-location.xml",
    ],
)
def test_neutralised_in_every_format(name: str, tmp_path: Path, listener: Listener) -> None:
    """These load (non-strict) and build; what they smuggle in reaches no output and fetches nothing."""
    secret = tmp_path / "secret.txt"
    secret.write_text("SECRET-5b2e", encoding="utf-8")
    source = place(name, tmp_path, listener.port)
    result, messages = quietly_build(source, tmp_path / "out", formats=FORMATS, strict=False)
    out = result.out_dir
    assert_outputs_safe(out, source.stem)
    everything = [
        (out / "index.html").read_bytes(),
        pdf_bytes(out / f"{source.stem}.pdf"),
        *epub_documents(out / f"{source.stem}.epub").values(),
    ]
    for data in everything:
        for marker in (
            b"CSS-",
            b"FACS-",
            b"SECRET-5b2e",
            # the port as the sources write it (its digits alone turn up by chance in font data)
            f"127.0.0.1:{listener.port}".encode(),
            b"url(http",
            b"color:red",
            b"xsi:",
            b"xml-stylesheet",
        ):
            assert marker not in data, marker
    if name == "xinclude.xml":
        assert any("include" in m for m in messages), messages


def test_source_css_never_reaches_any_output_and_the_style_sheets_are_the_packages(tmp_path: Path) -> None:
    from edition.web import package_file

    source = place("source-css.xml", tmp_path)
    result, _ = quietly_build(source, tmp_path / "out", formats=("html", "epub"), strict=False)
    out = result.out_dir
    for sheet in ("base.css", "screen.css"):
        assert (out / "assets" / sheet).read_bytes() == package_file("styles", sheet).read_bytes()
    page = lxml_html.document_fromstring((out / "index.html").read_text(encoding="utf-8"))
    foreign_sheets = "//link[@rel='stylesheet'][not(starts-with(@href, 'assets/'))]"
    assert not page.xpath(f"//style | //*[@style] | {foreign_sheets}")
    members = epub_documents(out / f"{source.stem}.epub")
    css = {name: data for name, data in members.items() if name.endswith(".css")}
    assert css and all(b"CSS-" not in data and b"url(http" not in data for data in css.values())


def test_markup_in_the_source_is_text_in_every_output(tmp_path: Path) -> None:
    source = place("markup-injection.xml", tmp_path)
    result, _ = quietly_build(source, tmp_path / "out", formats=FORMATS, strict=False)
    out = result.out_dir
    page = lxml_html.document_fromstring((out / "index.html").read_text(encoding="utf-8"))
    text = visible_text(page)
    assert "<script>alert('TEXT-XSS')</script>" in text
    assert "<img src=x onerror=alert('IMG-XSS')>" in text
    assert "</title><script>alert('TITLE-XSS')</script>" in page.findtext(".//title")
    assert [s.get("src") for s in page.iter("script")] == ["assets/edition.js"]
    for documents in epub_documents(out / f"{source.stem}.epub").items():
        name, data = documents
        if name.endswith("text-1.xhtml"):
            assert b"&lt;script&gt;alert('TEXT-XSS')&lt;/script&gt;" in data
    external.require("pdftotext", external.poppler("pdftotext"))
    from edition.inspect import pdftotext

    printed = " ".join(pdftotext(out / f"{source.stem}.pdf"))
    assert "TEXT-XSS" in printed and "IMG-XSS" in printed


def test_source_ids_never_collide_with_the_ids_the_renderers_make_up(tmp_path: Path) -> None:
    source = place("id-clash.xml", tmp_path)
    with pytest.warns(edition.EditionWarning, match="outputs use for their own parts") as caught:
        result = edition.build(source, tmp_path / "out", formats=("html", "epub"), strict=False)
    renamed = {str(w.message).split("xml:id ")[1].split()[0] for w in caught}
    assert renamed == {
        "'about'",
        "'notes'",
        "'text'",
        "'title'",
        "'notes-title'",
        "'landmarks-title'",
        "'note-n-clash'",  # the id the outputs derive for note n-clash's place
        "'app-s-clash'",  # ... and for the apparatus row of intervention s-clash
        "'page-1'",  # the start of print page 1 in the web page and EPUB (not pb's page-2)
        "'registers'",  # a person's, in the header: her mention must still find her
    }
    (person,) = result.edition.entities
    assert person.id == "registers-1" and len(person.occurrences) == 1
    page = lxml_html.document_fromstring((result.out_dir / "index.html").read_text(encoding="utf-8"))
    for reference in page.find_class("noteref"):
        (target,) = page.xpath("//*[@id = $id]", id=reference.get("href").removeprefix("#"))
        assert target.tag == "li" and target.getparent().get("class") == "notes"
    documents = {"index.html": page}
    for name, data in epub_documents(result.out_dir / f"{source.stem}.epub").items():
        if name.endswith(".xhtml"):
            documents[name] = etree.fromstring(data)
    for name, root in documents.items():
        ids = Counter(element.get("id") for element in root.iter() if element.get("id"))
        assert [i for i, n in ids.items() if n > 1] == [], name


#: Ids the outputs derive from an id of the model: a note's reference, an apparatus row, a
#: register entry, a tooltip, a heading, a page of the print edition.
_DERIVED_ID = re.compile(r"^(?:note|noteref|app|tip|reg)-(?P<of>.+)$|^(?P<head>.+)-head$|^page-\d+$")


def _model_ids(loaded: edition.Edition) -> set[str]:
    """Every ``id`` field anywhere in the model (blocks, inlines, notes, interventions, entities)."""
    import dataclasses

    found: set[str] = set()
    pending: list[object] = [loaded]
    seen: set[int] = set()
    while pending:
        item = pending.pop()
        if id(item) in seen:
            continue
        seen.add(id(item))
        if dataclasses.is_dataclass(item) and not isinstance(item, type):
            for field in dataclasses.fields(item):
                value = getattr(item, field.name)
                if field.name == "id" and isinstance(value, str):
                    found.add(value)
                pending.append(value)
        elif isinstance(item, tuple | list):
            pending.extend(item)
    return found


def test_every_id_the_outputs_make_up_for_themselves_is_reserved(tmp_path: Path) -> None:
    # an id the outputs give one of their own parts must be in RESERVED_IDS, or a source
    # element with that id would be a second element with it (see the test above)
    from edition.model import RESERVED_IDS

    result = edition.build(
        REPO / "sources" / "panahli-january-20.xml", tmp_path / "out", formats=("html", "epub")
    )
    model = _model_ids(result.edition)
    roots = [lxml_html.document_fromstring((result.out_dir / "index.html").read_text(encoding="utf-8"))]
    for name, data in epub_documents(result.out_dir / "panahli-january-20.epub").items():
        if name.endswith(".xhtml"):
            roots.append(etree.fromstring(data))
    made_up = set()
    for root in roots:
        for element in root.iter():
            value = element.get("id") if isinstance(element.tag, str) else None
            if not value or value in model:
                continue
            derived = _DERIVED_ID.match(value)
            if derived and (derived["of"] in model or derived["head"] in model or value.startswith("page-")):
                continue
            made_up.add(value)
    assert made_up, "the outputs give their own parts ids (notes, about...)"
    assert sorted(made_up - RESERVED_IDS) == []


# --------------------------------------------------------------------------- Unicode: nothing lost, no tofu


def test_every_character_of_unusual_unicode_reaches_the_page_and_the_epub(tmp_path: Path) -> None:
    source = place("unicode-edges.xml", tmp_path)
    result, _ = quietly_build(source, tmp_path / "out", formats=("html", "epub"))
    loaded = result.edition
    reading = loaded.text("reading")
    for expected in ("\ue000", "\U0010fffd", "\u202e", "\U0001f469\u200d\U0001f52c", "\ufdd0", "e\u0301"):
        assert unicodedata.normalize("NFC", expected) in unicodedata.normalize("NFC", reading)
    page = lxml_html.document_fromstring((result.out_dir / "index.html").read_text(encoding="utf-8"))
    assert missing_characters(reading, visible_text(page)) == []
    members = epub_documents(result.out_dir / f"{source.stem}.epub")
    book = "".join(
        "".join(etree.fromstring(data).itertext()) for name, data in members.items() if "/text-" in name
    )
    assert missing_characters(reading, book) == []


def _fc_has(character: str) -> bool | None:
    fc_list = shutil.which("fc-list")
    if not fc_list:
        return None
    found = subprocess.run(
        [fc_list, f":charset={ord(character):x}", "family"],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    return bool(found.stdout.strip())


def test_characters_no_font_has_are_named_with_where_they_are(tmp_path: Path) -> None:
    """The PDF build warns, naming U+XXXX, the character's name and the block, for each character
    that neither EB Garamond nor any installed font has (it would print as an empty box)."""
    source = place("unicode-edges.xml", tmp_path)
    result, messages = quietly_build(source, tmp_path / "out", formats=("pdf",))
    boxes = [m for m in messages if "in no installed font" in m]
    for character, name, block in (
        ("\ue000", "<private use>", "u5"),
        ("\U0010fffd", "<private use>", "u5"),
        ("\u0378", "<unassigned>", "u5"),
        ("\U0001f9ff", "NAZAR AMULET", "u6"),
    ):
        if _fc_has(character):
            continue  # this machine has a font for it: no box, no warning
        code = f"U+{ord(character):04X}"
        (message,) = [m for m in boxes if f"{code} " in m]
        assert message.startswith(f"{source}: {code} {name} in {block}"), message
    assert not any("U+0627" in m or "U+05E9" in m for m in boxes), "Arabic and Hebrew have fonts here"
    assert (result.out_dir / "unicode-edges.pdf").stat().st_size > 0


def test_arabic_and_hebrew_print_in_an_embedded_fallback_font(tmp_path: Path) -> None:
    """EB Garamond has no Arabic or Hebrew: the PDF embeds a font that has them (pdffonts), and
    the words are in the PDF's text (pdftotext), never boxes."""
    from conftest import CORPUS
    from edition import fonts
    from edition.inspect import pdftotext

    source = CORPUS / "multilingual.xml"
    loaded = edition.load(source)
    lacking = {item.character: item for item in fonts.uncovered(loaded)}
    for word in ("كتاب", "שלום"):
        for character in word:
            assert character in lacking and lacking[character].places == ("p3",)
            assert lacking[character].fonts, f"no installed font has {character!r}"
    for word in ("λόγος", "слово", "dağ", "qız", "gözəl"):
        assert not any(character in lacking for character in word), word
    result, messages = quietly_build(source, tmp_path / "out", formats=("pdf",))
    assert not [m for m in messages if "installed font" in m]
    pdf = result.out_dir / "multilingual.pdf"
    pdffonts = external.poppler("pdffonts")
    external.require("pdffonts", pdffonts)
    assert pdffonts is not None
    listing = subprocess.run([pdffonts, str(pdf)], capture_output=True, text=True, check=True).stdout
    rows = listing.splitlines()[2:]
    assert all(row.split()[-5] == "yes" for row in rows), listing
    fallbacks = [row for row in rows if "Garamond" not in row]

    def squeeze(name: str) -> str:
        return re.sub(r"[\s-]", "", name)

    families = {squeeze(family) for item in lacking.values() for family in item.fonts}
    assert any(any(family in squeeze(row) for family in families) for row in fallbacks), listing
    external.require("pdftotext", external.poppler("pdftotext"))
    text = unicodedata.normalize("NFC", " ".join(pdftotext(pdf)))
    for word in ("λόγος", "слово", "gözəl"):
        assert word in text, word
    for word in ("كتاب", "שלום"):  # pdftotext may write right-to-left words in visual order
        assert word in text or word[::-1] in text, word


def test_the_web_font_stack_falls_back_after_eb_garamond() -> None:
    from edition.web import package_file

    css = package_file("styles", "base.css").read_text(encoding="utf-8")
    stack = re.search(r"html\s*{[^}]*?font-family:\s*([^;]+);", css)
    assert stack, "base.css sets no font-family on html"
    families = [name.strip().strip('"') for name in stack.group(1).split(",")]
    assert families[0] == "EB Garamond"
    assert len(families) > 2 and families[-1] in {"serif", "sans-serif"}, families


def test_font_coverage_units() -> None:
    from edition import fonts

    starts, ends = fonts.parse_fc_charset("20-7e a0-17f 5d0-5ea 1f600 bogus")
    font = fonts.InstalledFont("Test Sans", starts, ends)
    assert font.covers(0x41) and font.covers(0x5E9) and font.covers(0x1F600)
    assert not font.covers(0x7F) and not font.covers(0x1F601) and not font.covers(0x10)
    assert fonts.fonts_with("ש", [font]) == ("Test Sans",)
    assert fonts.fonts_with("\ue000", [font]) == ()
    assert fonts.character_name("\u0643") == "ARABIC LETTER KAF"
    assert fonts.character_name("\ue000") == "<private use>"
    assert fonts.character_name("\u0378") == "<unassigned>"
    assert fonts.character_name("\ufdd0") == "<noncharacter>"
    assert fonts.character_name("\U0001fffe") == "<noncharacter>"
    for invisible in (" ", "\u00a0", "\u200d", "\u200e", "\u00ad", "\ufe0f", "\u034f", "\u2028"):
        assert not fonts.needs_glyph(invisible), hex(ord(invisible))
    for visible in ("a", "\u0301", "\ue000", "\U0001f600"):
        assert fonts.needs_glyph(visible)
    assert 0x41 in fonts.garamond_coverage() and 0x3BB in fonts.garamond_coverage()
    assert 0x5D0 not in fonts.garamond_coverage()


def test_uncovered_characters_name_every_place_and_warnings_are_capped(tmp_path: Path) -> None:
    from edition import fonts
    from edition.model import Division

    private = [chr(0xF0000 + n) for n in range(fonts.MAX_WARNINGS + 5)]  # plane 15: no font has these
    source = tmp_path / "private.xml"
    source.write_text(
        tei_document(
            f'<div xml:id="d1"><head>Head \ue000</head><p xml:id="a">\ue000{"".join(private)}</p>'
            '<p xml:id="b">Again \ue000<note xml:id="n1">And in a note \ue000</note></p></div>'
        ),
        encoding="utf-8",
    )
    loaded = edition.load(source)
    found = {item.character: item for item in fonts.uncovered(loaded, installed=())}
    division = loaded.body.blocks[0]
    assert isinstance(division, Division) and division.heading is not None
    head = division.heading.id or division.id  # the heading's own id, where the model gives it one
    assert found["\ue000"].places == (head, "a", "b", "n1")
    assert found["\ue000"].describe(places=2) == f"U+E000 <private use> in {head}, a and 2 more places"
    with pytest.warns(EditionWarning) as caught:
        fonts.warn_uncovered(loaded, installed=())
    messages = [str(w.message) for w in caught]
    assert len(messages) == fonts.MAX_WARNINGS + 1
    first = f"{source}: U+E000 <private use> in {head}, a, b, n1 is in no installed font"
    assert messages[0].startswith(first)
    rest = private[fonts.MAX_WARNINGS - 1 :]  # U+E000 comes first, then the plane-15 ones
    assert messages[-1].endswith(
        f"{len(rest)} more characters are in no installed font: " + ", ".join(f"U+{ord(c):05X}" for c in rest)
    )
    assert caught[0].filename == __file__, "the warning points at the caller"


def test_installed_fonts_are_found_without_fontconfig_too(monkeypatch: pytest.MonkeyPatch) -> None:
    from edition import fonts

    with_fc = fonts.installed_fonts()
    fonts.installed_fonts.cache_clear()
    monkeypatch.setattr(fonts.shutil, "which", lambda name: None)
    try:
        scanned = fonts.installed_fonts()
    finally:
        fonts.installed_fonts.cache_clear()
    if not with_fc:
        pytest.skip("no fonts installed on this machine")
    assert {f.family for f in scanned} >= {f.family for f in with_fc} - {""}
    having = tuple(dict.fromkeys(f.family for f in scanned if f.covers(0x5E9)))
    assert fonts.fonts_with("ש", scanned) == having


def test_a_licence_target_is_checked_like_any_link(tmp_path: Path) -> None:
    source = place("licence-target.xml", tmp_path)
    result = edition.build(source, tmp_path / "out", formats=("html", "epub"))
    assert result.edition.metadata.licence_url is None
    assert_outputs_safe(result.out_dir, source.stem)
