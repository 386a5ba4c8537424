"""`glassworks tokenizer` and `glassworks data` from the command line, and the shipped configs."""

from pathlib import Path

import pytest

from glassworks.cli import main
from glassworks.config import load_config
from glassworks.pipeline.tokens.mixture import MixtureConfig
from glassworks.pipeline.tokens.train import TokenizerConfig

CONFIGS = Path(__file__).resolve().parents[3] / "configs"


@pytest.mark.parametrize("name, cls", [("tokenizer-demo", TokenizerConfig), ("tokenizer-7b", TokenizerConfig),
                                       ("mixture-demo", MixtureConfig), ("mixture-7b", MixtureConfig)])
def test_shipped_configs_load(name, cls):
    config = load_config(CONFIGS / f"{name}.yaml", cls)
    if cls is MixtureConfig:
        assert [p.name for p in config.phases] == ["phase1", "phase2", "phase3"]
        assert config.phases[1].seq_len == 2 * config.phases[0].seq_len
    if name.endswith("7b"):
        assert getattr(config, "model", None) is None or config.model.vocab_size == 32000
        assert cls is TokenizerConfig or [p.seq_len for p in config.phases] == [2048, 4096, 4096]


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


SOURCES = """corpus:
  sources: {docs: [corpus/docs], code: [corpus/code], bible: [corpus/bible]}
"""


def test_train_build_and_inspect_from_the_command_line(run_dir, tmp_path, capsys):
    tok = _write(tmp_path / "tok.yaml", SOURCES + "sample: {bytes: 300000}\nmodel: {vocab_size: 600}\n")
    assert main(["tokenizer", "train", str(tok), "--workdir", str(run_dir)]) == 0
    assert "600 pieces" in capsys.readouterr().out
    mix = _write(tmp_path / "mix.yaml", SOURCES + """phases:
  - {name: phase1, seq_len: 32, tokens: 3200, weights: {docs: 1, code: 1}}
""")
    assert main(["data", "build", str(mix), "--workdir", str(run_dir), "--workers", "2"]) == 0
    out = capsys.readouterr().out
    assert "data.phase1: 100 x 32 = 3,200 tokens (code 1,600, docs 1,600)" in out
    phase = run_dir / "data" / "phase1"
    assert main(["data", "inspect", str(phase), "--sequence", "3", "--decode", str(run_dir / "tokenizer")]) == 0
    out = capsys.readouterr().out
    assert "100 sequences x 32 = 3,200 tokens, uint16, vocab 600" in out and "document" in out
    assert main(["tokenizer", "encode", str(run_dir / "tokenizer"), "x = 42"]) == 0
    assert capsys.readouterr().out.splitlines()[1].split()[-2:] == ["4", "2"]
    assert main(["audit", "verify", str(run_dir)]) == 0


def test_config_mistakes_are_one_line_naming_file_and_line(tmp_path, capsys):
    bad = _write(tmp_path / "bad.yaml", SOURCES + "sample: {bytes: 1000}\nmodel: {vocab_sise: 600}\n")
    assert main(["tokenizer", "train", str(bad), "--workdir", str(tmp_path / "run")]) == 1
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and f"{bad}:4" in err and "did you mean 'vocab_size'" in err


def test_inspect_refuses_a_sequence_past_the_end(run_dir, mix_config, capsys):
    from glassworks.pipeline.tokens.build import build_mixtures

    build_mixtures(mix_config(), run_dir)
    assert main(["data", "inspect", str(run_dir / "data" / "phase3"), "--sequence", "40"]) == 2
    assert "40 sequences" in capsys.readouterr().err


def test_package_exports_resolve_lazily():
    import glassworks.pipeline.tokens as tokens

    assert tokens.PackedDataset.__name__ == "PackedDataset" and callable(tokens.build_mixtures)
    with pytest.raises(AttributeError):
        tokens.nothing_here
