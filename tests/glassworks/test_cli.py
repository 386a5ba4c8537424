"""The console script: usage errors are one line with exit 2; --help is fast and light."""

import subprocess
import sys

import pytest

from glassworks.cli import main

GROUPS = ["corpus", "tokenizer", "data", "train", "export", "eval", "release", "audit"]


@pytest.mark.parametrize("argv", [["--help"], *[[g, "--help"] for g in GROUPS], ["demo", "--help"]])
def test_every_group_answers_help(argv, capsys):
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert out.startswith("Usage: glassworks")
    assert len(out.splitlines()) > 4


def test_root_help_lists_groups_in_data_flow_order(capsys):
    main(["--help"])
    out = capsys.readouterr().out
    positions = [out.index(f"  {name} ") for name in GROUPS + ["demo"]]
    assert positions == sorted(positions)


@pytest.mark.parametrize(
    "argv, path, fragment",
    [
        (["bogus"], "glassworks", "No such command 'bogus'"),
        (["corpus", "bogus"], "glassworks corpus", "No such command 'bogus'"),
        (["audit", "verify"], "glassworks audit verify", "Missing argument 'PATH'"),
        (["audit", "verify", "/no/such/dir"], "glassworks audit verify", "does not exist"),
        (["audit", "verify", ".", "--nope"], "glassworks audit verify", "No such option '--nope'"),
        (["audit", "verify", ".", "--root", "nodir"], "glassworks audit verify", "expected NAME=DIR"),
        (["corpus", "sources", "--workdir", "x", "--on-mismatch", "ignore"], "glassworks corpus sources",
         "'ignore' is not one of 'quarantine', 'fail'"),
    ],
)
def test_usage_errors_are_one_line_exit_2(argv, path, fragment, capsys):
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith(f"{path}: error: ") and fragment in lines[0]


def test_glassworks_error_is_one_line_exit_1(tmp_path, capsys):
    assert main(["corpus", "sources", "--data-dir", str(tmp_path), "--workdir", str(tmp_path / "run")]) == 1
    err = capsys.readouterr().err.splitlines()
    assert err == [f"glassworks: error: {tmp_path / 'SOURCES.md'}: source listing not found"]


def test_console_script_help_is_fast_and_does_not_import_heavy_libraries():
    code = (
        "import sys, time; t = time.perf_counter(); from glassworks.cli import main; rc = main(['--help']);"
        "heavy = [m for m in ('torch', 'datatrove', 'lm_eval', 'transformers', 'jsonschema') if m in sys.modules];"
        "print(heavy, time.perf_counter() - t, file=sys.stderr); sys.exit(rc or (3 if heavy else 0))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    heavy, seconds = done.stderr.split("]")
    assert float(seconds) < 1.0


def test_installed_console_script_runs():
    done = subprocess.run(["glassworks", "--version"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and "glassworks, version" in done.stdout
    done = subprocess.run(["glassworks", "nope"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and len(done.stderr.splitlines()) == 1
