"""The fast English splitter on tricky text: spaCy's words and sentences, at any size."""

import pickle

import pytest
from datatrove.data import Document
from datatrove.pipeline.filters import GopherQualityFilter
from datatrove.utils.text import split_into_sentences, split_into_words
from datatrove.utils.word_tokenizers import load_word_tokenizer

from glassworks.pipeline.filters.words import FAST_ENGLISH, FastEnglishTokenizer

TRICKY = {
    "contractions": (
        "Don't worry, I'm sure they'll say it's fine; we can't and won't.",
        ["Do", "n't", "worry", ",", "I", "'m", "sure", "they", "'ll", "say", "it", "'s", "fine", ";",
         "we", "ca", "n't", "and", "wo", "n't", "."],
    ),
    "urls": (
        "See https://docs.python.org/3/library/os.html (or www.python.org).",
        ["See", "https://docs.python.org/3/library/os.html", "(", "or", "www.python.org", ")", "."],
    ),
    "numbers": (
        "Pi is 3.14159, it costs $5.99, about 10% of 1,000,000 or 5km.",
        ["Pi", "is", "3.14159", ",", "it", "costs", "$", "5.99", ",", "about", "10", "%", "of",
         "1,000,000", "or", "5", "km", "."],
    ),
    "hyphens": (
        "A well-known state-of-the-art model, pages 20-30.",
        ["A", "well", "-", "known", "state", "-", "of", "-", "the", "-", "art", "model", ",",
         "pages", "20", "-", "30", "."],
    ),
    "unicode_punctuation": (
        "“Smart quotes” — and dashes – plus… ellipses ¿no? ¡sí!",
        ["“", "Smart", "quotes", "”", "—", "and", "dashes", "–", "plus", "…", "ellipses", "¿", "no",
         "?", "¡", "sí", "!"],
    ),
    "abbreviations": (
        "Mr. Smith, e.g. the U.S. team, met at 5pm.",
        ["Mr.", "Smith", ",", "e.g.", "the", "U.S.", "team", ",", "met", "at", "5", "pm", "."],
    ),
    "email_and_emoticon": ("Mail me at someone@example.org :)", ["Mail", "me", "at", "someone@example.org", ":)"]),
    "code": ("def f(x): return x[:1] ", ["def", "f(x", "):", "return", "x[:1", "]"]),
    "empty": ("", []),
    "whitespace": ("   \n\t ", []),
}


@pytest.mark.parametrize("name", TRICKY)
def test_tricky_text(name):
    text, words = TRICKY[name]
    assert FastEnglishTokenizer().word_tokenize(text) == words


@pytest.mark.parametrize("name", TRICKY)
def test_tricky_text_as_spacy_splits_it(name):
    pytest.importorskip("spacy")
    text, _ = TRICKY[name]
    spacy_words = load_word_tokenizer("en")
    assert FAST_ENGLISH.word_tokenize(text) == spacy_words.word_tokenize(text)
    assert FAST_ENGLISH.span_tokenize(text) == spacy_words.span_tokenize(text)


def test_sentences_follow_the_sentencizer():
    text = "What?! Really... yes.\nNew line here.  Mr. Smith came, e.g. today. The end"
    assert FAST_ENGLISH.sent_tokenize(text) == [
        "What?!", "Really... yes.", "New line here.", "Mr. Smith came, e.g. today.", "The end"]
    assert FAST_ENGLISH.span_tokenize("") == []
    assert FAST_ENGLISH.span_tokenize(" \n ") == [(0, 3)]  # spaCy: one whitespace "sentence"


def test_a_five_megabyte_document():
    paragraph = "The quick brown fox, aged 3.5 years, didn't jump; see https://example.org/fox. Why?\n"
    words = FastEnglishTokenizer().word_tokenize(paragraph)
    repeats = 5_000_000 // len(paragraph) + 1
    text = paragraph * repeats
    assert len(text) > 5_000_000
    splitter = FastEnglishTokenizer()
    assert splitter.word_tokenize(text) == words * repeats
    assert len(splitter.sent_tokenize(text)) == 2 * repeats


def test_long_runs_of_marks_take_linear_time():
    """spaCy peels "=" one at a time with a copy each time: minutes per megabyte."""
    assert FastEnglishTokenizer().word_tokenize("=" * 200_000) == ["="] * 200_000
    assert len(FastEnglishTokenizer().word_tokenize("a@" * 100_000 + ".x")) == 1
    assert len(FastEnglishTokenizer().word_tokenize("a." * 100_000)) == 2


def test_datatrove_filters_take_it_as_their_language():
    """The hook: load_word_tokenizer hands a WordTokenizer back, so no global is patched."""
    assert load_word_tokenizer(FAST_ENGLISH) is FAST_ENGLISH
    text = "It's a test of the hook. Does it work? It does."
    assert split_into_words(text, FAST_ENGLISH) == FAST_ENGLISH.word_tokenize(text)
    assert len(split_into_sentences(text, FAST_ENGLISH)) == 3
    assert GopherQualityFilter(language=FAST_ENGLISH).filter(Document(text=text, id="t")) == (False, "gopher_short_doc")


def test_pickles_for_executors_without_its_memo():
    splitter = FastEnglishTokenizer()
    splitter.word_tokenize("warm the memo, please.")
    copy = pickle.loads(pickle.dumps(splitter))
    assert copy._cache == {} and copy.word_tokenize("Hello, world!") == ["Hello", ",", "world", "!"]


def test_the_next_filter_gets_the_same_words_and_cannot_spoil_them():
    from glassworks.pipeline.filters.words import FastEnglishTokenizer

    splitter = FastEnglishTokenizer()
    text = "Don't split U.S. words twice, e.g. here: 3.14 and state-of-the-art."
    first = splitter.word_tokenize(text)
    first.append("mutated")
    again = splitter.word_tokenize(text)
    assert again == splitter.word_tokenize(str(text + " ")[:-1])  # an equal but distinct string splits the same
    assert "mutated" not in again and again == first[:-1]
