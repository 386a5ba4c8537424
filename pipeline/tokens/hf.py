"""Hugging Face export of the SentencePiece model: tokenizer.json and its two config files.

Built with the ``tokenizers`` library from the model's own pieces, so exporting needs
neither transformers nor a network. It gives the ids of glassworks' ``Tokenizer`` for every
text (the tests check the tokenizers library and transformers' AutoTokenizer on adversarial
text), because each step of SentencePiece has its exact counterpart:

- BPE: SentencePiece repeatedly joins the adjacent pair whose union is the highest-scoring
  piece; a ``tokenizers`` BPE does the same when its merge list holds every split of every
  piece into two pieces, ranked by the score of the piece they make.
- Spaces: SentencePiece writes a space as U+2581 before looking up pieces, so a literal
  U+2581 in text would come back as a space. Here the vocabulary is written with real spaces
  (the piece ``\u2581the`` is `` the``, what it decodes to) and there is no normaliser and no
  pre-tokenizer: a space is a space, and a literal U+2581 is outside the vocabulary, so it
  becomes its three UTF-8 byte pieces, exactly as ``Tokenizer`` encodes it.
- Special pieces: ``<unk>``, ``<s>`` and ``</s>`` are in the vocabulary (the post-processor
  adds ``<s>``), but not added tokens, so the text ``<s>`` is three characters, as in
  SentencePiece. transformers registers them as special tokens on load; the config's
  ``split_special_tokens`` keeps it from matching them in text. The user-defined pieces
  (newline, tab) are added tokens: matched whole, as SentencePiece matches them.
- Decoding: byte pieces are joined into UTF-8, ``<s>`` decodes to nothing and ``<unk>`` to
  SentencePiece's unk surface, as ``Tokenizer.decode`` does; ``</s>`` decodes to its own text,
  which Hugging Face generation stops on (encoding never produces it). (Only runs of byte
  pieces that are not valid UTF-8, which encoding never produces, decode differently: each
  library has its own replacement rule.)
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
    from tokenizers import decoders, models, processors

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

    text_vocab = {p.piece.replace(SPACE, " ") if p.type in (NORMAL, USER_DEFINED) else p.piece: i
                  for i, p in enumerate(pieces)}
    if len(text_vocab) != len(pieces):
        raise ValueError("export_hf: two pieces read the same once U+2581 is written as a space")
    tokenizer = HFTokenizer(models.BPE(vocab=text_vocab, merges=_merges(pieces, text_vocab), unk_token=unk,
                                       byte_fallback=True, fuse_unk=True))
    # SentencePiece decodes <s> to nothing and <unk> to its unk_surface; so does this decoder,
    # whatever skip_special_tokens says (Replace acts on whole tokens here: no other piece holds
    # their text). </s> is the one exception: it decodes to "</s>", because Hugging Face
    # generation (lm-eval's `hf` model among it) stops on the text of the end-of-sequence token,
    # and an empty stop text would end every generation after its first token. Encoding never
    # yields </s>, so decode(encode(text)) is still the text.
    surface = {CONTROL: "", UNKNOWN: proto.trainer_spec.unk_surface}
    shown = [decoders.Replace(p.piece, surface[p.type]) for p in pieces if p.type in surface and p.piece != eos
             and not any(p.piece in q for q in text_vocab if q != p.piece)]
    tokenizer.decoder = decoders.Sequence([*shown, decoders.ByteFallback(), decoders.Fuse()])
    tokenizer.post_processor = processors.TemplateProcessing(
        single=f"{bos}:0 $A:0", pair=f"{bos}:0 $A:0 {bos}:1 $B:1", special_tokens=[(bos, vocab[bos])])
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
        "split_special_tokens": True,  # the text "<s>" is text, as in SentencePiece
        "padding_side": "right",
    })
    atomic_write_json(paths[2], {"bos_token": bos, "eos_token": eos, "unk_token": unk})
    return paths


def _merges(pieces, vocab: dict[str, int]) -> list[tuple[str, str]]:
    """Every (left, right) split of every normal piece into two vocabulary pieces, best first
    (pieces as they read in ``vocab``: U+2581 written as a space)."""
    text = [p.piece.replace(SPACE, " ") for p in pieces]
    mergeable = {text[i] for i, p in enumerate(pieces) if p.type in (NORMAL, USER_DEFINED)}
    ranked = []
    for i, p in enumerate(pieces):
        if p.type != NORMAL or len(p.piece) < 2:
            continue
        for k in range(1, len(p.piece)):
            left, right = text[i][:k], text[i][k:]
            if left in mergeable and right in mergeable:
                ranked.append((-p.score, i, vocab[left], vocab[right], left, right))
    ranked.sort()
    return [(left, right) for *_, left, right in ranked]
