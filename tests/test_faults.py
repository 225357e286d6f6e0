"""Faults: a build killed at any moment, a full disk, a read-only output folder, two builds at
once. The previous outputs survive byte for byte, no half-written file is ever in place, and
what a killed build leaves behind (temporary files) the next build removes.

The kill test runs the real command (``python -m edition.cli build``) on a generated book of
two chapters (about ten seconds for the three formats) and stops it at several moments: while
Python starts, while rendering, in the middle of the PDF, and as soon as anything in the
output folder changes (its first write). Each time it is first stopped (SIGSTOP), so that
the test can see which phase it was in, then killed with SIGKILL: a stopped process cannot
run another instruction, so what the test saw is what the kill left.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import importlib
import os
import shutil
import signal
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

import edition
from conftest import INTERVIEW, REPO
from edition import OutputError
from edition.build import TEMPORARY_PREFIX, remove_stale_temporaries

sys.path.insert(0, str(REPO / "benchmarks"))
from generate import generate

pytestmark = pytest.mark.slow

#: The module (``edition.build`` the attribute is the function).
build_module = importlib.import_module("edition.build")

ENV = {
    **os.environ,
    "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO / "src"), os.environ.get("PYTHONPATH")])),
}


def snapshot(folder: Path) -> dict[str, str]:
    """Relative path → SHA-256 of every file under ``folder``."""
    return {
        path.relative_to(folder).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def temporaries(folder: Path) -> list[Path]:
    return sorted(folder.rglob(f"{TEMPORARY_PREFIX}*"))


def outputs(state: dict[str, str]) -> dict[str, str]:
    return {name: digest for name, digest in state.items() if TEMPORARY_PREFIX not in name}


def book(folder: Path, chapters: int, title: str) -> Path:
    """A generated book, its title changed so that two versions give different outputs."""
    folder.mkdir(parents=True, exist_ok=True)
    source = folder / "book.xml"
    data = generate(chapters).replace(b"(benchmark book", f"({title}; benchmark book".encode(), 1)
    source.write_bytes(data)
    return source


def command(source: Path, out: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "edition.cli", "-q", "build", str(source), "-o", str(out), *extra]


def stopped(pid: int) -> bool:
    with contextlib.suppress(OSError):
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return fields[0] in {"T", "t"}
    return False


def stop(process: subprocess.Popen[bytes]) -> None:
    os.kill(process.pid, signal.SIGSTOP)
    deadline = time.monotonic() + 10
    while not stopped(process.pid) and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.001)


def assert_complete(folder: Path, stem: str) -> None:
    """Every output of a build is whole: the page ends, the PDF has its trailer, the EPUB's zip reads."""
    page = (folder / "index.html").read_text(encoding="utf-8")
    assert page.rstrip().endswith("</html>")
    pdf = (folder / f"{stem}.pdf").read_bytes()
    assert pdf.startswith(b"%PDF-") and pdf.rstrip().endswith(b"%%EOF")
    import pikepdf

    with pikepdf.open(folder / f"{stem}.pdf") as document:
        assert len(document.pages) > 0
    with zipfile.ZipFile(folder / f"{stem}.epub") as archive:
        assert archive.testzip() is None
        assert archive.read("mimetype") == b"application/epub+zip"


# --------------------------------------------------------------------------- killed at any moment


@pytest.fixture(scope="module")
def versions(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """Version A built (the previous outputs), version B's outputs known, and how long B takes."""
    folder = tmp_path_factory.mktemp("kill")
    source_a = book(folder / "a", 2, "version A")
    source_b = book(folder / "b", 2, "version B")
    out_b = folder / "out-b"
    started = time.monotonic()
    subprocess.run(command(source_b, out_b), check=True, env=ENV, cwd=REPO, timeout=600)
    duration = time.monotonic() - started
    edition.build(source_a, folder / "out-a")
    return {
        "folder": folder,
        "b": source_b,
        "old": snapshot(folder / "out-a"),
        "new": snapshot(out_b),
        "duration": duration,
        "out_a": folder / "out-a",
    }


def listing(folder: Path) -> set[tuple[str, int, int]]:
    """Name, size and modification time of every file: what changes with the first byte written."""
    found = set()
    for path in folder.rglob("*"):
        with contextlib.suppress(OSError):
            status = path.stat()
            found.add((str(path), status.st_size, status.st_mtime_ns))
    return found


def kill_at(source: Path, out: Path, moment: float | str) -> tuple[dict[str, str], bool | None]:
    """Start a build of ``source`` into ``out``; stop and kill it at ``moment`` (seconds, or
    ``"first-write"``: as soon as anything in the folder changes). Returns what the output
    folder held at the kill, and whether the build had written any temporary file by then
    (``None``: it finished before the moment)."""
    process = subprocess.Popen(
        command(source, out),
        env=ENV,
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        if moment == "first-write":
            before = listing(out)
            deadline = time.monotonic() + 600
            while listing(out) == before and process.poll() is None and time.monotonic() < deadline:
                time.sleep(0.0005)
        else:
            assert isinstance(moment, float)
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=moment)
        if process.poll() is not None:  # finished first (a faster machine than the reference run)
            assert process.returncode == 0
            return snapshot(out), None
        stop(process)
        state = snapshot(out)
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=30)
    assert process.returncode == -signal.SIGKILL
    return state, bool([name for name in state if TEMPORARY_PREFIX in name])


@pytest.mark.parametrize("fraction", [0.02, 0.4, 0.75, "first-write"])
def test_a_build_killed_at_any_moment_leaves_the_previous_outputs_whole(
    fraction: float | str, versions: dict[str, object], tmp_path: Path
) -> None:
    out = tmp_path / "out"
    shutil.copytree(versions["out_a"], out)  # type: ignore[arg-type]
    old, new = versions["old"], versions["new"]
    assert isinstance(old, dict) and isinstance(new, dict) and isinstance(versions["duration"], float)
    assert old.keys() == new.keys() and old != new
    moment = fraction if isinstance(fraction, str) else fraction * versions["duration"]
    seen, writing = kill_at(versions["b"], out, moment)  # type: ignore[arg-type]
    if writing is None:
        assert outputs(seen) == new and temporaries(out) == [], "a build that finished left other files"
        return
    after = snapshot(out)
    assert after == seen, "the folder changed after SIGKILL"
    files = outputs(after)
    assert files.keys() == old.keys(), "a file appeared or disappeared"
    for name, digest in files.items():
        assert digest in (old[name], new[name]), f"{name} is neither the old nor the new file: half-written"
    if not writing:
        assert files == old, "an output changed before any temporary file was written: written in place?"
    leftovers = temporaries(out)
    assert all(path.name.split("-")[2].isdigit() for path in leftovers)
    # the next build (of anything, into this folder) removes what the killed one left
    edition.build(INTERVIEW, out, formats="html")
    assert temporaries(out) == []


def test_remove_stale_temporaries_keeps_those_of_a_living_build(tmp_path: Path) -> None:
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True, check=True
    )
    dead_pid = int(dead.stdout)
    (tmp_path / "assets").mkdir()
    stale = tmp_path / "assets" / f"{TEMPORARY_PREFIX}{dead_pid}-base.css.x1y2"
    living = tmp_path / f"{TEMPORARY_PREFIX}{os.getpid()}-index.html.a1b2"
    stale.write_bytes(b"half")
    living.write_bytes(b"in progress")
    remove_stale_temporaries(tmp_path)
    assert not stale.exists()
    assert living.exists()


# --------------------------------------------------------------------------- a full disk


@contextlib.contextmanager
def mounted(*arguments: str, target: Path) -> Iterator[None]:
    """``mount ARGUMENTS TARGET`` for the block, or skip when this machine does not allow it."""
    if os.geteuid() != 0 or not shutil.which("mount"):
        pytest.skip("mounting needs root (the test runs as root in CI)")
    target.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(["mount", *arguments, str(target)], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        pytest.skip(f"mount is not permitted here: {result.stderr.strip()}")
    try:
        yield
    finally:
        subprocess.run(["umount", "-l", str(target)], check=False)


def test_a_full_disk_changes_nothing_and_says_which_file(tmp_path: Path) -> None:
    """A real full disk: a tmpfs with room for one set of outputs, not for a second beside it."""
    reference = tmp_path / "reference"
    edition.build(INTERVIEW, reference, formats=("html", "epub"))
    size = sum(path.stat().st_size for path in reference.rglob("*") if path.is_file())
    disk = tmp_path / "disk"
    with mounted("-t", "tmpfs", "-o", f"size={int(size * 1.5) // 1024}k", "tmpfs", target=disk):
        out = disk / "out"
        edition.build(INTERVIEW, out, formats=("html", "epub"))
        before = snapshot(out)
        changed = tmp_path / "changed.xml"
        changed.write_text(
            INTERVIEW.read_text(encoding="utf-8").replace("Memories of", "Recollections of"), encoding="utf-8"
        )
        with pytest.raises(OutputError) as caught:
            edition.build(changed, out, formats=("html", "epub"))
        error = caught.value
        assert error.path is not None and error.path.startswith(str(out))
        assert "No space left on device" in str(error)
        assert "\n" not in str(error) and error.hint
        assert snapshot(out) == before, "a full disk changed an output"
        assert temporaries(out) == []


def test_a_failing_write_changes_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The same without a mount (any user): every write to a temporary file past 100 KB fails with ENOSPC."""
    out = tmp_path / "out"
    edition.build(INTERVIEW, out, formats=("html", "epub"))
    before = snapshot(out)
    real_write = os.write
    written: dict[int, int] = {}

    def write(descriptor: int, data: bytes | memoryview) -> int:
        try:
            target = str(Path(f"/proc/self/fd/{descriptor}").readlink())
        except OSError:
            target = ""
        if TEMPORARY_PREFIX in target:
            written[descriptor] = written.get(descriptor, 0) + len(data)
            if written[descriptor] > 100_000:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real_write(descriptor, data)

    monkeypatch.setattr(build_module.os, "write", write)
    changed = tmp_path / "changed.xml"
    changed.write_text(
        INTERVIEW.read_text(encoding="utf-8").replace("Memories of", "Recollections of"), encoding="utf-8"
    )
    with pytest.raises(OutputError) as caught:
        edition.build(changed, out, formats=("html", "epub"))
    monkeypatch.undo()
    assert "No space left on device" in str(caught.value)
    assert caught.value.path is not None and caught.value.path.startswith(str(out))
    assert snapshot(out) == before
    assert temporaries(out) == []


# --------------------------------------------------------------------------- a read-only folder


def test_a_read_only_output_folder_is_an_output_error_and_changes_nothing(tmp_path: Path) -> None:
    """As root, permissions do not stop writes: the folder is made read-only with a read-only bind
    mount (skipped where mount is not permitted); as another user, with chmod."""
    out = tmp_path / "out"
    edition.build(INTERVIEW, out, formats="html")
    before = snapshot(out)
    if os.geteuid() == 0:
        guard = mounted("--bind", "-o", "ro", str(out), target=out)
    else:
        out.chmod(0o555)
        guard = contextlib.nullcontext()
    try:
        with guard:
            probe = out / "probe"
            with contextlib.suppress(OSError):
                probe.write_bytes(b"")
                probe.unlink()
                pytest.skip("the folder is still writable (a bind mount that ignored ro?)")
            with pytest.raises(OutputError) as caught:
                edition.build(INTERVIEW, out, formats="html")
            assert caught.value.path is not None and caught.value.path.startswith(str(out))
            assert "Read-only file system" in str(caught.value) or "Permission denied" in str(caught.value)
            assert snapshot(out) == before
    finally:
        out.chmod(0o755)


def test_an_output_folder_that_is_a_file_is_an_output_error(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.write_text("not a folder", encoding="utf-8")
    with pytest.raises(OutputError) as caught:
        edition.build(INTERVIEW, out, formats="html")
    assert caught.value.path == str(out)
    assert out.read_text(encoding="utf-8") == "not a folder"


# --------------------------------------------------------------------------- two builds at once


def test_two_builds_into_the_same_folder_at_once_both_end_complete(tmp_path: Path) -> None:
    source = book(tmp_path / "src", 1, "concurrent")
    out = tmp_path / "out"
    first = subprocess.Popen(
        command(source, out), env=ENV, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    second = subprocess.Popen(
        command(source, out), env=ENV, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    results = [process.communicate(timeout=600) for process in (first, second)]
    assert first.returncode == 0, results[0]
    assert second.returncode == 0, results[1]
    assert temporaries(out) == []
    assert_complete(out, "book")
    alone = tmp_path / "alone"
    subprocess.run(command(source, alone), env=ENV, cwd=REPO, check=True, timeout=600)
    assert snapshot(out) == snapshot(alone), "two builds at once gave other outputs than one alone"
