"""The parts of an edition around its text: notes, apparatus, registers, metadata, citation.

Each function takes the shared :class:`~edition.html.HtmlRenderer` (so links go through
its ``href`` hook and content through its visitors) and returns one ``section`` element.
The web page, the EPUB and the print book all assemble these same sections.
"""

from __future__ import annotations

from edition.html import (
    ENTITY_LABELS,
    KIND_LABELS,
    Element,
    HtmlRenderer,
    add_text,
    h,
    safe_lang,
    sub,
    text_direction,
)
from edition.model import Edition, Entity, EntityKind, Intervention, Metadata, Note, Occurrence

CITATION_MEDIA = {"web": "web edition", "epub": "EPUB edition", "print": "print edition"}


def section(section_id: str, title: str, role: str | None = None, level: int = 2) -> Element:
    element = h(
        "section",
        {"id": section_id, "class": section_id, "role": role, "aria-labelledby": f"{section_id}-title"},
    )
    sub(element, f"h{level}", {"id": f"{section_id}-title"}, title)
    return element


def notes_section(renderer: HtmlRenderer) -> Element | None:
    """The numbered list of notes, each with a link back to its reference."""
    notes = renderer.edition.notes
    if not notes:
        return None
    element = section("notes", "Notes", role="doc-endnotes")
    ordered = sub(element, "ol", {"class": "notes"})
    for note in notes:
        custom = note.label != str(note.number)
        item = sub(
            ordered,
            "li",
            {
                "id": f"note-{note.id}",
                "value": str(note.number),
                "class": "custom-label" if custom else None,
                "data-label": note.label if custom else None,
            },
        )
        if custom:  # the list numbers its items; a note the source labels itself ("*") says so
            sub(item, "span", {"class": "note-label"}, note.label)
            add_text(item, " ")
        renderer.flow(note.blocks, item)
        add_text(item, " ")
        note_ending(renderer, note, item)
    return element


def note_ending(renderer: HtmlRenderer, note: Note, parent: Element) -> None:
    """What ends a note wherever it is printed: who is responsible for it (when the source
    says) and the link back to its reference."""
    if note.responsibility:
        sub(parent, "span", {"class": "resp"}, f"({note.responsibility})")
        add_text(parent, " ")
    sub(
        parent,
        "a",
        {
            "class": "backlink",
            "href": renderer.href(f"noteref-{note.id}"),
            "role": "doc-backlink",
            "aria-label": f"Back to note reference {note.label}",
        },
        "↩",
    )


def apparatus_section(renderer: HtmlRenderer) -> Element | None:
    """Every intervention: where, as found → as edited, and why, linked to its place."""
    interventions = renderer.edition.interventions
    if not interventions:
        return None
    element = section("apparatus", "Apparatus of interventions")
    sub(
        element,
        "p",
        {"class": "apparatus-intro"},
        "Every place where the editors changed, supplied, marked or left out something of the text as found.",
    )
    table = sub(element, "table", {"class": "apparatus"})
    head = sub(sub(table, "thead"), "tr")
    for title in ("Place", "As found", "Edited", "What and why"):
        sub(head, "th", {"scope": "col"}, title)
    body = sub(table, "tbody")
    for item in interventions:
        row = sub(body, "tr", {"id": f"app-{item.id}"})
        place = sub(row, "td", {"class": "place"})
        sub(
            place,
            "a",
            {"href": renderer.href(item.id), "class": "app-place"},
            renderer.place_label(item.block),
        )
        sub(row, "td", {"class": "found"}, found_words(item))
        sub(row, "td", {"class": "edited"}, edited_words(item))
        sub(row, "td", {"class": "why"}, why_words(item))
    return element


def found_words(item: Intervention) -> str:
    return item.found or "—"


def edited_words(item: Intervention) -> str:
    return item.edited or "—"


def why_words(item: Intervention) -> str:
    """ "Corrected: a typographical error… (editors; certainty high)"."""
    parts = [KIND_LABELS[item.kind].capitalize()]
    if item.description:
        parts.append(item.description)
    if item.reason and item.reason != item.description:
        parts.append(item.reason)
    words = ": ".join(parts[:2]) + (" " + " ".join(parts[2:]) if len(parts) > 2 else "")
    extra = ", ".join(
        v for v in (item.responsibility, f"certainty {item.certainty}" if item.certainty else None) if v
    )
    return f"{words} ({extra})" if extra else words


def quoted(text: str) -> str:
    """Text quoted for a tooltip: in curly quotes, or in angle brackets if it holds quotation marks."""
    return f"⟨{text}⟩" if set(text) & set("“”‘’\"'«»") else f"“{text}”"


def tip_words(item: Intervention) -> str:
    """One or two sentences for a tooltip: what the source reads and why."""
    match item.kind:
        case "correction" | "regularisation" | "expansion":
            what = f"The source reads {quoted(item.found)}." if item.found else "Not in the source."
        case "supplied":
            what = f"Supplied by the editors: {quoted(item.edited)}."
        case "gap" | "removal":
            what = item.description or KIND_LABELS[item.kind].capitalize() + "."
        case _:
            what = f"{KIND_LABELS[item.kind].capitalize()}: {quoted(item.found)}."
    why = item.reason or ""
    return " ".join(w for w in (what if what.endswith(".") else what + ".", why) if w)


def registers_section(renderer: HtmlRenderer) -> Element | None:
    """Persons, places and organisations, each with its description and every occurrence."""
    entities = renderer.edition.entities
    if not entities:
        return None
    element = section("registers", "Registers")
    for kind in EntityKind:
        members = sorted((e for e in entities if e.kind is kind), key=register_order)
        if not members:
            continue
        key, title = ENTITY_LABELS[kind]
        part = sub(
            element,
            "section",
            {"id": f"register-{key}", "class": "register", "aria-labelledby": f"register-{key}-title"},
        )
        sub(part, "h3", {"id": f"register-{key}-title"}, title)
        entries = sub(part, "dl", {"class": "register-entries"})
        for entity in members:
            term = sub(entries, "dt", {"id": f"reg-{entity.id}"}, entity.name)
            for number, other in enumerate(entity.names[1:], start=1):
                add_text(term, " · ")
                lang = safe_lang(entity.language_of(number))
                sub(term, "span", {"class": "other-name", "lang": lang, "dir": text_direction(lang)}, other)
            description = sub(entries, "dd")
            add_text(description, entity.description)
            if entity.occurrences:
                occurrences = sub(description, "span", {"class": "occurrences"})
                add_text(occurrences, " Mentioned: ")
                occurrence_links(renderer, entity.occurrences, occurrences)
    return element


def occurrence_links(renderer: HtmlRenderer, occurrences: tuple[Occurrence, ...], parent: Element) -> None:
    """ "¶ 1, ¶ 8 (2, 3), note 6": one link per place, the further mentions there numbered.

    Every mention has its link; a place named five times is listed once.
    """
    groups: dict[str | None, list[Occurrence]] = {}
    for occurrence in occurrences:
        groups.setdefault(occurrence.block, []).append(occurrence)
    for index, (block, group) in enumerate(groups.items()):
        if index:
            add_text(parent, ", ")
        sub(
            parent,
            "a",
            {"class": "occurrence", "href": renderer.href(group[0].mention)},
            renderer.place_label(block),
        )
        if len(group) > 1:
            add_text(parent, " (")
            for number, occurrence in enumerate(group[1:], start=2):
                if number > 2:
                    add_text(parent, ", ")
                sub(
                    parent,
                    "a",
                    {
                        "class": "occurrence-more",
                        "href": renderer.href(occurrence.mention),
                        "aria-label": f"mention {number} in {renderer.place_label(block)}",
                    },
                    str(number),
                )
            add_text(parent, ")")


_ARTICLES = ("the ", "a ", "an ")


def register_order(entity: Entity) -> tuple[str, str]:
    """Persons by surname (the last word of the name), everything else without a leading article."""
    name = entity.name.casefold()
    if entity.kind is EntityKind.PERSON:
        return (name.split()[-1] if name.split() else name, name)
    for article in _ARTICLES:
        if name.startswith(article):
            return (name[len(article) :], name)
    return (name, name)


def contributors_by_role(metadata: Metadata) -> list[tuple[str, list[str]]]:
    """``[(role, [names])]`` in header order, each name once per role."""
    roles: dict[str, list[str]] = {}
    for contributor in metadata.contributors:
        names = roles.setdefault(contributor.role, [])
        if contributor.name not in names:
            names.append(contributor.name)
    return list(roles.items())


def citation(edition: Edition, medium: str) -> str:
    """How to cite the edition (the web page adds its own URL when a reader copies it)."""
    meta = edition.metadata
    parts = [", ".join(meta.authors) if meta.authors else None, meta.title]
    if meta.editors:
        parts.append("Edited by " + ", ".join(meta.editors))
    medium_words = CITATION_MEDIA.get(medium, medium)
    parts.append(f"{medium_words[:1].upper()}{medium_words[1:]}" + (f", {meta.date}" if meta.date else ""))
    parts.append(meta.identifier)
    return ". ".join(p.rstrip(".") for p in parts if p) + "."


def metadata_section(renderer: HtmlRenderer, medium: str) -> Element:
    """About this edition: source, contributors, edition, licence, principles, how to cite."""
    meta = renderer.edition.metadata
    element = section("about", "About this edition")
    facts = sub(element, "dl", {"class": "metadata"})

    def fact(term: str, value: str | None, lang: str | None = None) -> None:
        if value:
            sub(facts, "dt", None, term)
            sub(facts, "dd", {"lang": safe_lang(lang)}, value)

    fact("Title", meta.title)
    fact("Subtitle", meta.subtitle)
    for role, names in contributors_by_role(meta):
        fact(role[:1].upper() + role[1:], ", ".join(names))
    fact("Edition", meta.edition)
    fact("Published by", meta.publisher)
    fact("Date", meta.date)
    fact("Identifier", meta.identifier)
    fact("Source", meta.source)
    fact("Written", meta.created)
    fact("Languages", ", ".join(name for _, name in meta.languages) or None)
    fact("Licence", meta.licence)
    fact("Subjects", "; ".join(meta.subjects) or None)
    if meta.principles:
        principles = sub(
            element,
            "section",
            {"id": "principles", "class": "principles", "aria-labelledby": "principles-title"},
        )
        sub(principles, "h3", {"id": "principles-title"}, "Editorial principles")
        listing = sub(principles, "dl")
        for principle in meta.principles:
            sub(listing, "dt", None, principle.topic)
            sub(listing, "dd", None, principle.text)
    if meta.revisions:
        history = sub(
            element,
            "section",
            {"id": "revisions", "class": "revisions", "aria-labelledby": "revisions-title"},
        )
        sub(history, "h3", {"id": "revisions-title"}, "Revisions")
        listing = sub(history, "ul")
        for revision in meta.revisions:
            sub(listing, "li", None, " — ".join(v for v in (revision.when, revision.who, revision.text) if v))
    cite = sub(
        element, "section", {"id": "how-to-cite", "class": "how-to-cite", "aria-labelledby": "cite-title"}
    )
    sub(cite, "h3", {"id": "cite-title"}, "How to cite")
    sub(cite, "p", {"class": "citation"}, citation(renderer.edition, medium))
    return element
