"""Multi-node training on Slurm: ``glassworks train CONFIG --workdir RUN --render-slurm FILE``
writes an sbatch script; ``sbatch FILE`` runs it.

The script starts one ``torchrun`` per node (``srun`` with one task per node), and the
torchruns meet through a c10d rendezvous: its store lives on the job's first node (the
first name ``scontrol show hostnames`` gives for the allocation), at a fixed port, under an
id unique to the job (``glassworks-train-$SLURM_JOB_ID``), so two jobs on shared nodes
never join each other. Each torchrun then starts one training process per GPU (or per
``--procs-per-node`` on CPU nodes, gloo), and the trainer reads its rank from torchrun's
environment like any other torchrun launch. Nothing here submits: the script is a file a
person can read, edit and keep next to the run.

The interpreter is the one rendering the script (an absolute path: clusters share their
file systems), so the job runs the same glassworks. A job cut short by its time limit
resumes with the same ``sbatch FILE``; to end cleanly before the limit pass
``--stop-at-step``, which the script forwards.

This module imports no torch.
"""

from __future__ import annotations

import shlex
import sys
from dataclasses import dataclass
from pathlib import Path

from glassworks.errors import ConfigError


@dataclass(frozen=True)
class SlurmLaunch:
    """What the sbatch script asks of the cluster and how torchrun is started on it."""

    nodes: int = 1
    gpus_per_node: int = 8
    """GPUs requested on every node (``--gpus-per-node``); 0 on CPU nodes."""
    procs_per_node: int | None = None
    """Training processes per node; None: one per GPU (required when gpus_per_node is 0)."""
    cpus_per_node: int | None = None
    """CPUs requested for each node's torchrun (None: the partition's default); split evenly
    into the processes' OMP_NUM_THREADS."""
    partition: str = "gpu"
    time: str = "48:00:00"
    rdzv_port: int = 29500
    """TCP port of the c10d rendezvous store on the first node."""
    job_name: str = "glassworks-train"

    def __post_init__(self):
        if self.nodes < 1 or self.gpus_per_node < 0 or not 0 < self.rdzv_port < 65536:
            raise ConfigError("--nodes must be >= 1, --gpus-per-node >= 0 and --rdzv-port a TCP port")
        if self.gpus_per_node == 0 and not self.procs_per_node:
            raise ConfigError("--gpus-per-node 0 (CPU nodes) needs --procs-per-node, the processes per node")
        if self.procs_per_node is not None and self.procs_per_node < 1:
            raise ConfigError("--procs-per-node must be >= 1")

    @property
    def procs(self) -> int:
        return self.procs_per_node or self.gpus_per_node

    @property
    def world_size(self) -> int:
        return self.nodes * self.procs


def render_sbatch(config: Path, workdir: Path, launch: SlurmLaunch, stop_at_step: int | None = None,
                  python: str = sys.executable) -> str:
    """The sbatch script that trains CONFIG in WORKDIR on ``launch.nodes`` nodes."""
    config, workdir = Path(config).resolve(), Path(workdir).resolve()
    q = shlex.quote
    lines = ["#!/bin/bash",
             f"#SBATCH --job-name={launch.job_name}",
             f"#SBATCH --partition={launch.partition}",
             f"#SBATCH --nodes={launch.nodes}",
             "#SBATCH --ntasks-per-node=1",  # one torchrun per node; it forks the training processes
             f"#SBATCH --time={launch.time}",
             f"#SBATCH --output={workdir}/logs/train/slurm-%j.out"]
    if launch.gpus_per_node:
        lines.append(f"#SBATCH --gpus-per-node={launch.gpus_per_node}")
    if launch.cpus_per_node:
        lines.append(f"#SBATCH --cpus-per-task={launch.cpus_per_node}")
    train = [python, "-m", "glassworks.model.train", str(config), "--workdir", str(workdir)]
    if stop_at_step is not None:
        train += ["--stop-at-step", str(stop_at_step)]
    threads = max(1, launch.cpus_per_node // launch.procs) if launch.cpus_per_node else 1
    lines += [
        "",
        f"# {launch.nodes} node(s) x {launch.procs} process(es) = {launch.world_size} ranks; written by "
        "`glassworks train --render-slurm`",
        "set -euo pipefail",
        "# the rendezvous store runs on the allocation's first node",
        'nodes=($(scontrol show hostnames "$SLURM_JOB_NODELIST"))',
        'head_node=${nodes[0]}',
        f"export OMP_NUM_THREADS={threads}",
        f'echo "glassworks train: {launch.world_size} ranks, rendezvous at $head_node:{launch.rdzv_port}, '
        'job $SLURM_JOB_ID"',
        f"srun --nodes={launch.nodes} --ntasks-per-node=1 --kill-on-bad-exit=1 \\",
        f"  {q(python)} -m torch.distributed.run --nnodes={launch.nodes} --nproc-per-node={launch.procs} \\",
        f'  --rdzv-backend=c10d --rdzv-endpoint="$head_node:{launch.rdzv_port}" '
        '--rdzv-id="glassworks-train-$SLURM_JOB_ID" --max-restarts=0 \\',
        "  " + " ".join(q(a) for a in train[1:]),
        "",
    ]
    return "\n".join(lines)


def write_sbatch(path: Path, config: Path, workdir: Path, launch: SlurmLaunch,
                 stop_at_step: int | None = None) -> Path:
    """Write the script (executable) and return its path. Creates the log folder now: Slurm
    opens the job's output file before the script runs, and fails the job if it cannot."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    (Path(workdir) / "logs" / "train").mkdir(parents=True, exist_ok=True)
    path.write_text(render_sbatch(config, workdir, launch, stop_at_step), encoding="utf-8")
    path.chmod(0o755)
    return path
