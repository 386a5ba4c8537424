"""Gopher's repetition filter, with its n-gram checks made cheaper and its decisions unchanged.

datatrove's ``GopherRepetitionFilter`` builds every n-gram by joining n words, nine times
over (top 2-, 3-, 4-grams; duplicate 5- to 10-grams). Here the words are joined once per
separator and each n-gram is a slice of that string between precomputed word offsets,
which gives the same strings, so the same counts, ties and decisions (tests compare both on
the embedded corpus). After the fast word splitter this was the largest cost of the DCLM
recipe's heuristics stage.
"""

from __future__ import annotations

from collections import Counter
from itertools import accumulate

from datatrove.data import Document
from datatrove.pipeline.filters import GopherRepetitionFilter
from datatrove.pipeline.filters.gopher_repetition_filter import find_duplicates
from datatrove.utils.text import split_into_words


class JoinedWords:
    """Words joined by ``sep`` once; ``gram(i, n)`` is ``sep.join(words[i:i + n])`` as a slice."""

    def __init__(self, words: list[str], sep: str):
        self.text = sep.join(words)
        self.starts = [0, *accumulate(len(w) + len(sep) for w in words)]
        self.sep_len = len(sep)

    def gram(self, i: int, n: int) -> str:
        return self.text[self.starts[i]:self.starts[i + n] - self.sep_len]


def top_gram_chars(spaced: JoinedWords, count: int, n: int) -> int | None:
    """Characters of the most frequent space-joined n-gram times its frequency (first seen wins ties)."""
    grams = count - n + 1
    if grams <= 0:
        return None
    gram, times = Counter(spaced.gram(i, n) for i in range(grams)).most_common(1)[0]
    return len(gram) * times


def repeated_gram_chars(glued: JoinedWords, count: int, n: int) -> int:
    """Characters covered by repeats of n-grams (words glued without a separator), a repeat
    skipping its n words, as Gopher's duplicate n-gram fraction counts them."""
    seen: set[str] = set()
    repeated, i = 0, 0
    while i < count - n + 1:
        gram = glued.gram(i, n)
        if gram in seen:
            repeated += len(gram)
            i += n
        else:
            seen.add(gram)
            i += 1
    return repeated


class FastGopherRepetitionFilter(GopherRepetitionFilter):
    """Same thresholds, reasons and decisions as datatrove's; n-grams sliced, not joined."""

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

        words = split_into_words(text, self.language)
        spaced = JoinedWords(words, " ")
        for n, limit in self.top_n_grams:
            top = top_gram_chars(spaced, len(words), n)
            if top is not None and top / len(text) > limit:
                return False, f"top_{n}_gram"
        glued = JoinedWords(words, "")
        for n, limit in self.dup_n_grams:
            if repeated_gram_chars(glued, len(words), n) / len(text) > limit:
                return False, f"duplicated_{n}_n_grams"
        return True
