"""Readers and the accounting writer on bad input: everything is kept, dropped or quarantined."""

import base64
import gzip
import io
import json
from pathlib import Path

import pytest
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from glassworks.pipeline.readers import CodeTreeReader, JsonlDocumentReader, WarcHtmlReader, licence_files

REPO = Path(__file__).resolve().parents[2]


def test_jsonl_bad_lines_are_quarantined_with_file_line_and_bytes(tmp_path, through_writer):
    src = tmp_path / "src"
    src.mkdir()
    lines = [
        b'{"id": "a", "text": "first good document"}',
        b'{"id": "b", "text": "broken',
        b"\xff\xfe not utf-8 at all",
        b"[1, 2, 3]",
        b'{"id": "c"}',
        b"",
        b'{"id": "d", "text": "lone \\ud800 surrogate"}',
        '{"id": "e", "text": "Grüße, 日本語 and emoji 🙂", "metadata": {"lang": "de"}}'.encode(),
    ]
    (src / "part.jsonl").write_bytes(b"\n".join(lines) + b"\n")
    doors = through_writer(JsonlDocumentReader(str(src)), tmp_path / "out")
    assert [d["id"] for d in doors["kept"]] == ["a", "e"]
    assert doors["kept"][1]["text"] == "Grüße, 日本語 and emoji 🙂" and doors["kept"][1]["metadata"]["lang"] == "de"
    reasons = {d["metadata"]["line"]: d["metadata"]["quarantine_reason"] for d in doors["quarantined"]}
    assert reasons == {2: "malformed_json", 3: "invalid_utf8", 4: "not_an_object", 5: "missing_id_or_text",
                       7: "lone_surrogate"}
    bad_utf8 = next(d for d in doors["quarantined"] if d["metadata"]["line"] == 3)
    assert base64.b64decode(bad_utf8["metadata"]["raw_base64"]) == lines[2] + b"\n"  # nothing lost
    assert all(d["metadata"]["file_path"] == "part.jsonl" for d in doors["quarantined"])
    assert [d["metadata"]["drop_reason"] for d in doors["dropped"]] == ["blank_line"]


def test_truncated_gzip_and_empty_file(tmp_path, through_writer):
    src = tmp_path / "src"
    src.mkdir()
    body = "".join(json.dumps({"id": str(i), "text": f"document number {i} " * 50}) + "\n" for i in range(200))
    packed = gzip.compress(body.encode())
    (src / "cut.jsonl.gz").write_bytes(packed[: len(packed) // 2])
    (src / "empty.jsonl").write_bytes(b"")
    doors = through_writer(JsonlDocumentReader(str(src)), tmp_path / "out")
    assert 0 < len(doors["kept"]) < 200
    assert [d["metadata"]["quarantine_reason"] for d in doors["quarantined"]] == ["truncated_archive"]
    assert doors["quarantined"][0]["metadata"]["line"] == len(doors["kept"]) + 1


def test_huge_document_passes_whole(tmp_path, through_writer):
    src = tmp_path / "src"
    src.mkdir()
    text = "All work and no play. " * 1_500_000  # 33 MB on one line
    (src / "big.jsonl").write_text(json.dumps({"id": "big", "text": text}) + "\n")
    doors = through_writer(JsonlDocumentReader(str(src)), tmp_path / "out")
    assert len(doors["kept"]) == 1 and doors["kept"][0]["text"] == text


def warc_record(writer, uri, payload, content_type="text/html; charset=utf-8"):
    headers = StatusAndHeaders("200 OK", [("Content-Type", content_type)], protocol="HTTP/1.1")
    writer.write_record(writer.create_warc_record(uri, "response", payload=io.BytesIO(payload), http_headers=headers))


def test_warc_records_each_leave_by_one_door(tmp_path, through_writer):
    src = tmp_path / "src"
    src.mkdir()
    with open(src / "crawl.warc.gz", "wb") as handle:
        writer = WARCWriter(handle, gzip=True)
        writer.write_record(writer.create_warcinfo_record("crawl.warc.gz", {"software": "test"}))
        warc_record(writer, "https://example.org/a", "<html><body>Größe</body></html>".encode())
        warc_record(writer, "https://example.org/logo.png", b"\x89PNG\r\n", "image/png")
        warc_record(writer, "https://example.org/latin", "<p>caf\xe9</p>".encode("latin-1"), "text/html; charset=iso-8859-1")
        warc_record(writer, "https://example.org/bad", b"<p>\xff\xfe</p>", "text/html; charset=utf-8")
    doors = through_writer(WarcHtmlReader(str(src)), tmp_path / "out")
    assert [d["metadata"]["url"] for d in doors["kept"]] == ["https://example.org/a", "https://example.org/latin"]
    assert doors["kept"][0]["text"] == "<html><body>Größe</body></html>" and doors["kept"][1]["text"] == "<p>café</p>"
    assert doors["kept"][0]["id"].startswith("urn:uuid:")
    assert sorted(d["metadata"]["drop_reason"] for d in doors["dropped"]) == ["not_html", "warc_not_response"]
    assert [d["metadata"]["quarantine_reason"] for d in doors["quarantined"]] == ["undecodable_html"]


def test_truncated_warc_is_quarantined(tmp_path, through_writer):
    src = tmp_path / "src"
    src.mkdir()
    whole = (REPO / "data" / "web" / "sphinx-docs.warc.gz").read_bytes()
    (src / "cut.warc.gz").write_bytes(whole[: len(whole) // 3])
    doors = through_writer(WarcHtmlReader(str(src)), tmp_path / "out")
    assert len(doors["kept"]) > 5
    # the cut falls inside a record: it is quarantined, never kept as a shortened page
    assert [d["metadata"]["quarantine_reason"] for d in doors["quarantined"]] == ["truncated_record"]
    assert all(d["text"].rstrip().endswith("</html>") for d in doors["kept"])


def test_code_tree_reader(tmp_path, through_writer):
    root = tmp_path / "code"
    (root / "permissive" / "src").mkdir(parents=True)
    (root / "permissive" / "LICENSE").write_text("MIT License\n")
    (root / "permissive" / "src" / "tool.py").write_text("print('hi')\n")
    (root / "permissive" / "run").write_text("#!/bin/sh\necho hi\n")
    (root / "nolicence").mkdir()
    (root / "nolicence" / "lib.c").write_text("int main(void) { return 0; }\n")
    (root / "nolicence" / "blob.bin").write_bytes(b"\x00\x01\x02binary")
    doors = through_writer(CodeTreeReader(root), tmp_path / "out")
    kept = {d["id"]: d["metadata"] for d in doors["kept"]}
    assert kept["permissive/src/tool.py"]["language"] == "Python"
    assert kept["permissive/run"]["language"] == "Shell"
    assert kept["permissive/src/tool.py"]["license_files"] == ["LICENSE"]
    assert kept["nolicence/lib.c"] == {"repo": "nolicence", "path": "lib.c", "language": "C", "license_files": [], "bytes": 29}
    assert [d["id"] for d in doors["quarantined"]] == ["nolicence/blob.bin"]


def test_embedded_code_tree_licence_states():
    repos = {p.name: licence_files(p) for p in (REPO / "data" / "code").iterdir() if p.is_dir()}
    assert any(not files for files in repos.values()), repos  # a repository with no licence file
    assert sum(bool(files) for files in repos.values()) >= 3, repos


def test_missing_code_tree_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="code tree not found"):
        list(CodeTreeReader(tmp_path / "nope").run(None, 0, 1))


def test_not_a_warc_is_quarantined(tmp_path, through_writer):
    src = tmp_path / "src"
    src.mkdir()
    (src / "a.warc").write_text("this is not a WARC file\n")
    (src / "b.warc").write_text("neither is this one\nline two\n\nmore")
    doors = through_writer(WarcHtmlReader(str(src)), tmp_path / "out")
    assert doors["kept"] == [] and doors["dropped"] == []
    assert [d["metadata"]["quarantine_reason"] for d in doors["quarantined"]] == ["not_a_warc_record", "unreadable_archive"]


def test_marking_filter_keeps_rejected_documents_in_the_stream(tmp_path):
    from datatrove.data import Document
    from datatrove.pipeline.filters.base_filter import BaseFilter

    from glassworks.pipeline.documents import MarkingFilter, mark_quarantined

    class Short(BaseFilter):
        name = "short"

        def filter(self, doc):
            return len(doc.text) >= 10 or (False, "too_short")

    docs = [Document(text="long enough text", id="a"), Document(text="tiny", id="b"),
            mark_quarantined(Document(text="", id="c"), "bad")]
    out = list(MarkingFilter(Short(), "short").run(iter(docs)))
    assert [d.id for d in out] == ["a", "b", "c"]
    assert out[1].metadata["drop_reason"] == "short:too_short" and "drop_reason" not in out[2].metadata
