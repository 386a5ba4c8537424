"""Verify a run directory or a release bundle: every hash, every manifest link, every count.

The verifier only reads: it parses JSON and YAML into plain values, hashes files in
streaming blocks and reads archives as streams; it never executes, imports or unpickles
anything it finds. Every file is hashed once (``TreeIndex``); each check yields a
``Finding`` naming the file or record and the manifest that made the claim.

Per manifest: parses; matches the schema; its digest recomputes and its id and file name
follow from it; its counts balance (in = kept + dropped + quarantined); its file lists agree
with their count, byte total and Merkle root. Per recorded file: inside its root, not a
symlink, present, same size and sha256. Per link: every upstream id names a manifest that
exists, and every input inside the run was produced by a listed upstream. Coverage: every
file is recorded by some manifest (a run's logs/, reports/ and slurm/ excepted).

A bundle (``model.yml`` + ``manifests/``) holds the manifests of the runs that made it. The
stage that wrote the bundle (the one whose outputs include ``model.yml``, or a stage named
``release*``) records bundle paths; the files the other manifests record were written in
their own run directories, and are found in the bundle by path or by content (a checkpoint
copied to ``checkpoints/final/``), in the code archive (raw inputs embedded in the
repository), or are reported as not shipped (``audit regenerate`` rebuilds and checks the
corpus). On top, ``bundle.check_bundle`` ties every manifest's code identity to the shipped
code archive and the MOF description to the files, and ``attest.check_signature`` checks
the signed statement against the tree and the auditor's trusted keys.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from glassworks.errors import GlassworksError
from glassworks.provenance.findings import FAIL, PASS, SKIP, WARN, Finding, VerifyReport
from glassworks.provenance.hashing import merkle_root, sha256_file
from glassworks.provenance.manifest import load_manifest, manifest_digest, manifest_id, validate_manifest
from glassworks.provenance.paths import UnsafePath, resolve_inside
from glassworks.provenance.recorder import MANIFEST_DIR
from glassworks.provenance.revisions import FILE as REVISIONS_FILE
from glassworks.provenance.revisions import GIT_METADATA, Claims, Revisions, RevisionsError, check_claims, read_revisions
from glassworks.provenance.signing import TrustedKeys
from glassworks.provenance.tree import ATTESTATION_DIR, UNRECORDED_DIRS, TreeIndex

GIT_DIR = ".git"

__all__ = ["FAIL", "PASS", "SKIP", "WARN", "Finding", "UNRECORDED_DIRS", "VerifyReport", "verify_run"]


def verify_run(path: str | Path, roots: dict[str, str | Path] | None = None, unchecked_roots: tuple[str, ...] = (),
               trusted: TrustedKeys | None = None, strict: bool = False, repo: str | Path | None = None,
               allow_unsigned: bool = False) -> VerifyReport:
    """Check everything recorded under ``path`` (a run directory or a bundle).

    ``roots`` locates external roots (e.g. ``data``) whose recorded inputs are re-hashed;
    a root that is neither given, nor found in a bundle, nor named in ``unchecked_roots``
    fails, so nothing is accepted unchecked unless the auditor says so. ``trusted`` pins the
    keys whose signature the auditor accepts: a bundle fails unless its signature verifies with
    one of them, or ``allow_unsigned`` says to check integrity only (``report.authenticity``
    then says "not checked"). ``strict`` makes warnings fail; ``repo`` is the
    auditor's own clone of the code, against which a bundle's code archives are compared tree
    for tree.
    """
    from glassworks.provenance.attest import check_signature
    from glassworks.provenance.bundle import check_bundle, is_bundle, prepare_archives

    run_dir = Path(path)
    if not run_dir.is_dir():
        raise GlassworksError(f"{run_dir}: not a directory (expected a run directory or a bundle)")
    bundle = is_bundle(run_dir)
    report = VerifyReport(path=run_dir, kind="bundle" if bundle else "run", strict=strict)
    manifest_dir = run_dir / MANIFEST_DIR
    if not manifest_dir.is_dir() or manifest_dir.is_symlink():
        report.add("manifest", FAIL, f"{MANIFEST_DIR}/", "no manifests directory: nothing was recorded here")
        return report
    nested = () if bundle else _nested_bundles(run_dir)
    for rel in nested:
        report.add("paths", SKIP, rel, f"a release bundle inside the run: verify it on its own "
                   f"(glassworks audit verify {run_dir / rel})")
    checkout = bundle and (run_dir / GIT_DIR).exists()  # a clone of a published repository
    if checkout:
        report.add("paths", SKIP, f"{GIT_DIR}/", "git's own data of this checkout; not part of the bundle")
    skip = ((f"{GIT_DIR}/",) if checkout else ()) if bundle else UNRECORDED_DIRS
    index = TreeIndex.build(run_dir, skip=skip + nested, desc="verify: hashing")
    artifacts = [size for rel, (_, size) in index.files.items() if not rel.startswith(f"{MANIFEST_DIR}/")]
    report.files_hashed, report.bytes_hashed = len(artifacts), sum(artifacts)  # manifests are counted apart
    for rel, why in sorted({**index.odd, **index.unreadable}.items()):
        report.add("paths", FAIL, rel, why if rel in index.odd else f"cannot be read: {why}")

    manifests: dict[str, tuple[str, dict]] = {}  # id -> (manifest file, manifest)
    for file in sorted(manifest_dir.iterdir()):
        rel = file.relative_to(run_dir).as_posix()
        if file.name.startswith(".") and file.name.endswith(".tmp"):
            report.add("manifest", WARN, rel, "left-over temporary file of an interrupted write")
            continue
        if file.suffix != ".json" or not file.is_file() or file.is_symlink():
            report.add("manifest", WARN, rel, "not a manifest (ignored)")
            continue
        report.manifests += 1
        manifest = _check_manifest(report, file, rel)
        if manifest is not None:
            manifests[manifest["id"]] = (rel, manifest)

    archives = prepare_archives(run_dir, index, manifests) if bundle else []
    published = _published_revisions(report, run_dir, index, manifests) if bundle else None
    resolver = _Resolver(run_dir, index, roots or {}, set(unchecked_roots), bundle, archives, published)
    produced: dict[tuple[str, str], str] = {}  # a run file -> the manifest that wrote it
    for mid, (rel, manifest) in manifests.items():
        if bundle and writes_bundle(manifest):
            continue  # its paths name bundle files, not files of the run the other manifests describe
        for rec in manifest["outputs"]["files"]:
            produced[(rec.get("root", "run"), rec["path"])] = mid
    for mid, (rel, manifest) in sorted(manifests.items()):
        writer = bundle and writes_bundle(manifest)
        for side in ("inputs", "outputs"):
            for rec in manifest[side]["files"]:
                report.findings.append(resolver.check(rec, rel, writer))
        _check_links(report, manifest, rel, manifests, produced)

    _check_graph(report, manifests, bundle)
    def published_adds(rel: str) -> bool:  # a file publishing adds, which the coverage check below accepts
        scratch = VerifyReport(path=run_dir, kind=report.kind)
        return rel in index.files and published.covers(scratch, rel, index.files[rel]) and scratch.ok

    signed = check_signature(report, run_dir, index, trusted or TrustedKeys(), allow_unsigned,
                             claims=published.claims if published else None,
                             published_adds=published_adds if published else None)
    recorded = {rec["path"] for _, m in manifests.values() for side in ("inputs", "outputs")
                for rec in m[side]["files"] if rec.get("root", "run") == "run"}
    recorded_content = resolver.recorded_content(manifests) if bundle else set()
    for rel, key in index.files.items():
        if rel.startswith(f"{MANIFEST_DIR}/") or rel in recorded:
            continue
        if published is not None and published.covers(report, rel, key):
            continue
        if key in recorded_content:
            report.add("coverage", PASS, rel, "a copy of a recorded artifact")
        elif rel in signed:
            report.add("coverage", PASS, rel, "not in any manifest, but covered by the signed statement")
        else:
            report.add("coverage", FAIL, rel, "file is not recorded by any manifest (added, or its manifest is gone)")
    if bundle:
        check_bundle(report, run_dir, index, manifests, archives, Path(repo) if repo else None)
    return report


def _nested_bundles(run_dir: Path) -> tuple[str, ...]:
    """Sub-folders of a run that are bundles (``release build`` writes into RUN/bundle/ by default):
    they hold their own record, so the run's coverage leaves them to their own verify."""
    from glassworks.provenance.bundle import is_bundle

    found = []
    for path in sorted(run_dir.rglob("model.yml")):
        folder = path.parent
        if folder != run_dir and not folder.is_symlink() and is_bundle(folder):
            rel = folder.relative_to(run_dir).as_posix() + "/"
            if not any(rel.startswith(outer) for outer in found):
                found.append(rel)
    return tuple(found)


def writes_bundle(manifest: dict) -> bool:
    """The stage that wrote the bundle records bundle paths under the run root."""
    name = manifest["stage"]["name"]
    return name == "release" or name.startswith("release.") or any(
        rec["path"] == "model.yml" and rec.get("root", "run") == "run" for rec in manifest["outputs"]["files"])




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
    problems = _count_problems(counts)
    if problems:
        report.add("counts", FAIL, rel, "; ".join(problems))
    else:
        report.add("counts", PASS, rel, f"{counts['in']} {counts['unit']} accounted for"
                   + (f" in {len(counts['parts'])} parts" if counts.get("parts") else ""))
    for side in ("inputs", "outputs"):
        block = manifest[side]
        files = block["files"]
        if (block["count"], block["bytes"], block["merkle_root"]) != (
            len(files), sum(f["bytes"] for f in files), merkle_root(files)
        ):
            report.add("fileset", FAIL, rel, f"{side}: count, byte total or Merkle root does not match its file list")
    return manifest


def _count_problems(counts: dict) -> list[str]:
    """Why a manifest's counts do not balance: totals, each part, and the parts against the totals."""
    def unbalanced(c: dict, what: str) -> list[str]:
        out = c["kept"] + sum(c["dropped"].values()) + c["quarantined"]
        return [] if c["in"] == out else [f"{what}in={c['in']} but kept + dropped + quarantined = {out}"]

    problems = unbalanced(counts, "")
    parts = counts.get("parts") or {}
    for name, part in parts.items():
        problems += unbalanced(part, f"part {name!r}: ")
    if parts:
        for door in ("in", "kept", "quarantined"):
            total = sum(part[door] for part in parts.values())
            if total != counts[door]:
                problems.append(f"parts add up to {door}={total}, the total says {counts[door]}")
        for reason in sorted({r for part in parts.values() for r in part["dropped"]} | set(counts["dropped"])):
            total = sum(part["dropped"].get(reason, 0) for part in parts.values())
            if total != counts["dropped"].get(reason, 0):
                problems.append(f"parts add up to dropped[{reason!r}]={total}, the total says "
                                f"{counts['dropped'].get(reason, 0)}")
    return problems


# what `audit regenerate` re-runs: every data stage up to the token shards; checkpoints with --train-steps
_DATA_STAGE_FOLDERS = ("raw/", "documents/", "corpus/", "dedup/", "eval/suite/", "tokenizer/", "data/")


def _rebuilt_by(rel: str) -> str:
    if rel.startswith(_DATA_STAGE_FOLDERS):
        return " (`audit regenerate` rebuilds and checks it)"
    if rel.startswith("checkpoints/"):
        return " (`audit regenerate --train-steps N` retrains to it and checks it)"
    return " (its hash is recorded; rebuild the run to check it)"


class _Published:
    """A checkout of one revision of a published repository: the revision map, held against the
    record (``revisions.check_claims``), and the files publishing adds at the repository root."""

    def __init__(self, run_dir: Path, index: TreeIndex, revisions: Revisions, claims: Claims, recorded: dict):
        self.run_dir, self.index, self.revisions, self.claims = run_dir, index, revisions, claims
        self.content_elsewhere = {key: (rel, rev) for rel, key in sorted(recorded.items())
                                  if (rev := claims.revision_of(rel)) is not None}
        self._weights: dict[str, str] = {}  # revision -> why its root weights are not its checkpoint's ("" if they are)

    def revision_of(self, rel: str) -> str | None:
        return self.claims.revision_of(rel)

    def covers(self, report: VerifyReport, rel: str, key: tuple[str, int]) -> bool:
        """Report ``rel`` (a file no manifest records) when publishing put it there; False otherwise."""
        if rel == REVISIONS_FILE:
            ok = not self.claims.problems
            report.add("coverage", PASS if ok else FAIL, rel, "the published repository's revision map; each claim "
                       "held against the bundle's record" if ok else "makes claims the record does not bear out (above)")
            return True
        if rel in GIT_METADATA:
            report.add("coverage", SKIP, rel, "git metadata of the published repository (not a bundle file)")
            return True
        revision = self.claims.revision
        export = self.revisions.root_exports.get(revision or "")
        if "/" in rel or not export or rel not in export["files"]:
            return False
        source = export["from"]
        if export["files"][rel] != key[0]:
            report.add("coverage", FAIL, rel, f"differs from the export of {source} that {REVISIONS_FILE} lists for "
                       f"revision {revision!r}")
            return True
        copies = [f"{source}{rel}", f"{source}tokenizer/{rel}"]  # export_hf copies the tokenizer files flat
        if any(self.index.files.get(c) == key for c in copies):
            report.add("coverage", PASS, rel, f"the root export of revision {revision!r}: a copy of "
                       f"{next(c for c in copies if self.index.files.get(c) == key)}")
            return True
        if not rel.endswith(".safetensors"):
            report.add("coverage", SKIP, rel, f"written by `glassworks export hf {source}` when revision {revision!r} "
                       "was published; derived, not recorded, so not checked")
            return True
        why = self._root_weights(revision, export)
        report.add("coverage", FAIL if why else PASS, rel, why or f"the Hugging Face export of {source}: every "
                   "tensor's bytes are those of the recorded checkpoint")
        return True

    def _root_weights(self, revision: str, export: dict) -> str:
        """Why the root weights of ``revision`` are not exactly the tensors of its source checkpoint."""
        from glassworks.provenance.revisions import tensor_digests

        if revision not in self._weights:
            source = export["from"]
            theirs = sorted(r for r in self.index.files if r.startswith(source) and "/" not in r[len(source):]
                            and r.endswith(".safetensors"))
            ours = sorted(name for name in export["files"] if name.endswith(".safetensors"))
            got, want = Counter(), Counter()
            for files, total in ((ours, got), (theirs, want)):
                for rel in files:
                    digests = tensor_digests(self.run_dir / rel)
                    if isinstance(digests, str):
                        self._weights[revision] = f"{rel}: {digests}"
                        return self._weights[revision]
                    total.update(digests)
            self._weights[revision] = "" if theirs and got == want else (
                f"its tensors are not those of {source} ({sum((got - want).values())} differ)")
        return self._weights[revision]


def _published_revisions(report: VerifyReport, run_dir: Path, index: TreeIndex, manifests: dict) -> _Published | None:
    """The revision map of a published checkout, held against the bundle's record; None without one."""
    try:
        revisions = read_revisions(run_dir)
    except RevisionsError as exc:
        report.add("coverage", FAIL, REVISIONS_FILE, str(exc).removeprefix(f"{REVISIONS_FILE}: "))
        return None
    if revisions is None:
        return None
    recorded = {rec["path"]: (rec["sha256"], rec["bytes"]) for _, m in manifests.values() if writes_bundle(m)
                for side in ("inputs", "outputs") for rec in m[side]["files"] if rec.get("root", "run") == "run"}
    claims = check_claims(revisions, set(recorded), set(index.files))
    for subject, why in claims.problems:
        report.add("file", FAIL, subject, why, REVISIONS_FILE)
    for prefix, revision in sorted(claims.here.items()):
        report.add("file", PASS, prefix, f"the checkpoint of revision {revision!r}, checked here", REVISIONS_FILE)
    export = revisions.root_exports.get(claims.revision or "", {})
    for name in sorted(set(export.get("files", {})) - set(index.files)):
        report.add("coverage", FAIL, name, f"the root export of revision {claims.revision!r} lists it; missing", REVISIONS_FILE)
    return _Published(run_dir, index, revisions, claims, recorded)


class _Resolver:
    """Finds the bytes a record speaks of, and says whether they are the recorded ones."""

    def __init__(self, run_dir: Path, index: TreeIndex, roots: dict, unchecked: set[str], bundle: bool, archives: list,
                 published: _Published | None = None):
        self.run_dir, self.index, self.bundle, self.archives, self.published = run_dir, index, bundle, archives, published
        self.anchors = {k: Path(v).resolve() for k, v in roots.items()}
        self.unchecked = unchecked - set(self.anchors)
        self.external: dict[tuple[str, str], tuple[str, int] | str] = {}  # hashes of files outside the tree

    def recorded_content(self, manifests: dict) -> set[tuple[str, int]]:
        """(sha256, size) of every file any manifest records: a bundle file with one of these is a copy."""
        return {(rec["sha256"], rec["bytes"]) for _, m in manifests.values()
                for side in ("inputs", "outputs") for rec in m[side]["files"]}

    def check(self, rec: dict, manifest_rel: str, writes_bundle: bool) -> Finding:
        root, rel = rec.get("root", "run"), rec["path"]
        subject = rel if root == "run" else f"{root}:{rel}"
        want = (rec["sha256"], rec["bytes"])
        if root == "run":
            state = self._in_tree(rel)
            elsewhere = self.published.revision_of(rel) if state == "missing" and self.published else None
            if elsewhere and writes_bundle:
                return Finding("file", SKIP, subject, f"ships on revision {elsewhere!r} of the published repository; "
                               "not checked here (check out that revision to verify it)", manifest_rel)
            if state == "missing" and self.bundle and not writes_bundle:
                return self._elsewhere_in_bundle(want, subject, manifest_rel, "not shipped in the bundle" + _rebuilt_by(rel))
        elif root in self.anchors:
            state = self._external(root, rel)
        else:
            if self.bundle:
                for archive in self.archives:
                    got = archive.members.get(f"{root}/{rel}")
                    if got is not None:
                        return self._compare(got, want, subject, manifest_rel, f"in the code archive {archive.rel}")
                if want in self.index.by_hash:
                    return self._elsewhere_in_bundle(want, subject, manifest_rel, "")
            if root in self.unchecked:
                return Finding("file", SKIP, subject, f"external root '{root}' left unchecked", manifest_rel)
            return Finding("file", FAIL, subject, f"external root '{root}' not given: --root {root}=DIR checks it, "
                           f"--unchecked-root {root} accepts it unchecked", manifest_rel)
        if isinstance(state, str):
            return Finding("file", FAIL, subject, state, manifest_rel)
        return self._compare(state, want, subject, manifest_rel)

    def _in_tree(self, rel: str) -> tuple[str, int] | str:
        if rel in self.index.files:
            return self.index.files[rel]
        if rel in self.index.odd:
            return "is a symlink or leaves its root; refused"
        if rel in self.index.unreadable:
            return f"cannot be read: {self.index.unreadable[rel]}"
        if rel.startswith(ATTESTATION_DIR):
            return "lies in attestation/, which only signatures may use"
        if not self.bundle and rel.startswith(UNRECORDED_DIRS):  # recorded although its folder usually is not
            return self._external("run", rel)
        return "missing"

    def _external(self, root: str, rel: str) -> tuple[str, int] | str:
        key = (root, rel)
        if key not in self.external:
            base = self.anchors.get(root, self.run_dir.resolve())
            try:
                target = resolve_inside(base, rel)
                self.external[key] = sha256_file(target) if target.is_file() else "missing"
            except UnsafePath:
                self.external[key] = "is a symlink or leaves its root; refused"
            except (OSError, ValueError) as exc:  # e.g. an embedded NUL in a crafted path
                self.external[key] = f"cannot be checked: {exc}"
        state = self.external[key]
        return "recorded file is missing" if state == "missing" else state

    def _elsewhere_in_bundle(self, want, subject: str, manifest_rel: str, otherwise: str) -> Finding:
        copies = self.index.by_hash.get(want)
        if copies:
            return Finding("file", PASS, subject, f"shipped as {copies[0]}", manifest_rel)
        shipped = self.published.content_elsewhere.get(want) if self.published else None
        if shipped:
            return Finding("file", SKIP, subject, f"ships as {shipped[0]} on revision {shipped[1]!r} of the published "
                           "repository; not checked here", manifest_rel)
        if otherwise:
            return Finding("file", SKIP, subject, otherwise, manifest_rel)
        return Finding("file", FAIL, subject, "recorded file is missing", manifest_rel)

    @staticmethod
    def _compare(got: tuple[str, int], want: tuple[str, int], subject: str, manifest_rel: str, where: str = "") -> Finding:
        if got == want:
            return Finding("file", PASS, subject, where, manifest_rel)
        detail = f"size {got[1]} != recorded {want[1]}" if got[1] != want[1] else "sha256 differs from the record"
        return Finding("file", FAIL, subject, f"content changed: {detail}" + (f" ({where})" if where else ""), manifest_rel)


def _check_graph(report: VerifyReport, manifests: dict, bundle: bool) -> None:
    """Lineage: every chain starts from recorded inputs, and in a bundle every manifest is
    upstream of the stage that wrote the bundle (else it is shipped, but nothing derives from it)."""
    for mid, (rel, manifest) in sorted(manifests.items()):
        if manifest["upstream"]:
            continue
        raw = [r for r in manifest["inputs"]["files"] if r.get("root", "run") != "run"]
        if raw:
            report.add("graph", PASS, rel, f"lineage starts from {len(raw)} raw input file(s)")
        elif not manifest["inputs"]["files"]:
            report.add("graph", WARN, rel, "records no inputs and no upstream: its lineage starts from nothing recorded")
    if not bundle:
        return
    writers = [mid for mid, (_, m) in manifests.items() if writes_bundle(m)]
    if not writers:
        report.add("graph", WARN, f"{MANIFEST_DIR}/", "no manifest of the stage that wrote the bundle (release.*, "
                   "recording model.yml): nothing ties the bundle's own files to the runs")
        return
    ancestors: set[str] = set()
    stack = list(writers)
    while stack:
        mid = stack.pop()
        if mid in manifests and mid not in ancestors:
            ancestors.add(mid)
            stack.extend(manifests[mid][1]["upstream"])
    for mid, (rel, manifest) in sorted(manifests.items()):
        if mid in ancestors:
            report.add("graph", PASS, rel, "on the path to the release")
        else:
            report.add("graph", WARN, rel, "not upstream of the release stage: shipped, but nothing released derives from it")


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
