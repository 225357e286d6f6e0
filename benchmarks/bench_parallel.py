"""Benchmark: the print PDF of a long book as one WeasyPrint document vs laid out in parts.

    python benchmarks/bench_parallel.py                          # N = 10, 50, 100; 3 runs
    python benchmarks/bench_parallel.py --sizes 10 --runs 1 --jobs 2

For each size N (a book of N chapters from benchmarks/generate.py) and each run, a fresh
Python process lays the book out once: ``single`` is ``pdf.print_edition(jobs=1)`` (one
WeasyPrint document), ``parallel`` is ``parallel.print_book(jobs=J)`` (parts in J worker
processes, joined; no cache). The time is the wall time of that call (imports before it
excluded, worker start-up included); the peak memory is the largest sum of the resident
memory of the process and all its descendants, sampled every 50 ms (and, for the process
alone, its max RSS). The benchmark also counts footnotes whose page is not their
reference's (from the PDF's named destinations).

``--incremental N`` (default: the largest size) times rebuilds with the layout cache: a
first build fills the cache, then one word of one note in chapter 2 is changed and the
book rebuilt, then changed back and rebuilt, ``--runs`` times; the rebuild of the changed
source is compared byte for byte with a clean build (an empty cache) of the same source.
The same is then timed for a whole ``edition.build`` (web page, EPUB and PDF, written), in
this process (with the peak memory of its process tree: the layout workers and the join's
process) and as the command an editor runs (``python -m edition build``, a fresh process
each time: imports included).

The first line also says how much work two busy processes do at once, relative to one alone
(:func:`core_scaling`): 2.0 on two real cores, less where a virtual machine's cores share one.

Medians are printed. The processes run the library from compiled bytecode, as an installed
package does (``bytecode.py``). It is a benchmark, not a test: it asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))


# ------------------------------------------------------------------ memory of a process tree


def _rss_mib(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text(encoding="ascii").splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def _descendants(pid: int) -> list[int]:
    found: list[int] = []
    try:
        tasks = list(Path(f"/proc/{pid}/task").iterdir())
    except OSError:
        return found
    for task in tasks:
        try:
            children = (task / "children").read_text(encoding="ascii").split()
        except OSError:
            continue
        for child in children:
            found.append(int(child))
            found.extend(_descendants(int(child)))
    return found


def _command(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


class TreeMemory:
    """Samples the summed resident memory of this process and its descendants.

    A child caught between fork and exec has this process's command line and reports this
    process's pages as its own (they are shared, not copied): it is not counted, or every
    process started during a build could double the peak (seen: 1,020 MiB for a 510 MiB
    process starting a layout worker).
    """

    def __init__(self, interval: float = 0.05) -> None:
        self.interval = interval
        self.peak = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        me = os.getpid()
        mine = _command(me)
        while not self._stop.is_set():
            children = [pid for pid in _descendants(me) if _command(pid) != mine]
            total = _rss_mib(me) + sum(_rss_mib(pid) for pid in children)
            self.peak = max(self.peak, total)
            self._stop.wait(self.interval)

    def __enter__(self) -> TreeMemory:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()


# ------------------------------------------------------------------ one measurement (child process)


def _misplaced(path: Path, notes: list[str]) -> int:
    from edition.inspect import pdf_facts

    destinations = pdf_facts(path).destinations
    return sum(
        1
        for note in notes
        if destinations.get(f"noteref-{note}") is None
        or destinations.get(f"noteref-{note}") != destinations.get(f"note-{note}")
    )


def child(mode: str, source: str, out: str, jobs: int) -> None:
    import edition
    from edition import parallel, pdf
    from edition.build import source_date

    book = edition.load(source)
    when = source_date(book)
    stats = None
    with TreeMemory() as memory:
        begin = time.perf_counter()
        if mode == "single":
            result = pdf.print_edition(book, when=when, jobs=1)
        else:
            done = parallel.print_book(book, when=when, jobs=jobs, min_parts=2)
            assert done is not None, "the book was not laid out in parts"
            result, stats = done.result, done.stats
        seconds = time.perf_counter() - begin
    Path(out).write_bytes(result.pdf)
    print(
        json.dumps(
            {
                "seconds": seconds,
                "pages": result.pages,
                "notes": len(book.notes),
                "misplaced": _misplaced(Path(out), [n.id for n in book.notes]),
                "peak_tree_mib": memory.peak,
                "peak_self_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                "peak_worker_mib": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
                "phases": stats.seconds if stats else None,
                "laid_out": len(stats.laid_out) if stats else None,
                "size": len(result.pdf),
            }
        )
    )


def incremental_child(source: str, work: str, jobs: int, runs: int) -> None:
    """Times a full build with the cache, then rebuilds after a one-note change (and back)."""
    import edition
    from edition import parallel
    from edition.build import source_date

    path = Path(source)
    cache = Path(work) / "out" / ".edition-cache"
    original = path.read_text(encoding="utf-8")
    from generate import change_one_note

    changed, _ = change_one_note(original)

    def build(folder: Path) -> tuple[float, parallel.ParallelResult, float]:
        book = edition.load(path)
        with TreeMemory() as memory:
            begin = time.perf_counter()
            done = parallel.print_book(book, when=source_date(book), jobs=jobs, cache=folder, min_parts=2)
            seconds = time.perf_counter() - begin
        assert done is not None
        return seconds, done, memory.peak

    full, _, full_peak = build(cache)
    rebuilds: list[float] = []
    laid_out: list[list[str]] = []
    peaks: list[float] = []
    last_changed = b""
    for run in range(runs):
        for text in (changed, original):
            path.write_text(text, encoding="utf-8")
            seconds, done, peak = build(cache)
            rebuilds.append(seconds)
            laid_out.append(done.stats.laid_out)
            peaks.append(peak)
            if text is changed and run == runs - 1:
                last_changed = done.result.pdf
    path.write_text(changed, encoding="utf-8")
    clean_seconds, clean, _ = build(Path(work) / "clean-cache")
    path.write_text(original, encoding="utf-8")
    print(
        json.dumps(
            {
                "full": full,
                "full_peak": full_peak,
                "rebuilds": rebuilds,
                "laid_out": laid_out,
                "rebuild_peak": max(peaks),
                "clean": clean_seconds,
                "identical": last_changed == clean.result.pdf,
            }
        )
    )


def whole_child(source: str, work: str, jobs: int, runs: int) -> None:
    """``edition.build`` of all three formats: the first (empty cache), then after each edit.

    A process of its own: one that has joined PDFs itself (``incremental_child``) keeps that
    memory, and the process tree's peak would count it (seen: 1,244 MiB against 884 MiB).
    """
    from generate import change_one_note

    import edition

    path = Path(source)
    out = Path(work) / "whole"
    original = path.read_text(encoding="utf-8")
    changed, _ = change_one_note(original)

    peaks: list[float] = []

    def timed() -> float:  # the whole process tree's memory too: the join's process is in it
        with TreeMemory() as memory:
            begin = time.perf_counter()
            edition.build(path, out, jobs=jobs)
            seconds = time.perf_counter() - begin
        peaks.append(memory.peak)
        return seconds

    def command_line() -> float:  # what an editor runs: a fresh process, imports included
        begin = time.perf_counter()
        command = [sys.executable, "-m", "edition", "-q", "build", str(path), "-o", str(out), "-j", str(jobs)]
        subprocess.run(command, check=True)
        return time.perf_counter() - begin

    first = timed()
    rebuilds = []
    for _ in range(runs):
        for text in (changed, original):
            path.write_text(text, encoding="utf-8")
            rebuilds.append(timed())
    fresh = []
    for _ in range(runs):
        for text in (changed, original):
            path.write_text(text, encoding="utf-8")
            fresh.append(command_line())
    path.write_text(original, encoding="utf-8")
    print(
        json.dumps(
            {
                "whole_full": first,
                "whole_rebuilds": rebuilds,
                "whole_peaks": [peaks[0], max(peaks[1:])],
                "command_line_rebuilds": fresh,
            }
        )
    )


# ------------------------------------------------------------------ the table (parent process)


_BUSY_LOOP = (
    "import time\nt = time.perf_counter()\nfor _ in range(15_000_000): pass\nprint(time.perf_counter() - t)"
)


def core_scaling(rounds: int = 5) -> float:
    """How much work two busy processes do at once, relative to one alone (2.0: two real cores).

    Why: the cores of a virtual machine may share a physical core, and then laying out in
    parallel gains less than the core count suggests. Each round times a pure-Python loop
    alone, two at once, then alone again, so that the machine's drift (the same loop alone
    took 0.9 to 2.0 s within minutes here) falls on both sides; the median of the rounds.
    On this project's machine: 1.96 (15 rounds).
    """

    def loop() -> subprocess.Popen[str]:
        return subprocess.Popen([sys.executable, "-c", _BUSY_LOOP], stdout=subprocess.PIPE, text=True)

    def seconds(process: subprocess.Popen[str]) -> float:
        return float(process.communicate()[0])

    ratios = []
    for _ in range(rounds):
        before = seconds(loop())
        pair = [loop(), loop()]
        together = sum(seconds(process) for process in pair) / 2
        after = seconds(loop())
        ratios.append((before + after) / together)  # 2 × the mean time alone, over the time in a pair
    return statistics.median(ratios)


def _run(args: list[str]) -> dict[str, object]:
    completed = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True, check=False)
    if completed.returncode != 0:
        raise SystemExit(f"benchmark child failed: {' '.join(args)}\n{completed.stderr[-3000:]}")
    return json.loads(completed.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def _number(row: dict[str, object], key: str) -> float:
    value = row[key]
    assert isinstance(value, int | float)
    return float(value)


def _median(rows: list[dict[str, object]], key: str) -> float:
    return statistics.median(_number(row, key) for row in rows)


def _spread(seconds: list[float]) -> str:
    """``9.4 s (median of 6: 10.8, 9.3, …)``: the median and every run."""
    runs = ", ".join(f"{x:.1f}" for x in seconds)
    return f"{statistics.median(seconds):.1f} s (median of {len(seconds)}: {runs})"


def _most(rows: list[dict[str, object]], key: str) -> float:
    return max(_number(row, key) for row in rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Single-pass vs parallel layout of the print PDF.")
    parser.add_argument("--sizes", default="10,50,100")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--jobs", type=int, default=0, help="worker processes (default: the cores)")
    parser.add_argument("--incremental", type=int, default=-1, help="size for rebuild timings (0: none)")
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    parser.add_argument("--incremental-child", nargs=4, help=argparse.SUPPRESS)
    parser.add_argument("--whole-child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        mode, source, out, jobs = args.child
        child(mode, source, out, int(jobs))
        return 0
    if args.incremental_child:
        source, work, jobs, runs = args.incremental_child
        incremental_child(source, work, int(jobs), int(runs))
        return 0
    if args.whole_child:
        source, work, jobs, runs = args.whole_child
        whole_child(source, work, int(jobs), int(runs))
        return 0

    import weasyprint
    from bytecode import use_compiled_bytecode
    from generate import generate

    from edition.parallel import default_jobs

    jobs = args.jobs or default_jobs()
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    incremental = max(sizes) if args.incremental < 0 else args.incremental
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores ({jobs} jobs; two busy processes do "
        f"{core_scaling():.2f}× the work of one), Python "
        f"{platform.python_version()}, WeasyPrint {weasyprint.__version__}, {platform.system()} "
        f"{platform.release()}; medians of {args.runs} runs, each in a fresh process",
        flush=True,
    )
    print(
        f"{'N':>4} {'pages':>6} {'notes':>6} {'single s':>9} {'parallel s':>10} {'ratio':>6} "
        f"{'single MiB':>10} {'parallel MiB':>12} {'(coord/worker)':>15} {'MB single/parallel':>19} "
        f"{'notes off page':>15}",
        flush=True,
    )
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        use_compiled_bytecode(work / "bytecode")
        for size in sizes:
            source = work / f"book-{size}" / "book.xml"
            source.parent.mkdir()
            source.write_bytes(generate(size))
            single = [
                _run(["--child", "single", str(source), str(work / "single.pdf"), "1"])
                for _ in range(args.runs)
            ]
            joined = [
                _run(["--child", "parallel", str(source), str(work / "parallel.pdf"), str(jobs)])
                for _ in range(args.runs)
            ]

            s, p = _median(single, "seconds"), _median(joined, "seconds")
            print(
                f"{size:>4} {joined[0]['pages']:>6} {joined[0]['notes']:>6} {s:>9.1f} {p:>10.1f} "
                f"{p / s:>6.2f} {_most(single, 'peak_tree_mib'):>10.0f} "
                f"{_most(joined, 'peak_tree_mib'):>12.0f} "
                f"{_most(joined, 'peak_self_mib'):>7.0f}/{_most(joined, 'peak_worker_mib'):<7.0f} "
                f"{_most(single, 'size') / 1e6:>9.1f}/{_most(joined, 'size') / 1e6:<9.1f} "
                f"{single[0]['misplaced']}/{joined[0]['misplaced']:<13}",
                flush=True,
            )
            phases = joined[len(joined) // 2]["phases"]
            print(f"     parallel phases (seconds since start, one run): {phases}", flush=True)
        if incremental:
            source = work / f"incremental-{incremental}" / "book.xml"
            source.parent.mkdir()
            source.write_bytes(generate(incremental))
            row = _run(["--incremental-child", str(source), str(source.parent), str(jobs), str(args.runs)])
            row.update(_run(["--whole-child", str(source), str(source.parent), str(jobs), str(args.runs)]))
            rebuilds = [float(x) for x in row["rebuilds"]]  # type: ignore[attr-defined]
            rebuild, full = statistics.median(rebuilds), _number(row, "full")
            print(
                f"incremental, N = {incremental}: full build with the cache {full:.1f} s; rebuild after a "
                f"one-note change {_spread(rebuilds)} = {rebuild / full:.1%} of the full build; "
                f"parts laid out again: {row['laid_out']}; "
                f"peak MiB: full build {_number(row, 'full_peak'):.0f}, "
                f"rebuild {_number(row, 'rebuild_peak'):.0f}; same bytes as a clean build "
                f"({_number(row, 'clean'):.1f} s): {row['identical']}",
                flush=True,
            )
            whole = [float(x) for x in row["whole_rebuilds"]]  # type: ignore[attr-defined]
            print(
                f"incremental, N = {incremental}, edition.build (HTML, EPUB and PDF): first build "
                f"{_number(row, 'whole_full'):.1f} s; rebuild after a one-note change "
                f"{statistics.median(whole):.1f} s (median of {len(whole)}) = "
                f"{statistics.median(whole) / _number(row, 'whole_full'):.1%} of the first; peak MiB of "
                f"the process tree: first build {row['whole_peaks'][0]:.0f}, "  # type: ignore[index]
                f"rebuilds {row['whole_peaks'][1]:.0f}",  # type: ignore[index]
                flush=True,
            )
            fresh = [float(x) for x in row["command_line_rebuilds"]]  # type: ignore[attr-defined]
            print(
                f"incremental, N = {incremental}, `python -m edition build` (a fresh process each time): "
                f"rebuild after a one-note change {_spread(fresh)} = "
                f"{statistics.median(fresh) / _number(row, 'whole_full'):.1%} of the first edition.build",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
