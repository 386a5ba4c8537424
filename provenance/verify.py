"""Verify a run directory (or a bundle): every hash, every manifest link, every count.

The verifier only reads: it parses JSON, hashes files in streaming blocks and never
executes or unpickles anything it finds. Each check yields a ``Finding``; the run passes
only when no finding failed. Failures name the file or record and the manifest that made
the claim, so an auditor can go straight to it.

Checks, per manifest: parses as JSON; matches the schema; its digest recomputes and its
id and file name follow from it; its counts balance (in = kept + dropped + quarantined)
and its file lists agree with their count, byte total and Merkle root. Per recorded file:
present, inside its root, same size and sha256. Per link: every upstream id names a
manifest that exists, and every input inside the run was produced by a listed upstream.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from glassworks.errors import GlassworksError
from glassworks.provenance.hashing import merkle_root, sha256_file
from glassworks.provenance.manifest import load_manifest, manifest_digest, manifest_id, validate_manifest
from glassworks.provenance.recorder import MANIFEST_DIR

PASS, FAIL, WARN, SKIP = "pass", "fail", "warn", "skip"
# Executor logs carry timestamps and host names, so no manifest records them; the facts
# they hold that matter (counts) are recorded in the stage's manifest instead. Reports
# (tables, charts) and Slurm scripts are drawn from the config and can be redrawn. Any
# other file that no manifest records fails: a later stage could read it unnoticed.
UNRECORDED_DIRS = ("logs/", "reports/", "slurm/")


@dataclass(frozen=True)
class Finding:
    check: str  # manifest | schema | digest | counts | fileset | file | link | coverage
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
    findings: list[Finding] = field(default_factory=list)
    manifests: int = 0
    files_hashed: int = 0
    bytes_hashed: int = 0

    @property
    def ok(self) -> bool:
        return not self.failures

    @property
    def failures(self) -> list[Finding]:
        return [f for f in self.findings if f.status == FAIL]

    def add(self, *args, **kwargs) -> None:
        self.findings.append(Finding(*args, **kwargs))

    def summary(self) -> str:
        tally = Counter(f.status for f in self.findings)
        verdict = "VERIFIED" if self.ok else "FAILED"
        return (f"{verdict}: {self.path} — {self.manifests} manifests, {self.files_hashed} files "
                f"({self.bytes_hashed:,} bytes) hashed; {tally[PASS]} checks passed, {tally[FAIL]} failed, "
                f"{tally[WARN]} warnings, {tally[SKIP]} skipped")

    def as_json(self) -> dict:
        return {
            "path": str(self.path),
            "ok": self.ok,
            "manifests": self.manifests,
            "files_hashed": self.files_hashed,
            "bytes_hashed": self.bytes_hashed,
            "failures": len(self.failures),
            "findings": [f.as_json() for f in self.findings],
        }


def verify_run(path: str | Path, roots: dict[str, str | Path] | None = None,
               unchecked_roots: tuple[str, ...] = ()) -> VerifyReport:
    """Check everything recorded under ``path``.

    ``roots`` locates external roots (e.g. ``data``) whose recorded inputs are re-hashed;
    a root that is neither given nor named in ``unchecked_roots`` fails, so nothing is
    accepted unchecked unless the auditor says so.
    """
    run_dir = Path(path)
    if not run_dir.is_dir():
        raise GlassworksError(f"{run_dir}: not a directory (expected a run directory or a bundle)")
    report = VerifyReport(path=run_dir)
    manifest_dir = run_dir / MANIFEST_DIR
    if not manifest_dir.is_dir():
        report.add("manifest", FAIL, f"{MANIFEST_DIR}/", "no manifests directory: nothing was recorded here")
        return report
    anchors = {"run": run_dir.resolve(), **{k: Path(v).resolve() for k, v in (roots or {}).items()}}

    manifests: dict[str, tuple[str, dict]] = {}  # id -> (manifest file, manifest)
    for file in sorted(manifest_dir.iterdir()):
        rel = file.relative_to(run_dir).as_posix()
        if file.name.startswith(".") and file.name.endswith(".tmp"):
            report.add("manifest", WARN, rel, "left-over temporary file of an interrupted write")
            continue
        if file.suffix != ".json" or not file.is_file():
            report.add("manifest", WARN, rel, "not a manifest (ignored)")
            continue
        report.manifests += 1
        manifest = _check_manifest(report, file, rel)
        if manifest is not None:
            manifests[manifest["id"]] = (rel, manifest)

    unchecked = set(unchecked_roots) - set(anchors)
    hashed: dict[tuple[str, str], tuple[str, int] | str] = {}
    produced: dict[tuple[str, str], str] = {}  # a run file -> the manifest that wrote it
    for mid, (rel, manifest) in manifests.items():
        for rec in manifest["outputs"]["files"]:
            produced[(rec.get("root", "run"), rec["path"])] = mid
    for mid, (rel, manifest) in sorted(manifests.items()):
        for side in ("inputs", "outputs"):
            for rec in manifest[side]["files"]:
                try:
                    _check_file(report, rec, rel, anchors, unchecked, hashed)
                except (OSError, ValueError) as exc:  # e.g. an embedded NUL in a crafted path
                    report.add("file", FAIL, repr(rec["path"]), f"cannot be checked: {exc}", rel)
        _check_links(report, manifest, rel, manifests, produced)

    recorded = {p for (root, p) in hashed if root == "run"}
    for file in sorted(run_dir.rglob("*")):
        rel = file.relative_to(run_dir).as_posix()
        skip = rel.startswith(f"{MANIFEST_DIR}/") or rel.startswith(UNRECORDED_DIRS)
        if file.is_file() and not skip and rel not in recorded:
            report.add("coverage", FAIL, rel, "file is not recorded by any manifest (added, or its manifest is gone)")
    return report


def _check_manifest(report: VerifyReport, file: Path, rel: str) -> dict | None:
    try:
        manifest = load_manifest(file)
    except GlassworksError as exc:
        report.add("manifest", FAIL, rel, str(exc).removeprefix(f"{file}").lstrip(": "))
        return None
    problems = validate_manifest(manifest)
    if problems:
        for problem in problems:
            report.add("schema", FAIL, rel, problem)
        return None
    report.add("schema", PASS, rel)
    digest = manifest_digest(manifest)
    if digest != manifest["digest"]:
        report.add("digest", FAIL, rel, "content changed after it was recorded (digest does not recompute)")
        return None
    expected_id = manifest_id(manifest["stage"]["name"], digest)
    if manifest["id"] != expected_id or file.stem != expected_id:
        report.add("digest", FAIL, rel, f"id/file name should be {expected_id}")
        return None
    report.add("digest", PASS, rel)
    counts = manifest["counts"]
    out = counts["kept"] + sum(counts["dropped"].values()) + counts["quarantined"]
    if counts["in"] != out:
        report.add("counts", FAIL, rel, f"in={counts['in']} but kept + dropped + quarantined = {out}")
    else:
        report.add("counts", PASS, rel, f"{counts['in']} {counts['unit']} accounted for")
    for side in ("inputs", "outputs"):
        block = manifest[side]
        files = block["files"]
        if (block["count"], block["bytes"], block["merkle_root"]) != (
            len(files), sum(f["bytes"] for f in files), merkle_root(files)
        ):
            report.add("fileset", FAIL, rel, f"{side}: count, byte total or Merkle root does not match its file list")
    return manifest


def _check_file(report: VerifyReport, rec: dict, manifest_rel: str, anchors: dict[str, Path],
                unchecked: set[str], hashed: dict) -> None:
    root = rec.get("root", "run")
    key = (root, rec["path"])
    if root not in anchors:
        if key not in hashed:
            hashed[key] = "skipped"
            if root in unchecked:
                report.add("file", SKIP, f"{root}:{rec['path']}", f"external root '{root}' left unchecked", manifest_rel)
            else:
                report.add("file", FAIL, f"{root}:{rec['path']}",
                           f"external root '{root}' not given: --root {root}=DIR checks it, --unchecked-root {root} "
                           "accepts it unchecked", manifest_rel)
        return
    subject = rec["path"] if root == "run" else f"{root}:{rec['path']}"
    if key not in hashed:
        target = anchors[root] / rec["path"]
        if target.is_symlink() or not target.resolve().is_relative_to(anchors[root]):
            hashed[key] = "escapes"
        elif not target.is_file():
            hashed[key] = "missing"
        else:
            hashed[key] = sha256_file(target)
            report.files_hashed += 1
            report.bytes_hashed += hashed[key][1]
    state = hashed[key]
    if state == "skipped":
        return
    if state == "escapes":
        report.add("file", FAIL, subject, "is a symlink or leaves its root; refused", manifest_rel)
    elif state == "missing":
        report.add("file", FAIL, subject, "recorded file is missing", manifest_rel)
    elif state != (rec["sha256"], rec["bytes"]):
        sha, size = state
        detail = f"size {size} != recorded {rec['bytes']}" if size != rec["bytes"] else "sha256 differs from the record"
        report.add("file", FAIL, subject, f"content changed: {detail}", manifest_rel)
    else:
        report.add("file", PASS, subject, manifest=manifest_rel)


def _check_links(report: VerifyReport, manifest: dict, rel: str, manifests: dict, produced: dict) -> None:
    for up in manifest["upstream"]:
        if up in manifests:
            report.add("link", PASS, rel, f"upstream {up}")
        else:
            report.add("link", FAIL, rel, f"missing link: upstream manifest {MANIFEST_DIR}/{up}.json does not exist")
    for rec in manifest["inputs"]["files"]:
        if rec.get("root", "run") != "run":
            continue
        producer = produced.get(("run", rec["path"]))
        if producer is None:
            if manifest["upstream"] and not all(up in manifests for up in manifest["upstream"]):
                continue  # already reported as a missing upstream manifest
            report.add("link", FAIL, rec["path"], "missing link: no manifest records producing this input", rel)
        elif producer not in manifest["upstream"]:
            report.add("link", FAIL, rec["path"], f"produced by {producer}, which is not listed upstream", rel)
