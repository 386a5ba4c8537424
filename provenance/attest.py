"""`audit sign`: an in-toto Statement v1 with a SLSA provenance v1 predicate, and an OpenSSF
model_signing signature, both made with one EC key (or keyless through Sigstore).

The statement's subjects are every file of the bundle or run directory, manifests included,
each with its sha256, so one signature vouches for the manifest set and for every artifact.
The predicate says how they were made, from the manifests alone: the stages with their
config hashes and counts (external parameters), the code commits and the raw inputs with
their digests (resolved dependencies), and the manifests themselves (byproducts). The
builder is the glassworks code at the commit that made the release (``<repository>@<commit>``,
the repository URL from model.yml's ``release.repository``), and the build type is
docs/build-type-v1.md of that repository, which says what the parameters mean.

Written into ``PATH/attestation/``:
- ``provenance.dsse.json``: the DSSE envelope (the statement as payload, the ECDSA signature);
- ``statement.intoto.json``: the same statement, indented, for people to read;
- ``signing.pub``: the public key, so the bundle carries what checks it (an auditor still
  pins the maintainer's key: see ``signing``);
- ``model.sig``: model_signing's Sigstore bundle over every other file (the three above
  included), which ``model_signing verify`` checks with no glassworks installed.
Keyless signing writes only the statement and model.sig. The envelope is deterministic: the
same tree and key give the same bytes (model.sig is not: model_signing's ECDSA nonce is random).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import glassworks
from glassworks.canonical import canonical_json
from glassworks.errors import GlassworksError
from glassworks.provenance.atomic import atomic_write_bytes, atomic_write_json
from glassworks.provenance.bundle import is_bundle
from glassworks.provenance.manifest import load_manifest, validate_manifest
from glassworks.provenance.model_signing_io import MODEL_SIG, describe_difference, sign_model, verify_model_signature
from glassworks.provenance.signing import fingerprint, public_pem, sign_envelope
from glassworks.provenance.tree import ATTESTATION_DIR, UNRECORDED_DIRS, TreeIndex

STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
PREDICATE_TYPE = "https://slsa.dev/provenance/v1"
BUILD_TYPE_DOC = "docs/build-type-v1.md"  # what the predicate's fields mean, in the repository
ENVELOPE = ATTESTATION_DIR + "provenance.dsse.json"
STATEMENT = ATTESTATION_DIR + "statement.intoto.json"
PUBLIC_KEY = ATTESTATION_DIR + "signing.pub"
ATTESTATION_FILES = (ENVELOPE, STATEMENT, PUBLIC_KEY, MODEL_SIG)
_CHECKPOINT_FOLDER = re.compile(r"^checkpoints/(?!final/)[^./][^/]*/$")  # an intermediate checkpoint's folder
UNSIGNED = ("the bundle is not signed, so nothing shows who made it (anyone can rewrite a bundle and its whole "
            "manifest chain consistently): ask the maintainer for a signed bundle and their key's fingerprint, or "
            "pass --allow-unsigned to check integrity only")


def tree_skip(path: Path) -> tuple[str, ...]:
    """Folders left out of records: a run's logs, reports and Slurm scripts, and bundles built
    inside the run (they are signed and verified on their own); nothing in a bundle."""
    from glassworks.provenance.verify import _nested_bundles

    return () if is_bundle(path) else UNRECORDED_DIRS + _nested_bundles(path)


def repository_url(path: Path, repository: str | None = None) -> str:
    """The public URL of the code repository: ``repository``, else model.yml's ``release.repository``."""
    from glassworks.provenance.bundle import MOF_FILE, read_mof

    if not repository and is_bundle(path):
        try:
            repository = read_mof(path / MOF_FILE)["release"].get("repository")
        except (ValueError, OSError):
            repository = None
    if not repository:
        raise GlassworksError(f"{path}: no repository URL for the SLSA builder.id and buildType: set `repository:` in "
                              "the release config (e.g. configs/release-demo.yaml), which writes it into model.yml, "
                              "or pass --repository URL")
    if not isinstance(repository, str) or not repository.startswith("https://") or any(c.isspace() for c in repository):
        raise GlassworksError(f"{repository!r}: the repository URL must be an https:// URL")
    return repository.rstrip("/").removesuffix(".git")


def release_commit(manifests: list[dict]) -> str | None:
    """The commit of the code that made the release: the bundle-writing stage's, else the last stage's."""
    from glassworks.provenance.verify import writes_bundle

    writers = sorted((m for m in manifests if writes_bundle(m)), key=lambda m: m["run"]["finished"], reverse=True)
    chosen = writers or sorted(manifests, key=lambda m: m["run"]["finished"], reverse=True)
    return next((m["code"]["git_commit"] for m in chosen if m["code"]["git_commit"]), None)


def builder_id(repository: str, commit: str | None) -> str:
    return f"{repository}@{commit}" if commit else repository


def build_type(repository: str) -> str:
    """A URI that resolves to the build type's description (the forge's file view of the default branch)."""
    return f"{repository}/blob/main/{BUILD_TYPE_DOC}"


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


def build_statement(path: Path, index: TreeIndex, manifests: list[dict], repository: str) -> dict:
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
            dependencies[f"git:{commit}"] = {"name": "glassworks source", "uri": f"git+{repository}@{commit}",
                                             "digest": {"gitCommit": commit},
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
                "buildType": build_type(repository),
                "externalParameters": {"kind": "bundle" if is_bundle(path) else "run", "repository": repository,
                                       "stages": stages},
                "internalParameters": {"libraries": _libraries(manifests)},
                "resolvedDependencies": [dependencies[k] for k in sorted(dependencies)],
            },
            "runDetails": {
                "builder": {"id": builder_id(repository, release_commit(manifests)), "version": {"glassworks": glassworks.__version__}},
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
    statement: Path
    model_signature: Path
    signer: str  # the key's fingerprint, or "sigstore keyless"
    subjects: int
    envelope: Path | None = None  # key-based signing only
    public_key: Path | None = None


def sign_tree(path: str | Path, private_key=None, *, repository: str | None = None, keyless: bool = False) -> SignResult:
    """Hash the tree, build its statement, sign it (DSSE and model_signing) and write ``attestation/``.

    ``private_key`` is an EC key (``signing.load_private_key``); ``keyless`` signs through
    Sigstore instead (network and an OIDC identity needed; untested offline). ``repository``
    is the code's public URL when model.yml does not name it. Refuses a tree with symlinks
    or unreadable files: a signature must not vouch for bytes a later reader may not see the same way.
    """
    path = Path(path)
    if not (path / "manifests").is_dir():
        raise GlassworksError(f"{path}: no manifests/ folder: not a run directory or bundle")
    if keyless == (private_key is not None):
        raise GlassworksError("sign with a private key or keyless through Sigstore: one of the two")
    repository = repository_url(path, repository)
    skip = tree_skip(path)
    index = TreeIndex.build(path, skip=skip, desc="sign: hashing")
    refused = {**index.odd, **index.unreadable}
    if refused:
        rel, why = sorted(refused.items())[0]
        raise GlassworksError(f"{path / rel}: {why}; cannot sign ({len(refused)} such file(s))")
    statement = build_statement(path, index, load_manifest_set(path), repository)
    for rel in ATTESTATION_FILES:  # a stale envelope of an earlier signing must not survive
        (path / rel).unlink(missing_ok=True)
    atomic_write_json(path / STATEMENT, statement)
    envelope = public = None
    signer = "sigstore keyless"
    if private_key is not None:
        envelope, public = path / ENVELOPE, path / PUBLIC_KEY
        atomic_write_json(envelope, sign_envelope(canonical_json(statement).encode("utf-8"), private_key))
        atomic_write_bytes(public, public_pem(private_key.public_key()))
        signer = fingerprint(private_key.public_key())
    signature = sign_model(path, private_key, keyless=keyless, skip=skip)
    return SignResult(path / STATEMENT, signature, signer, len(statement["subject"]), envelope, public)


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


def check_signature(report, path: Path, index: TreeIndex, trusted, allow_unsigned: bool = False, *,
                    claims=None, published_adds=None) -> set[str]:
    """Check ``attestation/`` against the tree and the keys the auditor trusts; returns the
    signed file names when the statement holds (they count as recorded for coverage).

    A checkout of one revision of a published repository (``release publish``) is judged with
    ``claims``, the ``revisions.Claims`` that ``audit verify`` validated against the record, and
    ``published_adds(rel)``, true for a file publishing adds that verify's own checks accept
    (revisions.json, the root export, .gitattributes). A signed file absent here is skipped only
    when the claims put its whole ``checkpoints/<name>/`` folder of signed files on another
    revision and none of them is here; an unsigned file only when ``published_adds`` takes it.

    Fails closed on a bundle: unless ``allow_unsigned``, a bundle passes only when its
    signature verifies with a key (or keyless identity) in ``trusted``. Refused in any case:
    a statement no signature verifies (forged, altered, key swapped), a signature by a key the
    auditor did not pin (re-signed), a statement of other files (replayed), a signed file that
    changed or is gone, a file added after signing, a model_signing signature that
    model_signing refuses, and unknown files in attestation/. ``report.authenticity`` says
    whether the maintainer's signature was checked.
    """
    from glassworks.provenance.findings import FAIL, PASS, SKIP, WARN
    from glassworks.provenance.paths import walk_files

    required = report.kind == "bundle" and not allow_unsigned
    folder = path / ATTESTATION_DIR
    if not folder.exists():
        if trusted.pinned:
            report.add("signature", FAIL, ATTESTATION_DIR, "not signed, but the auditor named a trusted key or identity")
        elif required:
            report.add("signature", FAIL, ATTESTATION_DIR, UNSIGNED)
        elif report.kind == "bundle":
            report.add("signature", WARN, ATTESTATION_DIR, "the bundle is not signed; authenticity not checked "
                       "(--allow-unsigned)")
        else:
            report.add("signature", SKIP, ATTESTATION_DIR, "not signed")
        _settle(report)
        return set()
    if folder.is_symlink() or not folder.is_dir():
        report.add("signature", FAIL, ATTESTATION_DIR, "is not a plain folder; refused")
        _settle(report)
        return set()
    for entry in walk_files(folder):
        rel = ATTESTATION_DIR + entry.rel
        if rel not in ATTESTATION_FILES or entry.kind != "file":
            report.add("signature", FAIL, rel, "unexpected in attestation/ (only the envelope, statement, key and "
                       "model.sig belong)")
    if (path / ENVELOPE).exists() or (path / PUBLIC_KEY).exists():
        statement = _key_signed(report, path, index, trusted, required, claims, published_adds)
    else:
        statement = _keyless(report, path, index, trusted, required, claims, published_adds)
    ok = set() if statement is None else _check_subjects(report, index, statement, claims, published_adds)
    _settle(report)
    return ok


def _settle(report) -> None:
    from glassworks.provenance.findings import FAIL

    failed = any(f.check == "signature" and f.status == FAIL for f in report.findings)
    report.authenticity = "failed" if failed else "verified" if report.signer_pinned else "not checked"


def _key_signed(report, path: Path, index: TreeIndex, trusted, required: bool, claims, published_adds):
    """The statement of a key-signed tree, once its envelope verified (with a trusted key, or,
    when the auditor allows it, with the key the tree carries); checks model.sig with that key."""
    from glassworks.provenance.findings import FAIL, PASS, WARN
    from glassworks.provenance.signing import check_envelope, parse_public_key, read_envelope

    try:
        bundled = parse_public_key((path / PUBLIC_KEY).read_bytes(), PUBLIC_KEY)
        envelope = read_envelope(path / ENVELOPE)
    except (GlassworksError, OSError) as exc:
        report.add("signature", FAIL, ATTESTATION_DIR, str(exc))
        return None
    bundled_fp = fingerprint(bundled)
    pinned = ", ".join(sorted(trusted.fingerprints)) or "none"
    signer = None
    for key in trusted.public_keys() + ([bundled] if bundled_fp in trusted.fingerprints else []):
        check = check_envelope(envelope, key)
        if check.valid:
            signer, payload = key, check.payload
            report.signer, report.signer_pinned = check.key_fingerprint, True
            report.add("signature", PASS, ENVELOPE, f"signed by the trusted key {check.key_fingerprint}")
            break
    if signer is None:
        loose = check_envelope(envelope, bundled)
        if trusted.pinned:
            if loose.valid:
                why = f"signed by {bundled_fp}, which is not a trusted key ({pinned}): re-signed by someone else"
            elif bundled_fp not in trusted.fingerprints:
                why = (f"no signature verifies with a trusted key ({pinned}), and {PUBLIC_KEY} holds another key "
                       f"({bundled_fp}) that does not verify it either: key swapped, or the signature forged")
            else:
                why = f"{loose.problem}: the statement was altered after signing, or the signature forged"
            report.add("signature", FAIL, ENVELOPE, why)
            return None
        if not loose.valid:
            report.add("signature", FAIL, ENVELOPE, f"{loose.problem} (the key in {PUBLIC_KEY} is {bundled_fp}): "
                       "the signature is forged, or the key was swapped")
            return None
        signer, payload, report.signer = bundled, loose.payload, bundled_fp
        if required:
            report.add("signature", FAIL, ENVELOPE, f"the signature verifies only with the key shipped inside the "
                       f"bundle ({bundled_fp}); whoever rewrites a bundle can replace that key and re-sign, so it says "
                       "nothing of who made it: pin the maintainer's key (--trusted-key PUB, or --trusted-fingerprint "
                       "with the fingerprint the maintainer published), or pass --allow-unsigned")
        else:
            report.add("signature", WARN, ENVELOPE, f"signature verifies with the key shipped in the tree, "
                       f"{bundled_fp}; anyone who can rewrite it can replace that key: compare it with the "
                       "maintainer's published fingerprint, or pin it with --trusted-key")
    try:
        statement = json.loads(payload.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        report.add("signature", FAIL, ENVELOPE, "the signed payload is not JSON")
        return None
    if read_statement_copy(path) != statement:
        report.add("signature", FAIL, STATEMENT, "the readable statement differs from the signed payload")
    _check_model_signature(report, path, index, public_pem(signer), fingerprint(signer), claims, published_adds)
    return statement


def _keyless(report, path: Path, index: TreeIndex, trusted, required: bool, claims, published_adds):
    """A Sigstore keyless signature: model.sig alone vouches, for the files and the statement.
    Needs the network to check (Sigstore's trust root); not exercised by the offline tests."""
    from glassworks.provenance.findings import FAIL, PASS, WARN

    if not trusted.identities:
        status = FAIL if required or trusted.pinned else WARN
        report.add("signature", status, MODEL_SIG, "signed keyless through Sigstore (no key in attestation/): name "
                   "the signer with --trusted-identity and --oidc-issuer")
        return None
    problems = []
    for identity in trusted.identities:
        result = verify_model_signature(path, identity=identity, present=_hashed(index))
        differ = _model_differences(report, index, result, claims, published_adds) if result.signed else ""
        if result.signed and not differ:
            report.signer, report.signer_pinned = f"{identity[0]} ({identity[1]})", True
            report.add("signature", PASS, MODEL_SIG, f"model_signing verifies it as signed by {identity[0]}")
            statement = read_statement_copy(path)
            if statement is None:
                report.add("signature", FAIL, STATEMENT, "missing or not JSON")
            return statement
        problems.append(f"{identity[0]}: {differ or result.problem}")
        if result.signed:
            break  # the signature verified but the files differ: no other identity changes that
    report.add("signature", FAIL, MODEL_SIG, "; ".join(problems))
    return None


def _check_model_signature(report, path: Path, index: TreeIndex, pem: bytes, signer_fp: str, claims,
                           published_adds) -> None:
    """model_signing's own verifier, with the key that verified the envelope; then that what it
    covers is every file of the tree (it may leave paths out: the signed payload lists them)."""
    from glassworks.provenance.findings import FAIL, PASS

    result = verify_model_signature(path, pem, present=_hashed(index))
    if not result.signed:
        report.add("signature", FAIL, MODEL_SIG, result.problem)
        return
    problem = _model_differences(report, index, result, claims, published_adds)
    if problem:
        report.add("signature", FAIL, MODEL_SIG, problem)
    expected = set(index.files) | {rel for rel in (ENVELOPE, STATEMENT, PUBLIC_KEY) if (path / rel).is_file()}
    for rel in sorted(expected - set(result.covered)):
        if not (published_adds and published_adds(rel)):
            report.add("signature", FAIL, rel, "not covered by the model_signing signature")
    if not problem:
        report.add("signature", PASS, MODEL_SIG, f"model_signing verifies {len(result.covered) - len(result.missing)} "
                   f"files here with {signer_fp}")


def _hashed(index: TreeIndex) -> dict[str, str]:
    """file -> sha256 as verify already hashed the tree: model_signing's check does not hash it again."""
    return {rel: digest for rel, (digest, _) in index.files.items()}


def _model_differences(report, index: TreeIndex, result, claims, published_adds) -> str:
    """What makes this tree differ from what model_signing signed, but for signed checkpoint
    folders that ship whole on another revision (reported SKIP) and files publishing adds."""
    from glassworks.provenance.findings import SKIP

    away = _shipped_elsewhere(claims, result.covered, index)
    for prefix, (revision, count) in sorted(away.items()):
        report.add("signature", SKIP, prefix, f"model_signing: {count} signed file(s) ship on revision {revision!r} "
                   "of the published repository; not checked here (check out that revision to verify them)")
    missing = [rel for rel in result.missing if not any(rel.startswith(p) for p in away)]
    extra = [rel for rel in result.extra if not (published_adds and published_adds(rel))]
    if result.changed or missing or extra:
        return describe_difference(result.changed, missing, extra)
    return ""


def _shipped_elsewhere(claims, signed, index: TreeIndex) -> dict[str, tuple[str, int]]:
    """{checkpoints/<name>/: (revision, signed files)} for each folder that the validated claims
    put on another revision, that holds signed files, and of which this tree holds none."""
    if claims is None:
        return {}
    here = set(index.files) | set(index.odd) | set(index.unreadable)
    out = {}
    for prefix, revision in claims.elsewhere.items():
        folder = [name for name in signed if name.startswith(prefix)]
        if _CHECKPOINT_FOLDER.match(prefix) and folder and not here.intersection(folder):
            out[prefix] = (revision, len(folder))
    return out


def _check_subjects(report, index: TreeIndex, statement, claims, published_adds) -> set[str]:
    from glassworks.provenance.findings import FAIL, PASS, SKIP

    subjects = statement_subjects(statement)
    if isinstance(subjects, str):
        report.add("signature", FAIL, STATEMENT, subjects)
        return set()
    signed = {n for n in subjects if n.startswith("manifests/")}
    present = {n for n in index.files if n.startswith("manifests/")}
    if signed != present:
        report.add("signature", FAIL, STATEMENT, f"the signed statement names {len(signed - present)} manifest(s) "
                   f"this tree lacks and lacks {len(present - signed)} it has: an attestation of another bundle or "
                   "run (replayed), or manifests replaced after signing")
    away = _shipped_elsewhere(claims, subjects, index)
    for prefix, (revision, count) in sorted(away.items()):
        report.add("signature", SKIP, prefix, f"{count} signed file(s) ship on revision {revision!r} of the published "
                   "repository; not checked here (check out that revision to verify them)")
    ok, elsewhere = set(), 0
    for name, sha in sorted(subjects.items()):
        got = index.files.get(name)
        if got is None and any(name.startswith(p) for p in away):
            elsewhere += 1
        elif got is None:
            why = index.odd.get(name) or "signed file is missing"
            report.add("signature", FAIL, name, why)
        elif got[0] != sha:
            report.add("signature", FAIL, name, "changed since it was signed (sha256 differs from the signed statement)")
        else:
            ok.add(name)
    for rel in sorted(set(index.files) - set(subjects)):
        if not (published_adds and published_adds(rel)):  # else verify's coverage check reports it
            report.add("signature", FAIL, rel, "not covered by the signature (added or replaced after signing)")
    report.add("signature", PASS if len(ok) + elsewhere == len(subjects) else FAIL, STATEMENT,
               f"{len(ok)} of {len(subjects)} signed files match" + (f", {elsewhere} ship on other revisions"
                                                                     if elsewhere else ""))
    return ok
