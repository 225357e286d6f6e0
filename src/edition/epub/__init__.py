"""The EPUB 3: the HTML renderer's EPUB variant, and its packaging with ebooklib.

What the EPUB changes in the shared renderer (:class:`EpubRenderer`): links name the content
document that holds their target (``text-2.xhtml#p05``); note references are
``epub:type="noteref"`` links to ``aside epub:type="footnote"`` elements; every intervention
is followed by a small link to its row in the apparatus. The reading view only.

The book, in reading order (the spine)::

    cover.xhtml          the cover (cover.svg, drawn from the metadata)
    titlepage.xhtml      title, subtitle, who did what, edition statement
    nav.xhtml            contents (and the hidden landmarks)
    front.xhtml          front matter, if the text has any
    text-1.xhtml ...     the body: its blocks before the first division, then one document
                         per top-level division (blocks after a division stay with it)
    back.xhtml           back matter, if any
    apparatus.xhtml      every intervention, linked both ways
    registers.xhtml      persons, places, organisations, with links to each mention
    colophon.xhtml       about this edition: source, licence, principles, how to cite
    font-licence.xhtml   the SIL Open Font License of the embedded EB Garamond (not in the reading order)

Footnotes live at the end of the document that refers to them: the EPUB 3 pattern every
reading system with pop-up notes supports (a reference and its note in one document), and
one that leaves no empty "Notes" page in Apple Books, which hides footnote asides from the
flow. Reading systems without pop-ups show the notes after the section, each with a link back.

The zip is made byte for byte reproducible (:class:`edition.archive.ReproducibleZip`):
``mimetype`` first and stored, then the style sheets, fonts and images, compressed while the
documents are rendered, then the documents, then what ebooklib writes around them (container,
OPF, NCX) in ebooklib's order; every timestamp is taken from ``when`` (never the clock).

The package's modules: :mod:`~edition.epub.renderer` (the documents, their notes and links,
the navigation), :mod:`~edition.epub.cover` (the SVG cover) and :mod:`~edition.epub.package`
(metadata, accessibility, the zip; :func:`~edition.epub.package.render_epub`).
"""

from edition.epub.package import finish_zip, render_epub
from edition.epub.renderer import EpubRenderer

__all__ = ["EpubRenderer", "finish_zip", "render_epub"]
