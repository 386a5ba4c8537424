"""The tokenizer as every later stage uses it: ``Tokenizer.load(directory)``.

A tokenizer directory holds ``tokenizer.model`` (SentencePiece BPE, what glassworks encodes
with), ``tokenizer.json`` + ``tokenizer_config.json`` + ``special_tokens_map.json`` (the
equivalent Hugging Face export, hf.py) and ``glassworks_tokenizer.json`` (vocabulary size,
special ids, the hash of the model). Checkpoints carry a copy of this directory; lm-eval and
the trainer load it with this class and need nothing else.

The model normalises nothing (identity rule, no dummy prefix, spaces kept), so
``decode(encode(text)) == text`` for any text: characters outside the vocabulary become
UTF-8 byte pieces. Three things cannot go through plain ``SentencePieceProcessor.encode``
unchanged and are handled here, the same way in every encode path (``encode``,
``encode_chunks`` for the packing stage's workers) and in the HF export:

- lone surrogates (not encodable as UTF-8) become U+FFFD;
- a literal U+2581 (SentencePiece's space symbol) would come back as a space, so the text is
  encoded around it and each one becomes its three UTF-8 byte pieces, which decode to U+2581;
- the literal strings ``<s>``, ``</s>``, ``<unk>`` are plain text (SentencePiece never matches
  control pieces in text; the HF export is built so that it does not either).

Long texts are encoded in chunks (bounded memory and time; chunks spread a long document
over workers) cut only where no piece of the vocabulary can span the cut, so the ids equal
one call's. BPE only ever joins two adjacent symbols into a piece of the vocabulary, so if
no piece spans position p, no symbol ever will, and the two sides are merged independently
(each merge on one side is the best pair of that side alone). ``Tokenizer`` checks on load
that its model has the two properties the cuts rely on: no piece but the newline piece holds
a newline, and no piece holds a space after a non-space (SentencePiece trained with
``split_by_whitespace``: spaces only lead a piece). A text with no such position within
``CHUNK_CHARS`` is not cut there: the chunk grows to the next one (``"the" * 7000`` is one).
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np

from glassworks.errors import GlassworksError

MODEL_FILE = "tokenizer.model"
META_FILE = "glassworks_tokenizer.json"
HF_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json")
# Texts are encoded in pieces of about this many characters: SentencePiece's encoding
# slows down on long inputs (a 1 MB piece costs ~2.5x the time of 16 KB pieces), and
# pieces spread one long document over the workers.
CHUNK_CHARS = 1 << 14
SPACE = "\u2581"  # SentencePiece's space symbol; literal ones are encoded as UTF-8 bytes
_SURROGATE = re.compile("[\ud800-\udfff]")
# Positions no piece can span (see the module docstring): next to a newline, before a space
# that follows a non-space, next to a literal U+2581 (encoded on its own as bytes).
_CUT = re.compile("(?<=\n)|(?=\n)|(?<=\u2581)|(?=\u2581)|(?<! )(?= )")


def clean_text(text: str) -> tuple[str, int]:
    """``text`` with lone surrogates replaced by U+FFFD, and how many were replaced."""
    try:
        text.encode("utf-8")
        return text, 0
    except UnicodeEncodeError:
        return _SURROGATE.subn("\ufffd", text)


def split_points(text: str, size: int = CHUNK_CHARS) -> Iterator[tuple[int, int]]:
    """(start, end) spans, each at most ``size`` characters where the text allows, whose
    encodings concatenate to the encoding of ``text``: every cut is at a position no piece
    can span (the last such position within ``size``, else the first one after)."""
    start, n = 0, len(text)
    while n - start > size:
        limit = start + size
        cut = _last_cut(text, max(start + 1, limit - 256), limit) or _last_cut(text, start + 1, limit)
        if cut is None:
            match = _CUT.search(text, limit + 1)
            cut = match.start() if match else n
        if cut >= n:
            break
        yield start, cut
        start = cut
    yield start, n


def _last_cut(text: str, lo: int, hi: int) -> int | None:
    """The last position in [lo, hi] where ``_CUT`` allows a cut, or None."""
    cut = None
    for match in _CUT.finditer(text, lo, hi + 1):  # may also match at hi + 1
        if match.start() <= hi:
            cut = match.start()
    return cut


def check_model(model_proto: bytes, where: str = MODEL_FILE) -> None:
    """Refuse a SentencePiece model for which glassworks' encoding would not be exact:
    normalising, without byte fallback, or with pieces that span the chunk cuts."""
    from sentencepiece import sentencepiece_model_pb2

    proto = sentencepiece_model_pb2.ModelProto()
    proto.ParseFromString(model_proto)
    spec = proto.normalizer_spec
    if spec.name != "identity" or spec.add_dummy_prefix or spec.remove_extra_whitespaces:
        raise GlassworksError(f"{where}: normaliser {spec.name!r} (dummy prefix {spec.add_dummy_prefix}, "
                              f"remove extra whitespace {spec.remove_extra_whitespaces}) changes text; "
                              "glassworks needs the identity rule without either")
    if not proto.trainer_spec.byte_fallback:
        raise GlassworksError(f"{where}: no byte fallback: characters outside the vocabulary would be lost")
    for i, piece in enumerate(proto.pieces):
        text = piece.piece
        if piece.type not in (1, 4) or len(text) < 2:  # NORMAL, USER_DEFINED
            continue
        if "\n" in text or any(a != SPACE and b == SPACE for a, b in zip(text, text[1:])):
            raise GlassworksError(f"{where}: piece {i} {text!r} spans a newline or a word start; texts "
                                  "could not be cut there (train with split_by_whitespace and newline "
                                  "as a user-defined symbol)")


@dataclass(frozen=True)
class TokenizerInfo:
    """What a tokenizer directory says about itself (glassworks_tokenizer.json)."""

    vocab_size: int
    unk_id: int
    bos_id: int
    eos_id: int
    model_sha256: str


class Tokenizer:
    """SentencePiece BPE with byte fallback, loaded from a glassworks tokenizer directory."""

    def __init__(self, model_proto: bytes, info: TokenizerInfo | None = None, directory: Path | None = None):
        import sentencepiece as spm

        check_model(model_proto, str((directory or Path(".")) / MODEL_FILE))
        self.directory = directory
        self._sp = spm.SentencePieceProcessor(model_proto=model_proto)
        self.vocab_size = self._sp.get_piece_size()
        self.unk_id, self.bos_id, self.eos_id = self._sp.unk_id(), self._sp.bos_id(), self._sp.eos_id()
        if info is not None and (info.vocab_size, info.bos_id, info.eos_id) != (self.vocab_size, self.bos_id, self.eos_id):
            raise GlassworksError(f"{directory}: {META_FILE} does not describe {MODEL_FILE} (vocab or special ids differ)")
        self._space_bytes = [self._sp.piece_to_id(f"<0x{b:02X}>") for b in SPACE.encode("utf-8")]

    @classmethod
    def load(cls, directory: str | Path) -> "Tokenizer":
        directory = Path(directory)
        model = directory / MODEL_FILE
        if not model.is_file():
            raise GlassworksError(f"{directory}: no {MODEL_FILE} here (not a tokenizer directory)")
        proto = model.read_bytes()
        info = None
        if (directory / META_FILE).is_file():
            data = json.loads((directory / META_FILE).read_text(encoding="utf-8"))
            info = TokenizerInfo(**{k: data[k] for k in TokenizerInfo.__dataclass_fields__})
            if hashlib.sha256(proto).hexdigest() != info.model_sha256:
                raise GlassworksError(f"{model}: not the model {META_FILE} describes (sha256 differs)")
        return cls(proto, info, directory)

    @property
    def dtype(self) -> np.dtype:
        """The narrowest unsigned integer that holds every id: uint16 up to 65 536 pieces."""
        return np.dtype(np.uint16 if self.vocab_size <= 1 << 16 else np.uint32)

    def encode(self, text: str, bos: bool = False, eos: bool = False) -> list[int]:
        ids = self.encode_array(text).tolist()
        return ([self.bos_id] if bos else []) + ids + ([self.eos_id] if eos else [])

    def encode_array(self, text: str) -> np.ndarray:
        """Ids of ``text`` (no BOS/EOS) as an array of ``dtype``; long texts go in chunks."""
        text, _ = clean_text(text)
        parts = self.encode_chunks([text[a:b] for a, b in split_points(text)])
        return parts[0] if len(parts) == 1 else np.concatenate(parts)

    def encode_chunks(self, texts: list[str]) -> list[np.ndarray]:
        """Ids of each of ``texts`` (clean, and cut by ``split_points`` if long) in one
        SentencePiece call: the packing stage's workers encode with this."""
        segments = [t.split(SPACE) for t in texts]
        flat = [s for parts in segments for s in parts]
        encoded = iter(self._sp.encode(flat, num_threads=1))
        out = []
        for parts in segments:
            ids = list(next(encoded))
            for _ in parts[1:]:
                ids += self._space_bytes
                ids += next(encoded)
            out.append(np.asarray(ids, dtype=self.dtype))
        return out

    def encode_batch(self, texts: list[str]) -> list[list[int]]:
        return [self.encode_array(t).tolist() for t in texts]

    def decode(self, ids) -> str:
        ids = [int(i) for i in ids]
        return self._sp.decode(ids)

    def piece(self, token_id: int) -> str:
        return self._sp.id_to_piece(int(token_id))

    def __repr__(self) -> str:
        return f"Tokenizer(vocab_size={self.vocab_size}, directory={self.directory})"
