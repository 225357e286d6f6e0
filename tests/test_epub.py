"""The EPUB: structure, links, metadata, reproducibility, goldens, and the external validators.

Goldens (pytest-regressions) live in tests/epub/: the package document, the navigation
document, the NCX, the cover and every content document of the interview's EPUB, never
the zip's bytes. Accept an intended change with ``pytest tests/test_epub.py --force-regen``
and read the diff before committing it.

EPUBCheck and Ace by DAISY run through tests/external.py: a missing tool skips locally and
fails in CI.
"""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
import zipfile
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath

import pytest
from lxml import etree
from pytest_regressions.file_regression import FileRegressionFixture

import edition
import external
from edition import epub
from edition.build import source_date
from edition.errors import EditionWarning, RenderError
from edition.model import Edition, Figure, walk_blocks
from edition.text import missing_in_order, words

REPO = Path(__file__).resolve().parents[1]
INTERVIEW = REPO / "sources" / "panahli-january-20.xml"
CORPUS = sorted((REPO / "tests" / "corpus").glob("*.xml"))
GOLDENS = Path(__file__).resolve().parent / "epub"

X = "http://www.w3.org/1999/xhtml"
OPS = "http://www.idpf.org/2007/ops"
OPF = "http://www.idpf.org/2007/opf"
DC = "http://purl.org/dc/elements/1.1/"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
EPUB_TYPE = f"{{{OPS}}}type"
NS = {"x": X, "epub": OPS, "opf": OPF, "dc": DC}

#: A 1 × 1 PNG, for the figures of the corpus (structure.xml's image deliberately does not exist).
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
    "0000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)

#: The files of the interview's EPUB, in the order the zip holds them: ``mimetype`` first
#: (OCF), then what is known before the documents are rendered (compressed meanwhile), the
#: documents in reading order, then what ebooklib writes.
INTERVIEW_FILES = [
    "mimetype",
    "EPUB/assets/base.css",
    "EPUB/assets/epub.css",
    "EPUB/assets/fonts/EBGaramond.ttf",
    "EPUB/assets/fonts/EBGaramond-Italic.ttf",
    "EPUB/images/cover.svg",
    "EPUB/cover.xhtml",
    "EPUB/titlepage.xhtml",
    "EPUB/nav.xhtml",
    "EPUB/text-1.xhtml",
    "EPUB/text-2.xhtml",
    "EPUB/text-3.xhtml",
    "EPUB/apparatus.xhtml",
    "EPUB/registers.xhtml",
    "EPUB/colophon.xhtml",
    "EPUB/font-licence.xhtml",
    "META-INF/container.xml",
    "EPUB/content.opf",
    "EPUB/toc.ncx",
]

#: Documents that hold the text itself (front, body, back), as opposed to what surrounds it.
TEXT_DOCUMENT = re.compile(r"^(front|text-\d+|back)\.xhtml$")


# --------------------------------------------------------------------------- helpers


def load(path: Path) -> Edition:
    """Load a TEI file; the nonstrict-* ones load leniently and must warn."""
    if path.name.startswith("nonstrict-"):
        with pytest.warns(EditionWarning):
            return edition.load(path, strict=False)
    return edition.load(path)


def pictures(ed: Edition) -> dict[str, bytes]:
    return {b.image: PNG for b in walk_blocks(ed.divisions) if isinstance(b, Figure) and b.image}


def fixed_date(ed: Edition) -> datetime:
    """The date a build records when SOURCE_DATE_EPOCH is not set (the edition's own date)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("SOURCE_DATE_EPOCH", raising=False)
        return source_date(ed)


class Book:
    """An EPUB opened for inspection."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.zip = zipfile.ZipFile(io.BytesIO(data))
        self.opf = etree.fromstring(self.zip.read("EPUB/content.opf"))

    def text(self, name: str) -> str:
        return self.zip.read(name).decode("utf-8")

    def tree(self, file: str) -> etree._Element:
        """A document of the package, by its path inside EPUB/."""
        return etree.fromstring(self.zip.read(f"EPUB/{file}"))

    @property
    def manifest(self) -> dict[str, etree._Element]:
        return {item.get("id"): item for item in self.opf.iterfind("opf:manifest/opf:item", NS)}

    @property
    def spine(self) -> list[str]:
        """The files of the spine, in reading order."""
        manifest = self.manifest
        return [manifest[ref.get("idref")].get("href") for ref in self.itemrefs]

    @property
    def itemrefs(self) -> list[etree._Element]:
        return list(self.opf.iterfind("opf:spine/opf:itemref", NS))

    @property
    def documents(self) -> list[str]:
        """Every XHTML document of the package (the spine and the navigation document)."""
        xhtml = "application/xhtml+xml"
        return [i.get("href") for i in self.manifest.values() if i.get("media-type") == xhtml]

    def meta(self, prop: str) -> list[str]:
        return [m.text or "" for m in self.opf.iterfind(f"opf:metadata/opf:meta[@property='{prop}']", NS)]

    def dc(self, name: str) -> list[str]:
        return [e.text or "" for e in self.opf.iterfind(f"opf:metadata/dc:{name}", NS)]


def make(path: Path) -> tuple[Edition, Book]:
    ed = load(path)
    return ed, Book(epub.render_epub(ed, pictures(ed), fixed_date(ed)))


def classes(element: etree._Element) -> set[str]:
    return set((element.get("class") or "").split())


_BLOCKS = frozenset(
    {
        "p",
        "div",
        "li",
        "td",
        "th",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "section",
        "figcaption",
        "blockquote",
        "dt",
        "dd",
        "caption",
        "figure",
        "table",
        "tr",
        "ol",
        "ul",
        "dl",
        "br",
        "aside",
        "header",
        "footer",
        "nav",
    }
)
#: What is not the text: paragraph and line numbers, note references, apparatus links.
_NOT_TEXT = frozenset({"pnum", "lnum", "noteref", "app-ref"})


def reading_text(root: etree._Element) -> str:
    """The words a reader reads in a text document: no footnotes, numbers, note or apparatus links."""
    out: list[str] = []

    def walk(element: etree._Element) -> None:
        if isinstance(element.tag, str):
            local = etree.QName(element).localname
            skip = local == "aside" or bool(classes(element) & _NOT_TEXT)
            block = local in _BLOCKS and not (local == "br" and "lb-join" in classes(element))
            if block:
                out.append(" ")
            if not skip:
                out.append(element.text or "")
                for child in element:
                    walk(child)
            if block:
                out.append(" ")
        out.append(element.tail or "")

    body = root.find("x:body", NS)
    assert body is not None
    walk(body)
    return "".join(out)


def text_words(book: Book) -> list[str]:
    found: list[str] = []
    for file in book.spine:
        if TEXT_DOCUMENT.match(file):
            found += words(reading_text(book.tree(file)))
    return found


def broken_links(book: Book) -> list[str]:
    """Every link of every XHTML document (and the NCX) whose file or fragment does not exist."""
    ids: dict[str, set[str]] = {}
    trees = {file: book.tree(file) for file in book.documents}
    for file, tree in trees.items():
        ids[file] = {e.get("id") for e in tree.iter() if isinstance(e.tag, str) and e.get("id")}
    names = set(book.zip.namelist())
    problems = []
    targets = [(file, a.get("href")) for file, tree in trees.items() for a in tree.iter(f"{{{X}}}a")]
    ncx = etree.fromstring(book.zip.read("EPUB/toc.ncx"))
    targets += [("toc.ncx", c.get("src")) for c in ncx.iter("{*}content")]
    for file, href in targets:
        if href is None or href.startswith(("http:", "https:", "mailto:")):
            continue
        target, _, fragment = href.partition("#")
        target = target or file
        if f"EPUB/{target}" not in names:
            problems.append(f"{file}: {href} (no such file)")
        elif fragment and fragment not in ids.get(target, set()):
            problems.append(f"{file}: {href} (no such id)")
    return problems


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def book(interview: Edition) -> Book:
    return Book(epub.render_epub(interview, {}, fixed_date(interview)))


@pytest.fixture
def original_datadir() -> Path:
    """pytest-regressions keeps this module's goldens in tests/epub/."""
    return GOLDENS


# --------------------------------------------------------------------------- the package


def test_renderer_extends_the_html_renderer(interview: Edition) -> None:
    from edition.html import HtmlRenderer

    renderer = epub.EpubRenderer(interview)
    assert isinstance(renderer, HtmlRenderer)
    assert (renderer.medium, renderer.views) == ("epub", ("reading",))


def test_zip_holds_the_expected_files_mimetype_first_and_stored(book: Book) -> None:
    infos = book.zip.infolist()
    assert [i.filename for i in infos] == INTERVIEW_FILES
    assert infos[0].compress_type == zipfile.ZIP_STORED
    assert infos[0].extra == b""
    assert book.zip.read("mimetype") == b"application/epub+zip"
    assert all(i.compress_type == zipfile.ZIP_DEFLATED for i in infos[1:])


def test_spine_is_in_reading_order(book: Book) -> None:
    assert book.spine == [
        "cover.xhtml",
        "titlepage.xhtml",
        "nav.xhtml",
        "text-1.xhtml",
        "text-2.xhtml",
        "text-3.xhtml",
        "apparatus.xhtml",
        "registers.xhtml",
        "colophon.xhtml",
        "font-licence.xhtml",
    ]
    linear = {ref.get("idref"): ref.get("linear", "yes") for ref in book.itemrefs}
    assert linear["font-licence"] == "no"  # reached from the colophon's link only
    assert [k for k, v in linear.items() if v == "no"] == ["font-licence"]
    assert book.opf.find("opf:spine", NS).get("toc") == "ncx"


def test_metadata_comes_from_the_tei_header(book: Book, interview: Edition) -> None:
    meta = interview.metadata
    opf = book.opf
    assert opf.get(XML_LANG) == "en"
    assert opf.get("unique-identifier") == "pub-id"
    identifier = opf.find("opf:metadata/dc:identifier", NS)
    assert (identifier.get("id"), identifier.text) == ("pub-id", meta.identifier)
    assert book.dc("title") == [meta.title, meta.subtitle]
    assert book.meta("title-type") == ["main", "subtitle"]
    assert book.dc("language") == ["en"]
    assert book.dc("date") == ["2026-11-25"]
    assert book.meta("dcterms:modified") == ["2026-11-25T00:00:00Z"]
    assert book.dc("creator") == ["Salim Haqverdiyev"]
    assert book.dc("contributor") == ["The editors of the edition project", "Nemat Panahli"]
    roles = {
        m.get("refines"): (m.get("scheme"), m.text)
        for m in opf.iterfind("opf:metadata/opf:meta", NS)
        if m.get("property") == "role"
    }
    assert roles == {
        "#creator-1": ("marc:relators", "aut"),
        "#contributor-1": ("marc:relators", "edt"),
        "#contributor-2": ("marc:relators", "ive"),
    }
    assert book.dc("publisher") == ["The edition project"]
    assert book.dc("source") == [meta.source]
    assert book.dc("rights") == [meta.licence]
    assert book.dc("description") == [meta.abstract]
    assert book.dc("subject") == list(meta.subjects)


def test_accessibility_metadata(book: Book) -> None:
    assert book.meta("schema:accessMode") == ["textual"]
    assert book.meta("schema:accessModeSufficient") == ["textual"]
    features = book.meta("schema:accessibilityFeature")
    assert {"structuralNavigation", "tableOfContents", "readingOrder", "index"} <= set(features)
    assert "alternativeText" not in features  # the interview has no images
    assert book.meta("schema:accessibilityHazard") == ["none"]
    (summary,) = book.meta("schema:accessibilitySummary")
    assert "footnotes" in summary and "apparatus" in summary
    assert book.meta("dcterms:conformsTo") == ["EPUB Accessibility 1.1 - WCAG 2.2 Level AA"]
    assert book.meta("a11y:certifiedBy") == ["The edition project"]


def test_figures_with_descriptions_claim_alternative_text() -> None:
    _, book = make(REPO / "tests" / "corpus" / "structure.xml")
    assert book.meta("schema:accessMode") == ["textual", "visual"]
    assert "alternativeText" in book.meta("schema:accessibilityFeature")
    (figure,) = [i for i in book.manifest.values() if i.get("href").startswith("images/figure-")]
    assert (figure.get("href"), figure.get("media-type")) == ("images/figure-1.png", "image/png")
    images = [img for file in book.spine for img in book.tree(file).iter(f"{{{X}}}img")]
    assert [img.get("src") for img in images] == ["images/cover.svg", "images/figure-1.png"]
    assert all(img.get("alt") for img in images)


def test_cover_is_listed_as_the_cover(book: Book) -> None:
    cover = book.manifest["cover-image"]
    assert (cover.get("href"), cover.get("media-type"), cover.get("properties")) == (
        "images/cover.svg",
        "image/svg+xml",
        "cover-image",
    )
    assert book.opf.find("opf:metadata/opf:meta[@name='cover']", NS).get("content") == "cover-image"
    svg = etree.fromstring(book.zip.read("EPUB/images/cover.svg"))
    assert "Memories of" in "".join(svg.itertext())
    (image,) = book.tree("cover.xhtml").iter(f"{{{X}}}img")
    assert image.get("src") == "images/cover.svg"
    assert image.get("alt").startswith("Cover: Memories of January 20")
    assert (image.get(EPUB_TYPE), image.get("role")) == ("cover", "doc-cover")


def test_nav_document_has_contents_and_landmarks(book: Book) -> None:
    assert book.manifest["nav"].get("properties") == "nav"
    nav = book.tree("nav.xhtml")
    toc = nav.find(".//x:nav[@epub:type='toc']", NS)
    top = [(a.text, a.get("href")) for a in toc.iterfind("x:ol/x:li/x:a", NS)]
    assert top == [
        ("Title page", "titlepage.xhtml"),
        ("Memories of January 20: “We Knew the Army Would Enter Baku…”", "text-1.xhtml"),
        ("What might have happened if barricades had not been set up in Baku?", "text-2.xhtml"),
        ("“We were fooled, thought that again we’d be dispersed with clubs”", "text-3.xhtml"),
        ("Apparatus of interventions", "apparatus.xhtml"),
        ("Registers", "registers.xhtml"),
        ("About this edition", "colophon.xhtml"),
    ]
    landmarks = nav.find(".//x:nav[@epub:type='landmarks']", NS)
    assert landmarks.get("hidden") == "hidden"
    assert [(a.get(EPUB_TYPE), a.get("href")) for a in landmarks.iter(f"{{{X}}}a")] == [
        ("cover", "cover.xhtml"),
        ("titlepage", "titlepage.xhtml"),
        ("toc", "nav.xhtml#toc"),
        ("bodymatter", "text-1.xhtml"),
        ("appendix", "apparatus.xhtml"),
        ("index", "registers.xhtml"),
        ("colophon", "colophon.xhtml"),
    ]


def test_ncx_mirrors_the_contents(book: Book) -> None:
    ncx = etree.fromstring(book.zip.read("EPUB/toc.ncx"))
    ns = {"n": "http://www.daisy.org/z3986/2005/ncx/"}
    assert ncx.find("n:head/n:meta[@name='dtb:uid']", ns).get("content") == book.dc("identifier")[0]
    points = ncx.findall(".//n:navPoint", ns)
    assert [int(p.get("playOrder")) for p in points] == list(range(1, len(points) + 1))
    nav = book.tree("nav.xhtml").find(".//x:nav[@epub:type='toc']", NS)
    sources = [p.find("n:content", ns).get("src") for p in points]
    assert sources == [a.get("href") for a in nav.iter(f"{{{X}}}a")]


def test_every_content_document_is_xhtml_with_language(book: Book) -> None:
    for file in book.documents:
        raw = book.zip.read(f"EPUB/{file}")
        assert raw.startswith(b'<?xml version="1.0" encoding="utf-8"?>\n<!DOCTYPE html>\n'), file
        root = etree.fromstring(raw)
        assert root.tag == f"{{{X}}}html"
        assert (root.get("lang"), root.get(XML_LANG)) == ("en", "en"), file
        assert root.nsmap.get("epub") == OPS, file
        assert (root.findtext("x:head/x:title", namespaces=NS) or "").strip(), file
        for element in root.iter():
            if isinstance(element.tag, str) and element.get("lang") is not None:
                assert element.get(XML_LANG) == element.get("lang"), (file, etree.tostring(element)[:80])


def test_foreign_words_carry_their_language(book: Book) -> None:
    langs = {
        (e.get("lang"), "".join(e.itertext()))
        for file in book.spine
        for e in book.tree(file).iter()
        if isinstance(e.tag, str) and e.get("lang") and etree.QName(e).localname != "html"
    }
    assert ("az", "Azadlıq") in langs
    assert ("ru", "перестройка") in langs


# --------------------------------------------------------------------------- the text


def test_every_word_of_the_reading_view_in_order(interview: Edition, book: Book) -> None:
    expected = words(interview.text("reading"))
    found = text_words(book)
    assert missing_in_order(expected, found) == []
    assert len(found) >= len(expected)


def test_one_document_per_top_level_division(book: Book) -> None:
    heads = {
        file: [h.text for h in book.tree(file).iter(f"{{{X}}}h1", f"{{{X}}}h2")]
        for file in ("text-1.xhtml", "text-2.xhtml", "text-3.xhtml")
    }
    first = [e.get("id") for e in book.tree("text-1.xhtml").iterfind("x:body/*", NS)]
    assert first[:2] == ["title", None]
    assert book.tree("text-2.xhtml").find("x:body/x:section", NS).get("id") == "barricades"
    assert book.tree("text-3.xhtml").find("x:body/x:section", NS).get("id") == "fooled"
    # the byline after the last division stays with it
    assert book.tree("text-3.xhtml").find(".//x:p[@class='byline']", NS) is not None
    assert all(heads.values())


def test_footnotes_live_beside_their_references(interview: Edition, book: Book) -> None:
    seen = []
    for file in book.spine:
        tree = book.tree(file)
        for ref in tree.iterfind(".//x:a[@epub:type='noteref']", NS):
            assert ref.get("role") == "doc-noteref"
            href = ref.get("href")
            assert href.startswith("#note-"), href
            (aside,) = tree.iterfind(f".//x:aside[@id='{href[1:]}']", NS)
            assert (aside.get(EPUB_TYPE), aside.get("role")) == ("footnote", "doc-footnote")
            note = interview.note(href.removeprefix("#note-"))
            assert ref.findtext("x:sup", namespaces=NS) == note.label
            assert aside.findtext(".//x:span[@class='note-label']", namespaces=NS) == note.label
            (back,) = aside.iterfind(".//x:a[@role='doc-backlink']", NS)
            assert back.get("href") == f"#{ref.get('id')}"
            assert aside.getparent().get(EPUB_TYPE) == "footnotes"
            seen.append(note.id)
    assert seen == [note.id for note in interview.notes]  # every note, once, in order


def test_interventions_link_to_the_apparatus_and_back(interview: Edition, book: Book) -> None:
    holder = {}
    for file in book.spine:
        for element in book.tree(file).iter():
            if isinstance(element.tag, str) and "iv" in classes(element):
                holder[element.get("id")] = (file, element)
    apparatus = book.tree("apparatus.xhtml")
    for item in interview.interventions:
        file, element = holder[item.id]
        assert item.kind.value in classes(element)
        target = f"apparatus.xhtml#app-{item.id}"
        links = [a for a in book.tree(file).iter(f"{{{X}}}a") if a.get("href") == target]
        assert len(links) == 1 and "app-ref" in classes(links[0]), item.id
        assert links[0].get("aria-label").startswith("Apparatus: ")
        (row,) = apparatus.iterfind(f".//x:tr[@id='app-{item.id}']", NS)
        assert row.find(".//x:a[@class='app-place']", NS).get("href") == f"{file}#{item.id}"


def test_an_intervention_inside_a_name_link_is_linked_after_it(book: Book) -> None:
    # "Azeerbaiajn" corrected inside <placeName>: the apparatus link cannot nest in the name's link
    tree = book.tree("text-2.xhtml")
    (wrapper,) = tree.iterfind(".//x:span[@id='i-azerbaijan']", NS)
    mention = wrapper.getparent()
    assert etree.QName(mention).localname == "a" and "mention" in classes(mention)
    following = mention.getnext()
    assert following.get("href") == "apparatus.xhtml#app-i-azerbaijan"
    assert not list(mention.iter(f"{{{X}}}a"))[1:]  # no link inside the link


def test_no_broken_links(book: Book) -> None:
    assert broken_links(book) == []


def test_links_name_the_document_that_holds_their_target(book: Book) -> None:
    text1 = book.tree("text-1.xhtml")
    hrefs = {a.get("href") for a in text1.iter(f"{{{X}}}a")}
    assert "registers.xhtml#reg-baku" in hrefs
    assert "#p01" in hrefs  # a paragraph's own number links inside its document
    registers = book.tree("registers.xhtml")
    assert registers.find(".//x:a[@href='text-2.xhtml#m21']", NS) is not None


# --------------------------------------------------------------------------- reproducibility


def test_two_builds_are_byte_identical(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    first = edition.build(INTERVIEW, tmp_path / "a", formats="epub")
    second = edition.build(INTERVIEW, tmp_path / "b", formats="epub")
    (a,), (b,) = first.files, second.files
    assert a.name == "panahli-january-20.epub"
    assert a.read_bytes() == b.read_bytes()


def test_builds_in_separate_processes_are_byte_identical(tmp_path: Path) -> None:
    """Different hash seeds (set and dict order of strings) and a different clock: same bytes."""
    script = (
        "import sys, edition; from edition import epub; from edition.build import source_date\n"
        "ed = edition.load(sys.argv[1])\n"
        "sys.stdout.buffer.write(epub.render_epub(ed, {}, source_date(ed)))\n"
    )
    outputs = []
    for seed in ("1", "2"):
        env = {k: v for k, v in os.environ.items() if k != "SOURCE_DATE_EPOCH"} | {"PYTHONHASHSEED": seed}
        run = subprocess.run(
            [sys.executable, "-c", script, str(INTERVIEW)],
            capture_output=True,
            env=env,
            check=True,
            timeout=120,
        )
        outputs.append(run.stdout)
    assert outputs[0] == outputs[1]
    assert outputs[0].startswith(b"PK")


def test_zip_timestamps_come_from_the_source_date(book: Book) -> None:
    assert {i.date_time for i in book.zip.infolist()} == {(2026, 11, 25, 0, 0, 0)}
    assert {(i.create_system, i.external_attr >> 16) for i in book.zip.infolist()} == {(3, 0o100644)}


def test_source_date_epoch_sets_the_modification_date(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000001")  # 2023-11-14 22:13:21 UTC
    (path,) = edition.build(INTERVIEW, tmp_path, formats="epub").files
    built = Book(path.read_bytes())
    assert built.meta("dcterms:modified") == ["2023-11-14T22:13:21Z"]
    assert built.dc("date") == ["2026-11-25"]  # the edition's own date is not the file's
    assert {i.date_time for i in built.zip.infolist()} == {(2023, 11, 14, 22, 13, 20)}


def test_dates_outside_what_zip_can_hold_are_clamped(interview: Edition) -> None:
    early = Book(epub.render_epub(interview, {}, datetime(1970, 1, 1, tzinfo=UTC)))
    assert early.meta("dcterms:modified") == ["1970-01-01T00:00:00Z"]
    assert {i.date_time for i in early.zip.infolist()} == {(1980, 1, 1, 0, 0, 0)}


# --------------------------------------------------------------------------- goldens


GOLDEN_FILES = [
    ("EPUB/content.opf", "content", ".opf"),
    ("EPUB/nav.xhtml", "nav", ".xhtml"),
    ("EPUB/toc.ncx", "toc", ".ncx"),
    ("EPUB/images/cover.svg", "cover", ".svg"),
    *(
        (f"EPUB/{name}.xhtml", name, ".xhtml")
        for name in (
            "cover",
            "titlepage",
            "text-1",
            "text-2",
            "text-3",
            "apparatus",
            "registers",
            "colophon",
            "font-licence",
        )
    ),
]


@pytest.mark.parametrize(
    ("member", "basename", "extension"), GOLDEN_FILES, ids=[PurePosixPath(m).name for m, _, _ in GOLDEN_FILES]
)
def test_golden(
    book: Book, file_regression: FileRegressionFixture, member: str, basename: str, extension: str
) -> None:
    file_regression.check(
        book.text(member), basename=f"interview-{basename}", extension=extension, newline="\n"
    )


# --------------------------------------------------------------------------- style sheet


def test_style_sheet_leaves_size_and_colour_to_the_reader() -> None:
    css = (REPO / "styles" / "epub.css").read_text(encoding="utf-8")
    rules = re.sub(r"/\*.*?\*/", "", css, flags=re.S)
    assert "!important" not in rules
    assert not re.search(r"\d\s*px\b", rules), "no pixel sizes"
    assert not re.search(r"(?<![-\w])(color|background(-color)?)\s*:", rules), "no forced colours"
    fonts = re.findall(r"url\(\"([^\"]+)\"\)", rules)
    assert fonts == ["fonts/EBGaramond.ttf", "fonts/EBGaramond-Italic.ttf"]


def test_book_carries_base_css_and_the_font(book: Book) -> None:
    base = (REPO / "styles" / "base.css").read_bytes()
    assert book.zip.read("EPUB/assets/base.css") == base
    assert book.zip.read("EPUB/assets/epub.css") == (REPO / "styles" / "epub.css").read_bytes()
    fonts = {
        i.get("href"): i.get("media-type") for i in book.manifest.values() if i.get("href").endswith(".ttf")
    }
    assert fonts == {
        "assets/fonts/EBGaramond.ttf": "font/ttf",
        "assets/fonts/EBGaramond-Italic.ttf": "font/ttf",
    }
    licence = "".join(book.tree("font-licence.xhtml").itertext())
    assert "SIL OPEN FONT LICENSE" in licence.upper()


# --------------------------------------------------------------------------- errors


def test_a_packaging_failure_is_a_render_error(interview: Edition, monkeypatch: pytest.MonkeyPatch) -> None:
    from ebooklib import epub as ebooklib_epub

    def broken(*args: object, **kwargs: object) -> None:
        raise ValueError("boom")

    monkeypatch.setattr(ebooklib_epub, "write_epub", broken)
    with pytest.raises(RenderError, match="could not package the EPUB: ValueError: boom"):
        epub.render_epub(interview, {}, fixed_date(interview))


def test_a_write_error_inside_ebooklib_is_a_render_error_without_its_warning(
    interview: Edition, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ebooklib import epub as ebooklib_epub

    def full(self: object) -> None:
        raise OSError(28, "No space left on device")

    # ebooklib warns before it re-raises an OSError; under filterwarnings=error that warning
    # must not replace the error.
    monkeypatch.setattr(ebooklib_epub.EpubWriter, "write", full)
    with pytest.raises(RenderError, match="No space left on device"):
        epub.render_epub(interview, {}, fixed_date(interview))


def test_an_image_the_epub_cannot_carry_is_refused() -> None:
    ed = load(REPO / "tests" / "corpus" / "structure.xml")
    (image,) = pictures(ed)
    with pytest.raises(RenderError, match="not PNG, JPEG, GIF, WebP or SVG"):
        epub.render_epub(ed, {image: b"BM\x00\x00 a bitmap"}, fixed_date(ed))
    with pytest.raises(RenderError, match="was not supplied"):
        epub.render_epub(ed, {}, fixed_date(ed))


# --------------------------------------------------------------------------- the corpus


@pytest.mark.parametrize("path", CORPUS, ids=[p.stem for p in CORPUS])
def test_corpus_books_are_complete_and_linked(path: Path) -> None:
    ed, book = make(path)
    assert broken_links(book) == []
    assert missing_in_order(words(ed.text("reading")), text_words(book)) == []
    asides = [a.get("id") for f in book.spine for a in book.tree(f).iterfind(".//x:aside", NS)]
    assert asides == [f"note-{note.id}" for note in ed.notes]
    assert book.meta("dcterms:conformsTo") == ["EPUB Accessibility 1.1 - WCAG 2.2 Level AA"]


def test_front_and_back_matter_have_their_own_documents() -> None:
    _, book = make(REPO / "tests" / "corpus" / "structure.xml")
    assert book.spine[3:6] == ["front.xhtml", "text-1.xhtml", "back.xhtml"]
    assert book.tree("front.xhtml").find("x:body", NS).get(EPUB_TYPE) == "frontmatter"
    assert book.tree("back.xhtml").find("x:body", NS).get(EPUB_TYPE) == "backmatter"
    nav = book.tree("nav.xhtml").find(".//x:nav[@epub:type='toc']", NS)
    nested = nav.findall("x:ol/x:li/x:ol//x:a", NS)
    assert nested and all("#" in a.get("href") for a in nested)  # nested divisions, by their ids


# --------------------------------------------------------------------------- external validators


@pytest.mark.slow
def test_epubcheck_passes_the_interview(book: Book, tmp_path: Path) -> None:
    path = tmp_path / "interview.epub"
    path.write_bytes(book.data)
    result = external.run_epubcheck(path)
    assert (result["fatal"], result["error"], result["warning"]) == (0, 0, 0), result["problems"]


@pytest.mark.slow
@pytest.mark.parametrize("path", CORPUS, ids=[p.stem for p in CORPUS])
def test_epubcheck_passes_the_corpus(path: Path, tmp_path: Path) -> None:
    _, book = make(path)
    target = tmp_path / f"{path.stem}.epub"
    target.write_bytes(book.data)
    result = external.run_epubcheck(target)
    assert (result["fatal"], result["error"], result["warning"]) == (0, 0, 0), result["problems"]


@pytest.mark.slow
@pytest.mark.browser
@pytest.mark.parametrize("name", ["interview", "structure", "multilingual"])
def test_ace_finds_no_serious_or_critical_violation(name: str, book: Book, tmp_path: Path) -> None:
    data = book.data if name == "interview" else make(REPO / "tests" / "corpus" / f"{name}.xml")[1].data
    path = tmp_path / f"{name}.epub"
    path.write_bytes(data)
    result = external.run_ace(path, tmp_path / "ace")
    found = {
        impact: [(v["rule"], v["file"]) for v in result["violations"].get(impact, [])]
        for impact in ("critical", "serious")
    }
    assert found == {"critical": [], "serious": []}, result["violations"]
    # Ace's own package checks: the metadata it asks for is there.
    rules = [v["rule"] for found in result["violations"].values() for v in found]
    assert not [rule for rule in rules if rule.startswith(("metadata-", "epub-"))], rules


# --------------------------------------------------------------------------- links across documents


class _TwoPasses(epub.EpubRenderer):
    """Renders every document twice, the ids known the second time (what one pass must equal)."""

    def visit_Link(self, node: object, parent: etree._Element) -> None:  # type: ignore[override]
        if not self.resolved:
            self.link_targets.append("an id no document has")  # forces the second pass
        super().visit_Link(node, parent)  # type: ignore[arg-type]


def _documents(renderer_class: type[epub.EpubRenderer], book: Edition) -> dict[str, bytes]:
    return renderer_class(book, pictures(book)).render()


def test_one_pass_links_across_documents_as_two_passes_do(tmp_path: Path, interview: Edition) -> None:
    """Links are written ``#id`` and pointed at their document afterwards: the same documents as
    rendering twice. A link to an id no document holds (here, the header's) keeps only its words."""
    source = (REPO / "tests" / "corpus" / "structure.xml").read_text(encoding="utf-8")
    source = source.replace("<title>The Structure", '<title xml:id="the-title">The Structure')
    source = source.replace(
        "the next paragraph</ref> shows.",
        'the next paragraph</ref> shows, as does <ref target="#appendix-p1">the appendix</ref> and '
        '<ref target="#the-title">the title</ref>.',
    )
    path = tmp_path / "structure.xml"
    path.write_text(source, encoding="utf-8")
    linked = edition.load(path)
    for book, fallback in ((linked, True), (interview, False)):
        once = epub.EpubRenderer(book, pictures(book))
        documents = once.render()
        assert documents == _documents(_TwoPasses, book)
        assert (not all(t in once.anchors for t in once.link_targets)) == fallback
    text = b"".join(_documents(epub.EpubRenderer, linked).values()).decode("utf-8")
    assert re.search(r'<a class="ref" href="back-?[0-9]*\.xhtml#appendix-p1">the appendix</a>', text), text
    assert '<span class="ref">the title</span>' in text
    assert 'href="#s1-p2">the next paragraph</a>' in text
