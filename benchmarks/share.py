"""Benchmark: how much of a whole build is this project's code, and how much is WeasyPrint.

    python benchmarks/share.py                       # the interview, N = 1, 10; 3 runs
    python benchmarks/share.py --sizes 0,1,10,100 --runs 3
    python benchmarks/share.py --sizes 10 --src ../other-checkout/src   # another version

Each run is one cold build, as an editor types it: a fresh Python process that imports the
library and calls ``edition.build`` (all three formats, no layout cache; a long book's PDF
in parts on every core, as ``edition build`` does). Every process of the build is metered
(``meter.py``): the build's own, its layout workers and the join's process. Two shares of
this project's code are printed, medians over the runs:

* **CPU**: the CPU time of all those processes outside WeasyPrint, over their whole CPU
  time. WeasyPrint is its import and every call into it; the rest (interpreter start-up,
  loading, the web page, the EPUB, planning, the join with pikepdf/qpdf, the pipes
  between processes) counts as the project's, with the libraries it calls.
* **wall**: the time, from the process's start to the end of the build, during which no
  process was running WeasyPrint, over that whole time: what the project adds to the time
  an editor waits, where the work of both overlaps.

The processes run the library from compiled bytecode, as an installed package does
(``bytecode.py``). It is a benchmark, not a test: it asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
BENCHMARKS = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCHMARKS))


def child(source: str, out: str) -> None:
    """One metered cold build; prints when it ended (the driver knows when it began)."""
    import meter

    meter.install("build")
    import edition

    def metered_python(main: str) -> subprocess.Popen[bytes]:
        environment = dict(os.environ)  # its PYTHONPATH starts with the library measured (measure)
        environment["PYTHONPATH"] = os.pathsep.join(
            p for p in (environment.get("PYTHONPATH"), str(BENCHMARKS)) if p
        )
        return subprocess.Popen(
            [sys.executable, "-c", f"import sys, meter; sys.exit(meter.child_main({main!r}))"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=environment,
        )

    meter.helpers_module()._python = metered_python
    edition.build(source, out, cache=False)
    print(json.dumps({"end": time.monotonic()}))


def _gaps(intervals: list[tuple[float, float]], begin: float, end: float) -> list[tuple[float, float]]:
    """The stretches of ``[begin, end]`` that no interval covers, as (start, length)."""
    gaps: list[tuple[float, float]] = []
    reach = begin
    for start, stop in sorted(intervals):
        if start >= end:
            break
        if start > reach:
            gaps.append((reach, start - reach))
        reach = max(reach, stop)
    if reach < end:
        gaps.append((reach, end - reach))
    return [(start, length) for start, length in gaps if length > 0]


def measure(source: Path, work: Path, src: Path) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(dir=work) as records:
        environment = {**os.environ, "EDITION_METER_DIR": records}
        environment["PYTHONPATH"] = os.pathsep.join(p for p in (str(src), environment.get("PYTHONPATH")) if p)
        begin = time.monotonic()
        completed = subprocess.run(
            [sys.executable, __file__, "--child", str(source), str(work / "out")],
            capture_output=True,
            text=True,
            check=True,
            env=environment,
        )
        end = float(json.loads(completed.stdout.strip().splitlines()[-1])["end"])
        time.sleep(0.5)  # a helper still ending writes its last record
        processes = [json.loads(p.read_text(encoding="utf-8")) for p in Path(records).glob("*.json")]
    cpu = sum(p["cpu"] for p in processes)
    weasyprint_cpu = sum(p["weasyprint_cpu"] for p in processes)
    intervals = [tuple(i) for p in processes for i in p["intervals"]]
    gaps = _gaps(intervals, begin, end)  # type: ignore[arg-type]
    return {
        "wall": end - begin,
        "processes": len(processes),
        "cpu": cpu,
        "own_cpu": cpu - weasyprint_cpu,
        "own_wall": sum(length for _, length in gaps),
        "gaps": [(start - begin, length) for start, length in gaps],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="The share of a whole build spent in this project's code.")
    parser.add_argument("--sizes", default="0,1,10", help="0 = the interview; N = a book of N chapters")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--gaps", action="store_true", help="say when no WeasyPrint ran (first run)")
    parser.add_argument(
        "--src", type=Path, default=ROOT / "src", help="the library to measure (another checkout's src)"
    )
    parser.add_argument("--child", nargs=2, metavar=("SOURCE", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(*args.child)
        return 0
    from bytecode import use_compiled_bytecode
    from generate import SOURCE, generate

    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"{platform.system()} {platform.release()}"
    )
    print(
        f"{'N':>4} {'processes':>9} {'wall s':>8} {'CPU s':>8} {'own CPU s':>10} {'own CPU %':>10} "
        f"{'own wall s':>11} {'own wall %':>11}"
    )
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        use_compiled_bytecode(work / "bytecode", args.src / "edition")
        for size in [int(s) for s in args.sizes.split(",")]:
            source = SOURCE if size == 0 else work / f"book-{size}.xml"
            if size:
                source.write_bytes(generate(size))
            rows = [measure(source, work, args.src) for _ in range(args.runs)]

            def median(key: str, rows: list[dict[str, Any]] = rows) -> float:
                return statistics.median(row[key] for row in rows)

            cpu_share = statistics.median(row["own_cpu"] / row["cpu"] for row in rows)
            wall_share = statistics.median(row["own_wall"] / row["wall"] for row in rows)
            if args.gaps:
                longest = sorted(rows[0]["gaps"], key=lambda gap: -gap[1])[:8]  # type: ignore[union-attr]
                print(
                    "     longest stretches without WeasyPrint (s from the start: length), first run: "
                    + ", ".join(f"{start:.1f}: {length:.2f}" for start, length in sorted(longest))
                )
            print(
                f"{size:>4} {median('processes'):>9.0f} {median('wall'):>8.2f} {median('cpu'):>8.2f} "
                f"{median('own_cpu'):>10.2f} {100 * cpu_share:>10.1f} {median('own_wall'):>11.2f} "
                f"{100 * wall_share:>11.1f}",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
