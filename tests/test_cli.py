"""``edition validate`` and ``edition info``: exit codes, the summary against counts made from
the TEI directly, and user errors as one ``file:line:col: message`` line, never a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from lxml import etree

from conftest import BAD, CORPUS, INTERVIEW, REPO, TEI_NS
from edition.cli import main

NS = {"t": TEI_NS}
XML_ID = "{http://www.w3.org/XML/1998/namespace}id"

#: Bad inputs and where their error is: ``line:col``, ``line``, or "" for no position.
BAD_INPUTS = {
    "missing.xml": "",
    "empty.xml": "1:1",
    "malformed.xml": "12:85",
    "not-tei.xml": "2",
    "no-namespace.xml": "2",
    "invalid.xml": "11",
    "xxe.xml": "2:1",
    "xxe-remote.xml": "2:1",
    "bomb.xml": "2:1",
    "latin1.xml": "1:31",
    "latin1-undeclared.xml": "12:17",
    "utf16.xml": "1:1",
}


def run(*args: str) -> Result:
    return CliRunner().invoke(main, list(args), catch_exceptions=True)


def run_process(*args: str, module: str = "edition.cli") -> subprocess.CompletedProcess[str]:
    """The real command in a child process (``python -m <module>``), from the root of the checkout."""
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO / "src"), os.environ.get("PYTHONPATH")])),
    }
    return subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env=env,
    )


def error_line(stderr: str) -> str:
    """The one line a user error prints (``info`` prefixes it with ``error: ``)."""
    lines = stderr.splitlines()
    assert len(lines) == 1, f"expected one line on stderr, got: {stderr!r}"
    return lines[0].removeprefix("error: ")


def info_fields(stdout: str) -> dict[str, str]:
    return {key.strip(): value.strip() for key, value in (line.split(":", 1) for line in stdout.splitlines())}


# --------------------------------------------------------------------------- validate


def test_validate_a_valid_file_in_a_real_process() -> None:
    result = run_process("validate", "sources/panahli-january-20.xml")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "sources/panahli-january-20.xml: valid\n"
    assert result.stderr == ""


def test_python_dash_m_edition_is_the_command() -> None:
    """``python -m edition`` (what the benchmarks run) is the ``edition`` command."""
    result = run_process("validate", "sources/panahli-january-20.xml", module="edition")
    assert (result.returncode, result.stdout, result.stderr) == (
        0,
        "sources/panahli-january-20.xml: valid\n",
        "",
    )
    assert run_process("--help", module="edition").stdout.startswith("Usage: edition ")


@pytest.mark.parametrize(
    "name", sorted(p.name for p in CORPUS.glob("*.xml") if not p.name.startswith("nonstrict-"))
)
def test_validate_every_corpus_file(name: str) -> None:
    path = CORPUS / name
    result = run("validate", str(path))
    assert result.exit_code == 0, result.stderr
    assert result.stdout == f"{path}: valid\n"


def test_validate_several_files_reports_each() -> None:
    good, bad = CORPUS / "letter.xml", BAD / "malformed.xml"
    result = run("validate", str(good), str(bad))
    assert result.exit_code == 1
    assert result.stdout == f"{good}: valid\n"
    assert error_line(result.stderr).startswith(f"{bad}:12:85: ")


def test_validate_prints_every_schema_problem_as_its_own_line() -> None:
    path = CORPUS / "nonstrict-unknown-element.xml"
    result = run("validate", str(path))
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    assert len(lines) >= 2
    assert all(line.startswith(f"{path}:") for line in lines)
    assert lines[0].startswith(f"{path}:20: ") and "stage" in lines[0]
    assert "Traceback" not in result.output


def test_validate_non_strict_accepts_unknown_elements_and_warns() -> None:
    path = CORPUS / "nonstrict-unknown-element.xml"
    result = run("validate", "--non-strict", str(path))
    assert result.exit_code == 0, result.stderr
    assert result.stdout == f"{path}: valid\n"
    warned = result.stderr.splitlines()
    assert len(warned) == 6
    assert all(line.startswith(f"warning: {path}:") for line in warned)


# --------------------------------------------------------------------------- info


@pytest.fixture(scope="module")
def tei_root() -> etree._Element:
    return etree.parse(str(INTERVIEW), etree.XMLParser(resolve_entities=False, no_network=True)).getroot()


def intervention_kinds(text: etree._Element) -> Counter[str]:
    """Interventions counted from the TEI elements that make them."""
    kinds: Counter[str] = Counter()
    pairs = {("sic", "corr"): "correction", ("orig", "reg"): "regularisation", ("abbr", "expan"): "expansion"}
    for element in text.iter(etree.Element):
        name = etree.QName(element).localname
        parent = etree.QName(element.getparent()).localname if element.getparent() is not None else ""
        if name == "choice":
            children = {etree.QName(c).localname for c in element}
            kinds.update(kind for pair, kind in pairs.items() if set(pair) <= children)
        elif name == "gap":
            kinds[
                "removal" if element.get("reason") in {"editorial", "irrelevant", "sampling"} else "gap"
            ] += 1
        elif name in {"supplied", "unclear", "damage", "surplus"}:
            kinds[name] += 1
        elif name in {"add", "del"}:
            kinds[{"add": "addition", "del": "deletion"}[name]] += 1
        elif name in {"sic", "corr"} and parent != "choice":
            kinds["sic" if name == "sic" else "correction"] += 1
    return kinds


def test_info_counts_match_the_tei(tei_root: etree._Element) -> None:
    result = run_process("info", "sources/panahli-january-20.xml")
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    fields = info_fields(result.stdout)

    title = " ".join(
        tei_root.xpath(
            "string(t:teiHeader/t:fileDesc/t:titleStmt/t:title[@type='main'])", namespaces=NS
        ).split()
    )
    text = tei_root.find("t:text", NS)
    paragraphs = text.xpath(".//t:p[not(ancestor::t:note)]", namespaces=NS)
    notes = text.xpath(".//t:note", namespaces=NS)
    kinds = intervention_kinds(text)
    records = tei_root.xpath(
        "t:teiHeader//*[self::t:person or self::t:place or self::t:org][@xml:id]", namespaces=NS
    )
    record_kinds = Counter(
        {"person": "person", "place": "place", "org": "organisation"}[etree.QName(r).localname]
        for r in records
    )
    record_ids = {r.get(XML_ID) for r in records}
    names = text.xpath(".//t:persName|.//t:placeName|.//t:orgName|.//t:name|.//t:rs", namespaces=NS)
    mentions = [n for n in names if (n.get("ref") or "").removeprefix("#") in record_ids]

    assert fields["title"] == title
    assert fields["paragraphs"] == str(len(paragraphs)) == "14"
    assert fields["notes"] == str(len(notes)) == "22"
    by_kind = ", ".join(f"{kind} {count}" for kind, count in sorted(kinds.items()))
    assert fields["interventions"] == f"{kinds.total()} ({by_kind})"
    assert kinds.total() == 10
    by_record = ", ".join(f"{kind} {count}" for kind, count in sorted(record_kinds.items()))
    assert fields["entities"] == f"{len(records)} ({by_record})"
    assert len(records) == 31
    assert fields["mentions"] == str(len(mentions)) == "69"
    assert fields["authors"] == "Salim Haqverdiyev"
    assert fields["language"] == "en"


def test_info_of_a_corpus_file_without_interventions_or_entities() -> None:
    result = run("info", str(CORPUS / "metadata.xml"))
    assert result.exit_code == 0, result.stderr
    fields = info_fields(result.stdout)
    assert fields["title"] == "A Test of Metadata"
    assert fields["authors"] == "Ann Example, Ben Sample"
    assert fields["identifier"] == "urn:example:metadata-test"
    assert (fields["paragraphs"], fields["notes"], fields["interventions"], fields["entities"]) == (
        "1",
        "0",
        "0",
        "0",
    )


# --------------------------------------------------------------------------- user errors


@pytest.mark.parametrize("command", ["validate", "info"])
@pytest.mark.parametrize("name", sorted(BAD_INPUTS))
def test_bad_input_is_one_error_line_naming_the_file(command: str, name: str) -> None:
    path = BAD / name
    result = run(command, str(path))
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit), result.exception
    assert result.stdout == ""
    where = BAD_INPUTS[name]
    line = error_line(result.stderr)
    assert line.startswith(f"{path}:{where}: " if where else f"{path}: "), line
    assert "Traceback" not in result.output
    assert "root:" not in result.output  # nothing of /etc/passwd, ever


@pytest.mark.parametrize("command", ["validate", "info"])
def test_bad_input_in_a_real_process_has_no_traceback(command: str) -> None:
    result = run_process(command, "tests/bad/malformed.xml")
    assert result.returncode == 1
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    assert error_line(result.stderr).startswith("tests/bad/malformed.xml:12:85: ")


def test_hostile_input_in_a_real_process() -> None:
    result = run_process("info", "tests/bad/xxe.xml")
    assert result.returncode == 1
    assert "Traceback" not in result.stdout + result.stderr
    assert "root:" not in result.stdout + result.stderr
    assert error_line(result.stderr).startswith("tests/bad/xxe.xml:2:1: ")


@pytest.mark.parametrize("command", ["validate", "info"])
def test_directory_instead_of_a_file(command: str, tmp_path: Path) -> None:
    result = run(command, str(tmp_path))
    assert result.exit_code != 0
    assert str(tmp_path) in result.stderr
    assert "directory" in result.stderr
    assert "Traceback" not in result.output


def test_info_error_line_starts_with_the_file_path() -> None:
    path = BAD / "malformed.xml"
    result = run("info", str(path))
    assert result.stderr.startswith(f"{path}:12:85: ")
