"""The helper processes: layout workers and the join's process, fed pickled tasks over pipes."""

from __future__ import annotations

import concurrent.futures
import contextlib
import io
import logging
import os
import pickle
import subprocess
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from edition.parallel.join import join
from edition.parallel.layout import LayoutConfig, _Failure, _init_worker, _task

if TYPE_CHECKING:
    from edition.parallel.join import FolioSheet, Placed

log = logging.getLogger("edition")


class _Runner:
    """Runs layouts in worker processes (started only when two or more layouts can run at once), or inline.

    Workers are fresh interpreters (``python -c`` running :func:`_worker_main`) fed pickled tasks over a
    pipe, one per thread of a thread pool: unlike :mod:`multiprocessing`'s spawn, they never
    re-import the caller's ``__main__`` (a script without a ``__name__`` guard still works),
    and unlike fork they inherit no half-initialised font machinery.
    """

    def __init__(self, config: LayoutConfig, jobs: int, warm: subprocess.Popen[bytes] | None = None) -> None:
        self.config = config
        self.jobs = jobs
        self.threads: concurrent.futures.ThreadPoolExecutor | None = None
        self.local = threading.local()
        self.processes: list[subprocess.Popen[bytes]] = []
        self.lock = threading.Lock()
        self.inline = False
        self.warm = warm
        """A worker started before the book was planned and configured (see :class:`_Warm`): the
        first thread takes it."""

    def submit(
        self, batch: Sequence[tuple[Any, ...]], *, more: bool = False
    ) -> list[concurrent.futures.Future[Any]]:
        """Lay out ``batch``; ``more``: other layouts may follow at once (workers are worth starting)."""
        # one layout goes to the warm worker too: this process then never imports WeasyPrint
        if (
            self.threads is None
            and self.jobs > 1
            and (len(batch) > 1 or more or (batch and self.warm is not None))
        ):
            self.threads = concurrent.futures.ThreadPoolExecutor(
                self.jobs, thread_name_prefix="edition-layout"
            )
        futures: list[concurrent.futures.Future[Any]] = []
        for args in batch:
            if self.threads is not None:
                futures.append(self.threads.submit(self._remote, args))
                continue
            if not self.inline:
                _init_worker(self.config)
                self.inline = True
            future: concurrent.futures.Future[Any] = concurrent.futures.Future()
            future.set_result(_task(*args))
            futures.append(future)
        return futures

    def _remote(self, args: tuple[Any, ...]) -> Any:
        process: subprocess.Popen[bytes] | None = getattr(self.local, "process", None)
        if process is None:
            with self.lock:
                process, self.warm = self.warm, None
            if process is None:
                process = _python("_worker_main")
                assert process.stdin is not None
                _send(process.stdin, self.config)
            with self.lock:
                self.processes.append(process)
            self.local.process = process
        assert process.stdin is not None and process.stdout is not None
        try:
            _send(process.stdin, args)
            return _receive(process.stdout)
        except (OSError, EOFError, pickle.UnpicklingError) as error:
            return _Failure(f"a layout process ended unexpectedly ({type(error).__name__})", None)

    def close(self) -> None:
        """End the workers at once.

        Why at once, and by a signal, rather than letting each end at the end of its input:
        once every layout is back a worker has nothing left to do but free WeasyPrint's
        memory, which took 0.3-0.7 s at N = 100 while the build waited to join the PDF;
        ended by the system, its memory is free at once (the join's process is stopped the
        same way once it has answered). After a failure, layouts still running are not
        waited for either.
        """
        for process in self.processes:
            _stop(process, grace=0)
        self.processes.clear()
        if self.warm is not None:  # never needed: every part came from the cache
            _stop(self.warm, grace=0)
            self.warm = None
        if self.threads is not None:
            self.threads.shutdown(wait=True, cancel_futures=True)
            self.threads = None


def _stop(process: subprocess.Popen[bytes], *, grace: float) -> None:
    """Close a helper process's pipes; kill it if it has not ended ``grace`` seconds later."""
    for stream in (process.stdin, process.stdout):
        if stream is not None:
            with contextlib.suppress(OSError):
                stream.close()
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _python(main: str) -> subprocess.Popen[bytes]:
    """A fresh interpreter running ``edition.parallel.processes.<main>()``, talking over its pipes."""
    import edition

    environment = dict(os.environ)
    package_root = str(Path(edition.__file__).resolve().parents[1])
    environment["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, environment.get("PYTHONPATH")) if p)
    return subprocess.Popen(
        [sys.executable, "-c", f"import sys, edition.parallel.processes as p; sys.exit(p.{main}())"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        env=environment,
    )


class _Warm:
    """A layout worker and the join's process, started before the book is planned.

    Why: each is a fresh interpreter, and a layout worker's first second goes to importing
    WeasyPrint. Started before the plan (a second or two of this process's time on a long
    book), they import meanwhile; a rebuild that lays out one changed part then finds its
    worker ready, and the join's process opens the cached parts (:meth:`prefetch`) while
    that part is laid out. Measured on 2 cores at N = 100, a rebuild after a one-note
    change as a fresh process: median 11.9 s against 13.2 s before (10 runs each). What is
    not taken is stopped by :meth:`close`.
    """

    def __init__(self, jobs: int, *, join: bool) -> None:
        self.worker = self.joiner = None
        self.configured = False
        if jobs > 1:
            self.worker = self._start("_worker_main")
            self.joiner = self._start("_join_main") if join else None

    def configure(self, config: LayoutConfig) -> None:
        """Send the worker its configuration, as soon as it is known (before the plan)."""
        if self.worker is None:
            return
        try:
            assert self.worker.stdin is not None
            _send(self.worker.stdin, config)
            self.configured = True
        except OSError:  # it has died: the runner starts its own
            _stop(self.worker, grace=0)
            self.worker = None

    @staticmethod
    def _start(main: str) -> subprocess.Popen[bytes] | None:
        try:
            return _python(main)
        except OSError:  # started when needed, or the work is done here
            return None

    def prefetch(self, parts: list[bytes]) -> None:
        """Hand the join's process parts it can open while the others are laid out."""
        if self.joiner is None or not parts:
            return
        try:
            assert self.joiner.stdin is not None
            _send(self.joiner.stdin, ("open", parts))
        except OSError:  # it has died: the join starts its own process
            _stop(self.joiner, grace=0)
            self.joiner = None

    def take_worker(self) -> subprocess.Popen[bytes] | None:
        """The worker, configured (see :meth:`configure`), or ``None``."""
        worker, self.worker = self.worker, None
        if worker is not None and not self.configured:
            _stop(worker, grace=0)
            return None
        return worker

    def take_joiner(self) -> subprocess.Popen[bytes] | None:
        joiner, self.joiner = self.joiner, None
        return joiner

    def close(self) -> None:
        for process in (self.take_worker(), self.take_joiner()):
            if process is not None:
                _stop(process, grace=0)


class _Join:
    """The join in a process of its own, so that the caller can render the web page and the
    EPUB meanwhile (they need only the page starts, known before the join). Where no process
    can be started, the join is made inline when its result is asked for."""

    def __init__(
        self,
        placed: Sequence[Placed],
        sheets: Sequence[FolioSheet],
        tagged: bool,
        warm: subprocess.Popen[bytes] | None = None,
    ) -> None:
        self.args = (list(placed), list(sheets), tagged)
        self.process: subprocess.Popen[bytes] | None = warm
        try:
            self.process = self.process or _python("_join_main")
            assert self.process.stdin is not None
            _send(self.process.stdin, ("join", *self.args))
            self.process.stdin.close()
        except OSError:
            self.close()

    def result(self) -> bytes:
        if self.process is not None:
            assert self.process.stdout is not None
            try:
                answer = _receive(self.process.stdout)
            except (OSError, EOFError, pickle.UnpicklingError):
                answer = None
            self.close()  # at once: having answered, it is only freeing the parts (``join(deliver=...)``)
            if isinstance(answer, bytes):
                return answer
            log.info("the join's process failed (%s): joining here", answer or "no answer")
        placed, sheets, tagged = self.args
        return join(placed, sheets, tagged=tagged)

    def close(self) -> None:
        """End the process (at once, if it has not answered)."""
        process, self.process = self.process, None
        if process is not None:
            _stop(process, grace=0)


def _join_main() -> int:
    """The join's process: the parts on stdin; the PDF (or what went wrong, as text) on stdout.

    Messages: any number of ``("open", [part PDFs])``, then ``("join", placed, sheets, tagged)``.
    """
    import pikepdf  # before the parts come: a process started early imports meanwhile

    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    sys.stdout = sys.stderr
    early: dict[bytes, Any] = {}
    try:
        while (message := _receive(stdin))[0] == "open":
            # parts the coordinator took from the cache while others are still being laid out:
            # opened meanwhile (a tenth of the join's time at N = 100), joined when all are there
            for data in message[1]:
                with contextlib.suppress(Exception):  # the join opens it again, and says what is wrong
                    early.setdefault(data, pikepdf.open(io.BytesIO(data)))
        _, placed, sheets, tagged = message
    except EOFError:  # the coordinator gave up before sending the parts
        return 0
    delivered = False

    def deliver(data: bytes) -> None:
        nonlocal delivered
        delivered = True
        _send(stdout, data)

    try:
        join(placed, sheets, tagged=tagged, early=early, deliver=deliver)
    except Exception as error:  # the coordinator joins inline, and raises there if it fails again
        if not delivered:
            _send(stdout, f"{type(error).__name__}: {error}")
    return 0


def _send(stream: Any, value: object) -> None:
    data = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(len(data).to_bytes(8, "big") + data)
    stream.flush()


def _receive(stream: Any) -> Any:
    header = stream.read(8)
    if len(header) < 8:
        raise EOFError("no answer")
    size = int.from_bytes(header, "big")
    data = stream.read(size)
    if len(data) < size:
        raise EOFError("short answer")
    return pickle.loads(data)


def _worker_main() -> int:
    """A layout worker: a configuration, then tasks, on stdin; results on stdout; ends at EOF."""
    import weasyprint  # noqa: F401 (before the configuration comes: a worker started early imports meanwhile)

    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    sys.stdout = sys.stderr  # nothing else may write into the answer channel
    try:
        config = _receive(stdin)
    except EOFError:
        return 0
    _init_worker(config).warm_up()
    while True:
        try:
            args = _receive(stdin)
        except EOFError:
            return 0
        _send(stdout, _task(*args))
