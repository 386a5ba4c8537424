"""`glassworks eval`: evaluate checkpoints offline with lm-eval and the shipped suites.

Imports only click at top level: ``glassworks --help`` must not load torch or lm-eval.
"""

from __future__ import annotations

from pathlib import Path

import click

_dir = click.Path(exists=True, file_okay=False, path_type=Path)


def _tasks(ctx, param, value: str) -> tuple[str, ...]:
    names = tuple(t.strip() for t in value.split(",") if t.strip())
    if not names:
        raise click.BadParameter("name at least one task", ctx=ctx, param=param)
    return names


@click.command("eval", no_args_is_help=True)
@click.argument("checkpoints", nargs=-1, type=_dir)
@click.option("--tasks", default="glassworks_heldout", show_default=True, callback=_tasks,
              help="Comma-separated lm-eval tasks or groups: glassworks_heldout (built from data/), "
                   "heldout_cloze_<source>, heldout_ppl_<source>, local_suite or local_arc_easy, "
                   "local_arc_challenge, local_hellaswag, local_piqa, local_winogrande, local_mmlu (with --task-data).")
@click.option("--limit", type=click.IntRange(min=1), default=None, help="At most N documents per task.")
@click.option("--num-fewshot", type=click.IntRange(min=0), default=None, help="Few-shot examples per prompt.")
@click.option("--batch-size", type=click.IntRange(min=1), default=8, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True, help="lm-eval's random seeds.")
@click.option("--threads", type=click.IntRange(min=1), default=None,
              help="torch CPU threads (default: torch's choice; 1 is faster for tiny models).")
@click.option("--workdir", type=click.Path(file_okay=False, path_type=Path), default=Path("glassworks-eval"),
              show_default=True, help="Run directory: eval/<checkpoint>/results.json and manifests/ go here.")
@click.option("--data-dir", type=_dir, default=None,
              help="The embedded corpus the held-out suite is built from (default: the repository's data/).")
@click.option("--task-data", type=_dir, default=None,
              help="Folder of local copies of the standard suites (evals/tasks/local/README.md).")
@click.option("--include-path", type=_dir, default=None, help="Extra folder of lm-eval task YAMLs.")
@click.option("--suite-only", is_flag=True,
              help="Only build the held-out suite into WORKDIR/eval/suite (with heldout-ids.txt, the ids a "
                   "mixture's corpus.exclude_ids leaves out of training); no checkpoint needed.")
@click.option("--verbose", is_flag=True, help="Show lm-eval's own log lines and progress bars.")
@click.option("--train-data", type=_dir, multiple=True,
              help="Packed phase directory (RUN/data/<phase>) to measure contamination against; repeatable. "
                   "A folder of phase directories stands for all of them.")
def eval_command(checkpoints: tuple[Path, ...], tasks: tuple[str, ...], limit: int | None, num_fewshot: int | None,
                 batch_size: int, seed: int, threads: int | None, workdir: Path, data_dir: Path | None, task_data: Path | None,
                 include_path: Path | None, suite_only: bool, verbose: bool, train_data: tuple[Path, ...]) -> None:
    """Evaluate CHECKPOINTS (glassworks checkpoint directories) offline with lm-eval.

    Writes WORKDIR/eval/<checkpoint>/results.json (lm-eval's results format plus a
    `glassworks` block: checkpoint hash and training state, task data hashes, lm-eval
    version, contamination) and a provenance manifest per checkpoint. With several
    checkpoints it is a sweep: WORKDIR/eval/sweep.json holds each metric against tokens
    seen with a power-law fit on the early checkpoints and its error on the later ones,
    and WORKDIR/eval/sweep.png plots them. Nothing is downloaded.
    """
    import contextlib

    from glassworks.evals.run import EvalConfig, prepare_suite, quiet_lm_eval
    from glassworks.evals.sweep import SweepConfig, sweep
    from glassworks.provenance.identity import source_root

    config = EvalConfig(tasks=tasks, limit=limit, num_fewshot=num_fewshot, batch_size=batch_size, seed=seed,
                        threads=threads)
    if suite_only:
        suite = prepare_suite(workdir, config, data_dir or source_root() / "data")
        held = (suite / "heldout-ids.txt").read_text(encoding="utf-8").split()
        click.echo(f"held-out suite: {suite} ({len(held)} documents held out: {suite / 'heldout-ids.txt'})")
        return
    if not checkpoints:
        raise click.UsageError("name at least one checkpoint directory (or use --suite-only)")
    phases = []
    for path in train_data:
        phases += [path] if (path / "index.json").is_file() else sorted(p.parent for p in path.glob("*/index.json"))
    with contextlib.nullcontext() if verbose else quiet_lm_eval():
        summary = sweep(list(checkpoints), workdir, SweepConfig(eval=config),
                        data_dir=data_dir or source_root() / "data", task_data=task_data,
                        train_data=phases or None, include_path=include_path)
    last = summary["checkpoints"][-1]
    click.echo(f"{'metric':<44} {last['name']:>14}")
    for key in sorted(k for k in last if "/" in k):
        click.echo(f"{key:<44} {last[key]:>14.4f}")
    for metric, fit in sorted(summary["predictability"].items()):
        click.echo(f"predictability {metric}: fitted on {len(fit['fitted_on'])}, relative error {fit['rel_error']:.2%}")
    if summary["contamination"]:
        for task, c in summary["contamination"]["tasks"].items():
            click.echo(f"contamination {task}: {c['docs_contaminated']}/{c['docs']} documents mostly made of "
                       f"training {summary['contamination']['ngram']}-grams ({c['docs_any_overlap']} share any), "
                       f"mean coverage {c['mean_coverage']:.1%}")
    click.echo(f"results: {workdir / 'eval'}/<checkpoint>/results.json; sweep: {summary['sweep']}; plot: {summary['plot']}")
