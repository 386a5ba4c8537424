"""Sampling weights from duplication and quality: reweighting instead of hand-selecting.

For the kept document of a cluster of ``size`` copies, with quality score ``q``:

    weight = min(cap, size**alpha * r**beta * (q / quality_ref)**gamma)

    r = mean over its non-space characters c of df(c)**(alpha - 1)

where df(c) is the number of kept documents holding the most repeated sentence or
paragraph around c (1 for text found nowhere else; see ``spans.analyse``). The quality
factor is 1 for a document without a score. One law at both granularities: text found
in k places weighs k**alpha in total, whether the k places are copies of one document
(one kept, weight size**alpha) or k different documents sharing a paragraph (each
k**(alpha - 1) on it). With the defaults (alpha 0.5, beta 1, gamma 1, quality_ref 0.5,
cap 4):

- a cluster of 4 copies is sampled twice as often as a unique document, not 4 times
  (all kept) nor once (dedup alone): popular text stays a bit popular (sublinear);
- a document that is all boilerplate repeated in 400 documents gets 1/20 of the weight,
  tending to 0 as the boilerplate spreads; what recurs in more than
  ``spans.max_frequency`` documents is cut from the text altogether;
- a unique document scored 0.9 is up-sampled 1.8 times.

``duplicate_fraction`` (recorded too) is the share of characters with df >= 2, the plain
"how much of this is found elsewhere"; r refines it by how often.

A mixer samples a document ``weight`` times per pass over its source in expectation
(e.g. floor(weight) copies plus one more with probability weight - floor(weight)).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from glassworks.pipeline.dedup.config import WeightConfig


def sampling_weight(size: int, repetition_factor: float, quality: float, config: WeightConfig) -> float:
    w = size**config.alpha * max(0.0, repetition_factor) ** config.beta
    if math.isfinite(quality):
        w *= (max(quality, 0.0) / config.quality_ref) ** config.gamma
    return round(min(config.cap, w), 6)


def _stats(values: np.ndarray) -> dict:
    if not len(values):
        return {"sum": 0.0, "mean": 0.0, "min": 0.0, "p50": 0.0, "p90": 0.0, "max": 0.0}
    return {"sum": round(float(values.sum()), 6), "mean": round(float(values.mean()), 6),
            "min": float(values.min()), "p50": round(float(np.quantile(values, 0.5)), 6),
            "p90": round(float(np.quantile(values, 0.9)), 6), "max": float(values.max())}


def load_weights(work: Path, tasks: int) -> dict[str, dict[str, np.ndarray]]:
    """Source -> {weight, duplicate_fraction, cluster_size} of its kept documents, over all tasks."""
    parts: dict[str, dict[str, list]] = {}
    for task in range(tasks):
        with np.load(Path(work) / "weights" / f"{task:05d}.npz") as data:
            for source in np.unique(data["source"]):
                at = data["source"] == source
                into = parts.setdefault(str(source), {"weight": [], "duplicate_fraction": [], "cluster_size": []})
                for key in into:
                    into[key].append(data[key][at])
    return {s: {k: np.concatenate(v) for k, v in cols.items()} for s, cols in sorted(parts.items())}


def summarise(weights: dict[str, dict[str, np.ndarray]], writer: dict[str, int], sources: list[str]) -> dict:
    """Per source: documents in, kept, removed by reason, quarantined, and the weight figures."""
    out = {}
    for source in sorted(sources):
        prefix = f"source/{source}/"
        mine = {k.removeprefix(prefix): v for k, v in writer.items() if k.startswith(prefix)}
        cols = weights.get(source, {"weight": np.zeros(0), "duplicate_fraction": np.zeros(0), "cluster_size": np.zeros(0)})
        out[source] = {
            "in": mine.get("in", 0), "kept": mine.get("kept", 0), "quarantined": mine.get("quarantined", 0),
            "removed": {k.removeprefix("dropped/"): v for k, v in sorted(mine.items()) if k.startswith("dropped/")},
            "spans_removed": mine.get("spans_removed", 0),
            "near_duplicate_paragraphs": mine.get("near_duplicate_paragraphs", 0),
            "weight": _stats(cols["weight"]),
            "duplicate_fraction_mean": round(float(cols["duplicate_fraction"].mean()), 6) if len(cols["weight"]) else 0.0,
            "in_clusters": int((cols["cluster_size"] > 1).sum()),
        }
    return out


def weight_histogram(weights: dict[str, dict[str, np.ndarray]], cap: float, path: Path) -> Path:
    """One step histogram of kept documents' weights per source (log counts)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path.parent.mkdir(parents=True, exist_ok=True)
    fig, ax = plt.subplots(figsize=(7, 4), dpi=110)
    bins = np.linspace(0, cap, 41)
    for source, cols in weights.items():
        if len(cols["weight"]):
            ax.hist(cols["weight"], bins=bins, histtype="step", linewidth=1.6,
                    label=f"{source} ({len(cols['weight'])} docs, sum {cols['weight'].sum():.0f})")
    ax.axvline(1.0, color="grey", linestyle=":", linewidth=1)
    ax.set_yscale("log")
    ax.set_xlabel("sampling weight (1 = sampled once per pass)")
    ax.set_ylabel("kept documents")
    ax.set_title("dedup: sampling weights per source")
    if weights:
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, metadata={"Software": None})
    plt.close(fig)
    return path
