"""Training the quality classifier: DCLM's line joining, determinism, provenance and bad input."""

import ctypes
import json
import sys
import types
from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner

from glassworks.errors import ConfigError, GlassworksError
from glassworks.pipeline.quality.cli import train_quality_command
from glassworks.pipeline.quality.model import QualityModel, dclm_text
from glassworks.pipeline.quality.train import QualityTrainConfig, _zeroed_allocations, read_examples, train_quality
from glassworks.provenance import load_manifest, verify_run

REPO = Path(__file__).resolve().parents[3]
SMALL = QualityTrainConfig(dim=8, epoch=10, lr=0.5, bucket=2000, min_count=1)


def jsonl(path: Path, lines: list) -> Path:
    """Write objects as JSON lines, and str items verbatim (for broken lines)."""
    path.write_text("".join((x if isinstance(x, str) else json.dumps(x)) + "\n" for x in lines), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def sets(tmp_path_factory) -> tuple[Path, Path]:
    """Real documents: 12 English reST docs (hq) against 24 Spanish Bible chapters (cc)."""
    folder = tmp_path_factory.mktemp("sets")
    rst = [json.loads(line) for line in (REPO / "data/text/sphinx-docs-rst.jsonl").read_text().splitlines()][:12]
    es = [json.loads(line) for line in (REPO / "data/text/reina-valera-1909.jsonl").read_text().splitlines()][:24]
    return jsonl(folder / "hq.jsonl", rst), jsonl(folder / "cc.jsonl", es)


def test_dclm_line_joining():
    assert dclm_text("  Title\nfirst line\r\n\nsecond\u2028third  \n") == "Title first line  second third"
    assert dclm_text("one line") == "one line" and dclm_text(" \n\n ") == ""


def test_examples_are_joined_lines_and_odd_lines_are_accounted(tmp_path):
    path = jsonl(tmp_path / "x.jsonl", [{"id": "a", "text": "two\nlines"}, "", {"text": " \n "},
                                        {"text": "says __label__hq inside"}, {"text": "plain"}])
    examples = read_examples(path)
    assert examples.texts == ["two lines", "plain"]
    assert dict(examples.dropped) == {"blank_line": 1, "empty_text": 1, "label_token_in_text": 1}
    assert examples.lines == 5


def test_retraining_gives_the_same_model_bytes_and_scores(sets, tmp_path):
    hq, cc = sets
    first = train_quality(SMALL, hq, cc, tmp_path / "a.bin")
    second = train_quality(SMALL, hq, cc, tmp_path / "b.bin")
    assert first["sha256"] == second["sha256"]
    assert first["examples"] == {"positive": 12, "negative": 24}
    texts = [json.loads(line)["text"] for line in hq.read_text().splitlines()[:3]] + ["Y el rey amó á Esther más que á todas las otras mujeres."]
    assert QualityModel(tmp_path / "a.bin").scores(texts) == QualityModel(tmp_path / "b.bin").scores(texts)
    other = train_quality(replace(SMALL, seed=7), hq, cc, tmp_path / "c.bin")
    assert other["sha256"] != first["sha256"]  # the seed is what fixes the model


def test_memory_reused_while_training_comes_back_zeroed():
    """fastText leaves nine tenths of its input matrix as malloc returns it; the guard makes that zero."""
    libc = ctypes.CDLL(None)
    libc.malloc.restype, libc.malloc.argtypes = ctypes.c_void_p, [ctypes.c_size_t]
    libc.free.argtypes = [ctypes.c_void_p]
    size = 64 * 1024  # served from the heap, where a freed chunk comes straight back with its old bytes
    dirty = libc.malloc(size)
    ctypes.memset(dirty, 0xAB, size)
    libc.free(dirty)
    with _zeroed_allocations():
        again = libc.malloc(size)
        assert ctypes.string_at(again, size) == bytes(size)
        libc.free(again)


def test_quantized_model_is_smaller_and_still_separates(sets, tmp_path):
    hq, cc = sets
    base = replace(SMALL, min_count=2)  # fewer rows for quantisation's k-means to go through
    train_quality(base, hq, cc, tmp_path / "m.bin")
    train_quality(replace(base, quantize=True), hq, cc, tmp_path / "m.ftz")
    assert (tmp_path / "m.ftz").stat().st_size < (tmp_path / "m.bin").stat().st_size / 2
    model = QualityModel(tmp_path / "m.ftz")
    english, spanish = model.scores(["How do I sort a list of tuples by the second item in Python?",
                                     "Hierve la pasta en abundante agua con sal y escúrrela al dente."])
    assert english > 0.5 > spanish


def test_a_recorded_training_balances_and_verifies(sets, tmp_path):
    hq, cc = sets
    noisy = jsonl(tmp_path / "cc.jsonl", [*[json.loads(x) for x in cc.read_text().splitlines()], "", "{broken"])
    config = replace(SMALL, on_bad_line="skip")
    run = tmp_path / "run"
    summary = train_quality(config, hq, noisy, run / "quality.bin", run_dir=run)
    why = "not JSON (column 2: Expecting property name enclosed in double quotes)"
    assert summary["quarantined"]["negative"] == [f"{noisy}:26: {why}"]
    manifest = load_manifest(run / "manifests" / f"{summary['manifest']}.json")
    assert manifest["stage"]["name"] == "quality.train"
    assert manifest["counts"] == {"unit": "lines", "in": 38, "kept": 36, "dropped": {"blank_line": 1}, "quarantined": 1}
    assert {(f["root"], Path(f["path"]).name) for f in manifest["inputs"]["files"]} == {("positive", "hq.jsonl"),
                                                                                       ("negative", "cc.jsonl")}
    assert [f["path"] for f in manifest["outputs"]["files"]] == ["quality.bin"]
    report = verify_run(run, roots={"positive": hq.parent, "negative": noisy.parent})
    assert report.ok, report.failures


def test_bad_inputs_name_the_file_and_line(sets, tmp_path):
    hq, cc = sets
    broken = jsonl(tmp_path / "broken.jsonl", [{"text": "fine"}, '{"text": "cut', {"id": 3}])
    with pytest.raises(GlassworksError, match=r"broken\.jsonl:2: not JSON"):
        train_quality(SMALL, hq, broken, tmp_path / "m.bin")
    (tmp_path / "bytes.jsonl").write_bytes(b'{"text": "ok"}\n\xff\xfe\n')
    with pytest.raises(GlassworksError, match=r"bytes\.jsonl:2: not UTF-8"):
        read_examples(tmp_path / "bytes.jsonl")
    with pytest.raises(GlassworksError, match=r"broken\.jsonl:3: needs a JSON object with a string 'text'"):
        read_examples(jsonl(tmp_path / "broken.jsonl", [{"text": "fine"}, {"text": "also"}, {"id": 3}]))
    (tmp_path / "empty.jsonl").write_text("")
    with pytest.raises(GlassworksError, match=r"empty\.jsonl: no usable examples \(0 lines"):
        train_quality(SMALL, tmp_path / "empty.jsonl", cc, tmp_path / "m.bin")
    with pytest.raises(GlassworksError, match=r"nowhere\.jsonl: training set not found"):
        train_quality(SMALL, hq, tmp_path / "nowhere.jsonl", tmp_path / "m.bin")
    assert not (tmp_path / "m.bin").exists()
    (tmp_path / "train.yaml").write_text("dim: 8\nepochs: 3\n")
    with pytest.raises(ConfigError, match=r"train\.yaml:2: unknown key 'epochs' \(did you mean 'epoch'\?\)"):
        train_quality(tmp_path / "train.yaml", hq, cc, tmp_path / "m.bin")


def test_a_predict_only_fasttext_is_refused_clearly(sets, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "fasttext", types.SimpleNamespace(__file__="/site-packages/fasttext/__init__.py"))
    with pytest.raises(GlassworksError, match="can only predict.*reinstall fasttext-numpy2-wheel"):
        train_quality(SMALL, *sets, tmp_path / "m.bin")


def test_model_loading_errors(tmp_path):
    with pytest.raises(GlassworksError, match=r"missing\.bin: quality model not found"):
        QualityModel(tmp_path / "missing.bin")
    (tmp_path / "notes.bin").write_text("not a model at all\n")
    with pytest.raises(GlassworksError, match=r"notes\.bin: not a fastText model"):
        QualityModel(tmp_path / "notes.bin")


def test_train_quality_command(sets, tmp_path):
    hq, cc = sets
    (tmp_path / "small.yaml").write_text("dim: 8\nepoch: 5\nbucket: 2000\n")
    args = ["--positive", hq, "--negative", cc, "--out", tmp_path / "m.bin", "--config", tmp_path / "small.yaml",
            "--workdir", tmp_path / "run"]
    result = CliRunner().invoke(train_quality_command, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    assert "trained on 12 hq and 24 cc examples" in result.output and "manifest: quality.train-" in result.output
    assert QualityModel(tmp_path / "m.bin").scores(["x"])[0] >= 0.0
