"""Fixtures of the eval tests: a real tiny checkpoint (SentencePiece tokenizer trained on the
embedded corpus, seeded untrained model) and its Hugging Face export, built once per session."""

import dataclasses
import json
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "data"


def corpus_texts(limit: int = 60) -> list[str]:
    """``limit // 2`` documents of each text file of the embedded corpus, the Spanish Bible chapters last."""
    texts = []
    for path in sorted((DATA / "text").glob("*.jsonl"), key=lambda p: ("reina-valera" in p.name, p.name)):
        with open(path, encoding="utf-8") as handle:
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
                               n_layers=2, window=24, max_seq_len=192)


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


def small_suite():
    from glassworks.evals.suite import SuiteConfig

    return SuiteConfig(ppl_chars=1500, cloze_items=6)


def pack_phase(out_dir: Path, tokenizer_dir: Path, texts: list[str], seq_len: int = 32) -> Path:
    """A real packed phase directory (the trainer's format) holding ``texts``, as the data stage packs them."""
    import numpy as np

    from glassworks.pipeline.tokens.shards import ShardWriter
    from glassworks.pipeline.tokens.tokenizer import Tokenizer

    tok = Tokenizer.load(tokenizer_dir)
    docs = [np.asarray(tok.encode(t, bos=True, eos=True), dtype=tok.dtype) for t in texts]
    sequences = sum(map(len, docs)) // seq_len
    writer = ShardWriter(out_dir, seq_len, sequences, sequences_per_shard=64, dtype=tok.dtype, sources=["text"])
    for i, doc in enumerate(docs):
        writer.add(doc, 0, i)
    writer.write_index(vocab_size=tok.vocab_size, bos_id=tok.bos_id, eos_id=tok.eos_id)
    return out_dir


@pytest.fixture(scope="session")
def helpers():
    """The helper functions above, for test modules (importlib mode cannot import conftest)."""
    from types import SimpleNamespace

    return SimpleNamespace(data=DATA, corpus_texts=corpus_texts, make_checkpoint=make_checkpoint,
                           small_suite=small_suite, pack_phase=pack_phase, short_source=short_source())


def short_source() -> str:
    """A held-out source of short documents (fast to evaluate): the Spanish Bible chapters."""
    from glassworks.evals.suite import discover

    sources = [s for s in discover(DATA) if s.startswith("text_")]
    return next((s for s in sources if "reina_valera" in s), sources[0])


@pytest.fixture(scope="session", autouse=True)
def one_torch_thread():
    """The tiny models here run faster on one thread (and do not fight other tests for cores)."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
