"""ed25519 keys and DSSE envelopes: who vouches for a statement, checkable by anyone.

A signature is made over the DSSE pre-authentication encoding (PAE) of the payload and
its type, as in-toto attestations are signed, so a signature over one payload type can
never be replayed as another. Keys are PEM files written by ``generate_keypair``: the
private key (PKCS#8, optionally encrypted with a passphrase) stays with the maintainer,
the public key (SubjectPublicKeyInfo) travels with what it signed.

A signature only says *which key* signed. Anyone who can rewrite a bundle can also replace
its public key and re-sign, so the key that travels with the bundle is never trusted on its
own: an auditor pins the maintainer's key (file or fingerprint) obtained elsewhere, and the
fingerprint, ``SHA256:<hex of the raw 32-byte key>``, is what they compare.
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


def _crypto():
    """cryptography is imported on use: `glassworks --help` must stay light."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519

    return serialization, ed25519


def pae(payload_type: str, payload: bytes) -> bytes:
    """DSSE v1 pre-authentication encoding: 'DSSEv1 <len> <type> <len> <body>'."""
    kind = payload_type.encode("utf-8")
    return b"DSSEv1 %d %s %d %s" % (len(kind), kind, len(payload), payload)


def fingerprint(public_key) -> str:
    serialization, _ = _crypto()
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return "SHA256:" + hashlib.sha256(raw).hexdigest()


def public_pem(public_key) -> bytes:
    serialization, _ = _crypto()
    return public_key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def generate_keypair(directory: str | Path, name: str = "signing", passphrase: bytes | None = None) -> tuple[Path, Path, str]:
    """Write ``<name>.key`` (private, mode 0600) and ``<name>.pub`` into ``directory``.

    Refuses to overwrite an existing key: losing a release key cannot be undone.
    Returns (private path, public path, fingerprint).
    """
    serialization, ed25519 = _crypto()
    directory = Path(directory)
    private_path, public_path = directory / f"{name}.key", directory / f"{name}.pub"
    for path in (private_path, public_path):
        if path.exists():
            raise GlassworksError(f"{path}: already exists; refusing to overwrite a key")
    directory.mkdir(parents=True, exist_ok=True)
    key = ed25519.Ed25519PrivateKey.generate()
    encryption = (serialization.BestAvailableEncryption(passphrase) if passphrase
                  else serialization.NoEncryption())
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption)
    fd = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(private)
    atomic_write_bytes(public_path, public_pem(key.public_key()))
    return private_path, public_path, fingerprint(key.public_key())


def load_private_key(path: str | Path, passphrase: bytes | None = None):
    serialization, ed25519 = _crypto()
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
    if not isinstance(key, ed25519.Ed25519PrivateKey):
        raise GlassworksError(f"{path}: an {type(key).__name__}, not an ed25519 key")
    return key


def parse_public_key(data: bytes, origin: str):
    serialization, ed25519 = _crypto()
    try:
        key = serialization.load_pem_public_key(data)
    except ValueError as exc:
        raise GlassworksError(f"{origin}: not a PEM public key ({exc})") from None
    if not isinstance(key, ed25519.Ed25519PublicKey):
        raise GlassworksError(f"{origin}: an {type(key).__name__}, not an ed25519 public key")
    return key


def load_public_key(path: str | Path):
    path = Path(path)
    try:
        return parse_public_key(path.read_bytes(), str(path))
    except OSError as exc:
        raise GlassworksError(f"{path}: cannot read the public key ({exc.strerror})") from None


@dataclass(frozen=True)
class TrustedKeys:
    """The keys an auditor accepts, by fingerprint. Empty means nothing is pinned."""

    fingerprints: frozenset[str] = frozenset()

    @classmethod
    def from_args(cls, key_files: tuple[str | Path, ...] = (), fingerprints: tuple[str, ...] = ()) -> TrustedKeys:
        found = {fingerprint(load_public_key(p)) for p in key_files}
        for value in fingerprints:
            value = value.strip()
            hexpart = value.removeprefix("SHA256:").lower()
            if len(hexpart) != 64 or any(c not in "0123456789abcdef" for c in hexpart):
                raise GlassworksError(f"{value!r}: a key fingerprint is SHA256: followed by 64 hex digits")
            found.add("SHA256:" + hexpart)
        return cls(frozenset(found))

    @property
    def pinned(self) -> bool:
        return bool(self.fingerprints)


def sign_envelope(payload: bytes, private_key, payload_type: str = PAYLOAD_TYPE) -> dict:
    """A DSSE envelope holding ``payload`` with one ed25519 signature; keyid is the fingerprint."""
    signature = private_key.sign(pae(payload_type, payload))
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
            public_key.verify(base64.b64decode(entry["sig"], validate=True), message)
        except (InvalidSignature, ValueError, TypeError):
            continue
        return EnvelopeCheck(payload, True, key_fp)
    return EnvelopeCheck(payload, False, key_fp, "no signature verifies with this key (forged, or made by another key)")
