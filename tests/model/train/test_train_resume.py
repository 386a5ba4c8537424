"""Exact resume: stop a run at a random step (cleanly, by SIGTERM, or by SIGKILL), run the
same command again, and the losses, learning rates, gradient norms and final weights are
bit-identical to the uninterrupted run's."""

import json
import os
import random
import signal
import subprocess
import sys
import time

import pytest

from glassworks.errors import GlassworksError
from glassworks.model.train import train
from glassworks.model.train.run import RESUME_DIR


def final_weights(run):
    return (run / "checkpoints" / "final" / "model.safetensors").read_bytes()


def test_stop_at_a_random_step_and_resume_is_bit_identical(reference, run_dir, train_config, losses):
    ref_dir, ref = reference
    step = random.Random(os.getpid()).randrange(1, ref.total_steps)
    stopped = train(train_config(), run_dir, stop_at=step)
    assert not stopped.complete and stopped.step == step, step
    assert stopped.stopped_by == f"stop_at={step}" and stopped.final is None
    assert losses(run_dir) == losses(ref_dir)[:step]
    resumed = train(train_config(), run_dir)
    assert resumed.complete
    assert losses(run_dir) == losses(ref_dir), f"stopped at step {step}"
    assert final_weights(run_dir) == final_weights(ref_dir), f"stopped at step {step}"
    assert not (run_dir / RESUME_DIR).exists()
    # the manifests name the same files with the same hashes: same ids as the reference run's
    assert sorted(p.name for p in (run_dir / "manifests").glob("train.*")) == \
        sorted(p.name for p in (ref_dir / "manifests").glob("train.*"))


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["SIGTERM", "SIGKILL"])
def test_killed_process_resumes_bit_identical(sig, reference, run_dir, train_config, losses, tmp_path):
    from glassworks.config import dump_yaml
    from glassworks.model.train.run import METRICS_FILE

    ref_dir, ref = reference
    config = tmp_path / "train.yaml"
    config.write_text(dump_yaml(train_config()))
    command = [sys.executable, "-m", "glassworks.model.train", str(config), "--workdir", str(run_dir)]
    target = random.Random(os.getpid() + sig).randrange(2, ref.total_steps - 4)
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    metrics = run_dir / METRICS_FILE
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if metrics.is_file() and len(metrics.read_text().splitlines()) >= target:
            proc.send_signal(sig)
            break
        time.sleep(0.005)
    out, err = proc.communicate(timeout=120)
    logged = len(losses(run_dir))
    assert logged < ref.total_steps, f"the run finished before the signal (target step {target})"
    if sig == signal.SIGTERM:
        assert proc.returncode == 128 + sig, err
        assert "stopped (SIGTERM)" in out
        resume = json.loads((run_dir / RESUME_DIR / "trainer" / "trainer.json").read_text()) \
            if (run_dir / RESUME_DIR).exists() else None
        kept = [p for p in (run_dir / "checkpoints").iterdir() if p.name.startswith(f"step{logged:07d}-")]
        assert kept or resume["cursor"]["step"] == logged  # the state of the last logged step was written
    else:
        assert proc.returncode == -sig
    assert train(train_config(), run_dir).complete  # the same run, resumed (in this process: faster)
    assert losses(run_dir) == losses(ref_dir), f"signal at step {logged}"
    assert final_weights(run_dir) == final_weights(ref_dir), f"signal at step {logged}"
    assert not [p for p in (run_dir / "checkpoints").iterdir() if p.name.startswith(".")]


def test_resume_refuses_another_recipe_and_a_corrupt_file(run_dir, train_config):
    train(train_config(), run_dir, stop_at=6)
    with pytest.raises(GlassworksError, match="trained with another config"):
        train(train_config(optimizer={"lr": 1e-3}), run_dir)
    optimizer = run_dir / RESUME_DIR / "trainer" / "optimizer.safetensors"
    data = bytearray(optimizer.read_bytes())
    data[-1] ^= 1
    optimizer.write_bytes(bytes(data))
    with pytest.raises(GlassworksError, match="optimizer.safetensors: sha256 .* differs"):
        train(train_config(), run_dir)


def test_runtime_may_change_between_a_run_and_its_resume(reference, run_dir, train_config, losses):
    # activation checkpointing recomputes the same forward: the numbers do not move
    train(train_config(runtime={"threads": 1, "activation_checkpointing": True}), run_dir, stop_at=5)
    assert train(train_config(), run_dir).complete
    assert losses(run_dir) == losses(reference[0])
