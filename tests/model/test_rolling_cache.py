"""Rolling buffer cache: decoding with it equals recomputing everything, far past the window."""

import dataclasses

import pytest
import torch

from glassworks.model.cache import RollingCache
from glassworks.model.transformer import build


def _decode(model, tokens, prefill: int, chunk: int | None = None):
    """Prefill ``prefill`` tokens (in chunks of ``chunk``), then feed the rest one at a time."""
    cache = RollingCache.for_model(model, tokens.shape[0])
    outs = []
    chunk = chunk or prefill
    for start in range(0, prefill, chunk):
        outs.append(model(tokens[:, start:min(start + chunk, prefill)], cache=cache))
    for t in range(prefill, tokens.shape[1]):
        outs.append(model(tokens[:, t:t + 1], cache=cache))
    return torch.cat(outs, dim=1), cache


@torch.no_grad()
def test_cached_decode_equals_full_recompute_far_past_the_window(small_config):
    assert small_config.window == 16
    model = build(small_config, seed=1).eval()
    tokens = torch.randint(0, small_config.vocab_size, (2, 200), generator=torch.Generator().manual_seed(3))
    full = model(tokens)
    cached, cache = _decode(model, tokens, prefill=5)
    torch.testing.assert_close(cached, full, atol=1e-5, rtol=1e-5)
    assert cache.k.shape[2] == 16 and cache.next_pos.tolist() == [200, 200]
    assert sorted(cache.slot_pos[0].tolist()) == list(range(184, 200))  # exactly the last W positions


@torch.no_grad()
@pytest.mark.parametrize("chunk", [7, 16, 33])
def test_chunked_prefill_equals_one_shot_prefill(small_model, tokens, chunk):
    one_shot, _ = _decode(small_model, tokens, prefill=100)
    chunked, _ = _decode(small_model, tokens, prefill=100, chunk=chunk)
    torch.testing.assert_close(chunked, one_shot, atol=1e-5, rtol=1e-5)


@torch.no_grad()
def test_cache_memory_is_constant_once_past_the_window(small_model):
    cache = RollingCache.for_model(small_model, 1)
    sizes = []
    for t in range(60):
        small_model(torch.tensor([[t % 256]]), cache=cache)
        sizes.append(cache.nbytes)
    assert len(set(sizes)) == 1
    c = small_model.config
    assert cache.k.numel() == c.n_layers * 1 * c.window * c.n_kv_heads * c.head_dim


@torch.no_grad()
def test_rows_of_different_lengths_continue_independently(small_model, tokens):
    """A padded batch (row 0: 70 real tokens, row 1: 23) equals each row run alone."""
    lengths = torch.tensor([70, 23])
    cache = RollingCache.for_model(small_model, 2)
    batch_prefill = small_model(tokens[:, :70], cache=cache, lengths=lengths)
    step = small_model(tokens[:, 90:91], cache=cache)  # one more token per row
    for row, n in enumerate(lengths.tolist()):
        alone = small_model(torch.cat([tokens[row:row + 1, :n], tokens[row:row + 1, 90:91]], dim=1))
        torch.testing.assert_close(batch_prefill[row, :n], alone[0, :n], atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(step[row, 0], alone[0, n], atol=1e-5, rtol=1e-5)


@torch.no_grad()
def test_full_attention_model_needs_and_respects_a_capacity(small_config, tokens):
    model = build(dataclasses.replace(small_config, window=None), seed=0).eval()
    with pytest.raises(ValueError, match="needs the cache capacity"):
        RollingCache.for_model(model, 2)
    cache = RollingCache.for_model(model, 2, capacity=40)
    cached = torch.cat([model(tokens[:, :30], cache=cache), model(tokens[:, 30:40], cache=cache)], dim=1)
    torch.testing.assert_close(cached, model(tokens[:, :40]), atol=1e-5, rtol=1e-5)
    with pytest.raises(ValueError, match="did you forget to reset it"):
        model(tokens[:, 40:41], cache=cache)
    cache.reset()
    torch.testing.assert_close(model(tokens[:, :5], cache=cache), model(tokens[:, :5]), atol=1e-5, rtol=1e-5)


def test_a_capacity_below_the_window_shrinks_the_cache(small_model):
    cache = RollingCache.for_model(small_model, 1, capacity=10)
    assert cache.size == 10
    assert RollingCache.for_model(small_model, 1, capacity=1000).size == small_model.config.window


def test_packed_segments_and_a_cache_do_not_mix(small_model, tokens):
    cache = RollingCache.for_model(small_model, 2)
    with pytest.raises(ValueError, match="segment_ids"):
        small_model(tokens, cache=cache, segment_ids=torch.zeros_like(tokens))
