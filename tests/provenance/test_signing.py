"""ed25519 signing of a bundle: an in-toto/SLSA statement that verify checks against a pinned key."""

import base64
import json
import stat

import pytest

from glassworks.cli import main
from glassworks.errors import GlassworksError
from glassworks.provenance import verify_run
from glassworks.provenance.attest import ENVELOPE, PREDICATE_TYPE, PUBLIC_KEY, STATEMENT, STATEMENT_TYPE, sign_tree
from glassworks.provenance.manifest import manifest_digest
from glassworks.provenance.signing import TrustedKeys, generate_keypair, load_private_key, pae


@pytest.fixture(scope="module")
def keys(tmp_path_factory):
    folder = tmp_path_factory.mktemp("keys")
    maintainer = generate_keypair(folder, "maintainer")
    other = generate_keypair(folder, "other")
    return maintainer, other


def signed(bundle, key):
    private, public, fp = key
    sign_tree(bundle, load_private_key(private))
    return TrustedKeys.from_args((public,))


def test_keygen_refuses_to_overwrite_and_keeps_the_key_private(tmp_path, capsys):
    assert main(["audit", "keygen", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "fingerprint: SHA256:" in out
    assert stat.S_IMODE((tmp_path / "signing.key").stat().st_mode) == 0o600
    assert main(["audit", "keygen", "--out", str(tmp_path)]) == 1
    assert "refusing to overwrite a key" in capsys.readouterr().err


def test_statement_is_in_toto_v1_with_slsa_provenance_of_every_file(bundle, keys):
    trusted = signed(bundle, keys[0])
    statement = json.loads((bundle / STATEMENT).read_text())
    assert statement["_type"] == STATEMENT_TYPE and statement["predicateType"] == PREDICATE_TYPE
    names = {s["name"]: s["digest"]["sha256"] for s in statement["subject"]}
    assert "model.yml" in names and "checkpoints/final/model.safetensors" in names
    manifests = len(list((bundle / "manifests").glob("*.json")))
    assert sum(n.startswith("manifests/") for n in names) == manifests and not any(n.startswith("attestation/") for n in names)
    build = statement["predicate"]["buildDefinition"]
    assert {d.get("name") for d in build["resolvedDependencies"]} >= {"glassworks source", "data:web/sphinx-docs.warc.gz"}
    assert len(build["externalParameters"]["stages"]) == manifests
    assert statement["predicate"]["runDetails"]["builder"]["id"].startswith("https://")
    envelope = json.loads((bundle / ENVELOPE).read_text())
    assert json.loads(base64.b64decode(envelope["payload"])) == statement
    assert envelope["signatures"][0]["keyid"] == keys[0][2]
    report = verify_run(bundle, trusted=trusted)
    assert report.ok and report.signer == keys[0][2] and report.signer_pinned
    assert not [f for f in report.findings if f.status == "warn" and f.check == "signature"]
    assert "signed by SHA256:" in report.summary() and "(trusted)" in report.summary()


def test_signing_is_deterministic(bundle, keys):
    signed(bundle, keys[0])
    first = (bundle / ENVELOPE).read_bytes()
    signed(bundle, keys[0])
    assert (bundle / ENVELOPE).read_bytes() == first


def test_forged_signature_is_caught(bundle, keys):
    trusted = signed(bundle, keys[0])
    envelope = json.loads((bundle / ENVELOPE).read_text())
    sig = bytearray(base64.b64decode(envelope["signatures"][0]["sig"]))
    sig[0] ^= 0x01
    envelope["signatures"][0]["sig"] = base64.b64encode(bytes(sig)).decode()
    (bundle / ENVELOPE).write_text(json.dumps(envelope))
    lines = [f.line() for f in verify_run(bundle, trusted=trusted).failures]
    assert any(line.startswith(f"FAIL signature {ENVELOPE}: no signature verifies") for line in lines), lines


def test_statement_edited_without_the_key_is_caught(bundle, keys):
    trusted = signed(bundle, keys[0])
    envelope = json.loads((bundle / ENVELOPE).read_text())
    statement = json.loads(base64.b64decode(envelope["payload"]))
    statement["subject"] = statement["subject"][1:]  # drop a file from what the signature covers
    envelope["payload"] = base64.b64encode(json.dumps(statement).encode()).decode()
    (bundle / ENVELOPE).write_text(json.dumps(envelope))
    assert not verify_run(bundle, trusted=trusted).ok


def test_manifest_forged_and_resigned_with_another_key_is_refused(bundle, keys):
    trusted = signed(bundle, keys[0])
    path = next((bundle / "manifests").glob("eval-*.json"))
    forged = json.loads(path.read_text())
    forged["counts"]["in"] = forged["counts"]["kept"] = 3
    forged["digest"] = manifest_digest(forged)
    forged["id"] = f"eval-{forged['digest'][:16]}"
    path.unlink()
    (bundle / "manifests" / f"{forged['id']}.json").write_text(json.dumps(forged))
    # forged after signing: the signature no longer covers the manifest set
    lines = [f.line() for f in verify_run(bundle, trusted=trusted).failures]
    assert any(f"FAIL signature manifests/{path.name}: signed file is missing" in line for line in lines)
    assert any(f"FAIL signature manifests/{forged['id']}.json: not covered by the signature" in line for line in lines)
    # re-signed by the forger, who also replaces the public key that travels with the bundle
    signed(bundle, keys[1])
    report = verify_run(bundle, trusted=trusted)
    assert any(f.check == "signature" and f"signed by {keys[1][2]}, which is not a trusted key" in f.detail
               for f in report.failures)
    # without a pinned key the signature holds, but verify says the key is not pinned (and --strict fails)
    loose = verify_run(bundle)
    assert any(f.status == "warn" and keys[1][2] in f.detail and "pin it" in f.detail for f in loose.findings)
    assert not verify_run(bundle, strict=True).ok


def test_pinned_key_on_an_unsigned_bundle_fails_and_fingerprints_work(bundle, keys):
    assert not verify_run(bundle, trusted=TrustedKeys.from_args((keys[0][1],))).ok
    signed(bundle, keys[0])
    assert verify_run(bundle, trusted=TrustedKeys.from_args(fingerprints=(keys[0][2],))).ok
    with pytest.raises(GlassworksError, match="64 hex digits"):
        TrustedKeys.from_args(fingerprints=("SHA256:abc",))


def test_extra_file_in_attestation_and_added_artifact_are_caught(bundle, keys):
    trusted = signed(bundle, keys[0])
    (bundle / "attestation" / "other.sig").write_text("x")
    (bundle / "checkpoints" / "final" / "extra.json").write_text("{}")
    lines = [f.line() for f in verify_run(bundle, trusted=trusted).failures]
    assert any("attestation/other.sig: unexpected in attestation/" in line for line in lines)
    assert any("checkpoints/final/extra.json: not covered by the signature" in line for line in lines)


def test_cli_sign_and_verify_run_directory(corpus_run, tmp_path, keys, capsys):
    import shutil

    run = tmp_path / "run"
    shutil.copytree(corpus_run, run)
    assert main(["audit", "sign", str(run), "--key", str(keys[0][0])]) == 0
    assert f"with {keys[0][2]}" in capsys.readouterr().out
    assert (run / PUBLIC_KEY).is_file()
    argv = ["audit", "verify", str(run), "--unchecked-root", "data", "--trusted-key", str(keys[0][1]), "--json"]
    assert main(argv) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["signer_pinned"] is True and report["checks"]["signature"]["pass"] > 0
    assert pae("t", b"ab") == b"DSSEv1 1 t 2 ab"
