"""The shipped held-out suite: built from the embedded corpus, deterministic, really held out."""

import re

import pytest

from glassworks.evals.suite import SuiteConfig, build_suite, discover, held_out_ids, read_jsonl, read_sources
from glassworks.provenance.identity import source_root

DATA = source_root() / "data"


@pytest.fixture(scope="module")
def docs():
    return read_sources(DATA)


@pytest.fixture(scope="module")
def suite(tmp_path_factory):
    return build_suite(DATA, tmp_path_factory.mktemp("suite"), SuiteConfig(ppl_chars=3000, cloze_items=10))


def test_a_source_per_shape_and_two_tasks_per_source(suite):
    sources = list(discover(DATA))
    assert "code" in sources and any(s.startswith("text_") for s in sources) and any(s.startswith("web_") for s in sources)
    assert sorted(suite.files) == sorted(f"heldout_{k}_{s}" for s in sources for k in ("ppl", "cloze"))
    for task, path in suite.files.items():
        rows = read_jsonl(path)
        if "ppl" in task:
            assert 0 < sum(len(r["text"]) for r in rows) <= 3000
        else:
            assert len(rows) == 10


def test_cloze_items_continue_their_own_held_out_document(suite, docs):
    for source in docs:
        texts = {d.id: d.text for d in docs[source]}
        held = set(suite.held_out[source])
        for item in read_jsonl(suite.files[f"heldout_cloze_{source}"]):
            doc_id, _, offset = item["id"].rpartition("@")
            assert doc_id in held
            answer = item["choices"][item["label"]]
            text = texts[doc_id]
            assert text[int(offset) - len(item["context"]):int(offset)] == item["context"]
            assert text[int(offset):].startswith(answer)
            assert len(set(item["choices"])) == 4 and 0 <= item["label"] < 4
            for choice in item["choices"]:  # distractors: lines of other held-out documents of the source
                if choice != answer:
                    assert any(choice in texts[o] for o in held if o != doc_id)


def test_same_inputs_same_bytes_and_the_seed_changes_the_split(suite, tmp_path):
    some = tuple(sorted(suite.held_out))[:2]
    again = build_suite(DATA, tmp_path / "again", SuiteConfig(ppl_chars=3000, cloze_items=10), sources=some)
    for task, path in again.files.items():
        assert path.read_bytes() == suite.files[task].read_bytes()
    assert held_out_ids(DATA, SuiteConfig(seed=1)) != suite.held_out


def planted_pairs() -> list[tuple[str, str, str]]:
    """(shape, duplicate, original) rows of the planted-duplicates table of data/SOURCES.md."""
    table = (DATA / "SOURCES.md").read_text(encoding="utf-8").split("## Planted duplicates", 1)[1]
    return [(m[1], m[2], m[3]) for m in re.finditer(r"^\| (web|text|code) \| \w+ \| `([^`]+)` \| `([^`]+)` \|", table, re.M)]


def test_copies_and_licence_texts_are_never_eligible(docs):
    pairs = planted_pairs()
    assert pairs, "data/SOURCES.md lists planted duplicates"
    names = {d.id for v in docs.values() for d in v} | {d.page for v in docs.values() for d in v if d.page}
    for shape, duplicate, original in pairs:
        strip = (lambda p: p.split("/", 1)[1]) if shape == "code" else (lambda p: p)
        assert strip(duplicate) not in names and strip(original) not in names, (duplicate, original)
    assert not any(d.id.rsplit("/", 1)[-1] in ("LICENSE", "COPYING") for d in docs.get("code", []))


def test_held_out_share_and_pages_held_out_in_every_source(suite, docs):
    for source, source_docs in docs.items():
        assert len(suite.held_out[source]) >= min(len(source_docs), max(3, round(0.1 * len(source_docs))))
    pages = {s: {d.id: d.page for d in v if d.page} for s, v in docs.items()}
    held = {s: {pages[s][i] for i in suite.held_out[s] if i in pages[s]} for s in docs}
    every = set().union(*held.values())
    for source in docs:
        assert every & set(pages[source].values()) <= held[source]  # a page held out anywhere is held out here
