"""EC keys and DSSE envelopes: who vouches for a statement, checkable by anyone.

A signature is made over the DSSE pre-authentication encoding (PAE) of the payload and
its type, as in-toto attestations are signed, so a signature over one payload type can
never be replayed as another. Keys are EC (P-256 by default; P-384 and P-521 are read
too): the curves OpenSSF model_signing signs and verifies with, so one key signs both the
glassworks attestation and the model_signing signature, and an auditor pins one key.
ECDSA signatures here are deterministic (RFC 6979): the same statement and key give the
same envelope bytes. Keys are PEM files written by ``generate_keypair``: the private key
(PKCS#8, optionally encrypted with a passphrase) stays with the maintainer, the public key
(SubjectPublicKeyInfo) travels with what it signed.

A signature only says *which key* signed. Anyone who can rewrite a bundle can also replace
its public key and re-sign, so the key that travels with the bundle is never trusted on its
own: an auditor pins the maintainer's key (file or fingerprint) obtained elsewhere. The
fingerprint is ``SHA256:`` + the sha256 of the key's DER SubjectPublicKeyInfo, which
``openssl pkey -pubin -in KEY.pub -outform DER | sha256sum`` reproduces.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

from glassworks.errors import GlassworksError
from glassworks.provenance.atomic import atomic_write_bytes

PAYLOAD_TYPE = "application/vnd.in-toto+json"
MAX_ENVELOPE_BYTES = 256 << 20  # a statement for 10 000 files is ~2 MB; refuse absurd sizes before parsing
CURVES = ("secp256r1", "secp384r1", "secp521r1")  # the curves model_signing accepts


def _crypto():
    """cryptography is imported on use: `glassworks --help` must stay light."""
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    return serialization, ec, hashes


def pae(payload_type: str, payload: bytes) -> bytes:
    """DSSE v1 pre-authentication encoding: 'DSSEv1 <len> <type> <len> <body>'."""
    kind = payload_type.encode("utf-8")
    return b"DSSEv1 %d %s %d %s" % (len(kind), kind, len(payload), payload)


def fingerprint(public_key) -> str:
    serialization, _, _ = _crypto()
    der = public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return "SHA256:" + hashlib.sha256(der).hexdigest()


def public_pem(public_key) -> bytes:
    serialization, _, _ = _crypto()
    return public_key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def _ecdsa(public_key, deterministic: bool = False):
    """ECDSA with the hash that matches the curve (as model_signing and Sigstore pair them)."""
    _, ec, hashes = _crypto()
    digest = {256: hashes.SHA256, 384: hashes.SHA384, 521: hashes.SHA512}[public_key.curve.key_size]()
    return ec.ECDSA(digest, deterministic_signing=True) if deterministic else ec.ECDSA(digest)


def _check_key_type(key, origin: str, public: bool) -> None:
    _, ec, _ = _crypto()
    kind = ec.EllipticCurvePublicKey if public else ec.EllipticCurvePrivateKey
    if not isinstance(key, kind):
        what = type(key).__name__.removeprefix("_").replace("PrivateKey", "").replace("PublicKey", "")
        raise GlassworksError(f"{origin}: an {what} key, not an EC key; glassworks signs with EC P-256 keys, which "
                              "OpenSSF model_signing verifies (make one with `glassworks audit keygen`)")
    if key.curve.name not in CURVES:
        raise GlassworksError(f"{origin}: EC curve {key.curve.name} is not one of {', '.join(CURVES)}")


def generate_keypair(directory: str | Path, name: str = "signing", passphrase: bytes | None = None) -> tuple[Path, Path, str]:
    """Write ``<name>.key`` (private, mode 0600) and ``<name>.pub`` (an EC P-256 pair) into ``directory``.

    Refuses to overwrite an existing key: losing a release key cannot be undone.
    Returns (private path, public path, fingerprint).
    """
    serialization, ec, _ = _crypto()
    directory = Path(directory)
    private_path, public_path = directory / f"{name}.key", directory / f"{name}.pub"
    for path in (private_path, public_path):
        if path.exists():
            raise GlassworksError(f"{path}: already exists; refusing to overwrite a key")
    directory.mkdir(parents=True, exist_ok=True)
    key = ec.generate_private_key(ec.SECP256R1())
    encryption = (serialization.BestAvailableEncryption(passphrase) if passphrase
                  else serialization.NoEncryption())
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption)
    fd = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(private)
    atomic_write_bytes(public_path, public_pem(key.public_key()))
    return private_path, public_path, fingerprint(key.public_key())


def load_private_key(path: str | Path, passphrase: bytes | None = None):
    serialization, _, _ = _crypto()
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise GlassworksError(f"{path}: cannot read the signing key ({exc.strerror})") from None
    try:
        key = serialization.load_pem_private_key(data, password=passphrase)
    except TypeError:
        raise GlassworksError(f"{path}: the key is encrypted; give its passphrase (--passphrase-env)") from None
    except ValueError as exc:
        raise GlassworksError(f"{path}: not a PEM private key, or a wrong passphrase ({exc})") from None
    _check_key_type(key, str(path), public=False)
    return key


def parse_public_key(data: bytes, origin: str):
    serialization, _, _ = _crypto()
    try:
        key = serialization.load_pem_public_key(data)
    except ValueError as exc:
        raise GlassworksError(f"{origin}: not a PEM public key ({exc})") from None
    _check_key_type(key, origin, public=True)
    return key


def load_public_key(path: str | Path):
    path = Path(path)
    try:
        return parse_public_key(path.read_bytes(), str(path))
    except OSError as exc:
        raise GlassworksError(f"{path}: cannot read the public key ({exc.strerror})") from None


@dataclass(frozen=True)
class TrustedKeys:
    """What an auditor accepts as the maintainer: public keys (by fingerprint, and the key
    itself when given as a file) and, for Sigstore keyless signatures, (identity, OIDC issuer)
    pairs. Empty means nothing is pinned."""

    fingerprints: frozenset[str] = frozenset()
    keys: tuple[bytes, ...] = ()  # PEM of the keys given as files
    identities: tuple[tuple[str, str], ...] = ()  # (signer identity, OIDC issuer URL)

    @classmethod
    def from_args(cls, key_files: tuple[str | Path, ...] = (), fingerprints: tuple[str, ...] = (),
                  identities: tuple[str, ...] = (), oidc_issuer: str | None = None) -> TrustedKeys:
        keys = [load_public_key(p) for p in key_files]
        found = {fingerprint(k) for k in keys}
        for value in fingerprints:
            value = value.strip()
            hexpart = value.removeprefix("SHA256:").lower()
            if len(hexpart) != 64 or any(c not in "0123456789abcdef" for c in hexpart):
                raise GlassworksError(f"{value!r}: a key fingerprint is SHA256: followed by 64 hex digits")
            found.add("SHA256:" + hexpart)
        if identities and not oidc_issuer:
            raise GlassworksError("--trusted-identity needs --oidc-issuer (the issuer of the signer's identity, "
                                  "e.g. https://github.com/login/oauth)")
        return cls(frozenset(found), tuple(public_pem(k) for k in keys),
                   tuple((identity, oidc_issuer) for identity in identities))

    @property
    def pinned(self) -> bool:
        return bool(self.fingerprints or self.identities)

    def public_keys(self) -> list:
        return [parse_public_key(pem, "trusted key") for pem in self.keys]


def sign_envelope(payload: bytes, private_key, payload_type: str = PAYLOAD_TYPE) -> dict:
    """A DSSE envelope holding ``payload`` with one deterministic ECDSA signature (DER);
    keyid is the signer's fingerprint."""
    signature = private_key.sign(pae(payload_type, payload), _ecdsa(private_key.public_key(), deterministic=True))
    return {
        "payload": base64.b64encode(payload).decode("ascii"),
        "payloadType": payload_type,
        "signatures": [{"keyid": fingerprint(private_key.public_key()),
                        "sig": base64.b64encode(signature).decode("ascii")}],
    }


@dataclass(frozen=True)
class EnvelopeCheck:
    """What checking an envelope against a public key found."""

    payload: bytes | None  # the payload, when the envelope is well formed
    valid: bool  # a signature by ``key_fingerprint`` verifies over the payload
    key_fingerprint: str
    problem: str = ""


def read_envelope(path: Path) -> dict:
    """Parse a DSSE envelope file; GlassworksError names the file and what is wrong."""
    try:
        size = path.stat().st_size
        if size > MAX_ENVELOPE_BYTES:
            raise GlassworksError(f"{path}: {size} bytes is too large for a signature envelope")
        envelope = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise GlassworksError(f"{path}: not a readable DSSE envelope ({exc})") from None
    if not isinstance(envelope, dict) or not isinstance(envelope.get("payload"), str) \
            or not isinstance(envelope.get("payloadType"), str) or not isinstance(envelope.get("signatures"), list):
        raise GlassworksError(f"{path}: a DSSE envelope needs payload, payloadType and signatures")
    return envelope


def check_envelope(envelope: dict, public_key, payload_type: str = PAYLOAD_TYPE) -> EnvelopeCheck:
    """Does some signature of the envelope verify with ``public_key``? Never raises on bad input."""
    from cryptography.exceptions import InvalidSignature

    key_fp = fingerprint(public_key)
    if envelope.get("payloadType") != payload_type:
        return EnvelopeCheck(None, False, key_fp, f"payloadType is {envelope.get('payloadType')!r}, not {payload_type}")
    try:
        payload = base64.b64decode(envelope["payload"], validate=True)
    except (ValueError, TypeError):
        return EnvelopeCheck(None, False, key_fp, "payload is not valid base64")
    message = pae(payload_type, payload)
    for entry in envelope["signatures"]:
        if not isinstance(entry, dict) or not isinstance(entry.get("sig"), str):
            continue
        try:
            public_key.verify(base64.b64decode(entry["sig"], validate=True), message, _ecdsa(public_key))
        except (InvalidSignature, ValueError, TypeError):
            continue
        return EnvelopeCheck(payload, True, key_fp)
    return EnvelopeCheck(payload, False, key_fp, "no signature verifies with this key (forged, or made by another key)")
