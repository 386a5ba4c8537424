"""Sharded trainer checkpoints (``checkpoints.storage: dcp``): torch.distributed.checkpoint
shards written asynchronously, resumed on the same or another number of ranks.

On one process the run is bit-identical to the uninterrupted ``safetensors`` reference, and
its kept and final checkpoints (consolidated when written) are byte-identical to the ones
the old path writes. Across rank counts (2 -> 1 and 1 -> 2, FSDP2 on 2 gloo processes)
the losses equal the reference within the DDP tolerance of test_train_distributed.py:
relative 2e-5 on the loss (a different reduction order of the same sums), 1e-3 on the
gradient norm."""

import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import torch

from glassworks.errors import GlassworksError
from glassworks.model.train import train
from glassworks.model.train.run import METRICS_FILE, RESUME_DIR

DCP = {"storage": "dcp"}


def close_to_reference(got, expected, what):
    assert [r[:2] for r in got] == [r[:2] for r in expected], what  # (step, phase)
    torch.testing.assert_close([r[2] for r in got], [r[2] for r in expected], rtol=2e-5, atol=0, msg=what)
    torch.testing.assert_close([r[4] for r in got], [r[4] for r in expected], rtol=1e-3, atol=0, msg=what)


def test_one_process_resume_is_bit_identical_and_consolidates_as_before(reference, run_dir, train_config, losses):
    ref_dir, ref = reference
    stopped = train(train_config(checkpoints=DCP), run_dir, stop_at=7)  # step 7: kept 4 and resume at 5, 7
    assert stopped.step == 7 and not stopped.complete
    resume = run_dir / RESUME_DIR
    info = json.loads((resume / "trainer" / "trainer.json").read_text())
    assert info["storage"] == "dcp" and info["cursor"]["step"] == 7
    assert (resume / "trainer" / "dcp" / ".metadata").is_file()
    assert not (resume / "model.safetensors").exists()  # train/resume is not consolidated
    assert not [p for p in (run_dir / "checkpoints").iterdir() if p.name.startswith(".")]  # no staging left
    assert train(train_config(checkpoints=DCP), run_dir).complete
    assert losses(run_dir) == losses(ref_dir)
    names = sorted(p.name for p in (run_dir / "checkpoints").iterdir())
    assert names == sorted(p.name for p in (ref_dir / "checkpoints").iterdir())
    for name in names:  # every kept checkpoint and final: the same weights file as the old path's
        for file in ("model.safetensors", "config.json", "state.json"):
            assert (run_dir / "checkpoints" / name / file).read_bytes() == \
                (ref_dir / "checkpoints" / name / file).read_bytes(), (name, file)
        assert (run_dir / "checkpoints" / name / "trainer" / "dcp" / ".metadata").is_file()
    assert not (run_dir / RESUME_DIR).exists()


def test_killed_during_dcp_writes_resumes_bit_identical(reference, run_dir, train_config, losses, tmp_path):
    from glassworks.config import dump_yaml

    ref_dir, ref = reference
    config = tmp_path / "train.yaml"
    config.write_text(dump_yaml(train_config(checkpoints={**DCP, "resume_every": 1})))  # a write every step
    proc = subprocess.Popen([sys.executable, "-m", "glassworks.model.train", str(config), "--workdir", str(run_dir)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    metrics = run_dir / METRICS_FILE
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if metrics.is_file() and len(metrics.read_text().splitlines()) >= 9:
            proc.send_signal(signal.SIGKILL)
            break
        time.sleep(0.005)
    proc.communicate(timeout=120)
    assert len(losses(run_dir)) < ref.total_steps, "the run finished before the kill"
    assert train(train_config(checkpoints=DCP), run_dir).complete
    assert losses(run_dir) == losses(ref_dir)
    final = "checkpoints/final/model.safetensors"
    assert (run_dir / final).read_bytes() == (ref_dir / final).read_bytes()
    assert not [p for p in (run_dir / "checkpoints").iterdir() if p.name.startswith(".")]


def test_an_incomplete_dcp_checkpoint_is_refused(run_dir, train_config):
    train(train_config(checkpoints=DCP), run_dir, stop_at=6)
    # a write cut short before its trainer.json and rename: never a candidate, removed on start
    staging = run_dir / "checkpoints" / ".step0000009-tokens0000000001224.tmp-step9"
    shutil.copytree(run_dir / RESUME_DIR, staging)
    (staging / "trainer" / "trainer.json").unlink()
    shard = next((run_dir / RESUME_DIR / "trainer" / "dcp").glob("*.distcp"))
    shard.write_bytes(shard.read_bytes()[:-1])
    with pytest.raises(GlassworksError, match=r"distcp: missing or not the \d+ bytes recorded"):
        train(train_config(checkpoints=DCP), run_dir)
    assert not staging.exists()


def test_resume_on_another_rank_count(reference, packed_run, tmp_path, train_config, losses):
    """1 -> 2: one process stops at step 5, two FSDP processes resume it to step 14.
    2 -> 1: two FSDP processes stop at step 6, one process resumes it to the end."""
    ref_dir, ref = reference
    one_two, two_one = tmp_path / "one-two", tmp_path / "two-one"
    for run in (one_two, two_one):
        shutil.copytree(packed_run, run)
    assert train(train_config(checkpoints=DCP), one_two, stop_at=5).step == 5
    script = tmp_path / "two.py"
    script.write_text(textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {str(Path(__file__).parent)!r})
        import torch.distributed as dist
        from conftest import make_config
        from glassworks.model.train import train
        dist.init_process_group("gloo")
        config = make_config(runtime={{"threads": 1, "parallel": "fsdp"}}, checkpoints={DCP!r})
        assert train(config, {str(one_two)!r}, stop_at=14).step == 14
        assert train(config, {str(two_one)!r}, stop_at=6).step == 6
        dist.destroy_process_group()
    """))
    env = {k: v for k, v in os.environ.items() if k not in ("WORLD_SIZE", "RANK", "LOCAL_RANK")}
    done = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
                           str(script)], capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    info = json.loads((two_one / RESUME_DIR / "trainer" / "trainer.json").read_text())
    assert info["world_size"] == 2 and len(list((two_one / RESUME_DIR / "trainer" / "dcp").glob("*.distcp"))) == 2
    assert train(train_config(checkpoints=DCP), two_one).complete
    expected = losses(ref_dir)
    close_to_reference(losses(one_two), expected[:14], "1 -> 2")
    close_to_reference(losses(two_one), expected, "2 -> 1")
    from safetensors.torch import load_file

    got = load_file(str(two_one / "checkpoints" / "final" / "model.safetensors"))
    want = load_file(str(ref_dir / "checkpoints" / "final" / "model.safetensors"))
    assert got.keys() == want.keys()
    for name in want:
        torch.testing.assert_close(got[name], want[name], rtol=1e-3, atol=1e-4, msg=name)


FOUR_RANK_PHASES = [{"name": "phase1", "batch_size": 8}, {"name": "phase2", "batch_size": 4},
                    {"name": "phase3", "batch_size": 4, "steps": 4}]  # no fixed micro-batch: 2 or 1 per rank


def test_four_ranks_resumed_on_one(packed_run, tmp_path, train_config, losses):
    """4 FSDP processes stop at step 4 (each holding a quarter of every parameter and of
    AdamW's state); one process resumes to step 8 and matches an uninterrupted one-process run."""
    ref, four = tmp_path / "ref", tmp_path / "four"
    for run in (ref, four):
        shutil.copytree(packed_run, run)
    assert train(train_config(phases=FOUR_RANK_PHASES), ref, stop_at=8).step == 8
    script = tmp_path / "four.py"
    script.write_text(textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {str(Path(__file__).parent)!r})
        from conftest import make_config
        from glassworks.model.train import train
        config = make_config(phases={FOUR_RANK_PHASES!r}, checkpoints={DCP!r},
                             runtime={{"threads": 1, "parallel": "fsdp"}})
        assert train(config, {str(four)!r}, stop_at=4).step == 4
    """))
    env = {k: v for k, v in os.environ.items() if k not in ("WORLD_SIZE", "RANK", "LOCAL_RANK")}
    done = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "4",
                           str(script)], capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    kept = next((four / "checkpoints").glob("step0000004-*"))  # step 4 is kept: no train/resume written
    assert len(list((kept / "trainer" / "dcp").glob("*.distcp"))) == 4 and not (four / RESUME_DIR).exists()
    assert train(train_config(phases=FOUR_RANK_PHASES, checkpoints=DCP), four, stop_at=8).step == 8
    close_to_reference(losses(four), losses(ref), "4 -> 1")
