"""Multi-node launch: `glassworks train --render-slurm` writes an sbatch script (one torchrun
per node, c10d rendezvous on the first node); a real one-node Slurm runs it with 2 CPU
processes (gloo, DDP), and the run ends as the one-process reference does, within the DDP
tolerance of test_train_distributed (losses 2e-5, weights 1e-4), with every stage verified."""

import json
import shutil
import socket

import pytest
import torch
from click.testing import CliRunner

from glassworks.cli import cli, main
from glassworks.config import dump_yaml


def render(*args):
    return CliRunner().invoke(cli, ["train", *args])


def test_rendered_script_starts_one_torchrun_per_node(tmp_path):
    script = tmp_path / "train.sbatch"
    result = render("configs/train-7b.yaml", "--workdir", str(tmp_path / "run"), "--render-slurm", str(script),
                    "--nodes", "8", "--gpus-per-node", "8", "--time", "72:00:00", "--stop-at-step", "1000")
    assert result.exit_code == 0, result.output
    assert "8 node(s) x 8 process(es)" in result.output
    text = script.read_text()
    for line in ("#SBATCH --nodes=8", "#SBATCH --ntasks-per-node=1", "#SBATCH --gpus-per-node=8",
                 "#SBATCH --time=72:00:00", 'nodes=($(scontrol show hostnames "$SLURM_JOB_NODELIST"))',
                 "srun --nodes=8 --ntasks-per-node=1", "--nnodes=8 --nproc-per-node=8",
                 '--rdzv-backend=c10d --rdzv-endpoint="$head_node:29500" --rdzv-id="glassworks-train-$SLURM_JOB_ID"',
                 "-m glassworks.model.train", "--stop-at-step 1000", f"--workdir {tmp_path / 'run'}"):
        assert line in text, line
    assert text.startswith("#!/bin/bash\n") and "--cpus-per-task" not in text


def test_render_refuses_what_would_fail_in_the_queue(tmp_path):
    # 2048 sequences per step do not split over 3 nodes x 8 GPUs x micro-batch 4
    bad = render("configs/train-7b.yaml", "--workdir", str(tmp_path), "--render-slurm", str(tmp_path / "s"),
                 "--nodes", "3")
    assert bad.exit_code != 0 and "micro_batch_size" in str(bad.exception)
    cpu = render("configs/train-7b.yaml", "--workdir", str(tmp_path), "--render-slurm", str(tmp_path / "s"),
                 "--gpus-per-node", "0")
    assert cpu.exit_code != 0 and "--procs-per-node" in str(cpu.exception)
    stray = render("configs/train-7b.yaml", "--workdir", str(tmp_path), "--nodes", "2")
    assert stray.exit_code == 2 and "only apply with --render-slurm" in stray.output


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("", 0))
        return s.getsockname()[1]


def test_tiny_preset_trains_through_sbatch_on_two_processes(slurm, packed_run, reference, train_config, losses,
                                                            tmp_path):
    from safetensors.torch import load_file

    ref_dir, _ = reference
    run = tmp_path / "run"
    shutil.copytree(packed_run, run)
    config = tmp_path / "train.yaml"
    config.write_text(dump_yaml(train_config(checkpoints={"storage": "dcp"})))
    script = tmp_path / "train.sbatch"
    result = render(str(config), "--workdir", str(run), "--render-slurm", str(script), "--gpus-per-node", "0",
                    "--procs-per-node", "2", "--cpus-per-node", "2", "--partition", "cpu", "--time", "00:10:00",
                    "--rdzv-port", str(_free_port()))
    assert result.exit_code == 0, result.output
    job = slurm.sbatch(script)
    slurm.wait(job, timeout=240)
    out = (run / "logs" / "train" / f"slurm-{job}.out").read_text()
    assert "2 ranks, rendezvous at " in out and "complete: step" in out, out[-3000:]
    trainer = json.loads((run / "checkpoints" / "final" / "trainer" / "trainer.json").read_text())
    assert trainer["world_size"] == 2
    expected, got = losses(ref_dir), losses(run)
    assert [r[:2] for r in got] == [r[:2] for r in expected]
    torch.testing.assert_close([r[2] for r in got], [r[2] for r in expected], rtol=2e-5, atol=0)
    want = load_file(str(ref_dir / "checkpoints" / "final" / "model.safetensors"))
    final = load_file(str(run / "checkpoints" / "final" / "model.safetensors"))
    assert final.keys() == want.keys()
    for name in want:
        torch.testing.assert_close(final[name], want[name], rtol=1e-3, atol=1e-4, msg=name)
    assert main(["audit", "verify", str(run)]) == 0
