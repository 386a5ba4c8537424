"""Provenance: every stage execution leaves a content-addressed manifest; verify walks them.

Public surface:
- ``record_stage`` / ``StageRecorder``: wrap a stage, record config, code, files and counts.
- ``verify_run``: recompute hashes, links and accounting of a run directory or bundle.
- ``sha256_file``, ``merkle_root``: streaming hashes used everywhere.
- ``atomic_write_bytes`` / ``atomic_write_text`` / ``atomic_open``: no partial file after a crash.
"""

from glassworks.provenance.atomic import atomic_open, atomic_write_bytes, atomic_write_json, atomic_write_text
from glassworks.provenance.hashing import FileRecord, file_record, merkle_root, sha256_file
from glassworks.provenance.manifest import load_manifest, manifest_digest, validate_manifest
from glassworks.provenance.recorder import StageRecorder, record_stage
from glassworks.provenance.verify import VerifyReport, verify_run

__all__ = [
    "FileRecord",
    "StageRecorder",
    "VerifyReport",
    "atomic_open",
    "atomic_write_bytes",
    "atomic_write_json",
    "atomic_write_text",
    "file_record",
    "load_manifest",
    "manifest_digest",
    "merkle_root",
    "record_stage",
    "sha256_file",
    "validate_manifest",
    "verify_run",
]
