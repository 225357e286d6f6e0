"""``edition.load`` on bad, hostile and unusual input: one clear error each, never a traceback,
never a local file's content, never a network connection; and non-strict loading."""

from __future__ import annotations

import socket
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import pytest

import edition
from conftest import BAD, CORPUS, INTERVIEW, TEI_NS, tei_document
from edition import EditionError, EditionWarning, Limits, ParseError, SourceNotFoundError, UnsafeInputError
from edition import ValidationError as TEIValidationError
from edition.model import Link, Unknown, walk_inlines
from edition.text import words

XI_NS = "http://www.w3.org/2001/XInclude"


def assert_clear(error: EditionError, path: Path, *, line: int | None = None) -> None:
    """One line naming the file first, with a hint; the line number where the error has one."""
    message = str(error)
    assert error.path == str(path)
    assert message.startswith(f"{path}:"), message
    assert "\n" not in message
    assert error.hint, f"no hint in {message!r}"
    assert error.hint in message
    if line is not None:
        assert error.line == line, message
        assert message.startswith(f"{path}:{line}:"), message


def load_error(path: Path, **options: object) -> EditionError:
    with pytest.raises(EditionError) as caught:
        edition.load(path, **options)  # type: ignore[arg-type]
    return caught.value


def deep_body(depth: int, element: str = "hi") -> str:
    """A body whose deepest element is ``depth`` levels down from ``TEI`` (TEI/text/body = 3)."""
    if element == "div":
        count = depth - 4  # div^count/p
        return "<div>" * count + "<p>deep</p>" + "</div>" * count
    count = depth - 4  # p/hi^count
    return "<p>" + f"<{element}>" * count + "deep" + f"</{element}>" * count + "</p>"


# --------------------------------------------------------------------------- files that are not there


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "missing.xml"
    error = load_error(path)
    assert type(error) is SourceNotFoundError
    assert_clear(error, path)
    assert error.line is None


def test_directory_instead_of_a_file(tmp_path: Path) -> None:
    error = load_error(tmp_path)
    assert type(error) is SourceNotFoundError
    assert_clear(error, tmp_path)
    assert "not a file" in str(error)


# --------------------------------------------------------------------------- not XML, not TEI


def test_empty_file() -> None:
    path = BAD / "empty.xml"
    error = load_error(path)
    assert type(error) is ParseError
    assert_clear(error, path, line=1)
    assert error.column == 1
    assert "empty" in error.message


def test_malformed_xml() -> None:
    path = BAD / "malformed.xml"
    error = load_error(path)
    assert type(error) is ParseError
    assert_clear(error, path, line=12)
    assert error.column == 85
    assert "hi" in error.message


def test_root_that_is_not_tei() -> None:
    path = BAD / "not-tei.xml"
    error = load_error(path)
    assert type(error) is TEIValidationError
    assert_clear(error, path, line=2)
    assert "<html>" in error.message


def test_tei_without_namespace() -> None:
    path = BAD / "no-namespace.xml"
    error = load_error(path)
    assert type(error) is TEIValidationError
    assert_clear(error, path, line=2)
    assert "namespace" in error.message
    assert TEI_NS in str(error)


def test_tei_invalid_against_the_schema(write_tei: Callable[..., Path]) -> None:
    path = write_tei("<p>A paragraph.</p>\n<item>An item outside a list.</item>")
    error = load_error(path)
    assert type(error) is TEIValidationError
    assert_clear(error, path, line=2)
    assert "item" in error.message
    assert "strict=False" in error.hint
    assert error.problems and all(isinstance(p, EditionError) for p in error.problems)


def test_tei_without_a_body_is_refused() -> None:
    """Non-strict loading checks only the structure the library needs: text/body is part of it."""
    path = BAD / "invalid.xml"
    with pytest.raises(TEIValidationError) as caught:
        edition.load(path, strict=False)
    assert_clear(caught.value, path)
    assert "body" in caught.value.message


def test_tei_invalid_names_the_offending_line_and_element() -> None:
    error = load_error(BAD / "invalid.xml")
    assert error.line == 11
    assert "p" in error.message.split()


# --------------------------------------------------------------------------- hostile input


def test_external_entity_reading_a_local_file_is_refused(tmp_path: Path) -> None:
    path = BAD / "xxe.xml"
    error = load_error(path)
    assert type(error) is UnsafeInputError
    assert_clear(error, path, line=2)
    assert "root:" not in str(error) and "root:" not in repr(error)
    # the same with a file whose content we know, so that a leak could not go unnoticed
    secret = tmp_path / "secret.txt"
    secret.write_text("SECRET-7f3a9c", encoding="utf-8")
    hostile = tmp_path / "xxe.xml"
    hostile.write_text(
        f'<!DOCTYPE TEI [<!ENTITY xxe SYSTEM "{secret.as_uri()}">]>\n' + tei_document("<p>&xxe;</p>"),
        encoding="utf-8",
    )
    error = load_error(hostile, strict=False)
    assert type(error) is UnsafeInputError
    assert "SECRET-7f3a9c" not in str(error)
    assert "SECRET-7f3a9c" not in repr(error.__dict__)


def test_external_entity_on_the_network_is_refused_without_a_connection(tmp_path: Path) -> None:
    path = BAD / "xxe-remote.xml"
    error = load_error(path)
    assert type(error) is UnsafeInputError
    assert_clear(error, path, line=2)
    # and against a listening port of our own: nothing may connect to it
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        server.settimeout(0.2)
        port = server.getsockname()[1]
        hostile = tmp_path / "xxe-remote.xml"
        hostile.write_text(
            f'<!DOCTYPE TEI [<!ENTITY xxe SYSTEM "http://127.0.0.1:{port}/evil">]>\n'
            + tei_document("<p>&xxe;</p>"),
            encoding="utf-8",
        )
        error = load_error(hostile, strict=False)
        assert type(error) is UnsafeInputError
        with pytest.raises(TimeoutError):
            server.accept()


def test_entity_expansion_bomb_is_refused_without_expanding() -> None:
    path = BAD / "bomb.xml"
    started = time.perf_counter()
    error = load_error(path)
    elapsed = time.perf_counter() - started
    assert type(error) is UnsafeInputError
    assert_clear(error, path, line=2)
    assert "lol" not in str(error)
    assert elapsed < 5, (
        f"took {elapsed:.1f} s: the entities were expanded?"
    )  # generous: it takes milliseconds


def test_undeclared_entity_is_a_parse_error(write_tei: Callable[..., Path]) -> None:
    path = write_tei("<p>No&nbsp;entities.</p>")
    error = load_error(path)
    assert type(error) is ParseError
    assert_clear(error, path, line=1)
    assert "nbsp" in error.message


def test_xinclude_is_never_resolved(tmp_path: Path, write_tei: Callable[..., Path]) -> None:
    (tmp_path / "included.txt").write_text("INCLUDED-CONTENT-5b2e", encoding="utf-8")
    (tmp_path / "included.xml").write_text(f'<p xmlns="{TEI_NS}">INCLUDED-XML-5b2e</p>', encoding="utf-8")
    path = write_tei(
        '<p>Before <xi:include href="included.txt" parse="text"/> after.</p>'
        '<xi:include href="included.xml"/>',
        namespaces=f' xmlns:xi="{XI_NS}"',
    )
    with pytest.warns(EditionWarning, match="include") as caught:
        ed = edition.load(path, strict=False)
    assert len(caught) == 1
    for view in ("reading", "diplomatic"):
        assert "5b2e" not in ed.text(view)
    assert "5b2e" not in ed.pretty()
    assert ed.text() == "Before after.\n"
    error = load_error(path)
    assert type(error) is TEIValidationError
    assert "include" in error.message


def test_javascript_link_is_refused_with_a_warning(write_tei: Callable[..., Path]) -> None:
    path = write_tei(
        '<p>Click <ref target="javascript:alert(1)">here</ref>, or <ref target="https://example.org/">there</ref>.</p>'
    )
    with pytest.warns(EditionWarning, match=r"javascript:alert\(1\)") as caught:
        ed = edition.load(path)
    assert len(caught) == 1
    assert str(path) in str(caught[0].message)
    paragraph = next(ed.paragraphs())
    links = [node for node in walk_inlines(paragraph.content) if isinstance(node, Link)]
    assert [link.target for link in links] == [None, "https://example.org/"]
    assert ed.text() == "Click here, or there.\n"


@pytest.mark.parametrize(
    "target",
    [
        "JavaScript:alert(1)",
        " javascript:alert(1)",
        "java%73cript:alert(1)",
        "data:text/html,<b>x</b>",
        "vbscript:msgbox(1)",
        "file:///etc/passwd",
        "//evil.example/",
        "https:evil.example",
    ],
)
def test_other_unsafe_link_targets_are_refused(target: str, write_tei: Callable[..., Path]) -> None:
    path = write_tei(f'<p><ref target="{target.replace("<", "&lt;")}">x</ref></p>')
    with pytest.warns(EditionWarning, match="refused"):
        ed = edition.load(path, strict=False)  # some of these are not even valid URIs for the schema
    (link,) = [node for node in walk_inlines(next(ed.paragraphs()).content) if isinstance(node, Link)]
    assert link.target is None


# --------------------------------------------------------------------------- encodings


def test_declared_latin1_is_refused_with_an_encoding_error() -> None:
    path = BAD / "latin1.xml"
    error = load_error(path)
    assert type(error) is ParseError
    assert_clear(error, path, line=1)
    assert "ISO-8859-1" in error.message
    assert "UTF-8" in error.hint


def test_undeclared_latin1_is_refused_at_the_bad_byte() -> None:
    path = BAD / "latin1-undeclared.xml"
    error = load_error(path)
    assert type(error) is ParseError
    assert_clear(error, path, line=12)
    assert error.column == 17
    assert "0xE9" in error.message and "UTF-8" in error.message
    assert "\ufffd" not in str(error) and "Ã©" not in str(error)


def test_utf16_is_refused_saying_so() -> None:
    path = BAD / "utf16.xml"
    error = load_error(path)
    assert type(error) is ParseError
    assert_clear(error, path, line=1)
    assert "UTF-16" in error.message


def test_utf8_with_byte_order_mark_loads(tmp_path: Path) -> None:
    path = tmp_path / "bom.xml"
    path.write_bytes(b"\xef\xbb\xbf" + tei_document("<p>The café is open.</p>").encode("utf-8"))
    assert edition.load(path).text() == "The café is open.\n"


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be"])
@pytest.mark.parametrize("word", ["cafe", "café"])
def test_utf16_without_byte_order_mark_is_refused_saying_so(tmp_path: Path, encoding: str, word: str) -> None:
    path = tmp_path / "utf16-no-bom.xml"
    path.write_bytes(
        ('<?xml version="1.0" encoding="UTF-16"?>\n' + tei_document(f"<p>{word}</p>")).encode(encoding)
    )
    error = load_error(path)
    assert type(error) is ParseError
    assert "UTF-16" in error.message


# --------------------------------------------------------------------------- limits


@pytest.mark.parametrize("element", ["hi", "div"])
def test_absurd_nesting_is_refused(element: str, write_tei: Callable[..., Path]) -> None:
    path = write_tei(deep_body(504, element))
    error = load_error(path, strict=False)
    assert type(error) is ParseError
    assert_clear(error, path, line=1)
    assert "deep" in str(error)


def test_nesting_just_over_the_depth_limit_is_refused(write_tei: Callable[..., Path]) -> None:
    limit = Limits().max_depth
    path = write_tei(deep_body(limit + 1))
    error = load_error(path)
    assert type(error) is ParseError
    assert_clear(error, path, line=1)
    assert f"nested {limit + 1} deep" in error.message
    assert "max_depth" in error.hint


def test_nesting_at_the_depth_limit_loads(write_tei: Callable[..., Path]) -> None:
    path = write_tei(deep_body(Limits().max_depth))
    assert edition.load(path).text() == "deep\n"


def test_a_smaller_depth_limit_is_applied(write_tei: Callable[..., Path]) -> None:
    path = write_tei(deep_body(10, "div"))
    assert edition.load(path, limits=Limits(max_depth=10)).text() == "deep\n"
    error = load_error(path, limits=Limits(max_depth=9))
    assert type(error) is ParseError
    assert "over the limit of 9" in error.message


def test_file_over_the_size_limit_is_refused_before_parsing() -> None:
    size = INTERVIEW.stat().st_size
    error = load_error(INTERVIEW, limits=Limits(max_bytes=size - 1))
    assert type(error) is ParseError
    assert_clear(error, INTERVIEW)
    assert f"{size:,} bytes" in error.message and f"{size - 1:,}" in error.message
    assert edition.load(INTERVIEW, limits=Limits(max_bytes=size)).metadata.title.startswith("Memories")


def test_too_many_notes_are_refused_at_the_first_note_over_the_limit() -> None:
    error = load_error(INTERVIEW, limits=Limits(max_notes=21))
    assert type(error) is ParseError
    assert_clear(error, INTERVIEW, line=295)  # the 22nd note, on the byline
    assert "more than 21 notes" in error.message
    assert "max_notes" in error.hint
    assert len(edition.load(INTERVIEW, limits=Limits(max_notes=22)).notes) == 22


# --------------------------------------------------------------------------- strict and non-strict


def test_interview_loads_strictly_without_warnings() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ed = edition.load(INTERVIEW, strict=True)
    assert len(list(ed.paragraphs())) == 14


def test_unknown_elements_are_refused_in_strict_mode() -> None:
    path = CORPUS / "nonstrict-unknown-element.xml"
    error = load_error(path)
    assert type(error) is TEIValidationError
    assert_clear(error, path, line=20)
    assert "stage" in error.message
    assert len(error.problems) >= 1


def test_unknown_elements_keep_their_text_with_a_warning_in_non_strict_mode() -> None:
    path = CORPUS / "nonstrict-unknown-element.xml"
    with pytest.warns(EditionWarning) as caught:
        ed = edition.load(path, strict=False)
    messages = [str(w.message) for w in caught if issubclass(w.category, EditionWarning)]
    unknown = {"sp": 21, "speaker": 22, "stage": 20, "w": 27, "material": 27, "measure": 30}
    for name, line in unknown.items():
        (message,) = [m for m in messages if f"<{name}>" in m]
        assert message.startswith(f"{path}:{line}: "), message
    assert len(messages) == len(unknown), "one warning per unknown element name"
    text = words(ed.text())
    for expected in ("Enter Ann and Ben", "Ann", "Ben", "ready", "ink", "Exeunt", "five minutes"):
        for word in words(expected):
            assert word in text, word
    assert words(ed.text()) == words(ed.text("diplomatic"))
    found = {
        node.element for p in ed.paragraphs() for node in walk_inlines(p.content) if isinstance(node, Unknown)
    }
    assert found == {"w", "material", "measure"}


def test_unknown_element_warning_points_at_the_caller_of_load() -> None:
    with pytest.warns(EditionWarning) as caught:
        edition.load(CORPUS / "nonstrict-unknown-element.xml", strict=False)
    assert caught[0].filename == __file__
