"""Scale-out on the CPU: torchrun with 2 gloo processes, DDP and FSDP2, computes the same
losses as one process with the same global batch (phase 1: one micro-batch of 4 per rank
against two accumulated micro-batches of 4; phase 2: 2 per rank against 4 at once).

The DDP run writes its trainer state as DCP shards (``checkpoints.storage: dcp``), the FSDP
run as one consolidated file (the default); one process resumes either."""

import json
import shutil
import subprocess
import sys
import textwrap

import torch

from glassworks.model.train import train
from glassworks.model.train.run import RESUME_DIR

STOP = 14  # into phase 2: both contexts and a phase change


def test_ddp_and_fsdp_on_two_processes_match_one(reference, packed_run, tmp_path, losses, train_config):
    ref_dir, _ = reference
    runs = {mode: tmp_path / mode for mode in ("ddp", "fsdp")}
    for run in runs.values():
        shutil.copytree(packed_run, run)
    script = tmp_path / "two.py"
    script.write_text(textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {str(__import__("pathlib").Path(__file__).parent)!r})
        import torch.distributed as dist
        from conftest import make_config
        from glassworks.model.train import train
        dist.init_process_group("gloo")  # kept across the two runs (train() leaves a group it did not make)
        for mode, run in {{"ddp": {str(runs["ddp"])!r}, "fsdp": {str(runs["fsdp"])!r}}}.items():
            storage = "dcp" if mode == "ddp" else "safetensors"
            summary = train(make_config(runtime={{"threads": 1, "parallel": mode}}, checkpoints={{"storage": storage}}),
                            run, stop_at={STOP})
            assert summary.step == {STOP}, summary
        dist.destroy_process_group()
    """))
    done = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
                           str(script)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    expected = losses(ref_dir)[:STOP]
    for mode, run in runs.items():
        got = losses(run)
        assert [r[:2] for r in got] == [r[:2] for r in expected], mode  # (step, phase)
        torch.testing.assert_close([r[2] for r in got], [r[2] for r in expected], rtol=2e-5, atol=0, msg=mode)
        torch.testing.assert_close([r[4] for r in got], [r[4] for r in expected], rtol=1e-3, atol=0, msg=mode)
        if mode == "ddp":  # DCP shards of 2 ranks (replicated tensors written once), resumed on 1
            info = json.loads((run / RESUME_DIR / "trainer" / "trainer.json").read_text())
            assert info["storage"] == "dcp" and info["world_size"] == 2 and info["cursor"]["step"] == STOP
            assert train(train_config(checkpoints={"storage": "dcp"}), run, stop_at=STOP + 3).step == STOP + 3
            got = losses(run)
            torch.testing.assert_close([r[2] for r in got], [r[2] for r in losses(ref_dir)[:STOP + 3]],
                                       rtol=2e-5, atol=0, msg="ddp resumed on 1 process")
            continue
        # the checkpoint holds full (unsharded) tensors: one process can resume it
        from safetensors import safe_open

        with safe_open(str(run / RESUME_DIR / "model.safetensors"), "pt") as a, \
                safe_open(str(ref_dir / "checkpoints" / "step0000008-tokens0000000001088" / "model.safetensors"), "pt") as b:
            assert {k: a.get_slice(k).get_shape() for k in a.keys()} == {k: b.get_slice(k).get_shape() for k in b.keys()}
