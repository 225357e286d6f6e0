"""``load()``: a TEI file in, an :class:`~edition.model.Edition` out (parse, validate, build)."""

from __future__ import annotations

import os
import warnings
from pathlib import Path

from edition.behaviours import TEI_NS
from edition.builder import Builder, finish_entities
from edition.errors import EditionWarning, ValidationError
from edition.header import XML_LANG, first, read_metadata
from edition.model import Division, Edition
from edition.tei import DEFAULT_LIMITS, Limits, parse, validate


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
    metadata, index = read_metadata(root, text.get(XML_LANG))
    builder = Builder(str(source), root, index, limits)
    parts: dict[str, Division | None] = {}
    for part in ("front", "body", "back"):
        element = first(text, f"t:{part}")
        parts[part] = builder.section(element, 0, part) if element is not None else None
    body = parts["body"]
    assert body is not None
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
