"""`audit regenerate`: rebuild the corpus from the raw inputs the manifests name, and compare.

The manifests are the only instructions: the ``sources`` manifest gives the raw input
files (with their hashes) and the snapshot settings, ``documents`` the reader settings,
and each ``<recipe>.<stage>`` manifest the stage's full step list, task count and the
chain to the stage before it (``after``: the documents manifest id for the first stage, the
sha256 of the previous stage's config after that). From those the recipes are rebuilt as
typed configs and run through the pipeline's public functions (``run_recipe``) into a fresh
run directory; then every recorded output is compared with the regenerated file by sha256,
stage by stage in data-flow order, and the first stage and file that diverge are named.

Raw inputs come from ``--root data=DIR`` or, for a bundle, from the ``data/`` folder of its
code archive (the embedded corpus is part of the repository), extracted member by member
after path checks. Files that ``{recipe}/...`` step parameters name (e.g. an opt-out list)
come from ``--recipe-dir`` or the ``configs/`` of the code. Stages of other kinds (dedup,
tokenizer, training, release) are listed as not regenerated.
"""

from __future__ import annotations

import shutil
import tarfile
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable

from glassworks.canonical import canonical_sha256
from glassworks.config import from_dict
from glassworks.errors import GlassworksError
from glassworks.provenance.bundle import find_code_archives, is_bundle, scan_archive
from glassworks.provenance.hashing import sha256_file
from glassworks.provenance.manifest import load_manifest, validate_manifest
from glassworks.provenance.paths import UnsafePath, resolve_inside, unsafe_reason

RECIPE_KEYS = {"recipe", "stage", "tasks", "after", "labelled_here"}
RECIPE_OPTIONAL_KEYS = {"sources", "recipe_files"}  # source -> shape; hashes of files beside the recipe


@dataclass
class StageComparison:
    """One recorded stage against its regenerated twin."""

    stage: str
    recorded: str  # manifest id
    regenerated: str | None = None
    files: int = 0
    matched: int = 0
    problems: list[tuple[str, str]] = field(default_factory=list)  # (file, what differs), sorted by file

    @property
    def ok(self) -> bool:
        return not self.problems and self.regenerated is not None


@dataclass
class RegenerateResult:
    source: Path
    workdir: Path
    stages: list[StageComparison] = field(default_factory=list)
    not_regenerated: list[str] = field(default_factory=list)  # manifest ids of other kinds of stage
    same_ids: bool = False  # every regenerated manifest has the recorded id (same code identity too)

    @property
    def ok(self) -> bool:
        return bool(self.stages) and all(s.ok for s in self.stages)

    @property
    def first_divergence(self) -> tuple[str, str, str] | None:
        """(stage, file, what differs) of the first stage in data-flow order that diverges."""
        for stage in self.stages:
            if stage.problems:
                return (stage.stage, *stage.problems[0])
            if stage.regenerated is None:
                return stage.stage, "", "the stage was not regenerated"
        return None

    def lines(self) -> list[str]:
        out = [f"{'stage':32} {'files':>6} {'match':>6}  result"]
        for s in self.stages:
            verdict = "identical" if s.ok else (f"{len(s.problems)} differ" if s.problems else "not regenerated")
            out.append(f"{s.stage:32} {s.files:6d} {s.matched:6d}  {verdict}")
        for mid in self.not_regenerated:
            out.append(f"{mid:32} {'-':>6} {'-':>6}  not a corpus stage: not regenerated")
        first = self.first_divergence
        if first is None and self.ok:
            ids = "and every manifest id" if self.same_ids else "(manifest ids differ: other code or library versions)"
            out.append(f"REGENERATED: every recorded corpus file matches bit for bit {ids}; run in {self.workdir}")
        else:
            stage, file, what = first or ("-", "", "nothing to regenerate")
            out.append(f"DIVERGED: first at stage {stage}" + (f", file {file}" if file else "") + f": {what}")
        return out

    def as_json(self) -> dict:
        first = self.first_divergence
        return {
            "source": str(self.source), "workdir": str(self.workdir), "ok": self.ok, "same_ids": self.same_ids,
            "first_divergence": None if first is None else dict(zip(("stage", "file", "detail"), first)),
            "stages": [{"stage": s.stage, "recorded": s.recorded, "regenerated": s.regenerated, "files": s.files,
                        "matched": s.matched, "problems": [list(p) for p in s.problems]} for s in self.stages],
            "not_regenerated": self.not_regenerated,
        }


def _load_manifests(path: Path) -> list[dict]:
    folder = path / "manifests"
    if not folder.is_dir():
        raise GlassworksError(f"{path}: no manifests/ folder: not a run directory or bundle")
    manifests = []
    for file in sorted(folder.glob("*.json")):
        manifest = load_manifest(file)
        problems = validate_manifest(manifest)
        if problems:
            raise GlassworksError(f"{file}: not a valid manifest ({problems[0]}); `glassworks audit verify` says more")
        manifests.append(manifest)
    return manifests


def _one(manifests: list[dict], stage: str) -> dict | None:
    found = [m for m in manifests if m["stage"]["name"] == stage]
    if len(found) > 1:
        raise GlassworksError(f"{len(found)} '{stage}' manifests ({', '.join(m['id'] for m in found)}): "
                              "regenerate needs one run of the corpus stages per directory")
    return found[0] if found else None


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


def _code_archive(path: Path) -> Path:
    candidates = [*path.glob("code.*"), *path.glob("code/*")]
    archives = find_code_archives(sorted(p.relative_to(path).as_posix() for p in candidates
                                         if p.is_file() and not p.is_symlink()))
    if not archives:
        raise GlassworksError(f"{path}: the bundle ships no code archive (code/*.tar[.gz]) to take raw inputs from; "
                              "give --root data=DIR")
    return path / archives[0]


def extract_members(archive: Path, wanted: Callable[[str], bool], dest: Path) -> set[str]:
    """Write the archive members (named relative to the repository root) that ``wanted``
    accepts under ``dest``; returns their names. Only regular files whose names pass the
    path checks are written, by streaming copy; nothing in the archive is run."""
    prefix = scan_archive(archive, archive.name, set()).prefix
    found = set()
    with tarfile.open(archive, mode="r|*") as tar:
        for member in tar:
            if not member.isfile() or not member.name.startswith(prefix):
                continue
            name = member.name[len(prefix):]
            if unsafe_reason(name) or not wanted(name):
                continue
            target = resolve_inside(dest, name)
            target.parent.mkdir(parents=True, exist_ok=True)
            with tar.extractfile(member) as src, open(target, "wb") as out:
                shutil.copyfileobj(src, out, 1 << 20)
            found.add(name)
    return found


def _inputs(path: Path, workdir: Path, sources: dict, roots: dict, recipe_dir: Path | None) -> tuple[Path, Path]:
    """(data dir, recipe dir) for the re-run: given, or for a bundle taken out of its code
    archive (the raw files the sources manifest names, and configs/), else this checkout's."""
    from glassworks.provenance.identity import source_root

    raw = {f"data/{rec['path']}" for rec in sources["inputs"]["files"] if rec.get("root") == "data"}
    take_raw, take_configs = "data" not in roots, recipe_dir is None
    inputs = workdir / "inputs"
    if is_bundle(path) and (take_raw or take_configs):
        archive = _code_archive(path)
        found = extract_members(archive, lambda name: (take_raw and name in raw)
                                or (take_configs and name.startswith("configs/")), inputs)
        if take_raw and not found & raw:
            raise GlassworksError(f"{archive}: holds none of the raw inputs the sources manifest names; give --root data=DIR")
    source = inputs if is_bundle(path) else source_root()  # where what was not given comes from
    data_dir = source / "data" if take_raw else Path(roots["data"])
    return data_dir, source / "configs" if take_configs else Path(recipe_dir)


def _check_raw(sources: dict, data_dir: Path) -> list[tuple[str, str]]:
    problems = []
    for rec in sources["inputs"]["files"]:
        if rec.get("root") != "data":
            continue
        try:
            target = resolve_inside(data_dir, rec["path"])
        except UnsafePath as exc:
            problems.append((f"data:{rec['path']}", f"refused: {exc}"))
            continue
        if not target.is_file():
            problems.append((f"data:{rec['path']}", "raw input is missing"))
        elif sha256_file(target) != (rec["sha256"], rec["bytes"]):
            problems.append((f"data:{rec['path']}", "raw input differs from the recorded one"))
    return problems


def regenerate(path: str | Path, workdir: str | Path, roots: dict[str, Path] | None = None,
               recipe_dir: Path | None = None, workers: int = 1) -> RegenerateResult:
    """Re-run the corpus stages recorded under ``path`` into ``workdir/run`` and compare."""
    from glassworks.pipeline.ingest import run_documents
    from glassworks.pipeline.recipe import run_recipe
    from glassworks.pipeline.sources import run_sources

    path, workdir = Path(path), Path(workdir)
    if workdir.exists() and any(workdir.iterdir()):
        raise GlassworksError(f"{workdir}: not empty; regenerate into a new folder")
    manifests = _load_manifests(path)
    sources, documents = _one(manifests, "sources"), _one(manifests, "documents")
    if sources is None or documents is None:
        raise GlassworksError(f"{path}: no sources/documents manifests: there is no corpus run to regenerate")
    workdir.mkdir(parents=True, exist_ok=True)
    data_dir, recipe_dir = _inputs(path, workdir, sources, roots or {}, recipe_dir)
    result = RegenerateResult(source=path, workdir=workdir)
    raw_problems = _check_raw(sources, data_dir)
    if raw_problems:
        result.stages.append(StageComparison("sources", sources["id"], problems=raw_problems))
        return result

    recipes, chains = plan_recipes(manifests, documents, data_dir, sources, workers)
    run = workdir / "run"
    if recipes:
        for recipe in recipes:
            run_recipe(recipe, run, origin=str(Path(recipe_dir) / f"{recipe.name}.yaml"))
    else:  # only the two fixed stages were recorded
        run_sources(plan_raw(sources, data_dir), run)
        run_documents(plan_documents(documents, workers), run)

    regenerated = {m["stage"]["name"]: m for m in _load_manifests(run)}
    order = [sources, documents] + [m for name in sorted(chains) for m in chains[name]]
    for recorded in order:
        result.stages.append(_compare(recorded, regenerated.get(recorded["stage"]["name"])))
    ordered = {m["id"] for m in order}
    result.not_regenerated = sorted(m["id"] for m in manifests if m["id"] not in ordered)
    result.same_ids = all(s.regenerated == s.recorded for s in result.stages)
    return result


def plan_raw(sources: dict, data_dir: Path):
    from glassworks.pipeline.sources import SourcesConfig

    return from_dict(SourcesConfig, {**sources["config"], "data_dir": str(data_dir)}, origin=f"manifests/{sources['id']}.json")


def plan_documents(documents: dict, workers: int):
    from glassworks.pipeline.ingest import DocumentsConfig

    return from_dict(DocumentsConfig, {**documents["config"], "workers": workers},
                     origin=f"manifests/{documents['id']}.json")


def _compare(recorded: dict, again: dict | None) -> StageComparison:
    stage = recorded["stage"]["name"]
    out = StageComparison(stage, recorded["id"], again["id"] if again else None)
    want = {rec["path"]: (rec["sha256"], rec["bytes"]) for rec in recorded["outputs"]["files"]}
    out.files = len(want)
    if again is None:
        out.problems.append(("", "no regenerated manifest for this stage"))
        return out
    got = {rec["path"]: (rec["sha256"], rec["bytes"]) for rec in again["outputs"]["files"]}
    for rel in sorted(set(want) | set(got)):
        if rel not in got:
            out.problems.append((rel, "recorded output was not regenerated"))
        elif rel not in want:
            out.problems.append((rel, "regenerated an output the record does not have"))
        elif got[rel] != want[rel]:
            out.problems.append((rel, "sha256 differs from the record" if got[rel][1] == want[rel][1]
                                 else f"size {got[rel][1]} != recorded {want[rel][1]}"))
        else:
            out.matched += 1
    if _config_without_chain(recorded) != _config_without_chain(again):
        out.problems.append(("", "rebuilt stage config differs from the recorded one (regenerate could not rebuild it)"))
    if recorded["counts"] != again["counts"]:
        out.problems.append(("", f"counts differ: recorded {recorded['counts']}, regenerated {again['counts']}"))
    return out


def _config_without_chain(manifest: dict) -> dict:
    """The stage config without ``after``, which holds manifest ids that change with the code identity."""
    return {k: v for k, v in manifest["config"].items() if k != "after"}
