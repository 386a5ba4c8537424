"""The audit report a person reads: Markdown and HTML, with a picture of the lineage graph.

It holds the verdict, a table of checks, every failure and warning with the file or record
it names, one row per stage (counts and outputs), the signer, and ``lineage.png``: the
manifest graph from the raw inputs to the last stage, each box a stage with its counts and
output files, red where a check failed. The HTML is written here, escaped, with no scripts.

`audit regenerate` writes its own page (``regenerate.md``/``.html``: each stage rebuilt and
compared, the first divergence, and every recorded file as verified, regenerated or
unchecked with its reason); ``write_report(..., regenerate=result)`` adds the same section
to the audit report.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from glassworks.provenance.atomic import atomic_write_text
from glassworks.provenance.findings import FAIL, PASS, SKIP, WARN, VerifyReport
from glassworks.provenance.manifest import load_manifest, validate_manifest

if TYPE_CHECKING:
    from glassworks.provenance.regenerate import RegenerateResult


@dataclass(frozen=True)
class WrittenReport:
    markdown: Path
    html: Path
    picture: Path


def _manifests(path: Path) -> list[dict]:
    out = []
    for file in sorted((path / "manifests").glob("*.json")):
        try:
            manifest = load_manifest(file)
        except Exception:  # a broken manifest is in the findings already
            continue
        if not validate_manifest(manifest):
            out.append(manifest)
    return out


def _depths(manifests: list[dict]) -> dict[str, int]:
    """Longest distance of each stage from a stage with no upstream (cycles cannot occur: ids are content hashes)."""
    ids = {m["id"]: m for m in manifests}
    depth: dict[str, int] = {}

    def of(mid: str, seen: frozenset = frozenset()) -> int:
        if mid not in depth:
            ups = [u for u in ids[mid]["upstream"] if u in ids and u not in seen]
            depth[mid] = 1 + max((of(u, seen | {mid}) for u in ups), default=0)
        return depth[mid]

    for mid in ids:
        of(mid)
    return depth


def _human(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if n < 1024 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return str(n)


def lineage_picture(manifests: list[dict], failing: set[str], out: Path) -> Path:
    """Draw stages as boxes in columns by depth, arrows from upstream, raw roots on the left."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    depth = _depths(manifests)
    roots = sorted({rec.get("root") for m in manifests for rec in m["inputs"]["files"] if rec.get("root", "run") != "run"})
    columns: dict[int, list[dict]] = {}
    for m in sorted(manifests, key=lambda m: m["stage"]["name"]):
        columns.setdefault(depth[m["id"]], []).append(m)
    height = max([len(c) for c in columns.values()] + [len(roots), 1])
    width = max(columns, default=0) + 1
    fig, ax = plt.subplots(figsize=(3.2 * width + 1, 0.9 * height + 1.2))
    ax.set_xlim(-0.6, width - 0.4)
    ax.set_ylim(-0.6, height - 0.4)
    ax.axis("off")
    where: dict[str, tuple[float, float]] = {}
    for i, root in enumerate(roots):
        files = {(rec["path"]) for m in manifests for rec in m["inputs"]["files"] if rec.get("root") == root}
        where[f"root:{root}"] = (0, height - 1 - i * height / max(len(roots), 1))
        ax.text(*where[f"root:{root}"], f"raw: {root}\n{len(files)} files", ha="center", va="center", fontsize=7, zorder=2,
                bbox={"boxstyle": "round", "fc": "#e8eef7", "ec": "#4a6fa5"})
    for col, items in columns.items():
        for row, m in enumerate(items):
            y = height - 1 - row * height / len(items)
            where[m["id"]] = (col, y)
            c, outs = m["counts"], m["outputs"]
            label = (f"{m['stage']['name']}\n{c['in']} in -> {c['kept']} kept {c['unit']}\n"
                     f"{outs['count']} files, {_human(outs['bytes'])}")
            bad = m["id"] in failing
            ax.text(col, y, label, ha="center", va="center", fontsize=6.5, zorder=2,
                    bbox={"boxstyle": "round", "fc": "#f9d6d5" if bad else "#e4f2e7", "ec": "#b03a2e" if bad else "#3c8d4f"})
    for m in manifests:
        sources = [u for u in m["upstream"] if u in where]
        sources += [f"root:{r}" for r in {rec.get("root") for rec in m["inputs"]["files"]} if r and r != "run"]
        for src in sources:
            (x0, y0), (x1, y1) = where[src], where[m["id"]]
            ax.annotate("", xy=(x1 - 0.3, y1), xytext=(x0 + 0.3, y0), zorder=1,
                        arrowprops={"arrowstyle": "->", "color": "#777777", "lw": 0.7, "shrinkA": 0, "shrinkB": 0})
    ax.set_title("lineage: raw inputs -> stages (counts, outputs); red = a check failed", fontsize=9)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=130, bbox_inches="tight")
    plt.close(fig)
    return out


def _sections(report: VerifyReport, manifests: list[dict]) -> dict:
    checks = [(check, c[PASS], c[FAIL], c[WARN], c[SKIP]) for check, c in report.by_check().items()]
    depth = _depths(manifests)
    stages = [(m["stage"]["name"], m["id"], m["counts"]["in"], m["counts"]["kept"], sum(m["counts"]["dropped"].values()),
               m["counts"]["quarantined"], m["counts"]["unit"], m["outputs"]["count"], _human(m["outputs"]["bytes"]))
              for m in sorted(manifests, key=lambda m: (depth[m["id"]], m["stage"]["name"]))]
    signer = "not signed"
    if report.signer:
        signer = f"{report.signer} ({'pinned by the auditor' if report.signer_pinned else 'key not pinned by the auditor'})"
    return {"checks": checks, "stages": stages, "signer": signer,
            "failures": [f for f in report.findings if f.status == FAIL],
            "warnings": [f for f in report.findings if f.status == WARN]}


def _markdown(report: VerifyReport, s: dict, picture: str) -> str:
    lines = [f"# Audit of {report.path}", "", f"**{report.summary()}**", "",
             f"Kind: {report.kind}. Signature: {s['signer']}.", "", f"![lineage graph]({picture})", "",
             "## Checks", "", "| check | pass | fail | warn | skip |", "|---|---:|---:|---:|---:|"]
    lines += [f"| {c} | {p} | {f} | {w} | {k} |" for c, p, f, w, k in s["checks"]]
    for title, items in (("Failures", s["failures"]), ("Warnings", s["warnings"])):
        lines += ["", f"## {title}", ""]
        lines += [f"- `{f.check}` **{f.subject}**" + (f" (claimed by `{f.manifest}`)" if f.manifest else "")
                  + (f": {f.detail}" if f.detail else "") for f in items] or ["none"]
    lines += ["", "## Stages", "", "| stage | manifest | in | kept | dropped | quarantined | unit | output files | bytes |",
              "|---|---|---:|---:|---:|---:|---|---:|---:|"]
    lines += ["| " + " | ".join(str(v) for v in row) + " |" for row in s["stages"]]
    return "\n".join(lines) + "\n"


def _html(report: VerifyReport, s: dict, picture: str) -> str:
    e = html.escape

    def table(head: list[str], rows: list) -> str:
        out = "<table><tr>" + "".join(f"<th>{e(h)}</th>" for h in head) + "</tr>"
        return out + "".join("<tr>" + "".join(f"<td>{e(str(v))}</td>" for v in row) + "</tr>" for row in rows) + "</table>"

    verdict = "ok" if report.ok else "bad"
    parts = [
        "<!DOCTYPE html><html><head><meta charset='utf-8'>",
        f"<title>Audit of {e(str(report.path))}</title><style>body{{font-family:sans-serif;max-width:70em;margin:2em auto}}"
        "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:2px 6px;font-size:90%}"
        ".ok{color:#2e7d32}.bad{color:#b03a2e}code{background:#f4f4f4}</style></head><body>",
        f"<h1>Audit of {e(str(report.path))}</h1>",
        f"<p class='{verdict}'><b>{e(report.summary())}</b></p>",
        f"<p>Kind: {e(report.kind)}. Signature: {e(s['signer'])}.</p>",
        f"<img src='{e(picture)}' alt='lineage graph' style='max-width:100%'>",
        "<h2>Checks</h2>", table(["check", "pass", "fail", "warn", "skip"], s["checks"]),
    ]
    for title, items in (("Failures", s["failures"]), ("Warnings", s["warnings"])):
        parts.append(f"<h2>{title}</h2>")
        parts.append(table(["check", "subject", "claimed by", "detail"],
                           [(f.check, f.subject, f.manifest or "", f.detail) for f in items]) if items else "<p>none</p>")
    parts += ["<h2>Stages</h2>", table(["stage", "manifest", "in", "kept", "dropped", "quarantined", "unit",
                                        "output files", "bytes"], s["stages"]), "</body></html>"]
    return "\n".join(parts) + "\n"


def write_report(report: VerifyReport, out_dir: str | Path, regenerate: RegenerateResult | None = None) -> WrittenReport:
    """Write audit.md, audit.html and lineage.png for a verify report into ``out_dir``; with
    ``regenerate``, a section on what was rebuilt and compared too."""
    out_dir = Path(out_dir)
    manifests = _manifests(report.path)
    failing_files = {f.manifest or f.subject for f in report.findings if f.status == FAIL}
    failing = {m["id"] for m in manifests if f"manifests/{m['id']}.json" in failing_files}
    picture = lineage_picture(manifests, failing, out_dir / "lineage.png")
    sections = _sections(report, manifests)
    markdown, page = out_dir / "audit.md", out_dir / "audit.html"
    text, body = _markdown(report, sections, picture.name), _html(report, sections, picture.name)
    if regenerate is not None:
        text += "\n" + "\n".join(regenerate_markdown(regenerate, level=2)) + "\n"
        body = body.replace("</body></html>", "\n".join(regenerate_html(regenerate, level=2)) + "</body></html>")
    atomic_write_text(markdown, text)
    atomic_write_text(page, body)
    return WrittenReport(markdown, page, picture)


# --- audit regenerate ------------------------------------------------------------------------


@dataclass(frozen=True)
class WrittenRegenerateReport:
    markdown: Path
    html: Path


def _regenerate_rows(result: RegenerateResult) -> list[tuple]:
    return [(s.stage, s.recorded, s.regenerated or "-", s.files, s.matched, s.verdict()) for s in result.stages]


def _regenerate_facts(result: RegenerateResult) -> tuple[str, list[str]]:
    verdict = result.lines()[-1]
    facts = [f"Record: {result.source}. Regenerated into: {result.workdir}/run."]
    if result.train_steps is not None:
        facts.append(f"Training re-run on the CPU with --train-steps {result.train_steps}: "
                     f"to {result.train_target or 'nothing (see the train row)'}.")
    else:
        facts.append("Training not re-run (give --train-steps N).")
    facts.append("Manifest ids: " + ("the same as recorded." if result.same_ids else
                                     "differ from the record (ids hash the code identity: git commit, versions)."))
    if result.seconds:
        facts.append("Wall time: " + ", ".join(f"{k} {v:.1f} s" for k, v in result.seconds.items()) + ".")
    if result.ledger is not None:
        facts.append(result.ledger.summary() + ".")
    return verdict, facts


def regenerate_markdown(result: RegenerateResult, level: int = 1) -> list[str]:
    h = "#" * level
    verdict, facts = _regenerate_facts(result)
    lines = [f"{h} Regeneration of {result.source}", "", f"**{verdict}**", ""] + [f"- {f}" for f in facts]
    lines += ["", f"{h}# Stages (data-flow order)", "", "| stage | recorded | regenerated | files | identical | result |",
              "|---|---|---|---:|---:|---|"]
    lines += ["| " + " | ".join(str(v) for v in row) + " |" for row in _regenerate_rows(result)]
    problems = [(s.stage, f, w) for s in result.stages for f, w in s.problems]
    notes = [(s.stage, f, w) for s in result.stages for f, w in s.notes]
    lines += ["", f"{h}# Differences", ""] + ([f"- `{st}` {f'**{f}**: ' if f else ''}{w}" for st, f, w in problems]
                                               or ["none"])
    if notes:
        lines += ["", f"{h}# Byte differences that hold the same thing", ""]
        lines += [f"- `{st}` **{f}**: {w}" for st, f, w in notes]
    if result.not_regenerated:
        lines += ["", f"{h}# Stages not re-run", "", "| manifest | why |", "|---|---|"]
        lines += [f"| {mid} | {why} |" for mid, why in sorted(result.not_regenerated.items())]
    if result.ledger is not None:
        lines += ["", f"{h}# Unchecked files", ""]
        for reason, files in result.ledger.unchecked().items() or {}:
            lines += [f"- {reason} ({len(files)}):", *[f"  - `{f}`" for f in files]]
        if not result.ledger.unchecked():
            lines.append("none")
        bad = result.ledger.failures()
        if bad:
            lines += ["", f"{h}# Files that fail", ""] + [f"- `{e.subject}` ({e.kind}, {e.stage}): {e.detail}" for e in bad]
    return lines


def regenerate_html(result: RegenerateResult, level: int = 1) -> list[str]:
    e = html.escape
    verdict, facts = _regenerate_facts(result)

    def table(head: list[str], rows: list) -> str:
        out = "<table><tr>" + "".join(f"<th>{e(x)}</th>" for x in head) + "</tr>"
        return out + "".join("<tr>" + "".join(f"<td>{e(str(v))}</td>" for v in row) + "</tr>" for row in rows) + "</table>"

    h1, h2 = f"h{level}", f"h{level + 1}"
    parts = [f"<{h1}>Regeneration of {e(str(result.source))}</{h1}>",
             f"<p class='{'ok' if result.ok else 'bad'}'><b>{e(verdict)}</b></p>",
             "<ul>" + "".join(f"<li>{e(f)}</li>" for f in facts) + "</ul>",
             f"<{h2}>Stages (data-flow order)</{h2}>",
             table(["stage", "recorded", "regenerated", "files", "identical", "result"], _regenerate_rows(result)),
             f"<{h2}>Differences</{h2}>"]
    problems = [(s.stage, f, w) for s in result.stages for f, w in s.problems]
    parts.append(table(["stage", "file", "what differs"], problems) if problems else "<p>none</p>")
    notes = [(s.stage, f, w) for s in result.stages for f, w in s.notes]
    if notes:
        parts += [f"<{h2}>Byte differences that hold the same thing</{h2}>", table(["stage", "file", "why"], notes)]
    if result.not_regenerated:
        parts += [f"<{h2}>Stages not re-run</{h2}>",
                  table(["manifest", "why"], sorted(result.not_regenerated.items()))]
    if result.ledger is not None:
        unchecked = result.ledger.unchecked()
        parts.append(f"<{h2}>Unchecked files</{h2}>")
        parts.append(table(["reason", "files"], [(r, ", ".join(f)) for r, f in unchecked.items()]) if unchecked
                     else "<p>none</p>")
        bad = result.ledger.failures()
        if bad:
            parts += [f"<{h2}>Files that fail</{h2}>",
                      table(["file", "kind", "stage", "detail"], [(x.subject, x.kind, x.stage, x.detail) for x in bad])]
    return parts


_STYLE = ("body{font-family:sans-serif;max-width:70em;margin:2em auto}table{border-collapse:collapse}"
          "td,th{border:1px solid #ccc;padding:2px 6px;font-size:90%}.ok{color:#2e7d32}.bad{color:#b03a2e}")


def write_regenerate_report(result: RegenerateResult, out_dir: str | Path) -> WrittenRegenerateReport:
    """Write regenerate.md and regenerate.html for an `audit regenerate` result into ``out_dir``."""
    out_dir = Path(out_dir)
    markdown, page = out_dir / "regenerate.md", out_dir / "regenerate.html"
    atomic_write_text(markdown, "\n".join(regenerate_markdown(result)) + "\n")
    atomic_write_text(page, "\n".join([
        "<!DOCTYPE html><html><head><meta charset='utf-8'>",
        f"<title>Regeneration of {html.escape(str(result.source))}</title><style>{_STYLE}</style></head><body>",
        *regenerate_html(result), "</body></html>"]) + "\n")
    return WrittenRegenerateReport(markdown, page)
