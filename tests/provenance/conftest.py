"""Shared fixtures of the audit tests: the demo's corpus run, and real bundles built from it.

The corpus run is what `glassworks demo` runs first (the recipes its config lists), run once
per session. A tiny model is then trained on it for three steps (real checkpoints, an HF
export, an eval result, each recorded), and `glassworks.release`'s builder assembles the
bundle: once shipping the corpus shards, once shipping only manifests and recipes. A copy of
the first is signed with a maintainer's EC key (``signed_bundle``, ``maintainer``).
"""

import json
import shutil
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "data"
REPOSITORY = "https://github.com/example/glassworks"  # what the release config's `repository:` names


def _demo_recipes() -> list[Path]:
    config = yaml.safe_load((REPO / "configs" / "demo.yaml").read_text())
    return [REPO / p for p in config["recipes"]]


@pytest.fixture(scope="session")
def corpus_run(tmp_path_factory) -> Path:
    from dataclasses import replace

    from glassworks.pipeline.recipe import check_recipe_file, run_recipe

    run = tmp_path_factory.mktemp("corpus") / "run"
    for path in _demo_recipes():
        recipe = check_recipe_file(path)
        run_recipe(replace(recipe, raw=replace(recipe.raw, data_dir=DATA)), run, origin=str(path))
    return run


def _train_tiny(run: Path) -> None:
    """Three real steps of the tiny preset on the corpus bytes through glassworks' model API:
    checkpoints (two intermediate, a final), a Hugging Face export and a held-out loss, each
    recorded as a stage of the run."""
    import gzip

    import torch

    from glassworks.model import CheckpointState, build, export_hf, preset, save_checkpoint
    from glassworks.provenance import record_stage

    shards = sorted((run / "corpus" / "slimpajama" / "language").rglob("*.jsonl.gz"))
    data = b"".join(json.loads(line)["text"].encode("utf-8") + b"\n" for f in shards for line in gzip.open(f, "rt"))
    windows = torch.tensor([list(data[i:i + 33]) for i in range(0, 33 * 8, 33)])
    language = next((run / "manifests").glob("slimpajama.language-*.json")).stem
    model = build(preset("tiny", vocab_size=256, max_seq_len=32), seed=0)
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3)
    for step in (1, 2, 3):
        rows = windows[(step - 1) * 2:step * 2]
        loss = torch.nn.functional.cross_entropy(model(rows[:, :-1]).reshape(-1, 256), rows[:, 1:].reshape(-1))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        save_checkpoint(model, run / "checkpoints" / ("final" if step == 3 else f"step{step}"),
                        CheckpointState(step=step, tokens_seen=64 * step, phase="phase1", data_manifest=language),
                        run_dir=run)
    export_hf(run / "checkpoints" / "final", run / "hf", run_dir=run)
    with torch.no_grad():
        rows = windows[6:]
        held_out = torch.nn.functional.cross_entropy(model(rows[:, :-1]).reshape(-1, 256), rows[:, 1:].reshape(-1))
    with record_stage(run, "eval", "1", {"task": "heldout_bytes"}, unit="tasks") as rec:
        rec.input(run / "checkpoints" / "final")
        results = run / "eval" / "final" / "results.json"  # where `glassworks eval` writes a checkpoint's results
        results.parent.mkdir(parents=True)
        results.write_text(json.dumps(
            {"results": {"heldout_bytes": {"alias": "heldout_bytes", "loss,none": held_out.item()}}}, indent=1))
        rec.output(results)
        rec.counts.add_in()
        rec.counts.keep()


@pytest.fixture(scope="session")
def trained_run(corpus_run, tmp_path_factory) -> Path:
    run = tmp_path_factory.mktemp("trained") / "run"
    shutil.copytree(corpus_run, run, symlinks=True)
    _train_tiny(run)
    return run


def _build(run: Path, out: Path, ship: str) -> Path:
    """``glassworks release build`` of the run, from the release area's public builder."""
    from dataclasses import replace

    from glassworks.release.bundle import BundleConfig, build_bundle

    config = BundleConfig(repository=REPOSITORY)
    config = replace(config, corpus=replace(config.corpus, ship=ship, recipes=_demo_recipes()))
    build_bundle(config, run, out, repo=REPO)
    return out


@pytest.fixture(scope="session")
def built_bundle(trained_run, tmp_path_factory) -> Path:
    """A bundle that ships the corpus shards; tests copy it before changing anything."""
    return _build(trained_run, tmp_path_factory.mktemp("bundle") / "bundle", "shards")


@pytest.fixture(scope="session")
def manifests_bundle(trained_run, tmp_path_factory) -> Path:
    """A bundle that ships the corpus as manifests and recipes only (regenerate rebuilds it)."""
    return _build(trained_run, tmp_path_factory.mktemp("bundle") / "bundle", "manifests")


@pytest.fixture
def bundle(built_bundle, tmp_path) -> Path:
    target = tmp_path / "bundle"
    shutil.copytree(built_bundle, target, symlinks=True)
    return target


@pytest.fixture(scope="session")
def maintainer(tmp_path_factory):
    """The maintainer's EC key pair: (private path, public path, fingerprint)."""
    from glassworks.provenance.signing import generate_keypair

    return generate_keypair(tmp_path_factory.mktemp("keys"), "maintainer")


@pytest.fixture(scope="session")
def signed_release(built_bundle, maintainer, tmp_path_factory) -> Path:
    """The shards bundle, signed by the maintainer (DSSE attestation and model_signing)."""
    from glassworks.provenance.attest import sign_tree
    from glassworks.provenance.signing import load_private_key

    target = tmp_path_factory.mktemp("signed") / "bundle"
    shutil.copytree(built_bundle, target, symlinks=True)
    sign_tree(target, load_private_key(maintainer[0]))
    return target


@pytest.fixture
def signed_bundle(signed_release, tmp_path) -> Path:
    """A copy of the signed bundle that a test may change."""
    target = tmp_path / "bundle"
    shutil.copytree(signed_release, target, symlinks=True)
    return target
