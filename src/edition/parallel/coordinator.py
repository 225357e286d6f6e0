"""The coordinator: plan, lay out (in parallel, from the cache), join."""

from __future__ import annotations

import concurrent.futures
import contextlib
import hashlib
import logging
import os
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from edition.errors import RenderError
from edition.html import h
from edition.parallel.cache import PartCache, _files_referenced, _fingerprint, _key
from edition.parallel.join import FolioSheet, Placed, join
from edition.parallel.layout import LayoutConfig, Layouter, PartLayout, _Failure
from edition.parallel.plan import PartPlan, plan_parts
from edition.parallel.processes import _Join, _Runner, _Warm
from edition.parallel.styles import Styles, Unsupported

if TYPE_CHECKING:
    from edition.model import Edition
    from edition.pdf import PageStart, PrintResult

log = logging.getLogger("edition")

#: Below this many parts a book is laid out in one piece: starting processes and laying out
#: fonts once per part cost more than they save (at 7 parts, a book of 4 chapters, the
#: parallel build is about as fast as one document on two cores; at 13 parts, 0.7 of it).
MIN_PARTS = 8
#: Target pages per folio sheet (empty pages with only the page numbers).
FOLIO_CHUNK = 160


@dataclass(slots=True)
class BuildStats:
    """What a parallel build did: which parts it laid out and which it took from the cache."""

    parts: int = 0
    laid_out: list[str] = field(default_factory=list)
    cached: list[str] = field(default_factory=list)
    folio_sheets_laid_out: int = 0
    folio_sheets_cached: int = 0
    jobs: int = 1
    seconds: dict[str, float] = field(default_factory=dict)

    def summary(self) -> str:
        """Say what was laid out and what came from the cache, e.g. ``in 104 parts: 1 laid out, ...``."""
        return (
            f"in {self.parts} parts: {len(self.laid_out)} laid out, {len(self.cached)} from the cache; "
            f"folio sheets: {self.folio_sheets_laid_out} laid out, "
            f"{self.folio_sheets_cached} from the cache; "
            f"{self.jobs} jobs"
        )


@dataclass(frozen=True, slots=True)
class ParallelResult:
    result: PrintResult
    stats: BuildStats


def default_jobs() -> int:
    """The number of cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # pragma: no cover (not Linux)
        return os.cpu_count() or 1


def print_book(
    edition: Edition,
    *,
    profile: str = "screen",
    when: datetime,
    trim: str = "6x9in",
    jobs: int | None = None,
    cache: Path | None = None,
    min_parts: int | None = None,
    on_starts: Callable[[tuple[PageStart, ...]], None] | None = None,
) -> ParallelResult | None:
    """Lay out the print edition in parts, in ``jobs`` processes, and join them.

    ``cache`` is a folder for laid-out parts (``<output folder>/.edition-cache``): a
    rebuild lays out only the parts that changed. Returns ``None`` when the book has fewer
    than ``min_parts`` parts or cannot be laid out in parts exactly (the log says why):
    the caller then lays it out in one piece.

    ``on_starts`` is called with the page starts as soon as they are known, before the join,
    which then runs in another process meanwhile (the build renders the web page and EPUB).
    """
    from edition.model import Division

    min_parts = MIN_PARTS if min_parts is None else min_parts
    # at most: the opening, each top-level division, the front and back matter, apparatus, registers
    if 3 + len(edition.divisions) + sum(isinstance(b, Division) for b in edition.body.blocks) < min_parts:
        return None
    jobs = max(1, jobs if jobs is not None else default_jobs())
    warm = _Warm(jobs, join=on_starts is not None)
    try:
        return _print_book(edition, warm, profile, when, trim, jobs, cache, min_parts, on_starts)
    finally:
        warm.close()


def _print_book(
    edition: Edition,
    warm: _Warm,
    profile: str,
    when: datetime,
    trim: str,
    jobs: int,
    cache: Path | None,
    min_parts: int,
    on_starts: Callable[[tuple[PageStart, ...]], None] | None,
) -> ParallelResult | None:
    """:func:`print_book` once the book may have enough parts (the plan says whether it has)."""
    from edition.pdf import PageStart, PrintOptions, PrintRenderer, PrintResult, _strip_links

    began = time.perf_counter()
    options = PrintOptions(profile, trim)
    folder = Path(edition.path).resolve().parent
    try:
        probe = Layouter(
            LayoutConfig(profile, trim, str(folder), when, edition.metadata, str(edition.path), ())
        )
        styles = Styles([text for text, _ in probe.sheets])
        config = LayoutConfig(
            profile,
            trim,
            str(folder),
            when,
            edition.metadata,
            str(edition.path),
            tuple(sorted(styles.folio_boxes())),
        )
        warm.configure(config)  # the warm worker sets WeasyPrint up while the book is planned
        book = PrintRenderer(edition).book(when)
        if options.press:
            _strip_links(book)
        parts = plan_parts(book, styles)
        del book
        _check_phases(parts)
    except Unsupported as why:
        log.info("laid out in one piece: %s", why)
        return None
    if len(parts) < min_parts:
        return None
    stats = BuildStats(parts=len(parts), jobs=jobs)
    store = PartCache(cache / f"pdf-{profile}-{trim}") if cache is not None else None
    fingerprint = _fingerprint(config, probe)
    folio_css = styles.folios_only(options.press)
    runner = _Runner(config, jobs, warm.take_worker())
    stats.seconds["plan"] = time.perf_counter() - began
    try:
        layouts: dict[int, PartLayout] = {}

        def run_parts(indices: Sequence[int], pages: dict[str, int] | None) -> list[tuple[int, str, Any]]:
            """Each part not in the cache goes to a worker as soon as its HTML is written: the first
            layouts need not wait for the other parts to be serialised."""
            pending: list[tuple[int, str, Any]] = []
            cached: list[bytes] = []
            for index in indices:
                part = parts[index]
                html = part.html(pages)
                part.tree = h("html")  # serialised: the copy of the book is not needed any more
                key = _key(
                    fingerprint,
                    "part",
                    html,
                    *part.css,
                    str(part.continues_group),
                    _files_referenced(html, folder),
                )
                hit = store.get(key) if store is not None else None
                if hit is not None:
                    with contextlib.suppress(KeyError, TypeError, ValueError):
                        layouts[index] = PartLayout.from_facts(hit[0], hit[1])
                        stats.cached.append(part.name)
                        cached.append(hit[1])
                        continue
                args = ("part", html, part.css, part.continues_group)
                pending.append((index, key, runner.submit([args], more=len(indices) > 1)[0]))
            warm.prefetch(cached)
            return pending

        def collect(pending: list[tuple[int, str, Any]]) -> None:
            for index, key, future in pending:
                outcome = future.result()
                if isinstance(outcome, _Failure):
                    _raise(outcome, edition)
                assert isinstance(outcome, PartLayout)
                if outcome.blank_end and index != len(parts) - 1:  # the book's end is the part's
                    raise Unsupported(f"part {parts[index].name} ends with notes carried onto a blank page")
                layouts[index] = outcome
                stats.laid_out.append(parts[index].name)
                if store is not None:
                    store.put(key, outcome.facts(), outcome.pdf)

        first_phase = [i for i, p in enumerate(parts) if p.phase == 1]
        second_phase = [i for i, p in enumerate(parts) if p.phase == 2]
        collect(run_parts(first_phase, None))
        stats.seconds["phase 1"] = time.perf_counter() - began
        placed = _place(parts, layouts, first_phase)
        pages = {name: part.first + index for part in placed for name, index in part.layout.anchors.items()}
        pending = run_parts(second_phase, pages)
        sheets: list[FolioSheet] = []
        early = _folio_jobs(placed, more=bool(second_phase))
        sheet_pending = _run_sheets(early, fingerprint, folio_css, store, runner, stats)
        collect(pending)
        stats.seconds["phase 2"] = time.perf_counter() - began
        placed = _place(parts, layouts, range(len(parts)))
        late = _folio_jobs(placed[len(first_phase) :], more=False)
        sheet_pending += _run_sheets(late, fingerprint, folio_css, store, runner, stats)
        for first, kinds, key, future in sheet_pending:
            outcome = future.result() if isinstance(future, concurrent.futures.Future) else future
            if isinstance(outcome, _Failure):
                _raise(outcome, edition)
            assert isinstance(outcome, bytes)
            if store is not None and isinstance(future, concurrent.futures.Future):
                store.put(key, {"first": first, "kinds": kinds}, outcome)
            sheets.append(FolioSheet(first, kinds, outcome))
        stats.seconds["folios"] = time.perf_counter() - began
    except Unsupported as why:
        log.info("laid out in one piece: %s", why)
        return None
    finally:
        runner.close()  # the workers are ended before the join, not waited for
    starts = tuple(
        PageStart(part.first + page - 1, block, offset)
        for part in placed
        for page, block, offset in part.layout.starts
    )
    if on_starts is not None and jobs > 1:
        joining = _Join(placed, sheets, not options.press, warm.take_joiner())
        try:
            on_starts(starts)
        except BaseException:
            joining.close()
            raise
        data = joining.result()
    else:  # one job: one process
        data = join(placed, sheets, tagged=not options.press)
        if on_starts is not None:
            on_starts(starts)
    stats.seconds["join"] = time.perf_counter() - began
    if store is not None:
        store.prune()
    for part in placed:
        for message in part.layout.messages:
            log.info("WeasyPrint (%s): %s", part.name, message)
    total = placed[-1].first + placed[-1].layout.pages - 1
    log.info("PDF laid out %s", stats.summary())
    return ParallelResult(PrintResult(data, total, starts, stats.summary()), stats)


def _check_phases(parts: Sequence[PartPlan]) -> None:
    """Parts with page references come last, and refer only to ids of the parts before them."""
    seen_second = False
    ids: set[str] = set()
    for part in parts:
        if part.phase == 2:
            seen_second = True
            for _, _, target in part.targets:
                if target not in ids:
                    raise Unsupported(
                        f"part {part.name} refers to #{target}, not in a part laid out before it"
                    )
        elif seen_second:
            raise Unsupported(f"part {part.name} follows a part with page references")
        else:
            ids.update(e.get("id") or "" for e in part.tree.iter() if isinstance(e.tag, str))


def _place(parts: Sequence[PartPlan], layouts: dict[int, PartLayout], indices: Iterable[int]) -> list[Placed]:
    """Where each laid-out part falls in the book (every part but the first starts on a right page)."""
    placed: list[Placed] = []
    count = 0
    for index in indices:
        layout = layouts[index]
        blank = index > 0 and count % 2 == 1
        count += blank
        placed.append(Placed(parts[index].name, layout, count + 1, blank))
        count += layout.pages
    return placed


def _folio_jobs(placed: Sequence[Placed], *, more: bool) -> list[tuple[int, str]]:
    """``(first page, kinds)`` of folio sheets: ``F`` numbered page, ``N`` page without, ``B`` blank verso.

    A sheet starts at a part's first page and holds whole parts (with the blank verso after
    them, if the next part needs one); ``more`` says parts will follow the last one placed.
    """
    segments: list[tuple[int, str]] = []
    for position, part in enumerate(placed):
        kinds = "".join("F" if folio else "N" for folio in part.layout.folios)
        following = placed[position + 1] if position + 1 < len(placed) else None
        end = part.first + part.layout.pages - 1
        if (following is not None and following.blank_before) or (
            following is None and more and end % 2 == 1
        ):
            kinds += "B"
        segments.append((part.first, kinds))
    jobs: list[tuple[int, str]] = []
    for first, kinds in segments:
        if jobs and len(jobs[-1][1]) + len(kinds) <= FOLIO_CHUNK:
            jobs[-1] = (jobs[-1][0], jobs[-1][1] + kinds)
        else:
            jobs.append((first, kinds))
    return [(first, kinds) for first, kinds in jobs if "F" in kinds or "B" in kinds]


def _run_sheets(
    jobs: Sequence[tuple[int, str]],
    fingerprint: hashlib._Hash,
    css: str,
    store: PartCache | None,
    runner: _Runner,
    stats: BuildStats,
) -> list[tuple[int, str, str, Any]]:
    ready: list[tuple[int, str, str, Any]] = []
    batch: list[tuple[int, str, str]] = []
    for first, kinds in jobs:
        key = _key(fingerprint, "folios", str(first), kinds, css)
        hit = store.get(key) if store is not None else None
        if hit is not None and hit[0].get("first") == first and hit[0].get("kinds") == kinds:
            ready.append((first, kinds, key, hit[1]))
            stats.folio_sheets_cached += 1
        else:
            batch.append((first, kinds, key))
    futures = runner.submit([("folios", first, kinds, css) for first, kinds, _ in batch])
    stats.folio_sheets_laid_out += len(batch)
    return ready + [
        (first, kinds, key, future) for (first, kinds, key), future in zip(batch, futures, strict=True)
    ]


def _raise(failure: _Failure, edition: Edition) -> None:
    if failure.refused:
        raise RenderError(
            f"refused to fetch {failure.refused}",
            path=edition.path,
            hint="images must be files inside the edition's folder",
        )
    raise RenderError(f"layout failed: {failure.message}", path=edition.path)
