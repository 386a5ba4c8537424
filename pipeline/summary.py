"""The end-of-run summary of a recipe: a table of in / kept / dropped by reason per stage, and
the same as a PNG bar chart, so a reader sees at once where the corpus shrank and why."""

from __future__ import annotations

from pathlib import Path

from glassworks.pipeline.documents import add_writer_counts
from glassworks.pipeline.recipe import StageResult
from glassworks.provenance.recorder import Counts


def stage_totals(result: StageResult) -> dict:
    """Counts of one stage summed over its sources: in, kept, quarantined, dropped by reason
    (the same sums its manifest records)."""
    counts = Counts()
    for writer in result.counts.values():
        add_writer_counts(counts, writer)
    return counts.as_json()


def summary_table(recipe: str, results: list[StageResult]) -> str:
    rows = [("stage", "in", "kept", "dropped", "quarantined", "dropped by reason")]
    for result in results:
        t = stage_totals(result)
        reasons = ", ".join(f"{reason} {n}" for reason, n in sorted(t["dropped"].items(), key=lambda kv: -kv[1]))
        rows.append((f"{recipe}.{result.stage}", str(t["in"]), str(t["kept"]), str(sum(t["dropped"].values())),
                     str(t["quarantined"]), reasons or "-"))
    widths = [max(len(row[i]) for row in rows) for i in range(5)]
    lines = []
    for n, row in enumerate(rows):
        cells = [row[0].ljust(widths[0])] + [row[i].rjust(widths[i]) for i in range(1, 5)] + [row[5]]
        lines.append("  ".join(cells))
        if n == 0:
            lines.append("  ".join("-" * w for w in widths) + "  " + "-" * 17)
    return "\n".join(lines)


def summary_chart(recipe: str, results: list[StageResult], path: Path) -> Path:
    """Stacked bars per stage: kept, each drop reason, quarantined."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    totals = [stage_totals(r) for r in results]
    reasons = sorted({reason for t in totals for reason in t["dropped"]})
    labels = [r.stage for r in results]
    fig, ax = plt.subplots(figsize=(max(5, 1.6 * len(labels) + 3), 4), dpi=120)
    bottom = [0] * len(labels)
    series = [("kept", [t["kept"] for t in totals])]
    series += [(f"dropped: {reason}", [t["dropped"].get(reason, 0) for t in totals]) for reason in reasons]
    series += [("quarantined", [t["quarantined"] for t in totals])]
    for name, values in series:
        if any(values):
            ax.bar(labels, values, bottom=bottom, label=name)
            bottom = [b + v for b, v in zip(bottom, values)]
    ax.set_ylabel("documents")
    ax.set_title(f"{recipe}: where the documents went, stage by stage")
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, metadata={"Software": None})
    plt.close(fig)
    return path
