"""Promises of the repository itself: README commands, CI script, licensing (REUSE)."""

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def readme_commands() -> list[str]:
    lines = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines[:12] if line.startswith("    ") and line.strip()]


def test_readme_opens_with_the_demo_and_test_commands():
    demo, tests = readme_commands()[:2]
    for command in (demo, tests):
        assert "pip install torch==2.13.0 &&" in command
        assert command.index("torch==2.13.0") < command.index("pip install -e")
    assert demo.endswith("glassworks demo") and tests.endswith("python -m pytest")


def test_ci_runs_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    tests = readme_commands()[1]
    steps = [part.strip() for part in tests.split("&&")]
    positions = [ci.index(step) for step in steps[2:]]  # after venv creation and activation
    assert positions == sorted(positions), "CI must install and test in the README's order"
    assert "exit 1" in ci and '"$rc" -eq 5' in ci  # no tests collected is a failure


@pytest.mark.skipif(not (ROOT / ".git").exists(), reason="reuse reads the git tree")
def test_reuse_lint_passes():
    reuse = shutil.which("reuse")
    assert reuse, "reuse is a dev dependency: pip install -e '.[dev]'"
    done = subprocess.run([reuse, "--root", str(ROOT), "lint"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]


def test_layout_of_the_design_card():
    for folder in ("glassworks", "pipeline", "model", "provenance", "evals", "release", "configs", "data",
                   "bench", "LICENSES", "tests"):
        assert (ROOT / folder).is_dir(), folder
    import glassworks.evals
    import glassworks.model
    import glassworks.pipeline
    import glassworks.provenance
    import glassworks.release

    assert Path(glassworks.provenance.__file__).parent == ROOT / "provenance"
    assert Path(glassworks.pipeline.__file__).parent == ROOT / "pipeline"
