"""Atomic writes: the target holds the old bytes or the new ones, never a part."""

import os
import signal
import subprocess
import sys
import time

import pytest

from glassworks.provenance.atomic import atomic_open, atomic_write_json, atomic_write_text


def test_writes_and_replaces(tmp_path):
    target = tmp_path / "sub" / "a.json"
    atomic_write_json(target, {"b": 1, "a": [1, 2]})
    assert target.read_text() == '{\n  "a": [\n    1,\n    2\n  ],\n  "b": 1\n}\n'
    atomic_write_text(target, "new")
    assert target.read_text() == "new"
    assert sorted(p.name for p in target.parent.iterdir()) == ["a.json"]


def test_error_mid_write_leaves_old_file_and_no_temp(tmp_path):
    target = tmp_path / "a.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError):
        with atomic_open(target, "w") as handle:
            handle.write("half of the new cont")
            raise RuntimeError("crash")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["a.txt"]


def test_killed_writer_never_leaves_a_partial_target(tmp_path):
    target = tmp_path / "manifest.json"
    target.write_text("old complete file")
    code = f"""
import sys, time
from glassworks.provenance.atomic import atomic_open
with atomic_open({str(target)!r}, "w") as handle:
    handle.write("partial"); handle.flush()
    print("writing", flush=True)
    time.sleep(60)
"""
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "writing"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    assert target.read_text() == "old complete file"
    leftovers = [p.name for p in tmp_path.iterdir() if p.name != "manifest.json"]
    assert all(name.startswith(".manifest.json.") and name.endswith(".tmp") for name in leftovers)


def test_refuses_append_mode(tmp_path):
    with pytest.raises(ValueError, match="whole files"):
        with atomic_open(tmp_path / "x", "a"):
            pass
