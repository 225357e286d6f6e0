"""Run a benchmark's processes from compiled bytecode, as an installed package runs.

pip compiles a package's modules when it installs it, and an editable checkout has them
compiled on first import, unless ``PYTHONDONTWRITEBYTECODE`` is set, as it is on the
machine these numbers come from: then every fresh process compiles the whole library again
from source, about a tenth of a second of the project's side of each process (the build's
own, each layout worker's, the join's). That is a property of the machine, not of the
library, so the benchmarks compile it once, into a folder of their own
(``PYTHONPYCACHEPREFIX``: the checkout is left as it is), and every process they start
reads it from there.
"""

from __future__ import annotations

import compileall
import os
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "edition"


def use_compiled_bytecode(folder: Path, package: Path = PACKAGE) -> None:
    """Compile the library into ``folder``; this process and every one it starts read it there."""
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    os.environ["PYTHONPYCACHEPREFIX"] = str(folder)
    sys.pycache_prefix = str(folder)
    if not compileall.compile_dir(str(package), quiet=1):
        raise SystemExit(f"could not compile {package}")
