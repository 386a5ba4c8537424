"""Resume: the dedup command SIGKILLed at several points (after passes, in the middle of writing,
after the manifest) and started again with the same command ends with the same bytes as a run
that was never interrupted, redoing only what had not finished; and a run directory as input."""

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from glassworks.cli import main
from glassworks.pipeline.dedup.cli import recipe_finals
from glassworks.provenance.identity import git_state

REPO = Path(__file__).resolve().parents[3]
GLASSWORKS = Path(sys.executable).parent / "glassworks"


def _glassworks(args: list[str], logs: Path, kill_at: str | None = None) -> tuple[int, str]:
    """Run the command in its own process group; (exit status, stderr). After it ends, whatever it
    left behind (datatrove's multiprocess manager outlives a SIGKILLed parent) is killed too,
    as a scheduler kills a crashed job's whole group."""
    env = {**os.environ, "GLASSWORKS_DEDUP_KILL_AT": kill_at} if kill_at else dict(os.environ)
    env.pop("GLASSWORKS_DEDUP_KILL_AT", None) if not kill_at else None
    with open(logs, "w") as err:
        proc = subprocess.Popen([str(GLASSWORKS), *args], env=env, stdout=subprocess.DEVNULL, stderr=err,
                                start_new_session=True)
        try:
            code = proc.wait(timeout=120)
        finally:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
    return code, logs.read_text()


def _tree(out: Path, same_code: bool = True) -> dict[str, bytes]:
    """Every output file's bytes, and every manifest without its run (timestamps, host) section;
    without its code identity too (and so its digest and id) when ``same_code`` is false, for a
    commit that landed between two runs of a test in a shared working tree."""
    files = {}
    for path in sorted(out.rglob("*")):
        rel = path.relative_to(out).as_posix()
        if not path.is_file() or rel.startswith(("logs/", "reports/")):
            continue
        if rel.startswith("manifests/"):
            manifest = json.loads(path.read_text())
            manifest.pop("run")
            if not same_code:
                rel = f"manifests/{manifest['stage']['name']}"
                for key in ("code", "digest", "id"):
                    manifest.pop(key)
            files[rel] = json.dumps(manifest, sort_keys=True).encode()
        else:
            files[rel] = path.read_bytes()
    return files


def test_killed_runs_resume_to_the_same_bytes(corpus_run, tmp_path):
    in_dir = corpus_run / "corpus" / "slimpajama" / "language"
    args = ["corpus", "dedup", str(in_dir), "OUT", "--config", str(REPO / "configs" / "dedup-demo.yaml"), "--tasks", "2"]
    reference = tmp_path / "reference"
    assert main([a if a != "OUT" else str(reference) for a in args]) == 0

    out = tmp_path / "resumed"
    command = [a if a != "OUT" else str(out) for a in args]
    signatures = out / "logs" / "dedup" / "work" / "signatures" / "00000.bin"
    stamp, commit = None, git_state.__wrapped__()  # not the cached value: a commit may land meanwhile
    for point in ("signatures", "paragraphs", "write:25", "filter", "recorded"):
        code, stderr = _glassworks(command, tmp_path / "stderr.txt", kill_at=point)
        assert code == -signal.SIGKILL, (point, stderr[-2000:])
        if git_state.__wrapped__() != commit:  # another code identity: the run rightly started afresh
            pytest.skip("a commit landed in this working tree during the test")
        if stamp is not None:  # finished work is kept, not redone
            assert signatures.stat().st_mtime_ns == stamp, point
            assert "dedup.signatures: done before, kept" in stderr, stderr
        stamp = signatures.stat().st_mtime_ns
        if point == "recorded":  # killed after the filter pass: all six passes were kept
            assert stderr.count("done before, kept") == 6, stderr
    code, stderr = _glassworks(command, tmp_path / "stderr.txt")
    assert code == 0, stderr[-2000:]
    assert stderr.count("done before, kept") == 6
    assert not (out / "logs" / "dedup" / "state.json").exists()
    codes = [json.loads(next((d / "manifests").glob("dedup-*.json")).read_text())["code"] for d in (out, reference)]
    same_code = codes[0]["git_commit"] == codes[1]["git_commit"]
    assert _tree(out, same_code) == _tree(reference, same_code)
    assert len(list((out / "manifests").glob("dedup-*.json"))) == 1


def test_changed_input_starts_afresh(corpus_run, tmp_path):
    src = tmp_path / "in" / "docs"
    src.mkdir(parents=True)
    shutil.copy(next((corpus_run / "corpus" / "stack" / "near_dedup").rglob("*.jsonl.gz")), src / "a.jsonl.gz")
    out = tmp_path / "out"
    command = ["corpus", "dedup", str(src), str(out)]
    code, _ = _glassworks(command, tmp_path / "stderr.txt", kill_at="clusters")
    assert code == -signal.SIGKILL
    os.utime(src / "a.jsonl.gz", ns=(1, 1))  # the input changed since: nothing of the killed run may be reused
    code, stderr = _glassworks(command, tmp_path / "stderr.txt")
    assert code == 0 and "done before" not in stderr


def test_run_directory_as_input(corpus_run, tmp_path, capsys):
    finals = recipe_finals(corpus_run)
    assert finals == {"dclm": corpus_run / "corpus/dclm/quality", "slimpajama": corpus_run / "corpus/slimpajama/language",
                      "stack": corpus_run / "corpus/stack/near_dedup"}
    assert recipe_finals(corpus_run, ["stack"]) == {"stack": finals["stack"]}
    run = tmp_path / "run"
    shutil.copytree(corpus_run, run, ignore=shutil.ignore_patterns("logs"))
    assert main(["corpus", "dedup", "--run", str(run), "--recipes", "stack,dclm"]) == 0
    printed = capsys.readouterr().out
    assert "dclm: " in printed and "stack: " in printed and "slimpajama" not in printed
    assert sorted(p.name for p in (run / "dedup" / "kept").iterdir()) == ["dclm", "stack"]
    manifest = json.loads(next((run / "manifests").glob("dedup-*.json")).read_text())
    assert {u.rsplit("-", 1)[0] for u in manifest["upstream"]} == {"dclm.quality", "stack.near_dedup"}
    assert main(["corpus", "dedup", "--run", str(run), "--recipes", "nope"]) == 1
    assert "recipes found: dclm, slimpajama, stack" in capsys.readouterr().err
