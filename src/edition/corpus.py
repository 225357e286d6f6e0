"""Many editions at once: the same pure source → folder build, in parallel processes.

:func:`build_one` is a plain function of its arguments (a TEI file in, a folder of outputs
out, no shared state), so it runs unchanged in a process pool here, or on any distributed
engine that can call a Python function (see ``examples/dask_build.py``).
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path

from edition.build import build
from edition.errors import EditionError


@dataclass(frozen=True, slots=True)
class Outcome:
    """What building one source gave: its output folder, or the error; and its warnings."""

    source: Path
    out_dir: Path | None
    error: EditionError | None = None
    warnings: tuple[str, ...] = field(default=())


def build_one(
    source: str | os.PathLike[str], out_dir: str | os.PathLike[str] | None = None, **options: object
) -> Outcome:
    """Build one source; never raises a user error (it is returned), so it suits any executor."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            result = build(source, out_dir, **options)  # type: ignore[arg-type]
        except EditionError as error:
            return Outcome(Path(source), None, error, tuple(str(w.message) for w in caught))
    return Outcome(Path(source), result.out_dir, None, tuple(str(w.message) for w in caught))


def default_jobs() -> int:
    """The number of processes to use: the cores this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def build_many(
    sources: Sequence[Path],
    out_root: Path | None,
    *,
    jobs: int | None = None,
    on_done: Callable[[Outcome], None] | None = None,
    **options: object,
) -> list[Outcome]:
    """Build every source into ``out_root/<stem>/`` (default ``output/<stem>/``), ``jobs`` at a time.

    Outcomes come back in the order of ``sources``; ``on_done`` is told as each finishes.
    The cores go to the sources, so each book's PDF is laid out in one process
    (unless ``options`` say otherwise with ``jobs=``, as for :func:`edition.build`).
    """
    jobs = jobs or default_jobs()
    options = {"jobs": 1, **options}
    targets = [(out_root / s.stem) if out_root is not None else None for s in sources]
    outcomes: dict[int, Outcome] = {}
    if jobs == 1 or len(sources) == 1:
        for index, (source, target) in enumerate(zip(sources, targets, strict=True)):
            outcomes[index] = build_one(source, target, **options)
            if on_done:
                on_done(outcomes[index])
        return [outcomes[i] for i in range(len(sources))]
    with ProcessPoolExecutor(max_workers=min(jobs, len(sources))) as pool:
        running: dict[Future[Outcome], int] = {
            pool.submit(build_one, source, target, **options): index
            for index, (source, target) in enumerate(zip(sources, targets, strict=True))
        }
        for future, index in _as_completed(running):
            outcomes[index] = future.result()
            if on_done:
                on_done(outcomes[index])
    return [outcomes[i] for i in range(len(sources))]


def _as_completed(running: dict[Future[Outcome], int]) -> Iterator[tuple[Future[Outcome], int]]:
    pending = set(running)
    while pending:
        done, pending = wait(pending, return_when=FIRST_COMPLETED)
        for future in done:
            yield future, running[future]
