"""Hugging Face export of the SentencePiece model: tokenizer.json and its two config files.

Built with the ``tokenizers`` library from the model's own pieces, so exporting needs
neither transformers nor a network. SentencePiece BPE encodes by repeatedly joining the
adjacent pair whose union is the highest-scoring piece in the vocabulary; a ``tokenizers``
BPE does the same when its merge list holds every split of every piece into two pieces,
ranked by the score of the piece they make. With byte fallback for the rest, the
user-defined pieces (newline, tab) as added tokens and spaces mapped to U+2581 like the
model's identity normaliser does, both give the same ids (tested on the test corpus).

One difference is inherent to the formats: the HF tokenizer reads the literal strings
``<s>``, ``</s>`` and ``<unk>`` in text as the special tokens, SentencePiece as plain text
(``split_special_tokens=True`` in transformers makes them plain text there too).
"""

from __future__ import annotations

from pathlib import Path

from glassworks.provenance.atomic import atomic_write_json, atomic_write_text

# sentencepiece_model.proto: ModelProto.SentencePiece.Type
NORMAL, UNKNOWN, CONTROL, USER_DEFINED, UNUSED, BYTE = 1, 2, 3, 4, 5, 6
SPACE = "\u2581"


def export_hf(model_proto: bytes, out_dir: Path, model_max_length: int) -> list[Path]:
    """Write tokenizer.json, tokenizer_config.json and special_tokens_map.json into ``out_dir``."""
    from sentencepiece import sentencepiece_model_pb2
    from tokenizers import AddedToken
    from tokenizers import Tokenizer as HFTokenizer
    from tokenizers import decoders, models, normalizers, processors

    proto = sentencepiece_model_pb2.ModelProto()
    proto.ParseFromString(model_proto)
    spec = proto.normalizer_spec
    if spec.add_dummy_prefix or spec.remove_extra_whitespaces or spec.name != "identity":
        raise ValueError("export_hf handles the identity normaliser without dummy prefix, as glassworks trains")
    pieces = list(proto.pieces)
    vocab = {p.piece: i for i, p in enumerate(pieces)}
    unk = pieces[proto.trainer_spec.unk_id].piece
    bos = pieces[proto.trainer_spec.bos_id].piece
    eos = pieces[proto.trainer_spec.eos_id].piece

    tokenizer = HFTokenizer(models.BPE(vocab=vocab, merges=_merges(pieces, vocab), unk_token=unk,
                                       byte_fallback=True, fuse_unk=True))
    tokenizer.normalizer = normalizers.Replace(" ", SPACE)
    tokenizer.decoder = decoders.Sequence([decoders.Replace(SPACE, " "), decoders.ByteFallback(), decoders.Fuse()])
    tokenizer.post_processor = processors.TemplateProcessing(
        single=f"{bos}:0 $A:0", pair=f"{bos}:0 $A:0 {bos}:1 $B:1", special_tokens=[(bos, vocab[bos])])
    tokenizer.add_special_tokens([AddedToken(p.piece, special=True, normalized=False)
                                  for p in pieces if p.type in (UNKNOWN, CONTROL)])
    tokenizer.add_tokens([AddedToken(p.piece, special=False, normalized=False)
                          for p in pieces if p.type == USER_DEFINED])

    out_dir.mkdir(parents=True, exist_ok=True)
    paths = [out_dir / "tokenizer.json", out_dir / "tokenizer_config.json", out_dir / "special_tokens_map.json"]
    atomic_write_text(paths[0], tokenizer.to_str(pretty=True) + "\n")
    # PreTrainedTokenizerFast loads tokenizer.json as it is (transformers 4 and 5); the
    # Llama classes would rebuild the pipeline with a dummy prefix this model does not use.
    atomic_write_json(paths[1], {
        "tokenizer_class": "PreTrainedTokenizerFast",
        "bos_token": bos, "eos_token": eos, "unk_token": unk,
        "add_bos_token": True, "add_eos_token": False,
        "model_max_length": model_max_length,
        "clean_up_tokenization_spaces": False,
        "padding_side": "right",
    })
    atomic_write_json(paths[2], {"bos_token": bos, "eos_token": eos, "unk_token": unk})
    return paths


def _merges(pieces, vocab: dict[str, int]) -> list[tuple[str, str]]:
    """Every (left, right) split of every normal piece into two vocabulary pieces, best first."""
    mergeable = {p.piece for p in pieces if p.type in (NORMAL, USER_DEFINED)}
    ranked = []
    for p in pieces:
        if p.type != NORMAL or len(p.piece) < 2:
            continue
        for k in range(1, len(p.piece)):
            left, right = p.piece[:k], p.piece[k:]
            if left in mergeable and right in mergeable:
                ranked.append((-p.score, vocab[p.piece], vocab[left], vocab[right], left, right))
    ranked.sort()
    return [(left, right) for *_, left, right in ranked]
