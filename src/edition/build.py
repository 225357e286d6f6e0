"""Source → output folder: render every requested format, then write them all atomically.

Nothing is written until every format has rendered, and each file is written to a
temporary name beside its target and renamed into place, so a failed or interrupted build
leaves the previous outputs as they were and never a half-written file.
"""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from edition.errors import EditionError, OutputError, RenderError
from edition.loader import load
from edition.model import Edition, Figure, walk_blocks
from edition.tei import DEFAULT_LIMITS, Limits

log = logging.getLogger("edition")

FORMATS: tuple[str, ...] = ("html", "pdf", "epub")
PROFILES: tuple[str, ...] = ("screen", "press")
TEMPORARY_PREFIX = ".edition-tmp-"


@dataclass(frozen=True, slots=True)
class BuildResult:
    """What one build wrote."""

    source: Path
    out_dir: Path
    files: tuple[Path, ...]
    edition: Edition = field(repr=False)


def parse_formats(value: str | Iterable[str]) -> tuple[str, ...]:
    """``"html,pdf"`` or ``["html", "pdf"]`` → ``("html", "pdf")``, in the canonical order."""
    items = value.split(",") if isinstance(value, str) else list(value)
    wanted = {item.strip().lower() for item in items if item.strip()}
    unknown = wanted - set(FORMATS)
    if unknown or not wanted:
        raise EditionError(
            f"unknown format {', '.join(sorted(unknown)) or '(none)'}",
            hint=f"choose from {', '.join(FORMATS)}",
        )
    return tuple(f for f in FORMATS if f in wanted)


def source_date(edition: Edition) -> datetime:
    """The date outputs record: ``SOURCE_DATE_EPOCH`` when set, else the edition's own date.

    Never the clock: two builds of the same source must give the same bytes.
    """
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch:
        try:
            return datetime.fromtimestamp(int(epoch), tz=UTC)
        except (ValueError, OverflowError):
            raise EditionError(
                f"SOURCE_DATE_EPOCH={epoch!r} is not a number of seconds",
                hint="set it to an integer, or unset it",
            ) from None
    when = edition.metadata.date or ""
    for length, pattern in ((10, "%Y-%m-%d"), (7, "%Y-%m"), (4, "%Y")):
        with contextlib.suppress(ValueError):
            return datetime.strptime(when[:length], pattern).replace(tzinfo=UTC)
    return datetime(1980, 1, 1, tzinfo=UTC)  # the earliest date a zip file can hold


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` by way of a unique temporary file in the same folder.

    The temporary name carries this process's id, so a later build can tell a leftover of
    a killed build (its process is gone) from the file of a build still running.
    """
    prefix = f"{TEMPORARY_PREFIX}{os.getpid()}-{path.name}."
    try:
        descriptor, temporary = tempfile.mkstemp(prefix=prefix, dir=path.parent)
    except OSError as error:
        raise OutputError(
            f"cannot write: {error.strerror}",
            path=path,
            hint="check the output folder's permissions and free space",
        ) from None
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        Path(temporary).chmod(0o644)
        Path(temporary).replace(path)
    except OSError as error:
        with contextlib.suppress(OSError):
            Path(temporary).unlink()
        raise OutputError(
            f"cannot write: {error.strerror}",
            path=path,
            hint="check the output folder's permissions and free space",
        ) from None


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale_temporaries(folder: Path) -> None:
    """Remove temporary files left by builds that were killed (their writer's process is gone)."""
    for leftover in folder.rglob(f"{TEMPORARY_PREFIX}*"):
        pid_text = leftover.name.removeprefix(TEMPORARY_PREFIX).split("-", 1)[0]
        if pid_text.isdigit() and _process_alive(int(pid_text)):
            continue
        with contextlib.suppress(OSError):
            leftover.unlink()


def images(edition: Edition, limits: Limits = DEFAULT_LIMITS) -> dict[str, bytes]:
    """The images the text's figures point at, read from inside the edition's folder only."""
    folder = Path(edition.path).resolve().parent
    found: dict[str, bytes] = {}
    for block in walk_blocks(edition.divisions):
        if not isinstance(block, Figure) or not block.image or block.image in found:
            continue
        path = (folder / block.image).resolve()
        if not path.is_relative_to(folder):
            raise RenderError(
                f"image {block.image!r} resolves outside the edition's folder (a link?)",
                path=edition.path,
                hint="keep images inside the edition's folder",
            )
        try:
            if path.stat().st_size > limits.max_image_bytes:
                raise RenderError(
                    f"image {block.image!r} is larger than {limits.max_image_bytes:,} bytes",
                    path=edition.path,
                    hint="make the image smaller",
                )
            found[block.image] = path.read_bytes()
        except OSError:
            raise RenderError(
                f"image {block.image!r} not found",
                path=edition.path,
                hint="put the image beside the TEI file, or fix graphic/@url",
            ) from None
    return found


def render_files(
    edition: Edition, formats: Sequence[str], profile: str, stem: str, trim: str = "6x9in"
) -> dict[str, bytes]:
    """Every output file of a build as bytes, keyed by its path inside the output folder."""
    from edition import web

    files: dict[str, bytes] = {}
    downloads = {
        label: name
        for fmt, label, name in (("pdf", "PDF", f"{stem}.pdf"), ("epub", "EPUB", f"{stem}.epub"))
        if fmt in formats
    }
    pictures = images(edition)
    if "html" in formats:
        files["index.html"] = web.render_page(edition, downloads).encode("utf-8")
        for asset in web.web_assets():
            files[asset.target] = asset.source.read_bytes()
        files.update(pictures)
    if "epub" in formats:
        from edition import epub  # deferred: ebooklib is only needed for EPUBs

        files[f"{stem}.epub"] = epub.render_epub(edition, pictures, source_date(edition))
    if "pdf" in formats:
        from edition import pdf  # deferred: WeasyPrint takes a while to import

        files[f"{stem}.pdf"] = pdf.render_pdf(edition, profile=profile, when=source_date(edition), trim=trim)
    return files


def build(
    source: str | os.PathLike[str],
    out_dir: str | os.PathLike[str] | None = None,
    *,
    formats: str | Iterable[str] = FORMATS,
    profile: str = "screen",
    trim: str = "6x9in",
    strict: bool = True,
    on_step: Callable[[str], None] | None = None,
) -> BuildResult:
    """Build one TEI source into ``out_dir`` (default ``output/<stem>/``).

    ``formats`` is any of ``html``, ``pdf``, ``epub``; ``profile`` is ``screen`` or
    ``press`` (the PDF's); ``trim`` the PDF's trim size (``6x9in``, ``a5``...). Raises
    :class:`~edition.errors.EditionError` on any user error,
    in which case nothing in ``out_dir`` has changed.
    """
    source_path = Path(source)
    chosen = parse_formats(formats)
    if profile not in PROFILES:
        raise EditionError(f"unknown profile {profile!r}", hint=f"choose from {', '.join(PROFILES)}")
    step = on_step or (lambda _message: None)
    step(f"loading {source_path}")
    edition = load(source_path, strict=strict)
    target = Path(out_dir) if out_dir is not None else Path("output") / source_path.stem
    step(f"rendering {', '.join(chosen)}")
    try:
        files = render_files(edition, chosen, profile, source_path.stem, trim)
    except EditionError:
        raise
    except OSError as error:
        raise RenderError(f"rendering failed: {error}", path=source_path) from None
    step(f"writing {len(files)} files to {target}")
    try:
        target.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise OutputError(
            f"cannot create the output folder: {error.strerror}",
            path=target,
            hint="check the path and its permissions",
        ) from None
    remove_stale_temporaries(target)
    written: list[Path] = []
    for name, data in files.items():
        path = target / name
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise OutputError(f"cannot create folder: {error.strerror}", path=path.parent) from None
        write_atomic(path, data)
        written.append(path)
    log.info("built %s → %s (%d files)", source_path, target, len(written))
    return BuildResult(source_path, target, tuple(written), edition)
