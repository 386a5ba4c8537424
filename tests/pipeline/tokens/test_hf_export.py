"""The Hugging Face export gives the same ids as SentencePiece on the test corpus."""

import json

import pytest

from glassworks.pipeline.tokens.tokenizer import Tokenizer

EDGE_CASES = [
    "",
    " ",
    "   leading and trailing   ",
    "tabs\tand\nnewlines\r\n\n",
    "numbers 1234567890 and 3.14",
    "Ærøskøbing ∮ E⋅da = Q, 😀 中文 \u00a0",
    "def f(x):\n        return {'a': [1, 2]}\n",
]


@pytest.fixture(scope="module")
def sp(trained) -> Tokenizer:
    return Tokenizer.load(trained / "tokenizer")


@pytest.fixture(scope="module")
def hf(trained):
    from tokenizers import Tokenizer as HFTokenizer

    return HFTokenizer.from_file(str(trained / "tokenizer" / "tokenizer.json"))


def test_tokenizers_library_gives_identical_ids_and_text(sp, hf, texts):
    for text in texts + EDGE_CASES:
        ids = sp.encode(text)
        assert hf.encode(text, add_special_tokens=False).ids == ids, text[:80]
        assert hf.decode(ids) == text


def test_post_processor_adds_bos_like_the_training_documents(sp, hf):
    assert hf.encode("hello").ids == sp.encode("hello", bos=True)


@pytest.fixture(scope="module")
def auto(trained):
    transformers = pytest.importorskip("transformers")
    return transformers.AutoTokenizer.from_pretrained(str(trained / "tokenizer"))


def test_transformers_loads_the_folder_with_the_same_ids(auto, sp, texts):
    tok = auto
    assert (tok.bos_token_id, tok.eos_token_id, tok.unk_token_id) == (sp.bos_id, sp.eos_id, sp.unk_id)
    assert len(tok) == sp.vocab_size
    for text in texts + EDGE_CASES:
        ids = tok(text)["input_ids"]
        assert ids == sp.encode(text, bos=True), text[:80]
        assert tok.decode(ids, skip_special_tokens=True) == text


def test_special_token_strings_in_text_are_plain_text(auto, hf, sp):
    text = "a <s> b </s> <unk>"
    assert hf.encode(text, add_special_tokens=False).ids == sp.encode(text)
    assert auto(text, add_special_tokens=False)["input_ids"] == sp.encode(text)
    assert not {sp.bos_id, sp.eos_id, sp.unk_id} & set(sp.encode(text))


def test_tokenizer_config_announces_context_and_specials(trained):
    config = json.loads((trained / "tokenizer" / "tokenizer_config.json").read_text())
    assert config["model_max_length"] == 128
    assert (config["bos_token"], config["eos_token"], config["unk_token"]) == ("<s>", "</s>", "<unk>")
    assert config["split_special_tokens"] is True
