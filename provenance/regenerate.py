"""`audit regenerate`: rebuild everything that was trained on from the raw inputs the manifests
name, and compare every recorded hash.

The manifests are the only instructions. Each stage's manifest holds its canonical config, so
it is read back into the stage's typed config and run through the same public function that
made it (glassworks/demo.py chains the same ones), into a fresh run directory:

    sources, documents, <recipe>.<stage>    run_recipe                  regenerate_corpus.py
    dedup, eval.suite, tokenizer,           run_dedup, prepare_suite,   regenerate_data.py
    data.tokenize, data.<phase>             train_tokenizer, build_mixtures
    train.<phase> (with --train-steps N)    train, on the CPU           regenerate_train.py

Then every recorded output is compared with the regenerated file by sha256, stage by stage in
data-flow order, and the first stage and file that diverge are named. Every other recorded
file is accounted for (regenerate_ledger.py): verified where it is shipped, else listed as
unchecked with the reason.

Raw inputs come from ``--root data=DIR`` or, for a bundle, from the ``data/`` folder of its
code archive (the embedded corpus is part of the repository), extracted member by member
after path checks. Files that ``{recipe}/...`` step parameters name (e.g. an opt-out list)
come from ``--recipe-dir`` or the ``configs/`` of the code.
"""

from __future__ import annotations

import shutil
import tarfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from glassworks.errors import GlassworksError
from glassworks.provenance.bundle import find_code_archives, is_bundle, scan_archive
from glassworks.provenance.hashing import sha256_file
from glassworks.provenance.manifest import load_manifest, validate_manifest
from glassworks.provenance.paths import UnsafePath, resolve_inside, unsafe_reason
from glassworks.provenance.regenerate_ledger import Ledger


@dataclass
class StageComparison:
    """One recorded stage against its regenerated twin."""

    stage: str
    recorded: str  # manifest id
    regenerated: str | None = None  # manifest id (or what was rebuilt); None: not regenerated
    files: int = 0
    matched: int = 0
    problems: list[tuple[str, str]] = field(default_factory=list)  # (file, what differs), sorted by file
    notes: list[tuple[str, str]] = field(default_factory=list)  # (file, why differing bytes hold the same thing)
    compared: list[str] = field(default_factory=list)  # recorded files rebuilt and compared
    reason: str = ""  # why it was not regenerated

    @property
    def ok(self) -> bool:
        return not self.problems and self.regenerated is not None

    def verdict(self) -> str:
        if self.regenerated is None:
            return "NOT REGENERATED: " + (self.reason or "no regenerated manifest for this stage")
        if self.problems:
            return f"DIFFERS ({len(self.problems)})"
        return "identical" + (f" ({len(self.notes)} benign byte differences, see notes)" if self.notes else "")


@dataclass
class RegenerateResult:
    source: Path
    workdir: Path
    stages: list[StageComparison] = field(default_factory=list)
    not_regenerated: dict[str, str] = field(default_factory=dict)  # manifest id -> why regenerate does not re-run it
    same_ids: bool = False  # every regenerated manifest has the recorded id (same code identity too)
    ledger: Ledger | None = None
    seconds: dict[str, float] = field(default_factory=dict)  # step -> wall seconds, and "total"
    train_steps: int | None = None
    train_target: str | None = None  # the released checkpoint training was re-run to

    @property
    def ok(self) -> bool:
        return (bool(self.stages) and all(s.ok for s in self.stages)
                and (self.ledger is None or not self.ledger.failures()))

    @property
    def first_divergence(self) -> tuple[str, str, str] | None:
        """(stage, file, what differs) of the first stage in data-flow order that diverges."""
        for stage in self.stages:
            if stage.problems:
                return (stage.stage, *stage.problems[0])
            if stage.regenerated is None:
                return stage.stage, "", "the stage was not regenerated: " + (stage.reason or "no regenerated manifest")
        if self.ledger is not None and self.ledger.failures():
            bad = self.ledger.failures()[0]
            return bad.stage or "-", bad.subject, f"shipped file fails verification: {bad.detail}"
        return None

    def lines(self) -> list[str]:
        out = [f"{'stage':32} {'files':>6} {'match':>6}  result"]
        for s in self.stages:
            out.append(f"{s.stage:32} {s.files:6d} {s.matched:6d}  {s.verdict()}")
            out += [f"    note: {file}: {why}" for file, why in s.notes[:2]]
            if len(s.notes) > 2:
                out.append(f"    note: and {len(s.notes) - 2} more of the same kind (the report lists them all)")
        for mid, why in sorted(self.not_regenerated.items()):
            out.append(f"{mid:32} {'-':>6} {'-':>6}  not re-run: {why}")
        if self.ledger is not None:
            out.append(self.ledger.summary())
            for reason, files in self.ledger.unchecked().items():
                out.append(f"  unchecked {len(files):4d}: {reason}")
        if self.seconds:
            out.append("time: " + ", ".join(f"{k} {v:.1f}s" for k, v in self.seconds.items()))
        first = self.first_divergence
        if first is None and self.ok:
            ids = "and every manifest id" if self.same_ids else "(manifest ids differ: other code or library versions)"
            trained = f", training to {self.train_target}" if self.train_target else ""
            out.append(f"REGENERATED: every rebuilt file (data stages{trained}) matches its record bit for bit "
                       f"{ids}; run in {self.workdir}")
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
                        "matched": s.matched, "problems": [list(p) for p in s.problems],
                        "notes": [list(n) for n in s.notes], "reason": s.reason} for s in self.stages],
            "not_regenerated": self.not_regenerated,
            "files": None if self.ledger is None else self.ledger.as_json(),
            "seconds": self.seconds, "train_steps": self.train_steps, "train_target": self.train_target,
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


def _inputs(path: Path, workdir: Path, manifests: list[dict], roots: dict, recipe_dir: Path | None) -> tuple[Path, Path]:
    """(data dir, recipe dir) for the re-run: given, or for a bundle taken out of its code
    archive (the raw files the sources manifest names, and configs/), else this checkout's."""
    from glassworks.provenance.identity import source_root

    raw = {f"data/{rec['path']}" for m in manifests for rec in m["inputs"]["files"] if rec.get("root") == "data"}
    take_raw, take_configs = "data" not in roots, recipe_dir is None
    inputs = workdir / "inputs"
    if is_bundle(path) and (take_raw or take_configs):
        archive = _code_archive(path)
        found = extract_members(archive, lambda name: (take_raw and name in raw)
                                or (take_configs and name.startswith("configs/")), inputs)
        if take_raw and not found & raw:
            raise GlassworksError(f"{archive}: holds none of the raw inputs the manifests name; give --root data=DIR")
    source = inputs if is_bundle(path) else source_root()  # where what was not given comes from
    data_dir = source / "data" if take_raw else Path(roots["data"])
    return data_dir, source / "configs" if take_configs else Path(recipe_dir)


def _check_raw(manifests: list[dict], data_dir: Path) -> list[StageComparison]:
    """The raw inputs (root ``data``) against the record, each under the first stage that read
    it, before anything runs: a changed raw file is where the bytes part."""
    seen, out = set(), []
    first = {"sources": 0, "documents": 1}  # the raw inputs' own stages come first in data-flow order
    for m in sorted(manifests, key=lambda m: first.get(m["stage"]["name"], 2)):
        problems = []
        for rec in m["inputs"]["files"]:
            if rec.get("root") != "data" or rec["path"] in seen:
                continue
            seen.add(rec["path"])
            try:
                target = resolve_inside(data_dir, rec["path"])
            except UnsafePath as exc:
                problems.append((f"data:{rec['path']}", f"refused: {exc}"))
                continue
            if not target.is_file():
                problems.append((f"data:{rec['path']}", "raw input is missing"))
            elif sha256_file(target) != (rec["sha256"], rec["bytes"]):
                problems.append((f"data:{rec['path']}", "raw input differs from the recorded one"))
        if problems:
            out.append(StageComparison(m["stage"]["name"], m["id"], problems=sorted(problems)))
    return out


def _compare(recorded: dict, again: dict | None, reason: str = "") -> StageComparison:
    from glassworks.provenance.regenerate_data import config_to_compare

    stage = recorded["stage"]["name"]
    out = StageComparison(stage, recorded["id"], again["id"] if again else None, reason=reason)
    want = {rec["path"]: (rec["sha256"], rec["bytes"]) for rec in recorded["outputs"]["files"]}
    out.files = len(want)
    if again is None:
        return out
    got = {rec["path"]: (rec["sha256"], rec["bytes"]) for rec in again["outputs"]["files"]}
    out.compared = sorted(set(want) & set(got))
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
    if config_to_compare(recorded) != config_to_compare(again):
        out.problems.append(("", "rebuilt stage config differs from the recorded one (regenerate could not rebuild it)"))
    if recorded["counts"] != again["counts"]:
        out.problems.append(("", f"counts differ: recorded {recorded['counts']}, regenerated {again['counts']}"))
    return out


class _Steps:
    """Runs each regeneration step, timing it; a step that cannot run (or whose inputs were not
    rebuilt) leaves its reason for the stages it would have made."""

    def __init__(self, result: RegenerateResult):
        self.result, self.failed = result, {}  # recorded manifest id -> reason

    def run(self, label: str, recorded: list[dict], action: Callable[[], None]) -> None:
        from glassworks.provenance.regenerate_data import Unplannable
        from glassworks.provenance.regenerate_train import TrainPlanError

        blocked = [u for m in recorded for u in m["upstream"] if u in self.failed]
        if blocked:
            self._fail(recorded, f"its input stage {blocked[0]} was not regenerated")
            return
        started = time.perf_counter()
        try:
            action()
        except (Unplannable, TrainPlanError, GlassworksError, ValueError) as exc:
            self._fail(recorded, f"{label}: {exc}")
        self.result.seconds[label] = round(time.perf_counter() - started, 1)

    def _fail(self, recorded: list[dict], reason: str) -> None:
        for m in recorded:
            self.failed[m["id"]] = reason


def regenerate(path: str | Path, workdir: str | Path, roots: dict[str, Path] | None = None,
               recipe_dir: Path | None = None, workers: int = 1, train_steps: int | None = None,
               threads: int = 1) -> RegenerateResult:
    """Re-run every data stage recorded under ``path`` (and with ``train_steps``, training up to
    the first released checkpoint at or past that step, on the CPU with ``threads`` torch
    threads) into ``workdir/run``; compare every recorded hash and account for every file."""
    from glassworks.provenance.regenerate_corpus import run_corpus
    from glassworks.provenance.regenerate_data import (DEDUP, POOL, SUITE, TOKENIZER, data_stages, is_phase,
                                                       redo_dedup, redo_mixtures, redo_suite, redo_tokenizer)

    started = time.perf_counter()
    path, workdir = Path(path), Path(workdir)
    if workdir.exists() and any(workdir.iterdir()):
        raise GlassworksError(f"{workdir}: not empty; regenerate into a new folder")
    if train_steps is not None and train_steps < 0:
        raise GlassworksError(f"--train-steps {train_steps}: must be 0 or more")
    manifests = _load_manifests(path)
    sources, documents = _one(manifests, "sources"), _one(manifests, "documents")
    if sources is None or documents is None:
        raise GlassworksError(f"{path}: no sources/documents manifests: there is no corpus run to regenerate")
    workdir.mkdir(parents=True, exist_ok=True)
    data_dir, recipe_dir = _inputs(path, workdir, manifests, roots or {}, recipe_dir)
    result = RegenerateResult(source=path, workdir=workdir, train_steps=train_steps)
    result.stages = _check_raw(manifests, data_dir)
    if result.stages:
        return result

    run = workdir / "run"
    steps, outs = _Steps(result), {}
    order: list[dict] = []

    def corpus():
        order[:], found = run_corpus(manifests, sources, documents, data_dir, recipe_dir, run, workers)
        outs.update(found)

    steps.run("corpus", [sources, documents], corpus)
    if not order:
        order = [sources, documents]
    data = data_stages(manifests)
    by_id = {m["id"]: m for m in manifests}
    named = {m["stage"]["name"]: m for m in data}
    phases = [m for m in data if is_phase(m)]
    if DEDUP in named:
        steps.run("dedup", [named[DEDUP]], lambda: redo_dedup(named[DEDUP], by_id, outs, run, workers))
    if SUITE in named:
        steps.run("eval.suite", [named[SUITE]], lambda: redo_suite(named[SUITE], run, data_dir))
    if TOKENIZER in named:
        steps.run("tokenizer", [named[TOKENIZER]], lambda: redo_tokenizer(named[TOKENIZER], run))
    if POOL in named:
        steps.run("data build", [named[POOL], *phases], lambda: redo_mixtures(named[POOL], phases, run, workers))
    for m in phases:
        if m["config"]["pool"] != named.get(POOL, {}).get("id"):
            steps.failed[m["id"]] = "its data.tokenize manifest is not in the record"

    again = {m["stage"]["name"]: m for m in _load_manifests(run)} if (run / "manifests").is_dir() else {}
    for recorded in [*order, *data]:
        name = recorded["stage"]["name"]
        reason = steps.failed.get(recorded["id"], "")
        result.stages.append(_compare(recorded, None if reason else again.get(name), reason))
    ids = {m["id"]: again[m["stage"]["name"]]["id"] for m in [*order, *data] if m["stage"]["name"] in again}

    reasons, stage_reasons = {}, {}
    if train_steps is not None:
        _train(result, steps, manifests, run, path, train_steps, threads, ids, reasons, stage_reasons)
    done = {s.recorded for s in result.stages}
    for m in manifests:
        if m["id"] not in done:
            past = m["stage"]["name"].startswith("train.") and result.train_target
            result.not_regenerated[m["id"]] = (f"its checkpoints lie past {result.train_target}, where --train-steps "
                                               f"{train_steps} stops" if past else _not_rerun(m))
    result.same_ids = all(s.regenerated == s.recorded for s in result.stages if not s.stage.startswith("train."))
    for s in result.stages:
        if s.regenerated is None:
            stage_reasons[s.stage] = f"not regenerated: {s.reason or 'no regenerated manifest'}"
    result.ledger = _ledger(path, data_dir, manifests, result, reasons, stage_reasons)
    result.seconds["total"] = round(time.perf_counter() - started, 1)
    return result


def _not_rerun(manifest: dict) -> str:
    from glassworks.provenance.regenerate_ledger import default_reason

    return default_reason(manifest["stage"]["name"])


def _train(result: RegenerateResult, steps: _Steps, manifests: list[dict], run: Path, source: Path, n: int,
           threads: int, ids: dict[str, str], reasons: dict[str, str], stage_reasons: dict[str, str]) -> None:
    """Re-train to the first released checkpoint at or past step ``n``; one comparison per
    train stage with the released checkpoints up to it."""
    from glassworks.provenance.regenerate_train import compare_checkpoint, plan_training, retrain, train_stages

    stages = train_stages(manifests)
    plan: list = []

    def go():
        plan[:] = plan_training(stages, n, threads)
        config, target, _, _ = plan
        retrain(config, run, target, max(m["config"]["steps"][1] for m in stages))

    steps.run("train", stages or [{"id": "train", "upstream": []}], go)
    if not stages:
        result.stages.append(StageComparison("train", "-", reason=steps.failed.get("train", "nothing was trained")))
        return
    if not plan or stages[0]["id"] in steps.failed:
        for m in stages:
            result.stages.append(_compare(m, None, steps.failed.get(m["id"], "training was not re-run")))
        return
    _, target, covered, beyond = plan
    result.train_target = f"{target.name} (step {target.step})"
    again = {m["stage"]["name"]: m for m in _load_manifests(run)}
    for m in stages:
        mine = [r for r in covered if r.stage == m["stage"]["name"]]
        if not mine:
            continue
        twin = again.get(m["stage"]["name"])
        out = StageComparison(m["stage"]["name"], m["id"], twin["id"] if twin else f"checkpoints up to step {target.step}")
        for released in mine:
            problems, notes, matched = compare_checkpoint(released, run, source, ids)
            out.files += len(released.files)
            out.matched += matched
            out.problems += problems
            out.notes += notes
            out.compared += sorted(released.files)
        if twin is not None and (twin["config"] != m["config"] or twin["counts"] != m["counts"]):
            out.problems.append(("", "the re-run phase's config or counts differ from the recorded ones"))
        result.stages.append(out)
    for released in beyond:
        for rel in released.files:
            reasons[rel] = (f"checkpoint {released.name} (step {released.step}) lies past {target.name} "
                            f"(step {target.step}), where --train-steps {n} stops")


def _ledger(path: Path, data_dir: Path, manifests: list[dict], result: RegenerateResult, reasons: dict,
            stage_reasons: dict) -> Ledger:
    from glassworks.provenance.regenerate_ledger import build_ledger
    from glassworks.provenance.verify import verify_run

    regenerated = {}
    for s in result.stages:
        bad = {file: what for file, what in s.problems}
        for rel in s.compared:
            regenerated[rel] = (rel not in bad, bad.get(rel, "identical"), s.stage)
    report = verify_run(path, roots={"data": data_dir})
    return build_ledger(report.findings, manifests, regenerated, reasons, stage_reasons)
