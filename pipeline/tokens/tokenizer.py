"""The tokenizer as every later stage uses it: ``Tokenizer.load(directory)``.

A tokenizer directory holds ``tokenizer.model`` (SentencePiece BPE, what glassworks encodes
with), ``tokenizer.json`` + ``tokenizer_config.json`` + ``special_tokens_map.json`` (the
equivalent Hugging Face export) and ``glassworks_tokenizer.json`` (vocabulary size, special
ids, the hash of the model). Checkpoints carry a copy of this directory; lm-eval and the
trainer load it with this class and need nothing else.

The model normalises nothing (identity rule, no dummy prefix, spaces kept), so
``decode(encode(text)) == text`` for any text: characters outside the vocabulary become
UTF-8 byte pieces. Two things cannot go through SentencePiece unchanged and are handled
here, not left to crash a worker: lone surrogates (not encodable as UTF-8) become U+FFFD,
and very long texts are encoded in chunks cut where no piece can span the cut (after a
newline, which is always its own piece, or before a single space between two non-spaces),
so a 50 MB document costs bounded memory and time and gives the same ids as one call.
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
# Texts are encoded in pieces of at most this many characters: SentencePiece's encoding
# slows down on long inputs (a 1 MB piece costs ~2.5x the time of 16 KB pieces), and
# pieces spread one long document over the workers.
CHUNK_CHARS = 1 << 14
_SURROGATE = re.compile("[\ud800-\udfff]")


def clean_text(text: str) -> tuple[str, int]:
    """``text`` with lone surrogates replaced by U+FFFD, and how many were replaced."""
    try:
        text.encode("utf-8")
        return text, 0
    except UnicodeEncodeError:
        return _SURROGATE.subn("\ufffd", text)


def split_points(text: str, size: int = CHUNK_CHARS) -> Iterator[tuple[int, int]]:
    """(start, end) spans of at most about ``size`` characters whose encodings concatenate to
    the encoding of ``text``. A span ends after a newline or before a lone space; a run of
    ``size`` characters with neither is cut hard (the only place ids may differ, by a merge)."""
    start, n = 0, len(text)
    while n - start > size:
        limit = start + size
        cut = text.rfind("\n", start + 1, limit) + 1
        if cut <= start:
            cut = _space_cut(text, start, limit)
        yield start, cut
        start = cut
    yield start, n


def _space_cut(text: str, start: int, limit: int) -> int:
    i = text.rfind(" ", start + 1, limit)
    while i > start:
        if i + 1 < len(text) and text[i - 1] != " " and text[i + 1] != " ":
            return i
        i = text.rfind(" ", start + 1, i)
    return limit


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

        self.directory = directory
        self._sp = spm.SentencePieceProcessor(model_proto=model_proto)
        self.vocab_size = self._sp.get_piece_size()
        self.unk_id, self.bos_id, self.eos_id = self._sp.unk_id(), self._sp.bos_id(), self._sp.eos_id()
        if info is not None and (info.vocab_size, info.bos_id, info.eos_id) != (self.vocab_size, self.bos_id, self.eos_id):
            raise GlassworksError(f"{directory}: {META_FILE} does not describe {MODEL_FILE} (vocab or special ids differ)")

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
        parts = [np.asarray(self._sp.encode(text[a:b]), dtype=self.dtype) for a, b in split_points(text)]
        return parts[0] if len(parts) == 1 else np.concatenate(parts)

    def encode_batch(self, texts: list[str]) -> list[list[int]]:
        return [self.encode_array(t).tolist() for t in texts]

    def decode(self, ids) -> str:
        ids = [int(i) for i in ids]
        return self._sp.decode(ids)

    def piece(self, token_id: int) -> str:
        return self._sp.id_to_piece(int(token_id))

    def __repr__(self) -> str:
        return f"Tokenizer(vocab_size={self.vocab_size}, directory={self.directory})"
