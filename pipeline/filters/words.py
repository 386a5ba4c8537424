"""A regex English word splitter that makes the stock filters decide as spaCy makes them decide.

Stock datatrove splits English with a blank spaCy pipeline, which dominates the run time of
the Gopher, C4 and FineWeb filters. spaCy's English tokenizer is a small algorithm over
whitespace-separated chunks: peel prefixes and suffixes, keep URLs and special cases whole,
split the rest on infixes, then merge token runs that spell a special case. This class runs
the same algorithm over the rules in ``word_rules`` and memoises each distinct chunk, so a
word is split once per process rather than once per occurrence. Sentences follow spaCy's
rule-based ``sentencizer``, which C4 counts.

Hook: datatrove's filters take ``language=`` and resolve it with ``load_word_tokenizer``,
which hands a ``WordTokenizer`` instance back unchanged, so ``GopherQualityFilter(language=
FAST_ENGLISH)`` uses this splitter with no subclass and no patched global.

On the embedded corpus (41,702 distinct chunks, 317 documents) words and sentence spans are
identical to spaCy's; ``bench/word_split.py`` measures the filter decisions. Differences found
only by fuzzing: spaCy's special-case matcher runs over the whole text, so a special case
spelled across a space (": )") can block a merge inside the next chunk; and where a URL has
"@" both before the host and in its path spaCy tries each "@", this splitter only the last
(which keeps a long run of "a@a@a@..." linear). spaCy is quadratic on long runs of marks
("====...": minutes per megabyte); this splitter is linear there too.
"""

from __future__ import annotations

import re
import unicodedata

from datatrove.utils.word_tokenizers import WordTokenizer

from glassworks.pipeline.filters.word_rules import INFIX, PREFIX, SENTENCE_ENDS, SUFFIX, URL, special_cases

_CHUNK = re.compile(r"\S+")  # re, not regex: its \s is str.isspace, as spaCy splits
_WORD_END = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
_UNIT_OR_S = re.compile(r"[0-9]|['’][sS]$")
_MAYBE_INFIX = re.compile(r"[.+\-*^,~:<>=/]|[^\x00-\x7f]")  # cheap test before the infix patterns


def _suffix_len(chunk: str, start: int, end: int) -> int:
    """Length of the suffix spaCy would peel from ``chunk[start:end]``. spaCy searches leftmost
    first, but every suffix pattern is at most four characters long except a run of dots, so
    only the tail is searched (its look-behinds still see the characters before it)."""
    if end - start <= 4:
        found = SUFFIX.search(chunk[start:end])
        return end - start - found.start() if found else 0
    if chunk.endswith("..", start, end):
        dots = end
        while chunk[dots - 1] == "." and dots > start:
            dots -= 1
        return end - dots
    if chunk[end - 1] in _WORD_END and not _UNIT_OR_S.search(chunk, end - 5, end):
        return 0  # ends in a letter or digit, with no digit before a unit and no "'s"
    found = SUFFIX.search(chunk, end - 4, end)
    return end - found.start() if found else 0


def _is_punct(token: str) -> bool:
    return all(unicodedata.category(c).startswith("P") for c in token)


class FastEnglishTokenizer(WordTokenizer):
    """spaCy's English tokenization rules in ``regex``, memoised per whitespace chunk."""

    max_cache = 500_000
    """Distinct chunks remembered before the memo is cleared (bounds memory on odd input)."""

    def __init__(self):
        super().__init__("en")
        self._specials = special_cases()
        # spaCy re-merges token runs that spell a special case ("'", "d" -> "'d"; ")", ":" -> "):")
        self._longest_special = max(map(len, self._specials))
        self._runs = {self._split(key, with_specials=False): key for key in self._specials
                      if PREFIX.match(key) or SUFFIX.search(key) or INFIX.search(key)}
        self._longest_run = max(map(len, self._runs))
        self._run_heads = {run[0] for run in self._runs}
        self._cache: dict[str, tuple[str, ...]] = {}
        self._marks: dict[str, tuple] = {}
        self._last_text: str | None = None  # the words of the last text, for the next filter
        self._last_words: tuple[str, ...] = ()

    def forget(self) -> None:
        """Empty the memo, so a benchmark run starts cold."""
        self._cache.clear()
        self._marks.clear()
        self._last_text, self._last_words = None, ()

    def __reduce__(self):  # executors pickle steps: each worker rebuilds the rules, not the memo
        return (type(self), ())

    def __repr__(self) -> str:  # as datatrove's executor.json records a step's language
        return "FastEnglishTokenizer()"

    def word_tokenize(self, text: str) -> list[str]:
        if text is self._last_text:  # the next filter of a chain asks about the same document
            return list(self._last_words)
        words: list[str] = []
        extend, cached = words.extend, self._cache.get
        for chunk in text.split():
            pieces = cached(chunk)
            extend(pieces if pieces is not None else self._tokenize_chunk(chunk))
        self._last_text, self._last_words = text, tuple(words)
        return words

    def sent_tokenize(self, text: str) -> list[str]:
        return [s for a, b in self.span_tokenize(text) if (s := text[a:b].strip())]

    def span_tokenize(self, text: str) -> list[tuple[int, int]]:
        """spaCy's sentencizer: a sentence starts at the first token after a terminal mark
        (".", "!", "?" ...) that is neither punctuation nor another terminal mark. A run of
        whitespace other than one space after a word is a token there too, never punctuation."""
        spans: list[tuple[int, int]] = []
        start = None
        end = 0
        seen_terminal = False
        marks = self._marks
        for found in _CHUNK.finditer(text):
            offset = found.start()
            gap = offset - end
            if gap and (gap > 1 or text[end] != " " or not end):  # a whitespace token
                if start is None:
                    start = end + (text[end] == " " and end > 0)
                elif seen_terminal:
                    spans.append((start, end))
                    start, seen_terminal = end + (text[end] == " "), False
            chunk = found.group()
            mark = marks.get(chunk) or self._sentence_marks(chunk)
            if start is None:
                start = offset
            for brk in mark[2 * seen_terminal]:
                spans.append((start, offset + brk if brk else end))
                start = offset + brk
            seen_terminal = mark[2 * seen_terminal + 1]
            end = found.end()
        if end < len(text) and (len(text) - end > 1 or text[end] != " " or not end):  # trailing whitespace
            if start is None:
                start = end
            elif seen_terminal:
                spans.append((start, end))
                start = end + (text[end] == " ")
            end = len(text)
        if start is not None:
            spans.append((start, end))
        return spans

    def _sentence_marks(self, chunk: str) -> tuple:
        """Where sentences start inside a chunk, and whether it ends after a terminal mark, for
        either state it is entered in: (starts, terminal) after a word, then after a terminal."""
        pieces = self._cache.get(chunk) or self._tokenize_chunk(chunk)
        mark: list = []
        for seen_terminal in (False, True):
            starts = []
            offset = 0
            for token in pieces:
                terminal = token in SENTENCE_ENDS
                if seen_terminal and not terminal and not _is_punct(token):
                    starts.append(offset)
                    seen_terminal = False
                seen_terminal = seen_terminal or terminal
                offset += len(token)
            mark += [tuple(starts), seen_terminal]
        if len(self._marks) >= self.max_cache:
            self._marks.clear()
        self._marks[chunk] = mark = tuple(mark)
        return mark

    def _tokenize_chunk(self, chunk: str) -> tuple[str, ...]:
        if (chunk.isalpha() or (chunk.isdigit() and chunk.isascii())) and chunk not in self._specials:
            pieces: tuple[str, ...] = (chunk,)
        else:
            pieces = self._merge_runs(self._split(chunk))
        if len(self._cache) >= self.max_cache:
            self._cache.clear()
        self._cache[chunk] = pieces
        return pieces

    def _split(self, chunk: str, with_specials: bool = True) -> tuple[str, ...]:
        """Peel prefixes and suffixes until a special case or nothing more comes off, then
        split what is left on infixes unless it is a special case or a URL. Works on indices,
        so a long run of marks ("=====...") costs linear time, not quadratic as in spaCy."""
        specials = self._specials if with_specials else {}
        longest = self._longest_special if with_specials else 0

        def special(lo: int, hi: int) -> bool:
            return 0 < hi - lo <= longest and chunk[lo:hi] in specials

        if special(0, len(chunk)):
            return specials[chunk]
        prefixes: list[str] = []
        suffixes: list[str] = []
        lo, hi, last = 0, len(chunk), -1
        while lo < hi and hi - lo != last and not special(lo, hi):
            last = hi - lo
            found = PREFIX.match(chunk, lo, hi)
            pre = found.end() - lo if found else 0
            if pre and special(lo + pre, hi):
                prefixes.append(chunk[lo : lo + pre])
                lo += pre
                break
            suf = _suffix_len(chunk, lo + pre, hi)
            if suf and special(lo, hi - suf):
                suffixes.append(chunk[hi - suf : hi])
                hi -= suf
                break
            if pre:
                prefixes.append(chunk[lo : lo + pre])
                lo += pre
            if suf:  # found in what the prefix left, so both always fit
                suffixes.append(chunk[hi - suf : hi])
                hi -= suf
        rest = chunk[lo:hi]
        if not rest:
            middle: tuple[str, ...] = ()
        elif special(lo, hi):
            middle = specials[rest]
        elif "." in rest and URL.fullmatch(rest):
            middle = (rest,)
        else:
            middle = self._split_infixes(rest)
        return (*prefixes, *middle, *reversed(suffixes))

    @staticmethod
    def _split_infixes(rest: str) -> tuple[str, ...]:
        if not _MAYBE_INFIX.search(rest):
            return (rest,)
        pieces: list[str] = []
        start = 0
        for infix in INFIX.finditer(rest):
            if infix.start() == 0:
                continue
            if infix.start() != start:
                pieces.append(rest[start : infix.start()])
            if infix.end() != infix.start():
                pieces.append(infix.group())
            start = infix.end()
        if rest[start:]:
            pieces.append(rest[start:])
        return tuple(pieces)

    def _merge_runs(self, pieces: tuple[str, ...]) -> tuple[str, ...]:
        """Replace runs of tokens that spell a special case, longest then leftmost first."""
        if len(pieces) < 2 or not self._run_heads.intersection(pieces):
            return pieces
        found = []
        for i in range(len(pieces)):
            if pieces[i] not in self._run_heads:
                continue
            for n in range(min(self._longest_run, len(pieces) - i), 0, -1):
                key = self._runs.get(pieces[i : i + n])
                if key is not None:
                    found.append((i, i + n, key))
        if not found:
            return pieces
        taken: set[int] = set()
        chosen = []
        for start, end, key in sorted(found, key=lambda m: (m[0] - m[1], m[0])):
            if start not in taken and end - 1 not in taken:
                chosen.append((start, end, key))
            taken.update(range(start, end))
        merged: list[str] = []
        i = 0
        for start, end, key in sorted(chosen):
            merged += pieces[i:start]
            merged += self._specials[key]
            i = end
        return (*merged, *pieces[i:])


FAST_ENGLISH = FastEnglishTokenizer()
"""The shared instance to pass as ``language=`` to datatrove's English filters."""
