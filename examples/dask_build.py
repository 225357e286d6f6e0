"""Build a corpus of editions on a Dask cluster: the same pure source → folder build.

``edition.corpus.build_one`` takes a TEI file and an output folder and returns an
``Outcome`` (the folder, or the user error, and the warnings); it shares no state, so any
engine that can call a Python function on a worker can run it. Here, Dask:

    pip install 'edition[dask]'
    python examples/dask_build.py sources/*.xml --output output/          # a local cluster
    python examples/dask_build.py sources/*.xml --scheduler tcp://host:8786  # an existing one

On an existing cluster, every worker needs the edition package installed, and the sources
and the output folder on a file system the workers share (or copy results back yourself:
the outputs are plain files).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from edition.corpus import Outcome, build_one


def main(argv: list[str] | None = None) -> int:
    from dask.distributed import Client, LocalCluster, as_completed

    parser = argparse.ArgumentParser(description="Build TEI editions on a Dask cluster.")
    parser.add_argument("sources", nargs="+", type=Path)
    parser.add_argument("--output", type=Path, default=Path("output"))
    parser.add_argument("--scheduler", help="address of an existing scheduler (default: a local cluster)")
    parser.add_argument("--formats", default="html,pdf,epub")
    args = parser.parse_args(argv)
    cluster = None if args.scheduler else LocalCluster(n_workers=2, threads_per_worker=1, processes=True)
    failures = 0
    with Client(args.scheduler or cluster) as client:
        futures = [
            client.submit(
                build_one,
                str(source.resolve()),
                str((args.output / source.stem).resolve()),
                formats=args.formats,
                pure=False,
            )
            for source in args.sources
        ]
        for future in as_completed(futures):
            outcome: Outcome = future.result()
            if outcome.error is not None:
                failures += 1
                print(f"{outcome.error}", file=sys.stderr)
            else:
                print(f"built {outcome.source} → {outcome.out_dir}/")
    if cluster is not None:
        cluster.close()
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
