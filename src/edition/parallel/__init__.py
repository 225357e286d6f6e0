"""Parallel and incremental layout of long print editions.

A long edition is cut into *parts* where the print stylesheet starts a new right-hand page
(``break-before: right``): the front matter with the opening of the text, every chapter
(or part, book, letter) and every section of the back matter. Parts are laid out by
WeasyPrint in separate processes and joined into one PDF whose pages, folios, running
heads, page references, outline, named destinations, links, tags and metadata are those
of the single WeasyPrint document the same book makes (:func:`edition.pdf.print_edition`
with ``jobs=1``).

Why this is exact. The layout of a part does not depend on where it lands in the book,
as long as it starts on a right-hand page (mirrored margins keep the measure equal on
both sides). What does depend on the position is handled here:

* **blank versos**: a part after an odd number of pages is preceded by a ``:blank``
  page, as WeasyPrint would insert one;
* **folios** (margin boxes whose content uses ``counter(page)``): parts are laid out
  with those boxes empty; the folios are laid out afterwards, in documents of empty pages
  with only those margin boxes and the right page numbers, and drawn onto the pages as
  ``/Artifact`` content (a page number is pagination, not text);
* **named strings** (``string-set`` / ``string()``): a part that does not set a string
  used in a running head gets that head as a literal (the value the string has where
  the part begins); a part that does set it must set it at its start (its heading);
* **page references** (``target-counter(attr(… url), page)``): parts that print them
  (the apparatus, the registers) are laid out second, once every page is known, with the
  numbers written into the part (``attr()``) instead of looked up;
* **the outline, destinations, links and the structure tree** are rebuilt for the
  whole book from what each part reports and from the parts' PDFs (pikepdf).

Everything the stylesheets do that this cannot reproduce (page-based counters other
than the folio, ``:first`` pages, ``counter()`` in the text, decorated page boxes, a
string first set later in a part...) is detected before any layout, and the book is
then laid out in one piece instead (``log.info`` says why).

Incremental rebuilds: with a cache folder, every part and every folio sheet is stored
under a hash of everything its bytes depend on (its HTML, the stylesheets, the options,
the date, the fonts, WeasyPrint's version and this code). A rebuild lays out only what
changed and joins the rest from the cache; the result is byte-identical to a clean
build. A missing, stale or corrupt cache entry is simply laid out again.

Processes: a layout worker and the join's process are started before the book is planned
(:class:`~edition.parallel.processes._Warm`), so that their imports overlap the planning,
and each part goes to a worker as soon as its HTML is written. Parts found in the cache
are handed to the join's process while the changed ones are laid out, and it opens them
meanwhile. (Parts laid out in the first phase are not: opened while the second phase is
laid out, they raised the build's peak memory at N = 100 from 820 to 949 MiB, for about a
second of the join.) The workers are ended as soon as the last layout is back, not waited
for; the join itself runs while the caller renders the web page and the EPUB.

WeasyPrint internals used (reading only): ``Page._page_box`` to see which pages carry a
folio box (:func:`~edition.parallel.layout._has_folio`) and whether a part ends on a blank page, as
:func:`edition.pdf.page_starts` already reads the layout. Everything else is public API
(``HTML.render``, ``Document.pages``, ``Page.anchors/links/bookmarks``, ``write_pdf``)
plus pikepdf.

The package's modules, in the order a build uses them:

* :mod:`~edition.parallel.styles`: what the print stylesheets do to pages (margin boxes,
  named strings, page groups) and whether the book can be laid out in parts exactly;
* :mod:`~edition.parallel.plan`: the book cut into parts, each an HTML document;
* :mod:`~edition.parallel.layout`: WeasyPrint lays out a part or a folio sheet (in a worker);
* :mod:`~edition.parallel.cache`: laid-out parts and folio sheets, kept for the next build;
* :mod:`~edition.parallel.join`: the parts joined into one PDF (pikepdf);
* :mod:`~edition.parallel.processes`: the worker processes and the join's process;
* :mod:`~edition.parallel.coordinator`: the coordinator, :func:`~edition.parallel.coordinator.print_book`.
"""

from edition.parallel.coordinator import MIN_PARTS, BuildStats, ParallelResult, default_jobs, print_book
from edition.parallel.styles import Unsupported

__all__ = ["MIN_PARTS", "BuildStats", "ParallelResult", "Unsupported", "default_jobs", "print_book"]
