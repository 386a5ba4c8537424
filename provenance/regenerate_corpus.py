"""The corpus part of `audit regenerate`: sources, documents and each recipe's stages, rebuilt
as typed configs from their manifests and run through ``run_recipe``.

The ``sources`` manifest gives the raw files and snapshot settings, ``documents`` the reader
settings, and each ``<recipe>.<stage>`` manifest the stage's full step list, task count and
its place in the chain (``after``: the documents manifest id for the first stage, the sha256
of the previous stage's config after that).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from glassworks.canonical import canonical_sha256
from glassworks.config import from_dict
from glassworks.errors import GlassworksError

RECIPE_KEYS = {"recipe", "stage", "tasks", "after", "labelled_here"}
RECIPE_OPTIONAL_KEYS = {"sources", "recipe_files"}  # source -> shape; hashes of files beside the recipe


def plan_recipes(manifests: list[dict], documents: dict, data_dir: Path, sources: dict, workers: int):
    """RecipeConfigs rebuilt from the stage manifests, each with its stages in chain order."""
    from glassworks.pipeline.executors import ExecutorConfig
    from glassworks.pipeline.recipe import RecipeConfig, SourceSpec, StageSpec

    raw, docs = plan_raw(sources, data_dir), plan_documents(documents, workers)
    stages = [m for m in manifests if isinstance(m["config"], dict)
              and RECIPE_KEYS <= set(m["config"]) <= RECIPE_KEYS | RECIPE_OPTIONAL_KEYS
              and m["stage"]["name"].startswith(f"{m['config']['recipe']}.")]
    recipes, chains = [], {}
    for name in sorted({m["config"]["recipe"] for m in stages}):
        by_after = {m["config"]["after"]: m for m in stages if m["config"]["recipe"] == name}
        chain, after = [], documents["id"]
        while after in by_after:
            chain.append(by_after.pop(after))
            after = canonical_sha256(chain[-1]["config"])
        if not chain:
            continue
        specs, shapes, order, tasks = [], {}, [], {}
        for m in chain:
            origin = f"manifests/{m['id']}.json"
            spec = from_dict(StageSpec, m["config"]["stage"], origin=origin)
            read = sorted({rec["path"].split("/")[1] for rec in m["inputs"]["files"]
                           if rec.get("root", "run") == "run" and rec["path"].startswith("documents/")})
            recorded_shapes = m["config"].get("sources", {})
            for source in m["config"]["labelled_here"]:
                order.append(source)
                shapes[source] = recorded_shapes.get(source) or _shape_of(source, read, m["config"]["labelled_here"], origin)
            tasks.setdefault(m["config"]["tasks"], []).append(spec.name)
            specs.append((spec, m["config"]["tasks"]))
        default_tasks = max(tasks, key=lambda t: len(tasks[t]))
        specs = [spec if spec.tasks is not None or t == default_tasks else replace(spec, tasks=t) for spec, t in specs]
        recipe = RecipeConfig(name=name, sources=[SourceSpec(s, shapes[s]) for s in order], stages=specs, raw=raw,
                              documents=docs, executor=ExecutorConfig(tasks=default_tasks, workers=workers))
        recipes.append(recipe)
        chains[name] = chain
    return recipes, chains


def _shape_of(source: str, read: list[str], labelled: list[str], origin: str) -> str:
    """Which documents/<shape> a newly labelled source read, from the stage's recorded inputs."""
    if len(labelled) == 1 and len(read) == 1:
        return read[0]
    if source in ("web", "text", "code") and (source in read or not read):
        return source
    raise GlassworksError(f"{origin}: cannot tell which raw shape source {source!r} read "
                          f"(inputs under documents/{{{','.join(read)}}} for sources {labelled})")


def plan_raw(sources: dict, data_dir: Path):
    from glassworks.pipeline.sources import SourcesConfig

    return from_dict(SourcesConfig, {**sources["config"], "data_dir": str(data_dir)}, origin=f"manifests/{sources['id']}.json")


def plan_documents(documents: dict, workers: int):
    from glassworks.pipeline.ingest import DocumentsConfig

    return from_dict(DocumentsConfig, {**documents["config"], "workers": workers},
                     origin=f"manifests/{documents['id']}.json")



def run_corpus(manifests: list[dict], sources: dict, documents: dict, data_dir: Path, recipe_dir: Path, run: Path,
               workers: int) -> tuple[list[dict], dict[str, Path]]:
    """Re-run the corpus into ``run``: (the recorded manifests in data-flow order, and each
    regenerated recipe stage's output folder by stage name, e.g. ``dclm.quality``)."""
    from glassworks.pipeline.ingest import run_documents
    from glassworks.pipeline.recipe import run_recipe
    from glassworks.pipeline.sources import run_sources

    recipes, chains = plan_recipes(manifests, documents, data_dir, sources, workers)
    outs = {}
    for recipe in recipes:
        for result in run_recipe(recipe, run, origin=str(Path(recipe_dir) / f"{recipe.name}.yaml")):
            if result.out is not None:
                outs[f"{recipe.name}.{result.stage}"] = result.out
    if not recipes:  # only the two fixed stages were recorded
        run_sources(plan_raw(sources, data_dir), run)
        run_documents(plan_documents(documents, workers), run)
    return [sources, documents] + [m for name in sorted(chains) for m in chains[name]], outs
