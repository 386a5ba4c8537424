"""The vectorised Gopher repetition filter counts and decides exactly as datatrove's."""

import importlib.util
from pathlib import Path

import numpy as np
import pytest
from datatrove.data import Document
from datatrove.pipeline.filters import GopherRepetitionFilter
from datatrove.pipeline.filters.gopher_repetition_filter import find_all_duplicate, find_top_duplicate, get_n_grams
from datatrove.utils.text import split_into_words

from glassworks.pipeline.filters.repetition import (FastGopherRepetitionFilter, WordGrams, repeated_gram_chars,
                                                    top_gram_chars)
from glassworks.pipeline.filters.words import FAST_ENGLISH

BENCH = Path(__file__).resolve().parents[3] / "bench" / "word_split.py"


def corpus_texts() -> list[str]:
    spec = importlib.util.spec_from_file_location("word_split_bench", BENCH)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    texts = [text for source in bench.english_texts().values() for text in source]
    return texts + bench.windows(texts, 30)


def test_same_decisions_as_datatrove_on_the_corpus():
    stock, fast = GopherRepetitionFilter(language=FAST_ENGLISH), FastGopherRepetitionFilter(language=FAST_ENGLISH)
    texts = corpus_texts()
    decisions = [(stock.filter(Document(text=t, id=str(i))), fast.filter(Document(text=t, id=str(i))))
                 for i, t in enumerate(texts)]
    assert all(a == b for a, b in decisions), [d for d in decisions if d[0] != d[1]][:5]
    reasons = {a if isinstance(a, bool) else a[1] for a, _ in decisions}
    assert len(reasons) >= 4  # both verdicts and several reasons are exercised


@pytest.mark.parametrize("text", [
    "",
    "word",
    "a b c d e f g h i j k l",
    "ab c a bc ab c a bc ab c a bc ab c a bc ab c",  # glued n-grams collide across word boundaries
    "the cat sat. " * 40,
    "one two three four five six seven eight nine ten " * 3 + "eleven twelve",
    "\n\n".join(["same paragraph here"] * 5),
])
def test_same_decisions_on_edge_cases(text):
    doc = lambda: Document(text=text, id="x")  # noqa: E731
    assert FastGopherRepetitionFilter(language=FAST_ENGLISH).filter(doc()) == \
        GopherRepetitionFilter(language=FAST_ENGLISH).filter(doc())


TRICKY_WORDS = [
    [],
    ["one"],
    ["ab", "c", "a", "bc"] * 12,  # glued n-grams collide across word boundaries
    ["a", "b"] * 40,  # overlapping repeats: the walk must skip n words after each
    ["x", "y", "z", "x", "y", "z", "q"] * 9 + ["x"],
    ["", "", "a", "", "a", ""] * 5,  # empty words
    ["two words", "two", "words", "two words"] * 6,  # a word holding a space
    ["wörld", "🙂", "\ud800", "wörld", "🙂", "\ud800"] * 4,  # non-BMP and a lone surrogate
    ["the", "cat", "sat", "on", "the", "mat"] * 3 + ["and", "then", "the", "cat", "sat", "on", "the", "mat"],
]


@pytest.mark.parametrize("words", TRICKY_WORDS)
def test_gram_counts_equal_datatrove(words):
    grams = WordGrams(words)
    for n in (2, 3, 4):
        expected = find_top_duplicate(get_n_grams(words, n)) if len(words) >= n else None
        assert top_gram_chars(grams, n) == expected, n
    for n in range(5, 11):
        assert repeated_gram_chars(grams, n) == find_all_duplicate(words, n), n


def test_gram_counts_equal_datatrove_on_corpus_words():
    texts = corpus_texts()
    for text in texts[::7]:
        words = split_into_words(text, FAST_ENGLISH)  # the words the filter sees
        grams = WordGrams(words)
        assert [top_gram_chars(grams, n) for n in (2, 3, 4)] == \
            [find_top_duplicate(get_n_grams(words, n)) if len(words) >= n else None for n in (2, 3, 4)]
        assert [repeated_gram_chars(grams, n) for n in range(5, 11)] == \
            [find_all_duplicate(words, n) for n in range(5, 11)]


def test_hash_collisions_never_change_a_count(monkeypatch):
    # Force every glued n-gram onto one hash: the string check must notice and count exactly.
    monkeypatch.setattr(WordGrams, "glued_hashes", lambda self, n: np.zeros(len(self.words) - n + 1, dtype=np.uint64))
    for words in TRICKY_WORDS:
        grams = WordGrams(words)
        for n in range(5, 11):
            assert repeated_gram_chars(grams, n) == find_all_duplicate(words, n), (words[:6], n)
