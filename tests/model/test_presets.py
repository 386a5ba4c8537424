"""Presets: the published parameter counts, computed without allocating the weights."""

import dataclasses
import subprocess
import sys

import pytest

from glassworks.errors import ConfigError
from glassworks.model.config import PRESETS, ModelConfig, describe_presets, format_count, parameter_count, preset


def test_mistral_and_moxin_counts_match_the_published_figures():
    assert parameter_count(preset("mistral-7b")) == 7_241_732_096
    assert parameter_count(preset("moxin-7b")) == 8_114_180_096
    assert format_count(parameter_count(preset("mistral-7b"))) == "7.24 B"
    assert format_count(parameter_count(preset("moxin-7b"))) == "8.11 B"


@pytest.mark.parametrize("name", list(PRESETS))
def test_count_equals_the_parameters_of_a_meta_model(name):
    from glassworks.model.transformer import build

    model = build(preset(name), device="meta")
    assert model.output.weight.is_meta
    assert model.num_parameters() == parameter_count(preset(name))


def test_preset_sizes_are_what_their_names_say():
    counts = {row["preset"]: row["parameters"] for row in describe_presets()}
    assert counts["tiny"] < 3e6
    assert 140e6 < counts["150m"] < 160e6
    assert 0.95e9 < counts["1b"] < 1.1e9


def test_mistral_7b_shape():
    c = preset("mistral-7b")
    assert (c.n_layers, c.dim, c.n_heads, c.n_kv_heads, c.head_dim, c.hidden_dim) == (32, 4096, 32, 8, 128, 14336)
    assert (c.window, c.vocab_size, c.rope_theta, c.norm_eps) == (4096, 32000, 1e4, 1e-5)
    assert dataclasses.replace(c, n_layers=36) == preset("moxin-7b")


def test_overrides_and_unknown_presets():
    assert preset("tiny", vocab_size=1000).vocab_size == 1000
    with pytest.raises(ConfigError, match="unknown model preset 'huge'"):
        preset("huge")


@pytest.mark.parametrize("field, value, message", [
    ("n_kv_heads", 3, "multiple of n_kv_heads"),
    ("head_dim", 15, "head_dim must be even"),
    ("window", 0, "window must be positive"),
    ("dim", 0, "dim must be positive"),
])
def test_invalid_shapes_are_refused(field, value, message):
    with pytest.raises(ConfigError, match=message):
        dataclasses.replace(preset("tiny"), **{field: value})


def test_the_preset_table_prints_every_count_without_torch():
    code = "import runpy, sys; runpy.run_module('glassworks.model.config', run_name='__main__'); print('torch' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "7.24 B  (7,241,732,096)" in done.stdout and "8.11 B  (8,114,180,096)" in done.stdout
    assert done.stdout.strip().endswith("False")


def test_importing_the_package_does_not_import_torch():
    code = "import sys, glassworks.model as m; m.preset('tiny'); print('torch' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "False", done.stderr


def test_model_config_is_typed_and_loadable_from_yaml(tmp_path):
    from glassworks.config import load_config

    path = tmp_path / "model.yaml"
    path.write_text("vocab_size: 512\ndim: 64\nn_layers: 2\nn_heads: 4\nn_kv_heads: 2\nhead_dim: 16\n"
                    "hidden_dim: 128\nwindow: 8\nrope_theta: 10000\n")
    config = load_config(path, ModelConfig)
    assert config.window == 8 and config.rope_theta == 10000.0
    path.write_text("vocab_size: 512\ndim: big\n")
    with pytest.raises(ConfigError, match="dim"):
        load_config(path, ModelConfig)
