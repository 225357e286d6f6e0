"""The EPUB's cover: a typographic SVG drawn from the metadata (no image needed)."""

from __future__ import annotations

import textwrap

from lxml import etree

from edition.html import XML_LANG, root_element, safe_lang
from edition.model import Edition

SVG_NS = "http://www.w3.org/2000/svg"


def cover_description(edition: Edition) -> str:
    meta = edition.metadata
    words = f"Cover: {meta.title}"
    if meta.authors:
        words += f", by {', '.join(meta.authors)}"
    return words + "."


def cover_svg(edition: Edition) -> bytes:
    """A typographic cover (1200 × 1800) drawn from the metadata: authors, title, subtitle, editors."""
    meta = edition.metadata
    svg = root_element(
        f"{{{SVG_NS}}}svg",
        {None: SVG_NS},
        version="1.1",
        viewBox="0 0 1200 1800",
        width="1200",
        height="1800",
        role="img",
    )
    svg.set("aria-labelledby", "cover-title")
    svg.set(XML_LANG, safe_lang(meta.language) or "und")
    etree.SubElement(svg, f"{{{SVG_NS}}}title", id="cover-title").text = cover_description(edition)
    etree.SubElement(svg, f"{{{SVG_NS}}}rect", width="1200", height="1800", fill="#f4efe4")
    for inset, stroke in ((60, "6"), (80, "2")):
        etree.SubElement(
            svg,
            f"{{{SVG_NS}}}rect",
            {
                "x": str(inset),
                "y": str(inset),
                "width": str(1200 - 2 * inset),
                "height": str(1800 - 2 * inset),
                "fill": "none",
                "stroke": "#6b1d1d",
                "stroke-width": stroke,
            },
        )
    family = "'EB Garamond', Garamond, Georgia, 'DejaVu Serif', serif"

    def lines(
        text: str,
        x: int,
        y: float,
        size: int,
        width: int,
        colour: str = "#1c1a17",
        style: str = "normal",
        limit: int = 99,
    ) -> float:
        """Draw ``text`` wrapped to ``width`` characters; returns the y below the last line."""
        wrapped = textwrap.wrap(text, width=width, break_long_words=True)[:limit]
        element = etree.SubElement(
            svg,
            f"{{{SVG_NS}}}text",
            {
                "x": str(x),
                "y": f"{y:.0f}",
                "fill": colour,
                "font-family": family,
                "font-size": str(size),
                "font-style": style,
                "text-anchor": "middle",
            },
        )
        for index, line in enumerate(wrapped):
            etree.SubElement(
                element, f"{{{SVG_NS}}}tspan", x=str(x), dy="0" if index == 0 else f"{size * 1.2:.0f}"
            ).text = line
        return y + size * 1.2 * len(wrapped)

    y = 260.0
    if meta.authors:
        y = lines(", ".join(meta.authors), 600, y, 50, 30, colour="#6b1d1d", limit=3) + 150
    else:
        y += 150
    for size in (88, 78, 68, 60, 52, 46):
        width = int(920 / (size * 0.58))  # characters a line: wide fallback fonts (DejaVu Serif) must fit too
        if len(textwrap.wrap(meta.title, width=width)) <= 6:
            break
    y = lines(meta.title, 600, y, size, width, limit=8) + 50
    etree.SubElement(svg, f"{{{SVG_NS}}}rect", x="500", y=f"{y:.0f}", width="200", height="4", fill="#6b1d1d")
    y += 110
    if meta.subtitle:
        lines(meta.subtitle, 600, y, 42, 40, style="italic", limit=5)
    footer = "Edited by " + ", ".join(meta.editors) if meta.editors else (meta.publisher or "")
    if footer:
        lines(footer, 600, 1560, 36, 46, colour="#6b1d1d", limit=2)
    etree.indent(svg, space="  ")
    for text in svg.iter(f"{{{SVG_NS}}}text"):  # white space between lines would shift centred lines
        text.text = None
        for span in text:
            span.tail = None
    return etree.tostring(svg, xml_declaration=True, encoding="utf-8") + b"\n"
