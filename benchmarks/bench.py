"""Benchmarks: time each stage of the pipeline at book scale. Run on demand, never in the tests.

    python benchmarks/bench.py                       # interview + N = 1, 10 chapters, 3 runs
    python benchmarks/bench.py --sizes 0,1,10,50,100 --runs 3

Size 0 is the interview itself; N > 0 is a book of N chapters from benchmarks/generate.py.
Stages: ``load`` (TEI → model), ``html`` (the web page), ``epub``, ``pdf`` (one WeasyPrint
document, ``jobs=1``) and ``all`` (``edition.build``: all three formats written, as
``edition build`` makes them: a long book's PDF in parts on every core, no layout cache).
For every size and stage it prints the median wall time of a whole fresh process (cold:
imports included), the median time of the stage inside a warm process (after a first,
discarded run), seconds per PDF page, peak memory (max RSS of the process), and for the
PDF the share of time spent in this project's own code (model → HTML) versus WeasyPrint.
It also checks that no footnote landed on a page other than its reference's. The processes
run the library from compiled bytecode, as an installed package does (``bytecode.py``).
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
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
STAGES = ("load", "html", "epub", "pdf", "all")


def child(stage: str, source: str, out: str, repeat: int) -> None:
    """Run one stage ``repeat`` times in this process; print a JSON line of measurements."""
    started = time.perf_counter()
    import edition
    from edition import epub, pdf, web
    from edition.build import source_date
    from edition.html import to_html

    imported = time.perf_counter() - started
    timings: list[float] = []
    own: list[float] = []
    pages = 0
    for _ in range(repeat):
        begin = time.perf_counter()
        loaded = edition.load(source)
        when = source_date(loaded)
        if stage == "html":
            web.render_page(loaded, {"PDF": "x.pdf", "EPUB": "x.epub"})
        elif stage == "epub":
            epub.render_epub(loaded, {}, when)
        elif stage == "pdf":
            own_begin = time.perf_counter()
            to_html(pdf.PrintRenderer(loaded).book(when))
            own.append(time.perf_counter() - own_begin + (own_begin - begin))
            data = pdf.print_edition(loaded, when=when, jobs=1).pdf  # one WeasyPrint document
            Path(out).write_bytes(data)
        elif stage == "all":
            edition.build(source, out, cache=False)  # a full build: no parts from an earlier run
        timings.append(time.perf_counter() - begin)
    if stage == "pdf":
        from edition.inspect import pdf_facts

        facts = pdf_facts(Path(out))
        pages = facts.pages
        misplaced = sum(
            1
            for note in loaded.notes
            if facts.destinations.get(f"noteref-{note.id}") != facts.destinations.get(f"note-{note.id}")
        )
    else:
        misplaced = 0
    print(
        json.dumps(
            {
                "import": imported,
                "timings": timings,
                "own": own,
                "pages": pages,
                "misplaced_notes": misplaced,
                "notes": len(loaded.notes),
                "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            }
        )
    )


def measure(stage: str, source: Path, work: Path, runs: int) -> dict[str, object]:
    cold: list[float] = []
    peaks: list[float] = []
    result: dict[str, object] = {}
    out = work / ("out" if stage == "all" else f"out.{stage}")
    for _ in range(runs):
        begin = time.perf_counter()
        completed = subprocess.run(
            [sys.executable, __file__, "--child", stage, str(source), str(out), "1"],
            capture_output=True,
            text=True,
            check=True,
        )
        cold.append(time.perf_counter() - begin)
        result = json.loads(completed.stdout.strip().splitlines()[-1])
        peaks.append(float(result["peak_mib"]))  # type: ignore[arg-type]
    warm_run = subprocess.run(
        [sys.executable, __file__, "--child", stage, str(source), str(out), str(runs + 1)],
        capture_output=True,
        text=True,
        check=True,
    )
    warm = json.loads(warm_run.stdout.strip().splitlines()[-1])
    warm_times = warm["timings"][1:]
    own = warm["own"][1:]
    return {
        "cold": statistics.median(cold),
        "warm": statistics.median(warm_times),
        "own_share": statistics.median(o / t for o, t in zip(own, warm_times, strict=True)) if own else None,
        "pages": result["pages"],
        "notes": result["notes"],
        "misplaced": result["misplaced_notes"],
        "peak": max(peaks),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Time the pipeline's stages at book scale.")
    parser.add_argument("--sizes", default="0,1,10", help="0 = the interview; N = a book of N chapters")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--stages", default="load,html,epub,pdf,all")
    parser.add_argument(
        "--child", nargs=4, metavar=("STAGE", "SOURCE", "OUT", "REPEAT"), help=argparse.SUPPRESS
    )
    args = parser.parse_args(argv)
    if args.child:
        stage, source, out, repeat = args.child
        child(stage, source, out, int(repeat))
        return 0
    from bytecode import use_compiled_bytecode
    from generate import SOURCE, generate

    sizes = [int(s) for s in args.sizes.split(",")]
    stages = [s for s in args.stages.split(",") if s in STAGES]
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"{platform.system()} {platform.release()}"
    )
    print(
        f"{'stage':6} {'N':>4} {'pages':>6} {'notes':>6} {'cold s':>8} {'warm s':>8} {'s/page':>7} "
        f"{'peak MiB':>9} {'own %':>6} {'notes off page':>15}"
    )
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        use_compiled_bytecode(work / "bytecode")
        for size in sizes:
            source = SOURCE if size == 0 else work / f"book-{size}.xml"
            if size:
                source.write_bytes(generate(size))
            for stage in stages:
                row = measure(stage, source, work, args.runs)
                pages = int(row["pages"])  # type: ignore[arg-type]
                per_page = f"{float(row['warm']) / pages:.3f}" if pages else "—"  # type: ignore[arg-type]
                own = f"{100 * float(row['own_share']):.1f}" if row["own_share"] is not None else "—"  # type: ignore[arg-type]
                print(
                    f"{stage:6} {size:>4} {pages or '—':>6} {row['notes']:>6} {row['cold']:>8.2f} "
                    f"{row['warm']:>8.2f} {per_page:>7} {row['peak']:>9.0f} {own:>6} "
                    f"{row['misplaced'] if stage == 'pdf' else '—':>15}",
                    flush=True,
                )
    return 0


if __name__ == "__main__":
    sys.exit(main())
