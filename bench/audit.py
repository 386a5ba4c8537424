"""Benchmark: `audit verify` and `audit sign` on a wide, large tree, against bare hashing.

The tree is N small files plus one sparse file of S GiB (holes read as zeros, so the
bytes are really hashed without taking disk). Verify and sign run in fresh processes so
their peak RSS is their own; the reference is hashlib over the same files in one process,
so the ratio says what the checks cost on top of reading every byte. Prints one JSON line.

    python bench/audit.py [--files 10000] [--sparse-gib 8]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CHILD = """
import json, resource, sys, time
from pathlib import Path
from glassworks.provenance import verify_run
from glassworks.provenance.attest import sign_tree
from glassworks.provenance.signing import TrustedKeys, load_private_key
run, key, pub = (Path(a) for a in sys.argv[2:5])
start = time.perf_counter()
if sys.argv[1] == "sign":
    sign_tree(run, load_private_key(key), repository="https://github.com/example/glassworks")
    ok = True
else:
    ok = verify_run(run, trusted=TrustedKeys.from_args((pub,))).ok
print(json.dumps({"seconds": time.perf_counter() - start, "ok": ok,
                  "rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def build(run: Path, files: int, sparse_gib: int) -> None:
    from glassworks.provenance import record_stage

    with record_stage(run, "wide", "1", {"files": files, "sparse_gib": sparse_gib}, unit="files") as rec:
        for i in range(files):
            folder = run / "shards" / f"{i // 1000:03d}"
            folder.mkdir(parents=True, exist_ok=True)
            (folder / f"{i:06d}.txt").write_bytes(b"%d\n" % i)
        with open(run / "big.bin", "wb") as handle:
            handle.truncate(sparse_gib << 30)
        rec.counts.add_in(files + 1)
        rec.counts.keep(files + 1)
        rec.output(run / "shards")
        rec.output(run / "big.bin")


def child(mode: str, run: Path, key: Path, pub: Path) -> dict:
    done = subprocess.run([sys.executable, "-c", CHILD, mode, str(run), str(key), str(pub)],
                          capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def bare_hash(run: Path) -> float:
    start = time.perf_counter()
    for path in sorted(run.rglob("*")):
        if path.is_file() and "manifests" not in path.parts:
            with open(path, "rb") as handle:
                hashlib.file_digest(handle, "sha256")
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=10_000, help="number of small files")
    parser.add_argument("--sparse-gib", type=int, default=8, help="size of the sparse large file in GiB")
    args = parser.parse_args()
    from glassworks.provenance.signing import generate_keypair

    with tempfile.TemporaryDirectory() as tmp:
        run = Path(tmp) / "run"
        build(run, args.files, args.sparse_gib)
        key, pub, _ = generate_keypair(Path(tmp) / "keys")
        sign = child("sign", run, key, pub)
        verify = child("verify", run, key, pub)
        reference = bare_hash(run)
        total = sum(p.stat().st_size for p in run.rglob("*") if p.is_file() and "manifests" not in p.parts)
    assert verify["ok"]
    print(json.dumps({
        "bench": "audit",
        "files": args.files + 1,
        "gib": round(total / (1 << 30), 2),
        "verify_seconds": round(verify["seconds"], 2),
        "verify_mib_s": round(total / verify["seconds"] / (1 << 20), 1),
        "verify_peak_rss_mib": round(verify["rss_mib"], 1),
        "sign_seconds": round(sign["seconds"], 2),
        "sign_peak_rss_mib": round(sign["rss_mib"], 1),
        "bare_hashlib_seconds": round(reference, 2),
        "verify_vs_bare_hash": round(verify["seconds"] / reference, 3),
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
    }))


if __name__ == "__main__":
    main()
