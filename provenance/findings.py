"""What verify found: one ``Finding`` per check and subject, gathered in a ``VerifyReport``.

A failure names the file or record it is about and the manifest that made the claim, so an
auditor can go straight to it; the report passes only when nothing failed (and, in strict
mode, nothing warned).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

PASS, FAIL, WARN, SKIP = "pass", "fail", "warn", "skip"
# The checks, in the order a report lists them.
CHECKS = ("manifest", "schema", "digest", "counts", "fileset", "file", "link", "graph", "coverage", "paths", "code",
          "mof", "checkpoint", "signature")


@dataclass(frozen=True)
class Finding:
    check: str  # one of CHECKS
    status: str  # pass | fail | warn | skip
    subject: str  # the file or record the finding is about
    detail: str = ""
    manifest: str | None = None  # the manifest file that made the claim

    def line(self) -> str:
        where = f" (claimed by {self.manifest})" if self.manifest and self.manifest != self.subject else ""
        return f"{self.status.upper():4} {self.check:8} {self.subject}{where}" + (f": {self.detail}" if self.detail else "")

    def as_json(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if v is not None}


@dataclass
class VerifyReport:
    path: Path
    kind: str = "run"  # "run" | "bundle"
    findings: list[Finding] = field(default_factory=list)
    manifests: int = 0
    files_hashed: int = 0
    bytes_hashed: int = 0
    strict: bool = False  # warnings fail too
    signer: str | None = None  # fingerprint of the key whose signature verified
    signer_pinned: bool = False  # that key is one the auditor trusts
    authenticity: str = "not checked"  # "verified": signed by a trusted key or identity; or "failed"

    @property
    def ok(self) -> bool:
        return not self.failures

    @property
    def failures(self) -> list[Finding]:
        bad = (FAIL, WARN) if self.strict else (FAIL,)
        return [f for f in self.findings if f.status in bad]

    def add(self, *args, **kwargs) -> None:
        self.findings.append(Finding(*args, **kwargs))

    def tally(self) -> Counter:
        return Counter(f.status for f in self.findings)

    def by_check(self) -> dict[str, Counter]:
        out: dict[str, Counter] = {}
        for f in self.findings:
            out.setdefault(f.check, Counter())[f.status] += 1
        return dict(sorted(out.items(), key=lambda kv: CHECKS.index(kv[0]) if kv[0] in CHECKS else len(CHECKS)))

    def headline(self) -> str | None:
        """The line an auditor must read first when the maintainer's signature was not checked."""
        if self.authenticity == "verified":
            return None
        if self.authenticity == "failed":
            return ("AUTHENTICITY FAILED: no signature by a key you trust covers these files as they are "
                    "(the signature lines below say why)")
        why = ("--allow-unsigned: the bundle's signature was not checked against a key you trust"
               if self.kind == "bundle" else "a run directory and no trusted key named: integrity only")
        return f"AUTHENTICITY NOT CHECKED ({why}); whoever can write these files could have rewritten them all"

    def summary(self) -> str:
        tally = self.tally()
        verdict = "VERIFIED" if self.ok else "FAILED"
        signed = ""
        if self.signer:
            signed = f"; signed by {self.signer}" + (" (trusted)" if self.signer_pinned else " (key not pinned)")
        if self.authenticity != "verified":
            signed += f"; authenticity {self.authenticity}"
        return (f"{verdict}: {self.path} ({self.kind}) — {self.manifests} manifests, {self.files_hashed} files "
                f"({self.bytes_hashed:,} bytes) hashed; {tally[PASS]} checks passed, {tally[FAIL]} failed, "
                f"{tally[WARN]} warnings, {tally[SKIP]} skipped{signed}")

    def as_json(self) -> dict:
        return {
            "path": str(self.path),
            "kind": self.kind,
            "ok": self.ok,
            "strict": self.strict,
            "manifests": self.manifests,
            "files_hashed": self.files_hashed,
            "bytes_hashed": self.bytes_hashed,
            "failures": len(self.failures),
            "signer": self.signer,
            "signer_pinned": self.signer_pinned,
            "authenticity": self.authenticity,
            "checks": {check: dict(counter) for check, counter in self.by_check().items()},
            "findings": [f.as_json() for f in self.findings],
        }
