"""The web page, without a browser: valid HTML and CSS, escaped text, safe links, its CSP, a page
for every corpus file with no text lost, the fonts cover the text, and a reviewed golden file.

The browser's side (the view switch, notes, tooltips, axe, layout) is tests/test_browser.py.
"""

from __future__ import annotations

import contextlib
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
from lxml import etree, html

import edition
import external  # tests/external.py: finds the Nu checker (skips locally, fails in CI)
from edition import web
from edition.text import missing_in_order, words

REPO = Path(__file__).resolve().parents[1]
SOURCE = REPO / "sources" / "panahli-january-20.xml"
HOSTILE = REPO / "tests" / "web" / "hostile.xml"
CORPUS = sorted((REPO / "tests" / "corpus").glob("*.xml"))
STYLES = REPO / "styles"
TEI_NS = "http://www.tei-c.org/ns/1.0"

#: A 1×1 PNG, standing in for images that corpus files name but deliberately do not ship.
TINY_PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000001e221bc330000000049454e44ae426082"
)

SAFE_SCHEMES = frozenset({"", "http", "https", "mailto"})
URL_ATTRIBUTES = ("href", "src", "action", "formaction", "poster", "data", "srcset", "background")
FORBIDDEN_ELEMENTS = frozenset({"iframe", "object", "embed", "svg", "math", "style", "base", "form", "frame"})

#: What the reading view hides (screen.css), and what is not the text (tips, numbers, markers).
NOT_TEXT = ("tip", "pnum", "lnum", "noteref", "marker", "milestone")
HIDDEN_IN_VIEW = {
    "reading": ("source", "iv deletion", "iv surplus"),
    "diplomatic": ("reading", "iv supplied"),
}
AROUND_TEXT = ("notes", "apparatus", "registers", "about")


# --------------------------------------------------------------------------- helpers


def expected_warnings(source: Path) -> contextlib.AbstractContextManager[object]:
    """The warnings building ``source`` must give: unknown elements, refused links, or none."""
    if source.name.startswith("nonstrict-"):
        return pytest.warns(edition.EditionWarning, match="not an element the library knows")
    if source == HOSTILE:
        return pytest.warns(edition.EditionWarning, match=r"link target .* refused")
    return contextlib.nullcontext()


def build_page(source: Path, folder: Path) -> Path:
    """Build the web page of ``source`` in ``folder``; return its index.html.

    The TEI file is copied into ``folder/src`` first, beside a stand-in for every image it
    names that does not exist (the corpus's structure.xml names one on purpose).
    """
    copy = folder / "src" / source.name
    copy.parent.mkdir(parents=True)
    shutil.copyfile(source, copy)
    tree = etree.parse(str(source), etree.XMLParser(resolve_entities=False, no_network=True))
    for graphic in tree.iter(f"{{{TEI_NS}}}graphic"):
        url = graphic.get("url") or ""
        image = copy.parent / url
        if url and not (source.parent / url).is_file() and image.resolve().is_relative_to(copy.parent):
            image.parent.mkdir(parents=True, exist_ok=True)
            image.write_bytes(TINY_PNG)
    with expected_warnings(source):
        strict = not source.name.startswith("nonstrict-")
        result = edition.build(copy, folder / "out", formats=["html"], strict=strict)
    page = folder / "out" / "index.html"
    assert page in result.files
    return page


def parse_page(page: Path) -> html.HtmlElement:
    return html.document_fromstring(page.read_bytes())


def has_class(element: html.HtmlElement, classes: str) -> bool:
    """Whether ``element`` has every class in ``classes`` (space-separated)."""
    own = set((element.get("class") or "").split())
    return set(classes.split()) <= own


def drop(elements: Iterator[html.HtmlElement] | list[html.HtmlElement]) -> None:
    """Remove elements from their tree, keeping the text that follows each (its tail)."""
    for element in list(elements):
        if element.getparent() is not None:
            element.drop_tree()


def visible_text(page: Path, view: str) -> str:
    """The page's text as a reader of ``view`` sees it: the title, the text, nothing around it."""
    root = parse_page(page)
    body = root.body
    hidden = NOT_TEXT + HIDDEN_IN_VIEW[view]
    drop([e for e in body.iter() if isinstance(e.tag, str) and any(has_class(e, c) for c in hidden)])
    drop([e for e in body.iter("section") if e.get("id") in AROUND_TEXT])
    for header in body.find_class("title-block"):
        drop([child for child in header if child.tag != "h1"])
    drop(body.find_class("skip-link"))
    drop(body.find_class("colophon"))
    return str(body.text_content())


def unsafe_url(value: str) -> bool:
    """Whether a URL's scheme, as a browser would read it, is not one we allow."""
    probe = re.sub(r"[\x00-\x20\x7f]", "", unquote(value)).lower()
    return urlsplit(probe).scheme not in SAFE_SCHEMES or probe.startswith("//")


# --------------------------------------------------------------------------- the built pages


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The Panahli interview's web page, built once for the module."""
    return build_page(SOURCE, tmp_path_factory.mktemp("panahli"))


@pytest.fixture(scope="module")
def hostile_page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_page(HOSTILE, tmp_path_factory.mktemp("hostile"))


def test_the_page_matches_its_reviewed_golden_file(page: Path, file_regression: object) -> None:
    # Reviewed by hand: see the report of the web page's work (structure, roles, lang, ids, escaping).
    file_regression.check(page.read_text(encoding="utf-8"), extension=".html")  # type: ignore[attr-defined]


def test_building_twice_gives_the_same_page(page: Path, tmp_path: Path) -> None:
    assert build_page(SOURCE, tmp_path).read_bytes() == page.read_bytes()


@pytest.mark.slow
def test_the_nu_checker_finds_no_error_in_any_page_or_stylesheet(
    page: Path, hostile_page: Path, tmp_path: Path
) -> None:
    pages = [page, hostile_page]
    pages += [build_page(source, tmp_path / source.stem) for source in CORPUS]
    sheets = [page.parent / "assets" / "base.css", page.parent / "assets" / "screen.css"]
    messages = external.run_vnu([*pages, *sheets])
    errors = external.vnu_errors(messages)
    assert not errors, "\n".join(f"{m.get('url')}:{m.get('lastLine')}: {m.get('message')}" for m in errors)


def test_html5_text_takes_elements_out_of_any_namespace() -> None:
    # the renderers build HTML in no namespace; a tree that mixes in XHTML elements (an editor's
    # own renderer, say) must still come out as plain HTML5, void elements included
    from edition.html import XHTML_NS, h, sub, to_html

    root = h("html", {"lang": "en"})
    body = sub(root, "body")
    paragraph = etree.SubElement(body, f"{{{XHTML_NS}}}p", nsmap={None: XHTML_NS})  # type: ignore[dict-item]
    paragraph.text = "one"
    etree.SubElement(paragraph, f"{{{XHTML_NS}}}br").tail = "two"
    text = to_html(root)
    assert text == '<!DOCTYPE html>\n<html lang="en">\n<body>\n<p>one<br>two</p>\n</body>\n</html>\n'
    assert paragraph.tag == f"{{{XHTML_NS}}}p", "without consume=True the tree is left as it was"


def test_every_file_the_page_names_is_beside_it(page: Path) -> None:
    root = parse_page(page)
    named = {e.get("href") for e in root.iter("link")} | {e.get("src") for e in root.iter("script")}
    for name in named:
        assert name and (page.parent / name).is_file(), name
    css = (page.parent / "assets" / "base.css").read_text(encoding="utf-8")
    fonts = re.findall(r'url\("([^"]+)"\)', css)
    assert fonts
    for font in fonts:
        assert (page.parent / "assets" / font).is_file(), font
    assert (page.parent / "assets" / "fonts" / "OFL.txt").is_file()


# --------------------------------------------------------------------------- safety


def test_the_page_declares_a_strict_content_security_policy(page: Path) -> None:
    root = parse_page(page)
    head = root.head
    policies = head.xpath('meta[@http-equiv="Content-Security-Policy"]')
    assert len(policies) == 1
    assert head.index(policies[0]) <= 1, "the policy must come before anything it governs"
    policy = dict(part.strip().split(" ", 1) for part in policies[0].get("content").split(";"))
    assert policy["default-src"] == "'none'"
    for directive in ("script-src", "style-src", "font-src", "img-src"):
        assert policy[directive] == "'self'", directive
    assert policy["base-uri"] == "'none'" and policy["form-action"] == "'none'"
    assert "unsafe" not in policies[0].get("content")
    assert policies[0].get("content") == web.CONTENT_SECURITY_POLICY


@pytest.mark.parametrize("which", ["page", "hostile_page"])
def test_no_markup_from_the_source_becomes_live(which: str, request: pytest.FixtureRequest) -> None:
    built: Path = request.getfixturevalue(which)
    root = parse_page(built)
    scripts = list(root.iter("script"))
    assert [(s.get("src"), s.text) for s in scripts] == [("assets/edition.js", None)]
    assert not list(root.iter(*FORBIDDEN_ELEMENTS))
    pragmas = [m.get("http-equiv") for m in root.iter("meta") if m.get("http-equiv")]
    assert pragmas == ["Content-Security-Policy"]
    for element in root.iter():
        if not isinstance(element.tag, str):
            continue
        handlers = [name for name in element.attrib if name.lower().startswith("on")]
        assert not handlers, f"<{element.tag}> has event handler attributes {handlers}"
        assert "style" not in element.attrib, f"<{element.tag}> has a style attribute"
        for name in URL_ATTRIBUTES:
            value = element.get(name)
            assert value is None or not unsafe_url(value), f"<{element.tag} {name}={value!r}>"


def test_hostile_text_is_shown_as_text(hostile_page: Path) -> None:
    source = hostile_page.read_text(encoding="utf-8")
    for raw in ("<script>alert", "<img src=x", "<svg onload", "<iframe", "<style>body", "<b onclick"):
        assert raw not in source, raw
    root = parse_page(hostile_page)
    text = root.body.text_content()
    for literal in (
        '<script>alert("text")</script>',
        "<img src=x onerror=alert(1)>",
        '<a href="javascript:alert(1)">click</a>',
        "onerror= and &lt;b&gt; and &amp;,",
        '<svg onload=alert("register")>',
        '<script>alert("note")</script>',
        "<b onclick=alert(10)>",
        "<script>alert(9)</script>",
    ):
        assert literal in text, literal
    assert root.find(".//title").text.startswith('</title><script>alert("title")</script>')
    author = root.xpath('string(//meta[@name="author"]/@content)')
    assert author == 'Mallory "onmouseover=alert(1) x=" Example'
    links = {a.text_content().strip(): a.get("href") for a in root.body.iter("a") if has_class(a, "ref")}
    links.pop("one with a tab in its scheme", None)  # refused, or a harmless relative link to "java"
    assert links == {
        "a web page": "https://example.org/a?b=1&c=2",
        "an address": "mailto:someone@example.org",
        "the paragraph above": "#hostile-links",
    }
    refused = {s.text_content().strip() for s in root.body.iter("span") if has_class(s, "ref")}
    assert refused >= {
        "a javascript link",
        "a mixed-case one",
        "one with spaces before it",
        "a data link",
        "a vbscript link",
        "an escaped one",
        "a protocol-relative one",
        "a link",
    }


# --------------------------------------------------------------------------- every corpus file


@pytest.mark.parametrize("source", [SOURCE, *CORPUS], ids=lambda p: p.name)
def test_every_file_becomes_a_page_with_no_text_lost(source: Path, tmp_path: Path) -> None:
    built = build_page(source, tmp_path)
    with expected_warnings(source):
        loaded = edition.load(source, strict=not source.name.startswith("nonstrict-"))
    for view in ("reading", "diplomatic"):
        expected = words(loaded.text(view))
        assert expected, f"{source.name} has no {view} text"
        missing = missing_in_order(expected, words(visible_text(built, view)))
        assert not missing, f"{source.name} ({view}): words missing from the page, in order: {missing[:10]}"


def test_the_reading_view_is_the_default_without_script(page: Path) -> None:
    root = parse_page(page)
    assert root.get("data-view") == "reading"
    switch = root.body.find_class("view-switch")
    assert len(switch) == 1 and switch[0].get("hidden") is not None
    assert root.body.find_class("notes"), "the list of notes is in the page itself"


# --------------------------------------------------------------------------- type and styles


def font_characters() -> tuple[set[int], set[int]]:
    from fontTools.ttLib import TTFont

    fonts = {asset.target: asset.source for asset in web.font_assets()}
    with (
        TTFont(str(fonts["assets/fonts/EBGaramond.ttf"])) as roman,
        TTFont(str(fonts["assets/fonts/EBGaramond-Italic.ttf"])) as italic,
    ):
        return set(roman.getBestCmap()), set(italic.getBestCmap())


@pytest.mark.parametrize("source", [SOURCE, REPO / "tests" / "corpus" / "names.xml"], ids=lambda p: p.name)
def test_the_embedded_font_has_every_character_of_the_text(source: Path, tmp_path: Path) -> None:
    """Latin, Azerbaijani (ə, ı, ğ), Cyrillic, curly quotes, dashes, the ellipsis: all in EB Garamond.

    (Scripts EB Garamond lacks, like the Hebrew and Arabic of multilingual.xml, fall back to the
    reader's fonts glyph by glyph; the back links' ↩ too.)"""
    roman, italic = font_characters()
    root = parse_page(build_page(source, tmp_path))
    drop(root.body.find_class("backlink"))
    text = root.body.text_content() + root.find(".//title").text
    css = (STYLES / "base.css").read_text(encoding="utf-8")
    generated = "".join(re.findall(r'content: "([^"\\]+)"', css))
    characters = {ord(c) for c in text + generated if not c.isspace()}
    assert not characters - roman, sorted(chr(c) for c in characters - roman)
    assert not characters - italic, sorted(chr(c) for c in characters - italic)
    assert {ord(c) for c in "əĞğıАа“”‘’–—…⟨⟩"} <= roman


def test_base_css_stays_medium_neutral() -> None:
    """base.css is shared with the EPUB and print sheets: no colours, no backgrounds, no px."""
    css = re.sub(r"/\*.*?\*/", "", (STYLES / "base.css").read_text(encoding="utf-8"), flags=re.DOTALL)
    assert not re.search(r"\d\s*px\b", css), "px sizes belong in the media sheets"
    colour = re.compile(r"(^|[;{\s])(color|background(-color)?|border(-\w+)?-color|outline-color)\s*:", re.M)
    assert not colour.search(css), "colours belong in the media sheets"
    values = re.compile(r"#[0-9a-fA-F]{3,8}\b|\brgba?\(|\bhsla?\(")
    assert not values.search(css), "colour values belong in the media sheets"


def test_the_packaged_styles_are_the_ones_in_styles() -> None:
    for name in ("base.css", "screen.css"):
        assert web.package_file("styles", name).read_text(encoding="utf-8") == (STYLES / name).read_text(
            encoding="utf-8"
        )
