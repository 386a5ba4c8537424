"""The field's tools check a signed glassworks bundle without glassworks: OpenSSF model_signing's
own verifier (its Python API and its CLI), and openssl + jq + sha256sum (docs/auditing.md)."""

import base64
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from glassworks.provenance import verify_run
from glassworks.provenance.model_signing_io import MODEL_SIG
from glassworks.provenance.signing import TrustedKeys, generate_keypair, pae

from .conftest import REPO


def flip(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))


def model_signing_verify(bundle: Path, public_key: Path) -> None:
    """model_signing's verifier configured exactly as its `verify key` command configures it."""
    from model_signing import hashing, verifying

    verifying.Config().use_elliptic_key_verifier(public_key=public_key).set_hashing_config(
        hashing.Config().set_ignored_paths(paths=[MODEL_SIG], ignore_git_paths=True)
    ).verify(bundle, bundle / MODEL_SIG)


def test_model_signing_verifies_the_bundle_and_refuses_a_flipped_byte(signed_bundle, maintainer, tmp_path):
    model_signing_verify(signed_bundle, Path(maintainer[1]))
    other = generate_keypair(tmp_path / "keys", "other")
    with pytest.raises(ValueError, match="Key mismatch"):
        model_signing_verify(signed_bundle, other[1])
    flip(signed_bundle / "checkpoints" / "final" / "model.safetensors")
    with pytest.raises(ValueError, match="Hash mismatch for 'checkpoints/final/model.safetensors'"):
        model_signing_verify(signed_bundle, Path(maintainer[1]))
    # glassworks' verify runs the same verifier and says what it found
    report = verify_run(signed_bundle, trusted=TrustedKeys.from_args((maintainer[1],)))
    assert any(f.subject == MODEL_SIG and f.status == "fail" and
               "the files differ from what it signed (checkpoints/final/model.safetensors changed)" in f.detail
               for f in report.findings), [f.line() for f in report.failures]


def test_a_signature_covers_the_attestation_and_every_file(signed_release):
    bundle = json.loads((signed_release / MODEL_SIG).read_text())
    payload = json.loads(base64.b64decode(bundle["dsseEnvelope"]["payload"]))
    names = {r["name"] for r in payload["predicate"]["resources"]}
    files = {p.relative_to(signed_release).as_posix() for p in signed_release.rglob("*") if p.is_file()}
    assert names == files - {MODEL_SIG}
    assert "attestation/provenance.dsse.json" in names and "model.yml" in names


def test_model_signing_cli_verifies_the_bundle(signed_bundle, maintainer):
    cli = Path(sys.executable).parent / "model_signing"
    if not cli.exists():
        pytest.skip("model_signing's console script is not installed next to this Python")
    argv = [str(cli), "verify", "key", str(signed_bundle), "--signature", str(signed_bundle / MODEL_SIG),
            "--public_key", str(maintainer[1])]
    done = subprocess.run(argv, capture_output=True, text=True)
    assert done.returncode == 0 and "Verification succeeded" in done.stdout, done.stderr
    flip(signed_bundle / "model.yml")
    done = subprocess.run(argv, capture_output=True, text=True)
    assert done.returncode == 1 and re.search(r"Hash mismatch for \\*'model\.yml", done.stderr), done.stderr


def test_the_envelope_checks_with_cryptography_alone(signed_release, maintainer):
    """What the shell recipe does, in Python with cryptography only: PAE, ECDSA, then hashes."""
    import hashlib

    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    key = serialization.load_pem_public_key(Path(maintainer[1]).read_bytes())
    for file, inner in (("attestation/provenance.dsse.json", None), (MODEL_SIG, "dsseEnvelope")):
        envelope = json.loads((signed_release / file).read_text())
        envelope = envelope[inner] if inner else envelope
        payload = base64.b64decode(envelope["payload"])
        key.verify(base64.b64decode(envelope["signatures"][0]["sig"]), pae(envelope["payloadType"], payload),
                   ec.ECDSA(hashes.SHA256()))
    statement = json.loads(base64.b64decode(json.loads((signed_release / "attestation/provenance.dsse.json")
                                                       .read_text())["payload"]))
    for subject in statement["subject"]:
        assert hashlib.sha256((signed_release / subject["name"]).read_bytes()).hexdigest() == subject["digest"]["sha256"]


def neither_script() -> str:
    text = (REPO / "docs" / "auditing.md").read_text()
    return re.search(r"## With neither.*?```sh\n(.*?)```", text, re.S).group(1)


@pytest.mark.skipif(not all(shutil.which(t) for t in ("bash", "openssl", "jq", "sha256sum", "base64", "comm")),
                    reason="the shell recipe needs bash, openssl, jq and coreutils")
def test_the_shell_recipe_of_the_docs_checks_the_bundle(signed_bundle, maintainer):
    env = {"BUNDLE": str(signed_bundle), "PUB": str(Path(maintainer[1]).resolve()), "PATH": "/usr/bin:/bin"}
    done = subprocess.run(["bash", "-c", neither_script()], capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count("Verified OK") == 2 and maintainer[2] in done.stdout
    (signed_bundle / "hf" / "added.txt").write_text("not signed\n")
    done = subprocess.run(["bash", "-c", neither_script()], capture_output=True, text=True, env=env)
    assert done.returncode == 1 and "hf/added.txt" in done.stdout
    (signed_bundle / "hf" / "added.txt").unlink()
    flip(signed_bundle / "hf" / "model.safetensors")
    done = subprocess.run(["bash", "-c", neither_script()], capture_output=True, text=True, env=env)
    assert done.returncode == 1 and "hf/model.safetensors: FAILED" in done.stdout
