"""What the shipped data is made of, licence by licence: ``corpus/NOTICE.md`` and the REUSE terms
of the data folders.

A data component carries one licence in ``model.yml`` (CDLA-Permissive-2.0 in the demo): it
covers what the release adds, the selection, extraction, weights and shards. The documents
inside keep their own terms (BSD-2-Clause asks that its notice travel with every copy, MIT
that its notice does), so the bundle names them too: ``NOTICE.md`` lists every content licence
with the documents under it and their copyright holders, the bundle's ``REUSE.toml`` gives the
data folders the expression ``<component licence> AND <content licences>``, and ``LICENSES/``
carries every text. A document's licence is its own ``metadata.license`` where a corpus stage
kept one, else the licence ``data/REUSE.toml`` gives the raw file of its shape (a WARC record
has no licence field of its own).
"""

from __future__ import annotations

import gzip
import json
import tomllib
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

NOTICE = "corpus/NOTICE.md"


@dataclass
class Content:
    """Documents per content licence, and the holders of each licence's raw files."""

    documents: Counter = field(default_factory=Counter)  # licence -> documents shipped under it
    holders: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))

    @property
    def licences(self) -> list[str]:
        return sorted(self.documents)


def raw_annotations(data_dir: Path) -> dict[str, tuple[str, list[str]]]:
    """``raw path -> (licence, holders)`` from the embedded corpus's ``REUSE.toml``."""
    path = data_dir / "REUSE.toml"
    if not path.is_file():
        return {}
    found = {}
    for note in tomllib.loads(path.read_text(encoding="utf-8")).get("annotations", []):
        paths, holders = note.get("path", []), note.get("SPDX-FileCopyrightText", [])
        for rel in [paths] if isinstance(paths, str) else paths:
            found[rel] = (note.get("SPDX-License-Identifier", ""), [holders] if isinstance(holders, str) else holders)
    return found


RAW_SHAPES = ("text/", "web/", "code/")  # the corpus files of a data folder; the rest is its tooling


def corpus_annotations(data_dir: Path) -> dict[str, tuple[str, list[str]]]:
    """``raw_annotations`` of the corpus files only (not the build scripts and listings beside them)."""
    return {rel: note for rel, note in raw_annotations(data_dir).items() if rel.startswith(RAW_SHAPES)}


def _shape_licence(raw: dict, shape: str) -> str | None:
    """The one licence of every raw file of a shape (``web/...``), or None when they differ."""
    found = {licence for rel, (licence, _) in raw.items() if rel.startswith(f"{shape}/")}
    return found.pop() if len(found) == 1 else None


def _licence_of(metadata: dict, raw: dict) -> str:
    licence = metadata.get("license")
    if isinstance(licence, dict):
        licence = licence.get("spdx")
    if licence:
        return licence
    return _shape_licence(raw, str(metadata.get("source", "")).split("_")[0]) or "NOASSERTION"


def shipped_content(bundle: Path, documents: list[str], data_dir: Path) -> Content:
    """The content licences of the shipped documents (``documents``: bundle paths of JSONL(.gz) files)."""
    raw = raw_annotations(data_dir)
    content = Content()
    for rel in documents:
        opener = gzip.open if rel.endswith(".gz") else open
        with opener(bundle / rel, "rt", encoding="utf-8") as handle:
            for line in handle:
                if line.strip():
                    content.documents[_licence_of(json.loads(line).get("metadata", {}), raw)] += 1
    for licence in content.documents:
        for raw_licence, holders in raw.values():
            if raw_licence == licence:
                content.holders[licence].update(holders)
    return content


def notice_text(component_licence: str, content: Content) -> str:
    lines = ["# Notices of the shipped data", "",
             f"The data of this bundle (`corpus/`) is released under {component_licence} "
             f"(`LICENSES/{component_licence}.txt`). That licence covers the compilation: which documents were "
             "kept, the extracted text, the dedup weights and clusters, the metadata and the token shards. The "
             "documents themselves stay under their authors' terms, listed below with their texts in `LICENSES/`; "
             "each JSONL document names its own licence in `metadata.license` where the source gave one. The "
             "token shards are made from the same documents.", "",
             "| licence | documents | copyright holders of the sources under it | text |", "|---|---|---|---|"]
    for licence in content.licences:
        holders = "; ".join(sorted(content.holders.get(licence, ()))) or "-"
        text = f"`LICENSES/{licence}.txt`" if licence != "NOASSERTION" else "-"
        lines.append(f"| {licence} | {content.documents[licence]} | {holders} | {text} |")
    return "\n".join(lines) + "\n"


def suite_content(bundle: Path, suite_files: list[str], data_dir: Path) -> Content:
    """The content licences of the held-out evaluation suite: each item names its source
    (``text_<name>``, ``web_<name>``, ``code``) and, for code, the file (``<repo>/<path>[@line]``)."""
    raw = raw_annotations(data_dir)
    by_source = {}
    for rel in raw:
        shape, _, name = rel.partition("/")
        stem = name.split(".")[0].replace("-", "_").lower()
        if shape in ("text", "web"):
            by_source[f"{shape}_{stem}"] = rel
    content = Content()
    for rel in suite_files:
        if not rel.endswith(".jsonl"):
            continue
        for line in (bundle / rel).read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            item = json.loads(line)
            source = item.get("source", "")
            path = f"code/{item.get('id', '').split('@')[0]}" if source == "code" else by_source.get(source, "")
            licence, holders = raw.get(path, ("NOASSERTION", []))
            content.documents[licence] += 1
            content.holders[licence].update(holders)
    return content


def data_terms(component_licence: str, content: Content, where: str) -> tuple[tuple[str, list[str]] | None, str | None]:
    """The REUSE terms of a data folder (the expression of the component's licence and every
    content licence, and the holders of the content), or, when some documents cannot be traced
    to a source with a known licence, no terms of its own and a warning that says so."""
    unknown = content.documents.get("NOASSERTION", 0)
    if unknown:
        return None, (f"{where}: the licence of {unknown} of {sum(content.documents.values())} document(s) cannot be "
                      f"traced to a source in data/REUSE.toml; only {component_licence} is declared for them")
    holders = sorted({h for licence in content.licences for h in content.holders.get(licence, ())})
    return (" AND ".join(dict.fromkeys([component_licence, *content.licences])), holders), None


COPYLEFT = ("GPL-", "LGPL-", "AGPL-")


def copyleft_in(terms: dict[str, tuple[str, list[str]]]) -> list[str]:
    """Data folders whose content carries a copyleft licence: a permissive data licence on them claims too much."""
    return [f"{folder}: holds documents under {part}, which a permissive data licence cannot cover"
            for folder, (expression, _) in sorted(terms.items()) for part in expression.split(" AND ")
            if part.startswith(COPYLEFT)]
