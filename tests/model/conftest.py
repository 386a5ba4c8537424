"""Shared fixtures of the model tests: a small model with a window that binds early."""

import dataclasses

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
