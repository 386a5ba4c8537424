"""The S-curve: how likely a pair of Jaccard J is joined, for a bands x rows choice.

``s_curve(lsh)`` tabulates it, ``plot_s_curve`` draws ours beside SlimPajama's 9 x 13 and
datatrove's default 14 x 8 (``python -m glassworks.pipeline.dedup.scurve OUT.png``).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from glassworks.pipeline.dedup.config import LshConfig

LEVELS = (0.5, 0.6, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95)
REFERENCES = {"SlimPajama 9 x 13": LshConfig(bands=9, rows=13, verify=False),
              "datatrove default 14 x 8": LshConfig(bands=14, rows=8, verify=False)}


def s_curve(lsh: LshConfig, levels=LEVELS) -> list[dict]:
    """Per Jaccard level: P(candidate), P(verified | candidate), P(joined)."""
    return [{"jaccard": j, "candidate": round(lsh.candidate_probability(j), 4),
             "verified": round(lsh.verify_probability(j), 4), "joined": round(lsh.detection_probability(j), 4)}
            for j in levels]


def markdown_table(lsh: LshConfig, levels=LEVELS) -> str:
    rows = [f"| {r['jaccard']:.2f} | {r['candidate']:.4f} | {r['verified']:.4f} | {r['joined']:.4f} |"
            + "".join(f" {ref.detection_probability(r['jaccard']):.4f} |" for ref in REFERENCES.values())
            for r in s_curve(lsh, levels)]
    head = "| Jaccard | candidate | verified | joined |" + "".join(f" {name} |" for name in REFERENCES)
    return "\n".join([head, "|" + "---|" * (4 + len(REFERENCES)), *rows])


def plot_s_curve(lsh: LshConfig, path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    j = np.linspace(0, 1, 201)
    fig, ax = plt.subplots(figsize=(7, 4.2), dpi=110)
    ax.plot(j, [lsh.detection_probability(x) for x in j], linewidth=2.2,
            label=f"glassworks {lsh.bands} x {lsh.rows}, verified at >= {lsh.threshold - lsh.verify_slack:.2f}")
    ax.plot(j, [lsh.candidate_probability(x) for x in j], linestyle="--", linewidth=1.2,
            label=f"glassworks {lsh.bands} x {lsh.rows}, candidates only")
    for name, ref in REFERENCES.items():
        ax.plot(j, [ref.detection_probability(x) for x in j], linewidth=1.2, label=name)
    ax.axvline(lsh.threshold, color="grey", linestyle=":", linewidth=1)
    ax.set_xlabel("Jaccard similarity of the shingle sets")
    ax.set_ylabel("P(pair joined)")
    ax.set_title(f"MinHash LSH S-curves (threshold {lsh.threshold})")
    ax.legend(fontsize=8, loc="upper left")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, metadata={"Software": None})
    plt.close(fig)
    return path


if __name__ == "__main__":
    print(markdown_table(LshConfig()))
    if len(sys.argv) > 1:
        print(plot_s_curve(LshConfig(), Path(sys.argv[1])))
