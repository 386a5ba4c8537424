"""Typed YAML configs: errors name file, line, key and what was expected; dumps are canonical."""

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import pytest

from glassworks.config import config_hash, dump_config, dump_yaml, load_config, parse_config
from glassworks.errors import ConfigError


@dataclass(frozen=True)
class Optim:
    lr: float
    betas: tuple[float, ...] = (0.9, 0.95)
    schedule: Literal["cosine", "linear"] = "cosine"


@dataclass(frozen=True)
class Run:
    name: str
    steps: int = 10
    out: Path = Path("out")
    seed: int | None = None
    weights: dict[str, float] = field(default_factory=dict)
    optim: Optim = field(default_factory=lambda: Optim(lr=1e-3))


def write(tmp_path, text, name="run.yaml"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_loads_typed_values_and_defaults(tmp_path):
    cfg = load_config(write(tmp_path, "name: demo\nsteps: 5\nout: runs/a\nweights: {web: 2, code: 0.5}\noptim:\n  lr: 1\n"), Run)
    assert cfg == Run(name="demo", steps=5, out=Path("runs/a"), weights={"web": 2.0, "code": 0.5}, optim=Optim(lr=1.0))
    assert isinstance(cfg.optim.lr, float) and cfg.seed is None and cfg.optim.betas == (0.9, 0.95)
    assert parse_config("name: x\noptim: {lr: 3e-4}\n", Run).optim.lr == 3e-4  # YAML 1.1 would say str


def test_unknown_key_names_file_line_and_suggestion(tmp_path):
    path = write(tmp_path, "name: demo\noptim:\n  lr: 0.1\n  sheduler: cosine\n")
    with pytest.raises(ConfigError) as err:
        load_config(path, Run)
    assert str(err.value) == f"{path}:4: unknown key 'optim.sheduler' (did you mean 'schedule'?)"


def test_wrong_type_names_key_expected_and_got(tmp_path):
    path = write(tmp_path, "name: demo\nsteps: many\n")
    with pytest.raises(ConfigError) as err:
        load_config(path, Run)
    assert str(err.value) == f"{path}:2: key 'steps': expected int, got str 'many'"


@pytest.mark.parametrize(
    "text, fragment",
    [
        ("name: demo\nsteps: true\n", "key 'steps': expected int, got bool True"),
        ("name: demo\noptim: {lr: 1e-3, schedule: step}\n", "key 'optim.schedule': expected one of 'cosine', 'linear'"),
        ("name: demo\noptim: {lr: 1, betas: [0.9, x]}\n", "key 'optim.betas[1]': expected float, got str 'x'"),
        ("name: demo\nweights: [1, 2]\n", "key 'weights': expected a mapping of float"),
        ("name: 3\n", "key 'name': expected str, got int 3"),
        ("- name\n", "key '<root>': expected a mapping (Run)"),
    ],
)
def test_type_errors(tmp_path, text, fragment):
    with pytest.raises(ConfigError, match=".*") as err:
        load_config(write(tmp_path, text), Run)
    assert fragment in str(err.value)


def test_missing_required_key(tmp_path):
    path = write(tmp_path, "optim:\n  schedule: linear\n")
    with pytest.raises(ConfigError) as err:
        load_config(path, Run)
    assert str(err.value).startswith(f"{path}:")
    assert "missing required key 'name' (str)" in str(err.value)
    with pytest.raises(ConfigError, match=r"missing required key 'optim.lr' \(float\)"):
        load_config(write(tmp_path, "name: x\noptim:\n  schedule: linear\n"), Run)


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(ConfigError, match=r"nope\.yaml: config file not found"):
        load_config(tmp_path / "nope.yaml", Run)
    with pytest.raises(ConfigError, match="is a directory"):
        load_config(tmp_path, Run)


def test_invalid_yaml_duplicate_keys_and_bad_encoding(tmp_path):
    with pytest.raises(ConfigError, match=r"run\.yaml:3: invalid YAML: expected ',' or ']'"):
        load_config(write(tmp_path, "name: demo\nsteps: [1, 2\n"), Run)
    with pytest.raises(ConfigError, match=r"run\.yaml:2: key 'name' appears twice"):
        load_config(write(tmp_path, "name: a\nname: b\n"), Run)
    bad = tmp_path / "latin1.yaml"
    bad.write_bytes("name: caf\xe9\n".encode("latin-1"))
    with pytest.raises(ConfigError, match="not UTF-8"):
        load_config(bad, Run)


def test_canonical_dump_ignores_spelling_and_order():
    a = parse_config("optim: {lr: 1}\nname: demo\nweights: {b: 1, a: 2}\n", Run)
    b = parse_config("name: demo\nweights:\n  a: 2.0\n  b: 1.0\noptim:\n  lr: 1.0\n  schedule: cosine\n", Run)
    assert dump_config(a) == dump_config(b)
    assert config_hash(a) == config_hash(b)
    assert dump_config(a).startswith('{"name":"demo","optim":{"betas":[0.9,0.95],"lr":1.0,')
    assert config_hash(a) != config_hash(parse_config("name: demo\noptim: {lr: 2}\n", Run))
    assert parse_config(dump_yaml(a), Run) == a


@dataclass(frozen=True)
class Allow:
    allowed: frozenset[str] = frozenset({"MIT"})


def test_frozenset_fields_load_and_dump_sorted():
    a = parse_config("allowed: [MIT, Apache-2.0, MIT]\n", Allow)
    assert a.allowed == frozenset({"MIT", "Apache-2.0"})
    assert dump_config(a) == '{"allowed":["Apache-2.0","MIT"]}'
    assert config_hash(a) == config_hash(parse_config("allowed: [Apache-2.0, MIT]\n", Allow))


def test_from_dict_with_a_file_origin_names_the_line_of_the_key(tmp_path):
    """A step's params are checked after the recipe loads; the error still names file and line."""
    path = write(tmp_path, "stages:\n  - name: a\n    steps:\n      - step: s\n        params:\n"
                           "          steps: many\n          name: x\n")
    from glassworks.config import from_dict

    with pytest.raises(ConfigError) as err:
        from_dict(Run, {"steps": "many", "name": "x"}, origin=f"{path}: stages[0].steps[0] (s)")
    assert str(err.value) == f"{path}:6: stages[0].steps[0] (s): key 'steps': expected int, got str 'many'"
    with pytest.raises(ConfigError) as err:
        from_dict(Run, {}, origin=f"{path}: stages[0].steps[0] (s)")
    assert str(err.value).startswith(f"{path}:4: stages[0].steps[0] (s): missing required key 'name'")
    with pytest.raises(ConfigError, match=r"^<dict>: key 'steps'"):  # no file: as before
        from_dict(Run, {"steps": "many", "name": "x"})


def test_recipe_step_type_error_names_file_line_and_key(tmp_path):
    from glassworks.pipeline.recipe import check_recipe_file

    path = write(tmp_path, "name: bad\nsources:\n  - {name: text, shape: text}\nstages:\n  - name: normalize\n"
                           "    steps:\n      - step: short_document_filter\n        params:\n"
                           "          min_chars: lots\n", name="recipe.yaml")
    with pytest.raises(ConfigError) as err:
        check_recipe_file(path)
    assert str(err.value) == (f"{path}:9: stages[0].steps[0] (short_document_filter): "
                              "key 'min_chars': expected int, got str 'lots'")


def test_documents_input_errors_name_the_line(tmp_path):
    from glassworks.pipeline.ingest import DocumentsConfig

    path = write(tmp_path, "tasks: 1\ninputs:\n  - {shape: text, preset: slimpajama}\n  - {shape: text, preset: nope}\n")
    with pytest.raises(ConfigError, match=r":4: section 'inputs\[1\]': unknown preset 'nope'"):
        load_config(path, DocumentsConfig)
    path = write(tmp_path, "inputs:\n  - shape: text\n    format: jsonl\n    fields: {text: body, id: 7}\n")
    with pytest.raises(ConfigError, match=r":4: key 'inputs\[0\]\.fields\.id': expected str or null, got int 7"):
        load_config(path, DocumentsConfig)
