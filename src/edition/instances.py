"""Static instances of the variable EB Garamond, for the print edition.

Why: EB Garamond ships as a variable font. Given one, WeasyPrint instantiates it at the
weight of every face it embeds, in every document it writes, over all of the font's
glyphs before subsetting: for the interview that was about a third of the PDF's time, and
a long book laid out in parts (:mod:`edition.parallel`) paid it once per part. Given
static fonts, WeasyPrint only subsets. So the print stylesheet names one static file per
weight, made here once with fontTools' instancer and kept:

* in memory, for the rest of the process (a warm process, ``edition watch``, a worker);
* on disk in the user's cache folder (``$EDITION_CACHE``, else ``$XDG_CACHE_HOME/edition``,
  else ``~/.cache/edition``), under a name that hashes the variable font, the weight and
  fontTools' version, so a new font or fontTools makes new files. The folder is safe to
  delete; where it cannot be written, instances live in a temporary folder for the process.

An instance is a pure function of its inputs (the ``head`` table's timestamps are kept
from the variable font), so builds stay byte-identical whichever way the file was made.
"""

from __future__ import annotations

import atexit
import hashlib
import os
import shutil
import tempfile
import threading
from pathlib import Path

#: The faces print.css uses: (file stem of the variable font, weight).
PRINT_FACES: tuple[tuple[str, int], ...] = (
    ("EBGaramond", 400),
    ("EBGaramond", 500),
    ("EBGaramond", 600),
    ("EBGaramond-Italic", 400),
    ("EBGaramond-Italic", 500),
)

_made: dict[tuple[Path, int], Path] = {}
_lock = threading.Lock()
_fallback: Path | None = None


def cache_folder() -> Path:
    """Where instances are kept between processes."""
    if configured := os.environ.get("EDITION_CACHE"):
        return Path(configured) / "fonts"
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "edition" / "fonts"


def _temporary_folder() -> Path:
    global _fallback
    if _fallback is None:
        _fallback = Path(tempfile.mkdtemp(prefix="edition-fonts-"))
        atexit.register(shutil.rmtree, _fallback, True)
    return _fallback


def instance_name(variable: Path, weight: int) -> str:
    """The file name of an instance: what it is, and a hash of everything its bytes depend on."""
    import fontTools

    digest = hashlib.sha256(variable.read_bytes())
    digest.update(f"wght={weight};fontTools={fontTools.version}".encode())
    return f"{variable.name.split('[')[0].removesuffix('.ttf')}-{weight}-{digest.hexdigest()[:16]}.ttf"


def _instantiate(variable: Path, weight: int) -> bytes:
    import io

    from fontTools.ttLib import TTFont
    from fontTools.varLib import instancer

    font = TTFont(str(variable), recalcTimestamp=False)
    # in place: four times faster than on a copy
    instancer.instantiateVariableFont(font, {"wght": weight}, inplace=True, static=True)
    buffer = io.BytesIO()
    font.save(buffer)
    return buffer.getvalue()


def _write_atomically(path: Path, data: bytes) -> bool:
    """Write ``path`` whole or not at all, as builds write outputs; ``False`` if it cannot."""
    from edition.build import commit, stage
    from edition.errors import OutputError

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        commit([(stage(path, data), path)])
    except (OSError, OutputError):
        return False
    return True


def static_instance(variable: Path, weight: int) -> Path:
    """A static font file: ``variable`` at ``weight`` (made once, then reused)."""
    with _lock:
        known = _made.get((variable, weight))
        if known is not None and known.is_file():
            return known
        name = instance_name(variable, weight)
        data: bytes | None = None
        for where in (cache_folder, _temporary_folder):  # the temporary folder only if needed
            folder = where()
            path = folder / name
            if not path.is_file():
                data = data if data is not None else _instantiate(variable, weight)
                if not _write_atomically(path, data):
                    continue
            _made[variable, weight] = path
            return path
    raise OSError(f"cannot write a static instance of {variable.name} anywhere")  # pragma: no cover
