"""Fixtures every test folder shares: a real single-node Slurm (``tests/slurm.py``), and the
shard files a packed-phase reader opens."""

import importlib.util
import os
import shutil
import sys
import tempfile
from pathlib import Path

import pytest


def _slurm_module():
    # --import-mode=importlib puts no test folder on sys.path: load tests/slurm.py by its path
    name = "glassworks_tests_slurm"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, Path(__file__).with_name("slurm.py"))
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module  # dataclasses look their module up while the class is built
        spec.loader.exec_module(module)
    return sys.modules[name]


@pytest.fixture(scope="session")
def slurm():
    """A running one-node Slurm (``LocalSlurm``: ``.conf``, ``.env`` with SLURM_CONF, ``.sbatch``,
    ``.wait``, ``.jobs_from``), stopped after the session. Skipped when Slurm or munge is not
    installed, except under CI=true, whose runner installs them (.ci/run): there it fails."""
    module = _slurm_module()
    missing = module.missing_binaries()
    if missing:
        reason = f"Slurm not installed (missing {', '.join(missing)}; Debian: apt-get install slurm-wlm munge)"
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true but {reason}")
        pytest.skip(reason)
    # a short root of its own: the munge socket's path must stay under 108 bytes
    root = Path(tempfile.mkdtemp(prefix="glassworks-slurm-"))
    cluster = module.start_slurm(root)
    try:
        yield cluster
    finally:
        cluster.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def opened(monkeypatch):
    """The packed-phase files the reader memory-maps, in order (the real opener still reads them):
    a rank must open only the shards of its own part of a step."""
    from glassworks.pipeline.tokens import shards

    seen = []
    real = shards.open_array

    def counting(path):
        seen.append(path.name)
        return real(path)

    monkeypatch.setattr(shards, "open_array", counting)
    return seen
