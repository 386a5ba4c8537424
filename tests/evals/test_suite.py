"""The shipped held-out suite: built from the embedded corpus, deterministic, really held out."""

import json

import pytest

from glassworks.evals.suite import SOURCES, SuiteConfig, build_suite, held_out_ids, read_jsonl, read_source
from glassworks.provenance.identity import source_root

DATA = source_root() / "data"


@pytest.fixture(scope="module")
def suite(tmp_path_factory):
    return build_suite(DATA, tmp_path_factory.mktemp("suite"), SuiteConfig(ppl_chars=3000, cloze_items=10))


def test_two_tasks_per_source_with_rows(suite):
    assert sorted(suite.files) == sorted(f"heldout_{k}_{s}" for s in SOURCES for k in ("ppl", "cloze"))
    for task, path in suite.files.items():
        rows = read_jsonl(path)
        assert rows, task
        if "ppl" in task:
            assert 0 < sum(len(r["text"]) for r in rows) <= 3000
        else:
            assert len(rows) == 10


def test_cloze_items_continue_their_own_held_out_document(suite):
    for source in SOURCES:
        texts = {d.id: d.text for d in read_source(DATA, source)}
        held = set(suite.held_out[source])
        for item in read_jsonl(suite.files[f"heldout_cloze_{source}"]):
            doc_id, _, offset = item["id"].rpartition("@")
            assert doc_id in held
            answer = item["choices"][item["label"]]
            text = texts[doc_id]
            assert text[int(offset) - len(item["context"]):int(offset)] == item["context"]
            assert text[int(offset):].startswith(answer)
            assert len(set(item["choices"])) == 4 and 0 <= item["label"] < 4
            # the distractors are lines of other held-out documents of the same source
            for choice in item["choices"]:
                if choice != answer:
                    assert any(choice in texts[o] for o in held if o != doc_id)


def test_same_inputs_same_bytes_and_the_seed_changes_the_split(suite, tmp_path):
    again = build_suite(DATA, tmp_path / "again", SuiteConfig(ppl_chars=3000, cloze_items=10), sources=("docs", "fortunes"))
    for task, path in again.files.items():
        assert path.read_bytes() == suite.files[task].read_bytes()
    other = held_out_ids(DATA, SuiteConfig(seed=1))
    assert other["fortunes"] != suite.held_out["fortunes"]


def test_duplicated_and_licence_documents_are_never_held_out():
    ids = {d.id for s in SOURCES for d in read_source(DATA, s)}
    assert not any(i.endswith(".dup1") for i in ids)  # planted copies
    assert "cpython-docs-rst/faq/general" not in ids  # the original of a planted copy
    assert "cpython-textutils/textwrap.py" not in ids and "cpython-capi/tools/textwrap.py" not in ids
    assert not any(i.rsplit("/", 1)[-1] in ("LICENSE", "COPYING") for i in ids)
    with open(DATA / "text" / "fortunes-de.jsonl", encoding="utf-8") as handle:
        originals = {json.loads(line)["metadata"].get("planted_from") for line in handle} - {None}
    assert originals and not originals & ids


def test_held_out_share_minimum_and_pages_held_out_in_both_sources(suite):
    docs = {s: list(read_source(DATA, s)) for s in SOURCES}
    for source in SOURCES:
        assert len(suite.held_out[source]) >= min(len(docs[source]), max(3, round(0.1 * len(docs[source]))))
    assert len(suite.held_out["fortunes"]) == round(0.1 * len(docs["fortunes"]))  # no pages: exactly the share
    page = {s: {d.id: d.page for d in docs[s]} for s in ("docs", "web")}
    held_pages = {s: {page[s][i] for i in suite.held_out[s]} for s in ("docs", "web")}
    for a, b in (("docs", "web"), ("web", "docs")):
        both = held_pages[a] & set(page[b].values())
        assert both <= held_pages[b]  # a page held out as reST is held out as HTML too, and back
    assert held_pages["docs"] & held_pages["web"]
