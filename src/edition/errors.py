"""The library's errors and warnings.

Every failure a user can cause (a missing file, bad XML, an invalid document, an unsafe
link, a full disk) is an :class:`EditionError`. Each carries the file, and where they
exist the line and column, plus a hint that says what to do. ``str(error)`` is the one
line the command-line interface prints::

    sources/x.xml:12:5: element "foo" not allowed here (fix the TEI or load with strict=False)

Anything else that escapes the library is a bug.
"""

from __future__ import annotations

from pathlib import Path


class EditionError(Exception):
    """Base class of every error a user can cause."""

    def __init__(
        self,
        message: str,
        *,
        path: str | Path | None = None,
        line: int | None = None,
        column: int | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.path = str(path) if path is not None else None
        self.line = line
        self.column = column
        self.hint = hint

    @property
    def where(self) -> str:
        """``file:line:col`` (as much of it as is known), or an empty string."""
        parts = [self.path or ""]
        if self.line:
            parts.append(str(self.line))
            if self.column:
                parts.append(str(self.column))
        return ":".join(parts) if self.path or self.line else ""

    def __str__(self) -> str:
        text = " ".join(self.message.split())
        if self.hint:
            text = f"{text} ({self.hint})"
        return f"{self.where}: {text}" if self.where else text


class SourceNotFoundError(EditionError):
    """The source file does not exist or cannot be read."""


class ParseError(EditionError):
    """The source is not well-formed XML, not UTF-8, too large or too deep."""


class UnsafeInputError(EditionError):
    """The source asks for something refused on principle: a DTD, an entity, a remote file."""


class ValidationError(EditionError):
    """The source is XML but not TEI the library can load (schema or structure)."""

    def __init__(self, message: str, *, problems: tuple[EditionError, ...] = (), **kw: object) -> None:
        super().__init__(message, **kw)  # type: ignore[arg-type]
        self.problems = problems


class RenderError(EditionError):
    """An output could not be produced (a missing image, a failed layout or package)."""


class OutputError(EditionError):
    """An output could not be written (permissions, disk full, a concurrent build)."""


class EditionWarning(UserWarning):
    """Something the library did that a user should know about (an unknown element kept as text)."""
