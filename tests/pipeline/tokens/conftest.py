"""The test corpus of the tokens tests: real text from data/ as weighted JSONL sources.

- docs: the Sphinx reST documentation (74 documents, English prose and code samples);
- code: every Python and C file of data/code;
- bible: Spanish Bible chapters, Reina-Valera 1909 (accents and other characters the vocabulary
  may not cover).

Weights follow a fixed pattern (0.5, 1, 2.5, 1, ...; one 0 in docs and bible) as the
dedup stage would write them under ``metadata.dedup.weight``; code has none (weight 1).
"""

import gzip
import io
import json
import shutil
from pathlib import Path

import pytest

from glassworks.config import from_dict
from glassworks.pipeline.tokens.mixture import MixtureConfig
from glassworks.pipeline.tokens.train import TokenizerConfig, train_tokenizer
from glassworks.provenance.recorder import record_stage

DATA = Path(__file__).resolve().parents[3] / "data"
PATTERN = (0.5, 1.0, 2.5, 1.0)
SOURCES = {"docs": ["corpus/docs"], "code": ["corpus/code"], "bible": ["corpus/bible"]}


def write_jsonl(path: Path, records: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with gzip.GzipFile(path, "wb", mtime=0) as raw, io.TextIOWrapper(raw, encoding="utf-8") as handle:
        for record in records:
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")


def weighted(records: list[dict], zero_at: int | None = None) -> list[dict]:
    out = []
    for i, record in enumerate(records):
        weight = 0.0 if i == zero_at else PATTERN[i % len(PATTERN)]
        out.append({"id": record["id"], "text": record["text"], "metadata": {"dedup": {"weight": weight}}})
    return out


def corpus_records() -> dict[str, list[dict]]:
    def jsonl(name: str) -> list[dict]:
        return [json.loads(line) for line in (DATA / "text" / name).read_text(encoding="utf-8").splitlines()]

    code = [{"id": str(p.relative_to(DATA)), "text": p.read_text(encoding="utf-8"), "metadata": {}}
            for p in sorted((DATA / "code").rglob("*")) if p.suffix in (".py", ".c", ".h")]
    return {"docs": weighted(jsonl("sphinx-docs-rst.jsonl"), zero_at=3), "code": code,
            "bible": weighted(jsonl("reina-valera-1909.jsonl"), zero_at=0)}


def make_corpus(run_dir: Path) -> dict[str, list[dict]]:
    """Write the corpus into ``run_dir/corpus/`` and record it as stage ``fixture.corpus``, as
    the dedup stage would: the tokens stages must link to it for `audit verify` to pass."""
    records = corpus_records()
    with record_stage(run_dir, "fixture.corpus", "1", {"test": "corpus"}) as rec:
        for name, items in records.items():
            half = len(items) // 2  # two files per source: reading order spans files
            write_jsonl(run_dir / "corpus" / name / "part-0.jsonl.gz", items[:half])
            write_jsonl(run_dir / "corpus" / name / "part-1.jsonl.gz", items[half:])
            rec.counts.add_in(len(items))
            rec.counts.keep(len(items))
        rec.output(run_dir / "corpus")
    return records


def tokenizer_config(**sample) -> TokenizerConfig:
    return from_dict(TokenizerConfig, {
        "corpus": {"sources": SOURCES},
        "sample": {"bytes": 900_000, "seed": 0, **sample},
        "model": {"vocab_size": 1024, "character_coverage": 0.9999, "model_max_length": 128},
    })


def mixture_config(**overrides) -> MixtureConfig:
    config = {
        "corpus": {"sources": SOURCES},
        "seed": 0,
        "packing": {"sequences_per_shard": 64},
        "phases": [
            {"name": "phase1", "seq_len": 64, "tokens": 64 * 200, "weights": {"docs": 0.6, "code": 0.3, "bible": 0.1}},
            {"name": "phase2", "seq_len": 128, "tokens": 128 * 70, "weights": {"docs": 0.5, "code": 0.5}},
            {"name": "phase3", "seq_len": 128, "tokens": 128 * 40, "weights": {"code": 0.7, "bible": 0.3}},
        ],
    }
    config.update(overrides)
    return from_dict(MixtureConfig, config)


@pytest.fixture(scope="session")
def trained(tmp_path_factory) -> Path:
    """A run directory with the test corpus and a trained tokenizer (read-only: copy to change)."""
    run = tmp_path_factory.mktemp("tokens-run")
    make_corpus(run)
    train_tokenizer(tokenizer_config(), run)
    return run


@pytest.fixture
def run_dir(trained, tmp_path) -> Path:
    """A private copy of the trained run directory."""
    target = tmp_path / "run"
    shutil.copytree(trained, target)
    return target


@pytest.fixture(scope="session")
def texts() -> list[str]:
    """Every text of the test corpus."""
    return [r["text"] for items in corpus_records().values() for r in items]


@pytest.fixture(scope="session")
def records() -> dict[str, list[dict]]:
    """The test corpus as records, per source."""
    return corpus_records()


@pytest.fixture(scope="session")
def tok_config():
    """``tok_config(**sample)``: the tokenizer config of the tests."""
    return tokenizer_config


@pytest.fixture(scope="session")
def mix_config():
    """``mix_config(**overrides)``: the mixture config of the tests."""
    return mixture_config


@pytest.fixture(scope="session")
def jsonl_writer():
    """``jsonl_writer(path, records)``: write gzip'd JSONL."""
    return write_jsonl


@pytest.fixture(scope="session", name="make_corpus")
def make_corpus_fixture():
    """``make_corpus(run_dir)``: write and record the test corpus in a run directory."""
    return make_corpus
