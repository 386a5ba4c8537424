"""EC signing of a bundle: an in-toto/SLSA statement that verify checks against a pinned key."""

import base64
import hashlib
import json
import shutil
import stat

import pytest

from glassworks.cli import main
from glassworks.errors import GlassworksError
from glassworks.provenance import verify_run
from glassworks.provenance.attest import (BUILD_TYPE_DOC, ENVELOPE, PREDICATE_TYPE, PUBLIC_KEY, STATEMENT,
                                          STATEMENT_TYPE, sign_tree)
from glassworks.provenance.manifest import manifest_digest
from glassworks.provenance.model_signing_io import MODEL_SIG
from glassworks.provenance.signing import TrustedKeys, generate_keypair, load_private_key, pae

from .conftest import REPO, REPOSITORY


@pytest.fixture(scope="module")
def other(tmp_path_factory):
    return generate_keypair(tmp_path_factory.mktemp("keys"), "other")


def signed(bundle, key):
    private, public, fp = key
    sign_tree(bundle, load_private_key(private))
    return TrustedKeys.from_args((public,))


def test_keygen_writes_an_ec_p256_key_kept_private(tmp_path, capsys):
    from cryptography.hazmat.primitives import serialization

    assert main(["audit", "keygen", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert stat.S_IMODE((tmp_path / "signing.key").stat().st_mode) == 0o600
    key = serialization.load_pem_public_key((tmp_path / "signing.pub").read_bytes())
    assert key.curve.name == "secp256r1"
    der = key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    assert f"fingerprint: SHA256:{hashlib.sha256(der).hexdigest()}" in out  # what openssl + sha256sum print
    assert main(["audit", "keygen", "--out", str(tmp_path)]) == 1
    assert "refusing to overwrite a key" in capsys.readouterr().err


def test_an_ed25519_key_is_refused_with_the_way_out(tmp_path):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519

    path = tmp_path / "old.key"
    path.write_bytes(ed25519.Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    with pytest.raises(GlassworksError, match="not an EC key.*audit keygen"):
        load_private_key(path)


def test_statement_is_in_toto_v1_with_slsa_provenance_of_every_file(signed_release, maintainer):
    bundle = signed_release
    statement = json.loads((bundle / STATEMENT).read_text())
    assert statement["_type"] == STATEMENT_TYPE and statement["predicateType"] == PREDICATE_TYPE
    names = {s["name"]: s["digest"]["sha256"] for s in statement["subject"]}
    assert "model.yml" in names and "checkpoints/final/model.safetensors" in names
    manifests = len(list((bundle / "manifests").glob("*.json")))
    assert sum(n.startswith("manifests/") for n in names) == manifests and not any(n.startswith("attestation/") for n in names)
    build = statement["predicate"]["buildDefinition"]
    assert {d.get("name") for d in build["resolvedDependencies"]} >= {"glassworks source", "data:web/sphinx-docs.warc.gz"}
    assert len(build["externalParameters"]["stages"]) == manifests
    # the builder is the repository at the commit of the code archive the bundle ships
    commit = next(d["digest"]["gitCommit"] for d in build["resolvedDependencies"] if d.get("name") == "glassworks source")
    assert statement["predicate"]["runDetails"]["builder"]["id"] == f"{REPOSITORY}@{commit}"
    assert any(p.name.startswith("code") for p in bundle.iterdir())
    assert build["buildType"] == f"{REPOSITORY}/blob/main/{BUILD_TYPE_DOC}" and (REPO / BUILD_TYPE_DOC).is_file()
    source = next(d for d in build["resolvedDependencies"] if d.get("name") == "glassworks source")
    assert source["uri"] == f"git+{REPOSITORY}@{commit}"
    envelope = json.loads((bundle / ENVELOPE).read_text())
    assert json.loads(base64.b64decode(envelope["payload"])) == statement
    assert envelope["signatures"][0]["keyid"] == maintainer[2]
    report = verify_run(bundle, trusted=TrustedKeys.from_args((maintainer[1],)))
    assert report.ok and report.signer == maintainer[2] and report.signer_pinned and report.authenticity == "verified"
    assert not [f for f in report.findings if f.status == "warn" and f.check == "signature"]
    assert "signed by SHA256:" in report.summary() and "(trusted)" in report.summary() and report.headline() is None


def test_signing_is_deterministic(signed_bundle, maintainer):
    first = (signed_bundle / ENVELOPE).read_bytes()
    signed(signed_bundle, maintainer)
    assert (signed_bundle / ENVELOPE).read_bytes() == first


def test_signing_needs_a_repository_url(bundle, maintainer, tmp_path):
    text = (bundle / "model.yml").read_text()
    (bundle / "model.yml").write_text("\n".join(line for line in text.splitlines() if "repository:" not in line))
    with pytest.raises(GlassworksError, match="set `repository:` in the release config"):
        signed(bundle, maintainer)
    with pytest.raises(GlassworksError, match="must be an https:// URL"):
        sign_tree(bundle, load_private_key(maintainer[0]), repository="git@host:x.git")


def test_forged_signature_is_caught(signed_bundle, maintainer):
    trusted = TrustedKeys.from_args((maintainer[1],))
    envelope = json.loads((signed_bundle / ENVELOPE).read_text())
    sig = bytearray(base64.b64decode(envelope["signatures"][0]["sig"]))
    sig[-1] ^= 0x01
    envelope["signatures"][0]["sig"] = base64.b64encode(bytes(sig)).decode()
    (signed_bundle / ENVELOPE).write_text(json.dumps(envelope))
    lines = [f.line() for f in verify_run(signed_bundle, trusted=trusted).failures]
    assert any(line.startswith(f"FAIL signature {ENVELOPE}: no signature verifies") for line in lines), lines


def test_statement_edited_without_the_key_is_caught(signed_bundle, maintainer):
    envelope = json.loads((signed_bundle / ENVELOPE).read_text())
    statement = json.loads(base64.b64decode(envelope["payload"]))
    statement["subject"] = statement["subject"][1:]  # drop a file from what the signature covers
    envelope["payload"] = base64.b64encode(json.dumps(statement).encode()).decode()
    (signed_bundle / ENVELOPE).write_text(json.dumps(envelope))
    report = verify_run(signed_bundle, trusted=TrustedKeys.from_args((maintainer[1],)))
    assert not report.ok and report.authenticity == "failed"


def test_manifest_forged_after_signing_is_named(signed_bundle, maintainer):
    trusted = TrustedKeys.from_args((maintainer[1],))
    path = next((signed_bundle / "manifests").glob("eval-*.json"))
    forged = json.loads(path.read_text())
    forged["counts"]["in"] = forged["counts"]["kept"] = 3
    forged["digest"] = manifest_digest(forged)
    forged["id"] = f"eval-{forged['digest'][:16]}"
    path.unlink()
    (signed_bundle / "manifests" / f"{forged['id']}.json").write_text(json.dumps(forged))
    lines = [f.line() for f in verify_run(signed_bundle, trusted=trusted).failures]
    assert any(f"FAIL signature manifests/{path.name}: signed file is missing" in line for line in lines)
    assert any(f"FAIL signature manifests/{forged['id']}.json: not covered by the signature" in line for line in lines)
    assert any(line.startswith(f"FAIL signature {MODEL_SIG}: model_signing refuses it") for line in lines)


def test_allow_unsigned_checks_integrity_and_says_authenticity_was_not(signed_bundle, other):
    signed(signed_bundle, other)  # re-signed by someone: with --allow-unsigned only a warning remains
    report = verify_run(signed_bundle, allow_unsigned=True)
    assert report.ok and report.authenticity == "not checked" and report.headline().startswith("AUTHENTICITY NOT CHECKED")
    assert any(f.status == "warn" and other[2] in f.detail and "pin it" in f.detail for f in report.findings)
    assert not verify_run(signed_bundle, allow_unsigned=True, strict=True).ok


def test_pinned_key_on_an_unsigned_bundle_fails_and_fingerprints_work(bundle, maintainer):
    assert not verify_run(bundle, trusted=TrustedKeys.from_args((maintainer[1],))).ok
    signed(bundle, maintainer)
    assert verify_run(bundle, trusted=TrustedKeys.from_args(fingerprints=(maintainer[2],))).ok
    with pytest.raises(GlassworksError, match="64 hex digits"):
        TrustedKeys.from_args(fingerprints=("SHA256:abc",))
    with pytest.raises(GlassworksError, match="needs --oidc-issuer"):
        TrustedKeys.from_args(identities=("someone@example.org",))


def test_extra_file_in_attestation_and_added_artifact_are_caught(signed_bundle, maintainer):
    (signed_bundle / "attestation" / "other.sig").write_text("x")
    (signed_bundle / "checkpoints" / "final" / "extra.json").write_text("{}")
    lines = [f.line() for f in verify_run(signed_bundle, trusted=TrustedKeys.from_args((maintainer[1],))).failures]
    assert any("attestation/other.sig: unexpected in attestation/" in line for line in lines)
    assert any("checkpoints/final/extra.json: not covered by the signature" in line for line in lines)


def test_cli_sign_and_verify_run_directory(corpus_run, tmp_path, maintainer, capsys):
    run = tmp_path / "run"
    shutil.copytree(corpus_run, run)
    (run / "logs").mkdir(exist_ok=True)
    assert main(["audit", "sign", str(run), "--key", str(maintainer[0])]) == 1
    assert "--repository URL" in capsys.readouterr().err  # a run has no model.yml to name its repository
    assert main(["audit", "sign", str(run), "--key", str(maintainer[0]), "--repository", REPOSITORY]) == 0
    assert f"with {maintainer[2]}" in capsys.readouterr().out
    assert (run / PUBLIC_KEY).is_file() and (run / MODEL_SIG).is_file()
    (run / "logs" / "later.log").write_text("a log written after signing is not part of the record\n")
    argv = ["audit", "verify", str(run), "--unchecked-root", "data", "--trusted-key", str(maintainer[1]), "--json"]
    assert main(argv) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["signer_pinned"] is True and report["checks"]["signature"]["pass"] > 0
    assert report["authenticity"] == "verified"
    # a run directory without a pinned key verifies (integrity), and the first line says what was not checked
    assert main(["audit", "verify", str(run), "--unchecked-root", "data"]) == 0
    assert capsys.readouterr().out.splitlines()[0].startswith("AUTHENTICITY NOT CHECKED (a run directory")
    assert pae("t", b"ab") == b"DSSEv1 1 t 2 ab"
