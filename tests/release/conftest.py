"""Shared fixtures of the release tests: the Model Openness Tool's reference files."""

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
MOF_REFERENCE = REPO.parent / "shared" / "mof-reference"


@pytest.fixture(scope="session")
def mof_reference() -> Path:
    """``../shared/mof-reference`` next to the checkout (the MOT's schema, licence lists,
    sample models and conformance data); the tests that need it skip when it is absent."""
    if not (MOF_REFERENCE / "Test_Data" / "expected_results.json").is_file():
        pytest.skip(f"{MOF_REFERENCE} is absent: the Model Openness Tool reference files are not next to this checkout")
    return MOF_REFERENCE


DATA = REPO / "data"


def _corpus_run(run: Path) -> None:
    """The demo's slimpajama recipe over the embedded corpus, its global dedup, a small
    tokenizer and three small phase mixtures: real documents, token shards and manifests."""
    from dataclasses import replace

    from glassworks.config import from_dict
    from glassworks.pipeline.dedup.config import DedupConfig
    from glassworks.pipeline.dedup.run import run_dedup
    from glassworks.pipeline.recipe import check_recipe_file, run_recipe
    from glassworks.pipeline.tokens import MixtureConfig, TokenizerConfig, build_mixtures, train_tokenizer

    path = REPO / "configs" / "slimpajama.yaml"
    recipe = check_recipe_file(path)
    results = run_recipe(replace(recipe, raw=replace(recipe.raw, data_dir=DATA)), run, origin=str(path))
    run_dedup(DedupConfig(), {"slimpajama": results[-1].out}, run / "dedup", run)
    sources = {"slimpajama": ["dedup/kept/slimpajama"]}
    train_tokenizer(from_dict(TokenizerConfig, {
        "corpus": {"sources": sources, "weight_key": "dedup.weight"}, "sample": {"bytes": 300_000, "seed": 0},
        "model": {"vocab_size": 512, "model_max_length": 64}}), run)
    build_mixtures(from_dict(MixtureConfig, {
        "corpus": {"sources": sources, "weight_key": "dedup.weight"}, "seed": 0,
        "packing": {"sequences_per_shard": 64},
        "phases": [{"name": f"phase{i}", "seq_len": 32 * i, "tokens": 32 * i * 100, "weights": {"slimpajama": 1.0}}
                   for i in (1, 2, 3)]}), run)


def _byte_batches(run: Path, seq: int):
    """Byte-level token windows of the kept documents (ids < 256 fit the tiny vocabulary)."""
    import gzip
    import json

    data = b"".join(json.loads(line)["text"].encode("utf-8") + b"\n"
                    for f in sorted((run / "corpus" / "slimpajama" / "language").rglob("*.jsonl.gz"))
                    for line in gzip.open(f, "rt", encoding="utf-8"))
    windows = [list(data[i:i + seq + 1]) for i in range(0, len(data) - seq - 1, seq)]
    return windows[:-8], windows[-8:]


def _train_tiny(run: Path) -> None:
    """A real (very short) training of the tiny preset on the corpus bytes: two intermediate
    checkpoints, a final one, a metrics log, a Hugging Face export, and a held-out loss
    written as an lm-eval style result; each recorded as a stage of the run."""
    import json

    import torch

    from glassworks.model import CheckpointState, build, export_hf, preset, save_checkpoint
    from glassworks.provenance.recorder import record_stage

    seq, batch = 64, 2
    train, held_out = _byte_batches(run, seq)
    model = build(preset("tiny", vocab_size=256, max_seq_len=seq), seed=0)
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3)
    metrics = run / "train" / "metrics.jsonl"
    metrics.parent.mkdir(parents=True)
    lines = []
    for step in range(1, 4):
        rows = torch.tensor(train[(step - 1) * batch:step * batch])
        logits = model(rows[:, :-1])
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), rows[:, 1:].reshape(-1))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        lines.append(json.dumps({"step": step, "loss": round(loss.item(), 6), "phase": "phase1"}))
        if step in (1, 2, 3):
            name = "final" if step == 3 else f"step{step}"
            save_checkpoint(model, run / "checkpoints" / name,
                            CheckpointState(step=step, tokens_seen=step * batch * seq, phase="phase1"), run_dir=run)
    with record_stage(run, "train.log", "1", {"steps": 3}, unit="steps") as rec:
        metrics.write_text("\n".join(lines) + "\n")
        rec.output(metrics)
        rec.counts.add_in(3)
        rec.counts.keep(3)
    export_hf(run / "checkpoints" / "final", run / "hf", run_dir=run)
    suite = run / "eval" / "suite" / "heldout_bytes.jsonl"
    suite.parent.mkdir(parents=True)
    with record_stage(run, "eval.suite", "1", {"task": "heldout_bytes"}, unit="documents") as rec:
        suite.write_text("".join(json.dumps({"text": bytes(w).decode("utf-8", "replace")}) + "\n" for w in held_out))
        rec.output(suite)
        rec.counts.add_in(len(held_out))
        rec.counts.keep(len(held_out))
    with torch.no_grad():
        rows = torch.tensor(held_out)
        logits = model(rows[:, :-1])
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, 256), rows[:, 1:].reshape(-1)).item()
    results = run / "eval" / "final" / "results.json"
    results.parent.mkdir(parents=True)
    with record_stage(run, "eval", "1", {"task": "heldout_bytes"}, unit="tasks") as rec:
        rec.input(suite)
        results.write_text(json.dumps({
            "results": {"heldout_bytes": {"alias": "heldout_bytes", "loss,none": loss, "loss_stderr,none": 0.0}},
            "glassworks": {"checkpoint": {"name": "final", "step": 3}}}, indent=1))
        rec.output(results)
        rec.counts.add_in(1)
        rec.counts.keep(1)


@pytest.fixture(scope="session")
def trained_run(tmp_path_factory) -> Path:
    """A run directory with a corpus, checkpoints, an HF export, metrics and eval results."""
    run = tmp_path_factory.mktemp("release") / "run"
    _corpus_run(run)
    _train_tiny(run)
    return run


def _bundle_config(**artifacts):
    """The bundle config the tests build with: the demo's, with the slimpajama recipe only (what the run ran)."""
    from dataclasses import replace

    from glassworks.config import load_config
    from glassworks.release.bundle import BundleConfig

    config = load_config(REPO / "configs" / "release-demo.yaml", BundleConfig)
    config = replace(config, corpus=replace(config.corpus, recipes=[Path("configs/slimpajama.yaml")]))
    return replace(config, artifacts=replace(config.artifacts, **artifacts)) if artifacts else config


@pytest.fixture(scope="session")
def bundle_config():
    """``bundle_config(**artifacts)``: the tests' bundle config, artifact paths overridden."""
    return _bundle_config


@pytest.fixture(scope="session")
def built(trained_run, tmp_path_factory):
    """(result, bundle) built once from the trained run; tests copy the bundle before changing it."""
    from glassworks.release.bundle import build_bundle

    out = tmp_path_factory.mktemp("bundle") / "bundle"
    return build_bundle(_bundle_config(), trained_run, out), out


@pytest.fixture
def bundle_copy(built, tmp_path) -> Path:
    import shutil

    target = tmp_path / "bundle"
    shutil.copytree(built[1], target)
    return target
