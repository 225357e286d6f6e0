"""The cache of laid-out parts and folio sheets, keyed by everything their bytes depend on."""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import re
from importlib.metadata import version
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from edition.parallel.layout import LayoutConfig, Layouter

log = logging.getLogger("edition")

#: Bump when anything that changes a part's bytes changes in a way the key does not see.
CACHE_FORMAT = "edition-parts-1"


class PartCache:
    """Laid-out parts and folio sheets on disk, keyed by a hash of everything their bytes depend on.

    Safe to delete at any time. An entry is two files, ``<key>.pdf`` and ``<key>.json`` (the
    facts, with the PDF's SHA-256): an entry that is missing, unreadable or does not match
    its hash is a miss, and the part is laid out again.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.used: set[str] = set()

    def get(self, key: str) -> tuple[dict[str, Any], bytes] | None:
        self.used.add(key)
        try:
            facts = json.loads((self.folder / f"{key}.json").read_text(encoding="utf-8"))
            data = (self.folder / f"{key}.pdf").read_bytes()
        except (OSError, ValueError):
            return None
        if not isinstance(facts, dict) or facts.get("sha256") != hashlib.sha256(data).hexdigest():
            return None
        return facts, data

    def put(self, key: str, facts: dict[str, Any], data: bytes) -> None:
        self.used.add(key)
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            record = {**facts, "sha256": hashlib.sha256(data).hexdigest()}
            for suffix, content in ((".pdf", data), (".json", json.dumps(record).encode("utf-8"))):
                temporary = self.folder / f".{key}{suffix}.{os.getpid()}.tmp"
                temporary.write_bytes(content)
                temporary.replace(self.folder / f"{key}{suffix}")
        except OSError as error:  # a cache that cannot be written only costs time
            log.info("layout cache not written (%s): %s", self.folder, error)

    def prune(self) -> None:
        """Remove entries this build did not use (what an earlier version of the book needed)."""
        with contextlib.suppress(OSError):
            for path in self.folder.iterdir():
                key = path.name.split(".")[0] if not path.name.startswith(".") else ""
                if key not in self.used:
                    with contextlib.suppress(OSError):
                        path.unlink()


def _fingerprint(config: LayoutConfig, layouter: Layouter) -> hashlib._Hash:
    """What every cached layout of this book depends on besides its own HTML.

    The versions are read from the installed packages' metadata: importing WeasyPrint here
    would cost this process a second that the layout workers spend anyway.
    """
    digest = hashlib.sha256()

    def add(*values: object) -> None:
        for value in values:
            data = value if isinstance(value, bytes) else str(value).encode("utf-8")
            digest.update(len(data).to_bytes(8, "big") + data)

    meta = config.metadata
    add(CACHE_FORMAT, version("weasyprint"), version("pydyf"), config.profile, config.trim, config.folder)
    add(config.when.isoformat(), meta.identifier, meta.language, meta.date, meta.licence)
    package = Path(__file__).parent
    for module in (package.parent / "pdf.py", *sorted(package.glob("*.py"))):
        add(module.name, module.read_bytes())
    for text, name in layouter.sheets:
        add(name, text)
    for target in sorted(layouter.assets):
        add(target, hashlib.sha256(layouter.assets[target].source.read_bytes()).digest())
    return digest


def _key(fingerprint: hashlib._Hash, *values: str) -> str:
    digest = fingerprint.copy()
    for value in values:
        data = value.encode("utf-8")
        digest.update(len(data).to_bytes(8, "big") + data)
    return digest.hexdigest()


def _files_referenced(html: str, folder: Path) -> str:
    """Contents' hashes of the edition's files a part loads (images): their bytes are in the PDF."""
    found = []
    for match in sorted(set(re.findall(r'\ssrc="([^"]+)"', html))):
        path = (folder / match).resolve()
        if path.is_relative_to(folder) and path.is_file():
            found.append(f"{match}:{hashlib.sha256(path.read_bytes()).hexdigest()}")
    return "\n".join(found)
