"""`glassworks demo`: the main job on the embedded corpus, from raw bytes to a verified release.

corpus recipes -> global dedup -> tokenizer -> three phase mixtures -> training (tiny preset,
CPU) -> Hugging Face export and sample outputs -> evaluation sweep -> release bundle -> signed
with the maintainer's key (an EC pair in WORKDIR/keys/) -> verified with that key pinned + MOF class.

Every stage is the same public function its own command runs, fed the config files named by
``DemoConfig`` (``configs/demo.yaml``); the demo only chains them into one run directory and
prints what each did. It exits 0 only when the run and the bundle verify and the bundle
classifies as the required MOF class (Class I).
"""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import click

from glassworks.config import load_config
from glassworks.errors import GlassworksError


@dataclass(frozen=True)
class DemoConfig:
    """The demo's settings; relative paths are taken from the repository root."""

    data_dir: Path = Path("data")  # the embedded corpus and its SOURCES.md
    recipes: list[Path] = field(default_factory=lambda: [Path(f"configs/{name}.yaml") for name in (
        "slimpajama", "dclm", "stack")])  # corpus recipes to run, in order; each is a dedup source
    dedup: Path = Path("configs/dedup-demo.yaml")
    tokenizer: Path = Path("configs/tokenizer-demo.yaml")
    mixture: Path = Path("configs/mixture-demo.yaml")
    train: Path = Path("configs/train-demo.yaml")
    eval: Path | None = None  # an evals SweepConfig; None: the held-out suite with its defaults
    release: Path = Path("configs/release-demo.yaml")
    required_class: str = "Class I"  # the demo fails unless its bundle classifies as this
    workers: int = 2  # tokenizer processes (the output does not depend on it)


def repo_root() -> Path:
    from glassworks.provenance.identity import source_root

    return source_root()


def default_config_path() -> Path:
    return repo_root() / "configs" / "demo.yaml"


class Demo:
    """One demo run: each method is a stage; ``facts`` collects the summary's figures."""

    def __init__(self, config: DemoConfig, workdir: Path, root: Path):
        self.config, self.root = config, root
        self.workdir = workdir.resolve()
        self.data_dir = self._path(config.data_dir)
        self.facts: dict[str, str] = {}
        self.pictures: list[Path] = []
        self.reports: list[Path] = []

    def _path(self, path: Path) -> Path:
        return path if path.is_absolute() else self.root / path

    def say(self, stage: str, lines: list[str] | str) -> None:
        for line in [lines] if isinstance(lines, str) else lines:
            click.echo(f"[{stage}] {line}")

    def corpus(self) -> dict[str, Path]:
        """Run each recipe; return each recipe's final documents folder (a dedup source)."""
        from glassworks.pipeline.recipe import check_recipe_file, run_recipe
        from glassworks.pipeline.summary import stage_totals, summary_chart, summary_table

        finals = {}
        for recipe_path in map(self._path, self.config.recipes):
            recipe = check_recipe_file(recipe_path)
            recipe = replace(recipe, raw=replace(recipe.raw, data_dir=self.data_dir))
            results = run_recipe(recipe, self.workdir, origin=str(recipe_path))
            last = stage_totals(results[-1])
            click.echo(f"\n[{recipe.name}] {len(results)} stages; {last['kept']} documents kept at the end")
            click.echo(summary_table(recipe.name, results))
            self.pictures.append(summary_chart(recipe.name, results,
                                               self.workdir / "reports" / f"{recipe.name}-stages.png"))
            finals[recipe.name] = results[-1].out
        return finals

    def dedup(self, sources: dict[str, Path]) -> None:
        from glassworks.pipeline.dedup.config import DedupConfig
        from glassworks.pipeline.dedup.run import run_dedup

        summary = run_dedup(load_config(self._path(self.config.dedup), DedupConfig), sources,
                            self.workdir / "dedup", self.workdir)
        totals = summary["totals"]
        removed = sum(totals["dropped"].values())
        rate = removed / totals["in"] if totals["in"] else 0.0
        for name, s in summary["sources"].items():
            self.say("dedup", f"{name}: {s['in']} in, {s['kept']} kept, removed {dict(s['removed']) or 0}, "
                              f"weight mean {s['weight']['mean']:.2f} (max {s['weight']['max']:.2f})")
        self.facts["dedup"] = f"{totals['in']} documents in, {totals['kept']} kept ({rate:.1%} removed as duplicates)"

    def sweep_config(self):
        from glassworks.evals.run import EvalConfig
        from glassworks.evals.sweep import SweepConfig

        if self.config.eval:
            return load_config(self._path(self.config.eval), SweepConfig)
        return SweepConfig(eval=EvalConfig(threads=1))  # the tiny model runs faster on one thread

    def hold_out(self) -> None:
        """Build the held-out eval suite first: the tokens stages leave its documents out."""
        from glassworks.evals.run import prepare_suite

        suite = prepare_suite(self.workdir, self.sweep_config().eval, self.data_dir)
        held = (suite / "heldout-ids.txt").read_text(encoding="utf-8").split()
        self.say("eval", f"held-out suite -> {suite} ({len(held)} documents kept out of training)")

    def tokens(self) -> None:
        from glassworks.pipeline.tokens import MixtureConfig, TokenizerConfig, build_mixtures, train_tokenizer

        tokenizer = train_tokenizer(load_config(self._path(self.config.tokenizer), TokenizerConfig), self.workdir)
        self.say("tokenizer", f"SentencePiece BPE -> {tokenizer}")
        summary = build_mixtures(load_config(self._path(self.config.mixture), MixtureConfig), self.workdir,
                                 workers=self.config.workers)
        self.say("data", summary.lines())
        self.facts["tokens"] = ", ".join(f"{p.name} {p.tokens:,} (ctx {p.seq_len})" for p in summary.phases)

    def train(self) -> None:
        from glassworks.model.hf import export_hf
        from glassworks.model.samples import DEFAULT_PROMPTS, write_samples
        from glassworks.model.train.config import load_train_config
        from glassworks.model.train.run import train

        summary = train(load_train_config(self._path(self.config.train)), self.workdir, progress=True)
        self.say("train", summary.lines())
        if not summary.complete or summary.final is None:
            raise GlassworksError(f"train: stopped at step {summary.step} of {summary.total_steps} ({summary.stopped_by})")
        self.facts["loss"] = ", ".join(f"{p.name} {p.first_loss:.2f} -> {p.last_loss:.2f}" for p in summary.phases
                                       if p.first_loss is not None)
        if summary.plot:
            self.pictures.append(summary.plot)
        hf = self.workdir / "hf"
        shutil.rmtree(hf, ignore_errors=True)
        export_hf(summary.final, hf, run_dir=self.workdir)
        self.say("export", f"Hugging Face MistralForCausalLM -> {hf}")
        samples = write_samples(summary.final, self.workdir / "samples", run_dir=self.workdir)
        self.say("samples", f"greedy continuations of {len(DEFAULT_PROMPTS)} prompts -> {samples / 'samples.md'}")

    def evaluate(self) -> None:
        from glassworks.evals.run import quiet_lm_eval
        from glassworks.evals.sweep import evaluate_run

        with quiet_lm_eval():
            result = evaluate_run(self.sweep_config(), self.workdir, data_dir=self.data_dir)
        rows = result["checkpoints"]
        final = rows[-1] if rows else {}
        # bits per byte of held-out text per source: the figure a tiny model moves on
        bpb = {k.split("/")[0].removeprefix("heldout_ppl_"): v for k, v in sorted(final.items())
               if k.endswith("/bits_per_byte")}
        cloze = [v for k, v in final.items() if k.startswith("heldout_cloze_") and k.endswith("/acc")]
        metrics = ", ".join(f"{source} {v:.2f}" for source, v in bpb.items())
        self.say("eval", f"{len(rows)} checkpoints evaluated; held-out bits per byte at {final.get('name', '-')}: "
                         f"{metrics or '-'}; next-line choice accuracy {sum(cloze) / max(1, len(cloze)):.2f}")
        for metric, fit in sorted(result["predictability"].items()):
            if metric.endswith("/bits_per_byte"):
                self.say("eval", f"predictability of {metric} (power law on {len(fit['fitted_on'])} early "
                                 f"checkpoints): relative error {fit['rel_error']:.1%} on the later ones")
        self.pictures.append(Path(result["plot"]))
        self.facts["eval"] = f"bits/byte {metrics or '-'}"

    def release(self):
        from glassworks.release.bundle.build import build_bundle
        from glassworks.release.bundle.config import BundleConfig

        bundle = self.workdir / "bundle"
        shutil.rmtree(bundle, ignore_errors=True)  # derived entirely from the run: rebuilt each time
        config = load_config(self._path(self.config.release), BundleConfig)
        result = build_bundle(config, self.workdir, bundle, repo=self.root)
        self.say("release", f"{len(result.components)} MOF components in model.yml -> {bundle}")
        for warning in result.warnings:
            self.say("release", f"warning: {warning}")
        self.facts["MOF class"] = (f"{result.mof_class} (as the Model Openness Tool computes it); "
                                   f"strictly, with type-appropriate licences: {result.strict_class}")
        return result

    def sign(self, bundle: Path):
        """Sign the bundle as its maintainer: the glassworks attestation and the OpenSSF
        model_signing signature, with an EC key pair kept in WORKDIR/keys/ (never in the bundle;
        reused on a later run). Returns what an auditor pins: the key's fingerprint, which the
        maintainer publishes apart from the bundle."""
        from glassworks.provenance.attest import sign_tree
        from glassworks.provenance.signing import TrustedKeys, fingerprint, generate_keypair, load_private_key

        keys = self.workdir / "keys"
        if not (keys / "signing.key").exists():
            generate_keypair(keys)
        key = load_private_key(keys / "signing.key")
        result = sign_tree(bundle, key)
        fp = fingerprint(key.public_key())
        self.say("sign", f"{result.subjects} files signed with {fp} (key pair in {keys})")
        self.say("sign", f"attestation: {result.envelope}; model_signing: {result.model_signature}")
        self.facts["signed by"] = fp
        return TrustedKeys.from_args(fingerprints=(fp,))

    def verify(self, path: Path, what: str, trusted=None) -> bool:
        """Verify as an auditor would (for the bundle: with the maintainer's key pinned), and write
        the audit report (Markdown, HTML, lineage graph)."""
        from glassworks.provenance.report import write_report
        from glassworks.provenance.verify import verify_run

        report = verify_run(path, roots={"data": self.data_dir}, trusted=trusted)
        for finding in report.failures:
            click.echo(f"  {finding.line()}")
        self.say("verify", f"{what}: {report.summary()}")
        self.facts[f"verify {what}"] = "VERIFIED" if report.ok else "FAILED"
        written = write_report(report, self.workdir / "reports" / f"audit-{what}")
        self.reports.append(written.html)
        self.pictures.append(written.picture)
        return report.ok


@click.command("demo")
@click.option("--workdir", type=click.Path(file_okay=False, path_type=Path), default=Path("glassworks-demo"),
              show_default=True, help="Run directory for every stage's outputs and manifests; the bundle goes to WORKDIR/bundle.")
@click.option("--config", "config_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Demo config (YAML); default: configs/demo.yaml of this checkout.")
@click.pass_context
def demo(ctx: click.Context, workdir: Path, config_path: Path | None) -> None:
    """Run the main job on the embedded corpus: regenerate, dedup, tokenize, train, evaluate,
    release and verify."""
    config = load_config(config_path or default_config_path(), DemoConfig)
    root = repo_root()
    run = Demo(config, workdir, root)
    if not run.data_dir.is_dir():
        raise GlassworksError(f"{run.data_dir}: the embedded corpus is missing (run the demo from a glassworks checkout)")
    workdir.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    click.echo(f"glassworks demo -> {run.workdir}")

    sources = run.corpus()
    click.echo("")
    run.dedup(sources)
    run.hold_out()
    run.tokens()
    run.train()
    run.evaluate()
    run_ok = run.verify(run.workdir, "run")
    result = run.release()
    bundle_ok = run.verify(result.path, "bundle", trusted=run.sign(result.path))
    # both the Model Openness Tool's own class and the strict one (type-appropriate licences)
    classified = result.mof_class == result.strict_class == config.required_class

    click.echo("\nsummary")
    for key, value in run.facts.items():
        click.echo(f"  {key:16} {value}")
    click.echo(f"bundle:    {result.path}")
    click.echo(f"report:    {result.path / 'docs' / 'technical-report.md'} (technical), "
               + ", ".join(str(r) for r in run.reports) + " (audit)")
    click.echo(f"manifests: {run.workdir / 'manifests'}")
    for picture in run.pictures:
        click.echo(f"plot:      {picture}")
    ok = run_ok and bundle_ok and classified
    verdict = f"verified, {result.mof_class} (strictly too)" if ok else (
        "VERIFY FAILED" if not (run_ok and bundle_ok) else
        f"{result.mof_class} (strictly {result.strict_class}), not the required {config.required_class} on both counts")
    click.echo(f"done in {time.perf_counter() - started:.1f}s: {verdict}")
    ctx.exit(0 if ok else 1)
