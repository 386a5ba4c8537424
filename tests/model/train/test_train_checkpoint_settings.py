"""Checkpoints never change the run: whatever the checkpoint settings (trainer state in the
kept checkpoints or weights only; the intermediate schedule on or off), the same recipe ends
with bit-identical weights, and AdamW's step counter equals the number of updates.

Before the fix, saving the step-0 checkpoint with trainer state made torch create AdamW's
state by a zero-gradient step: the counter read 1 at step 0 and 29 after 28 updates, and the
run drifted from step 2 on."""

import json

import pytest
from safetensors.torch import load_file

from glassworks.model.train import train

NO_SCHEDULE = {"log_spaced_until": 0, "every": 10_000, "resume_every": 0}  # only step 0 and phase ends
SETTINGS = {
    "weights-only": {"trainer_state": False},
    "state-no-schedule": {"trainer_state": True, **NO_SCHEDULE},
    "weights-only-no-schedule": {"trainer_state": False, **NO_SCHEDULE},
}


def adam_steps(checkpoint) -> set[int]:
    """Every AdamW step counter saved in a checkpoint (empty before the first update)."""
    state = load_file(str(checkpoint / "trainer" / "optimizer.safetensors"))
    return {int(t.item()) for key, t in state.items() if key.endswith("/step")}


def cursor_step(checkpoint) -> int:
    return json.loads((checkpoint / "trainer" / "trainer.json").read_text())["cursor"]["step"]


@pytest.mark.parametrize("setting", list(SETTINGS))
def test_every_checkpoint_setting_ends_with_the_same_weights(setting, reference, run_dir, train_config, losses):
    ref_dir, ref = reference  # the default: trainer state in every kept checkpoint, schedule on
    summary = train(train_config(checkpoints=SETTINGS[setting]), run_dir)
    assert summary.complete
    assert losses(run_dir) == losses(ref_dir)
    final = "checkpoints/final/model.safetensors"
    assert (run_dir / final).read_bytes() == (ref_dir / final).read_bytes(), setting
    assert adam_steps(run_dir / "checkpoints" / "final") == {ref.total_steps}
    kept = sorted(p.name for p in (run_dir / "checkpoints").iterdir())
    if "no-schedule" in setting:  # step 0, the ends of phases 1 and 2, final
        assert len(kept) == 4, kept


def test_adam_step_equals_the_updates_in_every_checkpoint(reference):
    ref_dir, ref = reference
    checkpoints = sorted((ref_dir / "checkpoints").iterdir(), key=cursor_step)
    assert len(checkpoints) == 9
    for path in checkpoints:
        step = cursor_step(path)
        assert adam_steps(path) == (set() if step == 0 else {step}), path.name
    # the step-0 checkpoint, written without torch's getter, names its param groups as torch does
    groups = [json.loads((p / "trainer" / "trainer.json").read_text())["param_groups"] for p in checkpoints[:2]]
    assert cursor_step(checkpoints[0]) == 0 and cursor_step(checkpoints[1]) == 1
    assert [{k: v for k, v in g.items() if k != "lr"} for g in groups[0]] == \
        [{k: v for k, v in g.items() if k != "lr"} for g in groups[1]]


def test_resuming_from_the_step_0_checkpoint_is_bit_identical(reference, run_dir, train_config, losses):
    """Restoring a checkpoint written before any update must leave AdamW's state empty too."""
    import shutil

    ref_dir, ref = reference
    step0 = min((ref_dir / "checkpoints").iterdir(), key=cursor_step)
    assert cursor_step(step0) == 0
    shutil.copytree(step0, run_dir / "checkpoints" / step0.name)
    summary = train(train_config(checkpoints=NO_SCHEDULE), run_dir)
    assert summary.complete
    assert losses(run_dir) == losses(ref_dir)
    final = "checkpoints/final/model.safetensors"
    assert (run_dir / final).read_bytes() == (ref_dir / final).read_bytes()
