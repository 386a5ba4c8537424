"""`train plan`'s memory counts against the tensors one real CPU training step allocates.

Weights, gradients and AdamW state are measured as the bytes of the distinct storages the
model and optimizer hold after a step; activations as the distinct storages autograd saves
during the forward and loss (saved-tensor hooks), which is what stays live until backward.
Tolerance: 2 % (the plan leaves out only a few scalars per step).
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from glassworks.model.config import ModelConfig, parameter_count
from glassworks.model.train import plan
from glassworks.model.train.trainer import token_losses
from glassworks.model.transformer import build

SMALL = ModelConfig(vocab_size=256, dim=64, n_layers=3, n_heads=4, n_kv_heads=2, head_dim=16, hidden_dim=160,
                    window=None, max_seq_len=64)
TOLERANCE = 0.02


def _storage_bytes(tensors) -> int:
    seen = {}
    for t in tensors:
        s = t.untyped_storage()
        seen[s.data_ptr()] = s.nbytes()
    return sum(seen.values())


def _measure(checkpointing: bool, max_z: bool, micro: int = 2, seq_len: int = 64):
    torch.manual_seed(0)
    model = build(SMALL, seed=0, backend="sdpa")
    model.activation_checkpointing = checkpointing
    model.train()
    opt = torch.optim.AdamW(model.param_groups(0.1), lr=1e-3, fused=True)
    params = {p.untyped_storage().data_ptr() for p in model.parameters()}
    saved = {}

    def pack(t):
        s = t.untyped_storage()
        if s.data_ptr() not in params:
            saved[s.data_ptr()] = s.nbytes()
        return t

    rows = torch.randint(0, SMALL.vocab_size, (micro, seq_len))
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        logits = model(rows[:, :-1])
        loss = token_losses(logits, rows[:, 1:], False, max_z).sum()
    loss.backward()
    opt.step()
    state = [t for s in opt.state.values() for t in s.values() if torch.is_tensor(t) and t.ndim > 0]
    return {"parameters": _storage_bytes(model.parameters()),
            "gradients": _storage_bytes(p.grad for p in model.parameters()),
            "optimizer": _storage_bytes(state),
            "activations": sum(saved.values())}, micro * (seq_len - 1)


@pytest.mark.parametrize("max_z", [False, True])
def test_plan_matches_one_cpu_step(max_z):
    measured, tokens = _measure(checkpointing=False, max_z=max_z)
    planned = plan.memory_plan(SMALL, tokens=tokens, gpus=1, mode="none", precision="fp32",
                               checkpointing=False, z_terms=int(max_z))
    for kind, value in measured.items():
        assert getattr(planned, kind) == pytest.approx(value, rel=TOLERANCE), kind


def test_plan_with_activation_checkpointing():
    """Checkpointed blocks keep only their inputs during the forward; the plan adds one block's
    recompute on top, so the saved part is checked as the plan minus that block."""
    measured, tokens = _measure(checkpointing=True, max_z=False)
    # The checkpoints hold the rotary cos/sin tables through their recompute closure, which
    # saved-tensor hooks do not see; they are live all the same (fp32, one row here: no packing).
    measured["activations"] += 2 * 4 * (64 - 1) * SMALL.head_dim
    planned = plan.memory_plan(SMALL, tokens=tokens, gpus=1, mode="none", precision="fp32", checkpointing=True)
    one_block = tokens * plan.layer_activation_bytes(SMALL, "fp32")
    assert planned.activations - one_block == pytest.approx(measured["activations"], rel=TOLERANCE)
    full = plan.memory_plan(SMALL, tokens=tokens, gpus=1, mode="none", precision="fp32", checkpointing=False)
    assert planned.activations < full.activations


def test_fsdp_shards_state_and_bf16_halves_activations():
    c = SMALL
    one = plan.memory_plan(c, tokens=1024, gpus=1, mode="none", precision="fp32", checkpointing=False)
    eight = plan.memory_plan(c, tokens=1024, gpus=8, mode="fsdp", precision="bf16-fsdp", checkpointing=False)
    assert eight.optimizer == pytest.approx(one.optimizer / 8)
    assert eight.parameters == pytest.approx(4 * parameter_count(c) / 8)
    assert eight.activations < 0.7 * one.activations


def test_cli_prints_memory_and_time_for_7b(tmp_path):
    from click.testing import CliRunner

    from glassworks.cli import cli

    result = CliRunner().invoke(cli, ["train", "plan", "configs/train-7b.yaml", "--mixture",
                                      "configs/mixture-7b.yaml", "--gpus", "64", "--gpu", "h100", "--mfu", "0.5"])
    assert result.exit_code == 0, result.output
    assert "fsdp" in result.output and "activation checkpointing: on" in result.output
    assert "time at 50% MFU" in result.output and "6 N + 12 L H Q T" in result.output
    assert "precision: bf16-fsdp" in result.output
    fp32 = tmp_path / "train-7b-fp32.yaml"  # runtime.precision is what the plan sizes, not a guess
    fp32.write_text(Path("configs/train-7b.yaml").read_text().replace("precision: bf16", "precision: fp32"))
    result = CliRunner().invoke(cli, ["train", "plan", str(fp32), "--mixture", "configs/mixture-7b.yaml",
                                      "--gpus", "64", "--gpu", "h100"])
    assert result.exit_code == 0, result.output
    assert "precision: fp32" in result.output
    missing = CliRunner().invoke(cli, ["train", "plan", "configs/train-1b.yaml"])
    assert missing.exit_code != 0 and "--mixture" in str(missing.exception or missing.output)


def test_gpu_bench_cpu_smoke_runs_every_path():
    """bench/gpu.py --cpu-smoke: training steps, the attention backends, both decoders, one JSON line."""
    import json
    import subprocess
    import sys
    from pathlib import Path

    script = Path(__file__).resolve().parents[3] / "bench" / "gpu.py"
    done = subprocess.run([sys.executable, "-P", str(script), "--cpu-smoke"], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert [t["preset"] for t in result["train"]] == ["150m", "1b"] and all(t["tokens_per_s"] > 0 for t in result["train"])
    assert result["attention"]["sdpa"]["measured"] == "forward+backward" and "seconds" in result["attention"]["flex"]
    assert result["decode"]["ours_tok_s"] > 0 and result["decode"]["hf_generate_tok_s"] > 0
