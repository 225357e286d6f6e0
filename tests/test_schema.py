"""The project's RELAX NG schema: a subset of TEI P5 ``tei_all``, derived by ``tools/derive_schema.py``.

``tei_all.rng`` lives outside the repository, in ``../shared/schema/`` (it must not be copied in);
tests that need it skip, saying why, where that folder is absent.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest
from lxml import etree

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
TEI_ALL = SHARED / "schema" / "tei_all.rng"
PROJECT_SCHEMA = REPO / "src" / "edition" / "schema" / "edition.rng"
DERIVE_SCRIPT = REPO / "tools" / "derive_schema.py"

RNG_NS = "http://relaxng.org/ns/structure/1.0"
TEI_NS = "http://www.tei-c.org/ns/1.0"
NO_TEI_ALL = f"tei_all.rng not found at {TEI_ALL} (expected in ../shared/schema/ beside the repository)"

#: Folders of deliberately invalid input, and the prefix of files that are outside the subset on purpose.
EXCLUDED_FOLDERS = frozenset({"bad", "hostile"})
NONSTRICT_PREFIX = "nonstrict-"

PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)


def parse(source: Path | str) -> etree._ElementTree:
    """Parse a file path or an XML string without entities or network access."""
    if isinstance(source, Path):
        return etree.parse(str(source), PARSER)
    return etree.ElementTree(etree.fromstring(source.encode(), PARSER))


def is_tei(path: Path) -> bool:
    """True if the file's root is TEI (in any namespace, so a missing namespace fails loudly below),
    or if it does not parse at all (so the test reports the error instead of hiding the file)."""
    try:
        root = etree.parse(str(path), PARSER).getroot()
    except etree.XMLSyntaxError:
        return True
    name = etree.QName(root)
    return name.namespace == TEI_NS or name.localname in {"TEI", "teiCorpus"}


def repository_tei_files() -> list[Path]:
    """The TEI files that must be valid: ``sources/*.xml`` and ``tests/**/*.xml``, minus the
    deliberately bad ones (``bad/``, ``hostile/``, ``nonstrict-*``)."""
    candidates = sorted({*REPO.glob("sources/*.xml"), *REPO.glob("tests/**/*.xml")})
    return [
        path
        for path in candidates
        if not EXCLUDED_FOLDERS.intersection(path.relative_to(REPO).parts[:-1])
        and not path.name.startswith(NONSTRICT_PREFIX)
        and is_tei(path)
    ]


TEI_FILES = repository_tei_files()
TEI_FILE_IDS = [str(path.relative_to(REPO)) for path in TEI_FILES]


def tei(body: str, *, source_desc: str = "<p>Born digital.</p>") -> str:
    """A minimal valid TEI document with ``body`` as the content of ``<body>``."""
    return f"""<TEI xmlns="{TEI_NS}">
  <teiHeader>
    <fileDesc>
      <titleStmt><title>A test</title></titleStmt>
      <publicationStmt><p>Unpublished.</p></publicationStmt>
      <sourceDesc>{source_desc}</sourceDesc>
    </fileDesc>
  </teiHeader>
  <text>
    <body>
      {body}
    </body>
  </text>
</TEI>"""


MINIMAL = tei("<p>Hello.</p>")

#: Valid TEI inside the subset, exercising several of the kept elements.
INSIDE_SUBSET = {
    "minimal": MINIMAL,
    "editorial-and-names": tei(
        """<div type="letter">
        <head>To <persName ref="#jd">J. D.</persName></head>
        <opener><dateline><placeName>Paris</placeName>, <date when="1850-01-20">20 Jan.</date></dateline>
          <salute>Dear friend,</salute></opener>
        <p>I <choice><sic>recieved</sic><corr>received</corr></choice> your
          <supplied reason="damage">letter</supplied><gap reason="illegible" quantity="2" unit="word"/>
          <note place="foot">A note.</note><lb/><hi rend="italic">thanks</hi>.</p>
        <closer><signed>A.</signed></closer>
      </div>"""
    ),
}

#: Valid TEI (accepted by tei_all) that uses elements outside the subset.
OUTSIDE_SUBSET = {
    "drama-sp": tei("<sp><speaker>HAMLET</speaker><p>Words, words, words.</p></sp>"),
    "drama-stage": tei("<stage>Enter Hamlet.</stage><p>Act one.</p>"),
    "textcrit-app": tei('<p>The <app><lem wit="#A">quick</lem><rdg wit="#B">quicke</rdg></app> fox.</p>'),
    "analysis-w": tei("<p><w>word</w></p>"),
    "header-msDesc": tei(
        "<p>Hello.</p>",
        source_desc="<msDesc><msIdentifier><idno>MS 1</idno></msIdentifier><p>A manuscript.</p></msDesc>",
    ),
    "root-teiCorpus": f"""<teiCorpus xmlns="{TEI_NS}">
  <teiHeader>
    <fileDesc>
      <titleStmt><title>A corpus</title></titleStmt>
      <publicationStmt><p>Unpublished.</p></publicationStmt>
      <sourceDesc><p>Born digital.</p></sourceDesc>
    </fileDesc>
  </teiHeader>
  {MINIMAL}
</teiCorpus>""",
}


def load_derive_script() -> ModuleType:
    """Import ``tools/derive_schema.py`` (not a package) as a module."""
    spec = importlib.util.spec_from_file_location("derive_schema", DERIVE_SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("derive_schema", module)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def project_schema() -> etree.RelaxNG:
    """The project schema, compiled once (about 0.2 s with lxml)."""
    return etree.RelaxNG(file=str(PROJECT_SCHEMA))


@pytest.fixture(scope="session")
def tei_all_schema() -> etree.RelaxNG:
    """tei_all, compiled once (11–19 s with lxml on a 2-core machine); skips where ../shared is absent."""
    if not TEI_ALL.is_file():
        pytest.skip(NO_TEI_ALL)
    return etree.RelaxNG(file=str(TEI_ALL))


def assert_valid(schema: etree.RelaxNG, document: etree._ElementTree, label: str) -> None:
    """Assert ``document`` is valid, showing every error from the schema's log if not."""
    if not schema.validate(document):
        errors = "\n".join(f"  line {error.line}: {error.message}" for error in schema.error_log)
        pytest.fail(f"{label} is not valid:\n{errors}")


def test_project_schema_is_a_tei_grammar_starting_at_tei_only(project_schema: etree.RelaxNG) -> None:
    grammar = parse(PROJECT_SCHEMA).getroot()
    assert grammar.tag == f"{{{RNG_NS}}}grammar"
    assert grammar.get("ns") == TEI_NS
    start = grammar.findall(f"{{{RNG_NS}}}start")
    assert len(start) == 1
    (pattern,) = start[0]
    assert pattern.tag == f"{{{RNG_NS}}}ref"
    (define,) = grammar.findall(f"{{{RNG_NS}}}define[@name='{pattern.get('name')}']")
    (element,) = define
    assert element.tag == f"{{{RNG_NS}}}element"
    assert element.get("name") == "TEI"
    assert element.get("ns") is None  # inherits the TEI namespace from the grammar


def test_project_schema_defines_exactly_the_kept_elements() -> None:
    kept = load_derive_script().KEPT_ELEMENTS
    grammar = parse(PROJECT_SCHEMA).getroot()
    defined = [element.get("name", "") for element in grammar.iter(f"{{{RNG_NS}}}element")]
    assert sorted(defined) == sorted(kept)


def test_project_schema_is_what_the_script_generates() -> None:
    if not TEI_ALL.is_file():
        pytest.skip(NO_TEI_ALL)
    result = subprocess.run(
        [sys.executable, str(DERIVE_SCRIPT), "--tei-all", str(TEI_ALL), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("path", TEI_FILES, ids=TEI_FILE_IDS)
def test_repository_file_is_valid_against_project_schema(path: Path, project_schema: etree.RelaxNG) -> None:
    assert_valid(project_schema, parse(path), str(path.relative_to(REPO)))


@pytest.mark.parametrize("path", TEI_FILES, ids=TEI_FILE_IDS)
def test_repository_file_is_valid_against_tei_all(path: Path, tei_all_schema: etree.RelaxNG) -> None:
    assert_valid(tei_all_schema, parse(path), str(path.relative_to(REPO)))


@pytest.mark.parametrize("name", sorted(INSIDE_SUBSET))
def test_document_inside_subset_is_accepted_by_both(
    name: str, project_schema: etree.RelaxNG, tei_all_schema: etree.RelaxNG
) -> None:
    document = parse(INSIDE_SUBSET[name])
    assert_valid(tei_all_schema, document, f"{name} (tei_all)")
    assert_valid(project_schema, document, f"{name} (project schema)")


def test_minimal_document_is_accepted_by_project_schema(project_schema: etree.RelaxNG) -> None:
    """Runs even where ../shared is absent."""
    assert_valid(project_schema, parse(MINIMAL), "minimal document")


@pytest.mark.parametrize("name", sorted(OUTSIDE_SUBSET))
def test_valid_tei_outside_subset_is_rejected_by_project_schema(
    name: str, project_schema: etree.RelaxNG, tei_all_schema: etree.RelaxNG
) -> None:
    document = parse(OUTSIDE_SUBSET[name])
    assert_valid(tei_all_schema, document, f"{name} (tei_all)")
    assert not project_schema.validate(document), f"{name} should be outside the project's subset"
