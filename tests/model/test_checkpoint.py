"""Checkpoints: self-contained safetensors directories, refused loudly when they do not fit."""

import dataclasses
import json

import pytest
import torch

import glassworks.model as gm
from glassworks.errors import GlassworksError
from glassworks.model.checkpoint import CheckpointState, load, read_config, read_state, save_checkpoint
from glassworks.model.transformer import build
from glassworks.provenance.verify import verify_run


def test_round_trip_is_exact_and_self_contained(small_model, tokens, tmp_path, tokenizer_dir):
    state = CheckpointState(step=120, tokens_seen=61440, phase="phase1", data_manifest="data-abc")
    out = save_checkpoint(small_model, tmp_path / "ckpt", state=state, tokenizer_dir=tokenizer_dir)
    assert sorted(p.name for p in out.iterdir()) == ["config.json", "model.safetensors", "state.json", "tokenizer"]
    assert (out / "tokenizer" / "tokenizer.model").read_bytes() == (tokenizer_dir / "tokenizer.model").read_bytes()
    assert read_config(out) == small_model.config
    assert read_state(out) == state
    loaded = gm.load(out)  # the contract: glassworks.model.load(DIR) -> nn.Module
    assert isinstance(loaded, torch.nn.Module) and not loaded.training
    with torch.no_grad():
        assert torch.equal(loaded(tokens), small_model(tokens))
    assert b"pickle" not in (out / "model.safetensors").read_bytes()[:200]


def test_rewriting_replaces_the_whole_directory(small_model, small_config, tmp_path):
    out = tmp_path / "ckpt"
    save_checkpoint(small_model, out)
    (out / "stray.txt").write_text("left from before")
    save_checkpoint(build(small_config, seed=5), out, state=CheckpointState(step=2))
    assert not (out / "stray.txt").exists() and read_state(out).step == 2
    assert [p.name for p in tmp_path.iterdir()] == ["ckpt"]  # no staging directory left behind


def test_a_folder_that_is_not_a_checkpoint_is_never_replaced(small_model, tmp_path):
    precious = tmp_path / "notes"
    precious.mkdir()
    (precious / "thesis.txt").write_text("years of work")
    with pytest.raises(GlassworksError, match="notes: exists and is not a glassworks checkpoint; refusing"):
        save_checkpoint(small_model, precious)
    assert (precious / "thesis.txt").read_text() == "years of work"
    (tmp_path / "empty").mkdir()
    save_checkpoint(small_model, tmp_path / "empty")  # an empty folder is fine


def test_mismatched_shapes_are_refused_naming_the_tensor(small_model, small_config, tmp_path):
    out = save_checkpoint(small_model, tmp_path / "ckpt")
    config = json.loads((out / "config.json").read_text())
    config["model"]["hidden_dim"] = small_config.hidden_dim + 32
    (out / "config.json").write_text(json.dumps(config))
    with pytest.raises(GlassworksError, match=r"tensor 'layers.0.feed_forward.w1.weight' has shape \[160, 64\] "
                                              r"but the model config expects \[192, 64\]"):
        load(out)


def test_missing_and_unexpected_tensors_are_refused(small_model, small_config, tmp_path):
    out = save_checkpoint(build(dataclasses.replace(small_config, n_layers=1), seed=0), tmp_path / "short")
    config = json.loads((out / "config.json").read_text())
    config["model"]["n_layers"] = 2
    (out / "config.json").write_text(json.dumps(config))
    with pytest.raises(GlassworksError, match="tensor 'layers.1.attention.wk.weight' is missing"):
        load(out, verify=False)
    config["model"]["n_layers"] = 1
    (out / "config.json").write_text(json.dumps(config))
    load(out)  # consistent again
    config["model"]["n_layers"] = 0
    (out / "config.json").write_text(json.dumps(config))
    with pytest.raises(GlassworksError, match="n_layers must be positive"):
        load(out)


def test_corrupt_weights_are_refused(small_model, tmp_path):
    out = save_checkpoint(small_model, tmp_path / "ckpt")
    weights = out / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[-5] ^= 0xFF  # one flipped bit pattern in the last tensor's bytes
    weights.write_bytes(bytes(data))
    with pytest.raises(GlassworksError, match="differs from .* recorded in .*state.json: the weights are corrupt"):
        load(out)
    weights.write_bytes(bytes(data[: len(data) // 2]))  # truncated
    with pytest.raises(GlassworksError, match=r"model.safetensors: unreadable safetensors file"):
        load(out, verify=False)


def test_config_errors_name_file_and_key(small_model, tmp_path):
    out = save_checkpoint(small_model, tmp_path / "ckpt")
    config = json.loads((out / "config.json").read_text())
    config["model"]["dim"] = "wide"
    (out / "config.json").write_text(json.dumps(config))
    with pytest.raises(GlassworksError, match=r"config.json: model.*dim"):
        load(out)
    (out / "config.json").write_text("{not json")
    with pytest.raises(GlassworksError, match="config.json: invalid JSON"):
        load(out)
    with pytest.raises(GlassworksError, match="checkpoint directory not found"):
        load(tmp_path / "nope")
    with pytest.raises(GlassworksError, match="no tokenizer.model or tokenizer.json"):
        save_checkpoint(small_model, tmp_path / "other", tokenizer_dir=tmp_path / "ckpt")


def test_a_recorded_checkpoint_verifies_and_links_its_tokenizer(small_model, tmp_path, tokenizer_dir):
    run = tmp_path / "run"
    save_checkpoint(small_model, run / "checkpoints" / "step-1", tokenizer_dir=tokenizer_dir, run_dir=run)
    manifests = list((run / "manifests").glob("checkpoint-*.json"))
    assert len(manifests) == 1
    manifest = json.loads(manifests[0].read_text())
    assert manifest["counts"]["kept"] == 1 and manifest["inputs"]["files"][0]["root"] == "tokenizer"
    report = verify_run(run, roots={"tokenizer": tokenizer_dir})
    assert report.ok, report


def test_load_casts_each_tensor_to_the_requested_dtype(small_model, tokens, tmp_path):
    out = save_checkpoint(small_model, tmp_path / "ckpt")
    low = load(out, dtype=torch.bfloat16)
    assert {p.dtype for p in low.parameters()} == {torch.bfloat16}
    with torch.no_grad():
        assert (low(tokens).float() - small_model(tokens)).abs().max() < 0.1
