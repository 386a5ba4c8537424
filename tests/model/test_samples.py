"""Sample outputs: greedy, so the same checkpoint writes the same bytes; recorded as a stage."""

import dataclasses
import json

import pytest

from glassworks.cli import main
from glassworks.model.checkpoint import CheckpointState, save_checkpoint
from glassworks.model.generation import SamplingConfig, generate
from glassworks.pipeline.tokens import Tokenizer
from glassworks.provenance import verify_run


@pytest.fixture
def matching_model(small_config, tokenizer_dir):
    """The small model with the tokenizer's vocabulary, as a trained checkpoint has."""
    from glassworks.model.transformer import build

    vocab = Tokenizer.load(tokenizer_dir).vocab_size
    return build(dataclasses.replace(small_config, vocab_size=vocab), seed=0).eval()


def test_samples_are_the_greedy_continuations_and_reproducible(tmp_path, matching_model, tokenizer_dir):
    checkpoint = tmp_path / "run" / "checkpoints" / "final"
    save_checkpoint(matching_model, checkpoint, CheckpointState(step=3, tokens_seen=96), tokenizer_dir=tokenizer_dir,
                    run_dir=tmp_path / "run")
    prompts = ["the quick brown", "open models"]
    args = ["export", "samples", str(checkpoint), str(tmp_path / "run" / "samples"), "--max-new-tokens", "6",
            "--run-dir", str(tmp_path / "run")] + [x for p in prompts for x in ("--prompt", p)]
    assert main(args) == 0
    rows = [json.loads(line) for line in (tmp_path / "run" / "samples" / "samples.jsonl").read_text().splitlines()]
    tok = Tokenizer.load(tokenizer_dir)
    expected = generate(matching_model, [tok.encode(p, bos=True) for p in prompts],
                        SamplingConfig(max_new_tokens=6, eos_id=tok.eos_id), decode=tok.decode)
    assert [(r["prompt"], r["completion"], r["step"]) for r in rows] == [(p, c.text, 3) for p, c in zip(prompts, expected)]
    first = (tmp_path / "run" / "samples" / "samples.jsonl").read_bytes()
    assert main(args) == 0  # again: the same bytes, the same record
    assert (tmp_path / "run" / "samples" / "samples.jsonl").read_bytes() == first
    assert "open models" in (tmp_path / "run" / "samples" / "samples.md").read_text()
    assert verify_run(tmp_path / "run", roots={"tokenizer": tokenizer_dir}).ok  # the tokenizer lies outside the run


def test_a_checkpoint_without_tokenizer_is_named(tmp_path, small_model):
    save_checkpoint(small_model, tmp_path / "ckpt", CheckpointState())
    assert main(["export", "samples", str(tmp_path / "ckpt"), str(tmp_path / "out")]) == 1
