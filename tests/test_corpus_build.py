"""Many editions in parallel (``edition build --jobs``) and rebuilding on save (``edition watch``)."""

from __future__ import annotations

import queue
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from edition.corpus import build_many

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "tests" / "corpus"


def test_build_many_in_parallel_gives_the_same_files_as_one_by_one(tmp_path: Path) -> None:
    sources = [
        CORPUS / "poem.xml",
        CORPUS / "letter.xml",
        CORPUS / "notes.xml",
        ROOT / "tests" / "bad" / "empty.xml",
    ]
    parallel = build_many(sources, tmp_path / "parallel", jobs=2, formats=["html", "epub"])
    serial = build_many(sources, tmp_path / "serial", jobs=1, formats=["html", "epub"])
    assert [o.source for o in parallel] == sources
    assert [o.error is None for o in parallel] == [True, True, True, False]
    assert "file is empty" in str(parallel[-1].error)
    for outcome in parallel[:3]:
        assert outcome.out_dir is not None
        for made in outcome.out_dir.rglob("*"):
            twin = tmp_path / "serial" / made.relative_to(tmp_path / "parallel")
            assert made.is_dir() or made.read_bytes() == twin.read_bytes(), made
    assert serial[-1].error is not None


def test_the_command_builds_a_corpus_with_jobs_and_reports_each_failure(tmp_path: Path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "edition.cli",
            "build",
            str(CORPUS / "poem.xml"),
            str(ROOT / "tests/bad/malformed.xml"),
            str(CORPUS / "letter.xml"),
            "-o",
            str(tmp_path),
            "--format",
            "html",
            "--jobs",
            "2",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1
    assert (tmp_path / "poem" / "index.html").is_file() and (tmp_path / "letter" / "index.html").is_file()
    errors = [line for line in result.stderr.splitlines() if line.strip()]
    assert errors == [
        line for line in errors if line.startswith(str(ROOT / "tests/bad/malformed.xml") + ":12:")
    ]
    assert "Traceback" not in result.stderr


class Lines:
    """The lines a process prints, read by a thread (a select() on the pipe would miss lines
    already in Python's buffer)."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.queue: queue.Queue[str] = queue.Queue()
        assert process.stdout is not None
        stream = process.stdout
        self.reader = threading.Thread(target=lambda: [self.queue.put(line) for line in stream], daemon=True)
        self.reader.start()

    def until(self, needle: str, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        seen = ""
        while time.monotonic() < deadline:
            try:
                line = self.queue.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                break
            seen += line
            if needle in line:
                return seen
        raise AssertionError(f"{needle!r} not printed within {timeout} s; got:\n{seen}")


@pytest.mark.slow
def test_watch_rebuilds_on_save_and_says_what_it_rebuilt(tmp_path: Path) -> None:
    source = tmp_path / "poem.xml"
    shutil.copy(CORPUS / "poem.xml", source)
    out = tmp_path / "out"
    process = subprocess.Popen(
        [sys.executable, "-u", "-m", "edition.cli", "watch", str(source), "-o", str(out), "--format", "html"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines = Lines(process)
    try:
        lines.until("watching 1 source", timeout=120)
        first = (out / "index.html").read_text(encoding="utf-8")
        source.write_text(
            source.read_text(encoding="utf-8").replace("Who are you?", "Who are we?"), encoding="utf-8"
        )
        said = lines.until("changed: rebuilt poem.xml (html)", timeout=60)
        assert " s → " in said
        second = (out / "index.html").read_text(encoding="utf-8")
        assert first != second and "Who are we?" in second
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        lines.reader.join(timeout=10)  # the pipe is at its end: let the reader finish before closing
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()
