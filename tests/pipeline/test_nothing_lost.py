"""A stage whose steps discard documents without marking them is refused, not recorded."""

import gzip
import json

import pytest
from datatrove.executor import LocalPipelineExecutor
from datatrove.pipeline.base import PipelineStep
from datatrove.pipeline.readers import JsonlReader

from glassworks.errors import GlassworksError
from glassworks.pipeline.documents import AccountingWriter
from glassworks.pipeline.ingest import run_quietly, writer_counts


class DropsEveryOther(PipelineStep):
    """A careless filter: it swallows every second document instead of marking it dropped."""

    name = "careless filter"

    def run(self, data, rank=0, world_size=1):
        for i, doc in enumerate(data):
            if i % 2 == 0:
                yield doc


def run_stage(tmp_path, steps):
    src = tmp_path / "in"
    src.mkdir()
    with gzip.open(src / "00000.jsonl.gz", "wt", encoding="utf-8") as f:
        for i in range(6):
            f.write(json.dumps({"id": f"d{i}", "text": f"document number {i}"}) + "\n")
    logs = tmp_path / "logs"
    pipeline = [JsonlReader(str(src)), *steps, AccountingWriter(tmp_path / "out", "docs")]
    run_quietly(LocalPipelineExecutor(pipeline, tasks=1, logging_dir=str(logs)), logs)
    return writer_counts(logs, 1)


def test_counts_of_a_sound_stage_balance_against_the_reader(tmp_path):
    assert run_stage(tmp_path, [])["in"] == 6


def test_documents_lost_between_reader_and_writer_are_named(tmp_path):
    with pytest.raises(GlassworksError, match=r"stats/00000\.json: the reader yielded 6 documents but the "
                                              r"accounting writer saw 3: a step lost documents"):
        run_stage(tmp_path, [DropsEveryOther()])
