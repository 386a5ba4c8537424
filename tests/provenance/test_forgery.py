"""Forgeries of a signed bundle, as an attacker without the maintainer's key would make them:
each fails `audit verify` by default and the output says why; the honest bundle passes."""

import json
import shutil
from pathlib import Path

import pytest

from glassworks.cli import main
from glassworks.provenance.attest import UNSIGNED, sign_tree
from glassworks.provenance.hashing import merkle_root, sha256_file
from glassworks.provenance.manifest import manifest_digest, manifest_id
from glassworks.provenance.signing import generate_keypair, load_private_key

TEXT = (".json", ".jsonl", ".yml", ".yaml", ".md", ".txt", ".html", ".toml")


@pytest.fixture(scope="module")
def forger(tmp_path_factory):
    return generate_keypair(tmp_path_factory.mktemp("keys"), "forger")


def audit(capsys, path: Path, *args) -> tuple[int, list[str]]:
    code = main(["audit", "verify", str(path), *map(str, args)])
    captured = capsys.readouterr()
    return code, (captured.out + captured.err).splitlines()


def rewrite_chain(bundle: Path) -> None:
    """Claim a better held-out loss and make the whole record agree: the results file, the
    manifests that record it, every manifest whose id changes as a result, and every file that
    names one of those ids, until nothing is left inconsistent."""
    results = bundle / "eval" / "final" / "results.json"
    value = json.loads(results.read_text())
    value["results"]["heldout_bytes"]["loss,none"] = 0.01
    results.write_text(json.dumps(value, indent=1))
    while _rewrite_one(bundle):
        pass


def _rewrite_one(bundle: Path) -> bool:
    for path in sorted((bundle / "manifests").glob("*.json")):
        m = json.loads(path.read_text())
        for side in ("inputs", "outputs"):
            files = m[side]["files"]
            for rec in files:
                target = bundle / rec["path"]
                if rec.get("root", "run") == "run" and target.is_file():
                    rec["sha256"], rec["bytes"] = sha256_file(target)
            m[side].update(count=len(files), bytes=sum(f["bytes"] for f in files), merkle_root=merkle_root(files))
        if manifest_digest(m) == m["digest"]:
            continue
        old = m["id"]
        m["digest"] = manifest_digest(m)
        m["id"] = manifest_id(m["stage"]["name"], m["digest"])
        path.unlink()
        (bundle / "manifests" / f"{m['id']}.json").write_text(json.dumps(m, indent=1))
        for other in bundle.rglob("*"):
            if other.is_file() and other.suffix in TEXT and "attestation" not in other.parts:
                text = other.read_text(encoding="utf-8")
                if old in text:
                    other.write_text(text.replace(old, m["id"]), encoding="utf-8")
        return True
    return False


def test_the_honest_signed_bundle_verifies_with_the_pinned_key(signed_bundle, maintainer, capsys):
    code, out = audit(capsys, signed_bundle, "--trusted-key", maintainer[1])
    assert code == 0, out
    assert out[-1].startswith("VERIFIED") and "(trusted)" in out[-1] and not out[0].startswith("AUTHENTICITY")
    assert audit(capsys, signed_bundle, "--trusted-fingerprint", maintainer[2])[0] == 0


def test_a_chain_rewritten_consistently_on_an_unsigned_bundle_fails(bundle, capsys):
    rewrite_chain(bundle)
    code, out = audit(capsys, bundle, "--allow-unsigned")
    assert code == 0, out  # every hash, link and count agrees: integrity alone cannot see this forgery
    assert out[0].startswith("AUTHENTICITY NOT CHECKED")
    code, out = audit(capsys, bundle)
    assert code == 1 and f"FAIL signature attestation/: {UNSIGNED}" in out


def test_resigned_by_another_key_fails(signed_bundle, maintainer, forger, capsys):
    rewrite_chain(signed_bundle)
    sign_tree(signed_bundle, load_private_key(forger[0]))
    code, out = audit(capsys, signed_bundle, "--trusted-key", maintainer[1])
    assert code == 1 and any(f"signed by {forger[2]}, which is not a trusted key" in line for line in out), out
    code, out = audit(capsys, signed_bundle)  # no key named: the key inside the bundle is not enough
    assert code == 1 and any("verifies only with the key shipped inside the bundle" in line for line in out), out


def test_a_stripped_signature_fails(signed_bundle, maintainer, capsys):
    rewrite_chain(signed_bundle)
    shutil.rmtree(signed_bundle / "attestation")
    code, out = audit(capsys, signed_bundle)
    assert code == 1 and f"FAIL signature attestation/: {UNSIGNED}" in out
    code, out = audit(capsys, signed_bundle, "--trusted-key", maintainer[1])
    assert code == 1 and any("not signed, but the auditor named a trusted key" in line for line in out)


def test_a_swapped_key_fails(signed_bundle, maintainer, forger, capsys):
    rewrite_chain(signed_bundle)
    shutil.copyfile(forger[1], signed_bundle / "attestation" / "signing.pub")
    code, out = audit(capsys, signed_bundle, "--trusted-fingerprint", maintainer[2])
    assert code == 1 and any("key swapped, or the signature forged" in line for line in out), out
    code, out = audit(capsys, signed_bundle)
    assert code == 1 and any("the signature is forged, or the key was swapped" in line for line in out), out


def test_the_attestation_of_another_bundle_replayed_fails(signed_bundle, manifests_bundle, maintainer, tmp_path,
                                                          capsys):
    other = tmp_path / "other"
    shutil.copytree(manifests_bundle, other)
    sign_tree(other, load_private_key(maintainer[0]))  # a genuine signature by the same maintainer, of other files
    shutil.rmtree(signed_bundle / "attestation")
    shutil.copytree(other / "attestation", signed_bundle / "attestation")
    code, out = audit(capsys, signed_bundle, "--trusted-key", maintainer[1])
    assert code == 1
    assert any("an attestation of another bundle or run (replayed)" in line for line in out), out
    assert any(line.startswith("FAIL signature attestation/model.sig: model_signing refuses it") for line in out)
