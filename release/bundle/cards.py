"""The model card and the dataset card, written with huggingface_hub's card classes.

Both cards are built from ``RunFacts`` only, so every number in them is one the run
recorded. Their YAML front matter is what the Hub indexes: licence, language, datasets,
tags, and (for the model) ``model-index`` eval results.
"""

from __future__ import annotations

from collections.abc import Mapping

from glassworks.release.bundle.config import BundleConfig
from glassworks.release.bundle.facts import RunFacts


# The Hub's licence vocabulary spells these SPDX ids in lower case; any other licence or
# expression is declared as ``other`` with its SPDX name and a link to the shipped text.
HUB_LICENCES = frozenset({
    "apache-2.0", "mit", "bsd-2-clause", "bsd-3-clause", "bsd-3-clause-clear", "isc", "mpl-2.0", "gpl-2.0", "gpl-3.0",
    "lgpl-2.1", "lgpl-3.0", "agpl-3.0", "cc0-1.0", "cc-by-2.0", "cc-by-2.5", "cc-by-3.0", "cc-by-4.0", "cc-by-sa-3.0",
    "cc-by-sa-4.0", "cdla-permissive-1.0", "cdla-permissive-2.0", "cdla-sharing-1.0", "pddl", "odbl", "odc-by",
    "artistic-2.0", "bsl-1.0", "ecl-2.0", "epl-2.0", "eupl-1.1", "ofl-1.1", "unlicense", "wtfpl", "zlib", "postgresql",
})


def hub_licence(spdx: str) -> dict:
    """Card metadata for an SPDX licence or expression."""
    if spdx.lower() in HUB_LICENCES:
        return {"license": spdx.lower()}
    link = f"LICENSES/{spdx}.txt" if " " not in spdx else "LICENSES/"
    return {"license": "other", "license_name": spdx, "license_link": link}


def table(header: list[str], rows: list[list]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def architecture_rows(config: Mapping | None) -> list[list]:
    if not config:
        return []
    return [[key, value] for key, value in sorted(config.items()) if isinstance(value, (int, float, str, bool))]


def eval_table(rows) -> str:
    """A Markdown table of eval rows; a checkpoint column when they span several checkpoints."""
    several = len({r.checkpoint for r in rows}) > 1
    cells = [([r.checkpoint] if several else []) + [r.task, r.metric, f"{r.value:.4f}",
                                                    "" if r.stderr is None else f"{r.stderr:.4f}"] for r in rows]
    header = (["checkpoint"] if several else []) + ["task", "metric", "value", "stderr"]
    return table(header, cells) if cells else ""


def model_card(config: BundleConfig, facts: RunFacts, mof_label: str, datasets_licence: str) -> str:
    from huggingface_hub import EvalResult, ModelCard, ModelCardData

    final = facts.final
    assert final is not None, "a model card needs the final checkpoint"
    results = [EvalResult(task_type="text-generation", dataset_type=r.task, dataset_name=r.task,
                          metric_type=r.metric, metric_value=round(r.value, 6)) for r in facts.final_evals]
    data = ModelCardData(
        model_name=config.name, language=config.language, library_name="transformers",
        pipeline_tag="text-generation", tags=["glassworks", "mistral", "mof", "open-science"],
        datasets=[config.hub_repo + "-corpus"] if config.hub_repo else None,
        eval_results=results or None, **hub_licence(config.licences.parameters),
    )
    steps = ", ".join(f"`{c.name}` (step {c.step}, {c.tokens} tokens, phase {c.phase})" for c in facts.intermediate)
    arch = architecture_rows(final.config)
    body = [
        f"# {config.name}",
        "",
        f"{config.name} is a decoder-only language model (Mistral architecture) trained by {config.producer} with "
        "glassworks, released with its code, the recipes and records of its corpus, its checkpoints and its "
        "evaluation results; `model.yml` lists exactly which Model Openness Framework components are included and "
        f"under which licences. Class: **{mof_label}** (`glassworks release check .` recomputes it).",
        "",
        "## Model",
        "",
        table(["setting", "value"], arch) if arch else "The checkpoint carries no model config.",
        "",
        f"Final checkpoint: step {final.step}, {final.tokens} training tokens, phase {final.phase} "
        "(`checkpoints/final/`; Hugging Face format in `hf/`).",
        "",
        "## Training",
        "",
        f"Intermediate checkpoints: {steps or 'none shipped'}. The corpus is described in `corpus/README.md` "
        f"(licences: {datasets_licence}); how it was filtered, deduplicated and weighted, with the loss curves, is in "
        "`docs/technical-report.md`.",
        "",
        "## Evaluation",
        "",
        eval_table(facts.final_evals) or "No evaluation results of the final checkpoint were recorded for this run.",
        "",
        "## Use",
        "",
        "```python",
        "from transformers import AutoModelForCausalLM",
        'model = AutoModelForCausalLM.from_pretrained("hf")  # or the Hub repo id',
        "```",
        "",
        "## Limitations",
        "",
        "The model is as small as its training data: it was trained on the corpus described in the data card and "
        "nothing else, with no instruction tuning or safety training. Its outputs are not reliable facts.",
        "",
        "## Provenance",
        "",
        "Every file of this bundle is recorded in `manifests/` with its sha256 and the stage that made it; "
        "`glassworks audit verify .` checks them all.",
        "",
        "## Licence",
        "",
        f"Weights: {config.licences.parameters}. Code: {config.licences.code}. Documents: {config.licences.document}. "
        "Texts in `LICENSES/`.",
    ]
    return str(ModelCard.from_template(data, template_str="---\n{{ card_data }}\n---\n\n" + "\n".join(body) + "\n"))


def _size_category(n: int) -> str:
    for limit, label in ((1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"), (1_000_000, "100K<n<1M")):
        if n < limit:
            return label
    return "n>1M"


def dataset_card(config: BundleConfig, facts: RunFacts, licences: list[str], ship: str) -> str:
    from huggingface_hub import DatasetCard, DatasetCardData

    final_stages = _final_stages(facts)
    kept = sum(s.kept for s in final_stages)
    data = DatasetCardData(
        pretty_name=f"{config.name} training corpus", language=config.language,
        license=sorted({hub_licence(lic)["license"] for lic in licences}) or None, size_categories=_size_category(kept),
        task_categories=["text-generation"], source_datasets=["original"],
        tags=["glassworks", "provenance", "deduplicated"],
    )
    rows = [[s.name, s.seen, s.kept, sum(s.dropped.values()), s.quarantined,
             ", ".join(f"{k} {v}" for k, v in sorted(s.dropped.items())) or "-"] for s in facts.corpus_stages]
    shipped = ("The documents of every stage are in this bundle, with the manifests that record them."
               if ship == "shards" else
               "This bundle ships the recipes (`corpus/recipes/`) and the stage manifests (`records/manifests/`), not "
               "the documents: `glassworks corpus run corpus/recipes/<recipe>.yaml --workdir run` regenerates them "
               "from the raw sources in the code archive, and the manifests' sha256 say whether the result is "
               "byte-identical.")
    body = [
        f"# {config.name} training corpus",
        "",
        f"The corpus {config.name} was trained on: {kept} documents after the last stage of each recipe, from "
        f"raw sources licensed {', '.join(licences) or 'as recorded in the sources stage'}. {shipped}",
        "",
        "## Sources",
        "",
        "Web pages (WARC), curated text (JSON lines) and code repositories, each listed with its origin and licence "
        "in `data/SOURCES.md` of the code archive.",
        "",
        "## Processing",
        "",
        "Each stage reads what the stage before kept; every document leaves by exactly one door: kept, dropped "
        "(with its reason) or quarantined.",
        "",
        table(["stage", "in", "kept", "dropped", "quarantined", "dropped by reason"], rows) if rows else "",
        "",
        "Croissant metadata: `croissant.json` at the root of the bundle (paths in it are bundle paths).",
        "",
        "## Licence",
        "",
        "Each document keeps the licence of its source; texts in `LICENSES/`.",
    ]
    return str(DatasetCard.from_template(data, template_str="---\n{{ card_data }}\n---\n\n" + "\n".join(body) + "\n"))


def _final_stages(facts: RunFacts) -> list:
    """The last corpus stage of each recipe (the stage names are ``<recipe>.<stage>``)."""
    last: dict[str, object] = {}
    for stage in facts.corpus_stages:
        if "." in stage.name:
            last[stage.name.split(".", 1)[0]] = stage
    return list(last.values())
