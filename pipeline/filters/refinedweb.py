"""RefinedWeb's line-wise corrections, as DCLM's baseline applies them.

RefinedWeb (Penedo et al. 2023, appendix G.2) removes lines that are mostly upper case, only
digits, social-media counters or one word, cuts "sign-in"/"Read more..."/"items in cart"
boilerplate from short lines, and discards a page when more than 5% of its words went. DCLM
(Li et al. 2024) reproduced this for DCLM-Baseline; the rules here follow its configuration
``baselines/baselines_configs/dclm_baseline_refinedweb.yaml`` and their definitions in
``baselines/mappers/modifiers.py``, ``filters/content_filters.py`` and ``core_utils.py``
(github.com/mlfoundations/dclm), in the same order, each stage splitting on "\\n" and most
stripping the page after it, as there. Where DCLM differs from the paper, DCLM is followed:
"Read more..." is an unescaped pattern (the dots match any character), and words are
fastText's: runs between ASCII whitespace, counted when they begin with a letter or digit.

A kept page carries the corrected text; a page over the limit is marked dropped
(``refinedweb_line_removal``; ``refinedweb_no_words`` when it had no word to begin with, as
DCLM drops it) with its text as it came, so nothing is lost. All carry
``metadata["refinedweb"] = {"lines_removed": n, "words_removed_fraction": f}``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from datatrove.data import DocumentsPipeline
from datatrove.pipeline.base import PipelineStep

from glassworks.pipeline.documents import is_settled, mark_dropped

_COUNTER = re.compile(
    r"^\W*\d[\d,.]*[kmb]?\s+"
    r"(?:likes|shares|comments|retweets|reposts|quotes|bookmarks|upvotes|downvotes|downloads|views|followers)\W*$"
)
_FASTTEXT_SPACE = re.compile(r"[ \n\r\t\v\f\x00]+")
_ITEMS_IN_CART = re.compile(r"\s?items in cart", re.I)
_READ_MORE = re.compile(r"\s?read more...$", re.I)  # unescaped as in DCLM: any three characters
_SIGN_IN = re.compile(r"^sign-in\s?", re.I)


@dataclass(frozen=True)
class RefinedWebConfig:
    """Thresholds of DCLM's RefinedWeb line modifiers (its defaults for DCLM-Baseline)."""

    max_uppercase_ratio: float = 0.5
    """A line with a larger share of upper-case characters is removed."""
    max_numeric_ratio: float = 0.999999
    """A line with a larger share of digits is removed: only digits, as RefinedWeb says."""
    min_words_per_line: int = 2
    """A line with fewer whitespace-separated words is removed (blank lines stay)."""
    max_boilerplate_line_words: int = 10
    """Boilerplate phrases are cut only from lines with at most this many words."""
    max_removed_words_fraction: float = 0.05
    """A page that lost a larger share of its words is dropped."""


def count_words(text: str) -> int:
    """DCLM's word count: fastText tokens (split on ASCII whitespace) that start alphanumeric."""
    return sum(1 for word in _FASTTEXT_SPACE.split(text) if word[:1].isalnum())


def _over(line: str, is_counted: Callable[[str], bool], limit: float) -> bool:
    return bool(line) and sum(map(is_counted, line)) / len(line) > limit


def _cut(pattern: re.Pattern, line: str, config: RefinedWebConfig) -> str | None:
    """DCLM's boilerplate rule: cut the phrase from a short line; remove the line if that empties it."""
    if len(line.split()) > config.max_boilerplate_line_words:
        return line
    cut = pattern.sub("", line)
    return None if line and not cut.strip() else cut


# (name, the line as it stays or None to remove it, strip the page afterwards), in DCLM's order.
_RULES: tuple[tuple[str, Callable[[str, RefinedWebConfig], str | None], bool], ...] = (
    ("uppercase", lambda line, c: None if _over(line, str.isupper, c.max_uppercase_ratio) else line, True),
    ("numeric", lambda line, c: None if _over(line, str.isdigit, c.max_numeric_ratio) else line, True),
    ("counter", lambda line, c: None if _COUNTER.search(line.lower()) else line, True),
    ("short", lambda line, c: line if not line or len(line.split()) >= c.min_words_per_line else None, False),
    ("items_in_cart", lambda line, c: _cut(_ITEMS_IN_CART, line, c), True),
    ("read_more", lambda line, c: _cut(_READ_MORE, line, c), True),
    ("sign_in", lambda line, c: _cut(_SIGN_IN, line, c), True),
)


class RefinedWebLines(PipelineStep):
    """Remove RefinedWeb's junk lines; drop the page when they held over 5% of its words."""

    name = "🧹 RefinedWeb lines (DCLM)"
    type = "✂️ - FORMAT"

    def __init__(self, config: RefinedWebConfig = RefinedWebConfig()):
        super().__init__()
        self.config = config

    def correct(self, text: str) -> tuple[str, dict[str, int]]:
        """The corrected text and how many lines each rule removed."""
        removed = {}
        for name, rule, strip in _RULES:
            lines = text.split("\n")
            kept = [out for line in lines if (out := rule(line, self.config)) is not None]
            removed[name] = len(lines) - len(kept)
            text = "\n".join(kept)
            if strip:
                text = text.strip()
        return text, removed

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        for doc in data:
            if is_settled(doc):
                yield doc
                continue
            with self.track_time():
                corrected, removed = self.correct(doc.text)
                before = count_words(doc.text)
                fraction = (before - count_words(corrected)) / before if before else 1.0
                lines_removed = sum(removed.values())
                doc.metadata["refinedweb"] = {"lines_removed": lines_removed, "words_removed_fraction": fraction}
                for name, n in removed.items():
                    self.stat_update(f"lines_removed/{name}", value=n)
                if not before:  # DCLM drops a page with no words before asking what was removed
                    self.stat_update("dropped/refinedweb_no_words")
                    mark_dropped(doc, "refinedweb_no_words")
                elif fraction > self.config.max_removed_words_fraction:
                    self.stat_update("dropped/refinedweb_line_removal")
                    mark_dropped(doc, "refinedweb_line_removal")
                else:
                    self.stat_update("modified" if corrected != doc.text else "unchanged")
                    doc.text = corrected
            yield doc
