"""Stability guards and config errors: a diverging run stops with a clear message and leaves
its last good checkpoint intact; z-loss and max-z loss; batches that do not divide."""

import pytest
import torch

from glassworks.errors import ConfigError, GlassworksError
from glassworks.model.train import train
from glassworks.model.train.run import RESUME_DIR


def test_nan_loss_stops_and_keeps_the_last_good_checkpoint(run_dir, train_config):
    from glassworks.model import load
    from glassworks.model.train.metrics import read_metrics
    from glassworks.model.train.run import METRICS_FILE
    from glassworks.model.train.trainer import NonFiniteLoss

    # a learning rate of 1e30 takes the weights to ~1e29 in one update: the next loss overflows
    with pytest.raises(NonFiniteLoss) as info:
        train(train_config(optimizer={"lr": 1e30}, schedule={"warmup_steps": 0}), run_dir)
    message = str(info.value)
    logged = read_metrics(run_dir / METRICS_FILE)
    bad = len(logged) + 1
    assert f"at step {bad} (phase1 step {bad})" in message and "nothing written" in message
    assert "nan" in message or "inf" in message
    names = sorted(p.name for p in (run_dir / "checkpoints").iterdir())
    assert all(int(n[4:11]) < bad for n in names) and not (run_dir / RESUME_DIR).exists()
    last = run_dir / "checkpoints" / names[-1]
    assert f"last good checkpoint is {last}" in message
    load(last)  # re-hashes the weights against the sidecar: intact
    assert not list((run_dir / "manifests").glob("train.*"))  # the phase did not finish: no record


def test_token_losses_sum_cross_entropy_z_and_max_logit_over_predicted_tokens():
    from glassworks.model.train.data import IGNORE
    from glassworks.model.train.trainer import token_losses

    logits = torch.randn(2, 5, 11, generator=torch.Generator().manual_seed(0)) * 3
    targets = torch.randint(0, 11, (2, 5), generator=torch.Generator().manual_seed(1))
    targets[0, 2] = targets[1, 0] = IGNORE
    ce, z, max_z = token_losses(logits, targets, z=True, max_z=True).tolist()
    keep = targets != IGNORE
    flat, t = logits[keep], targets[keep]
    assert ce == pytest.approx(-(flat.log_softmax(-1)[torch.arange(len(t)), t]).sum().item(), rel=1e-6)
    assert z == pytest.approx((flat.logsumexp(-1) ** 2).sum().item(), rel=1e-6)
    assert max_z == pytest.approx((flat.max(-1).values ** 2).sum().item(), rel=1e-6)
    assert token_losses(logits, targets, z=False, max_z=False)[1:].tolist() == [0.0, 0.0]


def test_z_and_max_z_losses_are_logged_and_change_the_updates(run_dir, reference, train_config, losses):
    from glassworks.model.train.metrics import read_metrics
    from glassworks.model.train.run import METRICS_FILE

    train(train_config(optimizer={"z_loss": 1e-4, "max_z_loss": 2e-4}), run_dir, stop_at=3)
    records = read_metrics(run_dir / METRICS_FILE)
    assert all(r["z_loss"] > 0 and r["max_z_loss"] > 0 for r in records)
    ref = losses(reference[0])
    assert records[0]["loss"] == ref[0][2]  # same weights, same batch: the same cross-entropy
    assert records[2]["loss"] != ref[2][2]  # the extra terms changed the gradients


def test_batches_that_do_not_divide_are_refused_naming_the_phase(train_config, run_dir):
    config = train_config(phases=[{"name": "phase1", "batch_size": 6, "micro_batch_size": 4}])
    with pytest.raises(ConfigError, match="phase 'phase1': batch_size 6 is not a multiple of micro_batch_size 4"):
        train(config, run_dir)
    with pytest.raises(GlassworksError, match="phase 'phase1' has 96 sequences, fewer than one batch of 128"):
        train(train_config(phases=[{"name": "phase1", "batch_size": 128}]), run_dir)


def test_config_errors_name_file_line_and_key(tmp_path, run_dir, capsys):
    from glassworks.model.train.cli import main

    path = tmp_path / "train.yaml"
    path.write_text("phases:\n  - {name: phase1, batch_size: 8}\noptimizer:\n  lr: 3e-4\n  beta: 0.9\n")
    assert main([str(path), "--workdir", str(run_dir)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"glassworks: error: {path}:5: unknown key 'optimizer.beta' (did you mean")
    assert main([str(path), "--workdir", str(run_dir), "--stop-at-step", "0"]) == 2
