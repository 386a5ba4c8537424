"""A real run directory for the training tests, made by the pipeline's own stages: a corpus
from data/ (its JSONL texts and Python files), a SentencePiece tokenizer, and three packed phases with
contexts of 17, 33 and 33 tokens, so the tiny preset trains dozens of steps in seconds."""

import json
import shutil
from pathlib import Path

import pytest

from glassworks.config import from_dict
from glassworks.model.train.config import TrainConfig

DATA = Path(__file__).resolve().parents[3] / "data"

PHASES = [  # (name, seq_len, sequences)
    ("phase1", 17, 96),
    ("phase2", 33, 48),
    ("phase3", 33, 24),
]

TRAIN_YAML = """
model: tiny
seed: 3
phases:
  - {name: phase1, batch_size: 8, micro_batch_size: 4}
  - {name: phase2, batch_size: 4}
  - {name: phase3, batch_size: 4, steps: 4}
optimizer: {lr: 3.0e-3}
schedule: {warmup_steps: 3}
checkpoints: {log_spaced_until: 4, every: 8, resume_every: 5}
runtime: {threads: 1}
"""


def _corpus(run: Path) -> None:
    import gzip

    from glassworks.provenance.recorder import record_stage

    docs = [json.loads(line) for path in sorted((DATA / "text").glob("*.jsonl"))
            for line in path.read_text("utf-8").splitlines()]
    code = [{"id": str(p.relative_to(DATA)), "text": p.read_text("utf-8")}
            for p in sorted((DATA / "code").rglob("*.py"))][:40]
    with record_stage(run, "fixture.corpus", "1", {"test": "train corpus"}) as rec:
        for name, items in (("docs", docs), ("code", code)):
            path = run / "corpus" / name / "part-0.jsonl.gz"
            path.parent.mkdir(parents=True)
            with gzip.open(path, "wt", encoding="utf-8") as handle:
                for item in items:
                    handle.write(json.dumps({"id": item["id"], "text": item["text"]}) + "\n")
            rec.counts.add_in(len(items))
            rec.counts.keep(len(items))
        rec.output(run / "corpus")


@pytest.fixture(scope="session")
def packed_run(tmp_path_factory) -> Path:
    """Corpus, tokenizer (vocab 512) and data/phase1..3 in a run directory (read-only: copy it)."""
    from glassworks.pipeline.tokens.build import build_mixtures
    from glassworks.pipeline.tokens.mixture import MixtureConfig
    from glassworks.pipeline.tokens.train import TokenizerConfig, train_tokenizer

    run = tmp_path_factory.mktemp("train-run")
    _corpus(run)
    sources = {"docs": ["corpus/docs"], "code": ["corpus/code"]}
    train_tokenizer(from_dict(TokenizerConfig, {
        "corpus": {"sources": sources}, "sample": {"bytes": 150_000, "seed": 0},
        "model": {"vocab_size": 512, "character_coverage": 0.995, "model_max_length": 64}}), run)
    build_mixtures(from_dict(MixtureConfig, {
        "corpus": {"sources": sources}, "seed": 0, "packing": {"sequences_per_shard": 40},
        "phases": [{"name": n, "seq_len": s, "tokens": s * k, "weights": {"docs": 0.7, "code": 0.3}}
                   for n, s, k in PHASES]}), run)
    return run


@pytest.fixture
def run_dir(packed_run, tmp_path) -> Path:
    """A private copy of the packed run directory."""
    target = tmp_path / "run"
    shutil.copytree(packed_run, target)
    return target


def make_config(**overrides) -> TrainConfig:
    """The tests' config; a dict value updates that section, anything else replaces the key."""
    import yaml

    data = yaml.safe_load(TRAIN_YAML)
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(data.get(key), dict):
            data[key] = {**data[key], **value}
        else:
            data[key] = value
    return from_dict(TrainConfig, data)


@pytest.fixture(scope="session")
def train_config():
    """``train_config(**sections)``: the tests' config with keys replaced."""
    return make_config


@pytest.fixture(scope="session")
def reference(packed_run, tmp_path_factory):
    """The tests' config trained without interruption: (run directory, its summary). Read-only."""
    from glassworks.model.train import train

    run = tmp_path_factory.mktemp("reference") / "run"
    shutil.copytree(packed_run, run)
    return run, train(make_config(), run)


@pytest.fixture
def losses():
    """``losses(run_dir)``: (step, phase, loss, lr, grad_norm) of every logged step."""
    from glassworks.model.train.metrics import read_metrics
    from glassworks.model.train.run import METRICS_FILE

    def read(run: Path) -> list[tuple]:
        return [(r["step"], r["phase"], r["loss"], r["lr"], r["grad_norm"]) for r in read_metrics(run / METRICS_FILE)]

    return read

