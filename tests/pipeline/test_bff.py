"""BFF: paragraph- and document-level Bloom-filter dedup, first copy wins."""

from datatrove.data import Document

from glassworks.pipeline.bff import BffConfig, BffDedup, BloomFilter, paragraph_ngrams

ARTICLE = "\n".join([
    "Python is a programming language that lets you work quickly and integrate systems more effectively today.",
    "The standard library offers a wide range of facilities covering text processing, files and the network stack.",
    "Read more",
    "Each module documents its functions with examples that readers can run in an interactive interpreter session.",
])


def run(docs, **config):
    return list(BffDedup(BffConfig(expected_ngrams=10_000, **config)).run(iter(docs)))


def test_exact_copy_is_dropped_and_first_copy_kept():
    a, b = run([Document(text=ARTICLE, id="a"), Document(text=ARTICLE, id="b")])
    assert "drop_reason" not in a.metadata and a.text == ARTICLE
    assert b.metadata["drop_reason"] == "bff_duplicate_document" and b.metadata["bff"]["duplicate_fraction"] == 1.0


def test_duplicate_paragraphs_removed_new_ones_kept():
    new = "A completely different paragraph about compilers, parsers and the garbage collector written for this page."
    lines = ARTICLE.split("\n")
    second = "\n".join([lines[0], new, "Read more", "Another fresh paragraph on packaging tools, wheels and virtual environments here."])
    a, b = run([Document(text=ARTICLE, id="a"), Document(text=second, id="b")])
    assert "drop_reason" not in b.metadata
    assert b.text.split("\n") == [new, "Another fresh paragraph on packaging tools, wheels and virtual environments here."]
    assert b.metadata["bff"]["paragraphs_removed"] == 2  # the shared paragraph and the short boilerplate line


def test_threshold_boundary():
    base = " ".join(f"w{i}" for i in range(30))
    # 13-grams of 30 words: 18; change the last 4 words -> 14 of 18 seen (0.78 < 0.8) -> kept
    changed = " ".join([f"w{i}" for i in range(26)] + ["x1", "x2", "x3", "x4"])
    a, b = run([Document(text=base, id="a"), Document(text=changed, id="b")])
    assert b.text == changed and b.metadata["bff"]["duplicate_fraction"] == round(14 / 18, 4)
    # change only the last 3 words -> 15 of 18 seen (0.83) -> a duplicate
    changed = " ".join([f"w{i}" for i in range(27)] + ["x1", "x2", "x3"])
    _, c = run([Document(text=base, id="a"), Document(text=changed, id="c")])
    assert c.metadata["drop_reason"] == "bff_duplicate_document"


def test_settled_documents_pass_untouched_and_are_not_learned():
    settled = Document(text=ARTICLE, id="s", metadata={"quarantine_reason": "x"})
    s, a = run([settled, Document(text=ARTICLE, id="a")])
    assert "bff" not in s.metadata and "drop_reason" not in a.metadata


def test_short_paragraph_is_one_ngram_and_empty_text():
    assert paragraph_ngrams("Read more", 13) == ["read more"]
    assert paragraph_ngrams("  ... ", 13) == []
    (doc,) = run([Document(text="", id="e")])
    assert doc.metadata["bff"] == {"duplicate_fraction": 0.0, "paragraphs_removed": 0}


def test_bloom_filter_false_positive_rate():
    bloom = BloomFilter(expected=20_000, fp_rate=0.01)
    for i in range(20_000):
        bloom.add(f"in-{i}")
    assert all(f"in-{i}" in bloom for i in range(0, 20_000, 97))  # no false negatives
    false_positives = sum(f"out-{i}" in bloom for i in range(20_000))
    assert false_positives / 20_000 < 0.02
