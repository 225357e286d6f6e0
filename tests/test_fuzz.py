"""Fuzzing: random TEI documents from the supported element set, loaded and rendered.

A small grammar keeps the documents mostly valid (body → div, p, lg, list, table, quote...;
p → text and the phrase-level elements of :data:`edition.behaviours.ELEMENTS`, notes and
interventions included), with random attributes (some of them hostile) and text drawn from
every Unicode category XML allows: right-to-left scripts, combining marks, emoji and joiners,
private-use and unassigned code points (not the controls XML forbids, nor surrogates, nor
U+FFFE/U+FFFF). A document the project schema refuses is loaded with ``strict=False``.

The property: loading and rendering either succeeds, with every character of the model's
text (reading and diplomatic views) in the web page in order and in the EPUB, or raises an
:class:`edition.EditionError`; never another exception, never a warning other than
:class:`edition.EditionWarning`.

Examples: ``HYPOTHESIS_PROFILE=long`` runs 400 (web page and EPUB) and 40 (all three formats,
PDF included); by default 25 and 6, derandomised so that CI runs the same examples every
time (the long profile explores new ones; a failure prints the document to reproduce it).
The PDF is slow (seconds a document), hence its own test with fewer examples.
"""

from __future__ import annotations

import os
import tempfile
import unicodedata
import warnings
import zipfile
from collections import Counter
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

from hypothesis import HealthCheck, note, settings
from hypothesis import given as given_
from hypothesis import strategies as st
from lxml import etree
from lxml import html as lxml_html

import edition
from conftest import TEI_NS
from edition import EditionError, EditionWarning
from edition import ValidationError as TEIValidationError
from test_hostile import assert_outputs_safe, missing_characters, visible_text

_COMMON = {
    "deadline": None,
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large],
    "print_blob": True,
}
settings.register_profile("edition-default", max_examples=25, derandomize=True, **_COMMON)
settings.register_profile("edition-long", max_examples=400, **_COMMON)
settings.register_profile("edition-pdf-default", max_examples=6, derandomize=True, **_COMMON)
settings.register_profile("edition-pdf-long", max_examples=40, **_COMMON)
LONG = os.environ.get("HYPOTHESIS_PROFILE", "").strip().lower() == "long"
PROFILE = settings.get_profile("edition-long" if LONG else "edition-default")
PDF_PROFILE = settings.get_profile("edition-pdf-long" if LONG else "edition-pdf-default")

# --------------------------------------------------------------------------- text

#: Characters worth meeting often: right-to-left letters, marks, joiners, emoji, odd spaces.
SPECIAL = (
    "كتابשלום"
    "\u064e\u05b8"  # Arabic and Hebrew letters, and their vowel marks
    "\u0301\u0308\u0327\u20dd"  # combining marks
    "\u200d\u200c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"  # joiners, bidi controls
    "\U0001f600\U0001f469\U0001f52c\U0001f3fd\U0001f1e6\U0001f1ff\ufe0f"  # emoji, modifiers, flags
    "\u00a0\u2009\u200b\u2028\u3000\u00ad"  # spaces, soft hyphen
    "\ue000\U0010fffd\u0378\ufdd0\U0001fffe"  # private use, unassigned, noncharacters
    "λόγοςсловоdağqızgözəl"  # Greek, Cyrillic, Azerbaijani
    "“”‘’«»…—–&<>\"']]>"  # typography and XML's own characters (escaped when written)
)

#: Any character XML 1.0 allows, less the C0/C1 controls (tab and newlines come from WHITE).
ANY_CHARACTER = st.characters(exclude_categories=("Cs", "Cc"), exclude_characters="\ufffe\uffff")
WHITE = st.sampled_from([" ", " ", "\n", "\t", "\r"])
CHARACTER = st.one_of(ANY_CHARACTER, st.sampled_from(SPECIAL), WHITE, st.sampled_from("abcdefghij"))
TEXT = st.text(CHARACTER, min_size=0, max_size=12)
WORDS = st.text(CHARACTER, min_size=1, max_size=12)

# --------------------------------------------------------------------------- attributes

LANGS = ["en", "ar", "he", "az", "ru", "el", "fa", "zh-Hant", "x-klingon", "", 'en" onclick="x', "ar-"]
TARGETS = [
    "#i1",
    "#i2",
    "#nowhere",
    "https://example.org/a?b=c&d=e",
    "mailto:a@example.org",
    "javascript:alert(1)",
    "data:text/html,x",
    "file:///etc/passwd",
    "../x.html",
    "/etc/passwd",
    "http://[x",
    "//evil.example/",
    "",
    " ",
    "#",
]
SAFE_TARGETS = frozenset(t for t in TARGETS if t.startswith(("https:", "mailto:")))
RENDS = [
    "italic",
    "bold",
    "sup",
    "sub",
    "smallcaps",
    "underline",
    "strikethrough",
    "italic bold",
    "color:red;background:url(http://127.0.0.1:9/x)",
    "unknown-keyword",
    "",
]
REASONS = ["lost", "illegible", "editorial", "irrelevant", "sampling", "damage", "", "a reason with spaces"]
DATES = ["1990-01-20", "1990-01", "1990", "1990-01-20T03:00:00Z", "not a date", '"><b>', ""]

ATTRIBUTE = st.one_of(
    st.tuples(st.just("xml:lang"), st.sampled_from(LANGS)),
    st.tuples(st.just("rend"), st.sampled_from(RENDS)),
    st.tuples(st.just("type"), st.one_of(st.sampled_from(["chapter", "x y", ""]), TEXT)),
    st.tuples(st.just("n"), st.one_of(st.sampled_from(["1", "*", "iv", ""]), TEXT)),
    st.tuples(st.just("resp"), st.sampled_from(["#ed", "#nobody", "ed", ""])),
    st.tuples(st.just("cert"), st.sampled_from(["high", "medium", "low", "unknown"])),
    st.tuples(st.just("xml:id"), st.just("@ID@")),
    st.tuples(st.just("style"), st.just("background:url(http://127.0.0.1:9/style)")),
    st.tuples(st.just("facs"), st.just("http://127.0.0.1:9/facs.png")),
    st.tuples(st.just("ana"), st.sampled_from(["#typo", "#i1", ""])),
)
ATTRIBUTES = st.lists(ATTRIBUTE, max_size=3, unique_by=lambda pair: pair[0])


def element(name: str, attributes: list[tuple[str, str]], content: str) -> str:
    attrs = "".join(f" {key}={quoteattr(value)}" for key, value in attributes)
    return f"<{name}{attrs}>{content}</{name}>" if content else f"<{name}{attrs}/>"


# --------------------------------------------------------------------------- the grammar

PHRASES = [
    "hi",
    "emph",
    "foreign",
    "title",
    "term",
    "mentioned",
    "soCalled",
    "seg",
    "num",
    "q",
    "said",
    "persName",
    "placeName",
    "orgName",
    "name",
    "rs",
    "abbr",
    "expan",
    "orig",
    "reg",
]
PAIRS = [("sic", "corr"), ("orig", "reg"), ("abbr", "expan"), ("corr", "corr")]
MARKS = ["unclear", "add", "del", "damage", "surplus", "supplied", "sic", "corr"]


@st.composite
def inline(draw: st.DrawFn, depth: int) -> str:
    """Mixed content of a paragraph: text and phrase-level elements."""
    parts: list[str] = []
    for _ in range(draw(st.integers(0, 4 if depth > 0 else 2))):
        choice = draw(st.integers(0, 12 if depth > 0 else 1))
        attributes = draw(ATTRIBUTES)
        if choice <= 1:
            parts.append(escape(draw(TEXT)))
        elif choice <= 4:
            name = draw(st.sampled_from(PHRASES))
            parts.append(element(name, attributes, draw(inline(depth - 1))))
        elif choice == 5:
            name = draw(st.sampled_from(MARKS))
            if name == "supplied":
                attributes = [*attributes, ("reason", draw(st.sampled_from(REASONS)))]
            parts.append(element(name, attributes, draw(inline(depth - 1))))
        elif choice == 6:
            pair = draw(st.sampled_from(PAIRS))
            inner = "".join(element(part, [], draw(inline(depth - 1))) for part in pair)
            parts.append(element("choice", attributes, inner))
        elif choice == 7:
            extra = [("reason", draw(st.sampled_from(REASONS))), ("extent", draw(TEXT))]
            desc = element("desc", [], escape(draw(TEXT))) if draw(st.booleans()) else ""
            parts.append(element("gap", extra, desc))
        elif choice == 8:
            name = draw(st.sampled_from(["ref", "ptr"]))
            target = [("target", draw(st.sampled_from(TARGETS)))]
            parts.append(element(name, target, draw(inline(depth - 1)) if name == "ref" else ""))
        elif choice == 9:
            body = draw(inline(depth - 1)) if draw(st.booleans()) else draw(blocks(depth - 1, small=True))
            parts.append(element("note", attributes, body))
        elif choice == 10:
            name = draw(st.sampled_from(["lb", "pb", "cb", "milestone"]))
            extra = [("n", draw(TEXT))] + ([("unit", "section")] if name == "milestone" else [])
            extra += [("break", "no")] if name == "lb" and draw(st.booleans()) else []
            parts.append(element(name, extra, ""))
        elif choice == 11:
            name = draw(st.sampled_from(["date", "time"]))
            parts.append(element(name, [("when", draw(st.sampled_from(DATES)))], draw(inline(depth - 1))))
        else:  # an element the library does not know, in TEI or another namespace
            name = draw(st.sampled_from(["w", "stage", 'x:thing xmlns:x="urn:x"']))
            tag = name.split()[0]
            parts.append(f"<{name}>{draw(inline(depth - 1))}</{tag}>")
    return "".join(parts)


@st.composite
def block(draw: st.DrawFn, depth: int) -> str:
    attributes = draw(ATTRIBUTES)
    kind = draw(st.integers(0, 9 if depth > 0 else 0))
    if kind == 0:
        return element(draw(st.sampled_from(["p", "p", "ab"])), attributes, draw(inline(depth)))
    if kind == 1:
        head = element("head", [], draw(inline(depth - 1))) if draw(st.booleans()) else ""
        return element("div", attributes, head + draw(blocks(depth - 1)))
    if kind == 2:
        lines = "".join(element("l", [], draw(inline(depth - 1))) for _ in range(draw(st.integers(1, 3))))
        return element("lg", attributes, lines)
    if kind == 3:
        items = "".join(
            (element("label", [], escape(draw(TEXT))) if draw(st.booleans()) else "")
            + element("item", [], draw(inline(depth - 1)))
            for _ in range(draw(st.integers(1, 3)))
        )
        return element("list", attributes, items)
    if kind == 4:
        rows = "".join(
            element(
                "row",
                [],
                "".join(element("cell", [], draw(inline(depth - 1))) for _ in range(draw(st.integers(1, 3)))),
            )
            for _ in range(draw(st.integers(1, 3)))
        )
        return element("table", attributes, rows)
    if kind == 5:
        return element("quote", attributes, draw(blocks(depth - 1, small=True)))
    if kind == 6:
        quote = element("quote", [], draw(inline(depth - 1)))
        bibl = element("bibl", [], draw(inline(depth - 1)))
        return element("cit", attributes, quote + bibl)
    if kind == 7:
        head = element("head", [], draw(inline(depth - 1)))
        return element("figure", attributes, head + element("figDesc", [], escape(draw(TEXT))))
    if kind == 8:
        parts = [element(name, [], draw(inline(depth - 1))) for name in ("dateline", "salute")]
        return element(draw(st.sampled_from(["opener", "closer"])), attributes, "".join(parts))
    name = draw(st.sampled_from(["byline", "trailer", "epigraph", "argument"]))
    inline_only = name in {"byline", "trailer"}
    content = draw(inline(depth - 1)) if inline_only else draw(blocks(depth - 1, small=True))
    return element(name, attributes, content)


@st.composite
def blocks(draw: st.DrawFn, depth: int, small: bool = False) -> str:
    count = draw(st.integers(1, 2 if small else 4))
    return "".join(draw(block(depth)) for _ in range(count))


@st.composite
def documents(draw: st.DrawFn) -> str:
    """A whole TEI document: header (with a person to point at), optional front and back, a body."""
    title = escape(draw(WORDS))
    body = draw(blocks(3))
    front = element("front", [], draw(blocks(1, small=True))) if draw(st.booleans()) else ""
    back = element("back", [], draw(blocks(1, small=True))) if draw(st.booleans()) else ""
    lang = draw(st.sampled_from(LANGS))
    document = (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<TEI xmlns="{TEI_NS}">'
        f"<teiHeader><fileDesc><titleStmt><title>{title}</title>"
        '<respStmt><resp>editor</resp><name xml:id="ed">An Editor</name></respStmt></titleStmt>'
        "<publicationStmt><p>Unpublished.</p></publicationStmt>"
        f"<sourceDesc><p>{escape(draw(TEXT))}</p></sourceDesc></fileDesc></teiHeader>"
        f"<text xml:lang={quoteattr(lang)}>{front}<body>{body}</body>{back}</text></TEI>\n"
    )
    counter = iter(range(1, 10_000))
    while "@ID@" in document:  # unique ids, as XML requires
        document = document.replace("@ID@", f"i{next(counter)}", 1)
    return document


# --------------------------------------------------------------------------- the property


def _nfd(text: str) -> str:
    return unicodedata.normalize("NFD", text)


def load_any(path: Path) -> edition.Edition:
    """Strictly if the project schema accepts the document, else non-strictly."""
    try:
        return edition.load(path)
    except TEIValidationError:
        return edition.load(path, strict=False)


def check(document: str, formats: tuple[str, ...]) -> None:
    note(document)
    with tempfile.TemporaryDirectory(prefix="edition-fuzz-") as folder:
        source = Path(folder) / "fuzz.xml"
        source.write_text(document, encoding="utf-8")
        out = Path(folder) / "out"
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                loaded = load_any(source)
                edition.build(source, out, formats=formats, strict=False)
            except EditionError as error:
                note(f"refused: {error}")
                assert "\n" not in str(error)
                return
        strangers = [
            f"{w.category.__name__}: {w.message}"
            for w in caught
            if not issubclass(w.category, EditionWarning)
        ]
        assert strangers == [], strangers
        page = lxml_html.document_fromstring((out / "index.html").read_text(encoding="utf-8"))
        shown = _nfd(visible_text(page))
        for view in ("reading", "diplomatic"):
            text = _nfd(loaded.text(view))
            assert missing_characters(text, shown) == [], f"{view} view: characters lost in the web page"
        assert_outputs_safe(out, source.stem, external_ok=SAFE_TARGETS)
        if "epub" in formats:
            with zipfile.ZipFile(out / "fuzz.epub") as archive:
                book = "".join(
                    "".join(etree.fromstring(archive.read(name)).itertext())
                    for name in archive.namelist()
                    if name.endswith(".xhtml")
                )
            short = Counter(c for c in _nfd(loaded.text("reading")) if not c.isspace()) - Counter(_nfd(book))
            assert not short, f"characters lost in the EPUB: {sorted(short)}"


@PROFILE
@given_(documents())
def test_random_documents_render_or_fail_cleanly(document: str) -> None:
    check(document, ("html", "epub"))


@PDF_PROFILE
@given_(documents())
def test_random_documents_render_in_all_three_formats_or_fail_cleanly(document: str) -> None:
    check(document, ("html", "pdf", "epub"))


def test_the_grammar_makes_documents_the_schema_accepts_and_documents_it_refuses() -> None:
    """The generator is worth running only if some of its documents are valid and some are not."""
    from hypothesis import find

    from edition.tei import parse, validate

    def valid(document: str) -> bool:
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "x.xml"
            path.write_text(document, encoding="utf-8")
            try:
                return not validate(parse(path), path)
            except EditionError:
                return False

    settings_ = settings(
        max_examples=300,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    assert valid(find(documents(), valid, settings=settings_))
    assert not valid(find(documents(), lambda d: not valid(d), settings=settings_))
