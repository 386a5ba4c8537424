"""Shared fixtures of the audit tests: the demo's corpus run, and a small real bundle built from it.

The corpus run is what `glassworks demo` runs first (the recipes its config lists), run once
per session. The bundle follows the layout of ARCHITECTURE.md: the run's manifests, a
recorded training stage with real safetensors checkpoints (final and one intermediate), an
hf/ folder, the final corpus shards, a `git archive` of the commit the manifests record,
cards, licences, a MOF model.yml, and a `release` stage recorded over all of it.
"""

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "data"


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


def _checkpoint(folder: Path, step: int, data_manifest: str) -> None:
    from safetensors.numpy import save_file

    rng = np.random.default_rng(step)
    folder.mkdir(parents=True)
    save_file({"embed.weight": rng.standard_normal((16, 8)).astype(np.float32),
               "head.weight": rng.standard_normal((8, 16)).astype(np.float32)}, str(folder / "model.safetensors"))
    (folder / "config.json").write_text(json.dumps({"dim": 8, "vocab_size": 16, "n_layers": 0}, sort_keys=True))
    (folder / "glassworks.json").write_text(json.dumps(
        {"step": step, "tokens_seen": 64 * step, "phase": 1, "data_manifest": data_manifest}, sort_keys=True))


MOF = """\
framework: {name: Model Openness Framework, version: '1.0', date: '2024-12-15'}
release:
  name: glassworks-test
  version: '0.1'
  date: '2026-01-01'
  type: language
  architecture: transformer decoder
  origin: none
  producer: glassworks tests
  contact: none
  license:
    distribution: {name: Apache-2.0, path: LICENSES/Apache-2.0.txt}
    code: {name: Apache-2.0, path: LICENSES/Apache-2.0.txt}
    document: {name: CC-BY-4.0, path: LICENSES/CC-BY-4.0.txt}
  components:
    - {name: Model architecture, description: model code, component_path: CODE}
    - {name: Data preprocessing code, description: corpus stages, component_path: CODE}
    - {name: Model parameters (Final), description: final weights, component_path: checkpoints/final}
    - {name: Model parameters (Intermediate), description: step 1, component_path: checkpoints/step-1}
    - {name: Datasets, description: the corpus, component_path: corpus}
    - {name: Model card, description: card, component_path: README.md}
    - {name: Data card, description: card, component_path: DATASET_CARD.md}
"""


@pytest.fixture(scope="session")
def built_bundle(corpus_run, tmp_path_factory) -> Path:
    """A bundle assembled from the corpus run; tests copy it before changing anything."""
    from glassworks.provenance import record_stage

    base = tmp_path_factory.mktemp("bundle")
    run = base / "run"
    shutil.copytree(corpus_run, run, symlinks=True)
    manifests = {json.loads(p.read_text())["stage"]["name"]: json.loads(p.read_text())
                 for p in (run / "manifests").glob("*.json")}
    commit = manifests["sources"]["code"]["git_commit"]
    if commit is None:
        pytest.skip("the corpus run was not recorded from a git checkout: no code archive to ship")
    shards = run / "corpus" / "slimpajama" / "language"
    with record_stage(run, "train", "1", {"preset": "test", "steps": 2}, unit="steps") as rec:
        rec.input(shards)
        for step in (1, 2):
            _checkpoint(run / "checkpoints" / f"step-{step}", step, manifests["slimpajama.language"]["id"])
        rec.counts.add_in(2)
        rec.counts.keep(2)
        rec.output(run / "checkpoints")

    bundle = base / "bundle"
    (bundle / "code").mkdir(parents=True)
    archive = bundle / "code" / f"glassworks-{commit[:12]}.tar.gz"
    subprocess.run(["git", "-C", str(REPO), "archive", "--format=tar.gz", "-o", str(archive), commit], check=True)
    shipped = {shards.relative_to(run).as_posix(): "corpus/slimpajama/language",
               "checkpoints/step-2": "checkpoints/final", "checkpoints/step-1": "checkpoints/step-1"}
    for src, dst in shipped.items():
        shutil.copytree(run / src, bundle / dst)
    (bundle / "hf").mkdir()
    shutil.copy(run / "checkpoints/step-2/model.safetensors", bundle / "hf" / "model.safetensors")
    shutil.copy(run / "checkpoints/step-2/config.json", bundle / "hf" / "config.json")
    (bundle / "LICENSES").mkdir()
    for name in ("Apache-2.0.txt", "CC-BY-4.0.txt"):
        shutil.copy(REPO / "LICENSES" / name, bundle / "LICENSES" / name)
    (bundle / "README.md").write_text("---\nlicense: apache-2.0\n---\n# glassworks-test\n\nA test model card.\n")
    (bundle / "DATASET_CARD.md").write_text("---\nlicense: other\n---\n# corpus\n\nThe demo corpus, regenerated.\n")
    (bundle / "model.yml").write_text(MOF.replace("CODE", archive.relative_to(bundle).as_posix()))
    with record_stage(bundle, "release", "1", {"name": "glassworks-test"}, roots={"workdir": run}, unit="files") as rel:
        for src in shipped:
            rel.input(run / src)
        rel.upstream(rec.manifest_id)
        rel.upstream(manifests["slimpajama.language"]["id"])
        files = [p for p in bundle.rglob("*") if p.is_file() and not p.relative_to(bundle).as_posix().startswith("manifests/")]
        rel.counts.add_in(len(files))
        rel.counts.keep(len(files))
        rel.output(bundle)
    # The run's manifests go in after the release stage is recorded: the recorder retires
    # manifests whose outputs a new stage overwrites, and the run's paths and the bundle's
    # overlap (corpus/..., checkpoints/step-1/) although they are different directories.
    for manifest in (run / "manifests").glob("*.json"):
        shutil.copy(manifest, bundle / "manifests" / manifest.name)
    return bundle


@pytest.fixture
def bundle(built_bundle, tmp_path) -> Path:
    target = tmp_path / "bundle"
    shutil.copytree(built_bundle, target, symlinks=True)
    return target
