"""Datatrove's stock heuristic filters with their published thresholds, splitting words fast.

Each factory returns the stock ``BaseFilter``, splitting words with ``FAST_ENGLISH`` unless
``words=SPACY_ENGLISH``; the caller wraps it in ``MarkingFilter`` so that what it rejects is
marked, not lost. The thresholds are datatrove's defaults, which are
the published ones: Gopher (Rae et al. 2021, appendix A, Table A1), C4 (Raffel et al. 2020,
section 2.2) and FineWeb's own filters (Penedo et al. 2024). Keyword overrides are passed
through, e.g. ``c4_quality(filter_no_terminal_punct=False)`` as FineWeb ran C4.

Offline: none of these four needs a download. On English they split words with a blank spaCy
pipeline (``spacy.blank("en")`` plus the rule-based sentencizer: no model) or with
``FAST_ENGLISH``; NLTK and its punkt data are never loaded. (``C4BadWordsFilter``, not made
here, fetches its word list on first use and so cannot run offline without a cached copy.)

C4 edits what it keeps: lines without terminal punctuation, with "javascript" or a policy
phrase, or with fewer than three words are removed from the text of a kept document.
"""

from __future__ import annotations

from datatrove.pipeline.filters import (
    C4QualityFilter,
    FineWebQualityFilter,
    GopherQualityFilter,
    GopherRepetitionFilter,
)
from datatrove.pipeline.filters.base_filter import BaseFilter
from datatrove.utils.typeshelper import Languages
from datatrove.utils.word_tokenizers import WordTokenizer

from glassworks.pipeline.filters.repetition import FastGopherRepetitionFilter
from glassworks.pipeline.filters.words import FAST_ENGLISH


SPACY_ENGLISH = Languages.english
"""``words=`` for datatrove's own English splitter (spaCy), the reference the fast one matches."""


def gopher_quality(words: WordTokenizer | str = FAST_ENGLISH, **overrides) -> GopherQualityFilter:
    """Word count 50-100k, mean word length 3-10, symbol/word <= 0.1, bullet and ellipsis lines,
    >= 80% alphabetic words, >= 2 of the stop words."""
    return GopherQualityFilter(language=words, **overrides)


def gopher_repetition(words: WordTokenizer | str = FAST_ENGLISH, **overrides) -> GopherRepetitionFilter:
    """Duplicate lines and paragraphs, top 2-4-gram and duplicate 5-10-gram character shares.

    With the fast splitter the n-gram checks are the sliced ones of ``repetition`` (same
    decisions); with ``SPACY_ENGLISH`` it is datatrove's filter unchanged, the stock reference."""
    if words is SPACY_ENGLISH:
        return GopherRepetitionFilter(language=words, **overrides)
    return FastGopherRepetitionFilter(language=words, **overrides)


def c4_quality(words: WordTokenizer | str = FAST_ENGLISH, **overrides) -> C4QualityFilter:
    """At least 5 sentences in kept lines; no "lorem ipsum", no curly bracket."""
    return C4QualityFilter(language=words, **overrides)


def fineweb_quality(words: WordTokenizer | str = FAST_ENGLISH, **overrides) -> FineWebQualityFilter:
    """>= 12% lines with terminal punctuation, <= 67% short lines, <= 1% duplicated line
    characters, <= 0.3 newlines per word."""
    return FineWebQualityFilter(language=words, **overrides)


def stock_filters(words: WordTokenizer | str = FAST_ENGLISH) -> dict[str, BaseFilter]:
    """The four, by the label ``MarkingFilter`` gives their reasons, in FineWeb's order."""
    return {
        "gopher_repetition": gopher_repetition(words),
        "gopher_quality": gopher_quality(words),
        "c4_quality": c4_quality(words),
        "fineweb_quality": fineweb_quality(words),
    }
