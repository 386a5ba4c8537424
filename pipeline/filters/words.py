"""A regex English word splitter that makes the stock filters decide as spaCy makes them decide.

Stock datatrove splits English with a blank spaCy pipeline, which dominates the run time
of the Gopher, C4 and FineWeb filters. spaCy's English tokenizer is a small algorithm over
whitespace-separated chunks: peel prefixes and suffixes, keep URLs and special cases
(contractions, abbreviations) whole, split the rest on infixes. ``FastEnglishTokenizer``
runs the same algorithm with ``regex`` patterns written after spaCy's English rules, and
memoises each distinct chunk, so a word is split once per process rather than once per
occurrence. Sentences follow spaCy's rule-based ``sentencizer``, which C4 counts.

Known, deliberate differences (rare, measured by ``bench/word_split.py``): emoticon and
apostrophe-less slang special cases ("gonna", "dont", ":)") are not applied, and spaCy's
separate whitespace tokens are not emitted (datatrove strips them from words anyway).

Hook: datatrove filters take ``language=`` and resolve it with ``load_word_tokenizer``,
which returns a ``WordTokenizer`` instance unchanged, so ``GopherQualityFilter(language=
FAST_ENGLISH)`` uses this splitter with no subclass and no patched global.
"""

from __future__ import annotations

import unicodedata
from itertools import accumulate

import regex
from datatrove.utils.text import TERMINAL_PUNCTUATION
from datatrove.utils.word_tokenizers import WordTokenizer

_QUOTES = "'\"”“`‘´’‚,„»«「」『』（）〔〕【】《》〈〉⟦⟧"
_PUNCT = "…,:;!?¿؟¡()[]{}<>_#*&。？！，、；：～·।،۔؛٪"
_CURRENCY = r"US\$|C\$|A\$|\p{Sc}"
_UNITS = (
    "km|km²|km³|m|m²|m³|dm|dm²|dm³|cm|cm²|cm³|mm|mm²|mm³|ha|µm|nm|yd|in|ft|kg|g|mg|µg|t|lb|oz|"
    "m/s|km/h|kmh|mph|hPa|Pa|mbar|mb|MB|kb|KB|gb|GB|tb|TB|T|G|M|K|%"
)
_HYPHENS = "---|--|——|-|–|—|~"
_Q = regex.escape(_QUOTES)
_P = regex.escape(_PUNCT)

# One prefix at the start of a chunk: an opening mark, a currency sign, a symbol.
_PREFIX = regex.compile(
    rf"(?:{_CURRENCY}|\.\.+|\+(?![0-9])|[§%=—–{_P}{_Q}]|\p{{So}})"
)
# Suffixes are searched leftmost-first, each anchored at the chunk's end (spaCy's semantics).
_SUFFIX = regex.compile(
    rf"(?:\.\.+|['’][sS]|[{_P}{_Q}—–]|\p{{So}}"
    rf"|(?<=[0-9])\+|(?<=°[FfCcKk])\."
    rf"|(?<=[0-9])(?:{_CURRENCY})|(?<=[0-9])(?:{_UNITS})"
    rf"|(?<=[0-9\p{{Ll}}%²\-+|{_P}{_Q}(?:)])\.|(?<=\p{{Lu}}\p{{Lu}})\.)$"
)
_INFIX = regex.compile(
    rf"\.\.+|…|\p{{So}}"
    rf"|(?<=[0-9])[+\-*^](?=[0-9-])"
    rf"|(?<=[\p{{Ll}}{_Q}])\.(?=[\p{{Lu}}{_Q}])"
    rf"|(?<=\p{{L}}),(?=\p{{L}})"
    rf"|(?<=[\p{{L}}0-9])(?:{_HYPHENS})(?=\p{{L}})"
    rf"|(?<=[\p{{L}}0-9])[:<>=/](?=\p{{L}})"
)
# A URL or e-mail address stays one token: domain labels and a lowercase top-level domain.
_HOST_CHAR = "A-Za-z0-9\u00a1-\uffff"
_URL = regex.compile(
    rf"(?:[\w+\-.]{{2,}}://)?(?:\S+(?::\S*)?@)?"
    rf"(?:(?:\d{{1,3}}\.){{3}}\d{{1,3}}"
    rf"|(?:(?:[{_HOST_CHAR}][{_HOST_CHAR}_-]{{0,62}})?[{_HOST_CHAR}]\.)+[\p{{Ll}}\u00a1-\uffff]{{2,63}})"
    rf"(?::\d{{2,5}})?(?:[/?#]\S*)?"
)
_SIMPLE = regex.compile(r"\p{L}+|[0-9]+")  # letters only or digits only: one token unless a special


def _special_cases() -> dict[str, tuple[str, ...]]:
    """Chunks spaCy's English exceptions keep whole or split by hand (contractions, abbreviations)."""
    specials: dict[str, tuple[str, ...]] = {}

    def add(pieces: tuple[str, ...]) -> None:
        for apostrophe in "'’":
            for case in (str, str.capitalize):
                first, *rest = (p.replace("'", apostrophe) for p in pieces)
                variant = (case(first), *rest)
                specials["".join(variant)] = variant

    negated = "ai are ca could dare did does do had has have is may might must need ought sha should was were wo would"
    for stem in negated.split():
        add((stem, "n't"))
        add((stem, "n't", "'ve"))
    hosts = "i you he she it we they that there these those this what when where who why how"
    for host in hosts.split():
        for clitic in ("'d", "'ll", "'re", "'ve", "'s", "'m"):
            add((host, clitic))
        for clitic in ("'d", "'ll"):
            add((host, clitic, "'ve"))
    for modal in "could might must should would not".split():
        add((modal, "'ve"))
    for word in "'em 'cause 'cos 'coz 'cuz 'bout 'nuff ma'am o'clock ol' doin' goin' havin' lovin' nothin' somethin'".split():
        add((word,))
    add(("y'", "all"))
    add(("c'm", "on"))
    add(("can", "not"))
    abbreviations = (
        "a.m. p.m. e.g. i.e. E.g. E.G. I.e. I.E. vs. v.s. Ph.D. Mr. Mrs. Ms. Dr. Prof. Rev. Gen. Gov. Sen. Rep. "
        "Adm. St. Mt. Jr. Bros. Messrs. Co. co. Corp. Inc. Ltd. Jan. Feb. Mar. Apr. Jun. Jul. Aug. Sep. Sept. "
        "Oct. Nov. Dec. Ak. Ala. Ariz. Ark. Calif. Colo. Conn. Del. Fla. Ga. Ia. Id. Ill. Ind. Kan. Kans. Ky. "
        "La. Md. Mass. Mich. Minn. Miss. Mo. Mont. Neb. Nebr. Nev. Okla. Ore. Pa. Tenn. Va. Wash. Wis. "
        "D.C. N.C. N.D. N.H. N.J. N.M. N.Y. S.C. ä. ö. ü. °C. °F. °K. °c. °f. °k. and/or C++ '' "
    )
    letters = " ".join(f"{c}." for c in "abcdefghijklmnopqrstuvwxyz")
    for word in (abbreviations + letters).split():
        specials[word] = (word,)
    for hour in range(1, 13):
        for suffix in ("am", "pm", "a.m.", "p.m."):
            specials[f"{hour}{suffix}"] = (str(hour), suffix)
    return specials


def _is_punct(token: str) -> bool:
    return all(unicodedata.category(c).startswith("P") for c in token)


class FastEnglishTokenizer(WordTokenizer):
    """spaCy's English tokenization rules in ``regex``, memoised per whitespace chunk."""

    max_cache = 500_000
    """Distinct chunks remembered before the memo is cleared (bounds memory on odd input)."""

    def __init__(self):
        super().__init__("en")
        self._specials = _special_cases()
        self._cache: dict[str, tuple[str, ...]] = {}

    def __reduce__(self):  # executors pickle steps; the memo is rebuilt in each worker
        return (type(self), ())

    def word_tokenize(self, text: str) -> list[str]:
        words: list[str] = []
        extend, cached = words.extend, self._cache.get
        for chunk in text.split():
            pieces = cached(chunk)
            extend(pieces if pieces is not None else self._split_chunk(chunk))
        return words

    def sent_tokenize(self, text: str) -> list[str]:
        return [s for a, b in self.span_tokenize(text) if (s := text[a:b].strip())]

    def span_tokenize(self, text: str) -> list[tuple[int, int]]:
        """Sentence spans by spaCy's sentencizer: a sentence starts at the first token after a
        terminal mark (".", "!", "?" ...) that is neither punctuation nor another terminal mark."""
        spans: list[tuple[int, int]] = []
        start = end = None
        seen_terminal = False
        for chunk in regex.finditer(r"\S+", text):
            pieces = self._cache.get(chunk.group()) or self._split_chunk(chunk.group())
            for token, offset in zip(pieces, accumulate((len(p) for p in pieces), initial=chunk.start())):
                terminal = token in TERMINAL_PUNCTUATION
                if start is None:
                    start = offset
                elif seen_terminal and not terminal and not _is_punct(token):
                    spans.append((start, end))
                    start, seen_terminal = offset, False
                seen_terminal = seen_terminal or terminal
                end = offset + len(token)
        if start is not None:
            spans.append((start, end))
        return spans

    def _split_chunk(self, chunk: str) -> tuple[str, ...]:
        if _SIMPLE.fullmatch(chunk) and chunk not in self._specials:
            pieces: tuple[str, ...] = (chunk,)
        else:
            prefixes, middle, suffixes = self._peel(chunk)
            pieces = (*prefixes, *self._split_middle(middle), *reversed(suffixes))
        if len(self._cache) >= self.max_cache:
            self._cache.clear()
        self._cache[chunk] = pieces
        return pieces

    def _peel(self, rest: str) -> tuple[list[str], str, list[str]]:
        """Strip prefixes and suffixes until a special case or nothing more comes off."""
        prefixes: list[str] = []
        suffixes: list[str] = []
        specials = self._specials
        last = -1
        while rest and len(rest) != last and rest not in specials:
            last = len(rest)
            pre = _PREFIX.match(rest)
            pre_len = pre.end() if pre else 0
            if pre_len and rest[pre_len:] in specials:
                prefixes.append(rest[:pre_len])
                return prefixes, rest[pre_len:], suffixes
            suf = _SUFFIX.search(rest[pre_len:])
            suf_len = len(rest) - pre_len - suf.start() if suf else 0
            if suf_len and rest[:-suf_len] in specials:
                suffixes.append(rest[-suf_len:])
                return prefixes, rest[:-suf_len], suffixes
            if pre_len and suf_len and pre_len + suf_len <= len(rest):
                prefixes.append(rest[:pre_len])
                suffixes.append(rest[-suf_len:])
                rest = rest[pre_len:-suf_len]
            elif pre_len:
                prefixes.append(rest[:pre_len])
                rest = rest[pre_len:]
            elif suf_len:
                suffixes.append(rest[-suf_len:])
                rest = rest[:-suf_len]
        return prefixes, rest, suffixes

    def _split_middle(self, middle: str) -> tuple[str, ...]:
        if not middle:
            return ()
        if middle in self._specials:
            return self._specials[middle]
        if _URL.fullmatch(middle):
            return (middle,)
        pieces: list[str] = []
        start = 0
        for infix in _INFIX.finditer(middle):
            if infix.start() == 0:
                continue
            if infix.start() != start:
                pieces.append(middle[start : infix.start()])
            if infix.end() != infix.start():
                pieces.append(infix.group())
            start = infix.end()
        if middle[start:]:
            pieces.append(middle[start:])
        return tuple(pieces)


FAST_ENGLISH = FastEnglishTokenizer()
"""The shared instance to pass as ``language=`` to datatrove's English filters."""
