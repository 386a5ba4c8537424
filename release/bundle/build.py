"""``build_bundle``: assemble a release bundle from a run directory, and record it.

Order of work: copy what the run made (at the run's own paths when the run's manifests can
travel with it, at the bundle's canonical paths otherwise), write the code archives, the
licence texts, the recipes, the cards, the Croissant file and the reports, detect which MOF
components are present and write ``model.yml``; then record the whole assembly as one
stage (``release.bundle``) whose manifest lists every file it wrote and links to the run's
manifests it consumed. The bundle is its own run directory: ``audit verify BUNDLE`` checks
it like any run.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass, field, replace
from pathlib import Path

from glassworks.errors import GlassworksError
from glassworks.provenance.hashing import sha256_file
from glassworks.provenance.recorder import MANIFEST_DIR, record_stage
from glassworks.release.bundle import code, components, cards, croissant, mofyml, notices, report, reuse
from glassworks.release.bundle.config import BundleConfig
from glassworks.release.bundle.facts import RunFacts, gather
from glassworks.release.bundle.records import DataFile, RunRecord
from glassworks.release.mof import Classification, classify_file

STAGE, STAGE_VERSION = "release.bundle", "1"


@dataclass
class BundleResult:
    path: Path
    classification: Classification
    manifest_id: str
    components: list[str]  # MOF components listed in model.yml
    copied: int = 0  # files copied from the run
    written: int = 0  # files the build wrote itself
    warnings: list[str] = field(default_factory=list)

    @property
    def mof_class(self) -> str:
        """The class the Model Openness Tool computes for model.yml."""
        return self.classification.label

    @property
    def strict_class(self) -> str:
        """The class when every counted licence must also be one the MOT lists for its content type."""
        return self.classification.strict_label


@dataclass
class _Plan:
    """Files to copy from the run: bundle-relative destination -> source file."""

    copies: dict[str, Path] = field(default_factory=dict)

    def add_file(self, src: Path, dst: str) -> None:
        previous = self.copies.get(dst)
        if previous is not None and previous.resolve() != src.resolve():
            raise GlassworksError(f"two run files would land at {dst} in the bundle: {previous} and {src}")
        self.copies[dst] = src

    def add_tree(self, src: Path, dst: str) -> None:
        if src.is_file():
            self.add_file(src, f"{dst}/{src.name}")
            return
        for path in sorted(p for p in src.rglob("*") if p.is_file()):
            self.add_file(path, f"{dst}/{path.relative_to(src).as_posix()}")


def _plan(run_dir: Path, record: RunRecord, config: BundleConfig, facts: RunFacts) -> _Plan:
    plan = _Plan()
    if config.corpus.ship == "shards":
        for manifest in record.manifests.values():
            for rel, _ in sorted(record.run_files(manifest)):
                plan.add_file(run_dir / rel, rel)
    art = config.artifacts
    if facts.final is not None:
        plan.add_tree(facts.final.source, "checkpoints/final")
    names = set()
    for ckpt in facts.intermediate:
        if ckpt.name in names or ckpt.name == "final":
            raise GlassworksError(f"two intermediate checkpoints are both named {ckpt.name!r} ({ckpt.source}); "
                                  "give their folders distinct names")
        names.add(ckpt.name)
        plan.add_tree(ckpt.source, f"checkpoints/{ckpt.name}")
    for src, dst in ((art.tokenizer, "tokenizer"), (art.hf_export, "hf"), (art.eval_results, "eval"),
                     (art.samples, "samples")):
        if (run_dir / src).exists():
            plan.add_tree(run_dir / src, dst)
    data = run_dir / art.eval_data
    if data.exists() and not data.resolve().is_relative_to((run_dir / art.eval_results).resolve()):
        plan.add_tree(data, "eval/data")
    for chart in sorted((run_dir / "reports").glob("*.png")):  # the stages' own charts (dedup weights, ...)
        plan.add_file(chart, f"docs/figures/run/{chart.name}")
    for pattern in art.training_metrics:
        for path in sorted(run_dir.glob(pattern)):
            if path.is_file():
                plan.add_file(path, path.relative_to(run_dir).as_posix())
    return plan


def _ship_data(run_dir: Path, record: RunRecord, config: BundleConfig, plan: _Plan) -> list[DataFile]:
    """Add the data files to the plan (the documents trained on and the token shards, unless
    the config ships manifests only) and return every shipped data file, the evaluation suite's
    included, at its bundle path. Each must be the bytes its manifest recorded."""
    shipped = []
    if config.corpus.ship != "manifests":
        for item in record.trained_documents() + record.phase_shards():
            plan.add_file(run_dir / item.run_path, item.bundle_path)
            shipped.append(item)
    where = {src.resolve(): dst for dst, src in sorted(plan.copies.items(), reverse=True)}
    for item in record.eval_suite(config.artifacts.eval_data.as_posix()):
        dst = where.get((run_dir / item.run_path).resolve())
        if dst is not None:
            shipped.append(replace(item, bundle_path=dst))
    for item in shipped:
        if sha256_file(run_dir / item.run_path)[0] != item.sha256:
            raise GlassworksError(f"{run_dir / item.run_path}: differs from what manifest {item.manifest} recorded; "
                                  f"`glassworks audit verify {run_dir}` says more; a bundle is built from a run that verifies")
    return shipped


def _data_notices(config: BundleConfig, shipped: list[DataFile], out_dir: Path, data_dir: Path,
                  datasets: str) -> tuple[dict[str, tuple[str, list[str]]], list[str]]:
    """Write ``corpus/NOTICE.md`` (the documents' own licences and holders) and return the REUSE
    terms of the data folders (the component's licence and the licences of what they hold),
    with a warning for each folder whose content cannot be traced or is copyleft."""
    docs = [f.bundle_path for f in shipped if f.kind == "documents"]
    suite = [f.bundle_path for f in shipped if f.kind == "eval"]
    terms, warnings = {}, []
    if docs:
        trained = notices.shipped_content(out_dir, docs, data_dir)
        (out_dir / notices.NOTICE).write_text(notices.notice_text(datasets, trained), encoding="utf-8")
        found, warning = notices.data_terms(datasets, trained, "corpus/documents/")
        if found:
            terms["corpus/documents/"] = terms["corpus/tokens/"] = found
        warnings += [warning] if warning else []
    if suite:
        folder = config.artifacts.eval_data.as_posix().rstrip("/") + "/"
        found, warning = notices.data_terms(config.licences.evaluation_data or datasets,
                                            notices.suite_content(out_dir, suite, data_dir), folder)
        if found:
            terms[folder] = found
        warnings += [warning] if warning else []
    return terms, warnings + notices.copyleft_in(terms)


def _licence_texts(ids: set[str], texts: Path, out: Path) -> None:
    for spdx in sorted(ids):
        src = texts / f"{spdx}.txt"
        if not src.is_file():
            raise GlassworksError(f"{src}: no text for licence {spdx}; add it to {texts} (REUSE layout) before releasing")
        shutil.copyfile(src, out / f"{spdx}.txt")


def _licence_ids(expressions: list[str]) -> set[str]:
    return {token for e in expressions for token in re.split(r"\s+|[()]", e)
            if token and token.upper() not in ("AND", "OR", "WITH")}


def build_bundle(config: BundleConfig, run_dir: str | Path, out_dir: str | Path,
                 repo: str | Path | None = None) -> BundleResult:
    """Assemble the release bundle of ``run_dir`` into ``out_dir`` (which must be new or empty)."""
    from glassworks.provenance.identity import code_identity, source_root

    run_dir, out_dir = Path(run_dir).resolve(), Path(out_dir).resolve()  # git archive writes from the repo
    repo = Path(repo).resolve() if repo else source_root()
    if out_dir.exists() and any(out_dir.iterdir()):
        raise GlassworksError(f"{out_dir}: exists and is not empty; a bundle is built into a new folder")
    record = RunRecord.load(run_dir)
    facts = gather(run_dir, record, config, repo)
    # The commit the release stage's own manifest will record (cached for this process), so the
    # archive set always holds it even when the checkout moves on while the bundle is built.
    head = code_identity()["git_commit"]
    commits = sorted(record.commits() | ({head} if head else set()))
    if not commits:
        raise GlassworksError(f"{repo}: not a git checkout, and the run records no commit: no code to ship")
    warnings = [f"{len(record.dirty())} of {len(record.manifests)} manifests were made from a working tree with "
                "uncommitted changes; the bundle ships their commit, not those changes"] if record.dirty() else []

    plan = _plan(run_dir, record, config, facts)
    shipped = _ship_data(run_dir, record, config, plan)
    out_dir.mkdir(parents=True, exist_ok=True)
    for dst, src in sorted(plan.copies.items()):
        target = out_dir / dst
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, target)

    # Every run manifest goes into the bundle: a file it records is either here at its own
    # path (a copy of the same bytes), elsewhere in the bundle, in the code archive, or not
    # shipped (the corpus in `manifests` mode), which `audit verify` reports as such.
    recorded = record.recorded_outputs()
    covered = {dst for dst, src in plan.copies.items()
               if src.resolve() == (run_dir / dst).resolve() and dst in recorded}
    for dst in sorted(covered):
        if sha256_file(out_dir / dst)[0] != recorded[dst][0]:
            raise GlassworksError(f"{run_dir / dst}: differs from what manifest {recorded[dst][1]} recorded; "
                                  f"`glassworks audit verify {run_dir}` says more; a bundle is built from a run that verifies")
    (out_dir / MANIFEST_DIR).mkdir(exist_ok=True)
    for manifest_id in sorted(record.manifests):
        shutil.copyfile(run_dir / MANIFEST_DIR / f"{manifest_id}.json", out_dir / MANIFEST_DIR / f"{manifest_id}.json")

    for commit in commits:
        code.write_archive(repo, commit, out_dir / components.CODE_DIR)
    date = max(code.commit_date(repo, c) for c in commits)  # the release date: of the newest code in it
    recipes_dir = out_dir / "corpus" / "recipes"
    recipes_dir.mkdir(parents=True, exist_ok=True)
    for recipe in config.corpus.recipes:
        src = recipe if recipe.is_absolute() else repo / recipe
        if not src.is_file():
            raise GlassworksError(f"{src}: recipe named in corpus.recipes not found")
        shutil.copyfile(src, recipes_dir / src.name)

    datasets = config.licences.datasets or " AND ".join(facts.corpus_licences) or config.licences.parameters
    corpus_ids = sorted(_licence_ids([datasets]))
    if shipped:
        croissant.write_croissant(config, record, shipped, out_dir, corpus_ids, date)
    content, notes = _data_notices(config, shipped, out_dir, repo / config.corpus.data_dir, datasets)
    warnings += notes
    figures = {"stages": report.stage_figure(facts, out_dir / "docs" / "figures" / "corpus-stages.png"),
               "loss": report.loss_figure(facts, out_dir / "docs" / "figures" / "training-loss.png"),
               "run_dir": out_dir / "docs" / "figures" / "run"}
    if not report.paper_ready(facts):
        warnings.append("no research paper: it reports a trained and evaluated model, and this run has "
                        + ("no final checkpoint" if facts.final is None else "no evaluation results"))

    # The class depends on the documents that state it; write them, classify, then fill it in.
    licences = mofyml.licences_by_kind(config, datasets)
    # every text the documents may name; write_reuse leaves only those model.yml's components use
    _licence_texts(_licence_ids(list(licences.values())), repo / config.licence_texts, _mkdir(out_dir / "LICENSES"))
    label = _settle(config, facts, out_dir, licences, date, figures, commits)

    found = components.detect(out_dir)
    description = mofyml.description(config, found, licences, date)
    mofyml.write(out_dir / "model.yml", description)
    reuse.write_reuse(out_dir, description, config.producer, date[:4], config.licences.document,
                      repo / config.licence_texts, reuse.source_holders(repo / config.corpus.data_dir), content)
    classification = classify_file(out_dir / "model.yml")
    if classification.label != label:
        raise GlassworksError(f"internal: documents state {label} but model.yml classifies as {classification.label}")

    written = [p for p in sorted(out_dir.rglob("*")) if p.is_file()
               and p.relative_to(out_dir).as_posix() not in covered
               and not p.relative_to(out_dir).as_posix().startswith(MANIFEST_DIR + "/")]
    clash = sorted({p.relative_to(out_dir).as_posix() for p in written} & set(recorded))
    if clash:
        raise GlassworksError(f"the bundle would write {clash[0]} over a different file the run recorded at that path "
                              f"({len(clash)} such path(s)); move that artifact in the run or in the bundle config")
    inputs = [out_dir / rel for rel in sorted(covered)]
    with record_stage(out_dir, STAGE, STAGE_VERSION, _record_config(config, run_dir), unit="components") as rec:
        for path in inputs:
            rec.input(path)
        for path in written:
            rec.output(path)
        listed = {f.name for f in found}
        for component in classification.components:
            rec.counts.add_in()
            if component in listed:
                rec.counts.keep()
            else:
                rec.counts.drop(f"absent:{component}")
    return BundleResult(out_dir, classification, rec.manifest_id, sorted(listed),
                        copied=len(plan.copies), written=len(written), warnings=warnings)


def _mkdir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path


def _settle(config: BundleConfig, facts: RunFacts, out_dir: Path, licences: dict, date: str,
            figures: dict, commits: list[str]) -> str:
    """Write the model card and technical report, which state the MOF class, until the class
    they state is the class of the bundle they are in (two passes at most: the documents
    themselves are components)."""
    label = "Unclassified"
    for _ in range(3):
        _write_documents(config, facts, out_dir, label, licences, figures, commits)
        found = components.detect(out_dir)
        result = _classify(config, found, licences, date, out_dir)
        if result == label:
            return label
        label = result
    raise GlassworksError("internal: the MOF class of the bundle does not settle")


def _classify(config, found, licences, date, out_dir: Path) -> str:
    from glassworks.release.mof import evaluate, from_data

    return evaluate(from_data(mofyml.description(config, found, licences, date))).label


def _write_documents(config, facts, out_dir: Path, label: str, licences: dict, figures: dict, commits) -> None:
    """The technical report, the paper, the data card and the model card, in that order: each
    names only files already in the bundle (or ``model.yml``, written next), so a document
    written later may point at one written earlier."""
    docs = _mkdir(out_dir / "docs")
    (docs / "technical-report.md").write_text(report.technical_report(config, facts, figures, label, commits, out_dir),
                                              encoding="utf-8")
    if report.paper_ready(facts):
        (docs / "paper.md").write_text(report.research_paper(config, facts, licences, label, out_dir), encoding="utf-8")
    (_mkdir(out_dir / "corpus") / "README.md").write_text(cards.dataset_card(config, facts, licences, out_dir),
                                                          encoding="utf-8")
    if facts.final is not None:
        (out_dir / "README.md").write_text(cards.model_card(config, facts, label, licences, out_dir), encoding="utf-8")


def _record_config(config: BundleConfig, run_dir: Path) -> dict:
    from glassworks.canonical import normalise

    return {"bundle": normalise(config), "run": run_dir.name}
