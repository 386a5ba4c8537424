"""Near-duplicate paragraphs on real text: Sphinx documentation pages of data/, and planted
documents that copy one of their paragraphs with a few words changed between Reina-Valera
chapters. Each plant's edited paragraph is found, grouped with its original, and each
policy (mark, downweight, drop) does what the config says."""

import json
import random
import re
from dataclasses import replace
from pathlib import Path

import pytest

from glassworks.pipeline.dedup.config import DedupConfig, ParagraphConfig, SpanConfig
from glassworks.pipeline.dedup.paragraphs import paragraph_signatures
from glassworks.pipeline.dedup.run import run_dedup
from glassworks.pipeline.dedup.spans import spans

REPO = Path(__file__).resolve().parents[3]


def _lines(name: str) -> list[dict]:
    return [json.loads(line) for line in (REPO / "data" / "text" / name).read_text(encoding="utf-8").splitlines()]


def _edit(paragraph: str, rng: random.Random, words: int = 3) -> str:
    """``paragraph`` with ``words`` of its words replaced by others (layout kept)."""
    tokens = re.split(r"(\s+)", paragraph)
    at = [i for i, t in enumerate(tokens) if t.strip() and t.isalpha() and len(t) > 3]
    for i in rng.sample(at, words):
        tokens[i] = rng.choice(["zebra", "violin", "harbour", "granite", "lantern"])
    return "".join(tokens)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """Ten Sphinx pages, and four plants: (plant id, original id, original paragraph start, edited text, original text)."""
    rng = random.Random(18)
    pages = _lines("sphinx-docs-rst.jsonl")[:10]
    chapters = [d for d in _lines("reina-valera-1909.jsonl") if ".dup" not in d["id"]][-8:]
    plants, docs = [], [{"id": d["id"], "text": d["text"]} for d in pages]
    sources = []
    for page in pages:
        found = spans(page["text"], 20)
        long = [(int(s), int(e)) for s, e, p in zip(found.start, found.end, found.paragraph)
                if p and 350 <= e - s <= 900 and len(re.findall(r"[A-Za-z]{4,}", page["text"][s:e])) > 20]
        if long:
            sources.append((page, *long[0]))
    for i, (page, s, e) in enumerate(sources[:4]):
        edited = _edit(page["text"][s:e], rng)
        plant_id = f"zz-plant-{i}" if i < 3 else "aa-plant-3"  # aa-: the plant is the first occurrence
        text = chapters[2 * i]["text"].split("\n\n", 1)[1] + "\n\n" + edited + "\n\n" + chapters[2 * i + 1]["text"]
        docs.append({"id": plant_id, "text": text})
        plants.append((plant_id, page["id"], s, edited, page["text"][s:e]))
    folder = tmp_path_factory.mktemp("paragraphs-in") / "docs"
    folder.mkdir()
    (folder / "docs.jsonl").write_text("".join(json.dumps(d, ensure_ascii=False) + "\n" for d in docs), encoding="utf-8")
    return folder, plants


def _run(folder: Path, out: Path, policy: str, read_docs) -> tuple[dict, list[dict], dict]:
    config = DedupConfig(spans=SpanConfig(max_frequency=1000), paragraphs=ParagraphConfig(policy=policy))
    summary = run_dedup(config, {"docs": folder}, out / "dedup", out)
    kept = {d["id"]: d for d in read_docs(out / "dedup" / "kept")}
    near = [r for r in read_docs(out / "dedup" / "spans") if r["reason"] == "near_duplicate_paragraph"]
    manifest = json.loads((out / "manifests" / f"{summary['manifest']}.json").read_text())
    return kept, near, manifest


@pytest.fixture(scope="module")
def runs(corpus, tmp_path_factory):
    from tests.pipeline.dedup.conftest import _read_docs

    folder, _ = corpus
    return {policy: _run(folder, tmp_path_factory.mktemp(policy), policy, _read_docs)
            for policy in ("mark", "downweight", "drop")}


def test_each_planted_paragraph_is_found_with_its_original(corpus, runs):
    _, plants = corpus
    kept, near, manifest = runs["mark"]
    assert len(kept) == 14  # no plant is a near duplicate as a whole document
    assert manifest["config"]["config"]["paragraphs"]["policy"] == "mark"
    for plant_id, original, start, edited, _ in plants:
        if plant_id.startswith("zz-"):  # the original page comes first by id: the plant's copy is the later one
            mine = [r for r in near if r["id"] == plant_id]
            assert [(r["first_id"], r["first_start"]) for r in mine] == [(original, start)], plant_id
            assert mine[0]["text"] == edited and mine[0]["cut"] is False
        else:
            mine = [r for r in near if r["id"] == original and r["first_id"] == plant_id]
            assert [r["start"] for r in mine] == [start]
        assert kept[plant_id]["metadata"]["dedup"]["near_duplicate_paragraphs"] == (1 if plant_id.startswith("zz-") else 0)
    # the Reina-Valera chapters around the plants are near duplicates of nothing
    assert {r["text"] for r in near if r["id"].startswith(("zz-", "aa-"))} <= {p[3] for p in plants}


def test_policies_mark_downweight_drop(corpus, runs):
    _, plants = corpus
    marked, down, dropped = (runs[p][0] for p in ("mark", "downweight", "drop"))
    for plant_id, original, start, edited, paragraph in plants:
        plant_first = plant_id.startswith("aa-")
        later, first = (original, plant_id) if plant_first else (plant_id, original)
        later_text, first_text = (paragraph, edited) if plant_first else (edited, paragraph)
        w = lambda docs, i: docs[i]["metadata"]["dedup"]["weight"]  # noqa: E731
        assert marked[later]["text"] == down[later]["text"]  # mark and downweight leave the text
        assert later_text in marked[later]["text"]
        assert w(down, later) < w(marked, later), later  # the later copy weighs less
        assert w(down, first) == w(marked, first)  # the first occurrence keeps its weight
        assert later_text not in dropped[later]["text"]  # drop: the later copy loses the paragraph,
        assert first_text in dropped[first]["text"]  # the first keeps it
        assert dropped[later]["metadata"]["dedup"]["spans_removed"] >= 1
    assert all(r["cut"] for r in runs["drop"][1])


def test_paragraph_signatures_skip_short_paragraphs_and_agree_with_jaccard():
    text = "Short one.\n\n" + "alpha beta gamma delta " * 20 + "\n\n" + "alpha beta gamma delta " * 19 + "omega psi\n"
    found = spans(text, 20)
    which, sigs = paragraph_signatures(text, found, ParagraphConfig(min_chars=200), seed=1)
    assert len(which) == 2 and sigs.shape == (2, 64)  # the 10-character paragraph has none
    assert (sigs[0] == sigs[1]).mean() > 0.7
    assert len(paragraph_signatures("no paragraph is long enough", spans("no paragraph is long enough", 20),
                                    ParagraphConfig(), seed=1)[0]) == 0


def test_config_checks_policy_and_lengths():
    with pytest.raises(ValueError, match="policy"):
        ParagraphConfig(policy="erase")
    with pytest.raises(ValueError, match="min_chars"):
        DedupConfig(spans=SpanConfig(min_chars=300), paragraphs=ParagraphConfig(min_chars=200))
    assert "paragraphs" in replace(DedupConfig()).recorded()
