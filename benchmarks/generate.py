"""Generate book-scale editions from the project's own TEI, for benchmarks.

``python benchmarks/generate.py 100 /tmp/book-100.xml`` writes an edition with 100 chapters,
each a copy of the interview's text (paragraphs, notes, interventions, names), with ids made
unique per chapter. At 100 chapters: 2,100 footnotes and 511 pages in print (6 × 9 in).

The result is valid against the project's schema (the header, records and reason
categories are the interview's own; only the body is multiplied).
"""

from __future__ import annotations

import argparse
import copy
import sys
from pathlib import Path

from lxml import etree

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "sources" / "panahli-january-20.xml"
TEI = "http://www.tei-c.org/ns/1.0"
XML_ID = "{http://www.w3.org/XML/1998/namespace}id"


def change_one_note(text: str) -> tuple[str, str]:
    """An edit for rebuild timings and tests: one word of chapter 2's first note, changed to a
    word of the same length. Returns the new source text and the new word."""
    start = text.index('xml:id="chapter-2"')
    note = text.index("<note", start)
    end = text.index("</note>", note)
    body = text[note:end]
    for old, new in ((" the ", " our "), (" was ", " had "), (" and ", " but ")):
        if old in body:
            return text[:note] + body.replace(old, new, 1) + text[end:], new.strip()
    raise ValueError("no word to change in the first note of chapter 2")


def chapter(body: etree._Element, number: int) -> etree._Element:
    """One chapter: the interview's body blocks in a ``div type="chapter"`` with unique ids."""
    div = etree.Element(f"{{{TEI}}}div", {"type": "chapter", XML_ID: f"chapter-{number}"})
    head = etree.SubElement(div, f"{{{TEI}}}head")
    head.text = f"Chapter {number}"
    local_ids: set[str] = set()
    for child in body:
        if not isinstance(child.tag, str):
            continue
        name = etree.QName(child).localname
        if name == "head":
            continue
        block = copy.deepcopy(child)
        if name in {"argument", "epigraph", "byline", "gap"}:
            # divTop/divBottom parts cannot follow paragraphs: keep their paragraphs' text as paragraphs
            paragraphs = block.findall(f".//{{{TEI}}}p") if name == "argument" else []
            for p in paragraphs:
                div.append(p)
            continue
        if name == "div":  # sections of the interview become sections of the chapter
            block.set("type", "section")
        div.append(block)
    for element in div.iter():
        if element.get(XML_ID) and element is not div:
            local_ids.add(element.get(XML_ID, ""))
            element.set(XML_ID, f"{element.get(XML_ID)}-c{number}")
    for element in div.iter():
        for attribute in ("target", "ref"):
            value = element.get(attribute)
            if value and value.startswith("#") and value[1:] in local_ids:
                element.set(attribute, f"{value}-c{number}")
    return div


def generate(chapters: int, source: Path = SOURCE) -> bytes:
    """The TEI of a book with ``chapters`` chapters."""
    tree = etree.parse(str(source), etree.XMLParser(resolve_entities=False, no_network=True))
    root = tree.getroot()
    body = root.find(f"{{{TEI}}}text/{{{TEI}}}body")
    assert body is not None
    original = copy.deepcopy(body)
    title = original.find(f"{{{TEI}}}head")
    for child in list(body):
        body.remove(child)
    if title is not None:
        body.append(copy.deepcopy(title))
    for number in range(1, chapters + 1):
        body.append(chapter(original, number))
    main_title = root.find(f".//{{{TEI}}}titleStmt/{{{TEI}}}title")
    if main_title is not None:
        main_title.text = f"{main_title.text} (benchmark book, {chapters} chapters)"
    return etree.tostring(tree, xml_declaration=True, encoding="UTF-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("chapters", type=int)
    parser.add_argument("output", type=Path)
    args = parser.parse_args(argv)
    args.output.write_bytes(generate(args.chapters))
    print(f"wrote {args.output} ({args.chapters} chapters)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
