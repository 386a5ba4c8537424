"""Shared fixture of the pipeline tests: run a reader through the accounting writer."""

import gzip
import json
from pathlib import Path

import pytest

from glassworks.pipeline.documents import AccountingWriter


def _through_writer(reader, out: Path, name: str = "docs") -> dict[str, list[dict]]:
    writer = AccountingWriter(out, name)
    for _ in writer.run(reader.run(None, 0, 1), 0, 1):
        pass
    doors = {}
    for door, folder in (("kept", out / name), ("dropped", out / "dropped" / name),
                         ("quarantined", out / "quarantine" / name)):
        doors[door] = [json.loads(line) for f in sorted(folder.glob("*.jsonl.gz"))
                       for line in gzip.open(f, "rt", encoding="utf-8")]
    counted = writer.stats["in"].total if "in" in writer.stats.stats else 0
    assert counted == sum(len(v) for v in doors.values()), "the writer counted other documents than it wrote"
    return doors


@pytest.fixture
def through_writer():
    """``through_writer(reader, out, name)``: run ``reader -> AccountingWriter(out, name)`` in
    process and return the records behind each door (kept, dropped, quarantined)."""
    return _through_writer
