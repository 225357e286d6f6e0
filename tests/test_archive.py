"""The reproducible zip the EPUB is written with (:mod:`edition.archive`)."""

from __future__ import annotations

import io
import random
import threading
import time
import zipfile
from datetime import UTC, datetime

import pytest

from edition import archive as archive_module
from edition.archive import ReproducibleZip
from edition.epub import finish_zip
from edition.errors import RenderError

WHEN = datetime(2026, 11, 25, 12, 30, 15, tzinfo=UTC)
ENTRIES = [("mimetype", b"application/epub+zip", True)] + [
    (f"EPUB/file-{n}.xhtml", f"<p>{n}</p>".encode() * (n * 300 + 1), False) for n in range(12)
]


def written(entries: list[tuple[str, bytes, bool]] = ENTRIES) -> bytes:
    with ReproducibleZip(WHEN) as archive:
        for name, data, stored in entries:
            archive.add(name, data, stored=stored)
        return archive.close()


def no_writer_threads() -> bool:
    return not any(t.name.startswith("edition-zip") for t in threading.enumerate())


def test_entries_keep_the_order_they_were_added_in_with_one_timestamp_and_mode() -> None:
    with zipfile.ZipFile(io.BytesIO(written())) as result:
        infos = result.infolist()
        assert [i.filename for i in infos] == [name for name, _, _ in ENTRIES]
        assert [result.read(i) for i in infos] == [data for _, data, _ in ENTRIES]
    assert infos[0].compress_type == zipfile.ZIP_STORED
    assert {i.compress_type for i in infos[1:]} == {zipfile.ZIP_DEFLATED}
    assert {i.date_time for i in infos} == {(2026, 11, 25, 12, 30, 14)}  # zip counts seconds in twos
    assert {(i.create_system, i.external_attr >> 16) for i in infos} == {(3, 0o100644)}


def test_the_bytes_do_not_depend_on_how_long_each_entry_takes(monkeypatch: pytest.MonkeyPatch) -> None:
    expected = written()
    write = ReproducibleZip._write
    jitter = random.Random(7)

    def slow_write(self: ReproducibleZip, name: str, data: bytes, stored: bool) -> None:
        time.sleep(jitter.random() / 50)
        write(self, name, data, stored)

    monkeypatch.setattr(ReproducibleZip, "_write", slow_write)
    assert written() == expected


def test_a_name_is_added_once() -> None:
    with ReproducibleZip(WHEN) as archive:
        archive.add("a.txt", b"a")
        with pytest.raises(ValueError, match="already"):
            archive.add("a.txt", b"b")
        archive.close()


def test_an_error_on_the_writing_thread_is_raised_by_close(monkeypatch: pytest.MonkeyPatch) -> None:
    write = ReproducibleZip._write

    def failing_write(self: ReproducibleZip, name: str, data: bytes, stored: bool) -> None:
        if name.endswith("file-3.xhtml"):
            raise OSError("disk full")
        write(self, name, data, stored)

    monkeypatch.setattr(ReproducibleZip, "_write", failing_write)
    with pytest.raises(OSError, match="disk full"):
        written()
    assert no_writer_threads()


def test_leaving_after_an_error_stops_the_thread_and_closes_the_zip() -> None:
    with pytest.raises(RuntimeError, match="rendering failed"), ReproducibleZip(WHEN) as archive:
        for name, data, stored in ENTRIES:
            archive.add(name, data, stored=stored)
        raise RuntimeError("rendering failed")
    assert no_writer_threads()
    assert archive._zip.fp is None  # closed: nothing left for the garbage collector to flush


def test_timestamps_stay_within_what_zip_can_record() -> None:
    assert archive_module.zip_time(datetime(1970, 1, 1, tzinfo=UTC)) == (1980, 1, 1, 0, 0, 0)
    assert archive_module.zip_time(datetime(2200, 1, 1, tzinfo=UTC)) == (2107, 12, 31, 23, 59, 58)


def ebooklib_archive(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as made:
        for name, data in entries.items():
            made.writestr(name, data)
    return buffer.getvalue()


def test_the_epub_refuses_a_file_ebooklib_did_not_write_as_given() -> None:
    """The package document lists what ebooklib wrote: a file added early must be the same."""
    ebooklib_wrote = ebooklib_archive({"mimetype": b"application/epub+zip", "EPUB/a.css": b"p {}"})
    for early in ({"EPUB/a.css": b"p { color: red }"}, {"EPUB/b.css": b"p {}"}):
        with ReproducibleZip(WHEN) as archive:
            archive.add("mimetype", b"application/epub+zip", stored=True)
            for name, data in early.items():
                archive.add(name, data)
            with pytest.raises(RenderError, match="as given"):
                finish_zip(ebooklib_wrote, archive, "en", None)
