"""n-gram overlap between eval texts and real packed training shards."""

import numpy as np

from glassworks.evals.contamination import contains, contamination, coverage, ngram_hashes, overlap, training_ngrams
from glassworks.pipeline.tokens.tokenizer import Tokenizer


def test_membership_by_binary_search_matches_isin():
    rng = np.random.default_rng(0)
    train = np.unique(rng.integers(0, 2**63, 1000, dtype=np.uint64))
    values = np.concatenate([train[::7], rng.integers(0, 2**63, 300, dtype=np.uint64), [np.uint64(2**64 - 1)]])
    assert (contains(train, values) == np.isin(values, train)).all()
    assert not contains(train[:0], values).any()


def test_hashes_identify_ngrams():
    ids = np.array([5, 6, 7, 5, 6, 7, 8])
    h = ngram_hashes(ids, 3)
    assert len(h) == 5 and h[0] == h[3] and len(set(h.tolist())) == 4
    assert len(ngram_hashes(ids[:2], 3)) == 0


def test_documents_in_the_shards_overlap_and_others_do_not(tmp_path, tokenizer_dir, helpers):
    # Spanish Bible chapters (about 0.5-5 kB): Rut 1-4, Jonás 1-4, Ester 1-10, Proverbios 1-12
    chapters = helpers.corpus_texts(60)[30:]
    trained, unseen = chapters[:10], chapters[18:22]  # up to Ester 2; Proverbios 1-4
    phase = helpers.pack_phase(tmp_path / "phase1", tokenizer_dir, trained)
    tok = Tokenizer.load(tokenizer_dir)
    # with this 400-piece vocabulary a long Spanish word is 13 tokens (engrandeciéndose): compare 24-grams
    train = training_ngrams([phase], 24)
    # a passage from inside a trained document (not its start) and whole unseen documents
    inside = [[t[200:600]] for t in trained[:3]]
    result = overlap(inside + [[t] for t in unseen], tok.encode, train, 24)
    assert result.docs == 7 and result.docs_contaminated == 3 and result.docs_any_overlap == 3
    # Ester 3 repeats a phrase of Ester 1 ("á todas las provincias del rey"): shared n-grams, not contamination
    same_book = overlap([[chapters[10]]], tok.encode, train, 24)
    assert same_book.docs_any_overlap == 1 and same_book.docs_contaminated == 0 and same_book.mean_coverage < 0.05
    samples = {"seen": [{"arguments": [(trained[0][100:400], trained[0][400:500])]}],
               "unseen": [{"arguments": [(u,)]} for u in unseen]}
    report = contamination(samples, tok, [phase], n=24)
    assert report["seen"]["doc_fraction"] == 1.0 and report["seen"]["ngram_overlap"] > 0.9
    assert report["seen"]["mean_coverage"] > 0.9
    assert report["unseen"]["docs_any_overlap"] == 0 and report["unseen"]["mean_coverage"] == 0


def test_coverage_counts_tokens_inside_shared_ngrams():
    train = np.unique(ngram_hashes(np.arange(10, 20), 3))
    ids = np.array([1, 2, 10, 11, 12, 13, 3, 4, 15, 16, 17])  # 10..13 and 15..17 are in training
    tokens, covered, ngrams, found = coverage(ids, train, 3)
    assert (tokens, covered, ngrams, found) == (11, 7, 9, 3)
    # a passage is contaminated only when most of it is covered
    half = overlap([["x"]], lambda t: ids, train, 3, threshold=0.8)
    assert half.docs_any_overlap == 1 and half.docs_contaminated == 0
