"""`glassworks train CONFIG`: pre-train the decoder through the phases of a config."""

from __future__ import annotations

import signal
import sys
from pathlib import Path

import click

from glassworks.errors import GlassworksError


class _TrainCommand(click.Command):
    """``glassworks train CONFIG ...`` trains, exactly as before; ``glassworks train plan ...``
    hands the rest of the line to the plan command. A plain command rather than a group, so
    the training command's arguments, help and errors stay what they were (a config file
    named ``plan`` is still reachable as ``./plan``)."""

    subcommands: dict[str, click.Command] = {}

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] in self.subcommands:
            ctx._glassworks_sub = (args[0], list(args[1:]))
            return []
        return super().parse_args(ctx, args)

    def invoke(self, ctx: click.Context):
        sub = getattr(ctx, "_glassworks_sub", None)
        if sub is None:
            return super().invoke(ctx)
        command = self.subcommands[sub[0]]
        with command.make_context(sub[0], sub[1], parent=ctx) as sub_ctx:
            return command.invoke(sub_ctx)


@click.command("train", cls=_TrainCommand,
               epilog="Before renting GPUs: `glassworks train plan CONFIG --gpus N --gpu h100` prints memory per "
                      "GPU and time (see `glassworks train plan --help`).")
@click.argument("config", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--workdir", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Run directory holding data/<phase>/ and tokenizer/; checkpoints, logs and manifests go here.")
@click.option("--stop-at-step", type=click.IntRange(min=1), default=None,
              help="Stop after this global step with a resumable checkpoint (the same command resumes).")
@click.option("--dry-run", is_flag=True, help="Print the resolved config, model and step plan, then exit.")
@click.option("--render-slurm", "render_slurm", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write an sbatch script that runs this training on --nodes nodes (one torchrun per node, "
                   "c10d rendezvous on the first) and exit; submit it with `sbatch FILE`.")
@click.option("--nodes", type=click.IntRange(min=1), default=1, show_default=True, help="With --render-slurm: nodes.")
@click.option("--gpus-per-node", type=click.IntRange(min=0), default=8, show_default=True,
              help="With --render-slurm: GPUs per node (0: CPU nodes, gloo).")
@click.option("--procs-per-node", type=click.IntRange(min=1), default=None,
              help="With --render-slurm: training processes per node [default: --gpus-per-node].")
@click.option("--cpus-per-node", type=click.IntRange(min=1), default=None,
              help="With --render-slurm: CPUs per node (sbatch --cpus-per-task of the node's torchrun).")
@click.option("--partition", default="gpu", show_default=True, help="With --render-slurm: Slurm partition.")
@click.option("--time", "time_limit", default="48:00:00", show_default=True, help="With --render-slurm: time limit.")
@click.option("--rdzv-port", type=click.IntRange(1, 65535), default=29500, show_default=True,
              help="With --render-slurm: port of the rendezvous store on the first node.")
def train_command(config: Path, workdir: Path, stop_at_step: int | None, dry_run: bool, render_slurm: Path | None,
                  **slurm) -> None:
    """Train the model preset of CONFIG through its phases (e.g. 2k, then 4k context, then
    capability enhancement), from the packed shards of WORKDIR/data/<phase>/.

    Running the same command again resumes exactly where the run stopped. Under torchrun
    (`torchrun --nproc-per-node N -m glassworks.model.train CONFIG --workdir DIR`) the model is
    replicated (DDP) or sharded (FSDP2, runtime.parallel: fsdp). SIGTERM/SIGINT write a
    resumable checkpoint before exiting. Per-step metrics: WORKDIR/logs/train/metrics.jsonl.

    On Slurm: --render-slurm FILE --nodes N --gpus-per-node G writes an sbatch script that
    starts one torchrun per node, meeting at a c10d rendezvous on the first node; `sbatch
    FILE` runs (and, submitted again, resumes) the training.
    """
    from glassworks.model.train.config import load_train_config

    cfg = load_train_config(config)
    if render_slurm is not None:
        click.echo(_render_slurm(render_slurm, config, workdir, stop_at_step, cfg, **slurm))
        return
    changed = [f"--{k.replace('_', '-')}" for k, v in slurm.items() if v != _SLURM_DEFAULTS[k]]
    if changed:
        raise click.UsageError(f"{', '.join(changed)} only apply with --render-slurm FILE")
    if dry_run:
        click.echo(_plan(cfg, workdir))
        return
    from glassworks.model.train.run import train

    summary = train(cfg, workdir, progress=True, stop_at=stop_at_step)
    for line in summary.lines():
        click.echo(line)
    if summary.stopped_by in ("SIGTERM", "SIGINT"):
        sys.exit(128 + signal.Signals[summary.stopped_by].value)


@click.command("plan")
@click.argument("config", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--gpus", type=click.IntRange(min=1), default=1, show_default=True, help="GPUs in all (every node).")
@click.option("--gpu", type=click.Choice(["h100", "h200", "a100"]), default="h100", show_default=True,
              help="GPU model, for its bf16 peak, memory and bandwidth.")
@click.option("--mfu", type=click.FloatRange(min=0, max=1, min_open=True), default=0.4, show_default=True,
              help="Model FLOPs utilisation the time estimate assumes.")
@click.option("--mixture", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="The `data build` config of the phases: their context lengths and token budgets.")
@click.option("--workdir", type=click.Path(exists=True, file_okay=False, path_type=Path), default=None,
              help="A run directory whose packed data gives the phases' shapes and the vocabulary instead.")
def plan_command(config: Path, gpus: int, gpu: str, mfu: float, mixture: Path | None, workdir: Path | None) -> None:
    """Per-GPU memory (weights, gradients, AdamW state, activations at the configured
    micro-batch and activation checkpointing, under the configured DDP or FSDP2 sharding in
    bf16) and training time for the token budget at a stated MFU. Nothing is allocated.

    Example: glassworks train plan configs/train-7b.yaml --mixture configs/mixture-7b.yaml --gpus 64
    """
    from glassworks.config import load_config
    from glassworks.model.config import preset
    from glassworks.model.train import plan
    from glassworks.model.train.config import load_train_config

    cfg = load_train_config(config)
    shapes = plan.DataShapes([])
    if workdir is not None:
        shapes = plan.shapes_from_run(cfg, workdir)
    if mixture is not None:
        from glassworks.pipeline.tokens.mixture import MixtureConfig

        shapes = plan.DataShapes(load_config(mixture, MixtureConfig).phases, shapes.vocab_size)
    phases = plan.phase_plans(cfg, gpus, shapes)
    overrides = {"max_seq_len": max(p.seq_len for p in phases)}
    if shapes.vocab_size:
        overrides["vocab_size"] = shapes.vocab_size
    click.echo(plan.render(cfg, preset(cfg.model, **overrides), phases, gpus, plan.GPUS[gpu], mfu))


_TrainCommand.subcommands["plan"] = plan_command


_SLURM_DEFAULTS = {"nodes": 1, "gpus_per_node": 8, "procs_per_node": None, "cpus_per_node": None,
                   "partition": "gpu", "time_limit": "48:00:00", "rdzv_port": 29500}


def _render_slurm(path: Path, config: Path, workdir: Path, stop_at_step: int | None, cfg, time_limit: str,
                  **options) -> str:
    from glassworks.model.train.launch import SlurmLaunch, write_sbatch

    launch = SlurmLaunch(time=time_limit, **options)
    for phase in cfg.phases:  # an indivisible batch fails now, not after the queue
        phase.accumulation(launch.world_size)
    write_sbatch(path, config, workdir, launch, stop_at_step)
    return (f"wrote {path}: {launch.nodes} node(s) x {launch.procs} process(es); submit with: sbatch {path}")


def _plan(cfg, workdir: Path) -> str:
    from glassworks.config import dump_yaml
    from glassworks.model.config import format_count, parameter_count
    from glassworks.model.train.data import PhaseData
    from glassworks.model.train.run import model_config_for

    lines = [dump_yaml(cfg).rstrip(), "---"]
    data = [PhaseData.open(cfg.resolve(workdir, cfg.data) / p.name, p.name, p.batch_size, cfg.seed) for p in cfg.phases]
    model = model_config_for(cfg, data[0].dataset.vocab_size, max(d.seq_len for d in data))
    lines.append(f"model: {cfg.model} preset, {format_count(parameter_count(model))} parameters "
                 f"(vocab {model.vocab_size}, max_seq_len {model.max_seq_len})")
    for p, d in zip(cfg.phases, data):
        steps = p.steps or d.steps_per_pass
        lines.append(f"{p.name}: {len(d.dataset):,} sequences x {d.seq_len}, batch {p.batch_size}, {steps} steps, "
                     f"{steps * p.batch_size * d.seq_len:,} tokens")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """`python -m glassworks.model.train`: the command alone, with the CLI's error conventions."""
    try:
        train_command.main(args=argv, prog_name="glassworks train", standalone_mode=False)
    except click.UsageError as exc:
        click.echo(f"glassworks train: error: {' '.join(exc.format_message().split())}", err=True)
        return 2
    except GlassworksError as exc:
        click.echo(f"glassworks: error: {exc}", err=True)
        return 1
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0
