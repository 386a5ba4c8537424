"""The OpenSSF model_signing signature of a bundle or run: ``attestation/model.sig``.

model_signing (PyPI ``model-signing``) is the field's tool for signing models: it hashes
every file of a folder (sha256 per file), puts the list in an in-toto statement of its own
(predicate ``https://model_signing/signature/v1.0``), signs it as DSSE and writes a Sigstore
bundle. glassworks calls its public Python API, so an auditor with nothing but model_signing
installed checks a glassworks bundle with

    model_signing verify key BUNDLE --signature BUNDLE/attestation/model.sig --public_key maintainer.pub

The signature file itself is the one path left out of what it covers; model_signing records
that in the signed payload, and its CLI leaves out the ``--signature`` path on its own. Left
out too, by model_signing's defaults that its CLI also applies: ``.git``, ``.gitattributes``,
``.github`` and ``.gitignore`` at the top; glassworks' own statement covers those, and
``verify_model_signature`` reports what the signature covers so the two can be compared.

That CLI demands the folder be exactly what was signed, so it checks a full bundle, not the
checkout of one revision of a published repository (which lacks the other revisions'
checkpoints and holds revisions.json and a root export). ``verify_model_signature`` checks the
signature with model_signing's verifier and lists the differences file by file, so that
``attest.check_signature`` can judge them against the validated revision map.

ECDSA in model_signing draws a fresh nonce, so model.sig differs between two signings of the
same tree (the glassworks envelope does not): both verify.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import shutil
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from glassworks.errors import GlassworksError
from glassworks.provenance.tree import ATTESTATION_DIR

MODEL_SIG = ATTESTATION_DIR + "model.sig"
PREDICATE = "https://model_signing/signature/v1.0"


@contextmanager
def _key_file(private_key):
    """The key as a PEM file model_signing can read, encrypted with a one-time password:
    its API takes a path, and an unencrypted copy of a release key never touches the disk."""
    from cryptography.hazmat.primitives import serialization

    password = secrets.token_bytes(32)
    folder = tempfile.mkdtemp(prefix="glassworks-key-")
    try:
        path = Path(folder) / "signing.key"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(private_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                   serialization.BestAvailableEncryption(password)))
        yield path, password
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@contextmanager
def _public_file(pem: bytes):
    folder = tempfile.mkdtemp(prefix="glassworks-pub-")
    try:
        path = Path(folder) / "trusted.pub"
        path.write_bytes(pem)
        yield path
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _hashing(skip: tuple[str, ...]):
    from model_signing import hashing

    return hashing.Config().set_ignored_paths(paths=[MODEL_SIG, *(s.rstrip("/") for s in skip)], ignore_git_paths=True)


def sign_model(path: Path, private_key=None, *, keyless: bool = False, skip: tuple[str, ...] = ()) -> Path:
    """Sign every file under ``path`` (but ``skip`` folders and model.sig) with model_signing;
    write ``attestation/model.sig``. ``keyless`` signs through Sigstore (OIDC identity,
    Fulcio certificate, Rekor log entry): it needs the network and a browser or ambient
    credentials, and is not exercised by the tests (they run offline)."""
    from model_signing import signing

    config = signing.Config().set_hashing_config(_hashing(skip))
    target = path / MODEL_SIG
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="glassworks-sig-") as scratch:
        written = Path(scratch) / "model.sig"  # outside the tree while the tree is hashed
        try:
            if keyless:
                config.use_sigstore_signer().sign(path, written)
            else:
                with _key_file(private_key) as (key_path, password):
                    config.use_elliptic_key_signer(private_key=key_path, password=password).sign(path, written)
        except (ValueError, OSError) as exc:
            raise GlassworksError(f"{path}: model_signing could not sign ({exc})") from None
        shutil.copyfile(written, target)
    return target


@dataclass(frozen=True)
class ModelSignatureCheck:
    ok: bool  # the signature verifies and the folder holds exactly the files it signed
    problem: str = ""
    covered: dict[str, str] = field(default_factory=dict)  # file -> sha256, as the verified manifest lists them
    left_out: tuple[str, ...] = ()  # the paths the signature says it does not cover
    signed: bool = False  # the signature itself verifies (whatever the folder holds)
    changed: tuple[str, ...] = ()  # signed files whose bytes differ here
    missing: tuple[str, ...] = ()  # signed files absent here
    extra: tuple[str, ...] = ()  # files here it did not sign (its own ignore rules applied)


def _readable(exc: Exception) -> str:
    return f"{type(exc).__name__}: {exc}".rstrip(": ")[:500]


def describe_difference(changed=(), missing=(), extra=()) -> str:
    """model_signing's refusal of a folder that differs from what it signed, said by file name."""
    parts = [f"{name} changed" for name in changed]
    if extra:
        parts.append("not signed: " + ", ".join(extra))
    if missing:
        parts.append("signed but missing: " + ", ".join(missing))
    return "model_signing refuses it: the files differ from what it signed (" + "; ".join(parts) + ")"


def signed_payload(sig_path: Path) -> dict:
    """The in-toto statement inside a model_signing signature (read as plain JSON; trust it
    only after the signature verified)."""
    bundle = json.loads(sig_path.read_text(encoding="utf-8"))
    return json.loads(base64.b64decode(bundle["dsseEnvelope"]["payload"]))


def _signed_manifest(sig: Path, public_pem: bytes | None, identity: tuple[str, str] | None):
    """The manifest model_signing's verifier returns once the signature checks (raises otherwise).

    model_signing 1.1's public ``verifying.Config.verify`` does this, then hashes the folder
    and demands it match the manifest exactly; a checkout of one published revision lacks the
    checkpoints of the others and holds files publishing adds, so glassworks runs the same
    two verifier classes that ``Config.verify`` builds and compares the files itself."""
    from model_signing._signing import sign_ec_key, sign_sigstore, sign_sigstore_pb

    if identity is not None:
        verifier = sign_sigstore.Verifier(identity=identity[0], oidc_issuer=identity[1])
        return verifier.verify(sign_sigstore.Signature.read(sig))
    with _public_file(public_pem) as key_path:
        verifier = sign_ec_key.Verifier(key_path)
    return verifier.verify(sign_sigstore_pb.Signature.read(sig))


GIT_PATHS = (".git", ".gitattributes", ".github", ".gitignore")  # what model_signing's ignore_git_paths leaves out


def _digests_from(path: Path, present: dict[str, str], ignored) -> dict[str, str]:
    """file -> sha256 of what model_signing would hash here, from the hashes verify already took
    (``present``: every file outside attestation/) plus the few attestation files."""
    from glassworks.provenance.hashing import sha256_file

    skip = {str(p).rstrip("/") for p in ignored} | set(GIT_PATHS) | {MODEL_SIG}

    def kept(rel: str) -> bool:
        return not any(rel == s or rel.startswith(s + "/") for s in skip)

    got = {rel: digest for rel, digest in present.items() if kept(rel)}
    folder = path / ATTESTATION_DIR
    for entry in sorted(folder.iterdir()) if folder.is_dir() else ():
        rel = ATTESTATION_DIR + entry.name
        if entry.is_file() and not entry.is_symlink() and kept(rel):
            got[rel] = sha256_file(entry)[0]
    return got


def verify_model_signature(path: Path, public_pem: bytes | None = None,
                           identity: tuple[str, str] | None = None,
                           present: dict[str, str] | None = None) -> ModelSignatureCheck:
    """Check ``path`` against its model_signing signature with a pinned public key (or, for a
    keyless signature, a signer identity and OIDC issuer: needs the network, untested here):
    model_signing's verifier checks the signature and yields the signed manifest, model_signing's
    hashing (the signed ignore paths, plus ``.git`` and the like) hashes the folder, and each
    file's digest is compared. Never raises on a bad signature. ``ok`` only when the folder is
    exactly what was signed; ``signed`` with ``changed``/``missing``/``extra`` lets a caller
    that knows a published checkout's layout judge the differences (``attest.check_signature``).
    ``present`` (file -> sha256 of every file outside attestation/, as ``audit verify`` hashed
    them) spares hashing the tree a second time when the signature lists plain sha256 digests."""
    sig = path / MODEL_SIG
    if not sig.is_file() or sig.is_symlink():
        return ModelSignatureCheck(False, f"no model_signing signature ({MODEL_SIG}); sign with `glassworks audit sign`")
    try:
        expected = _signed_manifest(sig, public_pem, identity)
    except Exception as exc:  # model_signing raises ValueError, protobuf and cryptography errors alike
        return ModelSignatureCheck(False, "model_signing refuses it: " + _readable(exc))
    try:
        payload = signed_payload(sig)
        left_out = tuple(payload["predicate"]["serialization"].get("ignore_paths", ()))
    except (KeyError, TypeError, ValueError) as exc:
        return ModelSignatureCheck(False, f"verified, but its payload is not model_signing's ({exc})")
    if payload.get("predicateType") != PREDICATE:
        return ModelSignatureCheck(False, f"predicateType {payload.get('predicateType')!r}, not {PREDICATE}")
    want = {rd.identifier: rd.digest for rd in expected.resource_descriptors()}
    ignored = expected.serialization_type.get("ignore_paths", ())
    if present is not None and all(d.algorithm == "sha256" for d in want.values()):
        want = {name: d.digest_hex for name, d in want.items()}
        got = _digests_from(path, present, ignored)
    else:
        hashing_config = _hashing(())
        hashing_config.add_ignored_paths(model_path=path, paths=ignored)
        try:
            got = {rd.identifier: rd.digest for rd in hashing_config.hash(path).resource_descriptors()}
        except Exception as exc:  # a symlink, an unreadable file: model_signing's hashing refuses it
            return ModelSignatureCheck(False, "model_signing refuses it: " + _readable(exc), signed=True)
    covered = {name: (d if isinstance(d, str) else d.digest_hex) for name, d in want.items()
               if isinstance(d, str) or d.algorithm == "sha256"}
    changed = tuple(sorted(n for n in set(want) & set(got) if want[n] != got[n]))
    missing, extra = tuple(sorted(set(want) - set(got))), tuple(sorted(set(got) - set(want)))
    ok = not (changed or missing or extra)
    return ModelSignatureCheck(ok, "" if ok else describe_difference(changed, missing, extra), covered, left_out,
                               True, changed, missing, extra)
