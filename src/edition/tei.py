"""Reading TEI safely: bounded, UTF-8 only, no DTD, no entities, no network; then validation.

Why so strict: editors will load TEI that nobody here wrote, and a build server runs it
unattended. An XML file can ask its parser to read local files (external entities), to
fetch URLs, or to expand a few hundred bytes into gigabytes (entity bombs). We refuse
every DOCTYPE outright (TEI P5 never needs one), parse with a parser that could not
resolve entities or touch the network anyway, and bound size and depth.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path

from lxml import etree

from edition.behaviours import TEI_NS
from edition.errors import (
    EditionError,
    ParseError,
    SourceNotFoundError,
    UnsafeInputError,
    ValidationError,
)
from edition.header import line_of


@dataclass(frozen=True, slots=True)
class Limits:
    """Bounds on what one source may ask of the library. Every bound has a clear error."""

    max_bytes: int = 64 * 1024 * 1024
    """Largest source file, in bytes (a 700-page book is about 3 MB of TEI)."""
    max_depth: int = 128
    """Deepest element nesting (real TEI rarely passes 30). The XML parser itself refuses
    more than 255, so a larger value has no effect."""
    max_notes: int = 100_000
    """Most notes in one text."""
    max_image_bytes: int = 32 * 1024 * 1024
    """Largest image file a ``graphic`` may point at."""
    max_image_pixels: int = 50_000_000
    """Most pixels (width × height) of one image: a small file can declare a huge picture
    (an image bomb), and renderers decode it whole (4 bytes a pixel)."""


DEFAULT_LIMITS = Limits()

_PROLOG = re.compile(r"\A\ufeff?(?:\s+|<\?.*?\?>|<!--.*?-->)*", re.DOTALL)
_DECLARED_ENCODING = re.compile(
    r"""\A(?:\ufeff|\xef\xbb\xbf)?<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._-]+)["']"""
)


_LIBXML_FUNCTION = re.compile(r"^xml[A-Za-z0-9]+ ?: ")


def _position(data: bytes, offset: int) -> tuple[int, int]:
    """1-based line and column of a byte offset."""
    line = data.count(b"\n", 0, offset) + 1
    column = offset - (data.rfind(b"\n", 0, offset) + 1) + 1
    return line, column


def read_source(path: Path, limits: Limits = DEFAULT_LIMITS) -> str:
    """The source as text, after the checks that need no parser: exists, size, UTF-8, no DOCTYPE."""
    try:
        size = path.stat().st_size
        if not path.is_file():
            raise SourceNotFoundError("not a file", path=path, hint="give the path of a TEI .xml file")
        if size > limits.max_bytes:
            raise ParseError(
                f"file is {size:,} bytes, over the limit of {limits.max_bytes:,}",
                path=path,
                hint="split the edition, or raise Limits.max_bytes",
            )
        with path.open("rb") as handle:  # bounded: the file may have grown since stat()
            data = handle.read(limits.max_bytes + 1)
        if len(data) > limits.max_bytes:
            raise ParseError(
                f"file is over the limit of {limits.max_bytes:,} bytes",
                path=path,
                hint="split the edition, or raise Limits.max_bytes",
            )
    except FileNotFoundError:
        raise SourceNotFoundError("no such file", path=path, hint="check the path") from None
    except PermissionError:
        raise SourceNotFoundError("permission denied", path=path, hint="make the file readable") from None
    except IsADirectoryError:
        raise SourceNotFoundError(
            "is a directory", path=path, hint="give the path of a TEI .xml file"
        ) from None
    except OSError as error:
        raise SourceNotFoundError(f"cannot read: {error.strerror}", path=path) from None
    if not data.strip():
        raise ParseError("file is empty", path=path, line=1, column=1, hint="it should hold a TEI document")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\x00" in data[:4]:
        raise ParseError("file is UTF-16 or UTF-32", path=path, line=1, column=1, hint="save it as UTF-8")
    if b"\x00" in data:
        line, column = _position(data, data.index(b"\x00"))
        raise ParseError(
            "file contains a NUL byte",
            path=path,
            line=line,
            column=column,
            hint="XML cannot contain NUL; is this a text file?",
        )
    declared = _DECLARED_ENCODING.match(data[:200].decode("latin-1"))
    if declared and declared.group(1).lower() != "utf-8":
        raise ParseError(
            f'file declares encoding "{declared.group(1)}"',
            path=path,
            line=1,
            column=declared.start(1) + 1,
            hint='save it as UTF-8 and declare encoding="UTF-8"',
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        line, column = _position(data, error.start)
        raise ParseError(
            f"byte 0x{data[error.start]:02X} is not UTF-8",
            path=path,
            line=line,
            column=column,
            hint="save the file as UTF-8",
        ) from None
    prolog_end = _PROLOG.match(text)
    rest = text[prolog_end.end() if prolog_end else 0 :]
    if rest.startswith("<!DOCTYPE"):
        line, column = _position(data, len(text[: len(text) - len(rest)].encode("utf-8")))
        raise UnsafeInputError(
            "DOCTYPE declarations are not allowed "
            "(they can define entities that read files or expand without bound)",
            path=path,
            line=line,
            column=column,
            hint="remove the DOCTYPE; TEI P5 needs none",
        )
    return text


def _parser() -> etree.XMLParser:
    """A parser that cannot resolve entities, load a DTD or touch the network, even if asked."""
    return etree.XMLParser(
        resolve_entities=False,
        load_dtd=False,
        dtd_validation=False,
        no_network=True,
        huge_tree=False,
        remove_pis=True,
        strip_cdata=True,
    )


def parse(path: Path, limits: Limits = DEFAULT_LIMITS) -> etree._ElementTree:
    """Parse a TEI source safely. Raises :class:`ParseError` or :class:`UnsafeInputError`."""
    text = read_source(path, limits)
    try:
        root = etree.fromstring(text.encode("utf-8"), _parser())
    except etree.XMLSyntaxError as error:
        line, column = error.position
        message = error.msg.split(", line ")[0] if error.msg else "malformed XML"
        message = _LIBXML_FUNCTION.sub("", message)  # "xmlParseCharRef: " names libxml2's code
        hint = "fix the XML"
        if "depth" in message.lower():  # libxml2's own bound (256) met before ours
            message = f"elements nested too deeply (over the limit of {limits.max_depth})"
            hint = "flatten the structure"
        elif "resource limit exceeded" in message.lower() or "xml_parse_huge" in message.lower():
            # libxml2's own bounds without XML_PARSE_HUGE: 10,000,000 characters of text or
            # of one attribute, names of 50,000 characters; its wording names a flag users cannot set
            message = "a text, attribute or name is longer than the XML parser allows (10,000,000 characters)"
            hint = "split the text into paragraphs"
        raise ParseError(message, path=path, line=line, column=column, hint=hint) from None
    tree: etree._ElementTree = root.getroottree()
    if getattr(tree.docinfo, "doctype", ""):  # second line of defence: read_source refuses these already
        raise UnsafeInputError("DOCTYPE declarations are not allowed", path=path, line=1, hint="remove it")
    _check_depth(root, path, limits)
    for element in root.iter(etree.Entity):
        raise UnsafeInputError(
            "entity references are not allowed",
            path=path,
            line=line_of(element),
            hint="write the character itself",
        )
    return tree


def _check_depth(root: etree._Element, path: Path, limits: Limits) -> None:
    depth = 0
    for event, element in etree.iterwalk(root, events=("start", "end")):
        depth += 1 if event == "start" else -1
        if depth > limits.max_depth:
            raise ParseError(
                f"elements nested {depth} deep, over the limit of {limits.max_depth}",
                path=path,
                line=line_of(element),
                hint="flatten the structure, or raise Limits.max_depth",
            )


# --------------------------------------------------------------------------- validation


@cache
def project_schema() -> etree.RelaxNG:
    """The project's RELAX NG schema (a subset of TEI P5), shipped in the package."""
    schema_file = resources.files("edition") / "schema" / "edition.rng"
    with resources.as_file(schema_file) as schema_path:
        return etree.RelaxNG(etree.parse(str(schema_path), _parser()))


def check_structure(tree: etree._ElementTree, path: Path) -> list[EditionError]:
    """The structure the library needs, for non-strict loading: TEI root, header title, text body."""
    root = tree.getroot()
    if root.tag != f"{{{TEI_NS}}}TEI":
        name = root.tag.split("}")[-1] if isinstance(root.tag, str) else "?"
        hint = f'add xmlns="{TEI_NS}" to the root' if name == "TEI" else "is this a TEI P5 file?"
        where = "outside the TEI namespace" if name == "TEI" else f"<{name}>, expected <TEI>"
        return [ValidationError(f"root element is {where}", path=path, line=line_of(root), hint=hint)]
    needed = {
        "t:teiHeader": "a teiHeader",
        "t:teiHeader/t:fileDesc/t:titleStmt/t:title": "a title (teiHeader/fileDesc/titleStmt/title)",
        "t:text": "a text",
        "t:text/t:body": "a body (text/body)",
    }
    problems: list[EditionError] = []
    for xpath, what in needed.items():
        if not root.xpath(xpath, namespaces={"t": TEI_NS}):
            problems.append(
                ValidationError(f"the document lacks {what}", path=path, line=line_of(root), hint="add it")
            )
    return problems


def validate(tree: etree._ElementTree, path: Path, *, strict: bool = True) -> list[EditionError]:
    """Problems that stop the library loading the document (empty when it can).

    Strict: the project schema. Non-strict: only the structure the library needs, so that
    valid TEI outside the project's subset still loads (unknown elements keep their text).
    """
    problems = check_structure(tree, path)
    if not strict or (problems and tree.getroot().tag != f"{{{TEI_NS}}}TEI"):
        return problems
    schema = project_schema()  # its messages name the element and line; prefer them
    if schema.validate(tree):
        return problems
    return [
        ValidationError(
            entry.message,
            path=path,
            line=entry.line or None,
            column=entry.column or None,
            hint="fix the TEI, or load with strict=False to accept TEI outside the project's subset",
        )
        for entry in schema.error_log
    ]
