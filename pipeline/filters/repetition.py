"""Gopher's repetition filter, with its n-gram checks vectorised and its decisions unchanged.

datatrove's ``GopherRepetitionFilter`` builds every n-gram as a string, nine times over (top
2-, 3-, 4-grams; duplicate 5- to 10-grams), and walks them in Python. Here n-grams are
integers computed with NumPy:

- top n-grams (words joined by a space): a word id per word, then exact n-gram ids by
  pairing ids and renumbering (joining with a separator no word contains is one-to-one);
- duplicate n-grams (words glued without a separator, as datatrove counts them, so ``ab c``
  equals ``a bc``): a polynomial hash of each glued n-gram from prefix hashes of the text,
  every group of equal hashes checked against the strings themselves, so a hash collision
  can never change a count. Most documents repeat no 5-gram and need no walk at all; the
  rest walk only the positions whose n-gram occurred before.

Counts, ties and decisions are the same as datatrove's (tests compare both on the embedded
corpus and on hand-made collisions). After the fast word splitter this was the largest
cost of the DCLM recipe's heuristics stage.
"""

from __future__ import annotations

import numpy as np
from datatrove.data import Document
from datatrove.pipeline.filters import GopherRepetitionFilter
from datatrove.pipeline.filters.gopher_repetition_filter import find_all_duplicate, find_duplicates
from datatrove.utils.text import split_into_words

_BASE = np.uint64(0x9E3779B97F4A7C15)  # odd, so invertible modulo 2**64
_BASE_INVERSE = np.uint64(pow(int(_BASE), -1, 2**64))


class WordGrams:
    """The words of one document, with word offsets in their space-joined and glued texts."""

    def __init__(self, words: list[str]):
        self.words = words
        lengths = np.fromiter((len(w) for w in words), dtype=np.int64, count=len(words))
        self.glued_starts = np.concatenate(([0], np.cumsum(lengths)))
        self.spaced_starts = self.glued_starts + np.arange(len(words) + 1)
        index: dict[str, int] = {}
        self.ids = np.fromiter((index.setdefault(w, len(index)) for w in words), dtype=np.int64, count=len(words))
        self.vocabulary = len(index)
        self.spaced_exact = not any(" " in w for w in index)
        self._grams = {1: self.ids}
        self._prefix: tuple[np.ndarray, np.ndarray] | None = None

    def spaced_gram_ids(self, n: int) -> np.ndarray:
        """Exact ids of the space-joined n-grams, equal ids for equal strings (needs ``spaced_exact``)."""
        if n not in self._grams:
            shorter = self.spaced_gram_ids(n - 1)[:-1]
            pairs = shorter * self.vocabulary + self.ids[n - 1:]
            self._grams[n] = np.unique(pairs, return_inverse=True)[1].reshape(-1)
        return self._grams[n]

    def glued_hashes(self, n: int) -> np.ndarray:
        """A 64-bit polynomial hash of every glued n-gram, comparable across positions."""
        if self._prefix is None:
            text = "".join(self.words).encode("utf-32-le", "surrogatepass")
            codes = np.frombuffer(text, dtype=np.uint32).astype(np.uint64)
            with np.errstate(over="ignore"):
                prefix = np.concatenate(([np.uint64(0)], np.cumsum(codes * _power_series(_BASE, len(codes)))))
            self._prefix = (prefix, _power_series(_BASE_INVERSE, len(codes) + 1))
        prefix, inverse = self._prefix
        begin, end = self.glued_starts[:-n], self.glued_starts[n:]
        with np.errstate(over="ignore"):
            return (prefix[end] - prefix[begin]) * inverse[begin]

    def glued(self, i: int, n: int) -> str:
        return "".join(self.words[i:i + n])


def _power_series(base: np.uint64, count: int) -> np.ndarray:
    """base**0, base**1, ... modulo 2**64."""
    out = np.empty(count, dtype=np.uint64)
    if count:
        out[0] = 1
        with np.errstate(over="ignore"):
            np.cumprod(np.full(count - 1, base, dtype=np.uint64), out=out[1:])
    return out


def top_gram_chars(grams: WordGrams, n: int) -> int | None:
    """Characters of the most frequent space-joined n-gram times its frequency; as
    ``Counter.most_common``, the n-gram seen first wins a tie."""
    count = len(grams.words) - n + 1
    if count <= 0:
        return None
    if not grams.spaced_exact:  # a word holds a space: joins may collide, count strings
        from datatrove.pipeline.filters.gopher_repetition_filter import find_top_duplicate, get_n_grams
        return find_top_duplicate(get_n_grams(grams.words, n))
    ids = grams.spaced_gram_ids(n)
    frequency = np.bincount(ids)
    first = int(np.argmax(frequency[ids] == frequency.max()))
    chars = int(grams.spaced_starts[first + n] - grams.spaced_starts[first]) - 1
    return chars * int(frequency.max())


def repeated_gram_chars(grams: WordGrams, n: int) -> int:
    """Characters covered by repeats of glued n-grams, a repeat skipping its n words, as
    Gopher's duplicate n-gram fraction counts them."""
    count = len(grams.words) - n + 1
    if count <= 1:
        return 0
    hashes = grams.glued_hashes(n)
    _, first, group, sizes = np.unique(hashes, return_index=True, return_inverse=True, return_counts=True)
    group = group.reshape(-1)
    if sizes.max() == 1:
        return 0
    repeats = np.flatnonzero(sizes[group] > 1)
    members: dict[int, list[int]] = {}
    for position, g in zip(repeats.tolist(), group[repeats].tolist()):
        members.setdefault(g, []).append(position)
    for positions in members.values():  # equal hashes must be equal strings, or count the slow way
        head = grams.glued(positions[0], n)
        if any(grams.glued(p, n) != head for p in positions[1:]):
            return find_all_duplicate(grams.words, n)
    # The walk lands on every position but those a repeat skips; a position repeats when its
    # n-gram was landed on before. Only positions whose n-gram occurred earlier can repeat.
    starts = grams.glued_starts
    skipped = bytearray(count)
    repeated, landing = 0, 0
    for position in repeats[first[group[repeats]] < repeats].tolist():
        if position < landing:
            continue
        earlier = members[int(group[position])]
        if any(not skipped[p] for p in earlier if p < position):
            repeated += int(starts[position + n] - starts[position])
            skipped[position + 1:position + n] = b"\x01" * len(skipped[position + 1:position + n])
            landing = position + n
        else:
            landing = position + 1
    return repeated


class FastGopherRepetitionFilter(GopherRepetitionFilter):
    """Same thresholds, reasons and decisions as datatrove's; n-grams as integers, not strings."""

    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        text = doc.text
        if not text:
            return False, "empty"
        paragraphs = self.paragraph_exp.split(text.strip())
        repeats, chars = find_duplicates(paragraphs)
        if self.dup_para_frac and repeats / len(paragraphs) > self.dup_para_frac:
            return False, "dup_para_frac"
        if self.dup_para_char_frac and chars / len(text) > self.dup_para_char_frac:
            return False, "dup_para_char_frac"
        lines = self._line_splitter.split(text)
        repeats, chars = find_duplicates(lines)
        if self.dup_line_frac and repeats / len(lines) > self.dup_line_frac:
            return False, "dup_line_frac"
        if self.dup_line_char_frac and chars / len(text) > self.dup_line_char_frac:
            return False, "dup_line_char_frac"

        grams = WordGrams(split_into_words(text, self.language))
        for n, limit in self.top_n_grams:
            top = top_gram_chars(grams, n)
            if top is not None and top / len(text) > limit:
                return False, f"top_{n}_gram"
        for n, limit in self.dup_n_grams:
            if repeated_gram_chars(grams, n) / len(text) > limit:
                return False, f"duplicated_{n}_n_grams"
        return True
