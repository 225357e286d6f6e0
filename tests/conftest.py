"""Shared fixtures for the library-core tests: where the files are, the interview loaded once,
and a writer of small TEI documents in ``tmp_path``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

import edition

REPO = Path(__file__).resolve().parents[1]
INTERVIEW = REPO / "sources" / "panahli-january-20.xml"
FOUND = REPO / "sources" / "panahli-january-20.found.txt"
CORPUS = REPO / "tests" / "corpus"
BAD = REPO / "tests" / "bad"
TEI_NS = "http://www.tei-c.org/ns/1.0"


def tei_document(body: str, *, namespaces: str = "") -> str:
    """A minimal TEI document (valid against the project schema if ``body`` is) around ``body``."""
    return (
        f'<TEI xmlns="{TEI_NS}"{namespaces}><teiHeader><fileDesc>'
        "<titleStmt><title>A test</title></titleStmt>"
        "<publicationStmt><p>Unpublished.</p></publicationStmt>"
        "<sourceDesc><p>Born digital.</p></sourceDesc>"
        f"</fileDesc></teiHeader><text><body>{body}</body></text></TEI>"
    )


@pytest.fixture(scope="session")
def interview() -> edition.Edition:
    """The interview, loaded once: the model is immutable, so every test may share it."""
    return edition.load(INTERVIEW)


@pytest.fixture
def write_tei(tmp_path: Path) -> Callable[..., Path]:
    """``write_tei(body, name="test.xml", namespaces="")``: a minimal TEI file in ``tmp_path``."""

    def write(body: str, name: str = "test.xml", namespaces: str = "") -> Path:
        path = tmp_path / name
        path.write_text(tei_document(body, namespaces=namespaces), encoding="utf-8")
        return path

    return write
