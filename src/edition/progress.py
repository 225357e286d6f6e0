"""Progress for long builds: a rich progress bar on a terminal, nothing otherwise."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

Advance = Callable[[str, str | None], None]
"""``advance(source_name, step)``: a step of a source's build, or ``None`` when it is done."""


@contextmanager
def progress(total: int, *, quiet: bool = False) -> Iterator[Advance]:
    """Yield an ``advance`` callback; show a bar only when stderr is a terminal and not quiet."""
    if quiet or not sys.stderr.isatty():
        yield lambda _name, _step: None
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        SpinnerColumn,
        TextColumn,
        TimeElapsedColumn,
    )

    columns = (
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task("building", total=total)

        def advance(name: str, step: str | None) -> None:
            if step is None:
                bar.advance(task)
            else:
                bar.update(task, description=f"{name}: {step}")

        yield advance
