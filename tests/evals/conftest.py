"""Fixtures of the eval tests: a real tiny checkpoint (SentencePiece tokenizer trained on the
embedded corpus, seeded untrained model) and its Hugging Face export, built once per session."""

import dataclasses
import json
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "data"


def corpus_texts(limit: int = 60) -> list[str]:
    texts = []
    for name in ("cpython-docs-rst.jsonl", "fortunes-de.jsonl"):
        with open(DATA / "text" / name, encoding="utf-8") as handle:
            texts += [json.loads(line)["text"] for _, line in zip(range(limit // 2), handle)]
    return texts


@pytest.fixture(scope="session")
def tokenizer_dir(tmp_path_factory) -> Path:
    from glassworks.pipeline.tokens.hf import export_hf
    from glassworks.pipeline.tokens.train import ModelConfig, train_model

    proto = train_model(corpus_texts(), ModelConfig(vocab_size=400, threads=1, model_max_length=64), seed=0)
    folder = tmp_path_factory.mktemp("tok") / "tokenizer"
    folder.mkdir()
    (folder / "tokenizer.model").write_bytes(proto)
    export_hf(proto, folder, model_max_length=64)
    return folder


def tiny_config(vocab_size: int):
    from glassworks.model.config import preset

    return dataclasses.replace(preset("tiny"), vocab_size=vocab_size, dim=64, hidden_dim=160, head_dim=16,
                               n_layers=2, window=24, max_seq_len=96)


def make_checkpoint(path: Path, tokenizer_dir: Path, seed: int = 0, step: int = 0, tokens_seen: int = 0) -> Path:
    from glassworks.model import CheckpointState, build, save_checkpoint
    from glassworks.pipeline.tokens.tokenizer import Tokenizer

    model = build(tiny_config(Tokenizer.load(tokenizer_dir).vocab_size), seed=seed)
    return save_checkpoint(model, path, CheckpointState(step=step, tokens_seen=tokens_seen, phase="phase1"),
                           tokenizer_dir=tokenizer_dir)


@pytest.fixture(scope="session")
def checkpoint(tmp_path_factory, tokenizer_dir) -> Path:
    return make_checkpoint(tmp_path_factory.mktemp("ckpt") / "final", tokenizer_dir)


@pytest.fixture(scope="session")
def hf_dir(tmp_path_factory, checkpoint) -> Path:
    from glassworks.model import export_hf

    return export_hf(checkpoint, tmp_path_factory.mktemp("hf") / "hf")
