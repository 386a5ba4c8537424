"""Bad and odd input: malformed lines, empty files, a huge document, missing paths, side-door folders."""

import gzip
import json
import random
from pathlib import Path

import pytest

from glassworks.cli import main
from glassworks.errors import GlassworksError
from glassworks.pipeline.dedup.config import DedupConfig
from glassworks.pipeline.dedup.run import run_dedup
from glassworks.provenance import verify_run

REPO = Path(__file__).resolve().parents[3]
BIBLE = [json.loads(line) for line in open(REPO / "data" / "text" / "reina-valera-1909.jsonl", encoding="utf-8")]


def manifest_counts(run: Path) -> dict:
    return json.loads(next((run / "manifests").glob("dedup-*.json")).read_text())["counts"]


def test_malformed_lines_are_quarantined_with_file_and_line(tmp_path, write_jsonl, read_docs):
    run, raw = tmp_path / "run", tmp_path / "raw"  # input outside the run: an external root
    good = [{"id": d["id"], "text": d["text"]} for d in BIBLE[:3]]
    write_jsonl(raw / "a" / "part.jsonl", [good[0], "{not json", {"id": 7, "text": "x"}, "", good[1]])
    (raw / "a" / "bad.jsonl").write_bytes(b'{"id": "u", "text": "caf\xe9"}\n')
    write_jsonl(raw / "b" / "part.jsonl.gz", [good[2], good[0]], gz=True)
    run_dedup(DedupConfig(), {"a": raw / "a", "b": raw / "b"}, run / "out", run)
    quarantined = {(d["metadata"]["file_path"], d["metadata"]["line"], d["metadata"]["quarantine_reason"])
                   for d in read_docs(run / "out" / "quarantine")}
    assert quarantined == {("part.jsonl", 2, "malformed_json"), ("part.jsonl", 3, "missing_id_or_text"),
                           ("bad.jsonl", 1, "invalid_utf8")}
    assert all(d["metadata"]["dedup"]["source"] == "a" for d in read_docs(run / "out" / "quarantine"))
    c = manifest_counts(run)
    assert c == {"unit": "documents", "in": 8, "kept": 3, "quarantined": 3,
                 "dropped": {"blank_line": 1, "exact_duplicate": 1}}
    assert verify_run(run, roots={"input_a": raw / "a", "input_b": raw / "b"}).ok
    assert not verify_run(run).ok  # an unlocated input root is not accepted unchecked


def test_empty_files_and_an_empty_source(tmp_path, write_jsonl, read_docs):
    run = tmp_path / "run"
    (run / "in" / "a").mkdir(parents=True)
    (run / "in" / "a" / "empty.jsonl").write_bytes(b"")
    with gzip.open(run / "in" / "a" / "empty.jsonl.gz", "wb"):
        pass
    write_jsonl(run / "in" / "b" / "one.jsonl", [{"id": "x", "text": BIBLE[0]["text"]}])
    summary = run_dedup(DedupConfig(), {"a": run / "in" / "a", "b": run / "in" / "b"}, run / "out", run)
    assert summary["sources"]["a"]["in"] == 0 and summary["sources"]["b"]["kept"] == 1
    assert (run / "out" / "kept" / "a").is_dir()  # an empty source is an empty input downstream
    assert [d["metadata"]["dedup"]["weight"] for d in read_docs(run / "out" / "kept")] == [1.0]


def test_side_door_folders_are_skipped(tmp_path, write_jsonl, read_docs):
    run = tmp_path / "run"
    write_jsonl(run / "in" / "web" / "00000.jsonl", [{"id": "k", "text": BIBLE[1]["text"]}])
    write_jsonl(run / "in" / "dropped" / "web" / "00000.jsonl", [{"id": "d", "text": BIBLE[2]["text"]}])
    write_jsonl(run / "in" / "web" / "quarantine" / "00000.jsonl", [{"id": "q", "text": BIBLE[3]["text"]}])
    run_dedup(DedupConfig(), {"s": run / "in"}, run / "out", run)
    assert [d["id"] for d in read_docs(run / "out" / "kept")] == ["k"]


def test_huge_document_and_its_near_copy(tmp_path, write_jsonl, read_docs):
    rng = random.Random(3)
    words = [w for d in BIBLE for w in d["text"].split()]
    huge = " ".join(rng.choice(words) for _ in range(300_000))  # ~2 MB, one line
    copy = huge[:1000] + " añadido " + huge[1000:]
    run = tmp_path / "run"
    write_jsonl(run / "in" / "big" / "x.jsonl", [{"id": "huge", "text": huge}, {"id": "copy", "text": copy},
                                                  {"id": "other", "text": BIBLE[0]["text"]}])
    run_dedup(DedupConfig(), {"big": run / "in" / "big"}, run / "out", run)
    removed = read_docs(run / "out" / "removed")
    assert [(d["id"], d["metadata"]["drop_reason"], d["metadata"]["dedup"]["kept_id"]) for d in removed] == [
        ("huge", "near_duplicate", "copy")]  # the longer one is kept


def test_missing_and_overlapping_paths(tmp_path):
    run = tmp_path / "run"
    with pytest.raises(GlassworksError, match="nowhere.*does not exist"):
        run_dedup(DedupConfig(), {"a": tmp_path / "nowhere"}, run / "out", run)
    (run / "in").mkdir(parents=True)
    with pytest.raises(GlassworksError, match="inside the run directory"):
        run_dedup(DedupConfig(), {"a": run / "in"}, tmp_path / "elsewhere", run)
    with pytest.raises(GlassworksError, match="overlap"):
        run_dedup(DedupConfig(), {"a": run / "in"}, run / "in" / "out", run)
    (run / "in" / "notes.parquet").write_bytes(b"PAR1")
    with pytest.raises(GlassworksError, match="notes.parquet: not a .jsonl"):
        run_dedup(DedupConfig(), {"a": run / "in"}, run / "out", run)
    with pytest.raises(GlassworksError, match="source name"):
        run_dedup(DedupConfig(), {"a/b": run / "in"}, run / "out", run)


def test_command_line_errors_are_one_line(tmp_path, capsys, write_jsonl):
    assert main(["corpus", "dedup", str(tmp_path / "nowhere"), str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err.strip()
    assert "nowhere" in err and "does not exist" in err and "\n" not in err
    assert main(["corpus", "dedup", str(tmp_path), str(tmp_path / "out"), "--threshold", "1.5"]) == 2


def test_command_line_folder_of_jsonl_is_one_source(tmp_path, write_jsonl, read_docs):
    write_jsonl(tmp_path / "bible" / "a.jsonl", [{"id": d["id"], "text": d["text"]} for d in BIBLE[:4]])
    out = tmp_path / "out"
    assert main(["corpus", "dedup", str(tmp_path / "bible"), str(out), "--tasks", "2"]) == 0
    assert {d["metadata"]["dedup"]["source"] for d in read_docs(out / "kept")} == {"bible"}
    assert verify_run(out, roots={"input_bible": tmp_path / "bible"}).ok


def test_word_shingles_from_a_config_file(tmp_path, write_jsonl, read_docs):
    original = BIBLE[5]["text"]
    copy = original.replace(" ", "  ", 3) + " Fin."  # a few words' difference
    write_jsonl(tmp_path / "in" / "a.jsonl", [{"id": "o", "text": original}, {"id": "c", "text": copy},
                                             {"id": "x", "text": BIBLE[6]["text"]}])
    (tmp_path / "dedup.yaml").write_text("shingles: {kind: word, n: 5}\nlsh: {bands: 16, rows: 8}\n")
    out = tmp_path / "out"
    assert main(["corpus", "dedup", str(tmp_path / "in"), str(out), "--config", str(tmp_path / "dedup.yaml")]) == 0
    assert [(d["id"], d["metadata"]["drop_reason"]) for d in read_docs(out / "removed")] == [("o", "near_duplicate")]
    manifest = json.loads(next((out / "manifests").glob("dedup-*.json")).read_text())
    assert manifest["config"]["config"]["shingles"] == {"kind": "word", "n": 5}
