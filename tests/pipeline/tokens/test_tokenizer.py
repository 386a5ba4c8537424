"""The trained SentencePiece tokenizer: round trips, its pieces, long and broken text, determinism."""

import json

import numpy as np
import pytest

from glassworks.errors import GlassworksError
from glassworks.pipeline.tokens.tokenizer import Tokenizer, split_points
from glassworks.pipeline.tokens.train import sentences, train_tokenizer
from glassworks.provenance.verify import verify_run


@pytest.fixture(scope="module")
def tok(trained) -> Tokenizer:
    return Tokenizer.load(trained / "tokenizer")


def test_directory_holds_model_hf_export_and_description(trained, tok):
    names = sorted(p.name for p in (trained / "tokenizer").iterdir())
    assert names == ["glassworks_tokenizer.json", "special_tokens_map.json", "tokenizer.json",
                     "tokenizer.model", "tokenizer_config.json"]
    assert (tok.vocab_size, tok.unk_id, tok.bos_id, tok.eos_id) == (1024, 0, 1, 2)
    assert tok.dtype == np.uint16


def test_round_trip_decode_is_exact_on_every_test_document(tok, texts):
    for text in texts:
        assert tok.decode(tok.encode(text)) == text


def test_round_trip_keeps_whitespace_and_characters_outside_the_vocabulary(tok):
    text = "  lead\t\ttabs\n\n\n    indent   trailing   \r\nÆtherisk ∮ E⋅da = Q, 😀 中文 \u00a0nbsp"
    ids = tok.encode(text)
    assert tok.decode(ids) == text
    assert any(tok.piece(i).startswith("<0x") for i in ids), "unseen characters must fall back to byte pieces"
    assert tok.unk_id not in ids


def test_digits_are_single_tokens(tok):
    pieces = [tok.piece(i) for i in tok.encode("in 2024 we sold 1234567 units at 3.14159")]
    assert all(len(p.strip("\u2581")) == 1 for p in pieces if any(c.isdigit() for c in p))
    assert all(not any(c.isdigit() for c in tok.piece(i)) or len(tok.piece(i).strip("\u2581")) == 1
               for i in range(tok.vocab_size) if not tok.piece(i).startswith("<"))


def test_code_indentation_has_whitespace_pieces_and_newline_is_its_own_piece(tok):
    pieces = [tok.piece(i) for i in tok.encode("def f(x):\n        return x\n")]
    assert "\n" in pieces
    assert any(set(p) == {"\u2581"} and len(p) >= 4 for p in pieces), pieces


def test_bos_and_eos_are_added_on_request(tok):
    assert tok.encode("abc", bos=True, eos=True)[0] == tok.bos_id
    assert tok.encode("abc", bos=True, eos=True)[-1] == tok.eos_id
    assert tok.encode("") == []


def test_lone_surrogates_become_replacement_characters(tok):
    ids = tok.encode("a\ud800b\udfffc")
    assert tok.decode(ids) == "a\ufffdb\ufffdc"


def test_chunked_encoding_equals_one_call(tok, texts):
    """Long texts are cut next to newlines or before a space that follows a non-space: no piece
    spans such a cut (the loader checks the model for it)."""
    for text in texts[:60]:
        spans = list(split_points(text, size=300))
        assert "".join(text[a:b] for a, b in spans) == text
        chunked = [i for a, b in spans for i in tok._sp.encode(text[a:b])]
        assert chunked == tok._sp.encode(text)


def test_split_points_never_cut_where_a_piece_could_span():
    assert list(split_points("x" * 1000, size=300)) == [(0, 1000)]  # no safe position: one chunk
    assert list(split_points("ab cd  ef", size=8)) == [(0, 5), (5, 9)]
    assert list(split_points("abcdefgh ij", size=4)) == [(0, 8), (8, 11)]  # the first safe cut past the limit
    assert list(split_points("a\nb\u2581c", size=1)) == [(0, 1), (1, 2), (2, 3), (3, 4), (4, 5)]
    assert list(split_points("    x", size=2)) == [(0, 5)]  # a run of spaces leads the word it starts


def test_a_model_whose_pieces_span_the_cuts_is_refused():
    from sentencepiece import sentencepiece_model_pb2

    from glassworks.pipeline.tokens.tokenizer import check_model

    proto = sentencepiece_model_pb2.ModelProto()
    proto.normalizer_spec.name = "identity"
    proto.normalizer_spec.add_dummy_prefix = False
    proto.normalizer_spec.remove_extra_whitespaces = False
    proto.trainer_spec.byte_fallback = True
    proto.pieces.add(piece="a\u2581b", score=0.0, type=1)
    with pytest.raises(GlassworksError, match="spans a newline or a word start"):
        check_model(proto.SerializeToString())
    proto.normalizer_spec.name = "nmt_nfkc"
    with pytest.raises(GlassworksError, match="changes text"):
        check_model(proto.SerializeToString())


def test_training_sentences_stay_under_the_limit_and_keep_all_text():
    text = "short line\n" + "y" * 25 + "\n" + "z\n" * 7
    pieces = list(sentences([text], max_chars=10))
    assert "".join(pieces) == text
    assert max(map(len, pieces)) <= 10


def test_training_is_deterministic_and_recorded(trained, tmp_path, tok_config, make_corpus):
    again = tmp_path / "again"
    make_corpus(again)
    train_tokenizer(tok_config(), again)
    for name in ("tokenizer.model", "tokenizer.json", "tokenizer_config.json", "glassworks_tokenizer.json"):
        assert (again / "tokenizer" / name).read_bytes() == (trained / "tokenizer" / name).read_bytes(), name
    assert sorted(p.name for p in (again / "manifests").iterdir()) == sorted(p.name for p in (trained / "manifests").iterdir())
    manifest = json.loads(next((again / "manifests").glob("tokenizer-*.json")).read_text())
    counts = manifest["counts"]
    assert counts["in"] == counts["kept"] + sum(counts["dropped"].values()) + counts["quarantined"]
    assert counts["dropped"]["zero_weight"] == 2 and counts["dropped"]["not_sampled"] > 0
    assert verify_run(again).ok


def test_sample_follows_shares_and_never_takes_zero_weight_documents(trained, tok_config, records):
    from glassworks.pipeline.tokens.train import draw_sample
    from glassworks.provenance.recorder import Counts

    counts = Counts()
    config = tok_config(bytes=200_000, shares={"docs": 3, "bible": 1})
    sample = draw_sample(config, trained, counts)
    assert set(sample.per_source) == {"docs", "bible"}  # code has no share
    assert 150_000 <= sample.per_source["docs"] < 150_000 + 60_000  # at most one document past the budget
    assert 50_000 <= sample.per_source["bible"] < 50_000 + 5_000
    assert counts.balanced() and counts.dropped["zero_weight"] == 2
    zero = {r["text"] for items in records.values() for r in items
            if r["metadata"].get("dedup", {}).get("weight") == 0}
    assert not zero & set(sample.texts)
    assert draw_sample(config, trained, Counts()).texts == sample.texts


def test_a_tokenizer_directory_must_hold_the_model(tmp_path):
    with pytest.raises(GlassworksError, match="no tokenizer.model"):
        Tokenizer.load(tmp_path)


def test_a_swapped_model_file_is_refused(run_dir):
    model = run_dir / "tokenizer" / "tokenizer.model"
    model.write_bytes(model.read_bytes() + b"\0")
    with pytest.raises(GlassworksError, match="sha256 differs"):
        Tokenizer.load(run_dir / "tokenizer")


def test_the_loader_pickles_for_worker_processes(tok):
    import pickle

    again = pickle.loads(pickle.dumps(tok))
    assert again.encode("def f(x):\n    return 1") == tok.encode("def f(x):\n    return 1")
    assert again.vocab_size == tok.vocab_size
