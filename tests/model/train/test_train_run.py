"""A whole run of the three phases: checkpoints, metrics, plot, manifests that verify."""

import json

from glassworks.model.train import train


def test_three_phases_write_checkpoints_metrics_and_verified_manifests(run_dir, train_config, losses):
    summary = train(train_config(), run_dir)
    assert summary.complete and summary.step == summary.total_steps == 12 + 12 + 4
    assert [p.name for p in summary.phases] == ["phase1", "phase2", "phase3"]
    print(summary.lines())
