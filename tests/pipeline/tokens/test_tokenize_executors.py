"""data.tokenize on the corpus executors: the same pool bytes for 1 and 3 local tasks, on a
local Ray instance, and from rendered Slurm array tasks; ids equal to the encoder's."""

import json
import os
import shutil
from pathlib import Path

import dill
import numpy as np
import pytest

from glassworks.cli import main
from glassworks.errors import GlassworksError
from glassworks.pipeline.executors import ExecutorConfig
from glassworks.pipeline.tokens.pool import Encoder, SourcePool, render_slurm, tokenize_sources
from glassworks.pipeline.tokens.sources import Doc, list_files, read_source
from glassworks.pipeline.tokens.tokenizer import clean_text
from glassworks.provenance.recorder import Counts

SHARD = 4000  # ids a shard: small, so every input file is cut into several shards


def tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def tokenize(run: Path, config, runner) -> tuple[dict[str, bytes], Counts]:
    counts = Counts()
    tokenize_sources(config.corpus, list(config.corpus.sources), run / "tokenizer", run, counts, runner,
                     shard_tokens=SHARD)
    return tree(run / "data" / "tokenized"), counts


@pytest.fixture(scope="module")
def one_task(trained, mix_config, tmp_path_factory):
    """The pool tokenized by a single local task: (run, its files, its counts)."""
    run = tmp_path_factory.mktemp("tok-one") / "run"
    shutil.copytree(trained, run)
    files, counts = tokenize(run, mix_config(), ExecutorConfig(tasks=1))
    return run, files, counts


def test_one_and_three_local_tasks_give_the_same_bytes(one_task, trained, mix_config, tmp_path):
    run, files, counts = one_task
    other = tmp_path / "run"
    shutil.copytree(trained, other)
    three, counts3 = tokenize(other, mix_config(), ExecutorConfig(tasks=3, workers=3))
    assert three == files
    assert counts3.as_json() == counts.as_json()
    assert sum(1 for name in files if "/shards/" in name) > 6  # more shards than input files


def test_shards_are_bounded_and_the_ids_are_the_encoders(one_task, mix_config):
    run, _, counts = one_task
    config = mix_config()
    encoder = Encoder(run / "tokenizer")
    for name in config.corpus.sources:
        pool = SourcePool.open(run / "data" / "tokenized" / name)
        assert isinstance(pool.documents, np.memmap) and all(isinstance(s, np.memmap) for s in pool.shards)
        for k, shard in enumerate(pool.shards):  # at most SHARD ids, unless one document alone is longer
            assert len(shard) <= SHARD or np.count_nonzero(np.searchsorted(pool.starts, pool.documents["offset"],
                                                                           "right") - 1 == k) == 1
        docs = (r for r in read_source(config.corpus, list_files(config.corpus, name, run)) if isinstance(r, Doc))
        expected = list(encoder.run((d, clean_text(d.text)[0]) for d in docs))
        assert len(expected) == len(pool.documents) > 0
        for i, (doc, ids) in enumerate(expected):
            assert np.array_equal(pool.document(i), ids), (name, i)
            assert pool.documents[i]["weight"] == doc.weight
    assert counts.kept == sum(len(SourcePool.open(run / "data" / "tokenized" / s).documents)
                              for s in config.corpus.sources)


@pytest.mark.skipif(os.environ.get("GLASSWORKS_SKIP_RAY") == "1", reason="GLASSWORKS_SKIP_RAY=1")
def test_a_local_ray_run_gives_the_same_bytes(one_task, trained, mix_config, tmp_path):
    ray = pytest.importorskip("ray")
    run = tmp_path / "run"
    shutil.copytree(trained, run)
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    try:
        files, counts = tokenize(run, mix_config(), ExecutorConfig(kind="ray", tasks=3, workers=2))
    finally:
        ray.shutdown()
    assert files == one_task[1]
    assert counts.as_json() == one_task[2].as_json()


def test_rendered_slurm_tasks_give_the_same_bytes(one_task, trained, mix_config, tmp_path, monkeypatch):
    run = tmp_path / "run"
    shutil.copytree(trained, run)
    config = mix_config()
    script = render_slurm(config.corpus, list(config.corpus.sources), run / "tokenizer", run,
                          ExecutorConfig(kind="slurm", tasks=3), shard_tokens=SHARD)
    text = script.read_text()
    for line in ("#!/bin/bash\n", "#SBATCH --job-name=data.tokenize", "#SBATCH --array=0-2", "#SBATCH --partition=cpu",
                 "launch_pickled_pipeline", "bin/activate"):
        assert line in text, line

    # Play the cluster: each array task is its own process, a fresh copy of the pickled executor.
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "scontrol").write_text('#!/bin/sh\n[ "$1 $2" = "show hostnames" ] && echo "$3"\n')
    (bin_dir / "scontrol").chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")
    for name, value in {"SLURM_NODELIST": "node001", "SLURM_NODEID": "0", "SLURM_JOB_ID": "1234",
                        "SLURM_ARRAY_JOB_ID": "1234", "SLURM_JOB_NUM_NODES": "1"}.items():
        monkeypatch.setenv(name, value)
    pickle = text.split("launch_pickled_pipeline ")[1].split()[0]
    assert json.loads((Path(pickle).parent / "ranks_to_run.json").read_text()) == [0, 1, 2]
    for task in range(3):
        monkeypatch.setenv("SLURM_ARRAY_TASK_ID", str(task))
        with open(pickle, "rb") as handle:
            dill.load(handle).run()
    monkeypatch.delenv("SLURM_ARRAY_TASK_ID")
    shards = sorted((run / "data" / "tokenized").rglob("shards/*.npy"))
    written = {p: p.stat().st_mtime_ns for p in shards}

    # Recording afterwards finds the tasks done (no shard is written again) and joins them.
    files, counts = tokenize(run, config, ExecutorConfig(kind="local", tasks=3))
    assert {p: p.stat().st_mtime_ns for p in shards} == written
    assert files == one_task[1]
    assert counts.as_json() == one_task[2].as_json()


def test_a_task_that_did_not_finish_is_an_error_naming_its_file(one_task, mix_config, tmp_path):
    from glassworks.pipeline.tokens.pool import _assemble, plan_tokenize

    run = tmp_path / "run"
    shutil.copytree(one_task[0], run)
    config = mix_config()
    plan = plan_tokenize(config.corpus, list(config.corpus.sources), run / "tokenizer", run, 1, SHARD)
    (plan.logs / "units" / "code" / "000001.json").unlink()
    from glassworks.pipeline.tokens.tokenizer import Tokenizer

    with pytest.raises(GlassworksError, match=r"code/000001\.json: missing: the task that tokenizes .*part-1\.jsonl\.gz"):
        _assemble(plan, list(config.corpus.sources), Tokenizer.load(run / "tokenizer"), Counts(), None)


def test_data_build_renders_the_slurm_job_from_the_command_line(run_dir, tmp_path, capsys):
    config = tmp_path / "mix.yaml"
    config.write_text("corpus:\n  sources: {docs: [corpus/docs], code: [corpus/code]}\n"
                      "phases:\n  - {name: phase1, seq_len: 64, tokens: 6400, weights: {docs: 1}}\n", encoding="utf-8")
    assert main(["data", "build", str(config), "--workdir", str(run_dir), "--executor", "slurm", "--tasks", "2",
                 "--render-only"]) == 0
    out = capsys.readouterr().out
    assert f"wrote {run_dir / 'slurm' / 'data.tokenize.slurm'}" in out and "--tasks 2" in out
    assert "#SBATCH --array=0-1" in (run_dir / "slurm" / "data.tokenize.slurm").read_text()
    assert not list((run_dir / "manifests").glob("data.*"))  # nothing recorded until the tasks have run
    assert main(["data", "build", str(config), "--workdir", str(run_dir), "--render-only"]) != 0


def test_tokenize_submitted_to_a_real_slurm_gives_the_local_bytes(slurm, run_dir, tmp_path):
    """`data build --executor slurm` on the one-node Slurm of tests/slurm.py, then recorded locally."""
    import subprocess
    import sys

    config = tmp_path / "mix.yaml"
    config.write_text("corpus:\n  sources: {docs: [corpus/docs], code: [corpus/code], bible: [corpus/bible]}\n"
                      "phases:\n  - {name: phase1, seq_len: 64, tokens: 6400, weights: {docs: 1, code: 1}}\n",
                      encoding="utf-8")
    local = tmp_path / "local"
    shutil.copytree(run_dir, local)

    def build(run: Path, *args: str, **kwargs) -> subprocess.CompletedProcess:
        done = subprocess.run([sys.executable, "-m", "glassworks.cli", "data", "build", str(config), "--workdir", str(run),
                               "--tasks", "2", *args], capture_output=True, text=True, timeout=180, **kwargs)
        assert done.returncode == 0, done.stderr[-3000:]
        return done

    build(run_dir, "--executor", "slurm", env=slurm.env, cwd=tmp_path)
    jobs = slurm.jobs_from(tmp_path)
    assert jobs
    slurm.wait(*jobs, timeout=180)
    logs = run_dir / "logs" / "data.tokenize"
    assert sorted(p.name for p in (logs / "completions").iterdir()) == ["00000", "00001"]
    assert list((logs / "slurm_logs").glob("*.out"))  # Slurm ran the tasks
    by_slurm = tree(run_dir / "data" / "tokenized")  # the shards; the pool's index is joined when recorded
    assert by_slurm and all("/shards/" in name for name in by_slurm)
    build(run_dir, "--executor", "local")  # finds the tasks done, records data.tokenize and packs the phase
    build(local, "--workers", "2")
    recorded = tree(run_dir / "data" / "tokenized")
    assert recorded == tree(local / "data" / "tokenized")
    assert {name: recorded[name] for name in by_slurm} == by_slurm
    assert tree(run_dir / "data" / "phase1") == tree(local / "data" / "phase1")
