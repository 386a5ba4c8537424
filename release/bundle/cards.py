"""The model card and the dataset card, written with huggingface_hub's card classes.

Both cards are built from ``RunFacts`` only, so every number in them is one the run
recorded. Their YAML front matter is what the Hub indexes: licence (a Hub licence id, or
``other`` with ``license_name`` and a ``license_link`` to the text in this bundle),
languages (from the language labels of the documents trained on), datasets, tags and, for
the model, ``model-index`` eval results. A card names a file only when it is in the bundle.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

from glassworks.release.bundle.config import BundleConfig
from glassworks.release.bundle.facts import LanguageMix, RunFacts

# The Hub's licence ids (huggingface/hub-docs, docs/hub/repositories-licenses.md, which the
# Hub validates cards against); any other licence or expression is declared as ``other``.
HUB_LICENCES = frozenset("""
apache-2.0 mit openrail bigscience-openrail-m creativeml-openrail-m bigscience-bloom-rail-1.0 bigcode-openrail-m
afl-3.0 artistic-2.0 bsl-1.0 bsd bsd-2-clause bsd-3-clause bsd-3-clause-clear c-uda cc cc0-1.0 cc-by-2.0
cc-by-2.5 cc-by-3.0 cc-by-4.0 cc-by-sa-3.0 cc-by-sa-4.0 cc-by-nc-2.0 cc-by-nc-3.0 cc-by-nc-4.0 cc-by-nd-4.0
cc-by-nc-nd-3.0 cc-by-nc-nd-4.0 cc-by-nc-sa-2.0 cc-by-nc-sa-3.0 cc-by-nc-sa-4.0 cdla-sharing-1.0
cdla-permissive-1.0 cdla-permissive-2.0 wtfpl ecl-2.0 epl-1.0 epl-2.0 etalab-2.0 eupl-1.1 eupl-1.2 agpl-3.0 gfdl
gpl gpl-2.0 gpl-3.0 lgpl lgpl-2.1 lgpl-3.0 isc lppl-1.3c ms-pl mpl-2.0 odc-by odbl openmdw-1.0 openrail++
osl-3.0 postgresql ofl-1.1 ncsa unlicense zlib pddl lgpl-lr
""".split())
# SPDX ids whose Hub id is spelled differently (the Hub's GPL ids mean "only", not "or later").
SPDX_TO_HUB = {"PDDL-1.0": "pddl", "ODbL-1.0": "odbl", "ODC-By-1.0": "odc-by", "C-UDA-1.0": "c-uda",
               "GPL-2.0-only": "gpl-2.0", "GPL-3.0-only": "gpl-3.0", "LGPL-2.1-only": "lgpl-2.1",
               "LGPL-3.0-only": "lgpl-3.0", "AGPL-3.0-only": "agpl-3.0"}
LANGUAGE_NAMES = {"en": "English", "de": "German", "fr": "French", "es": "Spanish", "it": "Italian", "nl": "Dutch",
                  "pt": "Portuguese", "ru": "Russian", "pl": "Polish", "sv": "Swedish", "da": "Danish",
                  "fi": "Finnish", "cs": "Czech", "zh": "Chinese", "ja": "Japanese", "ko": "Korean", "ar": "Arabic"}


def hub_id(spdx: str) -> str | None:
    """The Hub's id for one SPDX licence id, or None when the Hub has none."""
    lowered = SPDX_TO_HUB.get(spdx, spdx.lower())
    return lowered if lowered in HUB_LICENCES else None


def licence_link(spdx: str, bundle: Path) -> str:
    """The licence text in this bundle: ``LICENSES/<id>.txt``, the folder for an expression."""
    rel = f"LICENSES/{spdx}.txt" if " " not in spdx.strip() else "LICENSES"
    if not (bundle / rel).exists():
        raise ValueError(f"{bundle / rel}: the licence text of {spdx} is not in the bundle")
    return rel


def hub_licence(spdx: str, bundle: Path) -> dict:
    """Card metadata for an SPDX licence or expression: ``license: <hub id>``, or ``other``
    with a ``license_name`` (a lower-case id, as the Hub asks) and a link to the text."""
    found = hub_id(spdx.strip())
    if found:
        return {"license": found}
    name = re.sub(r"[^a-z0-9.]+", "-", spdx.lower()).strip("-")
    return {"license": "other", "license_name": name, "license_link": licence_link(spdx, bundle)}


def dataset_licences(ids: list[str], bundle: Path) -> dict:
    """A dataset card may list several licence ids; one without a Hub id becomes ``other``."""
    if len(ids) == 1:
        return hub_licence(ids[0], bundle)
    others = [i for i in ids if not hub_id(i)]
    meta: dict = {"license": sorted({hub_id(i) or "other" for i in ids})}
    if len(others) == 1:
        meta |= {"license_name": hub_licence(others[0], bundle)["license_name"],
                 "license_link": licence_link(others[0], bundle)}
    elif others:
        meta |= {"license_name": hub_licence(" AND ".join(others), bundle)["license_name"], "license_link": "LICENSES"}
    return meta


def table(header: list[str], rows: list[list]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def num(x) -> str:
    """A number for prose and tables: integers with separators, floats to 4 significant digits."""
    if isinstance(x, bool) or x is None:
        return "-"
    if isinstance(x, int):
        return f"{x:,}"
    return f"{x:,.0f}" if abs(x) >= 1e5 and abs(x) < 1e9 else f"{x:.4g}"


def pct(part: float, whole: float) -> str:
    return f"{100 * part / whole:.1f} %" if whole else "-"


def words(items: list[str]) -> str:
    """'a', 'a and b', 'a, b and c'."""
    items = [str(i) for i in items]
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1] if items else ""


def language_name(code: str) -> str:
    return LANGUAGE_NAMES.get(code, f"language `{code}`")


def architecture_rows(config: Mapping | None) -> list[list]:
    if not config:
        return []
    return [[key, value] for key, value in sorted(config.items()) if isinstance(value, (int, float, str, bool))]


def eval_table(rows, metrics: tuple[str, ...] | None = None) -> str:
    """Eval rows with their item count, standard error, 95 % interval and chance baseline; a
    checkpoint column when they span several checkpoints."""
    rows = [r for r in rows if metrics is None or r.metric in metrics]
    several = len({r.checkpoint for r in rows}) > 1
    cells = []
    for r in rows:
        ci = r.ci95
        cells.append(([r.checkpoint] if several else []) + [
            r.task, r.metric, num(r.n), num(r.value), "-" if r.stderr is None else f"{r.stderr:.3f} ({r.stderr_basis})",
            "-" if ci is None else f"{ci[0]:.3f} to {ci[1]:.3f}", "-" if r.chance is None else num(r.chance)])
    header = (["checkpoint"] if several else []) + ["task", "metric", "items", "value", "stderr", "95 % interval",
                                                     "chance"]
    return table(header, cells) if cells else ""


def eval_notes(rows) -> list[str]:
    """What the table's stderr and chance columns mean for these rows (one sentence each)."""
    notes = []
    bases = {r.stderr_basis for r in rows}
    if "binomial" in bases:
        notes.append("Accuracy stderr is binomial, sqrt(p(1-p)/(n-1)) over the n items; its interval is Wilson's.")
    if "bootstrap" in bases:
        notes.append("Perplexity stderr is a bootstrap over documents (1,000 resamples, seed 0).")
    if "lm-eval" in bases:
        notes.append("Where marked lm-eval, the harness computed the stderr itself.")
    missing = sorted({r.metric for r in rows if r.stderr is None})
    if missing:
        notes.append(f"No stderr for {words(missing)}: the evaluation kept no per-document scores to resample.")
    for basis in sorted({r.chance_basis for r in rows if r.chance_basis}):
        metrics = sorted({r.metric for r in rows if r.chance_basis == basis})
        notes.append(f"Chance for {words(metrics)} is {basis}.")
    return notes


def language_rows(mix: LanguageMix) -> list[list]:
    total = mix.characters
    rows = [[language_name(k), k, num(d), num(c), pct(c, total)]
            for k, (d, c) in sorted(mix.natural.items(), key=lambda kv: -kv[1][1])]
    rows += [[f"{k} (code)", "code", num(d), num(c), pct(c, total)]
             for k, (d, c) in sorted(mix.code.items(), key=lambda kv: -kv[1][1])]
    if mix.unlabelled[0]:
        rows.append(["no label", "-", num(mix.unlabelled[0]), num(mix.unlabelled[1]), pct(mix.unlabelled[1], total)])
    return rows


def language_summary(mix: LanguageMix | None) -> str:
    if mix is None:
        return "The run recorded no documents whose languages could be counted."
    total = mix.characters
    parts = [f"{language_name(k)} ({pct(c, total)} of characters)"
             for k, (_, c) in sorted(mix.natural.items(), key=lambda kv: -kv[1][1])]
    if mix.code:
        share = sum(c for _, c in mix.code.values())
        parts.append(f"source code in {words(sorted(mix.code))} ({pct(share, total)})")
    return words(parts)


def _files(bundle: Path, rels: list[str]) -> list[str]:
    return [f"`{rel}`" for rel in rels if (bundle / rel.rstrip("/")).exists()]


def _licence_lines(config: BundleConfig, licences: Mapping[str, str], bundle: Path) -> list[str]:
    kinds = (("code", "Code"), ("parameters", "Weights"), ("document", "Documents"), ("datasets", "Training data"),
             ("evaluation_data", "Evaluation data"))
    return [f"- {label}: {licences[kind]} (`{licence_link(licences[kind], bundle)}`)" for kind, label in kinds
            if licences.get(kind)]


def model_card(config: BundleConfig, facts: RunFacts, mof_label: str, licences: Mapping[str, str], bundle: Path) -> str:
    from huggingface_hub import EvalResult, ModelCard, ModelCardData

    from glassworks.release.bundle.report import HEADLINE, limitations, training_rows

    final = facts.final
    assert final is not None, "a model card needs the final checkpoint"
    results = [EvalResult(task_type="text-generation", dataset_type=r.task, dataset_name=r.task,
                          metric_type=r.metric, metric_value=round(r.value, 6)) for r in facts.final_evals]
    langs = facts.languages.hub_languages() if facts.languages else None
    data = ModelCardData(
        model_name=config.name, language=langs or None, library_name="transformers",
        pipeline_tag="text-generation", tags=["glassworks", "mistral", "mof", "open-science"],
        datasets=[config.hub_repo + "-corpus"] if config.hub_repo else None,
        eval_results=results or None, **hub_licence(licences["parameters"], bundle),
    )
    arch = architecture_rows(final.config)
    size = f"a {num(facts.parameters)}-parameter" if facts.parameters else "a"
    tokens = sum(p.tokens for p in facts.phases)
    trained = (f"on {num(final.tokens)} tokens" if final.tokens else "") + (
        f" drawn from {num(tokens)} packed tokens of {language_summary(facts.languages)}" if tokens else "")
    body = [
        f"# {config.name}",
        "",
        f"{config.name} is {size} decoder-only language model (Mistral architecture) trained by {config.producer} "
        f"with glassworks {trained}, to step {final.step}. It is released with its code, the records of its corpus, "
        f"its checkpoints and its evaluation results; `model.yml` lists each Model Openness Framework component "
        f"in this bundle and its licence. Class: **{mof_label}** (`glassworks release check .` recomputes it).",
        "",
        "## Model",
        "",
        table(["setting", "value"], arch) if arch else "The final checkpoint carries no model config.",
        "",
        "Weights: " + words(_files(bundle, ["checkpoints/final/", "hf/"])) + " (glassworks and Hugging Face formats).",
        "",
        "## Training data",
        "",
        f"Languages, from the language labels of the documents trained on: {language_summary(facts.languages)}. "
        "The data card " + words(_files(bundle, ["corpus/README.md"])) + " gives the sources, the filtering and "
        "deduplication counts and the licence of the compiled data.",
        "",
        "## Training",
        "",
    ]
    rows = training_rows(facts)
    body += [table(["phase", "context", "steps", "batch (sequences)", "tokens packed", "loss first to last"], rows)
             if rows else "The run recorded no training phases.", ""]
    if facts.intermediate:
        body += [f"{len(facts.intermediate)} intermediate checkpoints are released under `checkpoints/` (steps "
                 f"{words([str(c.step) for c in facts.intermediate])}).", ""]
    body += ["## Evaluation", ""]
    if facts.final_evals:
        headline = [r for r in facts.final_evals if r.metric in HEADLINE] or facts.final_evals
        others = sorted({r.metric for r in facts.final_evals} - {r.metric for r in headline})
        body += [eval_table(headline), "", " ".join(eval_notes(headline)), ""]
        if others:
            body += [f"The technical report lists {words(others)} as well.", ""]
    else:
        body += ["No evaluation results of the final checkpoint were recorded for this run.", ""]
    body += [
        "## Use",
        "",
        "```python",
        "from transformers import AutoModelForCausalLM",
        'model = AutoModelForCausalLM.from_pretrained("hf")  # the folder of this bundle, or the Hub repo id',
        "```",
        "",
        "## Limitations",
        "",
        *[f"- {line}" for line in limitations(facts)],
        "",
        "## Files",
        "",
        "Paper and report: " + words(_files(bundle, ["docs/paper.md", "docs/technical-report.md"]) or ["none"]) + ". "
        "Provenance: every file is recorded in `manifests/` with its sha256 and the stage that made it; "
        "`glassworks audit verify .` checks them all.",
        "",
        "## Licence",
        "",
        *_licence_lines(config, licences, bundle),
    ]
    return str(ModelCard.from_template(data, template_str="---\n{{ card_data }}\n---\n\n" + "\n".join(body) + "\n"))


def _size_category(n: int) -> str:
    for limit, label in ((1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"), (1_000_000, "100K<n<1M")):
        if n < limit:
            return label
    return "n>1M"


def dataset_card(config: BundleConfig, facts: RunFacts, licences: Mapping[str, str], bundle: Path) -> str:
    from huggingface_hub import DatasetCard, DatasetCardData

    from glassworks.release.bundle.report import data_sections

    ids = [t for t in re.split(r"\s+|[()]", licences["datasets"]) if t and t.upper() not in ("AND", "OR", "WITH")]
    mix = facts.languages
    documents = sum(d for d, _ in [*mix.natural.values(), *mix.code.values(), mix.unlabelled]) if mix else 0
    data = DatasetCardData(
        pretty_name=f"{config.name} training corpus", language=mix.hub_languages() if mix else None,
        size_categories=_size_category(documents), task_categories=["text-generation"], source_datasets=["original"],
        tags=["glassworks", "provenance", "deduplicated"], **dataset_licences(sorted(set(ids)), bundle),
    )
    recipes = words([f"{r.name} ({words(r.sources)})" for r in facts.recipes])
    body = [
        f"# {config.name} training corpus",
        "",
        f"The documents {config.name} was trained on: {num(documents)} documents of {language_summary(mix)}, "
        f"compiled from raw sources by the {recipes} recipe{'s' if len(facts.recipes) > 1 else ''} and deduplicated "
        "across them. Every count below is read from the stage manifests in `manifests/`.",
        "",
        *data_sections(facts, bundle),
        "## Licence",
        "",
        f"The compiled data is released under {licences['datasets']} (`{licence_link(licences['datasets'], bundle)}`).",
        "",
    ]
    if (bundle / "corpus" / "NOTICE.md").is_file():
        body += ["That licence covers the compilation; the documents keep their authors' terms. `corpus/NOTICE.md` "
                 "lists each licence with its documents and copyright holders, and `LICENSES/` holds every text.", ""]
    if facts.data_release:
        body += [f"Why each source allows this, from {facts.data_release_note} (its paths are those of the "
                 "repository's data folder, which the code archive in `code/` holds):", "", facts.data_release, ""]
    else:
        body += [f"The per-source reasoning for this licence is not available: {facts.data_release_note}.", ""]
    return str(DatasetCard.from_template(data, template_str="---\n{{ card_data }}\n---\n\n" + "\n".join(body) + "\n"))
