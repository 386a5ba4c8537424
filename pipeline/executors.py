"""Which datatrove executor runs a stage: local (default), Ray or Slurm, chosen by config.

Stages are built the same way whatever runs them; only this factory changes. Local runs
resume after a crash: a finished task leaves a completion marker and is skipped on the
next run with the same command, and a task that did not finish is run again from the
start, overwriting its partial shard files (they are named by task rank).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal


@dataclass(frozen=True)
class SlurmOptions:
    """What the generated sbatch script asks of the cluster."""

    partition: str = "cpu"
    time: str = "04:00:00"  # per task array job
    cpus_per_task: int = 1
    mem_per_cpu_gb: int = 2
    sbatch_args: dict[str, str] = field(default_factory=dict)  # extra #SBATCH options
    env_command: str = ""  # shell line that prepares the job; default: activate this Python's venv


@dataclass(frozen=True)
class ExecutorConfig:
    """How the tasks of each stage are run."""

    kind: Literal["local", "ray", "slurm"] = "local"
    tasks: int = 1  # files (or repositories) are split over this many tasks; part of the output layout
    workers: int = 1  # tasks run at once (local, ray); does not change the output bytes
    slurm: SlurmOptions = field(default_factory=SlurmOptions)

    def __post_init__(self):
        if self.tasks < 1 or self.workers < 1:
            raise ValueError("tasks and workers must be at least 1")


def make_executor(config: ExecutorConfig, pipeline: list, logging_dir: Path, job_name: str,
                  start_method: str = "fork"):
    """A datatrove executor for one stage of one source. ``start_method`` (local workers):
    fork, not datatrove's default forkserver, so that workers inherit the parent's quieted
    stderr (their full logs still go to logging_dir/logs/task_*.log); a stage that runs in a
    process whose other threads may hold locks (the tokenizer's, torch's) asks for spawn, since a
    forked worker can inherit such a lock held and wait on it forever."""
    if config.kind == "local":
        from datatrove.executor import LocalPipelineExecutor

        return LocalPipelineExecutor(pipeline=pipeline, tasks=config.tasks, workers=config.workers,
                                     logging_dir=str(logging_dir), skip_completed=True, start_method=start_method)
    if config.kind == "ray":
        from datatrove.executor import RayPipelineExecutor

        return RayPipelineExecutor(pipeline=pipeline, tasks=config.tasks, workers=config.workers,
                                   logging_dir=str(logging_dir), skip_completed=True)
    from datatrove.executor import SlurmPipelineExecutor

    s = config.slurm
    return SlurmPipelineExecutor(
        pipeline=pipeline, tasks=config.tasks, workers=config.workers, logging_dir=str(logging_dir),
        job_name=job_name, partition=s.partition, time=s.time, cpus_per_task=s.cpus_per_task,
        mem_per_cpu_gb=s.mem_per_cpu_gb, sbatch_args=dict(s.sbatch_args), skip_completed=True,
        env_command=s.env_command or _activate_this_python(),
    )


def _activate_this_python() -> str:
    """The line that puts the jobs on the interpreter running glassworks now."""
    import sys

    if sys.prefix != sys.base_prefix:
        return f"source {Path(sys.prefix) / 'bin' / 'activate'}"
    return f"export PATH={Path(sys.executable).parent}:$PATH"
