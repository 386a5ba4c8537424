"""The technical report and the research paper, generated from the run's records.

The technical report is the reference: every stage's counts and drop reasons, the dedup
and weighting stages, the model's configuration, training curves, evaluation tables, and
how to reproduce and verify each. The paper tells the same run as a short paper: method,
data, training, evaluation against chance with intervals, limitations. Both are written
only from ``RunFacts``: every sentence is built from what the run recorded, a section whose
records the run does not have is left out, and a file is named only when it is in the bundle.
"""

from __future__ import annotations

from pathlib import Path

from collections.abc import Mapping

from glassworks.release.bundle.cards import (architecture_rows, eval_notes, eval_table, language_name,
                                             language_rows, language_summary, num, pct, table, words)
from glassworks.release.bundle.config import BundleConfig
from glassworks.release.bundle.facts import EvalRow, RunFacts

PNG_METADATA = {"Software": None}  # no matplotlib version in the bytes: same run, same figure


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def stage_figure(facts: RunFacts, path: Path) -> Path | None:
    stages = facts.corpus_stages
    if not stages:
        return None
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(8, 0.35 * len(stages) + 1.2))
    names = [s.name for s in stages][::-1]
    kept = [s.kept for s in stages][::-1]
    dropped = [sum(s.dropped.values()) for s in stages][::-1]
    quarantined = [s.quarantined for s in stages][::-1]
    ax.barh(names, kept, label="kept", color="#3b7")
    ax.barh(names, dropped, left=kept, label="dropped", color="#d64")
    ax.barh(names, quarantined, left=[k + d for k, d in zip(kept, dropped)], label="quarantined", color="#999")
    ax.set_xlabel("documents")
    ax.legend(loc="lower right")
    ax.set_title("Documents in, kept and dropped per corpus stage")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100, metadata=PNG_METADATA)
    plt.close(fig)
    return path


def loss_figure(facts: RunFacts, path: Path) -> Path | None:
    if not facts.curves:
        return None
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 4))
    for name, points in facts.curves.items():
        ax.plot([p[0] for p in points], [p[1] for p in points], label=name)
    ax.set_xlabel("step")
    ax.set_ylabel("training loss")
    ax.set_title("Training loss")
    ax.legend(fontsize=7)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100, metadata=PNG_METADATA)
    plt.close(fig)
    return path


def _stage_rows(facts: RunFacts) -> list[list]:
    return [[s.name, s.unit, s.seen, s.kept, sum(s.dropped.values()), s.quarantined,
             ", ".join(f"{k} {v}" for k, v in sorted(s.dropped.items())) or "-"] for s in facts.stages]


def _dedup_summaries(facts: RunFacts) -> list[tuple[str, dict]]:
    return [(path, w) for path, w in facts.weights.items() if isinstance(w.get("sources"), dict)]


def _weights_section(facts: RunFacts) -> list[str]:
    out = []
    for path, weights in facts.weights.items():
        sources = weights.get("sources")
        if isinstance(sources, dict):  # a dedup summary: per source counts and weight statistics
            rows = []
            for name, s in sorted(sources.items()):
                if not isinstance(s, dict):
                    continue
                w = s.get("weight", {})
                removed = s.get("removed", {})
                rows.append([name, s.get("in"), s.get("kept"), sum(removed.values()) if isinstance(removed, dict) else "-",
                             s.get("in_clusters"), w.get("mean"), w.get("p90"), w.get("max"), w.get("sum")])
            out += [f"Global deduplication and sampling weights (summary of the dedup stage, threshold "
                    f"{weights.get('threshold', '-')}):", "",
                    table(["source", "in", "kept", "removed", "in clusters", "weight mean", "weight p90",
                           "weight max", "weight sum"], [[num(c) if isinstance(c, (int, float)) else c for c in r]
                                                         for r in rows]), ""]
            continue
        rows = [[k, v] for k, v in sorted(weights.items()) if isinstance(v, (int, float))]
        if rows:
            out += ["Sampling weights:", "", table(["key", "weight"], rows), ""]
    return out


def _checkpoint_rows(facts: RunFacts) -> list[list]:
    ckpts = [*facts.intermediate, *([facts.final] if facts.final else [])]
    return [[f"checkpoints/{c.name}", c.step, c.tokens, c.phase] for c in ckpts]


def training_rows(facts: RunFacts) -> list[list]:
    return [[p.name, num(p.seq_len), num(p.steps), num(p.batch_size), num(p.tokens),
             f"{p.loss[0][1]:.3f} (step {p.loss[0][0]}) to {p.loss[1][1]:.3f} (step {p.loss[1][0]})" if p.loss else "-"]
            for p in facts.phases]


def _recipe_rows(facts: RunFacts) -> list[list]:
    rows = []
    for r in facts.recipes:
        top = sorted(r.dropped.items(), key=lambda kv: -kv[1])[:3]
        rows.append([r.name, words(r.sources), " > ".join(r.stages), num(r.seen), num(r.kept), pct(r.kept, r.seen),
                     "; ".join(f"{k} {v}" for k, v in top) or "-"])
    return rows


def _dedup_sentence(facts: RunFacts) -> str:
    m = facts.manifest("dedup")
    if m is None:
        return ""
    c = m["counts"]
    removed = sum(c["dropped"].values())
    reasons = words([f"{v} as {k.replace('_', ' ')}s" for k, v in sorted(c["dropped"].items()) if v])
    return (f"Global deduplication across all recipes read {num(c['in'])} documents and kept {num(c['kept'])}; "
            f"it removed {num(removed)} ({pct(removed, c['in'])})" + (f", {reasons}" if reasons else "") + ".")


def _shipped_rows(facts: RunFacts, bundle: Path) -> list[list]:
    """Data stages and how many of the files they recorded are in this bundle."""
    rows = []
    recipe_names = {r.name for r in facts.recipes}
    for m in facts.record.stage_order():
        name = m["stage"]["name"]
        if not (name in ("sources", "documents", "dedup", "eval.suite") or name.startswith("data.")
                or name.split(".", 1)[0] in recipe_names):
            continue
        files = [r["path"] for r in m["outputs"]["files"] if r.get("root", "run") == "run"]
        here = [f for f in files if (bundle / f).is_file()]
        folder = _common_folder(here)
        rows.append([name, num(len(files)), num(len(here)), f"`{folder}`" if folder else "-"])
    return rows


def _common_folder(paths: list[str]) -> str:
    if not paths:
        return ""
    parts = [p.split("/")[:-1] for p in paths]
    common = []
    for level in zip(*parts):
        if len(set(level)) != 1:
            break
        common.append(level[0])
    return "/".join(common) + "/" if common else ""


def data_sections(facts: RunFacts, bundle: Path) -> list[str]:
    """The data card's body (and the paper's data section draws on the same facts)."""
    out = ["## Sources and recipes", ""]
    if facts.recipes:
        out += ["Each recipe reads raw sources of one or more kinds and runs its stages in order; every document "
                "leaves a stage kept, dropped with a reason, or quarantined.", "",
                table(["recipe", "reads", "stages", "documents in", "kept", "kept share", "main drop reasons"],
                      _recipe_rows(facts)), ""]
    else:
        out += ["The run recorded no corpus recipe stages.", ""]
    if facts.languages:
        mix = facts.languages
        out += ["## Languages", "",
                f"Counted from the language labels in the {num(len(mix.files))} document files that "
                f"`manifests/{mix.stage.split(', ')[0]}.json` records (fastText lid.176 for text, the detected "
                "language for code):", "",
                table(["language", "code", "documents", "characters", "share"], language_rows(mix)), ""]
    dedup = _dedup_sentence(facts)
    if dedup or _dedup_summaries(facts):
        out += ["## Deduplication and weights", "", dedup, "", *_weights_section(facts)]
    if facts.phases:
        sources = sorted({s for p in facts.phases for s in p.by_source})
        out += ["## Token mixtures", "",
                "Tokens packed per training phase and recipe (the mixture weights asked for in brackets):", "",
                table(["phase", "context", *sources, "total"],
                      [[p.name, num(p.seq_len), *[f"{num(p.by_source.get(s, 0))} ({p.weights.get(s, 0):g})"
                                                  for s in sources], num(p.tokens)] for p in facts.phases]), ""]
    rows = _shipped_rows(facts, bundle)
    if rows:
        out += ["## What this bundle holds", "",
                "Files each data stage recorded, and how many of them are in this bundle:", "",
                table(["stage", "files recorded", "in this bundle", "folder"], rows), ""]
        recipes = [f"`corpus/recipes/{r.name}.yaml`" for r in facts.recipes if (bundle / "corpus" / "recipes" /
                                                                               f"{r.name}.yaml").is_file()]
        if recipes and any(r[1] != r[2] for r in rows):
            out += [f"Files not shipped are regenerated from the raw sources in the code archive by the recipes "
                    f"{words(recipes)} (`glassworks corpus run RECIPE --workdir run`); `glassworks audit regenerate .` "
                    "compares every regenerated file with its recorded sha256.", ""]
    if (bundle / "croissant.json").is_file():
        out += ["Croissant metadata of the shipped files: `croissant.json`.", ""]
    return out


def paper_ready(facts: RunFacts) -> bool:
    """A paper reports a trained and evaluated model; without both there is nothing to report."""
    return facts.final is not None and bool(facts.final_evals)


def _versus_chance(r: EvalRow) -> str:
    """Where a result stands against chance, judged by its 95 % interval."""
    ci = r.ci95
    if r.chance is None or ci is None or r.higher_is_better is None:
        return ""
    better = ci[0] > r.chance if r.higher_is_better else ci[1] < r.chance
    worse = ci[1] < r.chance if r.higher_is_better else ci[0] > r.chance
    return "better than chance" if better else "worse than chance" if worse else "not distinguishable from chance"


def limitations(facts: RunFacts) -> list[str]:
    """Limitations that follow from this run's own numbers."""
    out = []
    final = facts.final
    if final is not None and final.tokens is not None:
        ratio = (f" for {num(facts.parameters)} parameters ({final.tokens / facts.parameters:.2g} tokens per "
                 "parameter, against about 20 for compute-optimal training)" if facts.parameters else "")
        out.append(f"Training saw {num(final.tokens)} tokens{ratio}; what the model writes is not reliable as fact.")
    if facts.languages and facts.languages.natural:
        mix, total = facts.languages, facts.languages.characters
        main = max(mix.natural, key=lambda k: mix.natural[k][1])
        minor = [f"{language_name(k)} ({pct(c, total)})" for k, (_, c) in mix.natural.items() if k != main]
        if minor:
            out.append(f"The corpus is mostly {language_name(main)}; the model saw far less {words(minor)} text.")
    rows = facts.final_evals
    small = [r for r in rows if r.n is not None and r.n < 100]
    if small:
        out.append(f"The evaluation is small ({num(min(r.n for r in small))} to {num(max(r.n for r in small))} items "
                   "per task), so the intervals are wide; differences between tasks inside them are not findings.")
    if any(r.stderr is None for r in rows):
        out.append("Some metrics carry no standard error (see the evaluation notes).")
    if rows:
        out.append("The held-out tasks are drawn from the same sources as the training data (documents held out "
                   "before tokenization), so they measure in-distribution fit, not general ability.")
    out.append("No instruction tuning, preference tuning or safety training was done.")
    return out


def technical_report(config: BundleConfig, facts: RunFacts, figures: dict[str, Path | None], mof_label: str,
                     commits: list[str], bundle: Path) -> str:
    lines = [
        f"# {config.name}: technical report",
        "",
        f"Version {config.version}, by {config.producer}. Generated by `glassworks release build` from the run's "
        f"{len(facts.record.manifests)} stage manifests; every number below is read from them or from the files they "
        f"record. Model Openness Framework class of this bundle: **{mof_label}**.",
        "",
        "## 1. Data",
        "",
        "Every stage accounts for every unit it reads: in = kept + dropped (by reason) + quarantined.",
        "",
        table(["stage", "unit", "in", "kept", "dropped", "quarantined", "dropped by reason"], _stage_rows(facts)),
        "",
    ]
    if figures.get("stages"):
        lines += ["![Documents per corpus stage](figures/corpus-stages.png)", ""]
    dedup = _dedup_sentence(facts)
    if dedup:
        lines += ["### Deduplication", "", dedup, ""]
    lines += _weights_section(facts)
    if facts.languages:
        lines += ["### Languages", "", table(["language", "code", "documents", "characters", "share"],
                                             language_rows(facts.languages)), ""]
    run_charts = figures.get("run_dir")
    charts = sorted(run_charts.glob("*.png")) if run_charts is not None and run_charts.is_dir() else []
    if charts:
        lines += ["Charts the stages drew themselves:", ""]
        lines += [f"![{c.stem}](figures/run/{c.name})" for c in charts] + [""]
    lines += ["## 2. Model", ""]
    arch = architecture_rows(facts.final.config) if facts.final else []
    lines += [table(["setting", "value"], arch) if arch else "This run has no final checkpoint with a model config.", ""]
    lines += ["## 3. Training", ""]
    if facts.phases:
        lines += [table(["phase", "context", "steps", "batch (sequences)", "tokens packed", "loss first to last"],
                        training_rows(facts)), ""]
    rows = _checkpoint_rows(facts)
    lines += [table(["checkpoint", "step", "tokens seen", "phase"], rows) if rows else
              "This run has no checkpoints.", ""]
    if figures.get("loss"):
        lines += ["![Training loss](figures/training-loss.png)", ""]
    elif rows:
        lines += ["The run recorded no training metric logs, so there is no loss curve.", ""]
    lines += ["## 4. Evaluation", ""]
    if facts.evals:
        lines += [eval_table(facts.evals), "", " ".join(eval_notes(facts.evals)), ""]
    else:
        lines += ["This run recorded no evaluation results.", ""]
    archives = [f"`code/{p.name}`" for p in sorted((bundle / "code").glob("*.tar.gz"))]
    recipes = sorted((bundle / "corpus" / "recipes").glob("*.yaml"))
    lines += [
        "## 5. Reproducing and verifying",
        "",
        (f"The code is {words(archives)} (commit{'s' if len(commits) > 1 else ''} "
         f"{words([c[:12] for c in commits])}). " if archives else "")
        + "Unpack it, install it (`pip install torch==2.13.0 && pip install -e .`)"
        + (f" and run the recipes {words([f'`corpus/recipes/{r.name}`' for r in recipes])} with "
           "`glassworks corpus run RECIPE --workdir run`" if recipes else "")
        + "; each stage's manifest id depends only on its inputs, config and code, so a regenerated stage has the id "
        "recorded here. `glassworks audit verify .` re-hashes every file of this bundle against its manifests; "
        "`glassworks release check .` recomputes the MOF class.",
        "",
        "## 6. Stage manifests",
        "",
        table(["stage", "manifest"], [[m["stage"]["name"], m["id"]] for m in facts.record.stage_order()]),
        "",
    ]
    return "\n".join(lines)


HEADLINE = ("acc", "acc_norm", "bits_per_byte", "loss")  # metrics with a chance baseline that reads plainly


def _abstract(config: BundleConfig, facts: RunFacts) -> str:
    final = facts.final
    size = f"a {num(facts.parameters)}-parameter" if facts.parameters else "a"
    phases = facts.phases
    contexts = sorted({p.seq_len for p in phases if p.seq_len})
    text = (f"We train {config.name}, {size} decoder-only transformer in the Mistral architecture, for "
            f"{num(final.step)} steps ({num(final.tokens)} tokens)")
    if phases:
        text += (f" in {len(phases)} phases at context length{'s' if len(contexts) > 1 else ''} "
                 f"{words([num(c) for c in contexts])}")
    if facts.recipes:
        text += (f", on a corpus that {len(facts.recipes)} recipes ({words([r.name for r in facts.recipes])}) compile "
                 f"from raw web pages, text and code and deduplicate globally")
    text += ". "
    if facts.languages:
        text += f"The training documents are {language_summary(facts.languages)}. "
    rows = [r for r in facts.final_evals if r.metric in HEADLINE and r.chance is not None]
    if rows:
        text += (f"On {len({r.task for r in facts.final_evals})} held-out tasks, " + "; ".join(
            _metric_summary(metric, [r for r in rows if r.metric == metric])
            for metric in sorted({r.metric for r in rows})) + ". ")
    text += ("Every artifact, from the raw bytes to the weights and the evaluation, is recorded in hash-chained "
             "manifests that ship with the model.")
    return text


def _metric_summary(metric: str, rows: list[EvalRow]) -> str:
    """'bits_per_byte is 2.99 to 4.32 over 4 tasks (chance 8), with no interval' and the like."""
    low, high = min(r.value for r in rows), max(r.value for r in rows)
    span = f"{num(low)}" if low == high else f"{num(low)} to {num(high)}"
    chance = words(sorted({num(r.chance) for r in rows}))
    text = f"{metric} is {span} over {len(rows)} task{'s' if len(rows) > 1 else ''} (chance {chance})"
    verdicts = [_versus_chance(r) for r in rows]
    if not any(verdicts):
        return text + ", with no interval recorded"
    counts = {v: verdicts.count(v) for v in verdicts if v}
    return text + ", " + words([f"{n} of {len(rows)} {v}" for v, n in sorted(counts.items())])


def research_paper(config: BundleConfig, facts: RunFacts, licences: Mapping[str, str], mof_label: str,
                   bundle: Path) -> str:
    assert paper_ready(facts), "the paper needs a final checkpoint and evaluation results"
    final = facts.final
    out = [f"# {config.name}: a fully open small language model, from raw sources to evaluation", "",
           f"*{config.producer}, version {config.version}*", "", "## Abstract", "", _abstract(config, facts), ""]

    out += ["## 1. Method", ""]
    if facts.recipes:
        out += ["Raw sources are read into documents and processed by recipes modelled on public pipelines; a recipe "
                "is a sequence of recorded stages, and every document leaves each stage kept, dropped with a reason "
                "or quarantined. "
                + " ".join(f"The {r.name} recipe reads {words(r.sources)} documents through "
                           f"{words(r.stages)}." for r in facts.recipes), ""]
    dedup = facts.manifest("dedup")
    if dedup is not None:
        cfg = dedup["config"].get("config", dedup["config"])
        lsh = cfg.get("lsh", {}) if isinstance(cfg, dict) else {}
        threshold = f" at Jaccard similarity {lsh['threshold']:g}" if isinstance(lsh.get("threshold"), (int, float)) else ""
        out += [f"The recipes' outputs are then deduplicated together (MinHash LSH{threshold}, with exact "
                "duplicates found by hash), and each kept document receives a sampling weight from the size of its "
                "duplicate cluster instead of being filtered further.", ""]
    if facts.phases:
        out += [f"A tokenizer with a vocabulary of {num((final.config or {}).get('vocab_size'))} is trained on the "
                f"deduplicated documents, and {len(facts.phases)} phase mixtures are packed from them with per-recipe "
                "weights. " + " ".join(f"{p.name.capitalize()}: {p.about}." for p in facts.phases if p.about), ""]
    arch = dict(architecture_rows(final.config)) if final.config else {}
    if arch:
        keys = [("n_layers", "{} layers"), ("dim", "model width {}"), ("n_heads", "{} attention heads"),
                ("n_kv_heads", "{} key-value heads"), ("hidden_dim", "feed-forward width {}"),
                ("window", "a sliding attention window of {} tokens")]
        parts = [label.format(num(arch[k])) for k, label in keys if k in arch]
        out += [f"The model has {words(parts)}" + (f", {num(facts.parameters)} parameters in all" if facts.parameters
                                                  else "") + ".", ""]

    out += ["## 2. Data", ""]
    if facts.recipes:
        total_in = sum(r.seen for r in facts.recipes)
        kinds = [k for r in facts.recipes for k in r.sources]
        shared = sorted({k for k in kinds if kinds.count(k) > 1})
        note = (f" ({words(shared)} documents are read by more than one recipe and counted in each)" if shared else "")
        out += [f"{num(total_in)} documents enter the recipes and {num(sum(r.kept for r in facts.recipes))} leave "
                f"them{note}:",
                "", table(["recipe", "reads", "documents in", "kept", "kept share"],
                          [[r.name, words(r.sources), num(r.seen), num(r.kept), pct(r.kept, r.seen)]
                           for r in facts.recipes]), ""]
    sentence = _dedup_sentence(facts)
    if sentence:
        out += [sentence, ""]
    if facts.languages:
        out += [f"By their language labels the deduplicated documents are {language_summary(facts.languages)}:", "",
                table(["language", "code", "documents", "characters", "share"], language_rows(facts.languages)), ""]
    if facts.phases:
        sources = sorted({s for p in facts.phases for s in p.by_source})
        out += ["Tokens packed per phase and recipe:", "",
                table(["phase", "context", *sources, "total"],
                      [[p.name, num(p.seq_len), *[num(p.by_source.get(s, 0)) for s in sources], num(p.tokens)]
                       for p in facts.phases]), ""]

    out += ["## 3. Training", ""]
    opt = facts.optimizer
    if opt:
        out += [f"AdamW (beta1 {opt.get('beta1')}, beta2 {opt.get('beta2')}, weight decay {opt.get('weight_decay')}) "
                f"with peak learning rate {opt.get('lr')}, {opt.get('warmup_steps')} warm-up steps and decay to "
                f"{opt.get('final_lr_ratio')} of the peak, gradient clipping at {opt.get('grad_clip')}, seed "
                f"{opt.get('seed')}." if all(opt.get(k) is not None for k in
                                             ("beta1", "beta2", "weight_decay", "lr", "warmup_steps", "final_lr_ratio",
                                              "grad_clip", "seed")) else
                "The optimizer settings are in the training manifests.", ""]
    if facts.phases:
        out += [table(["phase", "context", "steps", "batch (sequences)", "tokens packed", "loss first to last"],
                      training_rows(facts)), ""]
    out += [f"The final checkpoint is step {num(final.step)}, after {num(final.tokens)} tokens; "
            f"{len(facts.intermediate)} intermediate checkpoints are released with it.", ""]

    out += ["## 4. Evaluation", ""]
    rows = [r for r in facts.final_evals if r.metric in HEADLINE] or facts.final_evals
    held = facts.manifest("data.tokenize")
    held_out = held["counts"]["dropped"].get("held_out") if held else None
    out += [(f"{num(held_out)} documents were held out before tokenization; " if held_out else "")
            + f"the final checkpoint is scored on {len({r.task for r in rows})} tasks built from held-out documents. "
            "Each result is given with its item count, standard error, 95 % interval and the score of chance.", "",
            eval_table(rows), "", " ".join(eval_notes(rows)), ""]
    judged = [(r, _versus_chance(r)) for r in rows if _versus_chance(r)]
    if judged:
        groups: dict[str, list[str]] = {}
        for r, verdict in judged:
            groups.setdefault(verdict, []).append(f"{r.task} {r.metric}")
        out += [" ".join(f"{len(v)} of {len(rows)} results are {k}: {words(v)}." if len(v) < 4 else
                         f"{len(v)} of {len(rows)} results are {k}." for k, v in sorted(groups.items())), ""]
    others = sorted({r.metric for r in facts.final_evals} - {r.metric for r in rows})
    if others:
        out += [f"The technical report also lists {words(others)}.", ""]

    out += ["## 5. Limitations", "", *[f"- {line}" for line in limitations(facts)], ""]
    out += ["## 6. Release", "",
            f"Model Openness Framework class: **{mof_label}**. Weights are released under {licences['parameters']}, "
            f"code under {licences['code']}, the compiled training data under {licences['datasets']} and documents "
            f"under {licences['document']}. `glassworks audit verify .` re-hashes every file against the manifests, "
            "and `glassworks audit regenerate .` rebuilds the data stages and compares every output hash.", ""]
    out += ["## References", "",
            "- White et al., *The Model Openness Framework*, 2024.",
            "- Jiang et al., *Mistral 7B*, 2023.",
            "- Soboleva et al., *SlimPajama*, 2023; Li et al., *DataComp-LM*, 2024; Kocetkov et al., *The Stack*, 2022.",
            "- Joulin et al., *Bag of Tricks for Efficient Text Classification* (fastText), 2017.", ""]
    return "\n".join(out)
