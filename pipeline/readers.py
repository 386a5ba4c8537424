"""Readers for the three raw shapes: WARC web pages, JSONL text and code trees.

They are datatrove steps, so an executor spreads files (or repositories) over tasks. Unlike
datatrove's stock readers, they never skip anything silently: a record that is not a
document is yielded marked as dropped, and one that cannot be read is yielded marked as
quarantined with the file and line or record it came from; ``AccountingWriter`` then
writes each to its own door. datatrove's ``WarcReader`` drops non-HTML and undecodable
records and its ``JsonlReader`` drops documents without text, which is why these exist.
"""

from __future__ import annotations

import base64
import io
import json
import re
import zlib
from typing import Iterator
from pathlib import Path

from datatrove.data import Document, DocumentsPipeline
from datatrove.pipeline.base import PipelineStep
from datatrove.pipeline.readers.base import BaseDiskReader

from glassworks.pipeline.code.languages import detect_language
from glassworks.pipeline.compressed import codec_of
from glassworks.pipeline.documents import mark_dropped, mark_quarantined
from glassworks.provenance.hashing import sha256_file

ARCHIVE_ERRORS = (EOFError, OSError, zlib.error)


class WarcHtmlReader(BaseDiskReader):
    """One document per WARC response record holding HTML; the text is the decoded HTML.

    Metadata: url, warc_record_id, warc_date, content_type, file_path. Extraction to plain
    text is a later stage, so this one keeps the page exactly as it was served.
    """

    name = "🕷 WARC (HTML, accounted)"
    _requires_dependencies = ["warcio"]

    def read_file(self, filepath: str) -> DocumentsPipeline:
        from warcio.archiveiterator import ArchiveIterator
        from warcio.exceptions import ArchiveLoadFailed

        index = -1
        try:
            with self.data_folder.open(filepath, "rb", compression=None) as handle:
                for index, record in enumerate(ArchiveIterator(handle)):
                    yield self._document(record, filepath, index)
        except (ArchiveLoadFailed, *ARCHIVE_ERRORS) as exc:
            yield mark_quarantined(
                Document(text="", id=f"{filepath}#after-record-{index}",
                         metadata={"file_path": filepath, "error": f"{type(exc).__name__}: {exc}"}),
                "unreadable_archive",
            )

    def _document(self, record, filepath: str, index: int) -> Document:
        headers = record.rec_headers
        record_id = (headers.get_header("WARC-Record-ID") or f"{filepath}#{index}").strip("<>")
        metadata = {
            "file_path": filepath,
            "record_index": index,
            "warc_record_id": record_id,
            "warc_type": record.rec_type,
            "url": headers.get_header("WARC-Target-URI"),
            "warc_date": headers.get_header("WARC-Date"),
        }
        body = record.content_stream().read()
        if record.format != "warc":  # warcio falls back to the old ARC format for anything else
            raw = base64.b64encode(body).decode("ascii")
            meta = {**metadata, "raw_base64": raw, "error": f"a {record.format} record, not WARC"}
            return mark_quarantined(Document(text="", id=record_id, metadata=meta), "not_a_warc_record")
        missing = getattr(record.raw_stream, "limit", 0)  # block bytes promised by Content-Length, not there
        if missing > 0:
            raw = base64.b64encode(body).decode("ascii")
            meta = {**metadata, "raw_base64": raw, "error": f"record ends {missing} bytes before its Content-Length"}
            return mark_quarantined(Document(text="", id=record_id, metadata=meta), "truncated_record")
        if record.rec_type != "response":
            text = body.decode("utf-8", errors="replace")
            return mark_dropped(Document(text=text, id=record_id, metadata=metadata), "warc_not_response")
        content_type = record.http_headers.get_header("Content-Type") if record.http_headers else None
        metadata["content_type"] = content_type
        if not content_type or "html" not in content_type.lower():
            raw = base64.b64encode(body).decode("ascii")
            return mark_dropped(Document(text="", id=record_id, metadata={**metadata, "raw_base64": raw}), "not_html")
        charset = "utf-8"
        for part in content_type.split(";")[1:]:
            key, _, value = part.strip().partition("=")
            if key.lower() == "charset" and value:
                charset = value.strip("\"'")
        try:
            text = body.decode(charset)
        except (UnicodeDecodeError, LookupError) as exc:
            raw = base64.b64encode(body).decode("ascii")
            return mark_quarantined(
                Document(text="", id=record_id, metadata={**metadata, "raw_base64": raw, "error": str(exc)}),
                "undecodable_html",
            )
        return Document(text=text, id=record_id, metadata=metadata)


class JsonlDocumentReader(BaseDiskReader):
    """One document per JSONL line (plain, .gz or .zst) with a string ``id`` and ``text``.

    A line that is not UTF-8, not JSON, not an object, or lacks a string id or text, is
    quarantined with its file and line number and its raw bytes (base64); a truncated gzip
    quarantines the rest of its file as one record. ``trust_marks`` is for reading
    glassworks' own stage outputs, whose drop and quarantine marks are real; raw input that
    carries them is quarantined instead.
    """

    name = "📄 JSONL (accounted)"

    def __init__(self, *args, trust_marks: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.trust_marks = trust_marks

    def lines(self, filepath: str) -> Iterator[tuple[int, bytes]]:
        """(line number, raw line) of one file, decompressed by its extension (gzip, zstd)."""
        compression = codec_of(filepath)  # fsspec's codec names
        with self.data_folder.open(filepath, "rb", compression=compression) as opened:
            # zstandard's reader has no line iteration; a buffer over it has
            handle = io.BufferedReader(opened) if compression == "zstd" else opened
            yield from enumerate(handle, 1)

    def read_file(self, filepath: str) -> DocumentsPipeline:
        number = 0
        try:
            for number, raw in self.lines(filepath):
                yield self._document(raw, filepath, number)
        except ARCHIVE_ERRORS as exc:
            yield mark_quarantined(
                Document(text="", id=f"{filepath}:{number + 1}",
                         metadata={"file_path": filepath, "line": number + 1, "error": f"{type(exc).__name__}: {exc}"}),
                "truncated_archive",
            )

    def _document(self, raw: bytes, filepath: str, number: int) -> Document:
        where = {"file_path": filepath, "line": number}

        def bad(reason: str, error: str) -> Document:
            meta = {**where, "error": error, "raw_base64": base64.b64encode(raw).decode("ascii")}
            return mark_quarantined(Document(text="", id=f"{filepath}:{number}", metadata=meta), reason)

        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            return bad("invalid_utf8", f"byte {exc.start}: {exc.reason}")
        if not line.strip():
            return mark_dropped(Document(text="", id=f"{filepath}:{number}", metadata=where), "blank_line")
        try:
            value = json.loads(line)
        except json.JSONDecodeError as exc:
            return bad("malformed_json", f"column {exc.colno}: {exc.msg}")
        return document_from_record(value, f"{filepath}:{number}", where, raw, check_surrogates="\\u" in line,
                                    trust_marks=self.trust_marks)


def document_from_record(value, fallback_id: str, where: dict, raw: bytes | None = None,
                         check_surrogates: bool = True, trust_marks: bool = False) -> Document:
    """A Document from one JSON object or table row with a string ``id`` and ``text``;
    anything else is quarantined with ``where`` (file, line or row) and the raw bytes."""

    def bad(reason: str, error: str) -> Document:
        meta = {**where, "error": error}
        if raw is not None:
            meta["raw_base64"] = base64.b64encode(raw).decode("ascii")
        else:
            meta["raw_json"] = json.dumps(value, default=repr, ensure_ascii=True)
        return mark_quarantined(Document(text="", id=fallback_id, metadata=meta), reason)

    if not isinstance(value, dict):
        return bad("not_an_object", f"a JSON {type(value).__name__}, not an object")
    text, doc_id = value.get("text"), value.get("id")
    if not isinstance(text, str) or not isinstance(doc_id, str) or not doc_id:
        return bad("missing_id_or_text", "needs a string 'id' and a string 'text' (published data in other fields or "
                                         "without ids: declare it under documents.inputs with a preset or fields)")
    if check_surrogates:  # JSON escapes can spell lone surrogates, which no UTF-8 output can hold
        try:
            json.dumps(value, ensure_ascii=False, default=str).encode("utf-8")
        except UnicodeEncodeError as exc:
            return bad("lone_surrogate", f"character {exc.start}: {exc.reason}")
    metadata = value.get("metadata") if isinstance(value.get("metadata"), dict) else {}
    extra = {k: v for k, v in value.items() if k not in ("id", "text", "metadata")}
    forged = [] if trust_marks else [key for key in RESERVED_KEYS if key in metadata or key in extra]
    if forged:  # raw input must not choose its own door out of the pipeline
        return bad("reserved_metadata_key", f"input carries {', '.join(forged)}")
    return Document(text=text, id=doc_id, metadata={**extra, **metadata, **where})


MAX_CODE_FILE_BYTES = 10 * 1024 * 1024
RESERVED_KEYS = ("drop_reason", "quarantine_reason")  # set by glassworks' own steps only
LICENSE_FILE = re.compile(r"^(licen[cs]e|copying|copyright|unlicen[cs]e|notice)([-._].*)?$", re.IGNORECASE)


def licence_files(repo: Path) -> list[str]:
    """Names of the licence files at a repository's top level (LICENSE, COPYING, ...)."""
    return sorted(p.name for p in repo.iterdir() if p.is_file() and LICENSE_FILE.match(p.name))


class CodeTreeReader(PipelineStep):
    """One document per file of a code tree whose top-level folders are repositories.

    Repositories (not files) are spread over tasks, since licence and repository facts
    belong to the whole folder. Metadata: repo, path, language (by extension or shebang),
    license_files (the repository's top-level licence files; empty when it has none).
    Binary or non-UTF-8 files are quarantined with their bytes.
    """

    name = "🗂 code tree"
    type = "📖 - READER"

    def __init__(self, root: str | Path):
        super().__init__()
        self.root = Path(root)

    def run(self, data: DocumentsPipeline = None, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        if data:
            yield from data
        if not self.root.is_dir():
            raise FileNotFoundError(f"{self.root}: code tree not found")
        entries = sorted(self.root.iterdir())
        repos = [p for p in entries if p.is_dir()]
        if rank == 0:  # a file beside the repositories belongs to none: quarantined, not ignored
            for stray in (p for p in entries if p.is_file()):
                self.stat_update("documents")  # as datatrove's readers count what they yield
                yield mark_quarantined(Document(text="", id=stray.name, metadata={"path": stray.name,
                                                "bytes": stray.stat().st_size}), "not_in_a_repository")
        # contiguous slices, so the concatenated shards keep (repo, path) order for exact dedup
        start, stop = len(repos) * rank // world_size, len(repos) * (rank + 1) // world_size
        for repo in repos[start:stop]:
            licences = licence_files(repo)
            self.stat_update("repositories")
            for file in sorted(p for p in repo.rglob("*") if p.is_file()):
                self.stat_update("documents")
                yield self._document(repo, file, licences)

    def _document(self, repo: Path, file: Path, licences: list[str]) -> Document:
        rel = file.relative_to(repo).as_posix()
        size = file.stat().st_size
        if size > MAX_CODE_FILE_BYTES:  # no source file is this big; don't load or copy it
            sha, _ = sha256_file(file)
            return mark_quarantined(Document(text="", id=f"{repo.name}/{rel}", metadata={
                "repo": repo.name, "path": rel, "bytes": size, "sha256": sha}), "too_large")
        raw = file.read_bytes()
        head = raw[:200].decode("utf-8", errors="replace")
        metadata = {"repo": repo.name, "path": rel, "language": detect_language(rel, head),
                    "license_files": licences, "bytes": len(raw)}
        doc_id = f"{repo.name}/{rel}"
        try:
            if b"\0" in raw[:8192]:
                raise UnicodeDecodeError("utf-8", raw, raw.index(b"\0"), raw.index(b"\0") + 1, "NUL byte: binary file")
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            meta = {**metadata, "error": f"byte {exc.start}: {exc.reason}", "raw_base64": base64.b64encode(raw).decode("ascii")}
            return mark_quarantined(Document(text="", id=doc_id, metadata=meta), "binary_or_not_utf8")
        return Document(text=text, id=doc_id, metadata=metadata)
