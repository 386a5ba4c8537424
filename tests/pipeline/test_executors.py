"""The Slurm and Ray executors: rendered sbatch scripts that really run, and a local Ray run."""

import json
import os
from dataclasses import replace
from pathlib import Path

import dill
import pytest

from glassworks.pipeline.recipe import check_recipe_file, run_recipe
from glassworks.pipeline.slurm import slurm_jobs
from glassworks.provenance import verify_run

REPO = Path(__file__).resolve().parents[2]
SLIMPAJAMA = REPO / "configs" / "slimpajama.yaml"


def recipe(tasks=2, kind="local", workers=1):
    config = check_recipe_file(SLIMPAJAMA)
    return replace(config, raw=replace(config.raw, data_dir=REPO / "data"),
                   executor=replace(config.executor, kind=kind, tasks=tasks, workers=workers))


def tree_bytes(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_rendered_slurm_jobs_run_and_then_record_like_a_local_run(tmp_path, monkeypatch):
    run = tmp_path / "slurm-run"
    scripts = slurm_jobs(recipe(tasks=2), run, submit=False)
    assert [s.name for s in scripts] == [
        "slimpajama.extract.web.slurm", "slimpajama.normalize.web.slurm", "slimpajama.normalize.text.slurm",
        "slimpajama.language.web.slurm", "slimpajama.language.text.slurm"]
    text = scripts[2].read_text()
    assert text.startswith("#!/bin/bash\n")
    for line in ("#SBATCH --job-name=slimpajama.normalize.text", "#SBATCH --array=0-1", "#SBATCH --partition=cpu",
                 "#SBATCH --time=04:00:00", "launch_pickled_pipeline"):
        assert line in text, line
    assert "bin/activate" in text  # the job runs on this Python's environment

    # Play the cluster: run every array task of every job, in dependency order, from the pickles.
    # The one cluster tool datatrove calls inside a job is `scontrol show hostnames`.
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "scontrol").write_text('#!/bin/sh\n[ "$1 $2" = "show hostnames" ] && echo "$3"\n')
    (bin_dir / "scontrol").chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")
    for name, value in {"SLURM_NODELIST": "node001", "SLURM_NODEID": "0", "SLURM_JOB_ID": "1234",
                        "SLURM_ARRAY_JOB_ID": "1234", "SLURM_JOB_NUM_NODES": "1"}.items():
        monkeypatch.setenv(name, value)
    for script in scripts:
        pickle = script.read_text().split("launch_pickled_pipeline ")[1].split()[0]
        ranks = json.loads((Path(pickle).parent / "ranks_to_run.json").read_text())
        assert ranks == [0, 1]
        for task in range(2):  # each array task is its own process: a fresh copy of the executor
            monkeypatch.setenv("SLURM_ARRAY_TASK_ID", str(task))
            with open(pickle, "rb") as handle:
                dill.load(handle).run()
        monkeypatch.delenv("SLURM_ARRAY_TASK_ID")

    # Recording afterwards skips the finished tasks and gives what a local run gives.
    results = run_recipe(recipe(tasks=2), run)
    local = tmp_path / "local-run"
    run_recipe(recipe(tasks=2), local)
    assert tree_bytes(run / "corpus") == tree_bytes(local / "corpus")
    assert sorted(r.manifest_id for r in results) == sorted(p.stem for p in (local / "manifests").glob("slimpajama.*"))
    assert sorted(p.name for p in (run / "manifests").iterdir()) == sorted(p.name for p in (local / "manifests").iterdir())
    assert verify_run(run, roots={"data": REPO / "data"}).ok


@pytest.mark.skipif(os.environ.get("GLASSWORKS_SKIP_RAY") == "1", reason="GLASSWORKS_SKIP_RAY=1")
def test_local_ray_run_matches_local_executor(tmp_path):
    pytest.importorskip("ray")
    import ray

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    try:
        run_recipe(recipe(tasks=2, kind="ray", workers=2), tmp_path / "ray")
    finally:
        ray.shutdown()
    run_recipe(recipe(tasks=2), tmp_path / "local")
    assert tree_bytes(tmp_path / "ray" / "corpus") == tree_bytes(tmp_path / "local" / "corpus")
    assert sorted(p.name for p in (tmp_path / "ray" / "manifests").iterdir()) == sorted(
        p.name for p in (tmp_path / "local" / "manifests").iterdir())
