"""`glassworks eval --suite-only`: the held-out suite and its ids, before any checkpoint exists."""

from pathlib import Path

from glassworks.cli import main
from glassworks.evals.suite import held_out_ids
from glassworks.provenance import verify_run

DATA = Path(__file__).resolve().parents[2] / "data"


def test_suite_only_writes_the_held_out_ids_a_mixture_excludes(tmp_path, capsys):
    assert main(["eval", "--suite-only", "--workdir", str(tmp_path)]) == 0
    ids = (tmp_path / "eval" / "suite" / "heldout-ids.txt").read_text(encoding="utf-8").split("\n")
    assert ids[-1] == "" and ids[:-1] == sorted({i for per in held_out_ids(DATA).values() for i in per})
    assert "documents held out" in capsys.readouterr().out
    assert verify_run(tmp_path, roots={"data": DATA}).ok


def test_no_checkpoint_and_no_suite_only_is_a_usage_error(tmp_path, capsys):
    assert main(["eval", "--workdir", str(tmp_path)]) == 2
    assert "name at least one checkpoint directory" in capsys.readouterr().err
