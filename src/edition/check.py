"""``edition check``: prove from the built files that the web page, the EPUB and the PDF agree.

Nothing here looks at the TEI or the model: each output is read back as a reader's software
would read it (the HTML page, the EPUB's XHTML and package, the PDF's text from
``pdftotext`` and its structure from pikepdf) and the three are compared:

* the reading text, word for word and in order;
* the notes: the same number, labels and text; linked to their reference and back (web,
  EPUB); on the page of their reference (PDF);
* the interventions: each in all three, the edited reading in the text, the reading of
  the source in the apparatus; every name links to its register entry (web, EPUB);
* the metadata: title, author, language, identifier, date and rights;
* citations: the same paragraph numbers and anchors, and the same print page breaks.
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from lxml import etree, html

from edition.errors import EditionError
from edition.html import local_name
from edition.inspect import (
    PdfFacts,
    dehyphenate,
    fold_hyphens,
    pdf_facts,
    pdftotext,
    without_markers,
)
from edition.pages import NOT_RUNNING_TEXT
from edition.text import missing_in_order, split_note_calls, words

XHTML = "http://www.w3.org/1999/xhtml"
OPS = "http://www.idpf.org/2007/ops"
OPF = "http://www.idpf.org/2007/opf"
DC = "http://purl.org/dc/elements/1.1/"
EPUB_TYPE = f"{{{OPS}}}type"
#: Classes whose text is not the reading text: notes and tooltips, numbers, markers.
SKIP_IN_TEXT = NOT_RUNNING_TEXT | {
    "marker",
    "milestone",
    "footnote",
    "deletion",  # the reading view hides deletions and surplus text (shown in the diplomatic view)
    "surplus",
    "footnotes",
    "note-label",
    "resp",
    "backlink",
}


@dataclass(frozen=True, slots=True)
class Finding:
    """One line of the report."""

    ok: bool
    topic: str
    message: str

    def __str__(self) -> str:
        return f"{'ok  ' if self.ok else 'FAIL'} {self.topic}: {self.message}"


@dataclass
class Report:
    """What agrees and what does not."""

    folder: Path
    findings: list[Finding] = field(default_factory=list)

    def add(self, ok: bool, topic: str, message: str) -> None:
        self.findings.append(Finding(ok, topic, message))

    @property
    def ok(self) -> bool:
        return all(f.ok for f in self.findings)

    def failures(self, topic: str | None = None) -> list[Finding]:
        return [f for f in self.findings if not f.ok and (topic is None or f.topic == topic)]

    def __str__(self) -> str:
        verdict = "all outputs agree" if self.ok else f"{len(self.failures())} disagreement(s)"
        return "\n".join([*map(str, self.findings), f"{self.folder}: {verdict}"])


# ------------------------------------------------------------------ reading the outputs


def _classes(element: etree._Element) -> set[str]:
    return set((element.get("class") or "").split())


def _text(element: etree._Element, skip: frozenset[str] | set[str] = SKIP_IN_TEXT) -> str:
    """Text of an element, leaving out subtrees with a class in ``skip`` (and hidden source readings)."""
    parts: list[str] = []

    def visit(node: etree._Element) -> None:
        if node.text:
            parts.append(node.text)
        for child in node:
            if (
                isinstance(child.tag, str)
                and not (_classes(child) & skip)
                and child.get(EPUB_TYPE) != "footnote"
            ):
                visit(child)
            if child.tail:
                parts.append(child.tail)

    visit(element)
    return "".join(parts)


@dataclass
class Output:
    """What one output says, in the same shape for all three."""

    name: str
    text: list[str] = field(default_factory=list)
    """Words of the reading text, in order."""
    notes: dict[str, tuple[str, list[str]]] = field(default_factory=dict)
    """Note id → (label, words of its text)."""
    interventions: set[str] = field(default_factory=set)
    apparatus: dict[str, tuple[str, str]] = field(default_factory=dict)
    """Intervention id → (as found, edited) from the apparatus."""
    paragraphs: dict[str, str] = field(default_factory=dict)
    """Paragraph id → its number."""
    pages: dict[int, str] = field(default_factory=dict)
    """Print page → the first words after its marker."""
    metadata: dict[str, set[str]] = field(default_factory=dict)
    broken_links: list[str] = field(default_factory=list)


def _by_class(root: etree._Element, name: str) -> Iterator[etree._Element]:
    for element in root.iter():
        if isinstance(element.tag, str) and name in _classes(element):
            yield element


def _all_text(element: etree._Element) -> str:
    return "".join(str(t) for t in element.itertext())


def _paragraphs(root: etree._Element) -> dict[str, str]:
    """Paragraph id → its visible number."""
    found: dict[str, str] = {}
    for number in _by_class(root, "pnum"):
        paragraph = number.getparent()
        if paragraph is not None:
            found[paragraph.get("id", "")] = _all_text(number)
    return found


def _page_words(root: etree._Element) -> dict[int, str]:
    """Words that follow each print page marker (up to the end of its block)."""
    found: dict[int, str] = {}
    for marker in root.iter():
        if not isinstance(marker.tag, str) or not (marker.get("id") or "").startswith("page-"):
            continue
        if "page-marker" not in _classes(marker) and marker.get(EPUB_TYPE) != "pagebreak":
            continue
        page = int(marker.get("id", "page-0")[5:])
        parts = [marker.tail or ""]
        node: etree._Element | None = marker
        while node is not None and len(" ".join(parts).split()) < 12:
            sibling = node.getnext()
            while sibling is not None and len(" ".join(parts).split()) < 12:
                if not (_classes(sibling) & SKIP_IN_TEXT):
                    parts.append(_text(sibling))
                parts.append(sibling.tail or "")
                sibling = sibling.getnext()
            node = node.getparent()
            if node is None or local_name(node) in {"p", "div", "h1", "h2", "h3", "section", "body"}:
                break
            parts.append(node.tail or "")
        found[page] = " ".join(words("".join(parts))[:6])
    return found


def read_web(path: Path) -> Output:
    out = Output("web page")
    root = html.parse(str(path)).getroot()
    title = root.find(".//h1")
    article = root.find(".//article")
    if article is None or title is None:
        raise EditionError("the web page has no article or title", path=path)
    out.text = words(_text(title) + "\n" + _text(article))
    for item in root.iterfind(".//ol[@class='notes']/li"):
        out.notes[item.get("id", "")[5:]] = (
            item.get("data-label") or item.get("value", ""),
            words(_text(item)),
        )
    ids = {element.get("id") for element in root.iter() if isinstance(element.tag, str) and element.get("id")}
    for link in root.iter("a"):
        href = link.get("href") or ""
        if href.startswith("#") and href[1:] not in ids:
            out.broken_links.append(f"{href} (from {link.get('id') or link.text_content()[:20]!r})")
    for link in _by_class(root, "noteref"):
        note = (link.get("href") or "")[6:]
        back = root.find(f".//li[@id='note-{note}']/a[@class='backlink']")
        if back is None or back.get("href") != f"#{link.get('id')}":
            out.broken_links.append(f"note {note}: no link back to its reference")
    out.interventions = {e.get("id", "") for e in root.iter() if "iv" in _classes(e) and e.get("id")}
    for row in root.iterfind(".//table[@class='apparatus']/tbody/tr"):
        cells = {_classes(td).pop() if _classes(td) else "": td.text_content() for td in row.iter("td")}
        out.apparatus[row.get("id", "")[4:]] = (cells.get("found", ""), cells.get("edited", ""))
    out.paragraphs = _paragraphs(article)
    out.pages = _page_words(root)
    head = root.find("head")
    assert head is not None
    meta: dict[str, set[str]] = {}
    for element in head.iter("meta"):
        name, content = element.get("name"), element.get("content")
        if name and content:
            meta.setdefault(name, set()).add(content)
    out.metadata = {
        "title": meta.get("dcterms.title", set()),
        "author": meta.get("dcterms.creator", set()),
        "language": {root.get("lang", "")},
        "identifier": meta.get("dcterms.identifier", set()),
        "date": meta.get("dcterms.date", set()),
        "rights": meta.get("dcterms.rights", set()),
    }
    return out


def read_epub(path: Path) -> Output:
    out = Output("EPUB")
    try:
        book = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as error:
        raise EditionError(f"not a readable EPUB: {error}", path=path) from None
    with book:
        container = etree.fromstring(book.read("META-INF/container.xml"))
        opf_path = container.find(".//{*}rootfile").get("full-path")  # type: ignore[union-attr]
        assert opf_path
        opf = etree.fromstring(book.read(opf_path))
        folder = PurePosixPath(opf_path).parent
        manifest = {item.get("id"): item.get("href") for item in opf.iterfind(f".//{{{OPF}}}item")}
        spine = [manifest[ref.get("idref")] for ref in opf.iterfind(f".//{{{OPF}}}itemref")]
        documents = {href: etree.fromstring(book.read(str(folder / href))) for href in spine if href}
    ids: set[str] = set()
    for href, tree in documents.items():
        ids.update(f"{href}#{e.get('id')}" for e in tree.iter() if isinstance(e.tag, str) and e.get("id"))
    for href, tree in documents.items():
        body = tree.find(f"{{{XHTML}}}body")
        if body is None:
            continue
        if "edition-text" in _classes(body):
            out.text += words(_text(body))
            out.paragraphs.update(_paragraphs(body))
            out.pages.update(_page_words(body))
        for aside in body.iter(f"{{{XHTML}}}aside"):
            if aside.get(EPUB_TYPE) == "footnote":
                label = next((e.text or "" for e in _by_class(aside, "note-label")), "")
                out.notes[aside.get("id", "")[5:]] = (label, words(_text(aside)))
                back = next(_by_class(aside, "backlink"), None)
                target = (
                    f"{href}{back.get('href')}"
                    if back is not None and (back.get("href") or "").startswith("#")
                    else (back.get("href") if back is not None else "")
                )
                if not target or target.split("#")[-1] != f"noteref-{aside.get('id', '')[5:]}":
                    out.broken_links.append(f"{href}#{aside.get('id')}: no link back to its reference")
        for element in body.iter():
            if isinstance(element.tag, str) and "iv" in _classes(element) and element.get("id"):
                out.interventions.add(element.get("id", ""))
            raw = (element.get("href") or "") if local_name(element) == "a" else ""
            if raw and "://" not in raw:
                target = f"{href}{raw}" if raw.startswith("#") else raw
                if "#" in target and target not in ids:
                    out.broken_links.append(f"{href}: link to {raw}")
        for row in body.iter(f"{{{XHTML}}}tr"):
            if (row.get("id") or "").startswith("app-"):
                cells = {next(iter(_classes(td)), ""): _all_text(td) for td in row if local_name(td) == "td"}
                out.apparatus[row.get("id", "")[4:]] = (cells.get("found", ""), cells.get("edited", ""))
    metadata = opf.find(f"{{{OPF}}}metadata")
    assert metadata is not None

    def dc(name: str) -> set[str]:
        return {" ".join((e.text or "").split()) for e in metadata.iterfind(f"{{{DC}}}{name}")}

    unique = opf.get("unique-identifier")
    identifiers = {e.text or "" for e in metadata.iterfind(f"{{{DC}}}identifier") if e.get("id") == unique}
    titles = [" ".join((e.text or "").split()) for e in metadata.iterfind(f"{{{DC}}}title")]
    out.metadata = {
        "title": set(titles[:1]),
        "author": dc("creator"),
        "language": dc("language"),
        "identifier": identifiers,
        "date": dc("date"),
        "rights": dc("rights"),
    }
    return out


def read_pdf(path: Path) -> tuple[Output, PdfFacts, list[str]]:
    facts = pdf_facts(path)
    pages = pdftotext(path)
    out = Output("PDF")
    out.text = fold_hyphens(split_note_calls(words(without_markers(dehyphenate("\n".join(pages))))))
    out.metadata = {
        "title": {facts.info.get("Title", "")}
        | ({facts.xmp["dc:title"]} if "dc:title" in facts.xmp else set()),
        "author": {a.strip() for a in facts.info.get("Author", "").split(",") if a.strip()},
        "language": {facts.language or ""}
        | ({facts.xmp["dc:language"]} if "dc:language" in facts.xmp else set()),
        "identifier": {facts.xmp.get("dc:identifier", "")},
        "date": {facts.xmp.get("dc:date", "")},
        "rights": {facts.xmp.get("dc:rights", "")},
    }
    return out, facts, pages


# ------------------------------------------------------------------ comparing


def _first(items: Iterable[str], n: int = 3) -> str:
    return ", ".join(list(items)[:n])


def check_folder(folder: str | Path) -> Report:
    """Read the outputs in ``folder`` (``index.html``, ``<stem>.epub``, ``<stem>.pdf``) and compare them."""
    folder = Path(folder)
    report = Report(folder)
    page = folder / "index.html"
    epubs, pdfs = sorted(folder.glob("*.epub")), sorted(folder.glob("*.pdf"))
    missing = [
        n for n, found in (("index.html", page.is_file()), ("*.epub", epubs), ("*.pdf", pdfs)) if not found
    ]
    if missing:
        raise EditionError(
            f"{folder} lacks {', '.join(missing)}",
            path=folder,
            hint="build all three formats first: edition build --format html,pdf,epub",
        )
    web, epub = read_web(page), read_epub(epubs[0])
    pdf, facts, pdf_pages = read_pdf(pdfs[0])
    _compare_text(report, web, epub, pdf)
    _compare_notes(report, web, epub, facts, pdf_pages)
    _compare_interventions(report, web, epub, facts, pdf_pages)
    for output in (web, epub):
        broken = output.broken_links
        report.add(
            not broken,
            "links",
            f"{output.name}: "
            + (f"{len(broken)} broken: {_first(broken)}" if broken else "every internal link has its target"),
        )
    _compare_metadata(report, web, epub, pdf)
    _compare_citations(report, web, epub, facts, pdf_pages, folder)
    return report


def _compare_text(report: Report, web: Output, epub: Output, pdf: Output) -> None:
    lost = missing_in_order(web.text, epub.text)
    extra = missing_in_order(epub.text, web.text)
    report.add(
        not lost and not extra,
        "text",
        f"the web page and the EPUB have the same {len(web.text):,} words in order"
        if not lost and not extra
        else f"EPUB lacks {len(lost)} word(s) of the web page ({_first(w for _, w in lost)}) and has "
        f"{len(extra)} it lacks ({_first(w for _, w in extra)})",
    )
    lost_in_pdf = missing_in_order(fold_hyphens(split_note_calls(web.text)), pdf.text)
    report.add(
        not lost_in_pdf,
        "text",
        "the PDF has every word of the web page's text, in order"
        if not lost_in_pdf
        else f"the PDF lacks {len(lost_in_pdf)} word(s) of the web page's text, e.g. "
        f"{_first(f'{w!r} (word {i + 1})' for i, w in lost_in_pdf)}",
    )


def _compare_notes(report: Report, web: Output, epub: Output, facts: PdfFacts, pages: list[str]) -> None:
    same = list(web.notes) == list(epub.notes) and all(web.notes[n] == epub.notes[n] for n in web.notes)
    if same:
        report.add(
            True, "notes", f"web page and EPUB: the same {len(web.notes)} notes, numbered and worded alike"
        )
    else:
        differ = sorted(n for n in {*web.notes, *epub.notes} if web.notes.get(n) != epub.notes.get(n))

        def label_in(output: Output, note: str) -> str:
            return output.notes[note][0] if note in output.notes else "none"

        shown = _first(f"{n} (web {label_in(web, n)}, EPUB {label_in(epub, n)})" for n in differ)
        report.add(False, "notes", f"web page and EPUB differ in {len(differ)} note(s): {shown}")
    wrong: list[str] = []
    for note, (label, text) in web.notes.items():
        ref_page, note_page = (
            facts.destinations.get(f"noteref-{note}"),
            facts.destinations.get(f"note-{note}"),
        )
        if ref_page is None or note_page is None:
            wrong.append(f"note {label}: not in the PDF")
            continue
        if ref_page != note_page:
            wrong.append(f"note {label}: on page {note_page}, its reference on page {ref_page}")
            continue
        page_words = fold_hyphens(split_note_calls(words(without_markers(dehyphenate(pages[note_page - 1])))))
        if missing_in_order(fold_hyphens(text[:8]), page_words) or f"{label}." not in pages[note_page - 1]:
            wrong.append(f"note {label}: its number or words are not on page {note_page}")
    report.add(
        not wrong,
        "notes",
        "PDF: every note is on the page of its reference, numbered and worded as on the web page"
        if not wrong
        else f"PDF: {len(wrong)} problem(s): {_first(wrong)}",
    )


def _compare_interventions(
    report: Report, web: Output, epub: Output, facts: PdfFacts, pages: list[str]
) -> None:
    in_pdf = {i for i in web.interventions if i in facts.destinations}
    problems = [f"{i}: not in the EPUB" for i in sorted(web.interventions - epub.interventions)]
    problems += [f"{i}: not in the PDF" for i in sorted(web.interventions - in_pdf)]
    problems += [
        f"{i}: no apparatus entry in the {o.name}"
        for o in (web, epub)
        for i in sorted(o.interventions - set(o.apparatus))
    ]
    problems += [
        f"{i}: the apparatus entries differ"
        for i in sorted(web.apparatus)
        if epub.apparatus.get(i) != web.apparatus[i]
    ]
    text = dehyphenate("\n".join(pages))
    back = text[text.find("Apparatus of interventions") :] if "Apparatus of interventions" in text else ""
    for iid, (found, _edited) in sorted(web.apparatus.items()):
        if found not in ("—", "") and " ".join(found.split()) not in " ".join(back.split()):
            problems.append(f"{iid}: the PDF's apparatus lacks the source reading {found!r}")
    report.add(
        not problems,
        "interventions",
        f"all {len(web.interventions)} in the three outputs, each with its apparatus entry"
        if not problems
        else f"{len(problems)} problem(s): {_first(problems)}",
    )


def _compare_metadata(report: Report, web: Output, epub: Output, pdf: Output) -> None:
    for key in ("title", "author", "language", "identifier", "date", "rights"):
        values = {o.name: {v for v in o.metadata.get(key, set()) if v} for o in (web, epub, pdf)}
        distinct = {frozenset(v) for v in values.values()}
        ok = len(distinct) == 1
        shown = repr(next(iter(values["web page"]))[:60]) if values["web page"] else "absent"
        report.add(
            ok,
            "metadata",
            f"{key}: {shown} in all three"
            if ok
            else f"{key} differs: "
            + "; ".join(f"{name} {sorted(v) or '(none)'}"[:120] for name, v in values.items()),
        )


def _compare_citations(
    report: Report, web: Output, epub: Output, facts: PdfFacts, pages: list[str], folder: Path
) -> None:
    in_pdf = {p for p in web.paragraphs if p in facts.destinations}
    same = web.paragraphs == epub.paragraphs and in_pdf == set(web.paragraphs)
    report.add(
        same,
        "citation",
        f"the same {len(web.paragraphs)} numbered paragraphs and anchors in all three"
        if same
        else "paragraph numbers or anchors differ: "
        f"web {len(web.paragraphs)}, EPUB {len(epub.paragraphs)}, PDF anchors {len(in_pdf)}",
    )
    expected = {}
    listing = folder / "pages.json"
    if listing.is_file():
        expected = {entry["page"]: entry for entry in json.loads(listing.read_text(encoding="utf-8"))}
    markers_agree = (
        set(web.pages) == set(epub.pages) == set(expected) if expected else set(web.pages) == set(epub.pages)
    )
    problems: list[str] = (
        []
        if markers_agree
        else [
            f"page markers differ: web {sorted(web.pages)}, EPUB {sorted(epub.pages)}, "
            f"pages.json {sorted(expected)}"
        ]
    )
    for page, first in sorted(web.pages.items()):
        if epub.pages.get(page) != first:
            problems.append(
                f"p. {page}: the EPUB's marker is at {epub.pages.get(page)!r}, the web page's at {first!r}"
            )
        if page > len(pages):
            problems.append(f"p. {page}: the PDF has only {len(pages)} pages")
            continue
        top = fold_hyphens(split_note_calls(words(without_markers(dehyphenate(pages[page - 1])))))[:40]
        wanted = fold_hyphens(first.split()[:4])
        if missing_in_order(wanted, top):
            problems.append(f"p. {page} does not begin with {first!r} in the PDF")
    report.add(
        not problems and bool(web.pages),
        "citation",
        f"{len(web.pages)} print page breaks, marked alike in the web page and the EPUB, "
        "each where its PDF page begins"
        if not problems and web.pages
        else (
            f"{len(problems)} problem(s): {_first(problems)}" if problems else "no print page breaks marked"
        ),
    )


__all__ = ["Finding", "Report", "check_folder", "read_epub", "read_pdf", "read_web"]
