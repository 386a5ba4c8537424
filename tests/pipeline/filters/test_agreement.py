"""The fast splitter makes the stock filters decide as spaCy does on the embedded English texts.

Runs the decision half of ``bench/word_split.py`` (its timings are not asserted) on every
English document of the corpus: the reST docs, and the WARC pages when resiliparse is
installed to turn them into text.
"""

import importlib.util
from pathlib import Path

import pytest

pytest.importorskip("spacy")
BENCH = Path(__file__).resolve().parents[3] / "bench" / "word_split.py"


def load_bench():
    spec = importlib.util.spec_from_file_location("word_split_bench", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_decisions_agree_with_spacy_on_the_corpus():
    bench = load_bench()
    texts = [text for source in bench.english_texts().values() for text in source]
    assert len(texts) >= 48
    result = bench.agreement(texts)
    assert result["agree"] >= 0.99, result
    assert min(result["per_filter"].values()) >= 0.99, result
    assert 0 < sum(result["kept_spacy"].values()) < 4 * len(texts)  # the corpus exercises both verdicts
