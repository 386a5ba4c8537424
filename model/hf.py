"""Hugging Face export and import: glassworks checkpoints <-> ``MistralForCausalLM`` folders.

The export writes ``config.json`` and safetensors under transformers' Mistral names itself,
so it needs neither transformers nor a model in memory: tensors are streamed from the
checkpoint file shard by shard. No weight is permuted: glassworks' rotary embedding uses the
same half-split pairing as transformers' Mistral (see ``transformer.py``), and the export
test compares the logits of both models, beyond the window included.

Import is the reverse for Mistral (and bias-free Llama) folders with the default rotary
scaling; anything else is refused by name rather than converted approximately.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

from glassworks.errors import GlassworksError
from glassworks.model.checkpoint import (
    TOKENIZER_DIR,
    TOKENIZER_FILES,
    WEIGHTS_FILE,
    CheckpointState,
    maybe_record,
    read_json,
    check_shapes,
    read_config,
    staged_directory,
    write_checkpoint,
)
from glassworks.model.config import ModelConfig
from glassworks.provenance.atomic import atomic_write_json

MAX_SHARD_BYTES = 5 * 2**30
"""Hugging Face's customary shard size: large checkpoints split into files of at most 5 GiB."""

_LAYER_NAMES = {
    "attention_norm": "input_layernorm",
    "ffn_norm": "post_attention_layernorm",
    "attention.wq": "self_attn.q_proj",
    "attention.wk": "self_attn.k_proj",
    "attention.wv": "self_attn.v_proj",
    "attention.wo": "self_attn.o_proj",
    "feed_forward.w1": "mlp.gate_proj",
    "feed_forward.w3": "mlp.up_proj",
    "feed_forward.w2": "mlp.down_proj",
}
_TOP_NAMES = {"tok_embeddings.weight": "model.embed_tokens.weight", "norm.weight": "model.norm.weight",
              "output.weight": "lm_head.weight"}


def hf_name(name: str) -> str:
    """transformers' name of one of our tensors."""
    if name in _TOP_NAMES:
        return _TOP_NAMES[name]
    match = re.fullmatch(r"layers\.(\d+)\.(.+)\.weight", name)
    if match and match[2] in _LAYER_NAMES:
        return f"model.layers.{match[1]}.{_LAYER_NAMES[match[2]]}.weight"
    raise GlassworksError(f"tensor '{name}' has no Hugging Face Mistral counterpart")


def our_name(name: str) -> str:
    """Our name of one of transformers' Mistral tensors."""
    reverse_top = {v: k for k, v in _TOP_NAMES.items()}
    if name in reverse_top:
        return reverse_top[name]
    match = re.fullmatch(r"model\.layers\.(\d+)\.(.+)\.weight", name)
    reverse = {v: k for k, v in _LAYER_NAMES.items()}
    if match and match[2] in reverse:
        return f"layers.{match[1]}.{reverse[match[2]]}.weight"
    raise GlassworksError(f"tensor '{name}' is not part of a Mistral model glassworks can import")


def hf_config(config: ModelConfig, dtype: str, special: dict[str, int | None]) -> dict:
    """transformers' MistralConfig as JSON (both rope spellings: 5.x reads ``rope_parameters``,
    4.x ``rope_theta``)."""
    return {
        "architectures": ["MistralForCausalLM"],
        "model_type": "mistral",
        "vocab_size": config.vocab_size,
        "hidden_size": config.dim,
        "intermediate_size": config.hidden_dim,
        "num_hidden_layers": config.n_layers,
        "num_attention_heads": config.n_heads,
        "num_key_value_heads": config.n_kv_heads,
        "head_dim": config.head_dim,
        "hidden_act": "silu",
        "max_position_embeddings": config.max_seq_len,
        "rms_norm_eps": config.norm_eps,
        "rope_theta": config.rope_theta,
        "rope_parameters": {"rope_type": "default", "rope_theta": config.rope_theta},
        "sliding_window": config.window,
        "tie_word_embeddings": False,
        "attention_dropout": 0.0,
        "initializer_range": config.init_std,
        "use_cache": True,
        "dtype": dtype,
        "torch_dtype": dtype,
        **special,
    }


def export_hf(checkpoint_dir: str | Path, out_dir: str | Path, run_dir: str | Path | None = None,
              max_shard_bytes: int = MAX_SHARD_BYTES) -> Path:
    """Write ``out_dir`` so that ``AutoModelForCausalLM.from_pretrained(out_dir)`` is this model."""
    from safetensors import safe_open
    from safetensors.torch import save_file

    checkpoint_dir, out_dir = Path(checkpoint_dir), Path(out_dir)
    config = read_config(checkpoint_dir)
    weights = checkpoint_dir / WEIGHTS_FILE
    tokenizer = checkpoint_dir / TOKENIZER_DIR
    recorded = {"target": "MistralForCausalLM", "max_shard_bytes": max_shard_bytes}
    with maybe_record(run_dir, "export_hf", recorded, {"checkpoint": checkpoint_dir}, ("hf", out_dir)):
        with staged_directory(out_dir, "Hugging Face export", is_hf_export) as tmp, \
                safe_open(str(weights), framework="pt") as handle:
            names = list(handle.keys())
            from glassworks.model.transformer import build

            expected = {n: tuple(t.shape) for n, t in build(config, device="meta").state_dict().items()}
            check_shapes(weights, {n: tuple(handle.get_slice(n).get_shape()) for n in names}, expected)
            names = list(expected)  # model order: embeddings, layer by layer, norm, head
            shards = _plan_shards(names, handle, max_shard_bytes)
            dtype = str(handle.get_slice(names[0]).get_dtype())
            index = {}
            for i, shard in enumerate(shards):
                file = WEIGHTS_FILE if len(shards) == 1 else f"model-{i + 1:05d}-of-{len(shards):05d}.safetensors"
                save_file({hf_name(n): handle.get_tensor(n).contiguous() for n in shard}, str(tmp / file),
                          metadata={"format": "pt"})
                index.update({hf_name(n): file for n in shard})
            if len(shards) > 1:
                total = sum(_nbytes(handle, n) for n in names)
                atomic_write_json(tmp / "model.safetensors.index.json",
                                  {"metadata": {"total_size": total}, "weight_map": index})
            atomic_write_json(tmp / "config.json", hf_config(config, _HF_DTYPES.get(dtype, "float32"),
                                                              special_token_ids(tokenizer)))
            if tokenizer.is_dir():
                for source in sorted(tokenizer.iterdir()):
                    if source.is_file() and not source.name.startswith("."):
                        shutil.copyfile(source, tmp / source.name)
    return out_dir


def is_hf_export(path: Path) -> bool:
    """Whether ``path`` holds a Hugging Face Mistral folder (so re-exporting over it is expected)."""
    try:
        return json.loads((path / "config.json").read_text(encoding="utf-8")).get("model_type") == "mistral"
    except (OSError, ValueError, AttributeError):
        return False


_HF_DTYPES = {"F32": "float32", "BF16": "bfloat16", "F16": "float16"}
_DTYPE_BYTES = {"F32": 4, "BF16": 2, "F16": 2, "F64": 8}


def _nbytes(handle, name: str) -> int:
    piece = handle.get_slice(name)
    count = 1
    for d in piece.get_shape():
        count *= d
    return count * _DTYPE_BYTES.get(piece.get_dtype(), 4)


def _plan_shards(names: list[str], handle, max_bytes: int) -> list[list[str]]:
    shards, current, size = [], [], 0
    for name in names:
        n = _nbytes(handle, name)
        if current and size + n > max_bytes:
            shards.append(current)
            current, size = [], 0
        current.append(name)
        size += n
    return shards + [current] if current else shards


def special_token_ids(tokenizer_dir: Path) -> dict[str, int | None]:
    """bos/eos/pad ids for the HF config, from tokenizer_config.json + tokenizer.json, or
    from the SentencePiece model; None where the tokenizer does not say."""
    ids: dict[str, int | None] = {"bos_token_id": None, "eos_token_id": None, "pad_token_id": None}
    config_file, json_file, sp_file = (tokenizer_dir / n for n in ("tokenizer_config.json", "tokenizer.json",
                                                                  "tokenizer.model"))
    if config_file.is_file() and json_file.is_file():
        tok_config = read_json(config_file, what="tokenizer config")
        vocab = _vocabulary(read_json(json_file, what="tokenizer"))
        for key in ("bos", "eos", "pad"):
            token = tok_config.get(f"{key}_token")
            token = token.get("content") if isinstance(token, dict) else token
            ids[f"{key}_token_id"] = vocab.get(token) if isinstance(token, str) else None
    elif sp_file.is_file():
        import sentencepiece

        sp = sentencepiece.SentencePieceProcessor(model_file=str(sp_file))
        for key, value in (("bos", sp.bos_id()), ("eos", sp.eos_id()), ("pad", sp.pad_id())):
            ids[f"{key}_token_id"] = value if value >= 0 else None
    return ids


def _vocabulary(tokenizer: dict) -> dict[str, int]:
    model_vocab = (tokenizer.get("model") or {}).get("vocab") or {}
    if isinstance(model_vocab, list):  # Unigram: [[piece, score], ...], the index is the id
        vocab = {entry[0]: i for i, entry in enumerate(model_vocab)}
    else:  # BPE / WordPiece: {piece: id}
        vocab = dict(model_vocab)
    vocab.update({t["content"]: t["id"] for t in tokenizer.get("added_tokens") or []})
    return vocab


# --- import ---------------------------------------------------------------------------------


def import_hf(hf_dir: str | Path, checkpoint_dir: str | Path, run_dir: str | Path | None = None,
              state: CheckpointState = CheckpointState()) -> Path:
    """Turn a Hugging Face Mistral folder into a glassworks checkpoint (no transformers needed)."""
    from safetensors import safe_open

    hf_dir = Path(hf_dir)
    config = config_from_hf(read_json(hf_dir / "config.json", what="Hugging Face config"), hf_dir / "config.json")
    index_file = hf_dir / "model.safetensors.index.json"
    if index_file.is_file():
        files = sorted(set(read_json(index_file, what="weight index").get("weight_map", {}).values()))
    else:
        files = [WEIGHTS_FILE]
    tensors = {}
    for file in files:
        path = hf_dir / file
        if not path.is_file():
            raise GlassworksError(f"{path}: weights file not found")
        with safe_open(str(path), framework="pt") as handle:
            for name in handle.keys():
                if name.endswith("rotary_emb.inv_freq"):  # a buffer older exports carry; recomputed here
                    continue
                tensors[our_name(name)] = handle.get_tensor(name)
    if "output.weight" not in tensors and "tok_embeddings.weight" in tensors and _tied(hf_dir):
        tensors["output.weight"] = tensors["tok_embeddings.weight"].clone()  # glassworks' head is untied
    from glassworks.model.transformer import build

    expected = {n: tuple(t.shape) for n, t in build(config, device="meta").state_dict().items()}
    check_shapes(hf_dir / files[0], {n: tuple(t.shape) for n, t in tensors.items()}, expected)
    tokenizer = [hf_dir / n for n in TOKENIZER_FILES if (hf_dir / n).is_file()]
    return write_checkpoint(checkpoint_dir, config, tensors, state, tokenizer, run_dir=run_dir, inputs={"hf": hf_dir})


def _tied(hf_dir: Path) -> bool:
    return bool(read_json(hf_dir / "config.json", what="Hugging Face config").get("tie_word_embeddings"))


def config_from_hf(data: dict, path: Path) -> ModelConfig:
    """Our config of a transformers Mistral/Llama config; refuses what we do not model."""
    model_type = data.get("model_type")
    if model_type not in ("mistral", "llama"):
        raise GlassworksError(f"{path}: model_type {model_type!r} is not a Mistral-style decoder (mistral, llama)")
    rope = data.get("rope_parameters") or data.get("rope_scaling") or {}
    if rope.get("rope_type", rope.get("type", "default")) != "default":
        raise GlassworksError(f"{path}: rope type {rope.get('rope_type', rope.get('type'))!r} is not supported "
                              "(glassworks models unscaled rotary embeddings)")
    for key, ok in (("hidden_act", "silu"), ("attention_bias", False), ("mlp_bias", False)):
        if key in data and data[key] != ok:
            raise GlassworksError(f"{path}: {key}={data[key]!r} is not supported (glassworks expects {ok!r})")
    heads = data["num_attention_heads"]
    window = data.get("sliding_window") if model_type == "mistral" else None
    try:
        return ModelConfig(
            vocab_size=data["vocab_size"], dim=data["hidden_size"], n_layers=data["num_hidden_layers"],
            n_heads=heads, n_kv_heads=data.get("num_key_value_heads") or heads,
            head_dim=data.get("head_dim") or data["hidden_size"] // heads, hidden_dim=data["intermediate_size"],
            window=window, rope_theta=float(rope.get("rope_theta", data.get("rope_theta", 10000.0))),
            norm_eps=float(data.get("rms_norm_eps", 1e-6)),
            max_seq_len=data.get("max_position_embeddings", 4096),
            init_std=float(data.get("initializer_range", 0.02)),
        )
    except KeyError as exc:
        raise GlassworksError(f"{path}: key {exc.args[0]!r} is missing") from None
