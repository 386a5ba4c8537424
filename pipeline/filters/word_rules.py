"""The English splitting rules ``FastEnglishTokenizer`` applies, written after spaCy's.

spaCy's English tokenizer is data plus a small algorithm: prefix, suffix and infix
patterns, a URL pattern, and special cases (contractions, abbreviations, emoticons) that are
kept whole or split by hand. This module is that data in ``regex`` form. The classes are
Unicode properties where spaCy lists script ranges: its lower- and upper-case letters both
include the uncased scripts (``\\p{Lo}``: CJK, Arabic, Hebrew ... and the CJK symbol blocks),
its icons are ``\\p{So}``. They differ only on rare letters and Indic combining marks.
"""

from __future__ import annotations

import regex
from datatrove.utils.text import TERMINAL_PUNCTUATION

QUOTES = "'\"”“`‘´’‚,„»«「」『』（）〔〕【】《》〈〉⟦⟧"
PUNCT = "…,:;!?¿؟¡()[]{}<>_#*&。？！，、；：～·।،۔؛٪"
CURRENCY = r"US\$|C\$|A\$|\p{Sc}"
UNITS = (
    "km|km²|km³|m|m²|m³|dm|dm²|dm³|cm|cm²|cm³|mm|mm²|mm³|ha|µm|nm|yd|in|ft|kg|g|mg|µg|t|lb|oz|"
    "m/s|km/h|kmh|mph|hPa|Pa|mbar|mb|MB|kb|KB|gb|GB|tb|TB|T|G|M|K|%"
)
HYPHENS = "---|--|——|-|–|—|~"
_CJK_MARKS = r"\u2E80-\u2FFF\u3000-\u303F\u3200-\u33FF\uFE30-\uFE4F\U0001F200-\U0001F2FF"  # uncased for spaCy
_ALPHA = rf"\p{{L}}{_CJK_MARKS}"
_LOWER = rf"\p{{Ll}}\p{{Lo}}{_CJK_MARKS}"
_UPPER = rf"\p{{Lu}}\p{{Lo}}{_CJK_MARKS}"
_Q = regex.escape(QUOTES)
_P = regex.escape(PUNCT)

PREFIX = regex.compile(rf"(?:{CURRENCY}|\.\.+|\+(?![0-9])|[§%=—–{_P}{_Q}]|\p{{So}})")
"""One opening mark at the start of a chunk: punctuation, a quote, a currency sign, a symbol."""

SUFFIX = regex.compile(
    rf"(?:\.\.+|……|['’][sS]|[{_P}{_Q}—–]|\p{{So}}"
    rf"|(?<=[0-9])\+|(?<=°[FfCcKk])\."
    rf"|(?<=[0-9])(?:{CURRENCY})|(?<=[0-9])(?:{UNITS})"
    rf"|(?<=[0-9{_LOWER}%²\-+|{_P}{_Q}])\.|(?<=[{_UPPER}][{_UPPER}])\.)$"
)
"""One closing mark; searched leftmost-first and anchored at the end, as spaCy searches it."""

INFIX = regex.compile(
    rf"\.\.+|…|\p{{So}}"
    rf"|(?<=[0-9])[+\-*^](?=[0-9-])"
    rf"|(?<=[{_LOWER}{_Q}])\.(?=[{_UPPER}{_Q}])"
    rf"|(?<=[{_ALPHA}]),(?=[{_ALPHA}])"
    rf"|(?<=[{_ALPHA}0-9])(?:{HYPHENS})(?=[{_ALPHA}])"
    rf"|(?<=[{_ALPHA}0-9])[:<>=/](?=[{_ALPHA}])"
)
"""Marks inside what is left: ellipses, hyphens between letters, "a,b", "x/y", "end.Next"."""

_HOST = "A-Za-z0-9\u00a1-\uffff"
URL = regex.compile(
    rf"(?:[\p{{L}}\p{{N}}_+\-.]{{2,}}://)?(?>\S+@)?"
    rf"(?:(?!(?:10|127)\.|169\.254\.|192\.168\.|172\.(?:1[6-9]|2\d|3[01])\.)(?:\d{{1,3}}\.){{3}}\d{{1,3}}"
    rf"|(?:(?:[{_HOST}][{_HOST}_-]{{0,62}})?[{_HOST}]\.)++[{_LOWER}]{{2,63}})"
    rf"(?::\d{{2,5}})?(?:[/?#]\S*)?"
)
"""A URL, host name, e-mail or public IP address (lower-case top-level domain): one token.
Host labels are matched possessively (giving one back never helps the top-level domain), so a
long run of "a.a.a..." fails in linear time."""

SENTENCE_ENDS = frozenset(TERMINAL_PUNCTUATION) - frozenset(
    "\u061d\u061e\u0837\u0839\u083d\u083e\u17d4\u17d5\u17d6\u17d9\u17da\u1b7d\u1b7e\u2e53\u2e54"
    "\U00010f55\U00010f56\U00010f57\U00010f58\U00010f59\U00010f86\U00010f87\U00010f88\U00010f89"
    "\U00011944\U00011946\U00011ef7\U00011ef8\U00011f43\U00011f44\U00016e98"
)
"""The sentencizer's terminal marks: datatrove's list less 31 (newer scripts) spaCy lacks."""

# Contractions: stems split before "n't" (ca|n't), hosts and the clitics split off them (they|'d|'ve),
# words whose apostrophe-less form is a real word and stays whole, clippings kept whole.
_NEGATED = "ai are ca could dare did does do had has have is may might must need ought sha should was were wo would"
_NEGATED_VE = "ca could did does do had may might must need ought sha should wo would"
_CLITICS = {
    "i": "'m 'd 'll 've 'd+'ve 'll+'ve 'm+a",
    "you we they these those": "'d 'll 're 've 'd+'ve 'll+'ve",
    "he she it that this": "'d 'll 's 'd+'ve 'll+'ve",
    "there what when where who why how": "'d 'll 're 's 've 'd+'ve 'll+'ve",
    "could might must should would not": "'ve",
}
_NOT_WITHOUT_APOSTROPHE = {"its", "hell", "shell", "ill", "shed", "well", "were", "whore", "cmon"}
_KEPT_WHOLE = (
    "'em 'cause 'cos 'coz 'cuz 'bout 'nuff ma'am o'clock ol' doin' goin' havin' lovin' nothin' nuthin' somethin'"
)
# Kept whole although the rules would split them: clitics, abbreviations, emoticons.
_STANDALONE = (
    "'s 'S 'd 'll 're ’s ’S ‘s ‘S ’d ’ll ’re ' '' ’ ’’ \\n \\t \\\") w/o and/or C++ "
    "a.m. p.m. e.g. i.e. E.g. E.G. I.e. I.E. vs. v.s. Ph.D. Mr. Mrs. Ms. Dr. Prof. Rev. Gen. Gov. Sen. Rep. "
    "Adm. St. Mt. Jr. Bros. Messrs. Co. co. Corp. Inc. Ltd. Jan. Feb. Mar. Apr. Jun. Jul. Aug. Sep. Sept. "
    "Oct. Nov. Dec. Ak. Ala. Ariz. Ark. Calif. Colo. Conn. Del. Fla. Ga. Ia. Id. Ill. Ind. Kan. Kans. Ky. "
    "La. Md. Mass. Mich. Minn. Miss. Mo. Mont. Neb. Nebr. Nev. Okla. Ore. Pa. Tenn. Va. Wash. Wis. "
    "D.C. N.C. N.D. N.H. N.J. N.M. N.Y. S.C. ä. ö. ü. "
)
_EMOTICONS = (
    ":) :-) :)) :-)) :))) :-))) (: (-: ): )-: :( :-( :(( :-(( :((( :-((( :() :o) :] :-] [: [-: :} :-} "
    ":/ :-/ =/ :| :-| =| :P :-P :p :-p :D :-D =D 8) 8-) 8D 8-D ;) ;-) ;D ;-D ;_; (; (-; :* :-* "
    ":O :-O :o :-o :0 :-0 :1 :3 :-3 =3 :> :-> :x :-x :X :-X :'( :') :'-( :'-) :’( :’) :’-( :’-) "
    "=( =) (= =[ [= =] ]= "
    ">:( >:o <3 <33 <333 </3 -_- -__- ^_^ ^__^ ^___^ o_o o_O O_o O_O o_0 0_o 0_0 o.o o.O O.o O.O o.0 0.o 0.0 "
    "v.v V.V v_v V_V ._. (._.) <.< >.< >.> @_@ xD XD xDD XDD (^_^) (-_-) (>_<) (*_*) ><(((*> (-8 (o: (= [="
)


def _variants(pieces: tuple[str, ...]) -> dict[str, tuple[str, ...]]:
    """The lower- and title-case forms, with straight and curly apostrophes."""
    out = {}
    for apostrophe in "'’":
        for case in (str, str.capitalize):
            first, *rest = (p.replace("'", apostrophe) for p in pieces)
            form = (case(first), *rest)
            out["".join(form)] = form
    return out


def special_cases() -> dict[str, tuple[str, ...]]:
    """Chunks that are split by hand (contractions) or kept whole (abbreviations, emoticons)."""
    split: list[tuple[str, ...]] = [("can", "not"), ("gon", "na"), ("got", "ta"), ("y'", "all"), ("c'm", "on")]
    split += [(stem, "n't") for stem in _NEGATED.split()] + [(stem, "n't", "'ve") for stem in _NEGATED_VE.split()]
    for hosts, clitics in _CLITICS.items():
        for host in hosts.split():
            for clitic in clitics.split():
                split.append((host, *clitic.split("+")))
    specials: dict[str, tuple[str, ...]] = {}
    for pieces in split:
        specials |= _variants(pieces)
        bare = tuple(p.replace("'", "") for p in pieces)
        if "".join(bare) not in _NOT_WITHOUT_APOSTROPHE:
            specials |= _variants(bare)  # spaCy splits "dont", "im", "theyre" alike
    for word in _KEPT_WHOLE.split():
        specials |= {k: (k,) for k in _variants((word,))}
    letters = " ".join(f"{c}." for c in "abcdefghijklmnopqrstuvwxyz")
    for word in (_STANDALONE + _EMOTICONS + " " + letters).split():
        specials[word] = (word,)
    for hour in range(1, 13):
        for suffix in ("am", "pm", "a.m.", "p.m."):
            specials[f"{hour}{suffix}"] = (str(hour), suffix)
    return specials
