"""Measure, inside one process, the time spent in WeasyPrint: used by ``share.py``.

:func:`install` wraps WeasyPrint's entry points (its import, ``HTML()``, ``CSS()``,
``HTML.render``, ``Document.write_pdf`` and ``FontConfiguration()``: every call the
library makes) so that each call adds its CPU time to a total and its start and end, on
the system-wide monotonic clock, to a list of intervals. Everything else the process does
is the project's own code, with the libraries it calls (lxml, ebooklib, pikepdf, zlib):
counted on the project's side, so the share it gives the project is an upper bound.

Helper processes (layout workers, the join's process) are metered too: ``share.py``
replaces :func:`edition.parallel.processes._python` so that each starts through :func:`child_main`.
A process writes its record (a JSON file in ``$EDITION_METER_DIR``) before each answer it
sends and when it ends, so a helper stopped as soon as it has answered is still counted
(all but the pickling of its last answer).
"""

from __future__ import annotations

import atexit
import functools
import importlib.machinery
import json
import os
import resource
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

_intervals: list[tuple[float, float]] = []
_weasyprint_cpu = 0.0
_depth = threading.local()
_role = "main"


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _metered(function: Callable[..., Any]) -> Callable[..., Any]:
    """``function``, its time counted as WeasyPrint's (a call inside another is counted once)."""

    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        global _weasyprint_cpu
        depth = getattr(_depth, "value", 0)
        if depth:
            return function(*args, **kwargs)
        _depth.value = 1
        began, cpu = time.monotonic(), _cpu()
        try:
            return function(*args, **kwargs)
        finally:
            _weasyprint_cpu += _cpu() - cpu
            _intervals.append((began, time.monotonic()))
            _depth.value = 0

    return wrapper


def _patch(weasyprint: ModuleType) -> None:
    from weasyprint.document import Document
    from weasyprint.text.fonts import FontConfiguration

    for owner, name in (
        (weasyprint.HTML, "__init__"),
        (weasyprint.HTML, "render"),
        (weasyprint.CSS, "__init__"),
        (Document, "write_pdf"),
        (FontConfiguration, "__init__"),
    ):
        setattr(owner, name, _metered(getattr(owner, name)))


class _WeasyPrintImport:
    """Times ``import weasyprint`` wherever it happens, then wraps its entry points.

    A meta path finder by protocol, not by subclass: ``importlib.abc`` would add its own
    import (40 ms) to the project's side.
    """

    def find_spec(self, name: str, path: Sequence[str] | None, target: ModuleType | None = None) -> Any:
        if name != "weasyprint":
            return None
        sys.meta_path.remove(self)
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec is None or spec.loader is None:
            return spec
        loader = spec.loader
        execute = _metered(loader.exec_module)

        def exec_module(module: ModuleType) -> None:
            execute(module)
            _patch(module)

        loader.exec_module = exec_module  # type: ignore[method-assign]
        return spec


def install(role: str) -> None:
    """Meter this process from now on; its record is written at exit (and by :func:`record`)."""
    global _role
    _role = role
    if "weasyprint" in sys.modules:
        _patch(sys.modules["weasyprint"])
    else:
        sys.meta_path.insert(0, _WeasyPrintImport())
    atexit.register(record)


def record() -> None:
    folder = os.environ.get("EDITION_METER_DIR")
    if not folder:
        return
    data = {"role": _role, "cpu": _cpu(), "weasyprint_cpu": _weasyprint_cpu, "intervals": _intervals}
    path = Path(folder) / f"{os.getpid()}.json"
    partial = path.with_suffix(".tmp")
    partial.write_text(json.dumps(data), encoding="utf-8")
    partial.replace(path)


def helpers_module() -> Any:
    """The module that starts the build's helper processes and talks to them:
    ``edition.parallel.processes``, or ``edition.parallel`` in a checkout from before it was
    a package (``share.py --src``)."""
    try:
        return importlib.import_module("edition.parallel.processes")
    except ModuleNotFoundError:
        return importlib.import_module("edition.parallel")


def child_main(main: str) -> int:
    """A helper process of ``edition.parallel``, metered: its record is rewritten before each answer."""
    install(main)
    parallel = helpers_module()
    send = parallel._send

    def record_and_send(stream: Any, value: object) -> None:
        record()  # first: the join's process is stopped as soon as its answer is read
        send(stream, value)

    parallel._send = record_and_send
    return int(getattr(parallel, main)())
