"""Characters the embedded font lacks, and whether any installed font has them.

EB Garamond, embedded in the PDF and the EPUB and served with the web page, covers Latin,
Greek and Cyrillic. Other scripts (Arabic, Hebrew, CJK...), emoji and private-use
characters are not in it: WeasyPrint sets them, glyph by glyph, in another installed font
that has them (fontconfig chooses), and browsers and reading systems do the same with the
reader's fonts (``base.css`` names fallbacks after EB Garamond). A character that no font
on the build machine has would print as an empty box, silently; :func:`warn_uncovered`
says which characters those are and where they stand, in every build that makes a PDF.

Font coverage is read from the fonts' character maps: fontTools for EB Garamond, and
fontconfig (``fc-list``, the list WeasyPrint itself chooses from) for installed fonts, or
fontTools over the usual font folders where ``fc-list`` is missing.
"""

from __future__ import annotations

import bisect
import dataclasses
import shutil
import subprocess
import unicodedata
import warnings
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from edition.errors import EditionWarning
from edition.model import (
    Division,
    Edition,
    Figure,
    Group,
    Line,
    LineGroup,
    ListBlock,
    Paragraph,
    Quotation,
    Table,
)

#: Blocks whose id names a place in warnings (inline nodes keep the place of their block).
_PLACES = (Paragraph, Division, Group, Quotation, LineGroup, Line, ListBlock, Table, Figure)
#: Model fields that hold text a reader sees (other strings are ids, roles, attribute values).
_TEXT_FIELDS = frozenset({"text", "description", "label", "names"})
#: Where fontTools looks for installed fonts when fontconfig's ``fc-list`` is missing.
FONT_FOLDERS = (
    Path("/usr/share/fonts"),
    Path("/usr/local/share/fonts"),
    Path.home() / ".local" / "share" / "fonts",
    Path.home() / ".fonts",
)
#: How many characters :func:`warn_uncovered` names one by one before it sums up the rest.
MAX_WARNINGS = 20


@dataclass(frozen=True, slots=True)
class Uncovered:
    """A character of the edition that EB Garamond lacks."""

    character: str
    places: tuple[str, ...]
    """Ids of the blocks it occurs in (paragraph, note, heading, division...), in document
    order; ``header`` for the metadata, an intervention's or entity's id for the apparatus
    and registers."""
    fonts: tuple[str, ...] = ()
    """Installed font families that have it; empty when none has (it would print as a box)."""

    @property
    def code(self) -> str:
        """``U+0643``."""
        return f"U+{ord(self.character):04X}"

    @property
    def name(self) -> str:
        """The Unicode name, or what kind of code point it is when it has none."""
        return character_name(self.character)

    def describe(self, places: int = 5) -> str:
        """``U+E000 <private use> in p3, n2``: the character, its name and where it occurs."""
        shown = ", ".join(self.places[:places])
        more = f" and {len(self.places) - places} more places" if len(self.places) > places else ""
        return f"{self.code} {self.name} in {shown}{more}"


def character_name(character: str) -> str:
    """``ARABIC LETTER KAF``; ``<private use>``, ``<unassigned>`` or ``<noncharacter>`` if nameless."""
    name = unicodedata.name(character, "")
    if name:
        return name
    code = ord(character)
    category = unicodedata.category(character)
    if category == "Co":
        return "<private use>"
    if 0xFDD0 <= code <= 0xFDEF or code & 0xFFFE == 0xFFFE:
        return "<noncharacter>"
    if category == "Cn":
        return "<unassigned>"
    return f"<{category}>"


def needs_glyph(character: str) -> bool:
    """Whether a font must have a glyph for the character to show.

    Not for white space, controls and format characters (joiners, direction marks, soft
    hyphens), variation selectors or the combining grapheme joiner: shaping handles these
    without a glyph of their own.
    """
    if unicodedata.category(character) in {"Cc", "Cf", "Zs", "Zl", "Zp"}:
        return False
    code = ord(character)
    return not (0xFE00 <= code <= 0xFE0F or 0xE0100 <= code <= 0xE01EF or code == 0x034F)


# --------------------------------------------------------------------------- what the edition holds


@cache
def _field_names(cls: type) -> tuple[str, ...]:
    """A model class's fields (``dataclasses.fields`` per node was a third of the scan)."""
    return tuple(item.name for item in dataclasses.fields(cls))


def characters(edition: Edition) -> dict[str, list[str]]:
    """Every character a reader may see, with the places (block ids) it occurs in, in document order."""
    found: dict[str, dict[str, None]] = {}  # an ordered set of places: a list's "in" made this quadratic

    def add(text: str, place: str) -> None:
        for character in set(text):
            found.setdefault(character, {})[place] = None

    def visit(value: object, place: str, field: str = "") -> None:
        if isinstance(value, str):
            if field in _TEXT_FIELDS:
                add(value, place)
        elif isinstance(value, tuple):
            for item in value:
                visit(item, place, field)
        elif dataclasses.is_dataclass(value) and not isinstance(value, type):
            if isinstance(value, _PLACES) and getattr(value, "id", None):
                place = str(value.id)
            for name in _field_names(type(value)):
                visit(getattr(value, name), place, name)

    for value in _metadata_strings(edition):
        add(value, "header")
    for division in edition.divisions:
        visit(division, division.id)
    for note in edition.notes:
        visit(note.blocks, note.id)
        add(note.label, note.id)
    for item in edition.interventions:
        for said in (item.found, item.edited, item.reason, item.description, item.responsibility):
            if said:
                add(said, item.id)
    for entity in edition.entities:
        for value in (*entity.names, entity.description):
            add(value, entity.id)
    return {character: list(places) for character, places in found.items()}


def _metadata_strings(edition: Edition) -> Iterator[str]:
    meta = edition.metadata
    yield from (
        value
        for value in (
            meta.title,
            meta.subtitle,
            meta.edition,
            meta.publisher,
            meta.date,
            meta.identifier,
            meta.licence,
            meta.source,
            meta.created,
            meta.abstract,
        )
        if value
    )
    for contributor in meta.contributors:
        yield contributor.name
        yield contributor.role
    for principle in meta.principles:
        yield principle.topic
        yield principle.text
    yield from meta.subjects
    for revision in meta.revisions:
        yield revision.text
        if revision.who:
            yield revision.who


# --------------------------------------------------------------------------- what the fonts hold


@cache
def garamond_coverage() -> frozenset[int]:
    """Code points both faces of EB Garamond (roman and italic) have glyphs for."""
    from fontTools.ttLib import TTFont

    from edition.web import font_assets

    covered: frozenset[int] | None = None
    for asset in font_assets():
        if not asset.target.endswith(".ttf"):
            continue
        with TTFont(str(asset.source), lazy=True) as font:
            cmap = frozenset(font.getBestCmap() or {})
        covered = cmap if covered is None else covered & cmap
    return covered or frozenset()


@dataclass(frozen=True, slots=True)
class InstalledFont:
    """An installed font: its family and the code points it covers, as sorted ranges."""

    family: str
    starts: tuple[int, ...]
    ends: tuple[int, ...]

    def covers(self, code: int) -> bool:
        index = bisect.bisect_right(self.starts, code) - 1
        return index >= 0 and code <= self.ends[index]


def _ranges(codes: Iterable[int]) -> tuple[tuple[int, ...], tuple[int, ...]]:
    starts: list[int] = []
    ends: list[int] = []
    for code in sorted(codes):
        if ends and code == ends[-1] + 1:
            ends[-1] = code
        else:
            starts.append(code)
            ends.append(code)
    return tuple(starts), tuple(ends)


def parse_fc_charset(charset: str) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """fontconfig's ``%{charset}`` (``"20-7e a0-17f 192"``) as sorted (starts, ends)."""
    pairs: list[tuple[int, int]] = []
    for part in charset.split():
        low, _, high = part.partition("-")
        try:
            pairs.append((int(low, 16), int(high or low, 16)))
        except ValueError:
            continue
    pairs.sort()
    return tuple(p[0] for p in pairs), tuple(p[1] for p in pairs)


@cache
def installed_fonts() -> tuple[InstalledFont, ...]:
    """The fonts WeasyPrint can fall back on: fontconfig's list, else the usual font folders."""
    fc_list = shutil.which("fc-list")
    if fc_list:
        try:
            listing = subprocess.run(
                [fc_list, "--format=%{family[0]}\t%{charset}\n"],
                capture_output=True,
                text=True,
                timeout=60,
                check=True,
            ).stdout
        except (OSError, subprocess.SubprocessError):
            listing = ""
        fonts = []
        for line in listing.splitlines():
            family, _, charset = line.partition("\t")
            if family and charset:
                fonts.append(InstalledFont(family, *parse_fc_charset(charset)))
        if fonts:
            return tuple(fonts)
    return tuple(_scan_folders(FONT_FOLDERS))


def _scan_folders(folders: Iterable[Path]) -> Iterator[InstalledFont]:
    from fontTools.ttLib import TTCollection, TTFont

    for folder in folders:
        if not folder.is_dir():
            continue
        for path in sorted(folder.rglob("*")):
            if path.suffix.lower() not in {".ttf", ".otf", ".ttc", ".otc"}:
                continue
            try:
                faces = (
                    list(TTCollection(str(path), lazy=True).fonts)
                    if path.suffix.lower() in {".ttc", ".otc"}
                    else [TTFont(str(path), lazy=True)]
                )
                for face in faces:
                    family = face["name"].getDebugName(1) or path.stem
                    yield InstalledFont(family, *_ranges(face.getBestCmap() or {}))
                    face.close()
            except Exception:  # a broken font file is fontconfig's problem, not the edition's
                continue


def fonts_with(character: str, fonts: Iterable[InstalledFont] | None = None) -> tuple[str, ...]:
    """Families of the installed fonts that have a glyph for ``character``, in fontconfig's order."""
    code = ord(character)
    chosen = installed_fonts() if fonts is None else fonts
    return tuple(dict.fromkeys(font.family for font in chosen if font.covers(code)))


# --------------------------------------------------------------------------- the check


def uncovered(edition: Edition, *, installed: Iterable[InstalledFont] | None = None) -> list[Uncovered]:
    """Characters of the edition EB Garamond lacks, each with where it occurs and the installed
    fonts that have it, in code point order."""
    covered = garamond_coverage()
    fonts = tuple(installed) if installed is not None else None
    return [
        Uncovered(character, tuple(places), fonts_with(character, fonts))
        for character, places in sorted(characters(edition).items())
        if ord(character) not in covered and needs_glyph(character)
    ]


def warn_uncovered(edition: Edition, *, installed: Iterable[InstalledFont] | None = None) -> list[Uncovered]:
    """Warn (:class:`EditionWarning`) for each character that no font has: it would print as a box.

    Returns every character EB Garamond lacks (with the fonts that have it, if any), so that
    a caller can report the fallbacks too.
    """
    missing = uncovered(edition, installed=installed)
    boxes = [item for item in missing if not item.fonts]
    for item in boxes[:MAX_WARNINGS]:
        warnings.warn(
            EditionWarning(
                f"{edition.path}: {item.describe()} is in no installed font and would print as an "
                "empty box (install a font that has it, or replace the character)"
            ),
            stacklevel=2,
        )
    if len(boxes) > MAX_WARNINGS:
        rest = ", ".join(item.code for item in boxes[MAX_WARNINGS:])
        warnings.warn(
            EditionWarning(
                f"{edition.path}: {len(boxes) - MAX_WARNINGS} more characters are in no "
                f"installed font: {rest}"
            ),
            stacklevel=2,
        )
    return missing


__all__ = [
    "InstalledFont",
    "Uncovered",
    "character_name",
    "characters",
    "fonts_with",
    "garamond_coverage",
    "installed_fonts",
    "needs_glyph",
    "uncovered",
    "warn_uncovered",
]
