"""Provenance: every stage execution leaves a content-addressed manifest; verify walks them.

Public surface:
- ``record_stage`` / ``StageRecorder``: wrap a stage, record config, code, files and counts.
- ``verify_run``: recompute hashes, links and accounting of a run directory or bundle; for a
  bundle also its code archive, MOF description, checkpoints and signature.
- ``generate_keypair`` / ``sign_tree`` / ``TrustedKeys``: ed25519 signing of a bundle or run as a
  DSSE-enveloped in-toto Statement v1 with a SLSA provenance v1 predicate; the keys an auditor pins.
- ``regenerate``: re-run every data stage a record names, up to the token shards (and training
  with ``train_steps``), and compare every output hash.
- ``write_report``: the audit report (Markdown, HTML, lineage graph picture).
- ``sha256_file``, ``merkle_root``: streaming hashes used everywhere.
- ``atomic_write_bytes`` / ``atomic_write_text`` / ``atomic_open``: no partial file after a crash.
"""

from glassworks.provenance.atomic import atomic_open, atomic_write_bytes, atomic_write_json, atomic_write_text
from glassworks.provenance.attest import sign_tree
from glassworks.provenance.hashing import FileRecord, file_record, merkle_root, sha256_file
from glassworks.provenance.manifest import load_manifest, manifest_digest, validate_manifest
from glassworks.provenance.recorder import StageRecorder, record_stage
from glassworks.provenance.regenerate import regenerate
from glassworks.provenance.report import write_report
from glassworks.provenance.signing import TrustedKeys, generate_keypair
from glassworks.provenance.verify import VerifyReport, verify_run

__all__ = [
    "FileRecord",
    "StageRecorder",
    "TrustedKeys",
    "VerifyReport",
    "atomic_open",
    "atomic_write_bytes",
    "atomic_write_json",
    "atomic_write_text",
    "file_record",
    "generate_keypair",
    "load_manifest",
    "manifest_digest",
    "merkle_root",
    "record_stage",
    "regenerate",
    "sha256_file",
    "sign_tree",
    "validate_manifest",
    "verify_run",
    "write_report",
]
