"""n-gram overlap between eval texts and real packed training shards."""

import numpy as np

from glassworks.evals.contamination import contamination, ngram_hashes, overlap, training_ngrams
from glassworks.pipeline.tokens.tokenizer import Tokenizer


def test_hashes_identify_ngrams():
    ids = np.array([5, 6, 7, 5, 6, 7, 8])
    h = ngram_hashes(ids, 3)
    assert len(h) == 5 and h[0] == h[3] and len(set(h.tolist())) == 4
    assert len(ngram_hashes(ids[:2], 3)) == 0


def test_documents_in_the_shards_overlap_and_others_do_not(tmp_path, tokenizer_dir, helpers):
    fortunes = helpers.corpus_texts(40)[20:]  # German fortunes, documents of about 1-2 kB
    trained, unseen = fortunes[:10], fortunes[10:14]
    phase = helpers.pack_phase(tmp_path / "phase1", tokenizer_dir, trained)
    tok = Tokenizer.load(tokenizer_dir)
    # with this 400-piece vocabulary a long German word is 13 tokens: compare 24-grams
    train = training_ngrams([phase], 24)
    # a passage from inside a trained document (not its start) and whole unseen documents
    inside = [[t[200:600]] for t in trained[:3]]
    result = overlap(inside + [[t] for t in unseen], tok.encode, train, 24)
    assert result.docs == 7 and result.docs_overlapping == 3
    samples = {"seen": [{"arguments": [(trained[0][100:400], trained[0][400:500])]}],
               "unseen": [{"arguments": [(u,)]} for u in unseen]}
    report = contamination(samples, tok, [phase], n=24)
    assert report["seen"]["doc_fraction"] == 1.0 and report["seen"]["ngram_overlap"] > 0.9
    assert report["unseen"]["docs_overlapping"] == 0
