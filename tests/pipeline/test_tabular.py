"""Parquet files and Hugging Face datasets saved on disk, read with accounting."""

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from glassworks.pipeline.ingest import DocumentsConfig, run_documents
from glassworks.pipeline.tabular import HfDiskDatasetReader, ParquetDocumentReader

REPO = Path(__file__).resolve().parents[2]


def real_rows(n=3):
    """Real text: the first documents of the embedded reST corpus."""
    lines = (REPO / "data" / "text" / "sphinx-docs-rst.jsonl").read_text(encoding="utf-8").splitlines()[:n]
    return [json.loads(line) for line in lines]


def test_parquet_rows_and_bad_rows(tmp_path, through_writer):
    src = tmp_path / "src"
    src.mkdir()
    rows = real_rows()
    table = pa.table({"id": [r["id"] for r in rows] + [None], "text": [r["text"] for r in rows] + ["orphan text"],
                      "url": ["u1", "u2", "u3", "u4"]})
    pq.write_table(table, src / "part.parquet", row_group_size=2)
    (src / "broken.parquet").write_bytes((src / "part.parquet").read_bytes()[:100])
    doors = through_writer(ParquetDocumentReader(str(src)), tmp_path / "out")
    kept, quarantined = doors["kept"], doors["quarantined"]
    assert [d["id"] for d in kept] == [r["id"] for r in rows]
    assert kept[0]["text"] == rows[0]["text"] and kept[0]["metadata"]["url"] == "u1" and kept[0]["metadata"]["row"] == 0
    reasons = sorted((d["metadata"]["file_path"], d["metadata"]["quarantine_reason"]) for d in quarantined)
    assert reasons == [("broken.parquet", "unreadable_parquet"), ("part.parquet", "missing_id_or_text")]
    assert "orphan text" in next(d for d in quarantined if d["metadata"]["file_path"] == "part.parquet")["metadata"]["raw_json"]


def test_saved_hf_dataset(tmp_path, through_writer):
    from datasets import Dataset

    rows = real_rows(4)
    Dataset.from_list([{"id": r["id"], "text": r["text"]} for r in rows]).save_to_disk(str(tmp_path / "src" / "docs"))
    broken = tmp_path / "src" / "broken"
    broken.mkdir()
    (broken / "state.json").write_text("{not json")
    (broken / "dataset_info.json").write_text("{}")
    doors = through_writer(HfDiskDatasetReader(tmp_path / "src"), tmp_path / "out")
    kept, quarantined = doors["kept"], doors["quarantined"]
    assert [d["id"] for d in kept] == [r["id"] for r in rows]
    assert kept[1]["metadata"]["dataset_path"] == "docs" and kept[1]["metadata"]["row"] == 1
    assert [d["metadata"]["quarantine_reason"] for d in quarantined] == ["unreadable_dataset"]


def test_documents_stage_reads_every_text_format(tmp_path):
    from datasets import Dataset

    raw = tmp_path / "run" / "raw"
    for shape in ("web", "code"):
        (raw / shape).mkdir(parents=True)
    rows = real_rows(6)
    (raw / "text").mkdir()
    (raw / "text" / "a.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows[:2]))
    pq.write_table(pa.table({"id": [r["id"] for r in rows[2:4]], "text": [r["text"] for r in rows[2:4]]}),
                   raw / "text" / "b.parquet")
    Dataset.from_list([{"id": r["id"], "text": r["text"]} for r in rows[4:]]).save_to_disk(str(raw / "text" / "c"))
    manifest, per_shape = run_documents(DocumentsConfig(), tmp_path / "run")
    assert per_shape["text"]["kept"] == 6 and manifest["counts"]["in"] == 6
