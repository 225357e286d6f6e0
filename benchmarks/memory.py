"""Peak memory of a build against the stated budget. A benchmark, run on demand, never a test.

    python benchmarks/memory.py                          # books of 1, 5 and 20 chapters, all formats
    python benchmarks/memory.py --sizes 1,10,40 --formats html,epub
    python benchmarks/memory.py --sizes 5 --dense        # markup-dense sources too (hostile shape)

Each book (``benchmarks/generate.py``: N copies of the interview's text) is built by the real
command, ``edition build``, in a fresh process; the peak resident memory of that process
(``ru_maxrss`` from ``wait4``) is compared with the budget for its source size::

    with the PDF:          peak RSS ≤ 160 MiB + 2,500 × source MiB + 0.15 MiB × notes
    web page and EPUB:     peak RSS ≤  60 MiB +   250 × source MiB

so, whatever the shape, at most 160 MiB + 25,000 × source MiB (an empty ``<note/>`` is 7 bytes).
Prose with notes (the generated books) needs well under half of its budget.
``--dense`` adds sources of the same byte size made of tiny elements (runs of ``<hi>a</hi>``,
of one-word notes, of one-letter table cells): the shapes that cost most memory per byte.
Exit status 1 when any build is over budget.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from generate import generate  # noqa: E402

MIB = 1024 * 1024

#: The budget, by what is built: (base MiB, MiB per MiB of source, MiB per note). The PDF's layout
#: dominates: WeasyPrint keeps every page's boxes, and a footnote costs about 0.1 MiB of them.
BUDGETS: dict[str, tuple[float, float, float]] = {
    "pdf": (160, 2_500, 0.15),
    "html": (60, 250, 0.0),
    "epub": (60, 250, 0.0),
}
_NOTE = re.compile(rb"<note[\s/>]")


def budget(source: bytes, formats: list[str]) -> float:
    """The budget in MiB for a build of ``source``: the largest of the formats' budgets."""
    notes = len(_NOTE.findall(source))
    return max(
        base + per_mib * len(source) / MIB + per_note * notes
        for base, per_mib, per_note in (BUDGETS[f] for f in formats)
    )


#: One paragraph of each dense shape: tiny elements, tiny notes, tiny table cells.
DENSE_SHAPES = {
    "inline": "<p>" + "<hi>a</hi> " * 200 + "</p>\n",
    "notes": "<p>" + "a<note>n</note> " * 100 + "</p>\n",
    "cells": "<table>" + ("<row>" + "<cell>a</cell>" * 10 + "</row>") * 20 + "</table>\n",
}


def dense(size: int, shape: str = "inline") -> bytes:
    """A valid source of about ``size`` bytes made of tiny elements: the most nodes per byte."""
    head = (
        '<?xml version="1.0" encoding="UTF-8"?>\n<TEI xmlns="http://www.tei-c.org/ns/1.0"><teiHeader>'
        "<fileDesc><titleStmt><title>Dense</title></titleStmt><publicationStmt><p>x</p></publicationStmt>"
        "<sourceDesc><p>x</p></sourceDesc></fileDesc></teiHeader><text><body>"
    )
    paragraph = DENSE_SHAPES[shape]
    count = max(1, (size - len(head)) // len(paragraph))
    return (head + paragraph * count + "</body></text></TEI>\n").encode("utf-8")


def measure(source: Path, out: Path, formats: list[str]) -> tuple[float, float]:
    """Peak RSS in MiB and wall time of ``edition build`` on ``source``, in a fresh process."""
    command = [
        sys.executable,
        "-m",
        "edition.cli",
        "-q",
        "build",
        str(source),
        "-o",
        str(out),
        "--format",
        ",".join(formats),
    ]
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    started = time.monotonic()
    process = subprocess.Popen(command, env=env, cwd=ROOT)
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    elapsed = time.monotonic() - started
    if process.returncode != 0:
        raise SystemExit(f"build of {source} failed (exit {process.returncode})")
    return usage.ru_maxrss / 1024, elapsed  # Linux: kilobytes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1,5,20", help="chapters per book, comma-separated")
    parser.add_argument("--formats", default="html,pdf,epub")
    parser.add_argument("--dense", action="store_true", help="also build markup-dense sources, same sizes")
    args = parser.parse_args(argv)
    formats = [f.strip() for f in args.formats.split(",") if f.strip()]
    sizes = [int(n) for n in re.split(r"[,\s]+", args.sizes) if n]
    for fmt in formats:
        base, per_mib, per_note = BUDGETS[fmt]
        print(f"budget for {fmt}: {base:.0f} MiB + {per_mib:,.0f} × source MiB + {per_note} MiB × notes")
    print(f"{'source':<26}{'size':>10}{'peak RSS':>12}{'budget':>10}{'time':>9}  verdict")
    over = 0
    with tempfile.TemporaryDirectory(prefix="edition-memory-") as folder:
        for chapters in sizes:
            sources = [(f"book, {chapters} chapters", generate(chapters))]
            if args.dense:
                sources += [
                    (f"dense {shape}, ~{chapters} ch.", dense(len(sources[0][1]), shape))
                    for shape in DENSE_SHAPES
                ]
            for label, data in sources:
                source = Path(folder) / f"{label.split(',')[0].replace(' ', '-')}-{chapters}.xml"
                source.write_bytes(data)
                peak, elapsed = measure(source, Path(folder) / f"out-{source.stem}", formats)
                allowed = budget(data, formats)
                verdict = "ok" if peak <= allowed else "OVER BUDGET"
                over += peak > allowed
                print(
                    f"{label:<26}{len(data) / MIB:>8.2f}MiB{peak:>9.0f}MiB{allowed:>7.0f}MiB"
                    f"{elapsed:>8.1f}s  {verdict}",
                    flush=True,
                )
    return 1 if over else 0


if __name__ == "__main__":
    sys.exit(main())
