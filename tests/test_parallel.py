"""Parallel and incremental layout of long print editions (:mod:`edition.parallel`).

A book of four chapters is laid out both ways: as one WeasyPrint document (``jobs=1``) and
in parts, in two processes, joined. The joined PDF must say exactly what the single
document says, page by page: text, folios and running heads, page references, outline,
named destinations, links, tags, metadata, page boxes, even the pixels.
"""

from __future__ import annotations

import hashlib
import io
import logging
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

import edition
import external
from edition import parallel, pdf
from edition.build import source_date
from edition.inspect import PdfFacts, pdf_facts, pdftotext
from edition.parallel import coordinator, layout, plan, processes
from edition.parallel.styles import Styles, css_string

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
from generate import change_one_note, generate  # noqa: E402

CHAPTERS = 4


# ------------------------------------------------------------------ fixtures


@dataclass
class Pair:
    single: Path
    joined: Path
    single_result: pdf.PrintResult
    joined_result: parallel.ParallelResult
    book: edition.Edition


def _book(folder: Path, chapters: int = CHAPTERS) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    source = folder / "book.xml"
    source.write_bytes(generate(chapters))
    return source


def _both(folder: Path, profile: str) -> Pair:
    source = _book(folder)
    book = edition.load(source)
    when = source_date(book)
    single = pdf.print_edition(book, profile=profile, when=when, jobs=1)
    joined = parallel.print_book(book, profile=profile, when=when, jobs=2, min_parts=2)
    assert joined is not None, "the book was not laid out in parts"
    (folder / "single.pdf").write_bytes(single.pdf)
    (folder / "joined.pdf").write_bytes(joined.result.pdf)
    return Pair(folder / "single.pdf", folder / "joined.pdf", single, joined, book)


@pytest.fixture(scope="module")
def screen(tmp_path_factory: pytest.TempPathFactory) -> Pair:
    return _both(tmp_path_factory.mktemp("screen"), "screen")


@pytest.fixture(scope="module")
def press(tmp_path_factory: pytest.TempPathFactory) -> Pair:
    return _both(tmp_path_factory.mktemp("press"), "press")


def _facts(pair: Pair) -> tuple[PdfFacts, PdfFacts]:
    return pdf_facts(pair.single), pdf_facts(pair.joined)


def _tool(name: str) -> str:
    found = external.qpdf() if name == "qpdf" else external.poppler(name)
    external.require(name, found)
    assert found is not None
    return found


# ------------------------------------------------------------------ what pikepdf reads


def _page_index(pdf_file: object) -> dict[object, int]:
    return {page.objgen: n for n, page in enumerate(pdf_file.pages)}  # type: ignore[attr-defined]


def _destinations(path: Path) -> dict[str, tuple[int, list[float]]]:
    """Named destination → (page index, [x, y, zoom])."""
    import pikepdf

    with pikepdf.open(path) as document:
        pages = _page_index(document)
        return {
            str(name): (pages[target[0].objgen], [float(v) for v in list(target)[2:]])
            for name, target in pikepdf.NameTree(document.Root.Names.Dests).items()
        }


def _outline(path: Path) -> list[tuple[object, ...]]:
    """Every outline item: depth, title, page, position, /Count; and the root's /Count."""
    import pikepdf

    with pikepdf.open(path) as document:
        pages = _page_index(document)
        found: list[tuple[object, ...]] = [("root", int(document.Root.Outlines.Count))]

        def walk(item: pikepdf.Object | None, depth: int) -> None:
            while item is not None:
                target = item.Dest
                found.append(
                    (
                        depth,
                        str(item.Title),
                        pages[target[0].objgen],
                        [float(v) for v in list(target)[2:]],
                        int(item.Count),
                    )
                )
                if "/First" in item:
                    walk(item.First, depth + 1)
                item = item.get("/Next")

        walk(document.Root.Outlines.First, 1)
        return found


def _links(path: Path) -> list[tuple[object, ...]]:
    """Every annotation: page, subtype, rectangle, destination, tagged contents."""
    import pikepdf

    with pikepdf.open(path) as document:
        return [
            (
                n,
                str(annotation.Subtype),
                [round(float(v), 4) for v in annotation.Rect],
                str(annotation.get("/Dest")),
                str(annotation.get("/Contents")),
                str(annotation.A.URI) if "/A" in annotation else None,
            )
            for n, page in enumerate(document.pages)
            for annotation in page.get("/Annots", [])
        ]


def _boxes(path: Path) -> list[tuple[tuple[float, ...], ...]]:
    import pikepdf

    with pikepdf.open(path) as document:
        return [
            tuple(
                tuple(round(float(v), 4) for v in page.obj[key])
                for key in ("/MediaBox", "/TrimBox", "/BleedBox")
            )
            for page in document.pages
        ]


def _structure(path: Path) -> list[tuple[int, str, int | None]]:
    """The structure tree in order: (depth, role, page) for elements, marked content and annotations."""
    import pikepdf

    with pikepdf.open(path) as document:
        pages = _page_index(document)
        found: list[tuple[int, str, int | None]] = []

        def walk(node: object, depth: int) -> None:
            if isinstance(node, pikepdf.Dictionary):
                page = pages.get(node.Pg.objgen) if "/Pg" in node else None
                if node.get("/Type") == "/OBJR":
                    found.append((depth, f"OBJR {node.Obj.Subtype}", page))
                    return
                found.append((depth, str(node.S), page))
                kids = node.get("/K")
                for kid in kids if isinstance(kids, pikepdf.Array) else [kids] if kids is not None else []:
                    walk(kid, depth + 1)
            else:
                found.append((depth, "MCID", int(node)))  # type: ignore[call-overload]

        walk(document.Root.StructTreeRoot.K[0], 0)
        return found


def _parent_tree(path: Path) -> tuple[list[tuple[int, str]], dict[int, list[str]]]:
    """The ParentTree (StructParents → elements): roles of the elements the structure tree
    holds, per key; and, per key, the roles of elements it does not hold (orphans)."""
    import pikepdf

    with pikepdf.open(path) as document:
        root = document.Root.StructTreeRoot
        held: set[tuple[int, int]] = set()
        stack = [root.K[0]]
        while stack:
            node = stack.pop()
            if isinstance(node, pikepdf.Dictionary) and node.get("/Type") != "/OBJR":
                held.add(node.objgen)
                kids = node.get("/K")
                stack.extend(kids if isinstance(kids, pikepdf.Array) else [kids] if kids is not None else [])
        nums = list(root.ParentTree.Nums)
        found: list[tuple[int, str]] = []
        orphans: dict[int, list[str]] = {}
        for key, value in zip(nums[::2], nums[1::2], strict=True):
            elements = list(value) if isinstance(value, pikepdf.Array) else [value]
            found.append((int(key), " ".join(str(e.S) for e in elements if e.objgen in held)))
            lost = [str(e.S) for e in elements if e.objgen not in held]
            if lost:
                orphans[int(key)] = lost
        pages = [int(page.obj.StructParents) for page in document.pages]
        annotations = [
            int(a.StructParent)
            for page in document.pages
            for a in page.get("/Annots", [])
            if "/StructParent" in a
        ]
        assert pages == list(range(len(pages)))
        assert sorted(annotations) == [key for key, _ in found if key >= len(pages)]
        return found, orphans


def _folio_pages(path: Path) -> list[int]:
    """0-based pages whose last line is a page number (what the folio boxes print)."""
    return [n for n, page in enumerate(pdftotext(path)) if page.strip().splitlines()[-1:] == [str(n + 1)]]


def _xmp(path: Path) -> bytes:
    import pikepdf

    with pikepdf.open(path) as document:
        return bytes(document.Root.Metadata.read_bytes())


# ------------------------------------------------------------------ the same book


def test_the_book_is_laid_out_in_parts(screen: Pair) -> None:
    stats = screen.joined_result.stats
    assert stats.parts == CHAPTERS + 3  # the opening, each chapter, the apparatus, the registers
    assert len(stats.laid_out) == stats.parts and not stats.cached


@pytest.mark.parametrize("which", ["screen", "press"])
def test_text_page_by_page(which: str, request: pytest.FixtureRequest) -> None:
    """Every page says the same: text, footnotes, running heads, folios, page references."""
    _tool("pdftotext")
    pair: Pair = request.getfixturevalue(which)
    single, joined = pdftotext(pair.single), pdftotext(pair.joined)
    assert len(joined) == len(single)
    for number, (expected, actual) in enumerate(zip(single, joined, strict=True), start=1):
        assert actual == expected, f"page {number} differs"


@pytest.mark.parametrize("which", ["screen", "press"])
def test_pages_look_the_same(which: str, request: pytest.FixtureRequest, tmp_path: Path) -> None:
    """Rendered at 40 dpi, every page of the joined PDF is pixel for pixel the single document's."""
    pair: Pair = request.getfixturevalue(which)
    tool = _tool("pdftoppm")
    for name, path in (("single", pair.single), ("joined", pair.joined)):
        subprocess.run([tool, "-r", "40", "-gray", str(path), str(tmp_path / name)], check=True)
    single = sorted(tmp_path.glob("single-*.pgm"))
    joined = sorted(tmp_path.glob("joined-*.pgm"))
    assert len(single) == len(joined) > 0
    different = [a.name for a, b in zip(single, joined, strict=True) if a.read_bytes() != b.read_bytes()]
    assert different == []


@pytest.mark.parametrize("which", ["screen", "press"])
def test_page_count_boxes_outline_and_destinations(which: str, request: pytest.FixtureRequest) -> None:
    pair: Pair = request.getfixturevalue(which)
    single, joined = _facts(pair)
    assert joined.pages == single.pages == pair.joined_result.result.pages == pair.single_result.pages
    assert _boxes(pair.joined) == _boxes(pair.single)
    assert joined.outline == single.outline  # (level, title, page)
    assert _outline(pair.joined) == _outline(pair.single)  # and positions, /Count, open or closed
    assert joined.destinations == single.destinations  # id → page
    assert _destinations(pair.joined) == _destinations(pair.single)  # and positions on the page


def test_links_are_the_same_and_resolve(screen: Pair) -> None:
    single, joined = _links(screen.single), _links(screen.joined)
    assert len(joined) == len(single) > 0
    assert joined == single
    destinations = _destinations(screen.joined)
    internal = [link for link in joined if link[3] != "None"]
    assert internal, "no internal links"
    assert all(link[3] in destinations for link in internal), "a link points at no destination"


def test_register_links_point_into_the_chapters(screen: Pair) -> None:
    """Links from the back matter (a part of its own) reach pages of other parts."""
    destinations = _destinations(screen.joined)
    facts = pdf_facts(screen.joined)
    registers = next(page for level, title, page in facts.outline if title == "Registers")
    assert registers is not None
    back_links = [link for link in _links(screen.joined) if link[0] + 1 >= registers and link[3] != "None"]
    assert back_links
    assert any(destinations[link[3]][0] + 1 < registers for link in back_links)


def test_structure_tree(screen: Pair) -> None:
    """Tagged PDF: the same elements, roles, pages and marked content, in the same order."""
    assert _structure(screen.joined) == _structure(screen.single)


def test_parent_tree_and_the_one_difference_folios_are_artifacts(screen: Pair) -> None:
    """The ParentTree maps the same marked content to the same elements, but for the folios.

    WeasyPrint tags the text of every margin box as a ``/Span`` that the structure tree
    does not hold (an orphan, mapped only in the ParentTree). The joined PDF draws the
    folios afterwards, as ``/Artifact`` (pagination) content, which is what PDF/UA asks of
    page numbers: so the single document has one orphan ``/Span`` more on every page that
    prints a folio, and nothing else differs. (Running heads are laid out with their part
    and keep WeasyPrint's tagging, orphans included.)
    """
    _tool("pdftotext")
    single, single_orphans = _parent_tree(screen.single)
    joined, joined_orphans = _parent_tree(screen.joined)
    assert joined == single
    folios = _folio_pages(screen.single)
    assert len(folios) > screen.single_result.pages // 2
    for page in range(screen.single_result.pages):
        extra = list(single_orphans.get(page, []))
        for role in joined_orphans.get(page, []):
            extra.remove(role)
        assert extra == (["/Span"] if page in folios else []), f"page {page + 1}"
    import pikepdf

    with pikepdf.open(screen.joined) as document:
        content = b"".join(
            pikepdf.Page(document.pages[page]).obj.Contents[-1].read_bytes() for page in folios
        )
    assert content.count(b"/Artifact") == len(folios)


@pytest.mark.parametrize("which", ["screen", "press"])
def test_metadata(which: str, request: pytest.FixtureRequest) -> None:
    """Document information, XMP (byte for byte), language, output intent: all the same.

    What differs, and must: the trailer's /ID (a hash of the file's bytes, which differ) and
    the font subsets (one per part, each embedded under its own tag).
    """
    pair: Pair = request.getfixturevalue(which)
    single, joined = _facts(pair)
    assert joined.info == single.info
    assert joined.xmp == single.xmp
    assert _xmp(pair.joined) == _xmp(pair.single)
    assert joined.language == single.language
    assert joined.tagged == single.tagged == (which == "screen")
    assert joined.output_intents == single.output_intents
    assert joined.annotations == single.annotations


def test_page_starts_for_citations(screen: Pair) -> None:
    assert screen.joined_result.result.starts == screen.single_result.starts


def test_every_footnote_is_on_its_references_page(screen: Pair) -> None:
    destinations = pdf_facts(screen.joined).destinations
    notes = screen.book.notes
    assert len(notes) >= 20 * CHAPTERS
    wrong = [
        note.id
        for note in notes
        if destinations.get(f"noteref-{note.id}") is None
        or destinations.get(f"noteref-{note.id}") != destinations.get(f"note-{note.id}")
    ]
    assert wrong == []


@pytest.mark.parametrize("which", ["screen", "press"])
def test_qpdf_and_fonts(which: str, request: pytest.FixtureRequest) -> None:
    pair: Pair = request.getfixturevalue(which)
    check = subprocess.run([_tool("qpdf"), "--check", str(pair.joined)], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    assert "No syntax or stream encoding errors found" in check.stdout
    fonts = subprocess.run([_tool("pdffonts"), str(pair.joined)], capture_output=True, text=True, check=True)
    lines = fonts.stdout.splitlines()[2:]
    assert lines and all(line.split()[-5] == "yes" for line in lines), "a font is not embedded"
    names = [line.split()[0] for line in lines]
    assert len(set(names)) == len(names), "two font subsets share a name"


def test_two_builds_are_byte_identical_in_processes_or_inline(screen: Pair, tmp_path: Path) -> None:
    """The same bytes again, and also when every part is laid out in this process (``jobs=1``)."""
    when = source_date(screen.book)
    inline = parallel.print_book(screen.book, when=when, jobs=1, cache=tmp_path / "cache", min_parts=2)
    again = parallel.print_book(screen.book, when=when, jobs=2, min_parts=2)
    assert inline is not None and again is not None
    assert again.result.pdf == screen.joined_result.result.pdf
    assert inline.result.pdf == screen.joined_result.result.pdf


def test_the_join_in_its_own_process_while_the_caller_works(
    screen: Pair, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With ``on_starts``, the page starts come before the join, which another process makes:
    the same PDF; and if that process cannot start, the join is made inline (as with one job)."""
    when = source_date(screen.book)
    cache = tmp_path / "cache"
    seen: list[tuple[pdf.PageStart, ...]] = []
    hooked = parallel.print_book(
        screen.book, when=when, jobs=2, min_parts=2, cache=cache, on_starts=seen.append
    )
    assert hooked is not None
    assert hooked.result.pdf == screen.joined_result.result.pdf
    assert seen == [screen.joined_result.result.starts]

    def no_process(main: str) -> object:
        raise OSError("no processes here")  # (every part comes from the cache: no layout workers)

    monkeypatch.setattr(processes, "_python", no_process)
    inline = parallel.print_book(
        screen.book, when=when, jobs=2, min_parts=2, cache=cache, on_starts=seen.append
    )
    assert inline is not None and inline.result.pdf == screen.joined_result.result.pdf
    assert len(seen) == 2


@pytest.mark.parametrize("dies", [False, True], ids=["answers", "dies"])
def test_the_join_process_answers_or_is_replaced_by_a_join_here(
    screen: Pair,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    dies: bool,
) -> None:
    """The join's process sends the PDF as soon as it is written (``join(deliver=...)``), before it
    frees the parts, and the build takes it from there; should it die, the build joins the parts
    itself. The same PDF either way."""
    layout_workers = processes._python

    def dying(main: str) -> subprocess.Popen[bytes]:
        if main != "_join_main":
            return layout_workers(main)
        return subprocess.Popen(
            [sys.executable, "-c", "import sys; sys.stdin.buffer.read(); sys.exit(3)"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )

    if dies:
        monkeypatch.setattr(processes, "_python", dying)
    with caplog.at_level(logging.INFO, logger="edition"):
        joined = parallel.print_book(
            screen.book,
            when=source_date(screen.book),
            jobs=2,
            min_parts=2,
            cache=tmp_path,
            on_starts=lambda starts: None,
        )
    assert joined is not None and joined.result.pdf == screen.joined_result.result.pdf
    joined_here = any("the join's process failed" in r.getMessage() for r in caplog.records)
    assert joined_here == dies


def test_an_error_while_the_join_runs_ends_its_process(screen: Pair, tmp_path: Path) -> None:
    """The web page or EPUB failing (say) while the PDF is joined: the error, and no process left."""
    started: list[processes._Join] = []
    original = processes._Join.__init__

    def remember(self: processes._Join, *args: object, **kwargs: object) -> None:
        original(self, *args, **kwargs)  # type: ignore[arg-type]
        started.append(self)

    def fail(starts: object) -> None:
        raise RuntimeError("the EPUB failed")

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(processes._Join, "__init__", remember)
        with pytest.raises(RuntimeError, match="the EPUB failed"):
            parallel.print_book(
                screen.book,
                when=source_date(screen.book),
                jobs=2,
                min_parts=2,
                cache=tmp_path,
                on_starts=fail,
            )
    assert len(started) == 1 and started[0].process is None


def test_helper_processes_started_early_are_all_ended(
    screen: Pair, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The layout worker and join process started before the plan (``processes._Warm``) end with
    the build, whether they were used, never needed (every part cached) or the plan refused."""
    started: list[tuple[str, subprocess.Popen[bytes]]] = []
    original = processes._python

    def remember(main: str) -> subprocess.Popen[bytes]:
        started.append((main, original(main)))
        return started[-1][1]

    monkeypatch.setattr(processes, "_python", remember)
    when = source_date(screen.book)
    for _ in range(2):  # every part laid out, then every part from the cache
        done = parallel.print_book(
            screen.book, when=when, jobs=2, min_parts=2, cache=tmp_path, on_starts=lambda starts: None
        )
        assert done is not None and done.result.pdf == screen.joined_result.result.pdf
    assert done.stats.laid_out == []
    assert len(started) == 5  # a worker and the join's process each time, and a second worker once
    parts = screen.joined_result.stats.parts
    assert parallel.print_book(screen.book, when=when, jobs=2, min_parts=parts + 1) is None
    assert len(started) == 6  # a worker, before the plan found too few parts
    assert [process.returncode is None for _, process in started] == [False] * len(started)


def test_parts_opened_before_the_join_make_the_same_pdf(
    screen: Pair, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The join's process opens parts taken from the cache while others are laid out: the join
    uses those (each exactly once) and makes the same bytes."""
    import pikepdf

    calls: list[tuple[Any, ...]] = []
    original = coordinator.join

    def remember(*args: Any, **kwargs: Any) -> bytes:
        calls.append((*args, kwargs["tagged"]))
        return original(*args, **kwargs)

    monkeypatch.setattr(coordinator, "join", remember)
    parallel.print_book(screen.book, when=source_date(screen.book), jobs=1, min_parts=2)
    placed, sheets, tagged = calls[0]
    early = {part.layout.pdf: pikepdf.open(io.BytesIO(part.layout.pdf)) for part in placed[1:]}
    delivered: list[bytes] = []
    joined = original(placed, sheets, tagged=tagged, early=early, deliver=delivered.append)
    assert joined == screen.joined_result.result.pdf
    assert early == {}, "a part opened early was opened again"
    assert delivered == [joined]


def test_the_layout_workers_are_ended_not_waited_for_before_the_join(
    screen: Pair, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Once the last layout is back, the layout workers are ended at once (not waited for while
    they free their memory) and the join begins: the same PDF, and every process has ended
    with the build."""
    started: list[tuple[str, subprocess.Popen[bytes]]] = []
    original_python = processes._python

    def remember(main: str) -> subprocess.Popen[bytes]:
        started.append((main, original_python(main)))
        return started[-1][1]

    events: list[str] = []
    original_stop = processes._stop

    def stop(process: subprocess.Popen[bytes], *, grace: float) -> None:
        main = next(main for main, started_process in started if started_process is process)
        events.append(f"wait for {main}" if grace else f"stop {main}")
        original_stop(process, grace=grace)

    def on_starts(starts: object) -> None:
        workers = [process for main, process in started if main == "_worker_main"]
        assert workers and all(process.returncode is not None for process in workers)
        events.append("join")

    monkeypatch.setattr(processes, "_python", remember)
    monkeypatch.setattr(processes, "_stop", stop)
    done = parallel.print_book(
        screen.book, when=source_date(screen.book), jobs=2, min_parts=2, cache=tmp_path, on_starts=on_starts
    )
    assert done is not None and done.result.pdf == screen.joined_result.result.pdf
    assert events == ["stop _worker_main", "stop _worker_main", "join", "stop _join_main"]
    assert all(process.returncode is not None for _, process in started)


def test_only_a_part_with_a_table_header_is_searched_for_one(
    screen: Pair, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The join renames the table header ids of every part with tables but the first; whether a
    part has any is read from its PDF only if its HTML has a ``th`` element (the only one
    WeasyPrint tags TH), so that most parts are not opened again in the worker."""
    book = screen.book
    config = layout.LayoutConfig(
        "screen", "6x9in", str(Path(book.path).parent), source_date(book), book.metadata, str(book.path), ()
    )
    searched: list[bytes] = []
    original = layout._has_table_ids

    def has_table_ids(data: bytes) -> bool:
        searched.append(data)
        return original(data)

    monkeypatch.setattr(layout, "_has_table_ids", has_table_ids)
    page = '<!DOCTYPE html><html lang="en"><body><p>Text.</p>{}</body></html>'
    layouter = layout.Layouter(config)
    with_table = layouter.part(page.format("<table><tr><th>Head</th></tr><tr><td>Cell</td></tr></table>"), ())
    without = layouter.part(page.format("<table><tr><td>Cell</td></tr></table>"), ())
    assert with_table.table_ids and not without.table_ids
    assert searched == [with_table.pdf]


def test_a_division_without_a_heading(tmp_path: Path) -> None:
    """A letter has no heading: its first page continues the text's page group and shows the
    running head the text's title set, as in the single document."""
    _tool("pdftotext")
    source = tmp_path / "letter.xml"
    source.write_bytes((ROOT / "tests" / "corpus" / "letter.xml").read_bytes())
    book = edition.load(source)
    when = source_date(book)
    single = pdf.print_edition(book, when=when, jobs=1)
    joined = parallel.print_book(book, when=when, jobs=1, min_parts=2)
    assert joined is not None and joined.stats.parts == 4
    (tmp_path / "single.pdf").write_bytes(single.pdf)
    (tmp_path / "joined.pdf").write_bytes(joined.result.pdf)
    assert pdftotext(tmp_path / "joined.pdf") == pdftotext(tmp_path / "single.pdf")
    assert _structure(tmp_path / "joined.pdf") == _structure(tmp_path / "single.pdf")


# ------------------------------------------------------------------ the hook in print_edition


def test_print_edition_sends_long_books_to_parallel(
    screen: Pair, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(coordinator, "MIN_PARTS", 2)
    with caplog.at_level(logging.INFO, logger="edition"):
        result = pdf.print_edition(screen.book, when=source_date(screen.book), jobs=2)
    assert result.pdf == screen.joined_result.result.pdf
    said = "PDF laid out in 7 parts: 7 laid out, 0 from the cache"
    assert any(r.getMessage().startswith(said) for r in caplog.records)


def test_a_short_edition_is_one_document(interview: edition.Edition) -> None:
    """The interview has no chapters: the default (parallel) call makes exactly the single document."""
    when = source_date(interview)
    assert parallel.print_book(interview, when=when) is None
    default = pdf.print_edition(interview, when=when)
    single = pdf.print_edition(interview, when=when, jobs=1)
    assert hashlib.sha256(default.pdf).digest() == hashlib.sha256(single.pdf).digest()


# ------------------------------------------------------------------ incremental rebuilds


def _change_one_note(source: Path) -> str:
    """Change one word of one note in chapter 2, to a word of the same length."""
    text, word = change_one_note(source.read_text(encoding="utf-8"))
    source.write_text(text, encoding="utf-8")
    return word


def _not_here(config: object) -> None:
    raise AssertionError("a part was laid out in the calling process")


def test_incremental_rebuild_lays_out_only_the_changed_part(tmp_path: Path) -> None:
    source = _book(tmp_path / "edition")
    cache = tmp_path / "out" / ".edition-cache"

    def build(cache_folder: Path, jobs: int = 2) -> parallel.ParallelResult:
        book = edition.load(source)
        done = parallel.print_book(book, when=source_date(book), jobs=jobs, cache=cache_folder, min_parts=2)
        assert done is not None
        return done

    first = build(cache)
    assert len(first.stats.laid_out) == first.stats.parts and first.stats.folio_sheets_cached == 0
    unchanged = build(cache)
    assert unchanged.stats.laid_out == [] and unchanged.result.pdf == first.result.pdf

    word = _change_one_note(source)
    with pytest.MonkeyPatch.context() as patch:
        # the one changed part goes to the worker started while the book was planned (processes._Warm)
        patch.setattr(processes, "_init_worker", _not_here)
        rebuilt = build(cache)
    assert rebuilt.stats.laid_out == ["002-chapter-2"], rebuilt.stats
    assert rebuilt.stats.folio_sheets_laid_out == 0
    clean = build(tmp_path / "clean-cache")
    assert rebuilt.result.pdf == clean.result.pdf, "an incremental rebuild differs from a clean build"
    assert rebuilt.result.pdf != first.result.pdf
    (tmp_path / "rebuilt.pdf").write_bytes(rebuilt.result.pdf)
    if external.poppler("pdftotext"):
        assert word in " ".join(pdftotext(tmp_path / "rebuilt.pdf")).split()


def test_a_corrupt_or_missing_cache_means_a_full_build(tmp_path: Path) -> None:
    source = _book(tmp_path / "edition", chapters=3)
    cache = tmp_path / ".edition-cache"
    book = edition.load(source)
    when = source_date(book)
    first = parallel.print_book(book, when=when, jobs=1, cache=cache, min_parts=2)
    assert first is not None
    entries = sorted(cache.rglob("*.pdf"))
    entries[0].write_bytes(b"%PDF-1.7 not what was stored")
    (entries[1].with_suffix(".json")).write_text("{not json", encoding="utf-8")
    damaged = parallel.print_book(book, when=when, jobs=1, cache=cache, min_parts=2)
    assert damaged is not None and damaged.result.pdf == first.result.pdf
    assert 1 <= len(damaged.stats.laid_out) + damaged.stats.folio_sheets_laid_out <= 2
    for path in cache.rglob("*"):
        if path.is_file():
            path.unlink()
    rebuilt = parallel.print_book(book, when=when, jobs=1, cache=cache, min_parts=2)
    assert rebuilt is not None and rebuilt.result.pdf == first.result.pdf
    assert len(rebuilt.stats.laid_out) == rebuilt.stats.parts


# ------------------------------------------------------------------ what cannot be split exactly


@pytest.mark.parametrize(
    "css",
    [
        "p { counter-increment: paragraph; }",
        "h2::before { content: counter(chapter); }",
        "@page :first { margin-top: 1in; }",
        "@page { @bottom-right { content: counter(page) ' of ' counter(pages); } }",
        "@page { @bottom-left { content: string(book-title); } @bottom-center { content: counter(page); } }",
        "a::after { content: target-text(attr(href url)); }",
        "@page chapter { @bottom-center { content: counter(page, lower-roman); } }",
        "@page { background: yellow; }",
    ],
)
def test_what_parts_cannot_reproduce_is_refused(css: str) -> None:
    with pytest.raises(parallel.Unsupported):
        Styles([css])


def test_the_print_stylesheet_can_be_split() -> None:
    options = pdf.PrintOptions()
    assets = pdf.print_assets(options)
    sheets = [assets[f"assets/{n}"].source.read_text(encoding="utf-8") for n in ("base.css", "print.css")]
    styles = Styles([*sheets, pdf.page_css(options)])
    assert styles.folio_boxes() == {"bottom-center"}
    assert "book-title" in styles.running_strings()


def _every_match(book: Any, rules: list[tuple[list[Any], Any]]) -> dict[Any, list[Any]]:
    """What cssselect2 matches when asked about every element (what the plan did before it filtered)."""
    import cssselect2

    matcher = cssselect2.Matcher()
    for selectors, payload in rules:
        for selector in selectors:
            matcher.add_selector(selector, payload)
    found = {}
    for wrapper in cssselect2.ElementWrapper.from_html_root(book).iter_subtree():
        matches = matcher.match(wrapper)
        if matches:
            found[wrapper.etree_element] = [m[3] for m in matches]
    return found


@pytest.mark.parametrize(
    "extra", ["", "* { string-set: any content(); }", "[lang] { string-set: l content(); }"]
)
@pytest.mark.parametrize("index_known", [True, False])
def test_the_plan_matches_what_cssselect2_matches_on_every_element(
    extra: str, index_known: bool, interview: edition.Edition, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The plan asks cssselect2 only about elements a rule's key names: same answers, in order.

    ``*`` and ``[lang]`` have no id, class or name to file them by; and should a cssselect2
    keep its selectors elsewhere (``index_known=False``), every element is asked about.
    """
    if not index_known:  # a cssselect2 whose matcher keeps no "other_selectors"
        monkeypatch.setattr(plan, "_MATCHER_INDEX", (*plan._MATCHER_INDEX[:5], "no_such_list"))
    options = pdf.PrintOptions()
    assets = pdf.print_assets(options)
    sheets = [assets[f"assets/{n}"].source.read_text(encoding="utf-8") for n in ("base.css", "print.css")]
    styles = Styles([*sheets, pdf.page_css(options), extra])
    book = pdf.PrintRenderer(interview).book(source_date(interview))
    rules = [(rule.selectors, ("string", name)) for rule, name in styles.string_rules()]
    rules += [(rule.selectors, ("target", rule)) for rule in styles.target_rules()]
    found = plan._Matcher(book).matching(rules)
    assert len(found) > 10
    assert found == _every_match(book, rules)
    assert list(found) == list(_every_match(book, rules))  # document order


def test_css_string_escapes_everything() -> None:
    assert css_string('A "title" \\ with\nlines') == '"A \\22 title\\22  \\5c  with\\a lines"'


# ------------------------------------------------------------------ the same through edition.build


def test_edition_build_keeps_a_layout_cache_and_rebuilds_only_what_changed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``edition.build`` (and so ``edition build`` and ``edition watch``) uses the cache by default."""
    monkeypatch.setattr(coordinator, "MIN_PARTS", 2)
    source = _book(tmp_path / "edition")
    out = tmp_path / "out"

    def build(target: Path, **options: object) -> tuple[bytes, list[str]]:
        steps: list[str] = []
        result = edition.build(source, target, formats=("pdf",), jobs=2, on_step=steps.append, **options)  # type: ignore[arg-type]
        return (result.out_dir / "book.pdf").read_bytes(), [s for s in steps if s.startswith("PDF ")]

    _, said = build(out)
    assert said == [said[0]] and "7 laid out, 0 from the cache" in said[0]
    assert sorted(p.suffix for p in (out / ".edition-cache").rglob("*") if p.is_file())[-1] == ".pdf"
    _change_one_note(source)
    rebuilt, said = build(out)
    assert "1 laid out, 6 from the cache" in said[0], said
    clean, said = build(tmp_path / "clean")
    assert "7 laid out, 0 from the cache" in said[0]
    assert rebuilt == clean, "an incremental rebuild differs from a clean build"
    uncached, said = build(tmp_path / "uncached", cache=False)
    assert uncached == clean and "0 from the cache" in said[0]
    assert not (tmp_path / "uncached" / ".edition-cache").exists()
