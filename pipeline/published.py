"""Readers for corpora as they are published: JSONL(.gz/.zst), Parquet, WARC and WET.

They are datatrove disk readers (files spread over tasks, local or fsspec paths) driven by
an ``InputSpec`` (format and ``fields`` mapping, see ``formats``). Like glassworks' other
readers they hide nothing: a record that cannot be mapped is quarantined with its file and
line (or row, or byte), and damage to a compressed file is skipped to the next gzip member
or zstd frame, to the next line, or to the next WARC record, with one quarantine record per
loss saying where it began and where reading resumed.
"""

from __future__ import annotations

import base64
import json

from datatrove.data import Document, DocumentsPipeline
from datatrove.pipeline.readers.base import BaseDiskReader

from glassworks.pipeline.compressed import Damage, Stream, codec_of, decompressed
from glassworks.pipeline.documents import mark_dropped, mark_quarantined
from glassworks.pipeline.formats import InputSpec, mapped
from glassworks.pipeline.readers import RESERVED_KEYS

LOST = "archive_damage"  # the quarantine reason of bytes a reader could not recover


def damage_record(filepath: str, damage: Damage) -> Document:
    """The quarantine record of one stretch of lost bytes."""
    reason = "truncated_archive" if damage.truncated else LOST
    meta = {"file_path": filepath, **damage.as_json()}
    return mark_quarantined(Document(text="", id=f"{filepath}@{damage.at_byte}", metadata=meta), reason)


def _bad(filepath: str, where: dict, reason: str, error: str, raw: bytes | None = None) -> Document:
    meta = {"file_path": filepath, **where, "error": error}
    if raw is not None:
        meta["raw_base64"] = base64.b64encode(raw).decode("ascii")
    label = ":".join(str(v) for v in where.values())
    return mark_quarantined(Document(text="", id=f"{filepath}:{label}", metadata=meta), reason)


class _SpecReader(BaseDiskReader):
    """A disk reader configured by one resolved ``InputSpec``."""

    def __init__(self, data_folder: str, spec: InputSpec, **kwargs):
        spec = spec.resolved()
        super().__init__(data_folder, glob_pattern=spec.glob, **kwargs)
        self.spec = spec

    def _document(self, record, filepath: str, where: dict, raw: bytes | None) -> Document:
        position = ":".join(str(v) for v in where.values())
        doc, error = mapped(record, self.spec.fields, filepath, position)
        if doc is None:
            return _bad(filepath, where, "missing_field", error, raw)
        forged = [key for key in RESERVED_KEYS if key in doc.metadata]
        if forged:  # raw input must not choose its own door out of the pipeline
            return _bad(filepath, where, "reserved_metadata_key", f"input carries {', '.join(forged)}", raw)
        doc.metadata.update({"file_path": filepath, **where})
        return doc


class JsonRecordsReader(_SpecReader):
    """One document per JSON line; gzip and zstd by extension, resynced after damage."""

    name = "📄 JSON lines (published)"

    def read_file(self, filepath: str) -> DocumentsPipeline:
        with self.data_folder.open(filepath, "rb", compression=None) as handle:
            stream = Stream(decompressed(handle, codec_of(filepath)))
            reported = 0
            number = 0
            while True:
                start = stream.pos
                raw = stream.readline()
                if not raw:
                    break
                number += 1
                crossed = stream.damaged_between(start, stream.pos)
                while reported < len(stream.damages):  # each loss once, where it is met
                    yield damage_record(filepath, stream.damages[reported][1])
                    reported += 1
                if crossed:
                    yield _bad(filepath, {"line": number}, "damaged_record",
                               f"the line spans lost bytes at {crossed[0].at_byte}", raw)
                    continue
                yield self._line(raw, filepath, number)
            for _, damage in stream.damages[reported:]:
                yield damage_record(filepath, damage)

    def _line(self, raw: bytes, filepath: str, number: int) -> Document:
        where = {"line": number}
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            return _bad(filepath, where, "invalid_utf8", f"byte {exc.start}: {exc.reason}", raw)
        if not line.strip():
            return mark_dropped(Document(text="", id=f"{filepath}:{number}", metadata={"file_path": filepath, **where}),
                                "blank_line")
        try:
            value = json.loads(line)
        except json.JSONDecodeError as exc:
            return _bad(filepath, where, "malformed_json", f"column {exc.colno}: {exc.msg}", raw)
        try:
            json.dumps(value, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError as exc:  # JSON escapes can spell lone surrogates
            return _bad(filepath, where, "lone_surrogate", f"character {exc.start}: {exc.reason}", raw)
        return self._document(value, filepath, where, raw)


class ParquetRecordsReader(_SpecReader):
    """One document per Parquet row, a row group at a time; an unreadable rest is one record."""

    name = "🗜 Parquet (published)"
    _requires_dependencies = ["pyarrow"]

    def read_file(self, filepath: str) -> DocumentsPipeline:
        import pyarrow
        import pyarrow.parquet as pq

        row = 0
        try:
            with self.data_folder.open(filepath, "rb") as handle:
                for batch in pq.ParquetFile(handle).iter_batches(batch_size=1024):
                    for record in batch.to_pylist():
                        yield self._document(record, filepath, {"row": row}, None)
                        row += 1
        except (pyarrow.ArrowException, OSError) as exc:
            yield _bad(filepath, {"row": row}, "truncated_archive", f"{type(exc).__name__}: {exc}")


class WarcRecordsReader(_SpecReader):
    """WARC response records (HTML, charset decided and recorded) or WET conversion records.

    Parsed here rather than by warcio so that junk between records, or a record cut short,
    costs only itself: reading resumes at the next line that starts a WARC record.
    """

    name = "🕷 WARC/WET (published)"

    def read_file(self, filepath: str) -> DocumentsPipeline:
        from glassworks.pipeline.warc import records

        with self.data_folder.open(filepath, "rb", compression=None) as handle:
            for item in records(Stream(decompressed(handle, codec_of(filepath)))):
                if isinstance(item, Damage):
                    yield damage_record(filepath, item)
                else:
                    yield self._warc_document(item, filepath)

    def _warc_document(self, rec, filepath: str) -> Document:
        from glassworks.pipeline.charset import decode_html

        where = {"record_index": rec.index}
        if rec.problem:
            return _bad(filepath, {**where, "at_byte": rec.offset}, rec.problem[0], rec.problem[1], rec.raw)
        record_id = (rec.headers.get("warc-record-id") or f"{filepath}#{rec.index}").strip("<>")
        meta = {"file_path": filepath, **where, "warc_record_id": record_id, "warc_type": rec.type,
                "url": rec.headers.get("warc-target-uri"), "warc_date": rec.headers.get("warc-date")}
        wanted = "conversion" if self.spec.format == "wet" else "response"
        if rec.type != wanted:
            text = rec.block.decode("utf-8", errors="replace")
            return mark_dropped(Document(text=text, id=record_id, metadata=meta), f"warc_not_{wanted}")
        if wanted == "conversion":  # WET: the extracted text, always UTF-8
            meta["language"] = rec.headers.get("warc-identified-content-language")
            meta["refers_to"] = (rec.headers.get("warc-refers-to") or "").strip("<>") or None
            try:
                return Document(text=rec.block.decode("utf-8"), id=record_id, metadata=meta)
            except UnicodeDecodeError as exc:
                return _bad(filepath, where, "invalid_utf8", f"byte {exc.start}: {exc.reason}", rec.block)
        status, http_headers, body = rec.http()
        content_type = http_headers.get("content-type")
        meta.update({"content_type": content_type, "http_status": status})
        if not content_type or "html" not in content_type.lower():
            raw = base64.b64encode(body).decode("ascii")
            return mark_dropped(Document(text="", id=record_id, metadata={**meta, "raw_base64": raw}), "not_html")
        text, decision = decode_html(body, content_type)
        meta["charset"] = decision
        if text is None:
            raw = base64.b64encode(body).decode("ascii")
            return mark_quarantined(Document(text="", id=record_id, metadata={**meta, "raw_base64": raw}),
                                    "undecodable_html")
        return Document(text=text, id=record_id, metadata=meta)


READERS = {"jsonl": JsonRecordsReader, "parquet": ParquetRecordsReader, "warc": WarcRecordsReader,
           "wet": WarcRecordsReader}


def reader_for(data_folder: str, spec: InputSpec) -> _SpecReader:
    """The datatrove reader of one input spec (resolved against its preset)."""
    resolved = spec.resolved()
    return READERS[resolved.format](data_folder, resolved)
