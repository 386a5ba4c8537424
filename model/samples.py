"""Sample outputs of a checkpoint: fixed prompts, greedy continuations, recorded.

A release shows what its model writes (the MOF's optional "Sample model outputs"). Greedy
decoding with the checkpoint's own tokenizer makes the samples reproducible: the same
checkpoint gives the same bytes, so an auditor can regenerate and compare them.
"""

from __future__ import annotations

import json
from pathlib import Path

from glassworks.errors import GlassworksError

STAGE, VERSION = "samples", "1"
SAMPLES_FILE, TABLE_FILE = "samples.jsonl", "samples.md"
# Prompts in the registers of the demo corpus: documentation prose, Python code, Spanish scripture.
DEFAULT_PROMPTS = ("Sphinx is a documentation generator that", "The configuration file", "def main(",
                   "import os\n", "Y aconteció")


def write_samples(checkpoint_dir: str | Path, out_dir: str | Path, prompts: tuple[str, ...] = DEFAULT_PROMPTS,
                  max_new_tokens: int = 48, run_dir: str | Path | None = None) -> Path:
    """Continue each prompt greedily; write ``samples.jsonl`` and a readable ``samples.md``
    into ``out_dir``; with ``run_dir``, record the stage ``samples``."""
    from glassworks.model.checkpoint import load, read_state
    from glassworks.model.generation import SamplingConfig, generate
    from glassworks.pipeline.tokens import Tokenizer
    from glassworks.provenance.atomic import atomic_write_text

    checkpoint_dir, out_dir = Path(checkpoint_dir), Path(out_dir)
    if not prompts:
        raise GlassworksError("samples: give at least one prompt")
    if not (checkpoint_dir / "tokenizer").is_dir():
        raise GlassworksError(f"{checkpoint_dir}: the checkpoint holds no tokenizer/ directory to write samples with")
    config = {"prompts": list(prompts), "max_new_tokens": max_new_tokens, "decoding": "greedy"}

    def write() -> None:
        model = load(checkpoint_dir).eval()
        tokenizer = Tokenizer.load(checkpoint_dir / "tokenizer")
        state = read_state(checkpoint_dir)
        sampling = SamplingConfig(max_new_tokens=max_new_tokens, temperature=0.0, eos_id=tokenizer.eos_id)
        completions = generate(model, [tokenizer.encode(p, bos=True) for p in prompts], sampling,
                               decode=tokenizer.decode)
        rows = [{"prompt": p, "completion": c.text, "finish_reason": c.finish_reason, "step": state.step,
                 "tokens_seen": state.tokens_seen} for p, c in zip(prompts, completions)]
        out_dir.mkdir(parents=True, exist_ok=True)
        atomic_write_text(out_dir / SAMPLES_FILE,
                          "".join(json.dumps(r, ensure_ascii=False, sort_keys=True) + "\n" for r in rows))
        table = [f"# Sample outputs of {checkpoint_dir.name} (step {state.step}, {state.tokens_seen:,} tokens seen)",
                 "", f"Greedy decoding, at most {max_new_tokens} new tokens, the checkpoint's own tokenizer.", ""]
        for row in rows:
            table += [f"## `{row['prompt']!r}`", "", "```text", row["prompt"] + row["completion"], "```",
                      f"({row['finish_reason']})", ""]
        atomic_write_text(out_dir / TABLE_FILE, "\n".join(table))

    if run_dir is None:
        write()
        return out_dir
    from glassworks.provenance.recorder import record_stage

    with record_stage(run_dir, STAGE, VERSION, config, unit="prompts") as rec:
        write()
        rec.input(checkpoint_dir)
        rec.output(out_dir)
        rec.counts.add_in(len(prompts))
        rec.counts.keep(len(prompts))
    return out_dir
