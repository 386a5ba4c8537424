"""The dedup stage on the demo's corpus outputs: planted duplicates found, records balanced and
verified, the same kept set and weights on any task count, and the command line."""

import json
from collections import defaultdict
from dataclasses import replace
from pathlib import Path

import pytest

from glassworks.cli import main
from glassworks.config import load_config
from glassworks.pipeline.dedup.config import DedupConfig
from glassworks.pipeline.dedup.run import run_dedup
from glassworks.provenance import verify_run

REPO = Path(__file__).resolve().parents[3]
DEMO_CONFIG = load_config(REPO / "configs" / "dedup-demo.yaml", DedupConfig)
INPUTS = {"slimpajama": "corpus/slimpajama/language", "dclm": "corpus/dclm/quality", "stack": "corpus/stack/near_dedup"}

# data/SOURCES.md, "Planted duplicates": (duplicate, original) by id for text, by URL for web.
PLANTED_TEXT = [("sphinx-docs-rst/tutorial/first-steps.dup1", "sphinx-docs-rst/tutorial/first-steps"),
                ("sphinx-docs-rst/tutorial/getting-started.dup1", "sphinx-docs-rst/tutorial/getting-started"),
                ("sphinx-docs-rst/usage/quickstart.dup1", "sphinx-docs-rst/usage/quickstart"),
                ("reina-valera-1909/rut/001.dup1", "reina-valera-1909/rut/001"),
                ("reina-valera-1909/jonas/001.dup1", "reina-valera-1909/jonas/001")]
PLANTED_WEB = ["tutorial/getting-started.html", "usage/quickstart.html", "usage/markdown.html",
               "tutorial/first-steps.html", "tutorial/index.html"]


def with_tasks(config: DedupConfig, tasks: int) -> DedupConfig:
    return replace(config, executor=replace(config.executor, tasks=tasks), bucket_tasks=tasks + 1)


@pytest.fixture(scope="module")
def deduped(corpus_run, tmp_path_factory):
    """The demo's three inputs through dedup, in a copy of the run (one task)."""
    import shutil

    run = tmp_path_factory.mktemp("dedup") / "run"
    shutil.copytree(corpus_run, run)
    summary = run_dedup(DEMO_CONFIG, {k: run / v for k, v in INPUTS.items()}, run / "dedup", run)
    return run, summary


def all_docs(out: Path, read_docs) -> list[tuple[str, dict]]:
    return [(door, d) for door in ("kept", "removed") for d in read_docs(out / door)]


def test_planted_duplicates_share_a_cluster(deduped, read_docs):
    run, _ = deduped
    cluster = {}
    for _, d in all_docs(run / "dedup", read_docs):
        m = d["metadata"]
        cluster[(m["dedup"]["source"], m["source"], d["id"])] = m["dedup"]["cluster"]
        if m["source"] == "web" and m["dedup"]["source"] == "slimpajama":
            cluster[("url", m["url"])] = m["dedup"]["cluster"]
    for dup, original in PLANTED_TEXT:
        assert cluster[("slimpajama", "text", dup)] == cluster[("slimpajama", "text", original)], dup
    for page in PLANTED_WEB:
        mirror = cluster[("url", f"https://mirror.example.org/sphinx/5.3/{page}")]
        assert mirror == cluster[("url", f"https://www.sphinx-doc.org/en/master/{page}")], page


def test_each_cluster_keeps_one_document_by_the_rule(deduped, read_docs):
    run, _ = deduped
    members = defaultdict(list)
    for door, d in all_docs(run / "dedup", read_docs):
        members[d["metadata"]["dedup"]["cluster"]].append((door, d))
    assert sum(len(v) > 1 for v in members.values()) >= 20
    for name, docs in members.items():
        kept = [d for door, d in docs if door == "kept"]
        assert len(kept) <= 1, name
        assert all(d["metadata"]["dedup"]["cluster_size"] == len(docs) for _, d in docs)
        for door, d in docs:
            m = d["metadata"]
            if door == "removed":
                assert m["drop_reason"] in ("exact_duplicate", "near_duplicate", "boilerplate")
                if m["drop_reason"] != "boilerplate":
                    assert (m["dedup"]["kept_source"], m["dedup"]["kept_id"]) == (kept[0]["metadata"]["dedup"]["source"], kept[0]["id"])
                    if not kept[0]["metadata"]["dedup"]["spans_removed"]:  # its text is as it came in
                        assert len(d["text"]) <= len(kept[0]["text"]), "the longest document must be kept"


def test_kept_documents_carry_weights_and_their_metadata(deduped, read_docs, corpus_run):
    run, summary = deduped
    kept = read_docs(run / "dedup" / "kept")
    assert kept
    for d in kept:
        m = d["metadata"]["dedup"]
        assert isinstance(m["cluster"], str) and len(m["cluster"]) == 16 and m["cluster_size"] >= 1
        assert 0 <= m["duplicate_fraction"] <= 1 and m["weight"] >= 0 and m["source"] in INPUTS
    upstream = {d["id"]: d["metadata"] for d in read_docs(corpus_run / INPUTS["dclm"])}
    dclm = [d for d in kept if d["metadata"]["dedup"]["source"] == "dclm"]
    assert dclm and all(d["metadata"]["quality"] == upstream[d["id"]]["quality"] for d in dclm)
    assert all(d["metadata"]["source"] == upstream[d["id"]]["source"] for d in dclm)
    assert any(d["metadata"]["dedup"]["weight"] > 1 for d in kept)  # unique high-quality ones go up
    assert (run / "reports" / "dedup-weights.png").stat().st_size > 10_000
    assert set(summary["sources"]) == set(INPUTS)


def test_manifest_balances_and_the_run_verifies(deduped):
    run, summary = deduped
    manifest = json.loads((run / "manifests" / f"{summary['manifest']}.json").read_text())
    c = manifest["counts"]
    assert c["in"] == c["kept"] + sum(c["dropped"].values()) + c["quarantined"]
    assert c["dropped"]["near_duplicate"] >= 10 and c["dropped"]["exact_duplicate"] >= 2
    assert {"slimpajama.language", "dclm.quality", "stack.near_dedup"} <= {u.rsplit("-", 1)[0] for u in manifest["upstream"]}
    report = verify_run(run, roots={"data": REPO / "data"})
    assert report.ok, [f.line() for f in report.failures]
    spans = json.loads((run / "dedup" / "summary.json").read_text())["sources"]["slimpajama"]["spans_removed"]
    assert spans > 0 and any((run / "dedup" / "spans").rglob("*.jsonl.gz"))


def test_same_kept_set_and_weights_on_any_task_count(deduped, tmp_path, read_docs):
    run, _ = deduped
    out = tmp_path / "run"
    out.mkdir()
    run_dedup(with_tasks(DEMO_CONFIG, 3), {k: run / v for k, v in INPUTS.items()}, out / "dedup", out)

    def facts(folder):
        return sorted((d["metadata"]["dedup"]["source"], d["id"], d["text"], json.dumps(d["metadata"]["dedup"], sort_keys=True))
                      for d in read_docs(folder))

    assert len(list((out / "dedup" / "kept").rglob("*.jsonl.gz"))) > len(INPUTS)  # really spread over tasks
    assert facts(out / "dedup" / "kept") == facts(run / "dedup" / "kept")
    assert facts(out / "dedup" / "removed") == facts(run / "dedup" / "removed")


def test_vendored_code_copy_is_found(corpus_run, tmp_path, read_docs):
    """The Stack recipe drops the planted setup_command.py copy (its repository has no licence file);
    on the code documents as read, dedup finds it, and the byte-identical GPL-2 texts."""
    out = tmp_path / "run"
    run_dedup(DedupConfig(), {"code": corpus_run / "documents/code"}, out / "dedup", out)
    removed = read_docs(out / "dedup" / "removed")
    pair = {"docs-vendor/tools/setup_command.py", "sphinx-utils/sphinx/setup_command.py"}
    assert [(d["metadata"]["drop_reason"], d["metadata"]["dedup"]["kept_id"]) for d in removed if d["id"] in pair] == [
        ("near_duplicate", "sphinx-utils/sphinx/setup_command.py")]
    copying = [d["metadata"]["drop_reason"] for d in removed if d["id"].endswith("/COPYING")]
    assert copying == ["exact_duplicate"]


def test_command_line(corpus_run, tmp_path, capsys):
    in_dir = corpus_run / "corpus" / "slimpajama" / "language"  # sub-folders web/ and text/ are the sources
    out = tmp_path / "out"
    assert main(["corpus", "dedup", str(in_dir), str(out), "--threshold", "0.9"]) == 0
    printed = capsys.readouterr().out
    assert "text: " in printed and "web: " in printed
    assert (out / "kept" / "web").is_dir() and (out / "removed" / "text").is_dir()
    manifest = json.loads(next((out / "manifests").glob("dedup-*.json")).read_text())
    assert manifest["config"]["config"]["lsh"]["threshold"] == 0.9
    roots = {"input_text": in_dir / "text", "input_web": in_dir / "web"}
    assert verify_run(out, roots=roots).ok
