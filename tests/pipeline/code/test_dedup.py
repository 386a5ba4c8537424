"""Exact dedup (within a task and across tasks) and MinHash near dedup on the embedded code."""

import gzip
import json
from pathlib import Path

import pytest
from datatrove.executor import LocalPipelineExecutor
from datatrove.utils.text import ngrams, simplify_text

from glassworks.pipeline.code.allowlist import LicenseAllowlistFilter
from glassworks.pipeline.code.dedup import (
    CodeWordTokenizer,
    ExactDedup,
    ExactHashRecorder,
    NearDedupConfig,
    NearDuplicateMarker,
    near_dedup_pipelines,
)
from glassworks.pipeline.code.licenses import LicenseDetector
from glassworks.pipeline.documents import DROP, AccountingWriter, MarkingFilter, mark_dropped
from glassworks.pipeline.readers import CodeTreeReader

PLANTED = ("docs-vendor/tools/setup_command.py", "sphinx-utils/sphinx/setup_command.py")


def drops(docs) -> dict[str, str]:
    return {d.id: d.metadata[DROP] for d in docs if DROP in d.metadata}


def test_exact_within_a_task(corpus, helpers):
    docs = helpers.run([ExactDedup()], corpus)
    # The two COPYING files are the same GPL-2 text; debianutils comes first.
    assert drops(docs) == {"python-apt/COPYING": "exact_duplicate_of:debianutils/COPYING"}
    assert len(docs) == len(corpus)


def test_exact_keeps_the_first_by_repo_and_path_and_ignores_settled(helpers):
    docs = [helpers.make("same", "a/x.py"), helpers.make("", "a/y/__init__.py"), helpers.make("same", "a/y/z.py"),
            mark_dropped(helpers.make("other", "b/0.py"), "earlier"), helpers.make("other", "b/1.py"),
            helpers.make("", "b/__init__.py")]
    assert drops(helpers.run([ExactDedup()], docs)) == {
        "a/y/z.py": "exact_duplicate_of:a/x.py", "b/0.py": "earlier",  # a settled copy is no keeper
        "b/__init__.py": "exact_duplicate_of:a/y/__init__.py",  # empty files are duplicates of each other
    }


def test_exact_refuses_a_stream_out_of_order(helpers):
    with pytest.raises(ValueError, match="b/x.py came after c/x.py"):
        helpers.run([ExactDedup()], [helpers.make("1", "c/x.py"), helpers.make("2", "b/x.py")])


def test_exact_across_tasks_matches_one_task(tmp_path, corpus, helpers):
    hashes = tmp_path / "hashes"
    for rank in range(2):  # two tasks, each with its share of the repositories
        helpers.run([CodeTreeReader(helpers.code), ExactHashRecorder(hashes)], rank=rank, world_size=2)
    # In task 1 python-apt/COPYING meets no copy: only the records of task 0 tell it.
    found = {}
    for rank in range(2):
        found.update(drops(helpers.run([CodeTreeReader(helpers.code), ExactDedup(hashes)], rank=rank, world_size=2)))
    assert found == drops(helpers.run([ExactDedup()], corpus))
    with pytest.raises(FileNotFoundError, match="run ExactHashRecorder first"):
        helpers.run([ExactDedup(tmp_path / "empty")], [])
    (hashes / "00002.jsonl").write_text("not json\n")
    with pytest.raises(ValueError, match="00002.jsonl:1: not a"):
        helpers.run([ExactDedup(hashes)], [])


def test_planted_pair_jaccard_on_word_5grams(helpers):
    def shingles(path):
        words = CodeWordTokenizer().word_tokenize(simplify_text((helpers.code / path).read_text()))
        return set(ngrams(words, 5))

    a, b = (shingles(p) for p in PLANTED)
    jaccard = len(a & b) / len(a | b)
    assert jaccard == pytest.approx(0.958, abs=0.001)  # well above 0.85: one comment line added, one paragraph cut
    assert NearDedupConfig().detection_probability(jaccard) > 0.999
    assert NearDedupConfig().detection_probability(0.85) > 0.9 > 0.2 > NearDedupConfig().detection_probability(0.7)


def read_doors(out: Path, name: str) -> dict[str, list[dict]]:
    folders = {"kept": out / name, "dropped": out / "dropped" / name, "quarantined": out / "quarantine" / name}
    return {door: [json.loads(line) for f in sorted(folder.glob("*.jsonl.gz")) for line in gzip.open(f, "rt")]
            for door, folder in folders.items()}


def near_dedup(tmp_path: Path, first_steps: list) -> dict[str, list[dict]]:
    """Read the corpus through first_steps into an accounting writer, then run the four MinHash stages."""
    LocalPipelineExecutor([*first_steps, AccountingWriter(tmp_path / "docs", "code")], tasks=1,
                          logging_dir=str(tmp_path / "logs" / "read")).run()
    stages = near_dedup_pipelines(tmp_path / "docs", tmp_path / "work", tmp_path / "near")
    tasks = {"signatures": 1, "buckets": NearDedupConfig().num_buckets, "clusters": 1, "filter": 1}
    for stage, pipeline in stages.items():
        LocalPipelineExecutor(pipeline, tasks=tasks[stage], workers=1, logging_dir=str(tmp_path / "logs" / stage)).run()
    return read_doors(tmp_path / "near", "code")


def test_near_dedup_catches_the_planted_pair(tmp_path, helpers):
    doors = near_dedup(tmp_path, [CodeTreeReader(helpers.code)])
    near = sorted(d["id"] for d in doors["dropped"] if d["metadata"][DROP] == "near_duplicate")
    # One of each pair goes: datatrove keeps the first of a cluster (docs-vendor sorts before sphinx-utils).
    assert near == ["python-apt/COPYING", "sphinx-utils/sphinx/setup_command.py"]
    assert sum(map(len, doors.values())) == sum(1 for p in helpers.code.rglob("*") if p.is_file())


def test_near_dedup_ignores_documents_already_dropped(tmp_path, helpers):
    licence = [LicenseDetector(helpers.code), MarkingFilter(LicenseAllowlistFilter(), "license")]
    doors = near_dedup(tmp_path, [CodeTreeReader(helpers.code), *licence])
    # The unlicensed vendored copy is dropped first, so the original setup_command.py stays.
    assert "sphinx-utils/sphinx/setup_command.py" in {d["id"] for d in doors["kept"]}
    assert not [d for d in doors["dropped"] if d["metadata"][DROP] == "near_duplicate"]
    assert {d["metadata"][DROP] for d in doors["dropped"]} == {"license:no_license",
                                                                "license:not_allowlisted:GPL-2.0-or-later"}


def test_marker_needs_the_cluster_stage(tmp_path, helpers):
    with pytest.raises(FileNotFoundError, match="run the clusters stage first"):
        helpers.run([NearDuplicateMarker(tmp_path / "missing")], [helpers.make("x")])
    (tmp_path / "remove").mkdir()
    assert DROP not in helpers.run([NearDuplicateMarker(tmp_path / "remove")], [helpers.make("x")])[0].metadata
