"""edition: scholarly digital editions from TEI P5.

One TEI source is loaded into one immutable model (:func:`load`) and published as a web
page, a print PDF and an EPUB 3 that say the same thing (:func:`build`).

>>> import edition
>>> ed = edition.load("sources/panahli-january-20.xml")      # doctest: +SKIP
>>> ed.metadata.title, len(ed.notes), len(ed.interventions)  # doctest: +SKIP
"""

from edition.build import FORMATS, BuildResult, build
from edition.errors import (
    EditionError,
    EditionWarning,
    OutputError,
    ParseError,
    RenderError,
    SourceNotFoundError,
    UnsafeInputError,
    ValidationError,
)
from edition.loader import load
from edition.model import (
    Edition,
    Entity,
    EntityKind,
    Intervention,
    InterventionKind,
    Metadata,
    Note,
)
from edition.tei import Limits

__all__ = [
    "FORMATS",
    "BuildResult",
    "Edition",
    "EditionError",
    "EditionWarning",
    "Entity",
    "EntityKind",
    "Intervention",
    "InterventionKind",
    "Limits",
    "Metadata",
    "Note",
    "OutputError",
    "ParseError",
    "RenderError",
    "SourceNotFoundError",
    "UnsafeInputError",
    "ValidationError",
    "build",
    "load",
]
