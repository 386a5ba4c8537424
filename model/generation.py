"""Text generation with the rolling cache: greedy, temperature and nucleus (top-p) sampling,
EOS and stop strings, for a batch of prompts of different lengths.

The prompts are prefilled as one right-padded chunk (or several, ``prefill_chunk`` tokens
at a time, to bound activation memory), each row at its own positions, so a prompt's
continuation does not depend on what else is in the batch. Then one token per row per step
is decoded against the cache. Sampling draws from a CPU generator seeded by ``seed``: the
same prompts and seed give the same tokens on any device.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Literal, Sequence

import torch

from glassworks.model.cache import RollingCache


@dataclass(frozen=True)
class SamplingConfig:
    """How to pick each next token and when to stop."""

    max_new_tokens: int = 64
    temperature: float = 0.0
    """0 is greedy (argmax); otherwise logits are divided by it before the softmax."""
    top_p: float = 1.0
    """Nucleus sampling (Holtzman et al. 2020): sample among the most likely tokens whose
    probabilities sum to top_p; 1.0 keeps the whole distribution."""
    seed: int = 0
    stop: tuple[str, ...] = ()
    """Stop strings: a row ends once its decoded text contains one; the text is cut before it."""
    eos_id: int | None = None
    """A row ends when it samples this token (not included in the completion)."""
    prefill_chunk: int | None = None
    """Prefill the prompts this many tokens at a time (None: in one chunk)."""


@dataclass
class Completion:
    tokens: list[int]
    """Generated tokens, prompt excluded; through the token that completed a stop string."""
    text: str | None
    """Decoded completion cut before the first stop string (None when no decoder was given)."""
    finish_reason: Literal["eos", "stop", "length"]


def sample(logits: torch.Tensor, temperature: float, top_p: float, generator: torch.Generator) -> torch.Tensor:
    """One token per row from ``logits [B, vocab]``."""
    if temperature <= 0:
        return logits.argmax(dim=-1)
    probs = torch.softmax(logits.float().cpu() / temperature, dim=-1)
    if top_p < 1.0:
        sorted_probs, order = probs.sort(dim=-1, descending=True)
        before = sorted_probs.cumsum(dim=-1) - sorted_probs  # mass of the more likely tokens
        sorted_probs[before >= top_p] = 0.0  # the most likely token always stays (before = 0)
        probs = torch.zeros_like(probs).scatter_(-1, order, sorted_probs)
    return torch.multinomial(probs, 1, generator=generator).squeeze(-1).to(logits.device)


@torch.no_grad()
def generate(model, prompts: Sequence[Sequence[int]], config: SamplingConfig = SamplingConfig(),
             decode: Callable[[list[int]], str] | None = None) -> list[Completion]:
    """Continue each prompt (a list of token ids) and return one ``Completion`` per prompt."""
    if not prompts:
        return []
    if any(len(p) == 0 for p in prompts):
        raise ValueError("every prompt needs at least one token (start empty prompts with BOS)")
    if config.stop and decode is None:
        raise ValueError("stop strings need a decode function to compare against")
    device = model.output.weight.device
    batch = len(prompts)
    lengths = torch.tensor([len(p) for p in prompts], device=device)
    longest = int(lengths.max())
    padded = torch.zeros(batch, longest, dtype=torch.long, device=device)
    for row, prompt in enumerate(prompts):
        padded[row, : len(prompt)] = torch.as_tensor(list(prompt), dtype=torch.long)

    was_training = model.training
    model.eval()
    cache = RollingCache.for_model(model, batch, capacity=longest + config.max_new_tokens)
    last = _prefill(model, cache, padded, lengths, config.prefill_chunk or longest)

    generator = torch.Generator().manual_seed(config.seed)
    done: list[Completion | None] = [None] * batch
    out: list[list[int]] = [[] for _ in range(batch)]
    texts: list[str | None] = [None] * batch
    for step in range(config.max_new_tokens):
        tokens = sample(last, config.temperature, config.top_p, generator)
        for row, token in enumerate(tokens.tolist()):
            if done[row] is not None:
                continue
            if config.eos_id is not None and token == config.eos_id:
                done[row] = Completion(out[row], texts[row] if decode is None else decode(out[row]), "eos")
                continue
            out[row].append(token)
            if decode is not None:
                texts[row] = decode(out[row])
                cut = _first_stop(texts[row], config.stop)
                if cut is not None:
                    done[row] = Completion(out[row], texts[row][:cut], "stop")
        if all(d is not None for d in done) or step == config.max_new_tokens - 1:
            break
        last = model(tokens[:, None], cache=cache)[:, -1]  # (B, vocab)
    if was_training:
        model.train()
    return [d if d is not None else Completion(out[row], texts[row], "length") for row, d in enumerate(done)]


def _prefill(model, cache: RollingCache, padded: torch.Tensor, lengths: torch.Tensor, chunk: int) -> torch.Tensor:
    """Run the prompts through the cache; return the logits after each row's last token."""
    batch, longest = padded.shape
    last = None
    for start in range(0, longest, chunk):
        end = min(start + chunk, longest)
        real = (lengths - start).clamp(0, end - start)  # (B,) real tokens of each row in this chunk
        select = (lengths - 1 - start).clamp(0, end - start - 1)
        logits = model(padded[:, start:end], cache=cache, lengths=real, select=select)[:, 0]  # (B, vocab)
        ends_here = (lengths - 1 >= start) & (lengths - 1 < end)
        last = logits if last is None else torch.where(ends_here[:, None], logits, last)
    return last


def _first_stop(text: str, stops: Sequence[str]) -> int | None:
    hits = [i for i in (text.find(s) for s in stops if s) if i >= 0]
    return min(hits) if hits else None
