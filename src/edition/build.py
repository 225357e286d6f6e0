"""Source → output folder: render every requested format, then write them all atomically.

Nothing is written until every format has rendered. Then every file is written in full
to a temporary name beside its target (``.edition-tmp-<pid>-<name>.<random>``, flushed to
disk), and only when all of them are written are they renamed into place, one rename each.
So a build that fails or is killed while rendering or writing leaves the previous outputs
exactly as they were (a full disk or a read-only folder is an :class:`OutputError` that
changed nothing); only a kill during the final renames, a matter of microseconds, can
leave some files new and some old, each of them whole. Temporary files of a killed build
are removed by the next build into the same folder. Two builds into the same folder at
once each write their own temporary files, so both end with complete outputs.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import stat
import tempfile
import warnings
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from edition.errors import EditionError, OutputError, RenderError
from edition.loader import load
from edition.model import Edition, Figure
from edition.tei import DEFAULT_LIMITS, Limits

if TYPE_CHECKING:
    from edition.pdf import PageStart

log = logging.getLogger("edition")

FORMATS: tuple[str, ...] = ("html", "pdf", "epub")
PROFILES: tuple[str, ...] = ("screen", "press")
TEMPORARY_PREFIX = ".edition-tmp-"
#: The layout cache's folder inside an output folder (safe to delete; see :mod:`edition.parallel`).
CACHE_FOLDER = ".edition-cache"


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


def _output_error(path: Path, error: OSError) -> OutputError:
    return OutputError(
        f"cannot write: {error.strerror or error}",
        path=path,
        hint="check the output folder's permissions and free space",
    )


def stage(path: Path, data: bytes) -> Path:
    """Write ``data`` in full to a new temporary file beside ``path``, flushed to disk; its path.

    The temporary name carries this process's id, so a later build can tell a leftover of
    a killed build (its process is gone) from the file of a build still running. On any
    failure (a full disk, a read-only folder) the temporary file is removed and an
    :class:`OutputError` names ``path``.
    """
    prefix = f"{TEMPORARY_PREFIX}{os.getpid()}-{path.name}."
    try:
        descriptor, temporary = tempfile.mkstemp(prefix=prefix, dir=path.parent)
    except OSError as error:
        raise _output_error(path, error) from None
    try:
        try:
            view = memoryview(data)
            while view:
                written = os.write(descriptor, view)
                view = view[written:]
            os.fsync(descriptor)
            os.fchmod(descriptor, 0o644)
        finally:
            os.close(descriptor)
    except BaseException as error:
        with contextlib.suppress(OSError):
            Path(temporary).unlink()
        if isinstance(error, OSError):
            raise _output_error(path, error) from None
        raise
    return Path(temporary)


def commit(staged: Sequence[tuple[Path, Path]]) -> None:
    """Rename each staged ``(temporary, target)`` into place, then flush the folders' entries.

    If a rename fails, the temporaries not yet renamed are removed and an
    :class:`OutputError` names the target that failed.
    """
    for index, (temporary, path) in enumerate(staged):
        try:
            temporary.replace(path)
        except OSError as error:
            discard(temporary for temporary, _ in staged[index:])
            raise _output_error(path, error) from None
    for folder in dict.fromkeys(path.parent for _, path in staged):
        with contextlib.suppress(OSError):  # durability after a power cut; not every file system can
            descriptor = os.open(folder, os.O_RDONLY)
            try:
                os.fsync(descriptor)
            finally:
                os.close(descriptor)


def discard(temporaries: Iterable[Path]) -> None:
    """Remove temporary files (of this build), ignoring those already gone."""
    for temporary in temporaries:
        with contextlib.suppress(OSError):
            temporary.unlink()


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` by way of a unique temporary file in the same folder.

    ``path`` holds either its previous content or ``data``, never a part of it; on failure
    an :class:`OutputError` names ``path`` and nothing has changed.
    """
    commit([(stage(path, data), path)])


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


#: Image formats every output can show (the EPUB's core media types), by their first bytes.
_IMAGE_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "PNG"),
    (b"\xff\xd8\xff", "JPEG"),
    (b"GIF87a", "GIF"),
    (b"GIF89a", "GIF"),
)


def image_format(data: bytes) -> str | None:
    """``PNG``, ``JPEG``, ``GIF``, ``WebP`` or ``SVG`` by the file's first bytes, else ``None``."""
    for magic, name in _IMAGE_MAGIC:
        if data.startswith(magic):
            return name
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WebP"
    head = data[:2048].lstrip()
    if head.startswith((b"<?xml", b"<svg", b"<!--")) and b"<svg" in head:
        return "SVG"
    return None


def image_pixels(data: bytes) -> int | None:
    """Width × height a raster image declares (read from its header, not decoded), or ``None``."""
    from PIL import Image  # WeasyPrint's own dependency

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            with Image.open(io.BytesIO(data)) as picture:
                width, height = picture.size
        except Image.DecompressionBombError:
            return 2**63  # over Pillow's own bound: larger than any limit we set
        except Exception:  # Pillow raises many kinds for a broken header
            return None
    return int(width) * int(height)


_XLINK_HREF = "{http://www.w3.org/1999/xlink}href"


def svg_problem(data: bytes) -> str | None:
    """Why an SVG image cannot go into every format as it is, or ``None``.

    Parsed as the TEI is (no DTD, no entities, no network): entities are refused (they could
    read files, or expand without bound, when a renderer parses the image), and so is a reference to
    anything but a part of the image itself (``#id``): the PDF would refuse to fetch it
    (``file:``, ``http:``, ``..``), and a web page or EPUB, which carry only the image,
    would show it broken.
    """
    from lxml import etree

    try:
        root = etree.fromstring(
            data, etree.XMLParser(resolve_entities=False, load_dtd=False, no_network=True, huge_tree=False)
        )
    except etree.XMLSyntaxError as error:
        return f"is not well-formed SVG ({error.msg})"
    if b"<!ENTITY" in data or any(True for _ in root.iter(etree.Entity)):
        return "declares or uses entities"
    for element in root.iter():
        if not isinstance(element.tag, str):
            continue
        for attribute in ("href", _XLINK_HREF):
            value = (element.get(attribute) or "").strip()
            if value and not value.startswith("#"):
                return f"refers to another file ({value[:80]!r})"
    return None


def read_image(path: Path, name: str, source: str, limits: Limits = DEFAULT_LIMITS) -> bytes:
    """The bytes of one image, checked: a regular file, within the size and pixel limits, a known format.

    Opened without blocking and checked with ``fstat``, so a named pipe or a device in
    the edition's folder is refused instead of hanging the build.
    """

    def refuse(problem: str, hint: str) -> RenderError:
        return RenderError(f"image {name!r} {problem}", path=source, hint=hint)

    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0))
    except OSError:
        raise refuse("not found", "put the image beside the TEI file, or fix graphic/@url") from None
    try:
        status = os.fstat(descriptor)
        if not stat.S_ISREG(status.st_mode):
            raise refuse("is not a regular file", "graphic/@url must name an image file")
        if status.st_size > limits.max_image_bytes:
            raise refuse(
                f"is larger than {limits.max_image_bytes:,} bytes",
                "make the image smaller, or raise Limits.max_image_bytes",
            )
        with os.fdopen(os.dup(descriptor), "rb") as handle:
            data = handle.read(limits.max_image_bytes + 1)
    except OSError as error:
        raise refuse(f"cannot be read: {error.strerror or error}", "check the file") from None
    finally:
        os.close(descriptor)
    if len(data) > limits.max_image_bytes:
        raise refuse(
            f"is larger than {limits.max_image_bytes:,} bytes",
            "make the image smaller, or raise Limits.max_image_bytes",
        )
    kind = image_format(data)
    if kind is None:
        raise refuse("is not a PNG, JPEG, GIF, WebP or SVG image", "convert it to PNG or JPEG")
    if kind == "SVG":
        problem = svg_problem(data)
        if problem:
            raise refuse(problem, "make the SVG self-contained: no entities, no links to other files")
    else:
        pixels = image_pixels(data)
        if pixels is None:
            raise refuse(f"is not a readable {kind} image", "check the file, or convert it again")
        if pixels > limits.max_image_pixels:
            raise refuse(
                f"has more than {limits.max_image_pixels:,} pixels",
                "scale the image down, or raise Limits.max_image_pixels",
            )
    return data


def images(edition: Edition, limits: Limits = DEFAULT_LIMITS) -> dict[str, bytes]:
    """The images the text's figures point at, read from inside the edition's folder only."""
    folder = Path(edition.path).resolve().parent
    found: dict[str, bytes] = {}
    for block in edition.all_blocks:
        if not isinstance(block, Figure) or not block.image or block.image in found:
            continue
        path = (folder / block.image).resolve()
        if not path.is_relative_to(folder):
            raise RenderError(
                f"image {block.image!r} resolves outside the edition's folder (a link?)",
                path=edition.path,
                hint="keep images inside the edition's folder",
            )
        found[block.image] = read_image(path, block.image, edition.path, limits)
    return found


def render_files(
    edition: Edition,
    formats: Sequence[str],
    profile: str,
    stem: str,
    trim: str = "6x9in",
    *,
    limits: Limits = DEFAULT_LIMITS,
    jobs: int | None = None,
    cache: Path | None = None,
    on_step: Callable[[str], None] | None = None,
) -> dict[str, bytes]:
    """Every output file of a build as bytes, keyed by its path inside the output folder.

    The PDF is laid out first: its page breaks (where each print page begins in the text)
    are marked in the web page and the EPUB, so a citation "p. 3, ¶ 12" works in all three.
    ``jobs`` and ``cache`` are the PDF's (parts of a long book laid out at once; laid-out
    parts kept for the next build). A book laid out in parts has its page starts before its
    PDF is joined: the web page and the EPUB are rendered while another process joins it.
    """
    from edition import web
    from edition.pages import page_list_json

    downloads = {
        label: name
        for fmt, label, name in (("pdf", "PDF", f"{stem}.pdf"), ("epub", "EPUB", f"{stem}.epub"))
        if fmt in formats
    }
    pictures = images(edition, limits)
    others: dict[str, bytes] = {}

    def render_others(starts: Sequence[PageStart]) -> None:
        if "pdf" in formats:
            from edition import fonts

            # characters no installed font has would print as boxes: checked here, while a long
            # book's PDF is joined in another process (a quarter of a second at N = 100)
            fonts.warn_uncovered(edition)
        if "html" in formats:
            others["index.html"] = web.render_page(edition, downloads, starts).encode("utf-8")
            for asset in web.web_assets():
                others[asset.target] = asset.source.read_bytes()
            others.update(pictures)
        if "epub" in formats:
            from edition import epub  # deferred: ebooklib is only needed for EPUBs

            others[f"{stem}.epub"] = epub.render_epub(edition, pictures, source_date(edition), starts)

    files: dict[str, bytes] = {}
    if "pdf" in formats:
        from edition import pdf

        printed = pdf.print_edition(
            edition,
            profile=profile,
            when=source_date(edition),
            trim=trim,
            jobs=jobs,
            cache=cache,
            on_starts=render_others,
        )
        files[f"{stem}.pdf"] = printed.pdf
        if on_step is not None:
            on_step(f"PDF {printed.layout}")
        files["pages.json"] = page_list_json(printed.starts)
    else:
        render_others(())
    files.update(others)
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
    limits: Limits = DEFAULT_LIMITS,
    jobs: int | None = None,
    cache: bool | str | os.PathLike[str] = True,
) -> BuildResult:
    """Build one TEI source into ``out_dir`` (default ``output/<stem>/``).

    ``formats`` is any of ``html``, ``pdf``, ``epub``; ``profile`` is ``screen`` or
    ``press`` (the PDF's); ``trim`` the PDF's trim size (``6x9in``, ``a5``...). Raises
    :class:`~edition.errors.EditionError` on any user error,
    in which case nothing in ``out_dir`` has changed. ``limits`` bounds what the source may
    ask (size, depth, notes, images).

    A long PDF is laid out in parts by ``jobs`` processes (default: one per core) and
    joined into the same PDF a single pass makes. ``cache`` keeps the laid-out parts so
    that a rebuild lays out only what changed: ``True`` (default) keeps them in
    ``out_dir/.edition-cache/`` (safe to delete, not needed to publish the folder), a
    path keeps them there, ``False`` keeps none.
    """
    source_path = Path(source)
    chosen = parse_formats(formats)
    if profile not in PROFILES:
        raise EditionError(f"unknown profile {profile!r}", hint=f"choose from {', '.join(PROFILES)}")
    step = on_step or (lambda _message: None)
    step(f"loading {source_path}")
    edition = load(source_path, strict=strict, limits=limits)
    target = Path(out_dir) if out_dir is not None else Path("output") / source_path.stem
    cache_folder = None if cache is False else target / CACHE_FOLDER if cache is True else Path(cache)
    step(f"rendering {', '.join(chosen)}")
    try:
        files = render_files(
            edition,
            chosen,
            profile,
            source_path.stem,
            trim,
            limits=limits,
            jobs=jobs,
            cache=cache_folder,
            on_step=step,
        )
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
    staged: list[tuple[Path, Path]] = []
    try:
        for name, data in files.items():
            path = target / name
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as error:
                raise OutputError(
                    f"cannot create folder: {error.strerror}",
                    path=path.parent,
                    hint="check the output folder's permissions and free space",
                ) from None
            staged.append((stage(path, data), path))
    except BaseException:
        discard(temporary for temporary, _ in staged)
        raise
    commit(staged)
    written = [path for _, path in staged]
    log.info("built %s → %s (%d files)", source_path, target, len(written))
    return BuildResult(source_path, target, tuple(written), edition)
