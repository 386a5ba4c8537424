"""Streaming sha256 in bounded memory, and the Merkle root over file sets."""

import hashlib
import subprocess
import sys

from glassworks.provenance.hashing import FileRecord, merkle_root, sha256_file


def test_sha256_matches_hashlib_on_block_edges(tmp_path):
    for size in (0, 1, (1 << 20) - 1, 1 << 20, (1 << 20) + 1, 3 * (1 << 20) + 17):
        data = bytes((i * 7 + size) % 251 for i in range(size))
        path = tmp_path / f"f{size}"
        path.write_bytes(data)
        assert sha256_file(path) == (hashlib.sha256(data).hexdigest(), size)


def test_large_file_hashes_in_bounded_memory(tmp_path):
    """A 1 GiB file (sparse: no disk used) hashes with well under 64 MiB of growth in RSS."""
    path = tmp_path / "big.bin"
    with open(path, "wb") as handle:
        handle.truncate(1 << 30)
        handle.seek((1 << 30) - 5)
        handle.write(b"tail!")
    code = f"""
import resource, sys
from glassworks.provenance.hashing import sha256_file
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
sha, size = sha256_file({str(path)!r})
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(sha, size, (after - before) // 1024)
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    sha, size, grown_mib = done.stdout.split()
    expected = hashlib.sha256()
    zeros = bytes(1 << 24)
    for _ in range((1 << 30) // len(zeros) - 1):
        expected.update(zeros)
    expected.update(bytes(len(zeros) - 5) + b"tail!")
    assert (sha, int(size)) == (expected.hexdigest(), 1 << 30)
    assert int(grown_mib) < 64, f"hashing 1 GiB grew RSS by {grown_mib} MiB"


def test_merkle_root_sensitive_to_every_field_and_not_to_order():
    recs = [FileRecord(f"shard-{i}.bin", 100 + i, hashlib.sha256(str(i).encode()).hexdigest()) for i in range(5)]
    root = merkle_root(recs)
    assert merkle_root(list(reversed(recs))) == root
    assert merkle_root([r.as_json() for r in recs]) == root
    changed = [
        recs[:4],  # dropped
        recs + [FileRecord("extra", 1, "0" * 64)],  # added
        [FileRecord("renamed", recs[0].bytes, recs[0].sha256)] + recs[1:],
        [FileRecord(recs[0].path, 1, recs[0].sha256)] + recs[1:],
        [FileRecord(recs[0].path, recs[0].bytes, "f" * 64)] + recs[1:],
        [FileRecord(recs[0].path, recs[0].bytes, recs[0].sha256, root="data")] + recs[1:],
    ]
    roots = {merkle_root(c) for c in changed}
    assert root not in roots and len(roots) == len(changed)
    assert merkle_root([]) != merkle_root(recs[:1])
