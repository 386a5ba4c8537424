"""Quality filtering: threshold in one pass, top fraction in two passes over any number of tasks, with
the shipped quantised model or a DCLM-style full .bin model (bigrams, __label__hq/__label__cc)."""

import gzip
import json
from pathlib import Path

import pytest
from datatrove.data import Document

from glassworks.config import from_dict
from glassworks.errors import ConfigError, GlassworksError
from glassworks.pipeline.documents import DROP, mark_dropped, mark_quarantined
from glassworks.pipeline.quality.filter import (BELOW_THRESHOLD, NOT_IN_TOP, FastTextQualityFilter,
                                                QualityScoresParams, QualityThresholdParams, TopFraction,
                                                TopFractionParams, top_fraction_cutoff)
from glassworks.pipeline.quality.model import QualityModel
from glassworks.pipeline.quality.shipped import SHIPPED_MODEL

REPO = Path(__file__).resolve().parents[3]
MODEL_ID = QualityModel(SHIPPED_MODEL).id


def score_files(folder: Path, shards: list[list[tuple[str, float]]], model: str = "m" * 16) -> Path:
    """Pass-1 score files written by hand: one per task."""
    folder.mkdir(parents=True, exist_ok=True)
    for rank, shard in enumerate(shards):
        lines = "".join(json.dumps({"id": i, "model": model, "score": s}) + "\n" for i, s in shard)
        (folder / f"{rank:05d}-of-{len(shards):05d}.jsonl").write_text(lines)
    return folder


def scored(doc_id: str, score: float, model: str = "m" * 16) -> Document:
    return Document(text="...", id=doc_id, metadata={"quality": {"model": model, "score": score}})


def test_top_fraction_breaks_ties_by_id_across_tasks(tmp_path):
    shards = [[("e", 0.9), ("b", 0.5)], [("c", 0.5), ("a", 0.5)], [], [("d", 0.1), ("f", 0.95)]]
    folder = score_files(tmp_path / "scores", shards)
    cutoff = top_fraction_cutoff(folder, 0.5)  # 3 of 6: f, e, then the first id among the 0.5 ties
    assert (cutoff.total, cutoff.kept, cutoff.score, cutoff.doc_id) == (6, 3, 0.5, "a")
    step = TopFraction(folder, 0.5)
    docs = [scored(i, s) for shard in shards for i, s in shard]
    kept = [d.id for d in step.run(iter(docs)) if DROP not in d.metadata]
    assert sorted(kept) == ["a", "e", "f"]
    assert {d.metadata[DROP] for d in docs if d.id not in kept} == {NOT_IN_TOP}
    assert step.stats["forwarded"].total == 3


@pytest.mark.parametrize("fraction, kept", [(0.3, 3), (0.1, 1), (0.25, 3), (1.0, 10), (0.01, 1)])
def test_top_fraction_keeps_the_ceiling_of_fraction_times_n(tmp_path, fraction, kept):
    folder = score_files(tmp_path / "scores", [[(f"d{i}", i / 10) for i in range(10)]])
    assert top_fraction_cutoff(folder, fraction).kept == kept  # 0.3 * 10 is 3, not 4, despite binary floats


def test_top_fraction_refuses_incomplete_or_inconsistent_scores(tmp_path):
    partial = score_files(tmp_path / "partial", [[("a", 0.1)], [("b", 0.2)]])
    (partial / "00001-of-00002.jsonl").unlink()
    with pytest.raises(GlassworksError, match="one score file per task.*did every task finish"):
        top_fraction_cutoff(partial, 0.5)
    with pytest.raises(GlassworksError, match="one score file per task"):
        top_fraction_cutoff(tmp_path / "never-written", 0.5)
    twice = score_files(tmp_path / "twice", [[("a", 0.1)], [("a", 0.2)]])
    with pytest.raises(GlassworksError, match=r"00001-of-00002\.jsonl:1: document id 'a' was also scored at .*00000"):
        top_fraction_cutoff(twice, 0.5)
    mixed = score_files(tmp_path / "mixed", [[("a", 0.1)]], model="x" * 16)
    (mixed / "00000-of-00001.jsonl").write_text('{"id": "a", "model": "x", "score": 0.1}\n'
                                                '{"id": "b", "model": "y", "score": 0.2}\n')
    with pytest.raises(GlassworksError, match="scores from several models"):
        top_fraction_cutoff(mixed, 0.5)
    (mixed / "00000-of-00001.jsonl").write_text('{"id": "a"}\n')
    with pytest.raises(GlassworksError, match=r"00000-of-00001\.jsonl:1: not a score record"):
        top_fraction_cutoff(mixed, 0.5)
    with pytest.raises(ValueError, match="fraction"):
        TopFraction(mixed, 0.0)


def test_top_fraction_passes_settled_documents_and_refuses_unscored_ones(tmp_path):
    folder = score_files(tmp_path / "scores", [[("a", 0.9), ("b", 0.1)]])
    settled = mark_quarantined(Document(text="", id="q"), "malformed_json")
    out = list(TopFraction(folder, 0.5).run(iter([scored("a", 0.9), settled, scored("b", 0.1)])))
    assert [d.id for d in out] == ["a", "q", "b"]
    assert DROP not in out[0].metadata and DROP not in out[1].metadata and out[2].metadata[DROP] == NOT_IN_TOP
    with pytest.raises(GlassworksError, match="document 'c' has no score from model"):
        list(TopFraction(folder, 0.5).run(iter([Document(text="new", id="c")])))


def test_threshold_filter_scores_real_documents_and_marks_rejects(tmp_path):
    rst = json.loads((REPO / "data/text/sphinx-docs-rst.jsonl").read_text().splitlines()[0])
    chrome = ("Navigation\nDocumentation »\nBuild your first project »\nQuick search\nOn this page\n"
              "Site navigation\n© Copyright 2007-2023, the Sphinx developers.\nCreated using Sphinx 5.3.0.")
    settled = mark_dropped(Document(text="x", id="earlier", metadata={}), "too_short")
    docs = [Document(text=rst["text"], id=rst["id"]), Document(text=chrome, id="chrome"), settled]
    step = FastTextQualityFilter(SHIPPED_MODEL, threshold=0.5)
    out = {d.id: d for d in step.run(iter(docs))}
    assert out[rst["id"]].metadata["quality"]["model"] == MODEL_ID and DROP not in out[rst["id"]].metadata
    assert out[rst["id"]].metadata["quality"]["score"] > 0.9
    assert out["chrome"].metadata["quality"]["score"] < 0.1 and out["chrome"].metadata[DROP] == BELOW_THRESHOLD
    assert "quality" not in out["earlier"].metadata and out["earlier"].metadata[DROP] == "too_short"
    assert (step.stats["total"].total, step.stats["forwarded"].total) == (2, 1)
    with pytest.raises(ValueError, match="either a threshold"):
        FastTextQualityFilter(SHIPPED_MODEL)
    with pytest.raises(FileNotFoundError, match="missing.ftz: quality model not found"):
        FastTextQualityFilter(tmp_path / "missing.ftz", threshold=0.5)  # refused when built, not in each task


def read_doors(out: Path, name: str) -> dict[str, list[dict]]:
    doors = {}
    for door, folder in (("kept", out / name), ("dropped", out / "dropped" / name)):
        doors[door] = [json.loads(x) for f in sorted(folder.glob("*.jsonl.gz")) for x in gzip.open(f, "rt")]
    return doors


def two_passes(src: Path, work: Path, tasks: tuple[int, int], fraction: float,
               model: Path = SHIPPED_MODEL) -> dict[str, list[dict]]:
    """Score with ``tasks[0]`` datatrove tasks, then select with ``tasks[1]``; return pass 2's doors."""
    from datatrove.executor import LocalPipelineExecutor

    from glassworks.pipeline.documents import AccountingWriter
    from glassworks.pipeline.readers import JsonlDocumentReader

    passes = [
        [JsonlDocumentReader(str(src)), FastTextQualityFilter(model, scores_dir=work / "scores"),
         AccountingWriter(work / "scored", "docs")],
        [JsonlDocumentReader(str(work / "scored" / "docs")), TopFraction(work / "scores", fraction),
         AccountingWriter(work / "selected", "docs")],
    ]
    for number, (pipeline, n) in enumerate(zip(passes, tasks)):
        LocalPipelineExecutor(pipeline=pipeline, tasks=n, workers=1, logging_dir=str(work / f"logs{number}"),
                              skip_completed=False).run()
    return read_doors(work / "selected", "docs")


def shards(folder: Path) -> Path:
    """18 real documents (9 English reST pages, 9 Spanish Bible chapters) in six JSONL shards."""
    folder.mkdir()
    lines = (REPO / "data/text/sphinx-docs-rst.jsonl").read_text().splitlines()[:9]
    lines += (REPO / "data/text/reina-valera-1909.jsonl").read_text().splitlines()[:9]
    for i in range(6):  # six shards so that tasks get different mixes
        (folder / f"part{i}.jsonl").write_text("\n".join(lines[i::6]) + "\n")
    return folder


def test_two_pass_top_fraction_is_the_same_for_any_task_count(tmp_path):
    src = shards(tmp_path / "src")
    results = {tasks: two_passes(src, tmp_path / f"run{tasks}", tasks, 0.25) for tasks in [(1, 1), (3, 2), (4, 5)]}
    kept_ids = {tasks: sorted(d["id"] for d in doors["kept"]) for tasks, doors in results.items()}
    assert len(set(map(tuple, kept_ids.values()))) == 1  # the same documents, however the work was split
    doors = results[(1, 1)]
    scores = {d["id"]: d["metadata"]["quality"]["score"] for door in doors.values() for d in door}
    expected = sorted(scores, key=lambda i: (-scores[i], i))[:5]  # ceil(0.25 * 18)
    assert kept_ids[(1, 1)] == sorted(expected)
    assert len(doors["dropped"]) == 13 and {d["metadata"][DROP] for d in doors["dropped"]} == {NOT_IN_TOP}
    assert all(i.startswith("sphinx-docs-rst/") for i in expected)  # the English docs outrank Spanish text


@pytest.fixture(scope="module")
def dclm_style_model(tmp_path_factory) -> Path:
    """A full (unquantised) fastText .bin trained as DCLM trained its classifier (supervised, word
    bigrams, labels __label__hq and __label__cc) on real local documents: English reST pages as
    hq, Spanish Bible chapters as cc. cc outnumbers hq, so it is label 0."""
    from glassworks.pipeline.quality.train import QualityTrainConfig, train_quality

    folder = tmp_path_factory.mktemp("dclm")
    for name, source, rows in (("hq", "sphinx-docs-rst", slice(9, 21)), ("cc", "reina-valera-1909", slice(9, 33))):
        lines = (REPO / f"data/text/{source}.jsonl").read_text().splitlines()[rows]
        (folder / f"{name}.jsonl").write_text("\n".join(lines) + "\n")
    config = QualityTrainConfig(dim=16, epoch=10, lr=0.5, word_ngrams=2, bucket=20000)
    train_quality(config, folder / "hq.jsonl", folder / "cc.jsonl", folder / "openhermes_style_bigram.bin")
    return folder / "openhermes_style_bigram.bin"


def test_a_dclm_style_bin_model_scores_and_cuts_like_the_shipped_one(dclm_style_model, tmp_path):
    import fasttext

    loaded = fasttext.load_model(str(dclm_style_model))
    args = loaded.f.getArgs()  # the compiled Args, which every fastText build exposes
    assert (args.wordNgrams, args.loss.name, loaded.is_quantized()) == (2, "softmax", False)
    assert loaded.get_labels() == ["__label__cc", "__label__hq"]  # P(hq) is read by name, not position
    model = QualityModel(dclm_style_model)
    rst, es = (json.loads((REPO / f"data/text/{name}.jsonl").read_text().splitlines()[0])["text"]
               for name in ("sphinx-docs-rst", "reina-valera-1909"))
    high, low = model.scores([rst, es])
    assert high > 0.5 > low

    src = shards(tmp_path / "src")
    results = {tasks: two_passes(src, tmp_path / f"run{tasks}", tasks, 0.5, dclm_style_model)
               for tasks in [(1, 1), (3, 2)]}
    kept = {tasks: sorted(d["id"] for d in doors["kept"]) for tasks, doors in results.items()}
    assert kept[(1, 1)] == kept[(3, 2)] and len(kept[(1, 1)]) == 9  # ceil(0.5 * 18), however the work was split
    assert all(i.startswith("sphinx-docs-rst/") for i in kept[(1, 1)])
    assert {d["metadata"]["quality"]["model"] for d in results[(1, 1)]["kept"]} == {model.id}

    step = FastTextQualityFilter(dclm_style_model, threshold=0.5)
    out = list(step.run(iter([Document(text=rst, id="rst"), Document(text=es, id="es")])))
    assert [DROP in d.metadata for d in out] == [False, True]


def params_file(tmp_path: Path, params: str) -> str:
    """A recipe with one step whose params are ``params``; returns the origin that build_step would pass."""
    (tmp_path / "r.yaml").write_text("name: q\nsources: [{name: text, shape: text}]\nstages:\n  - name: s\n"
                                     "    steps:\n      - step: x\n        params:\n" + params)
    return f"{tmp_path / 'r.yaml'}: stages[0].steps[0] (x)"


def test_quality_params_are_checked_when_the_recipe_is_read(tmp_path, dclm_style_model):
    origin = params_file(tmp_path, f"          model_path: {dclm_style_model}\n          threshold: 0.2\n")
    assert from_dict(QualityThresholdParams, {"model_path": str(dclm_style_model), "threshold": 0.2},
                     origin).model_path == dclm_style_model
    for cls, params, message in [
        (TopFractionParams, {"scores_dir": "s", "fraction": 1.5}, r"fraction must lie in \(0, 1\], got 1.5"),
        (TopFractionParams, {"scores_dir": "s", "fraction": "ten"}, r"key 'fraction': expected float"),
        (QualityThresholdParams, {"threshold": -0.1}, r"threshold must lie in \[0, 1\]"),
        (QualityScoresParams, {"scores_dir": "s", "model_path": str(tmp_path / "dclm.bin")},
         r"dclm\.bin: quality model not found"),
    ]:
        with pytest.raises(ConfigError, match=rf"r\.yaml:\d+: .*{message}"):
            from_dict(cls, params, origin)
