"""Developer sessions: ``nox -s tests``, ``nox -s lint``, ``nox -s typecheck``, ``nox -s edition``."""

from __future__ import annotations

import nox

nox.options.sessions = ["lint", "typecheck", "tests"]
nox.options.reuse_existing_virtualenvs = True


@nox.session
def tests(session: nox.Session) -> None:
    """The test suite (external validators skip locally when missing; CI installs them)."""
    session.install("-e", ".[test]")
    session.run("python", "-m", "pytest", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """ruff: lint, import order and formatting."""
    session.install("ruff>=0.6")
    session.run("ruff", "check", "src", "tests", "tools", "benchmarks", "examples", "noxfile.py")
    session.run("ruff", "format", "--check", "src", "tests", "tools", "benchmarks", "examples", "noxfile.py")


@nox.session
def typecheck(session: nox.Session) -> None:
    """mypy, strict, over the library."""
    session.install("-e", ".", "mypy>=1.11", "lxml-stubs")
    session.run("mypy")


@nox.session
def edition(session: nox.Session) -> None:
    """Build every edition in sources/ into output/ (web page, PDF, EPUB)."""
    session.install("-e", ".")
    session.run("edition", "build", *session.posargs)
