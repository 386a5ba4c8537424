"""Every file a record names, in one of three kinds, so nothing is left unchecked silently.

- verified: shipped (in the bundle, its code archive or an external root the auditor gave)
  and its bytes hash to the record, as `audit verify` checks them;
- regenerated: rebuilt by `audit regenerate` and compared with the recorded hash, whether
  shipped or not (the stronger check wins when both apply);
- unchecked: neither, with the reason (evaluation outputs are not re-run, a checkpoint lies
  past ``--train-steps``, a stage could not be rebuilt from its record, ...).

A file counts once, however many manifests name it (as one stage's output and the next one's
input). ``ok`` is False for a regenerated file that differs and a shipped one that fails.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

VERIFIED, REGENERATED, UNCHECKED = "verified", "regenerated", "unchecked"
KINDS = (VERIFIED, REGENERATED, UNCHECKED)

# Why the files of a stage that regenerate never re-runs stay unchecked, by stage name prefix.
NOT_RERUN = {
    "eval": "evaluation output: regenerate rebuilds the data and training, not evaluations "
            "(`glassworks eval` re-runs them on the checkpoints)",
    "export_hf": "Hugging Face export of a checkpoint: not re-run (`glassworks export hf` rebuilds it)",
    "samples": "sample outputs of the final checkpoint: not re-run",
    "release": "written by the release build itself: audit verify checks what it ships",
    "checkpoint": "a checkpoint written outside a training run: its recipe is not recorded",
    "train": "training is re-run only with --train-steps N",
}


@dataclass(frozen=True)
class Entry:
    subject: str  # a run-relative path, or root:path for an external root
    kind: str  # verified | regenerated | unchecked
    ok: bool
    detail: str = ""
    stage: str = ""  # the stage that wrote it (or the first that read it)


@dataclass
class Ledger:
    entries: dict[str, Entry] = field(default_factory=dict)

    def counts(self) -> Counter:
        return Counter(e.kind for e in self.entries.values())

    def failures(self) -> list[Entry]:
        return [e for e in self.entries.values() if not e.ok]

    def unchecked(self) -> dict[str, list[str]]:
        """Reason -> the files left unchecked for it, sorted."""
        out: dict[str, list[str]] = {}
        for e in sorted(self.entries.values(), key=lambda e: e.subject):
            if e.kind == UNCHECKED:
                out.setdefault(e.detail, []).append(e.subject)
        return out

    def summary(self) -> str:
        c = self.counts()
        bad = Counter(e.kind for e in self.failures())
        parts = [f"{c[VERIFIED]} verified (shipped, hash checked" + (f"; {bad[VERIFIED]} FAIL" if bad[VERIFIED] else "") + ")",
                 f"{c[REGENERATED]} regenerated (rebuilt and compared" + (f"; {bad[REGENERATED]} DIFFER" if bad[REGENERATED]
                                                                        else ", all identical") + ")",
                 f"{c[UNCHECKED]} unchecked (each listed with its reason)"]
        return f"recorded files: {len(self.entries)} = " + " + ".join(parts)

    def as_json(self) -> dict:
        return {"counts": {k: self.counts()[k] for k in KINDS},
                "failures": [e.__dict__ for e in self.failures()],
                "unchecked": self.unchecked()}


def producers(manifests: list[dict]) -> dict[str, str]:
    """Subject -> the stage that wrote it (or, for a raw input, the first stage that read it)."""
    out: dict[str, str] = {}
    for m in manifests:
        for rec in m["outputs"]["files"]:
            out.setdefault(_subject(rec), m["stage"]["name"])
    for m in manifests:
        for rec in m["inputs"]["files"]:
            out.setdefault(_subject(rec), m["stage"]["name"])
    return out


def _subject(rec: dict) -> str:
    root = rec.get("root", "run")
    return rec["path"] if root == "run" else f"{root}:{rec['path']}"


def default_reason(stage: str) -> str:
    for prefix, reason in NOT_RERUN.items():
        if stage == prefix or stage.startswith(prefix + "."):
            return reason
    return f"stage {stage} is not one that regenerate re-runs"


def build_ledger(findings, manifests: list[dict], regenerated: dict[str, tuple[bool, str, str]],
                 reasons: dict[str, str], stage_reasons: dict[str, str]) -> Ledger:
    """``findings``: verify's ``file`` findings; ``regenerated``: subject -> (identical, detail,
    stage) of every recorded file rebuilt; ``reasons`` / ``stage_reasons``: why a file, or the
    files of a stage, could not be rebuilt (else the stage kind's ``NOT_RERUN`` reason)."""
    from glassworks.provenance.findings import FAIL, PASS

    stage_of = producers(manifests)
    ledger = Ledger()
    for subject, (same, detail, stage) in regenerated.items():
        ledger.entries[subject] = Entry(subject, REGENERATED, same, detail, stage)
    for f in findings:
        if f.check != "file" or f.subject in ledger.entries:
            continue
        stage = stage_of.get(f.subject, "")
        if f.status == PASS:
            ledger.entries[f.subject] = Entry(f.subject, VERIFIED, True, f.detail, stage)
        elif f.status == FAIL:
            ledger.entries[f.subject] = Entry(f.subject, VERIFIED, False, f.detail, stage)
        else:
            reason = reasons.get(f.subject) or stage_reasons.get(stage) or default_reason(stage)
            ledger.entries[f.subject] = Entry(f.subject, UNCHECKED, True, reason, stage)
    for subject, stage in stage_of.items():  # a file verify did not report on is still accounted for
        if subject not in ledger.entries:
            reason = reasons.get(subject) or stage_reasons.get(stage) or "audit verify did not report on it"
            ledger.entries[subject] = Entry(subject, UNCHECKED, True, reason, stage)
    return ledger
