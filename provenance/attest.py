"""`audit sign`: an in-toto Statement v1 with a SLSA provenance v1 predicate, signed with ed25519.

The statement's subjects are every file of the bundle or run directory, manifests included,
each with its sha256, so one signature vouches for the manifest set and for every artifact.
The predicate says how they were made, from the manifests alone: the stages with their
config hashes and counts (external parameters), the code commits and the raw inputs with
their digests (resolved dependencies), and the manifests themselves (byproducts).

Written into ``PATH/attestation/``:
- ``provenance.dsse.json``: the DSSE envelope (the statement as payload, the signature);
- ``statement.intoto.json``: the same statement, indented, for people to read;
- ``signing.pub``: the public key, so the bundle carries what checks it (an auditor still
  pins the maintainer's key: see ``signing``).
The output is deterministic: the same tree and key give the same bytes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import glassworks
from glassworks.canonical import canonical_json
from glassworks.errors import GlassworksError
from glassworks.provenance.atomic import atomic_write_bytes, atomic_write_json
from glassworks.provenance.bundle import is_bundle
from glassworks.provenance.manifest import load_manifest, validate_manifest
from glassworks.provenance.signing import fingerprint, public_pem, sign_envelope
from glassworks.provenance.tree import ATTESTATION_DIR, UNRECORDED_DIRS, TreeIndex

STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
PREDICATE_TYPE = "https://slsa.dev/provenance/v1"
BUILD_TYPE = "https://glassworks.invalid/buildtypes/release/v1"
BUILDER_ID = "https://glassworks.invalid/builders/glassworks"
ENVELOPE = ATTESTATION_DIR + "provenance.dsse.json"
STATEMENT = ATTESTATION_DIR + "statement.intoto.json"
PUBLIC_KEY = ATTESTATION_DIR + "signing.pub"
ATTESTATION_FILES = (ENVELOPE, STATEMENT, PUBLIC_KEY)


def tree_skip(path: Path) -> tuple[str, ...]:
    """Folders left out of records: a run's logs, reports and Slurm scripts; nothing in a bundle."""
    return () if is_bundle(path) else UNRECORDED_DIRS


def load_manifest_set(path: Path) -> list[dict]:
    """The valid manifests under ``path/manifests``; signing refuses a tree with a broken one."""
    manifests = []
    for file in sorted((path / "manifests").glob("*.json")):
        manifest = load_manifest(file)
        problems = validate_manifest(manifest)
        if problems:
            raise GlassworksError(f"{file}: not a valid manifest ({problems[0]}); run `glassworks audit verify` first")
        manifests.append(manifest)
    return manifests


def build_statement(path: Path, index: TreeIndex, manifests: list[dict]) -> dict:
    """The in-toto Statement v1 for the tree, with a SLSA provenance v1 predicate."""
    subjects = [{"name": rel, "digest": {"sha256": sha}} for rel, (sha, _) in sorted(index.files.items())]
    stages = [{
        "manifest": m["id"],
        "stage": m["stage"]["name"],
        "version": m["stage"]["version"],
        "config_sha256": m["config_sha256"],
        "upstream": m["upstream"],
        "counts": m["counts"],
    } for m in sorted(manifests, key=lambda m: m["id"])]
    dependencies = {}
    for m in manifests:
        commit = m["code"]["git_commit"]
        if commit:
            dependencies[f"git:{commit}"] = {"name": "glassworks source", "digest": {"gitCommit": commit},
                                             "annotations": {"glassworks_version": m["code"]["glassworks_version"]}}
        for rec in m["inputs"]["files"]:
            root = rec.get("root", "run")
            if root != "run":
                dependencies[f"{root}:{rec['path']}"] = {"name": f"{root}:{rec['path']}",
                                                         "digest": {"sha256": rec["sha256"]}}
    byproducts = [{"name": f"manifests/{m['id']}.json", "annotations": {"digest": m["digest"]},
                   "digest": {"sha256": index.files[f"manifests/{m['id']}.json"][0]}}
                  for m in sorted(manifests, key=lambda m: m["id"]) if f"manifests/{m['id']}.json" in index.files]
    started = sorted(m["run"]["started"] for m in manifests)
    finished = sorted(m["run"]["finished"] for m in manifests)
    metadata = {"invocationId": _manifest_set_digest(manifests)}
    if started:
        metadata.update(startedOn=started[0], finishedOn=finished[-1])
    return {
        "_type": STATEMENT_TYPE,
        "subject": subjects,
        "predicateType": PREDICATE_TYPE,
        "predicate": {
            "buildDefinition": {
                "buildType": BUILD_TYPE,
                "externalParameters": {"kind": "bundle" if is_bundle(path) else "run", "stages": stages},
                "internalParameters": {"libraries": _libraries(manifests)},
                "resolvedDependencies": [dependencies[k] for k in sorted(dependencies)],
            },
            "runDetails": {
                "builder": {"id": BUILDER_ID, "version": {"glassworks": glassworks.__version__}},
                "metadata": metadata,
                "byproducts": byproducts,
            },
        },
    }


def _manifest_set_digest(manifests: list[dict]) -> str:
    import hashlib

    return hashlib.sha256("\n".join(sorted(m["digest"] for m in manifests)).encode("ascii")).hexdigest()


def _libraries(manifests: list[dict]) -> dict:
    """Library versions per library, as the manifests recorded them (several when stages differ)."""
    seen: dict[str, set[str]] = {}
    for m in manifests:
        for name, version in m["code"]["libraries"].items():
            seen.setdefault(name, set()).add(version)
    return {name: sorted(versions) for name, versions in sorted(seen.items())}


@dataclass(frozen=True)
class SignResult:
    envelope: Path
    statement: Path
    public_key: Path
    fingerprint: str
    subjects: int


def sign_tree(path: str | Path, private_key) -> SignResult:
    """Hash the tree, build its statement, sign it and write ``attestation/``.

    Refuses a tree with symlinks or unreadable files: a signature must not vouch for bytes
    that a later reader may not see the same way.
    """
    path = Path(path)
    if not (path / "manifests").is_dir():
        raise GlassworksError(f"{path}: no manifests/ folder: not a run directory or bundle")
    index = TreeIndex.build(path, skip=tree_skip(path), desc="sign: hashing")
    refused = {**index.odd, **index.unreadable}
    if refused:
        rel, why = sorted(refused.items())[0]
        raise GlassworksError(f"{path / rel}: {why}; cannot sign ({len(refused)} such file(s))")
    statement = build_statement(path, index, load_manifest_set(path))
    payload = canonical_json(statement).encode("utf-8")
    envelope = sign_envelope(payload, private_key)
    atomic_write_json(path / ENVELOPE, envelope)
    atomic_write_json(path / STATEMENT, statement)
    atomic_write_bytes(path / PUBLIC_KEY, public_pem(private_key.public_key()))
    return SignResult(path / ENVELOPE, path / STATEMENT, path / PUBLIC_KEY,
                      fingerprint(private_key.public_key()), len(statement["subject"]))


def statement_subjects(statement) -> dict[str, str] | str:
    """{name: sha256} of a statement's subjects, or why the statement is not one glassworks made."""
    if not isinstance(statement, dict) or statement.get("_type") != STATEMENT_TYPE:
        return f"not an in-toto Statement v1 (_type {statement.get('_type') if isinstance(statement, dict) else None!r})"
    if statement.get("predicateType") != PREDICATE_TYPE:
        return f"predicateType is {statement.get('predicateType')!r}, not {PREDICATE_TYPE}"
    subjects = statement.get("subject")
    if not isinstance(subjects, list):
        return "subject is not a list"
    out = {}
    for i, item in enumerate(subjects):
        digest = item.get("digest") if isinstance(item, dict) else None
        sha = digest.get("sha256") if isinstance(digest, dict) else None
        if not isinstance(item.get("name") if isinstance(item, dict) else None, str) or not isinstance(sha, str):
            return f"subject[{i}] lacks a name or a sha256 digest"
        if item["name"] in out:
            return f"subject {item['name']!r} is listed twice"
        out[item["name"]] = sha
    return out


def read_statement_copy(path: Path):
    try:
        return json.loads((path / STATEMENT).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        return None


def check_signature(report, path: Path, index: TreeIndex, trusted) -> set[str]:
    """Check ``attestation/`` against the tree and the trusted keys; returns the signed file names
    when the signature holds (they count as recorded for coverage), else an empty set.

    Refused: a statement no signature verifies (forged or altered), a signature by a key the
    auditor did not pin (re-signed by someone else), a signed file that changed or is gone,
    a file added after signing, and unknown files in attestation/.
    """
    from glassworks.provenance.findings import FAIL, PASS, SKIP, WARN
    from glassworks.provenance.paths import walk_files
    from glassworks.provenance.signing import check_envelope, parse_public_key, read_envelope

    folder = path / ATTESTATION_DIR
    if not folder.exists():
        if trusted.pinned:
            report.add("signature", FAIL, ATTESTATION_DIR, "not signed, but the auditor pinned a key")
        elif report.kind == "bundle":
            report.add("signature", WARN, ATTESTATION_DIR, "the bundle is not signed (`glassworks audit sign`)")
        else:
            report.add("signature", SKIP, ATTESTATION_DIR, "not signed")
        return set()
    if folder.is_symlink() or not folder.is_dir():
        report.add("signature", FAIL, ATTESTATION_DIR, "is not a plain folder; refused")
        return set()
    for entry in walk_files(folder):
        rel = ATTESTATION_DIR + entry.rel
        if rel not in ATTESTATION_FILES or entry.kind != "file":
            report.add("signature", FAIL, rel, "unexpected in attestation/ (only the envelope, statement and key belong)")
    try:
        key = parse_public_key((path / PUBLIC_KEY).read_bytes(), PUBLIC_KEY)
        envelope = read_envelope(path / ENVELOPE)
    except (GlassworksError, OSError) as exc:
        report.add("signature", FAIL, ATTESTATION_DIR, str(exc))
        return set()
    result = check_envelope(envelope, key)
    if not result.valid:
        report.add("signature", FAIL, ENVELOPE, f"{result.problem} (bundled key {result.key_fingerprint})")
        return set()
    report.signer = result.key_fingerprint
    report.signer_pinned = result.key_fingerprint in trusted.fingerprints
    if trusted.pinned and not report.signer_pinned:
        report.add("signature", FAIL, ENVELOPE, f"signed by {result.key_fingerprint}, which is not a trusted key "
                   f"({', '.join(sorted(trusted.fingerprints))}): re-signed by someone else?")
        return set()
    if report.signer_pinned:
        report.add("signature", PASS, ENVELOPE, f"signed by the trusted key {result.key_fingerprint}")
    else:
        report.add("signature", WARN, ENVELOPE, f"signature verifies with the key shipped in the bundle, "
                   f"{result.key_fingerprint}; anyone who can rewrite the bundle can replace that key: compare it with "
                   "the maintainer's published fingerprint, or pin it with --trusted-key")
    try:
        statement = json.loads(result.payload.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        report.add("signature", FAIL, ENVELOPE, "the signed payload is not JSON")
        return set()
    subjects = statement_subjects(statement)
    if isinstance(subjects, str):
        report.add("signature", FAIL, ENVELOPE, subjects)
        return set()
    if read_statement_copy(path) != statement:
        report.add("signature", FAIL, STATEMENT, "the readable statement differs from the signed payload")
    ok = set()
    for name, sha in sorted(subjects.items()):
        got = index.files.get(name)
        if got is None:
            why = index.odd.get(name) or "signed file is missing"
            report.add("signature", FAIL, name, why)
        elif got[0] != sha:
            report.add("signature", FAIL, name, "changed since it was signed (sha256 differs from the signed statement)")
        else:
            ok.add(name)
    for rel in sorted(set(index.files) - set(subjects)):
        report.add("signature", FAIL, rel, "not covered by the signature (added or replaced after signing)")
    report.add("signature", PASS if len(ok) == len(subjects) else FAIL, ENVELOPE,
               f"{len(ok)} of {len(subjects)} signed files match")
    return ok
