"""Benchmark: CPU instructions of loading and of the web page and EPUB renderers, counted by Valgrind.

    python benchmarks/instructions.py                        # N = 20
    python benchmarks/instructions.py --sizes 0,100 --against /path/to/other/checkout/src

Why: on a shared virtual machine the same render takes anywhere from 0.8 to 1.5 s from one
minute to the next, which hides a 20 % change. Valgrind's cachegrind counts the instructions
a process runs, which does not depend on what else the machine is doing (it does depend on
the CPU's instruction set, Python's build and the libraries' versions: compare counts from
one machine only). Each count is one fresh ``python`` process under cachegrind, about fifty
times slower than without it, so N = 100 takes a few minutes.

For each size it counts a process that only imports the library, one that also loads the
source, one that loads and renders the web page, and one that loads and renders the EPUB;
the differences are the stages' own counts. ``--against SRC`` counts the same with another
copy of ``src/`` first on ``PYTHONPATH`` (an older commit's, say) and prints the ratio.
Needs ``valgrind`` (Debian: ``apt-get install valgrind``). It asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

STEPS = ("import", "load", "html", "epub")
CHILD = """
import sys
import edition
from edition import epub, web
from edition.build import source_date
step, source = sys.argv[1], sys.argv[2]
if step != "import":
    loaded = edition.load(source)
    if step == "html":
        web.render_page(loaded, {"PDF": "x.pdf", "EPUB": "x.epub"})
    elif step == "epub":
        epub.render_epub(loaded, {}, source_date(loaded))
"""


def count(step: str, source: Path, src: Path) -> int:
    """Instructions (cachegrind's ``I refs``) of one fresh process running ``step``."""
    environment = {**os.environ, "PYTHONPATH": str(src), "PYTHONHASHSEED": "0"}  # the same set orders
    result = subprocess.run(
        [
            "valgrind",
            "--tool=cachegrind",
            "--cache-sim=no",
            "--cachegrind-out-file=/dev/null",
            sys.executable,
            "-c",
            CHILD,
            step,
            str(source),
        ],
        capture_output=True,
        text=True,
        env=environment,
        check=True,
    )
    found = re.search(r"I\s+refs:\s+([\d,]+)", result.stderr)
    if found is None:
        raise RuntimeError(f"no instruction count in cachegrind's output:\n{result.stderr[-2000:]}")
    return int(found.group(1).replace(",", ""))


def stages(source: Path, src: Path) -> dict[str, int]:
    """Each stage's own instructions: loading, the web page, the EPUB (imports taken away)."""
    totals = {step: count(step, source, src) for step in STEPS}
    return {
        "load": totals["load"] - totals["import"],
        "html": totals["html"] - totals["load"],
        "epub": totals["epub"] - totals["load"],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Count the instructions of loading and rendering.")
    parser.add_argument("--sizes", default="20", help="0 = the interview; N = a book of N chapters")
    parser.add_argument("--against", type=Path, help="another src/ folder to count the same with")
    args = parser.parse_args(argv)
    if shutil.which("valgrind") is None:
        print("valgrind is not installed (Debian: apt-get install valgrind)", file=sys.stderr)
        return 2
    from generate import SOURCE, generate

    trees = [ROOT / "src", *([args.against.resolve()] if args.against else [])]
    if args.against:
        print(f"against: {trees[1]}")
    against = f" {'against':>16}    ratio" if args.against else ""
    print(f"{'stage':6} {'N':>4} {'this src/':>16}{against}")
    with tempfile.TemporaryDirectory() as folder:
        for size in (int(s) for s in args.sizes.split(",")):
            source = SOURCE if size == 0 else Path(folder) / f"book-{size}.xml"
            if size:
                source.write_bytes(generate(size))
            counted = [stages(source, tree) for tree in trees]
            for stage in ("load", "html", "epub"):
                numbers = [c[stage] for c in counted]
                ratio = f"   {numbers[0] / numbers[1]:.3f}" if len(numbers) > 1 and numbers[1] else ""
                print(f"{stage:6} {size:>4} " + " ".join(f"{n:>16,}" for n in numbers) + ratio, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
