"""Reading the ``teiHeader``: metadata, the entity records, and the words behind pointers.

The header is read once, before the text, into a :class:`HeaderIndex`: the text builder
asks it for an entity record (``@ref="#baku"``), a person's name (``@resp="#ed"``) or the
words of a reason (``@ana="#typo"``).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from lxml import etree

from edition.behaviours import TEI_NS, XML_NS
from edition.model import Contributor, Entity, EntityKind, Metadata, Principle, Revision

NS = {"t": TEI_NS}
XML_ID = f"{{{XML_NS}}}id"
XML_LANG = f"{{{XML_NS}}}lang"

#: MARC relator codes (https://www.loc.gov/marc/relators/) for roles a ``resp`` names.
MARC_RELATORS: tuple[tuple[str, str], ...] = (
    ("interviewee", "ive"),
    ("interviewer", "ivr"),
    ("translat", "trl"),
    ("annotat", "ann"),
    ("note", "ann"),
    ("encod", "mrk"),
    ("edit", "edt"),
    ("author", "aut"),
    ("illustrat", "ill"),
    ("transcri", "trc"),
    ("publish", "pbl"),
)

#: Record elements and the kind of entity each describes.
RECORDS: dict[str, EntityKind] = {
    "person": EntityKind.PERSON,
    "place": EntityKind.PLACE,
    "org": EntityKind.ORGANISATION,
}
RECORD_NAMES = {"person": "persName", "place": "placeName", "org": "orgName"}

#: Editorial declaration parts, with the topic words the renderers show.
PRINCIPLE_TOPICS: dict[str, str] = {
    "correction": "Correction",
    "normalization": "Normalisation",
    "quotation": "Quotation",
    "hyphenation": "Hyphenation",
    "segmentation": "Segmentation",
    "interpretation": "Interpretation",
    "punctuation": "Punctuation",
    "stdVals": "Standard values",
    "p": "General",
}


_TEI_PREFIX = f"{{{TEI_NS}}}"


def local(element: etree._Element) -> str:
    """Local name of an element in the TEI namespace ('' for comments and other namespaces)."""
    tag = element.tag
    if isinstance(tag, str) and tag.startswith(_TEI_PREFIX):
        return tag[len(_TEI_PREFIX) :]
    return ""


def line_of(element: etree._Element) -> int | None:
    """The element's line in the source (lxml's stubs do not type ``sourceline``)."""
    line = element.sourceline
    return line if isinstance(line, int) else None


def words_of(element: etree._Element | None, *, skip: frozenset[str] = frozenset()) -> str:
    """The text of an element with white space collapsed, leaving out descendants named in ``skip``."""
    if element is None:
        return ""
    parts: list[str] = []

    def visit(el: etree._Element) -> None:
        if el.text:
            parts.append(el.text)
        for child in el:
            if isinstance(child.tag, str) and local(child) not in skip:
                visit(child)
            if child.tail:
                parts.append(child.tail)

    visit(element)
    return " ".join("".join(parts).split())


def first(element: etree._Element, path: str) -> etree._Element | None:
    """The first element an XPath (``t:`` prefix for TEI) finds, or ``None``."""
    found = element.xpath(path, namespaces=NS)
    return found[0] if isinstance(found, list) and found and isinstance(found[0], etree._Element) else None


def all_of(element: etree._Element, path: str) -> list[etree._Element]:
    found = element.xpath(path, namespaces=NS)
    return [el for el in found if isinstance(el, etree._Element)] if isinstance(found, list) else []


@dataclass
class HeaderIndex:
    """What the text builder needs from the header, by ``xml:id``."""

    records: dict[str, Entity] = field(default_factory=dict)
    """Entity records (person, place, org) by id."""
    names: dict[str, str] = field(default_factory=dict)
    """The name of anything with an id that ``@resp``/``@who`` may point at."""
    reasons: dict[str, str] = field(default_factory=dict)
    """Taxonomy categories (``classDecl``) by id: the words of a reason ``@ana`` points at."""

    def name(self, pointers: str | None) -> str | None:
        """Names for a space-separated list of ``#id`` pointers (unknown ids kept as written)."""
        if not pointers:
            return None
        return ", ".join(self.names.get(p.removeprefix("#"), p) for p in pointers.split())

    def reason(self, pointers: str | None) -> str | None:
        """The words of the reasons ``@ana`` points at, or ``None`` if none is a known category."""
        found = [self.reasons.get(p.removeprefix("#"), "") for p in (pointers or "").split()]
        found = [r for r in found if r]
        return "; ".join(found) or None


def _reason_words(category: etree._Element) -> str:
    return words_of(first(category, "t:catDesc|t:desc|t:gloss"))


def _description(record: etree._Element) -> str:
    """A record's description: its ``note``/``desc``, else its other facts joined by semicolons."""
    described = [words_of(part) for part in record if local(part) in {"note", "desc"}]
    if not any(described):
        facts = {"birth", "death", "occupation", "affiliation", "location", "country", "settlement"}
        described = [words_of(part) for part in record if local(part) in facts]
    return "; ".join(d for d in described if d)


def index_header(root: etree._Element) -> HeaderIndex:
    """Collect records, names and reason categories from the whole document."""
    index = HeaderIndex()
    for category in all_of(root, "//t:category[@xml:id]"):
        index.reasons[category.get(XML_ID, "")] = _reason_words(category)
    for element, kind in ((el, RECORDS[local(el)]) for el in all_of(root, "//t:person|//t:place|//t:org")):
        record_id = element.get(XML_ID)
        if not record_id:
            continue
        name_tag = RECORD_NAMES[local(element)]
        named = {}  # name → its language, first occurrence wins
        for name in all_of(element, f"t:{name_tag}"):
            words = words_of(name, skip=frozenset({"note"}))
            if words and words not in named:
                named[words] = name.get(XML_LANG)
        if not named:
            named[record_id] = None
        index.records[record_id] = Entity(
            record_id, kind, tuple(named), _description(element), languages=tuple(named.values())
        )
        index.names[record_id] = next(iter(named))
    for element in all_of(root, "//t:teiHeader//*[@xml:id]"):
        element_id = element.get(XML_ID, "")
        if element_id not in index.names and local(element) not in {"category", "taxonomy"}:
            index.names[element_id] = words_of(element, skip=frozenset({"note"})) or element_id
    return index


def _source_words(source_desc: etree._Element | None) -> str:
    """The source description as sentences: each part of a ``bibl`` its own sentence.

    A ``bibl`` written as prose (text of its own between its parts) stays one sentence;
    related items (``relatedItem``: the original of a translation, a copy) follow it.
    """
    if source_desc is None:
        return ""

    def related_sentences(part: etree._Element) -> list[str]:
        related = " ".join(_sentence(s) for child in part if local(child) for s in sentences(child))
        kind = (part.get("type") or "related").replace("translationOf", "translation of")
        return [f"{kind[:1].upper()}{kind[1:]}: {related}"] if related else []

    def sentences(element: etree._Element) -> list[str]:
        if local(element) not in {"bibl", "listBibl", "relatedItem"}:
            return [words_of(element)]
        related = [part for part in element if local(part) == "relatedItem"]
        prose = (element.text or "").strip() or any(
            (child.tail or "").strip() for child in element if local(child) != "relatedItem"
        )
        if local(element) == "bibl" and prose:
            found = [words_of(element, skip=frozenset({"relatedItem"}))]
        else:
            found = [
                s for part in element if local(part) and local(part) != "relatedItem" for s in sentences(part)
            ]
        return found + [s for part in related for s in related_sentences(part)]

    return " ".join(
        _sentence(s) for child in source_desc if local(child) for s in sentences(child) if s.strip()
    )


def _sentence(text: str) -> str:
    text = text.strip()
    return text if not text or text.endswith((".", "?", "!", "…", "”", ":")) else text + "."


def _contributors(title_stmt: etree._Element | None, index: HeaderIndex) -> tuple[Contributor, ...]:
    if title_stmt is None:
        return ()
    found: list[Contributor] = []
    for element in title_stmt:
        kind = local(element)
        if kind in {"author", "editor"}:
            role = element.get("role") or kind
            found.append(Contributor(words_of(element), role, _marc(role)))
        elif kind == "respStmt":
            resp = words_of(first(element, "t:resp"))
            for who in element:
                if local(who) in {"name", "persName", "orgName"}:
                    found.append(Contributor(words_of(who), resp, _marc(resp)))
    return tuple(c for c in found if c.name)


def _marc(role: str) -> str | None:
    role = role.lower()
    return next((code for key, code in MARC_RELATORS if key in role), None)


def _date_of(publication: etree._Element | None, root: etree._Element) -> str | None:
    when = publication.xpath("string(t:date/@when)", namespaces=NS) if publication is not None else ""
    if isinstance(when, str) and when:
        return when
    changes = [c.get("when", "") for c in all_of(root, "t:teiHeader/t:revisionDesc//t:change[@when]")]
    return max(changes) if changes else None


def _identifier(publication: etree._Element | None, title: str, authors: tuple[str, ...]) -> str:
    """An ``idno`` of the publication statement, else a UUID derived (never random) from the title."""
    if publication is not None:
        for idno in all_of(publication, "t:idno"):
            value = words_of(idno)
            kind = (idno.get("type") or "").lower()
            if not value:
                continue
            if kind == "doi" and not value.startswith("doi:"):
                return f"doi:{value}"
            if kind == "isbn" and not value.lower().startswith("urn:isbn:"):
                return f"urn:isbn:{value}"
            if kind == "uuid" and not value.startswith("urn:uuid:"):
                return f"urn:uuid:{value}"
            return value
    seed = "edition:" + title + "|" + "|".join(authors)
    return f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, seed)}"


def read_metadata(root: etree._Element, text_lang: str | None) -> tuple[Metadata, HeaderIndex]:
    """The header's metadata, and the index the text builder resolves pointers with."""
    from edition.builder import safe_link  # the builder imports this module: import at call time

    index = index_header(root)
    header = first(root, "t:teiHeader")
    assert header is not None  # the schema and the structural check both require it
    title_stmt = first(header, "t:fileDesc/t:titleStmt")
    titles = all_of(header, "t:fileDesc/t:titleStmt/t:title")
    main = next((t for t in titles if t.get("type") in (None, "main")), titles[0] if titles else None)
    sub = next((t for t in titles if t.get("type") == "sub"), None)
    title = words_of(main) or "Untitled"
    contributors = _contributors(title_stmt, index)
    publication = first(header, "t:fileDesc/t:publicationStmt")
    availability = first(header, "t:fileDesc/t:publicationStmt/t:availability")
    licence = first(availability, ".//t:licence") if availability is not None else None
    languages = tuple(
        (lang.get("ident", ""), words_of(lang) or lang.get("ident", ""))
        for lang in all_of(header, "t:profileDesc/t:langUsage/t:language")
    )
    language = text_lang or root.get(XML_LANG) or (languages[0][0] if languages else "und")
    principles = tuple(
        Principle(PRINCIPLE_TOPICS.get(local(part), local(part)), words_of(part))
        for part in all_of(header, "t:encodingDesc/t:editorialDecl/*")
        if local(part) and words_of(part)
    )
    publisher = (
        first(publication, "t:publisher|t:authority|t:distributor") if publication is not None else None
    )
    authors = tuple(c.name for c in contributors if c.role == "author")
    metadata = Metadata(
        title=title,
        subtitle=words_of(sub) or None,
        contributors=contributors,
        edition=words_of(first(header, "t:fileDesc/t:editionStmt/t:edition|t:fileDesc/t:editionStmt/t:p"))
        or None,
        publisher=words_of(publisher) or None,
        date=_date_of(publication, root),
        identifier=_identifier(publication, title, authors),
        licence=words_of(availability) or None,
        licence_url=safe_link(licence.get("target")) if licence is not None else None,
        source=_source_words(first(header, "t:fileDesc/t:sourceDesc")),
        language=language,
        languages=languages,
        principles=principles,
        created=words_of(first(header, "t:profileDesc/t:creation")) or None,
        subjects=tuple(
            words_of(t) for t in all_of(header, "t:profileDesc/t:textClass//t:term") if words_of(t)
        ),
        abstract=words_of(first(header, "t:profileDesc/t:abstract")) or None,
        revisions=tuple(
            Revision(c.get("when"), index.name(c.get("who")), words_of(c))
            for c in all_of(header, "t:revisionDesc//t:change")
        ),
    )
    return metadata, index
