"""``load()``: a TEI file in, an :class:`~edition.model.Edition` out (parse, validate, build)."""

from __future__ import annotations

import os
import re
import warnings
from collections.abc import Collection
from pathlib import Path
from typing import cast

from lxml import etree

from edition.behaviours import TEI_NS
from edition.builder import Builder, finish_entities, source_ids
from edition.errors import EditionWarning, ValidationError
from edition.header import XML_ID, XML_LANG, HeaderIndex, first, line_of, local, read_metadata
from edition.model import RESERVED_IDS, TITLE_ID, Division, Edition
from edition.tei import DEFAULT_LIMITS, Limits, parse, validate


def keep_ids_apart(
    root: etree._Element, ids: Collection[str] = RESERVED_IDS
) -> list[tuple[str, str, int | None]]:
    """Rename source ids the outputs need for themselves (``about``, ``notes``... or ``ids``),
    and the pointers to them, in the parsed tree; ``title`` is kept on the text's own heading."""
    reserved = " or ".join(f"@xml:id = '{name}'" for name in sorted(ids))
    # [@xml:id] first: most elements have none, and are then passed over at once
    holders = cast(list[etree._Element], root.xpath(f"//*[@xml:id][{reserved}]"))  # in document order
    taken = source_ids(root) if holders else set()
    renames: dict[str, str] = {}
    report: list[tuple[str, str, int | None]] = []
    for element in holders:
        old = element.get(XML_ID)
        if old is None:
            continue
        if old == TITLE_ID and local(element) == "head" and local(element.getparent()) == "body":  # type: ignore[arg-type]
            continue
        number, new = 1, f"{old}-1"
        while new in taken:
            number += 1
            new = f"{old}-{number}"
        taken.add(new)
        renames[old] = new
        element.set(XML_ID, new)
        report.append((old, new, line_of(element)))
    if renames:
        for element in root.iter():
            if not isinstance(element.tag, str):
                continue
            for attribute in ("target", "ref", "corresp", "ana", "resp", "who", "next", "prev"):
                value = element.get(attribute)
                if value and any(p.removeprefix("#") in renames for p in value.split()):
                    pointers = (
                        f"#{renames[p[1:]]}" if p.startswith("#") and p[1:] in renames else p
                        for p in value.split()
                    )
                    element.set(attribute, " ".join(pointers))
    return report


#: The web page and the EPUB mark where print page 12 begins with ``id="page-12"``.
_PAGE_ID = re.compile(r"page-\d+")
_TEXT_IDS = etree.XPath(".//@xml:id", smart_strings=False)
#: Page, column and line breaks and milestones mark a place in the source and keep no id in the
#: outputs (``pb xml:id="page-12"`` is common, and harmless).
_BREAKS = frozenset({"pb", "cb", "lb", "gb", "milestone"})


def page_ids(text: etree._Element, ids: set[str]) -> set[str]:
    """The ids of the text, not of a break, that are also where a print page begins (``page-12``)."""
    found = set()
    for candidate in ids:
        if candidate.startswith("page-") and _PAGE_ID.fullmatch(candidate):
            holders = text.xpath(".//*[@xml:id = $id]", id=candidate)
            if any(local(holder) not in _BREAKS for holder in cast(list[etree._Element], holders)):
                found.add(candidate)
    return found


def derived_ids(builder: Builder) -> set[str]:
    """The ids the outputs make from the model's: ``note-n1`` and ``noteref-n1`` for note ``n1``,
    ``app-``/``tip-`` for an intervention, ``reg-`` for a register entry (sections.py, html.py,
    web.py). With :func:`page_ids`, the ids :func:`load` keeps the text's own apart from, so
    that no output has two elements with one id and a note's reference leads to the note."""
    made = {f"{prefix}{note.id}" for note in builder.notes for prefix in ("note-", "noteref-")}
    made |= {f"{prefix}{item.id}" for item in builder.interventions for prefix in ("app-", "tip-")}
    made |= {f"reg-{key}" for key in builder.index.records}
    return made


def build_parts(
    source: Path, root: etree._Element, index: HeaderIndex, limits: Limits
) -> tuple[Builder, dict[str, Division | None]]:
    """The text's front, body and back, built, with the builder that holds the side tables."""
    text = first(root, "t:text")
    assert text is not None  # validate() checked it
    builder = Builder(str(source), root, index, limits)
    parts: dict[str, Division | None] = {}
    for part in ("front", "body", "back"):
        element = first(text, f"t:{part}")
        parts[part] = builder.section(element, 0, part) if element is not None else None
    return builder, parts


def load(path: str | os.PathLike[str], *, strict: bool = True, limits: Limits = DEFAULT_LIMITS) -> Edition:
    """Load a TEI P5 file into an immutable :class:`Edition`.

    Strict (the default) validates against the project's schema and refuses anything
    outside it. ``strict=False`` loads any TEI with a header title and a text body; elements
    the library does not know keep their text, with a warning that names them.

    Raises an :class:`~edition.errors.EditionError` subclass with file, line and column.
    """
    source = Path(path)
    tree = parse(source, limits)
    problems = validate(tree, source, strict=strict)
    if problems:
        first_problem = problems[0]
        more = f" (and {len(problems) - 1} more problems)" if len(problems) > 1 else ""
        raise ValidationError(
            first_problem.message + more,
            problems=tuple(problems),
            path=source,
            line=first_problem.line,
            column=first_problem.column,
            hint=first_problem.hint,
        )
    root = tree.getroot()
    text = first(root, "t:text")
    assert text is not None  # validate() checked it
    renamed = keep_ids_apart(root)  # first: the header's records must see the new ids too
    metadata, index = read_metadata(root, text.get(XML_LANG))
    builder, parts = build_parts(source, root, index, limits)
    for _ in range(3):  # a renamed id could, in theory, be derived from another in turn
        # ids in the text only: the header's (persons, places...) never reach an output as such
        text_ids = set(cast(list[str], _TEXT_IDS(text)))
        clashes = (derived_ids(builder) & text_ids) | page_ids(text, text_ids)
        if not clashes:
            break
        renamed += keep_ids_apart(root, clashes)
        builder, parts = build_parts(source, root, index, limits)
    body = parts["body"]
    assert body is not None
    for old, new, line in renamed:
        warnings.warn(
            EditionWarning(
                f"{source}:{line}: xml:id {old!r} is one the outputs use for their own parts; renamed {new!r}"
            ),
            stacklevel=2,
        )
    for notice in builder.report_unknown():
        warnings.warn(EditionWarning(notice), stacklevel=2)
    return Edition(
        path=str(source),
        metadata=metadata,
        front=parts["front"],
        body=body,
        back=parts["back"],
        notes=tuple(sorted(builder.notes, key=lambda note: note.number)),
        interventions=tuple(builder.interventions),
        entities=finish_entities(builder),
    )


__all__ = ["TEI_NS", "Limits", "load"]
