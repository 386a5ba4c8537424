"""Shared fixtures of the model tests: a small model with a window that binds early."""

import dataclasses
import json

import pytest

from glassworks.model.config import preset


@pytest.fixture
def small_config():
    """The tiny preset, shrunk further: vocab 256 and a window of 16, so 100-token inputs
    are well past the window and every test stays fast on CPU."""
    return dataclasses.replace(preset("tiny"), vocab_size=256, window=16, dim=64, hidden_dim=160, head_dim=16,
                               n_layers=2)


@pytest.fixture
def small_model(small_config):
    from glassworks.model.transformer import build

    return build(small_config, seed=0).eval()


@pytest.fixture
def tokens():
    import torch

    return torch.randint(0, 256, (2, 100), generator=torch.Generator().manual_seed(7))


@pytest.fixture
def tokenizer_dir(tmp_path):
    """A real (tiny) SentencePiece tokenizer directory, as the tokenizer stage writes one."""
    from glassworks.pipeline.tokens.train import ModelConfig, train_model

    text = ["the quick brown fox jumps over the lazy dog", "open models need open data", "glass works"] * 30
    proto = train_model(text, ModelConfig(vocab_size=300, threads=1), seed=0)
    folder = tmp_path / "tokenizer"
    folder.mkdir()
    (folder / "tokenizer.model").write_bytes(proto)
    (folder / "tokenizer_config.json").write_text(json.dumps({"bos_token": "<s>", "eos_token": "</s>"}))
    return folder
