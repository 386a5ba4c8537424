"""Published corpus shapes read as their publishers wrote them, and every input file accounted for."""

import gzip
import io
import json
import shutil
import sys
from pathlib import Path

import pytest

from glassworks.config import from_dict
from glassworks.errors import GlassworksError
from glassworks.pipeline.compressed import GZIP_MAGIC, Damage, decompressed
from glassworks.pipeline.formats import InputSpec
from glassworks.pipeline.ingest import DocumentsConfig, run_documents
from glassworks.pipeline.published import reader_for

sys.path.insert(0, str(Path(__file__).parent / "fixtures" / "published"))
import build as published  # noqa: E402  (the fixture builder lives beside its samples)


@pytest.fixture(scope="module")
def samples(tmp_path_factory):
    root = tmp_path_factory.mktemp("published") / "raw"
    return root, published.build(root)


def _read(root: Path, spec: dict, out: Path, through_writer) -> dict:
    spec = from_dict(InputSpec, spec)
    return through_writer(reader_for(str(root / spec.shape), spec), out)


@pytest.mark.parametrize("spec", published.INPUTS, ids=[s["preset"] for s in published.INPUTS])
def test_each_preset_reads_every_record_of_its_sample(samples, spec, tmp_path, through_writer):
    root, expected = samples
    doors = _read(root, spec, tmp_path, through_writer)
    key = {"common_crawl_warc": "warc", "common_crawl_wet": "wet"}.get(spec["preset"], spec["preset"])
    assert len(doors["kept"]) == expected[key] and not doors["quarantined"]
    ids = [d["id"] for d in doors["kept"]]
    assert len(set(ids)) == len(ids) and all(ids)
    assert all(d["text"].strip() for d in doors["kept"])


def test_preset_fields_land_in_metadata(samples, tmp_path, through_writer):
    root, _ = samples
    slim = _read(root, published.INPUTS[0], tmp_path / "s", through_writer)["kept"]
    assert slim[0]["metadata"]["redpajama_set_name"] == "RedPajamaBook" and "meta" not in slim[0]["metadata"]
    again = _read(root, published.INPUTS[0], tmp_path / "s2", through_writer)["kept"]
    assert [d["id"] for d in slim] == [d["id"] for d in again]  # derived ids are deterministic
    assert slim[0]["id"].startswith("slimpajama/example_train_0.jsonl.zst#1:")
    stack = _read(root, published.INPUTS[4], tmp_path / "c", through_writer)["kept"]
    assert {"repo", "path", "licenses", "language"} <= set(stack[0]["metadata"])
    dclm = _read(root, published.INPUTS[1], tmp_path / "d", through_writer)["kept"]
    assert dclm[0]["id"].startswith("<urn:uuid:") and dclm[0]["metadata"]["url"].startswith("https://")


def test_warc_pages_decode_in_six_charsets_with_the_decision_recorded(samples, tmp_path, through_writer):
    root, expected = samples
    doors = _read(root, published.INPUTS[6], tmp_path, through_writer)
    assert [d["text"] for d in doors["kept"]] == expected["pages"]
    sources = [d["metadata"]["charset"]["source"] for d in doors["kept"]]
    assert sources == ["http_header", "utf8_valid", "http_header", "meta", "meta", "detected", "http_header",
                       "meta", "http_header", "detected", "bom", "meta"]
    assert {d["metadata"]["drop_reason"] for d in doors["dropped"]} == {"warc_not_response"}


def test_stock_datatrove_reads_no_more_than_glassworks(samples):
    """The issue's table: stock readers against the same samples (WARC: it loses pages to charsets)."""
    from datatrove.pipeline.readers import WarcReader

    root, expected = samples
    stock = list(WarcReader(str(root / "web" / "cc"), compression="infer").run(None, 0, 1))
    right = sum(d.text in expected["pages"] for d in stock)
    assert right < len(expected["pages"])  # what glassworks gets all of, above


def _gz_lines(records: list[dict], per_member: int) -> bytes:
    return published._gzip_members(published.jsonl(records), per_member)


def test_gzip_resyncs_at_the_next_member_and_counts_the_loss(tmp_path, through_writer):
    records = [{"id": f"r{i}", "text": f"record {i}"} for i in range(12)]
    data = bytearray(_gz_lines(records, 3))  # four members of three lines
    second = data.find(GZIP_MAGIC, 1)
    data[second + 12: second + 20] = b"\x00" * 8  # wreck the second member's deflate stream
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "part.jsonl.gz").write_bytes(bytes(data))
    spec = InputSpec("text", format="jsonl", glob="*.jsonl.gz")
    doors = through_writer(reader_for(str(tmp_path / "src"), spec), tmp_path / "out")
    kept = [d["id"] for d in doors["kept"]]
    assert kept[:3] == ["r0", "r1", "r2"] and kept[-6:] == [f"r{i}" for i in range(6, 12)]
    lost = [d for d in doors["quarantined"] if d["metadata"]["quarantine_reason"] == "archive_damage"]
    assert len(lost) == 1 and lost[0]["metadata"]["at_byte"] == second
    assert lost[0]["metadata"]["resumed_at"] > second


def test_truncated_zstd_and_gzip_name_the_byte(tmp_path, through_writer):
    records = [{"text": f"text number {i} " * 20, "meta": {"redpajama_set_name": "RedPajamaC4"}} for i in range(30)]
    src = tmp_path / "src"
    src.mkdir()
    whole = published._zstd(published.jsonl(records))
    (src / "a.jsonl.zst").write_bytes(whole[: len(whole) // 2])
    gz = _gz_lines(records, 10)
    (src / "b.jsonl.gz").write_bytes(gz[: len(gz) - 40])
    doors = through_writer(reader_for(str(src), InputSpec("text", preset="slimpajama")), tmp_path / "out")
    cut = [d["metadata"] for d in doors["quarantined"] if d["metadata"]["quarantine_reason"] == "truncated_archive"]
    assert sorted((m["file_path"], m["truncated"]) for m in cut) == [("a.jsonl.zst", True), ("b.jsonl.gz", True)]
    kept_b = [d for d in doors["kept"] if d["metadata"]["file_path"] == "b.jsonl.gz"]
    assert len(kept_b) >= 20  # the first two members are whole


def test_junk_in_a_warc_costs_only_itself(samples, tmp_path, through_writer):
    records, pages = published.warc_records()
    junk = b"this is not a WARC record\r\nnor is this\r\n"
    plain = b"".join(records[:5]) + junk + b"".join(records[5:])
    inside = bytearray(b"".join(records))
    at = inside.find(b"<p>", inside.find(b"urn:uuid:page-7"))
    inside[at:at] = b"JUNK"  # written inside a block: Content-Length and digest no longer match
    src = tmp_path / "src"
    src.mkdir()
    (src / "between.warc").write_bytes(plain)
    (src / "inside.warc").write_bytes(bytes(inside))
    doors = through_writer(reader_for(str(src), InputSpec("web", preset="common_crawl_warc")), tmp_path / "out")
    between = [d for d in doors["kept"] if d["metadata"]["file_path"] == "between.warc"]
    inside_kept = [d for d in doors["kept"] if d["metadata"]["file_path"] == "inside.warc"]
    assert [d["text"] for d in between] == pages
    assert len(inside_kept) == len(pages) - 1
    reasons = sorted((d["metadata"]["file_path"], d["metadata"]["quarantine_reason"]) for d in doors["quarantined"])
    assert reasons[0] == ("between.warc", "not_a_warc_record") and ("inside.warc", "block_digest_mismatch") in reasons


def test_decompressed_reports_trailing_junk(tmp_path):
    data = gzip.compress(b"a\n", mtime=0) + b"garbage!"
    pieces = list(decompressed(io.BytesIO(data), "gzip"))
    assert pieces[0] == b"a\n" and isinstance(pieces[1], Damage) and pieces[1].resumed_at == len(data)


def _run(root: Path, tmp_path: Path, **config) -> tuple[dict, list[dict]]:
    run = tmp_path / "run"
    if not (run / "raw").exists():
        shutil.copytree(root, run / "raw")
    manifest, _ = run_documents(from_dict(DocumentsConfig, config), run)
    listing = [json.loads(line) for line in (run / "inputs" / "documents.jsonl").read_text().splitlines()]
    return manifest, listing


def test_documents_stage_lists_every_input_file(samples, tmp_path):
    root, expected = samples
    manifest, listing = _run(root, tmp_path, inputs=published.INPUTS)
    by_path = {e["path"]: e for e in listing}
    assert by_path["slimpajama/example_train_0.jsonl.zst"]["kept"] == 26
    assert by_path["cc/CC-MAIN-sample.warc.gz"] == {**by_path["cc/CC-MAIN-sample.warc.gz"], "kept": 12, "dropped": 13,
                                                    "ended": "end"}
    assert sum(e["records"] for e in listing) == manifest["counts"]["in"]
    assert "inputs/documents.jsonl" in {f["path"] for f in manifest["outputs"]["files"]}


def test_a_file_no_reader_takes_fails_or_is_listed_skipped(tmp_path):
    root = tmp_path / "raw"
    for shape in ("web", "text", "code"):
        (root / shape).mkdir(parents=True)
    (root / "text" / "notes.txt").write_text("no reader takes a .txt file\n")
    (root / "text" / "empty.jsonl").write_bytes(b"")
    with pytest.raises(GlassworksError, match=r"notes\.txt: no reader of the 'text' shape takes this file"):
        _run(root, tmp_path / "a")
    manifest, listing = _run(root, tmp_path / "b", unmatched="skip")
    assert {e["path"]: e["ended"] for e in listing} == {"empty.jsonl": "end", "notes.txt": "skipped"}
    assert next(e for e in listing if e["path"] == "empty.jsonl")["records"] == 0


def test_truncated_input_is_listed_with_its_byte(tmp_path):
    root = tmp_path / "raw"
    for shape in ("web", "code"):
        (root / shape).mkdir(parents=True)
    (root / "text").mkdir()
    gz = _gz_lines([{"id": f"x{i}", "text": f"document {i}"} for i in range(9)], 3)
    (root / "text" / "cut.json.gz").write_bytes(gz[:-25])
    _, listing = _run(root, tmp_path, inputs=[{"shape": "text", "preset": "dolma"}])
    (entry,) = listing
    assert entry["ended"] == "truncated" and entry["at_byte"] == gz.rfind(GZIP_MAGIC) and entry["kept"] == 6


def test_recorded_inputs_rebuild_the_same_config():
    """audit regenerate rebuilds the documents config from its manifest: the inputs must survive that."""
    from glassworks.canonical import normalise

    config = from_dict(DocumentsConfig, {"inputs": published.INPUTS, "unmatched": "skip"})
    again = from_dict(DocumentsConfig, normalise(config.recorded()))
    assert again.recorded() == config.recorded()
    assert from_dict(DocumentsConfig, {}).recorded() == {"raw_dir": "raw", "tasks": 1}  # older manifests keep their ids
