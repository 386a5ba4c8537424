"""The shipped held-out suite: eval data built at run time from the embedded corpus in data/.

Nothing is copied into the package: ``build_suite`` reads data/ (the same files every demo
run reads), holds out a fixed, seeded subset of each source's documents and writes two
tasks per source as JSONL; ``glassworks.evals.tasks`` describes them to lm-eval with the
templates in ``evals/tasks/heldout/``:

- ``heldout_ppl_<source>``: the held-out documents themselves (perplexity, bits per byte);
- ``heldout_cloze_<source>``: multiple-choice continuation. Each item is a passage of a
  held-out document ending at a line break; the choices are the true next line and three
  lines of other held-out documents of the same source. A model that learned the source
  ranks the true line first more often than chance (25%).

Sources are found by shape, as the corpus stages read data/: ``text_<name>`` for each
``text/<name>.jsonl``, ``web_<name>`` for each ``web/<name>.warc.gz`` (HTML responses,
text extracted with resiliparse as the corpus recipes do) and ``code`` for the
repositories under ``code/``. A document that has a copy anywhere in the corpus (a planted
or natural duplicate, a vendored file, a mirrored page: at least half of its distinct
lines appear in one other document, or ``planted_from`` names it) is never held out, nor
is any rendering of a page that has such a copy, nor a licence text: their copies would be
in the training data. Nor is a file under a copyleft licence (``data/REUSE.toml`` names each
file's licence): the suite ships in release bundles as evaluation data under a permissive
open-data licence, which copyleft terms do not allow (the Stack recipe keeps such code out of
training for the same reason).

Which documents are held out is a pure function of the seed and the documents: per
source the ``max(min_docs, round(fraction * n))`` documents with the smallest
``sha256("glassworks-heldout-v1:<seed>:<key>")``, where the key is the page URL for
documents that render a web page (the reST source and the HTML of one page are the same
text in two sources, so a page held out in one is held out in both) and the source and id
otherwise. ``held_out_ids`` gives their ids, which are the ids the corpus stages give the
same documents (JSONL ``id``, WARC-Record-ID, ``<repo>/<path>``), so a training mixture
can leave them out; the contamination report measures whether it did.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import re
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from glassworks.errors import GlassworksError

VERSION = "1"
HELD_OUT_IDS = "heldout-ids.txt"
LICENCE_NAMES = {"LICENSE", "LICENCE", "COPYING", "COPYRIGHT", "NOTICE"}
SHARED_LINES = 0.5  # a document sharing this share of its distinct lines with another is a copy
MIN_LINE = 30  # characters of a line that counts for copy detection (shorter ones recur naturally)
COPYLEFT = ("GPL-", "LGPL-", "AGPL-")  # SPDX id prefixes whose files may not ship in a permissive data release


@dataclass(frozen=True)
class SuiteConfig:
    """How much held-out text, and which."""

    seed: int = 0
    fraction: float = 0.1
    """Share of each source's eligible documents that is held out."""
    min_docs: int = 3
    """At least this many documents per source (cloze distractors come from other documents)."""
    ppl_chars: int = 8000
    """Characters of held-out text per source in the perplexity task (whole lines; the last
    document is cut at a line end). Bounds the demo's eval time; raise it for a real model."""
    cloze_items: int = 32
    """Multiple-choice items per source."""
    context_chars: int = 240
    """Characters of passage before the line to predict (whole lines)."""

    def __post_init__(self):
        if not 0 < self.fraction < 1:
            raise ValueError(f"fraction must be in (0, 1), got {self.fraction}")
        if self.min_docs < 2:
            raise ValueError("min_docs must be >= 2: distractors come from other held-out documents")
        if self.ppl_chars <= 0 or self.cloze_items <= 0 or self.context_chars <= 0:
            raise ValueError("ppl_chars, cloze_items and context_chars must be positive")


@dataclass(frozen=True)
class Document:
    source: str
    id: str
    text: str
    page: str | None = None
    """The URL of the web page the document is or renders: the reST source of a page and its
    HTML are the same text, so they are held out together."""

    @property
    def key(self) -> str:
        return f"page:{self.page}" if self.page else f"{self.source}:{self.id}"


# --- reading the embedded corpus --------------------------------------------------------------


def discover(data_dir: str | Path) -> dict[str, Path]:
    """The corpus's sources by shape: ``text_<name>``, ``web_<name>``, ``code`` -> path."""
    data_dir = Path(data_dir)
    found = {}
    for path in sorted((data_dir / "text").glob("*.jsonl")):
        found[f"text_{_slug(path.name[:-len('.jsonl')])}"] = path
    for path in sorted((data_dir / "web").glob("*.warc.gz")):
        found[f"web_{_slug(path.name[:-len('.warc.gz')])}"] = path
    if (data_dir / "code").is_dir():
        found["code"] = data_dir / "code"
    if not found:
        raise GlassworksError(f"{data_dir}: no text/*.jsonl, web/*.warc.gz or code/ here "
                              "(is --data-dir the repository's data/?)")
    return found


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")


def read_sources(data_dir: str | Path) -> dict[str, list[Document]]:
    """Every usable document of every source, copies and licence texts removed, in a fixed order."""
    docs = {}
    for source, path in discover(data_dir).items():
        reader = _jsonl if source.startswith("text_") else _warc if source.startswith("web_") else _code
        docs[source] = list(reader(path, source))
    every = [d for source_docs in docs.values() for d in source_docs]
    copies = _copies(every)
    # a page with a copied rendering (a mirrored HTML page) is out in every source: its copy is trained on
    pages = {d.page for d in every if d.page and (d.source, d.id) in copies}
    return {source: [d for d in source_docs if (d.source, d.id) not in copies and d.page not in pages]
            for source, source_docs in docs.items()}


def _copies(docs: list[Document]) -> set[tuple[str, str]]:
    """(source, id) of documents that share at least SHARED_LINES of their distinct long lines
    with one other document, or whose whole text occurs twice."""
    lines = [{" ".join(line.split()) for line in d.text.splitlines() if len(line.strip()) >= MIN_LINE} for d in docs]
    holders = defaultdict(list)
    for i, own in enumerate(lines):
        for line in own:
            holders[line].append(i)
    texts = Counter(d.text for d in docs)
    out = set()
    for i, own in enumerate(lines):
        shared = Counter(j for line in own for j in holders[line] if j != i)
        if texts[docs[i].text] > 1 or (own and shared and max(shared.values()) >= SHARED_LINES * len(own)):
            out.add((docs[i].source, docs[i].id))
    return out


def _jsonl(path: Path, source: str) -> Iterator[Document]:
    records = []
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise GlassworksError(f"{path}:{number}: invalid JSON ({exc.msg})") from None
    planted = {r["metadata"]["planted_from"] for r in records if "planted_from" in r.get("metadata", {})}
    for r in records:
        if "planted_from" not in r.get("metadata", {}) and r["id"] not in planted and r["text"].strip():
            yield Document(source, r["id"], r["text"], r.get("metadata", {}).get("url"))


def _warc(path: Path, source: str) -> Iterator[Document]:
    from resiliparse.extract.html2text import extract_plain_text
    from warcio.archiveiterator import ArchiveIterator

    with open(path, "rb") as handle:
        for record in ArchiveIterator(handle):
            content_type = record.http_headers.get_header("Content-Type") if record.http_headers else None
            if record.rec_type != "response" or "html" not in (content_type or "").lower():
                continue
            url = record.rec_headers.get_header("WARC-Target-URI")
            record_id = record.rec_headers.get_header("WARC-Record-ID").strip("<>")
            html = record.content_stream().read().decode("utf-8", errors="replace")
            text = extract_plain_text(html, main_content=True, alt_texts=False, links=False, list_bullets=True)
            if text.strip():
                yield Document(source, record_id, text, url)


def file_licences(data_dir: Path) -> dict[str, str]:
    """``path relative to data_dir -> SPDX expression``, from the corpus's ``REUSE.toml`` (exact paths)."""
    import tomllib

    reuse = data_dir / "REUSE.toml"
    if not reuse.is_file():
        return {}
    found = {}
    for note in tomllib.loads(reuse.read_text(encoding="utf-8")).get("annotations", []):
        paths = note.get("path", [])
        for rel in [paths] if isinstance(paths, str) else paths:
            found[rel] = note.get("SPDX-License-Identifier", "")
    return found


def _copyleft(expression: str) -> bool:
    return any(part.startswith(COPYLEFT) for part in re.split(r"[\s()]+", expression))


def _code(root: Path, source: str) -> Iterator[Document]:
    licences = file_licences(root.parent)
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        if path.name in LICENCE_NAMES or _copyleft(licences.get(path.relative_to(root.parent).as_posix(), "")):
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        if text.strip():
            yield Document(source, path.relative_to(root).as_posix(), text)


# --- choosing and writing -----------------------------------------------------------------------


def _key(seed: int, *parts: object) -> str:
    return hashlib.sha256(":".join(["glassworks-heldout-v1", str(seed), *map(str, parts)]).encode()).hexdigest()


def held_out(documents: dict[str, list[Document]], config: SuiteConfig) -> dict[str, list[Document]]:
    """The held-out documents of each source, in key order.

    Per source, the ``max(min_docs, round(fraction * n))`` documents with the smallest keys;
    then every document of any source that renders a page held out anywhere joins them, so
    a page is never held out as reST while its HTML is trained on (or the other way round).
    """
    chosen: dict[str, list[Document]] = {}
    for source, docs in documents.items():
        ranked = sorted(docs, key=lambda d: _key(config.seed, d.key))
        chosen[source] = ranked[:min(len(ranked), max(config.min_docs, round(config.fraction * len(ranked))))]
    pages = {d.page for docs in chosen.values() for d in docs if d.page}
    return {source: sorted({d.id: d for d in chosen[source] + [d for d in docs if d.page in pages]}.values(),
                           key=lambda d: _key(config.seed, d.key))
            for source, docs in documents.items()}


def held_out_ids(data_dir: str | Path, config: SuiteConfig = SuiteConfig()) -> dict[str, list[str]]:
    """Per source, the ids of the documents the suite holds out (for a mixture to exclude).
    They are the ids the corpus stages give these documents: JSONL ``id``, WARC-Record-ID,
    ``<repo>/<path>`` of a code file."""
    return {s: sorted(d.id for d in docs) for s, docs in held_out(read_sources(data_dir), config).items()}


def perplexity_docs(docs: list[Document], budget: int) -> list[dict]:
    """Held-out documents up to ``budget`` characters; the last one cut after a line end."""
    out, used = [], 0
    for doc in docs:
        text = doc.text
        if used + len(text) > budget:
            cut = text.rfind("\n", 0, budget - used)
            text = text[: cut + 1] if cut > 0 else ""
        if text.strip():
            out.append({"id": doc.id, "source": doc.source, "text": text})
            used += len(text)
        if used >= budget:
            break
    return out


def _candidate_lines(doc: Document) -> list[tuple[int, str]]:
    """(offset of the line in the text, line) for lines worth predicting: 20-160 characters,
    mostly letters, digits or spaces, after at least one earlier line."""
    out, offset = [], 0
    for line in doc.text.splitlines(keepends=True):
        body = line.rstrip("\n")
        plain = sum(c.isalnum() or c == " " for c in body)
        if offset > 0 and 20 <= len(body.strip()) <= 160 and plain >= 0.7 * len(body):
            out.append((offset, body))
        offset += len(line)
    return out


def cloze_items(docs: list[Document], config: SuiteConfig) -> list[dict]:
    """Multiple-choice next-line items over the held-out documents of one source."""
    lines = {d.id: _candidate_lines(d) for d in docs}
    candidates = sorted(((_key(config.seed, "cloze", d.id, off), d, off, body) for d in docs for off, body in lines[d.id]),
                        key=lambda c: c[0])
    items = []
    for key, doc, offset, answer in candidates:
        start = doc.text.rfind("\n", 0, max(0, offset - config.context_chars)) + 1
        context = doc.text[start:offset]
        others = sorted(((_key(config.seed, "distractor", key, o.id, off), body) for o in docs if o.id != doc.id
                         for off, body in lines[o.id]), key=lambda c: c[0])
        # lines of about the answer's length first, so that choice length says little
        others.sort(key=lambda c: not 0.67 <= len(c[1]) / len(answer) <= 1.5)
        distractors: list[str] = []
        for _, body in others:
            if body.strip() != answer.strip() and body not in distractors:
                distractors.append(body)
            if len(distractors) == 3:
                break
        if len(distractors) < 3 or not context.strip():
            continue
        label = int(key[:8], 16) % 4
        choices = distractors[:label] + [answer] + distractors[label:]
        items.append({"id": f"{doc.id}@{offset}", "source": doc.source, "context": context,
                      "choices": choices, "label": label})
        if len(items) == config.cloze_items:
            break
    return items


@dataclass(frozen=True)
class SuiteFiles:
    folder: Path
    files: dict[str, Path]  # task name -> its JSONL
    held_out: dict[str, list[str]]  # source -> held-out document ids


def build_suite(data_dir: str | Path, out_dir: str | Path, config: SuiteConfig = SuiteConfig(),
                sources: tuple[str, ...] | None = None) -> SuiteFiles:
    """Write ``heldout_{ppl,cloze}_<source>.jsonl`` into ``out_dir``; same inputs, same bytes.
    ``sources`` limits the tasks written (the split is always drawn over every source)."""
    from glassworks.provenance.atomic import atomic_write_bytes

    data_dir, out_dir = Path(data_dir), Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    chosen = held_out(read_sources(data_dir), config)
    files, ids = {}, {}
    for source in sources or tuple(chosen):
        docs = chosen[source]
        ids[source] = sorted(d.id for d in docs)
        for task, rows in ((f"heldout_ppl_{source}", perplexity_docs(docs, config.ppl_chars)),
                           (f"heldout_cloze_{source}", cloze_items(docs, config))):
            if not rows:
                raise GlassworksError(f"{data_dir}: source {source!r} gave no rows for task {task}")
            body = "".join(json.dumps(r, ensure_ascii=False, sort_keys=True) + "\n" for r in rows)
            atomic_write_bytes(out_dir / f"{task}.jsonl", body.encode("utf-8"))
            files[task] = out_dir / f"{task}.jsonl"
    # Every held-out document id of every source, one a line: what a mixture leaves out of
    # training (the tokens stages' corpus.exclude_ids) so the suite stays unseen.
    every = sorted({d.id for docs in chosen.values() for d in docs})
    atomic_write_bytes(out_dir / HELD_OUT_IDS, "".join(f"{i}\n" for i in every).encode("utf-8"))
    return SuiteFiles(out_dir, files, ids)


def input_paths(data_dir: str | Path) -> list[Path]:
    """The embedded-corpus files the suite reads (for the manifest): the sources, and the
    ``REUSE.toml`` whose licences decide which code files may be held out."""
    reuse = Path(data_dir) / "REUSE.toml"
    return list(discover(data_dir).values()) + ([reuse] if reuse.is_file() else [])


def read_jsonl(path: Path) -> list[dict]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]
