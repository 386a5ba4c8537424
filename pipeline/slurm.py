"""Running a recipe on Slurm: one sbatch array job per stage and source, chained by dependency.

``glassworks corpus run RECIPE --executor slurm`` runs the quick ``sources`` and
``documents`` stages here, then writes (``--render-only``) or submits one job per stage and
source through datatrove's ``SlurmPipelineExecutor``, each depending on the job of the
previous stage of its source. The jobs use the same logging folders as a local run, so
once they have finished, running the same command with ``--executor local`` finds every
task completed, skips it, and records each stage's manifest from the tasks' stats.
"""

from __future__ import annotations

import copy
import json
from dataclasses import replace
from pathlib import Path

from glassworks.pipeline.executors import make_executor
from glassworks.pipeline.ingest import run_documents
from glassworks.pipeline.recipe import RecipeConfig, plan_stages
from glassworks.pipeline.sources import run_sources


def slurm_jobs(recipe: RecipeConfig, run_dir: Path, origin: str = "<recipe>", submit: bool = False) -> list[Path]:
    """Write the sbatch script of every stage and source; with ``submit``, launch them too."""
    import dill
    from datatrove.io import get_datafolder

    recipe = replace(recipe, executor=replace(recipe.executor, kind="slurm"))
    run_sources(recipe.raw, run_dir)
    documents, _ = run_documents(recipe.documents, run_dir)
    scripts, previous = [], {}
    for plan in plan_stages(recipe, run_dir, documents["id"], origin):
        plan.prepare()
        for job, step in ((job, step) for job in plan.jobs for step in job.passes):
            name = f"{recipe.name}.{plan.name}.{job.source}" + ("" if step.name == "main" else f".{step.name}")
            executor = make_executor(replace(recipe.executor, tasks=step.tasks), step.pipeline, step.logs, job_name=name)
            if submit:
                executor.depends = previous.get(job.source)
                executor.run()  # datatrove pickles the executor, writes launch_script.slurm, calls sbatch
                previous[job.source] = executor
                scripts.append(step.logs / "launch_script.slurm")
                continue
            folder = get_datafolder(str(step.logs))
            with folder.open("executor.pik", "wb") as handle:
                dill.dump(copy.copy(executor), handle)
            with folder.open("ranks_to_run.json", "w") as handle:  # what each array task reads
                json.dump(executor.get_incomplete_ranks(), handle)
            script = executor.get_launch_file_contents(
                executor.get_sbatch_args(max_array=step.tasks),
                f"srun -l -n 1 launch_pickled_pipeline {folder.resolve_paths('executor.pik')}",
            )
            path = run_dir / "slurm" / f"{name}.slurm"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(script, encoding="utf-8")
            scripts.append(path)
    return scripts
