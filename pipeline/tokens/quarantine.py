"""Records the tokens stages could not read, written out with their reason (never dropped).

``<run>/quarantine/<stage>/<source>.jsonl.gz``: one JSON object per bad record (source,
key, reason, the line as far as it decodes), gzip'd with a zero timestamp and sorted keys
so the same bad input gives the same bytes. Nothing is written when nothing was bad.
"""

from __future__ import annotations

import gzip
import io
import json
import shutil
from itertools import groupby
from pathlib import Path

from glassworks.pipeline.tokens.sources import Bad, bad_record_json
from glassworks.provenance.atomic import atomic_write_bytes


def write_quarantine(folder: Path, bad: list[Bad]) -> Path | None:
    """Write the bad records under ``folder`` (one file per source), replacing what an earlier
    run left there; None when there are none."""
    shutil.rmtree(folder, ignore_errors=True)
    if not bad:
        return None
    for source, records in groupby(sorted(bad, key=lambda b: (b.source, b.key)), key=lambda b: b.source):
        buffer = io.BytesIO()
        with gzip.GzipFile(fileobj=buffer, mode="wb", mtime=0) as handle:
            for record in records:
                line = json.dumps(bad_record_json(record), sort_keys=True)  # ASCII: escapes lone surrogates
                handle.write(line.encode("ascii") + b"\n")
        atomic_write_bytes(folder / f"{source}.jsonl.gz", buffer.getvalue())
    return folder
