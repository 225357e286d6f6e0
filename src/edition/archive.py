"""A reproducible zip archive that compresses its files on a thread of its own.

The EPUB is a zip. Every entry gets the same timestamp (from the source, never the clock)
and the same permissions, and entries are written in the order they are added, so the same
book gives the same bytes.

Why a thread: compressing is zlib's work, and zlib lets go of Python's global lock while it
works. Files known before the book's documents are rendered (above all the two fonts,
1.6 MB, about 0.09 s of compression) are added first and compressed on the machine's other
core while this one renders the documents, which holds the lock. One thread writes every
entry, first in first out, so the order, and with it the bytes, never depend on timing.
"""

from __future__ import annotations

import io
import zipfile
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime
from types import TracebackType

#: The earliest and latest times a zip entry can record.
_ZIP_MIN = datetime(1980, 1, 1, tzinfo=UTC)
_ZIP_MAX = datetime(2107, 12, 31, 23, 59, 58, tzinfo=UTC)
#: zlib's default level: at 9 a long book's EPUB is 1 % smaller and takes half as long again.
COMPRESS_LEVEL = 6


def zip_time(when: datetime) -> tuple[int, int, int, int, int, int]:
    """``when`` (UTC) as a zip entry's date and time, kept within the range zip can record."""
    moment = min(max(when.astimezone(UTC), _ZIP_MIN), _ZIP_MAX)
    even_second = moment.second - moment.second % 2  # zip records seconds in twos
    return moment.year, moment.month, moment.day, moment.hour, moment.minute, even_second


class ReproducibleZip:
    """A zip written in memory, entry by entry, in the order :meth:`add` is called.

    Use it as a context manager: leaving the block waits for the writing thread and closes
    the zip, also when the block raised. :meth:`close` returns the archive's bytes.
    """

    def __init__(self, when: datetime) -> None:
        self._stamp = zip_time(when)
        self._buffer = io.BytesIO()
        self._zip = zipfile.ZipFile(self._buffer, "w")
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="edition-zip")
        self._written: list[Future[None]] = []
        self.contents: dict[str, bytes] = {}
        """Name → bytes of every entry added, in the archive's order."""

    def add(self, name: str, data: bytes, *, stored: bool = False) -> None:
        """Queue an entry: compressed (deflate) unless ``stored``. Names are unique."""
        if name in self.contents:
            raise ValueError(f"{name!r} is already in the archive")
        self.contents[name] = data
        self._written.append(self._writer.submit(self._write, name, data, stored))

    def _write(self, name: str, data: bytes, stored: bool) -> None:
        """Runs on the writing thread, the only one that touches the zip until :meth:`close`."""
        info = zipfile.ZipInfo(name, date_time=self._stamp)
        info.create_system = 3  # unix, whatever system builds it
        info.external_attr = 0o100644 << 16
        info.compress_type = zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED
        self._zip.writestr(info, data, compresslevel=None if stored else COMPRESS_LEVEL)

    def close(self) -> bytes:
        """Wait for every entry to be written (re-raising the first error) and return the zip."""
        self._writer.shutdown(wait=True)
        for written in self._written:
            written.result()
        self._zip.close()
        return self._buffer.getvalue()

    def __enter__(self) -> ReproducibleZip:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        """Wait for the writing thread (dropping what it has not begun after an error), then
        close the zip, which :meth:`close` may already have done."""
        self._writer.shutdown(wait=True, cancel_futures=error is not None)
        self._zip.close()
