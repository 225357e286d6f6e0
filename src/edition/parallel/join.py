"""Joining the laid-out parts into one PDF (pikepdf): pages, folios, outline, links, tags."""

from __future__ import annotations

import hashlib
import io
import re
import string
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from edition.parallel.layout import PartLayout

#: A font subset's tag (``ABCDEF+``), which each part's PDF chooses on its own.
_TAG = re.compile(r"^([A-Z]{6})\+")


@dataclass(slots=True)
class Placed:
    """A part in the book: its layout, where it starts, and whether a blank verso precedes it."""

    name: str
    layout: PartLayout
    first: int
    """The book's page number of the part's first page."""
    blank_before: bool


@dataclass(frozen=True, slots=True)
class FolioSheet:
    first: int
    kinds: str
    pdf: bytes


def _subset_tag(old: str, label: str, taken: set[str]) -> str:
    for attempt in range(1000):
        digest = hashlib.sha256(f"{old}|{label}|{attempt}".encode()).digest()
        tag = "".join(string.ascii_uppercase[b % 26] for b in digest[:6])
        if tag not in taken:
            taken.add(tag)
            return tag
    raise RuntimeError("no free font subset tag")  # pragma: no cover


def _retag_fonts(pdf: Any, label: str, taken: set[str], keep: bool) -> None:
    """Fonts are subset per part: each subset gets its own tag (ISO 32000: one tag per subset)."""
    import pikepdf

    fonts: dict[tuple[int, int], Any] = {}
    for page in pdf.pages:
        resources = page.obj.get("/Resources")
        font_dict = resources.get("/Font") if resources is not None else None
        if font_dict is None:
            continue
        for _, font in font_dict.items():
            fonts.setdefault(font.objgen, font)
    renamed: dict[str, str] = {}
    for font in fonts.values():
        descendants = list(font.get("/DescendantFonts", pikepdf.Array()))
        for holder, key in [(font, "/BaseFont"), *((d, "/BaseFont") for d in descendants)]:
            descriptor = holder.get("/FontDescriptor")
            for owner, name_key in [
                (holder, key),
                *([(descriptor, "/FontName")] if descriptor is not None else []),
            ]:
                name = str(owner.get(name_key, ""))
                match = _TAG.match(name.lstrip("/"))
                if not match:
                    continue
                old = match.group(1)
                if keep:
                    taken.add(old)
                    continue
                if old not in renamed:
                    renamed[old] = _subset_tag(old, label, taken)
                owner[name_key] = pikepdf.Name("/" + renamed[old] + name.lstrip("/")[6:])


def _retag_table_ids(pdf: Any, prefix: str) -> None:
    """Table header ids (``/ID``, ``/Headers``) of a second tagged table part, made unique in the book."""
    import pikepdf

    root = pdf.Root.get("/StructTreeRoot")
    if root is None:
        return
    stack = [root]
    seen: set[tuple[int, int]] = set()
    while stack:
        node = stack.pop()
        if isinstance(node, pikepdf.Dictionary):
            if node.is_indirect:
                if node.objgen in seen:
                    continue
                seen.add(node.objgen)
            if node.get("/Type") == "/OBJR":
                continue
            if "/ID" in node:
                node.ID = pikepdf.String(prefix + str(node.ID))
            attributes = node.get("/A")
            if isinstance(attributes, pikepdf.Dictionary) and "/Headers" in attributes:
                attributes.Headers = pikepdf.Array(
                    [pikepdf.String(prefix + str(h)) for h in attributes.Headers]
                )
            kids = node.get("/K")
            if isinstance(kids, pikepdf.Array):
                stack.extend(kids)
            elif isinstance(kids, pikepdf.Dictionary):
                stack.append(kids)


def _outline_tree(bookmarks: Sequence[tuple[int, int, str, float, float, str]]) -> list[Any]:
    """WeasyPrint's bookmark tree (``Document.make_bookmark_tree``) over the whole book's bookmarks."""
    root: list[Any] = []
    skipped_levels: list[int] = []
    last_by_depth: list[list[Any]] = [root]
    previous_level = 0
    for page, level, label, x, y, state in bookmarks:
        if level > previous_level:
            skipped_levels.append(level - previous_level - 1)
        else:
            temporary = level
            while temporary < previous_level:
                temporary += 1 + skipped_levels.pop()
            if temporary > previous_level:
                skipped_levels.append(temporary - previous_level - 1)
        previous_level = level
        depth = level - sum(skipped_levels)
        children: list[Any] = []
        last_by_depth[depth - 1].append((label, (page, x, y), children, state))
        del last_by_depth[depth:]
        last_by_depth.append(children)
    return root


def _add_outlines(pdf: Any, bookmarks: list[Any], parent: Any = None) -> tuple[list[Any], int]:
    """WeasyPrint's ``add_outlines``, with pikepdf objects."""
    import pikepdf

    count = len(bookmarks)
    outlines: list[Any] = []
    for title, (page, x, y), children, state in bookmarks:
        destination = pikepdf.Array([pdf.pages[page].obj, pikepdf.Name.XYZ, x, y, 0])
        outline = pdf.make_indirect(pikepdf.Dictionary(Title=pikepdf.String(title), Dest=destination))
        children_outlines, children_count = _add_outlines(pdf, children, outline)
        outline.Count = -children_count if state == "closed" else children_count
        if state != "closed":
            count += children_count
        if outlines:
            outline.Prev = outlines[-1]
            outlines[-1].Next = outline
        if children_outlines:
            outline.First = children_outlines[0]
            outline.Last = children_outlines[-1]
        if parent is not None:
            outline.Parent = parent
        outlines.append(outline)
    if parent is None and outlines:
        root = pdf.make_indirect(pikepdf.Dictionary(Count=count, First=outlines[0], Last=outlines[-1]))
        for outline in outlines:
            outline.Parent = root
        pdf.Root.Outlines = root
    return outlines, count


def _dedupe_profiles(pdf: Any) -> None:
    """One copy of each ICC profile: every part embeds the press profile (colour spaces, page groups)."""
    import pikepdf

    canonical: dict[bytes, Any] = {}
    seen: set[tuple[int, int]] = set()

    def key(stream: Any) -> bytes:
        details = sorted((str(k), str(v)) for k, v in stream.stream_dict.items() if k != "/Length")
        return hashlib.sha256(stream.read_raw_bytes() + repr(details).encode()).digest()

    def same(space: Any) -> Any:
        """``[/ICCBased profile]`` with the book's one copy of that profile."""
        if isinstance(space, pikepdf.Array) and len(space) == 2 and space[0] == pikepdf.Name.ICCBased:
            found = canonical.setdefault(key(space[1]), space[1])
            if found.objgen != space[1].objgen:
                return pikepdf.Array([pikepdf.Name.ICCBased, found])
        return space

    def group(owner: Any) -> None:
        transparency = owner.get("/Group")
        if isinstance(transparency, pikepdf.Dictionary) and "/CS" in transparency:
            transparency.CS = same(transparency.CS)

    def resources(dictionary: Any) -> None:
        if not isinstance(dictionary, pikepdf.Dictionary):
            return
        if dictionary.is_indirect:
            if dictionary.objgen in seen:
                return
            seen.add(dictionary.objgen)
        spaces = dictionary.get("/ColorSpace")
        if isinstance(spaces, pikepdf.Dictionary):
            for name, value in list(spaces.items()):
                spaces[name] = same(value)
        xobjects = dictionary.get("/XObject")
        if isinstance(xobjects, pikepdf.Dictionary):
            for _, xobject in xobjects.items():
                if xobject.get("/Subtype") == "/Form" and xobject.objgen not in seen:
                    seen.add(xobject.objgen)
                    group(xobject)
                    resources(xobject.get("/Resources"))

    for intent in pdf.Root.get("/OutputIntents", pikepdf.Array()):
        profile = intent.get("/DestOutputProfile")
        if profile is not None:
            canonical.setdefault(key(profile), profile)
    for page in pdf.pages:
        group(page.obj)
        resources(page.obj.get("/Resources"))


def join(
    placed: Sequence[Placed],
    sheets: Sequence[FolioSheet],
    *,
    tagged: bool,
    early: dict[bytes, Any] | None = None,
    deliver: Callable[[bytes], None] | None = None,
) -> bytes:
    """One PDF from the parts, as the single WeasyPrint document would be (see the module's docstring).

    ``early`` holds parts opened before the join began, by their bytes (see
    :func:`~edition.parallel.processes._join_main`).
    ``deliver``, if given, receives the PDF as soon as it is written, before the parts and
    the joined document are freed: freeing them takes 0.6-0.8 s at N = 100, which the join's
    process, about to exit, need not make the build wait for.
    """
    import pikepdf
    from pikepdf import Array, Dictionary, Name

    out = pikepdf.new()
    opened: list[Any] = list((early or {}).values())  # closed at the end, used or not

    def open_pdf(data: bytes) -> Any:
        pdf = (early or {}).pop(data, None)
        if pdf is None:
            pdf = pikepdf.open(io.BytesIO(data))
            opened.append(pdf)
        return pdf

    taken: set[str] = set()
    sheet_pages: dict[int, tuple[Any, int]] = {}
    for sheet in sheets:
        sheet_pdf = open_pdf(sheet.pdf)
        _retag_fonts(sheet_pdf, f"folios-{sheet.first}", taken, keep=False)
        for index in range(len(sheet.kinds)):
            sheet_pages[sheet.first + index] = (sheet_pdf, index)

    begin = out.make_stream(b"q\n")
    if tagged:
        finish = out.make_stream(b"Q\n/Artifact <</Type /Pagination>> BDC\nq /EdFolio Do Q\nEMC\n")
    else:
        finish = out.make_stream(b"Q\nq /EdFolio Do Q\n")

    def overlay(page: Any, number: int) -> None:
        sheet_pdf, index = sheet_pages[number]
        form = out.copy_foreign(sheet_pdf.make_indirect(sheet_pdf.pages[index].as_form_xobject()))
        old = page.obj.Resources
        resources = Dictionary({key: value for key, value in old.items()})
        xobjects = Dictionary({key: value for key, value in old.get("/XObject", Dictionary()).items()})
        xobjects.EdFolio = form
        resources.XObject = xobjects
        page.obj.Resources = resources
        contents = page.obj.Contents
        parts = list(contents) if isinstance(contents, Array) else [contents]
        page.obj.Contents = Array([begin, *parts, finish])

    struct_root = struct_document = None
    if tagged:
        struct_root = out.make_indirect(Dictionary(Type=Name.StructTreeRoot))
        struct_document = out.make_indirect(
            Dictionary(Type=Name.StructElem, S=Name.Document, K=Array(), P=struct_root)
        )
        struct_root.K = Array([struct_document])
    document_kids: list[Any] = []
    page_maps: list[Any] = []
    annotations: list[tuple[Any, Any]] = []
    destinations: list[tuple[str, Any]] = []
    bookmarks: list[tuple[int, int, str, float, float, str]] = []
    tables = 0
    first_pdf = None

    for part in placed:
        source = open_pdf(part.layout.pdf)
        if first_pdf is None:
            first_pdf = source
        _retag_fonts(source, part.name, taken, keep=part is placed[0])
        if part.blank_before:
            number = len(out.pages) + 1
            sheet_pdf, index = sheet_pages[number]
            out.pages.append(sheet_pdf.pages[index])
            if tagged:
                out.pages[-1].obj.Tabs = Name.S
                out.pages[-1].obj.StructParents = number - 1
                page_maps.append(Array())
        start = len(out.pages)
        assert start + 1 == part.first, (part.name, start, part.first)
        part_root = source.Root.get("/StructTreeRoot") if tagged else None
        kids: list[Any] = []
        if part_root is not None:
            if part.layout.table_ids:
                tables += 1
                if tables > 1:
                    _retag_table_ids(source, f"{part.name}-")
            kids = list(part_root.K[0].K)
            for kid in kids:
                del kid.P  # copied alone, not with the part's tree root
        with warnings.catch_warnings():
            # pikepdf warns that destinations do not follow pages; they are rebuilt below
            warnings.simplefilter("ignore", pikepdf.PageCopyWarning)
            out.pages.extend(source.pages)
        for j in range(part.layout.pages):
            page = out.pages[start + j]
            if tagged:
                page.obj.StructParents = start + j
            if part.layout.folios[j]:
                overlay(page, start + j + 1)
        wanted: list[tuple[str, Any]] = []
        names = source.Root.get("/Names")
        if names is not None and "/Dests" in names:
            wanted = [(n, t) for n, t in pikepdf.NameTree(names.Dests).items() if n in part.layout.anchors]
        # what the book takes from the part besides its pages, copied in one call (object by
        # object, pikepdf's copies were most of the join's time); references to the part's
        # pages become references to their copies
        bundle = Array(
            [
                Array(kids),
                part_root.ParentTree.Nums if part_root is not None else Array(),
                Array([target for _, target in wanted]),
            ]
        )
        copied_kids, copied_nums, copied_targets = out.copy_foreign(source.make_indirect(bundle))
        destinations += [(name, target) for (name, _), target in zip(wanted, copied_targets, strict=True)]
        if part_root is not None:
            assert struct_document is not None
            for kid in copied_kids:
                kid.P = struct_document
                document_kids.append(kid)
            part_nums = list(copied_nums)
            by_key: dict[int, Any] = {}
            for entry, value in zip(part_nums[::2], part_nums[1::2], strict=True):
                if int(entry) < part.layout.pages:
                    page_maps.append(value)
                else:
                    by_key[int(entry)] = value
            part_annotations = []
            for j in range(part.layout.pages):
                for annotation in out.pages[start + j].obj.get("/Annots", Array()):
                    if "/StructParent" in annotation:
                        key = int(annotation.StructParent)
                        part_annotations.append((key, annotation, by_key[key]))
            part_annotations.sort(key=lambda item: item[0])
            annotations.extend((annotation, element) for _, annotation, element in part_annotations)
        if source is not first_pdf:
            # its objects are copied; a copied stream keeps the source's input, not its parsed objects
            opened.remove(source)
            source.close()
        bookmarks.extend(
            (start + p, level, label, x, y, state) for p, level, label, x, y, state in part.layout.bookmarks
        )

    assert first_pdf is not None
    total = len(out.pages)
    if tagged:
        assert struct_root is not None
        nums: list[Any] = []  # built as a list: growing a pikepdf Array one item at a time is quadratic
        for number, mapping in enumerate(page_maps):
            nums += [number, mapping]
        for offset, (annotation, element) in enumerate(annotations):
            annotation.StructParent = total + offset
            nums += [total + offset, element]
        struct_root.ParentTree = out.make_indirect(Dictionary(Nums=Array(nums)))
        assert struct_document is not None
        struct_document.K = Array(document_kids)
        out.Root.StructTreeRoot = struct_root
    for key, value in first_pdf.Root.items():
        if key not in ("/Type", "/Pages", "/Outlines", "/Names", "/StructTreeRoot"):
            out.Root[key] = (
                _copy_direct(out, value)
                if not getattr(value, "is_indirect", False)
                else out.copy_foreign(value)
            )
    if destinations:
        flat: list[Any] = []
        for name, target in sorted(destinations, key=lambda item: item[0]):
            flat += [pikepdf.String(name), target]
        out.Root.Names = Dictionary(Dests=Dictionary(Names=Array(flat)))
    _add_outlines(out, _outline_tree(bookmarks))
    out.trailer.Info = out.copy_foreign(first_pdf.trailer.Info)
    _dedupe_profiles(out)
    buffer = io.BytesIO()
    out.save(
        buffer,
        deterministic_id=True,
        object_stream_mode=pikepdf.ObjectStreamMode.generate,
        stream_decode_level=pikepdf.StreamDecodeLevel.none,
        force_version=str(first_pdf.pdf_version),
        fix_metadata_version=False,  # the XMP stays byte for byte the one WeasyPrint wrote
    )
    data = buffer.getvalue()
    if deliver is not None:
        deliver(data)
    for pdf in opened:
        pdf.close()
    out.close()
    return data


def _copy_direct(pdf: Any, value: Any) -> Any:
    """A direct object of another PDF, with its indirect references copied."""
    import pikepdf

    def one(item: Any) -> Any:
        if isinstance(item, pikepdf.Object) and item.is_indirect:
            return pdf.copy_foreign(item)
        return _copy_direct(pdf, item)

    if isinstance(value, pikepdf.Dictionary):
        return pikepdf.Dictionary({key: one(item) for key, item in value.items()})
    if isinstance(value, pikepdf.Array):
        return pikepdf.Array([one(item) for item in value])
    return value
