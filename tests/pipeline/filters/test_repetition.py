"""The sliced Gopher repetition filter decides exactly as datatrove's on real and tricky text."""

import importlib.util
from pathlib import Path

import pytest
from datatrove.data import Document
from datatrove.pipeline.filters import GopherRepetitionFilter

from glassworks.pipeline.filters.repetition import FastGopherRepetitionFilter, JoinedWords
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


def test_joined_words_slices_equal_joins():
    words = ["Hello", ",", "wörld", "", "x"]
    for sep in (" ", ""):
        joined = JoinedWords(words, sep)
        for n in range(1, 4):
            assert [joined.gram(i, n) for i in range(len(words) - n + 1)] == \
                [sep.join(words[i:i + n]) for i in range(len(words) - n + 1)]
