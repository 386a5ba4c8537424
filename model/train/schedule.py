"""Two pure functions of the step: the learning rate, and which steps keep a checkpoint.

Being pure is what makes the schedule's state trivial to checkpoint: the step is all of it.
Steps count optimizer updates: ``lr_at(s)`` is the rate of update ``s + 1``, and the
checkpoint "at step s" holds the weights after ``s`` updates (step 0: the initialisation).
"""

from __future__ import annotations

import math

from glassworks.model.train.config import CheckpointConfig, ScheduleConfig


def lr_at(step: int, total_steps: int, peak: float, schedule: ScheduleConfig) -> float:
    """Linear warmup over ``warmup_steps`` updates (the first one already at peak / warmup),
    then a cosine from the peak down to ``final_lr_ratio * peak`` at the last update."""
    warmup = schedule.warmup_steps
    if step < warmup:
        return peak * ((step + 1) / warmup)
    floor = peak * schedule.final_lr_ratio
    decay_steps = total_steps - warmup - 1
    progress = min(1.0, (step - warmup) / decay_steps) if decay_steps > 0 else 1.0
    return floor + (peak - floor) * 0.5 * (1.0 + math.cos(math.pi * progress))


def kept_steps(total_steps: int, config: CheckpointConfig, phase_ends: list[int]) -> list[int]:
    """Steps that keep an intermediate checkpoint: 0, powers of two up to ``log_spaced_until``,
    multiples of ``every``, and the end of each phase (the last one is ``final``)."""
    steps = {0, *phase_ends}
    power = 1
    while power <= min(config.log_spaced_until, total_steps):
        steps.add(power)
        power *= 2
    steps.update(range(config.every, total_steps + 1, config.every))
    return sorted(s for s in steps if s <= total_steps)


def checkpoint_name(step: int, tokens_seen: int) -> str:
    """``step0000128-tokens0000000524288``: sorts by step, and says how far training was."""
    return f"step{step:07d}-tokens{tokens_seen:013d}"
