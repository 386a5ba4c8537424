"""One text, one list of ids: SentencePiece (glassworks' Tokenizer), tokenizer.json (the
tokenizers library), transformers' AutoTokenizer and the packing stage's encoder agree, and
every one of them decodes back to the text, on adversarial text.

hypothesis is not a dependency, so the texts come from a small seeded generator: random mixes
of the strings that broke equivalence before (special-token literals, U+2581, byte-piece
names), whitespace runs, newlines, tabs, emoji with joiners, combining marks, other scripts,
digits, pieces of the vocabulary itself, and long repeats of short patterns.
"""

import random

import numpy as np
import pytest

from glassworks.pipeline.tokens.tokenizer import SPACE, Tokenizer, split_points

SEED = 19
CASES = 300
LITERALS = ["<s>", "</s>", "<unk>", "<s", "s>", "</", "<0xE2>", "<0x0A>", SPACE, SPACE * 3, f" {SPACE} ",
            f"{SPACE}the", "<s><s>", "</s></s>"]
SPACES = [" ", "  ", "    ", " " * 9, "\t", "\t\t", "\n", "\n\n", "\r\n", "\r", "\u00a0", "\u3000", "\u2009",
          "\x0b", "\x0c", "\u2028", " \n ", "\n    "]
EMOJI = ["😀", "👍🏽", "👨\u200d👩\u200d👧", "🏳\ufe0f\u200d🌈", "🇪🇸", "\u200b", "\ufeff", "\ufffd"]
COMBINING = ["e\u0301", "n\u0303", "a\u0308\u0323", "\u0301", "\u0308\u0308", "ก\u0e31"]
SCRIPTS = ["中文字", "日本語", "한국어", "Ελληνικά", "русский", "עברית", "العربية", "हिन्दी", "Ærøskøbing"]
REPEATS = ["the", "ab", "a", " ", "\n", SPACE, "<s>", "ba", "aba", "1", "é", "😀", "the ", " \t"]
BIG = 9000  # repeats this long cross CHUNK_CHARS = 16384 characters with a 3-character pattern


def random_char(rng: random.Random) -> str:
    """Any code point but a surrogate (those are repaired to U+FFFD before encoding)."""
    while True:
        c = rng.choice([rng.randrange(0x20, 0x250), rng.randrange(0x250, 0x3000), rng.randrange(0x3000, 0x10000),
                        rng.randrange(0x10000, 0x110000), rng.randrange(0, 0x20)])
        if not 0xD800 <= c <= 0xDFFF:
            return chr(c)


def adversarial_text(rng: random.Random, words: list[str]) -> str:
    parts = []
    for _ in range(rng.randrange(1, 40)):
        kind = rng.randrange(9)
        if kind == 0:
            parts.append(rng.choice(LITERALS))
        elif kind == 1:
            parts.append(rng.choice(SPACES))
        elif kind == 2:
            parts.append(rng.choice(EMOJI + COMBINING + SCRIPTS))
        elif kind == 3:
            parts.append(rng.choice(words))
        elif kind == 4:
            parts.append(rng.choice(REPEATS) * rng.randrange(2, 60))
        elif kind == 5:
            parts.append("".join(random_char(rng) for _ in range(rng.randrange(1, 6))))
        elif kind == 6:
            parts.append(str(rng.randrange(10 ** rng.randrange(1, 12))))
        else:
            parts.append(" ".join(rng.choice(words) for _ in range(rng.randrange(1, 8))))
    return "".join(parts)


@pytest.fixture(scope="module")
def four(trained):
    """The four encoders, each as text -> ids (no BOS/EOS), and their decoders."""
    transformers = pytest.importorskip("transformers")
    from tokenizers import Tokenizer as HFTokenizer

    folder = trained / "tokenizer"
    sp = Tokenizer.load(folder)
    hf = HFTokenizer.from_file(str(folder / "tokenizer.json"))
    auto = transformers.AutoTokenizer.from_pretrained(str(folder))
    return sp, hf, auto


@pytest.fixture(scope="module")
def corpus_words(four) -> list[str]:
    """The vocabulary's own pieces as text (they trigger the merges) and words they form."""
    sp = four[0]
    pieces = [sp.piece(i).replace(SPACE, " ") for i in range(sp.vocab_size) if not sp.piece(i).startswith("<")]
    return pieces + ["the", "return", "function", "señor", "import numpy as np", "<div><s>old</s></div>"]


def check(text: str, sp, hf, auto, chunk: int) -> None:
    ids = sp.encode(text)
    shown = repr(text[:120])
    assert hf.encode(text, add_special_tokens=False).ids == ids, f"tokenizer.json differs on {shown}"
    assert auto(text, add_special_tokens=False)["input_ids"] == ids, f"AutoTokenizer differs on {shown}"
    assert auto(text)["input_ids"] == [sp.bos_id] + ids, f"AutoTokenizer's BOS on {shown}"
    chunks = sp.encode_chunks([text[a:b] for a, b in split_points(text, size=chunk)])
    assert np.concatenate(chunks).tolist() == ids if chunks else ids == [], f"chunks of {chunk} differ on {shown}"
    assert sp.decode(ids) == text, f"SentencePiece does not round-trip {shown}"
    assert hf.decode(ids) == text, f"tokenizer.json does not round-trip {shown}"
    assert auto.decode(ids) == text, f"AutoTokenizer does not round-trip {shown}"
    # SentencePiece decodes <s> and </s> to nothing; the Hugging Face side drops <s> too, and shows
    # </s> as its text unless asked to skip special tokens (generation stops on that text)
    framed = [sp.bos_id] + ids + [sp.eos_id]
    assert sp.decode(framed) == auto.decode(framed, skip_special_tokens=True) == text
    assert hf.decode(framed, skip_special_tokens=False) == auto.decode(framed) == text + "</s>"


def test_special_token_literals_are_plain_text_everywhere(four):
    sp, hf, auto = four
    text = "<p>was <s>struck</s> now</p> <unk> </s><s>"
    ids = sp.encode(text)
    assert not {sp.unk_id, sp.bos_id, sp.eos_id} & set(ids)
    check(text, sp, hf, auto, chunk=8)


def test_a_literal_space_symbol_round_trips_as_its_bytes(four):
    sp, hf, auto = four
    ids = sp.encode(f"a{SPACE}b")
    assert [sp.piece(i) for i in ids[1:4]] == ["<0xE2>", "<0x96>", "<0x81>"]
    for text in [SPACE, f" {SPACE} ", f"{SPACE}{SPACE}x", f"x {SPACE}the", f"\n{SPACE}\n"]:
        check(text, sp, hf, auto, chunk=2)


def test_long_repeats_are_not_cut_inside_a_piece(four):
    sp, hf, auto = four
    text = "the" * 7000
    assert len(sp.encode(text)) == len(sp._sp.encode(text)) == 7000
    assert len(list(split_points(text))) == 1, "no position of 'thethe...' is safe to cut"
    for text in ["the" * BIG, "ab " * BIG, ("x" * 40 + "\n") * 900, " " * 20000 + "z", SPACE * 7000]:
        check(text, sp, hf, auto, chunk=1000)


def test_adversarial_texts_give_the_same_ids_everywhere(four, corpus_words):
    sp, hf, auto = four
    rng = random.Random(SEED)
    for _ in range(CASES):
        check(adversarial_text(rng, corpus_words), sp, hf, auto, chunk=rng.choice([1, 3, 17, 64]))


def test_the_packing_stage_encodes_like_the_tokenizer(trained, four, corpus_words):
    """pool.Encoder (the data.tokenize stage) on the same texts, one long one among them."""
    from glassworks.pipeline.tokens.pool import Encoder

    sp = four[0]
    rng = random.Random(SEED + 1)
    texts = [adversarial_text(rng, corpus_words) for _ in range(60)] + ["the" * BIG + " <s> " + SPACE * 9]
    got = dict(Encoder(trained / "tokenizer").run(enumerate(texts)))
    for i, text in enumerate(texts):
        assert got[i].tolist() == sp.encode(text), repr(text[:120])
