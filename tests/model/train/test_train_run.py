"""A whole run of the three phases: checkpoints on the schedule, metrics, plot, manifests
that link data -> train.phase1 -> train.phase2 -> train.phase3 and verify."""

import math

from glassworks.model.train import train
from glassworks.model.train.run import METRICS_FILE, PLOT_FILE, RESUME_DIR


def test_three_phases_write_checkpoints_metrics_and_verified_manifests(reference, train_config):
    from glassworks.model import load, read_state
    from glassworks.model.train.metrics import read_metrics
    from glassworks.provenance.manifest import load_manifest
    from glassworks.provenance.verify import verify_run

    run_dir, summary = reference
    assert summary.complete and summary.step == summary.total_steps == 12 + 12 + 4
    assert [(p.name, p.seq_len, p.steps) for p in summary.phases] == [
        ("phase1", 17, (1, 12)), ("phase2", 33, (13, 24)), ("phase3", 33, (25, 28))]

    # Pythia-like schedule: 0, 1, 2, 4 (log-spaced until 4), every 8, each phase end; final at 28
    names = sorted(p.name for p in (run_dir / "checkpoints").iterdir() if p.name != "final") + ["final"]
    tokens = {0: 0, 1: 136, 2: 272, 4: 544, 8: 1088, 12: 1632, 16: 1632 + 4 * 132, 24: 1632 + 12 * 132}
    assert names == [f"step{s:07d}-tokens{t:013d}" for s, t in sorted(tokens.items())] + ["final"]
    assert not (run_dir / RESUME_DIR).exists()
    final = read_state(run_dir / "checkpoints" / "final")
    assert (final.step, final.tokens_seen, final.phase) == (28, 1632 + 12 * 132 + 4 * 132, "phase3")
    assert final.data_manifest.startswith("data.phase3-")
    assert read_state(run_dir / "checkpoints" / names[5]).phase == "phase1"  # step 12 ends phase 1
    assert (run_dir / "checkpoints" / "final" / "tokenizer" / "tokenizer.model").is_file()
    model = load(run_dir / "checkpoints" / "final")
    assert model.config.vocab_size == 512 and model.config.max_seq_len == 33

    records = read_metrics(run_dir / METRICS_FILE)
    assert [r["step"] for r in records] == list(range(1, 29))
    for r in records:
        assert math.isfinite(r["loss"]) and r["grad_norm"] > 0 and r["tokens_per_s"] > 0
        assert r["mfu"] is None  # no peak for a CPU
    assert records[-1]["loss"] < records[0]["loss"] - 0.5
    lrs = [r["lr"] for r in records]  # warmup 3, then cosine down to 10% of 3e-3
    assert lrs[:3] == [1e-3, 2e-3, 3e-3] and math.isclose(lrs[-1], 3e-4)
    assert all(a >= b for a, b in zip(lrs[2:], lrs[3:]))
    assert (run_dir / PLOT_FILE).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    manifests = {m["stage"]["name"]: m for m in map(load_manifest, (run_dir / "manifests").glob("*.json"))}
    for i, phase in enumerate(["phase1", "phase2", "phase3"]):
        m = manifests[f"train.{phase}"]
        assert manifests[f"data.{phase}"]["id"] in m["upstream"]
        assert manifests["tokenizer"]["id"] in m["upstream"]
        if i:
            assert manifests[f"train.phase{i}"]["id"] in m["upstream"]
        assert summary.phases[i].manifest_id == m["id"]
    inputs = {f["path"] for f in manifests["train.phase2"]["inputs"]["files"]}
    assert {"data/phase2/index.json", f"checkpoints/{names[5]}/state.json", "tokenizer/tokenizer.model"} <= inputs
    outputs = {f["path"].split("/")[1] for f in manifests["train.phase3"]["outputs"]["files"]}
    assert outputs == {"final"}
    counts = manifests["train.phase1"]["counts"]
    assert (counts["unit"], counts["in"], counts["kept"], counts["dropped"]) == ("sequences", 96, 96, {})
    assert manifests["train.phase3"]["counts"]["dropped"] == {"not_trained": 24 - 16}
    report = verify_run(run_dir)
    assert report.ok, report.failures

    again = train(train_config(), run_dir)  # done already: nothing retrained, nothing rewritten
    assert again.complete and [p.manifest_id for p in again.phases] == [p.manifest_id for p in summary.phases]
    assert len(read_metrics(run_dir / METRICS_FILE)) == 28


def test_dry_run_prints_the_plan(run_dir, tmp_path, train_config):
    import contextlib
    import io

    import yaml

    from glassworks.config import dump_yaml
    from glassworks.model.train.cli import main

    path = tmp_path / "train.yaml"
    path.write_text(dump_yaml(train_config()))
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main([str(path), "--workdir", str(run_dir), "--dry-run"]) == 0
    text = out.getvalue()
    assert "phase1: 96 sequences x 17, batch 8, 12 steps" in text and "phase3:" in text
    assert yaml.safe_load(text.split("---")[0])["model"] == "tiny"
    assert not (run_dir / "checkpoints").exists()
