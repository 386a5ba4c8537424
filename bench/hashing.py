"""Benchmark: streaming sha256 of glassworks' provenance against hashlib.file_digest.

Every stage hashes all its inputs and outputs, so hashing speed bounds how cheap a
manifest is. The reference is the standard library's own file hashing on the same file
in the same run; the figure that matters is the ratio (1.0 = as fast as the stdlib).
Prints one JSON line.

    python bench/hashing.py [--mib 512] [--repeat 3]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import tempfile
import time

from glassworks.provenance.hashing import sha256_file


def best_of(repeat: int, fn) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mib", type=int, default=512, help="size of the test file in MiB")
    parser.add_argument("--repeat", type=int, default=3, help="runs per method; the best is kept")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "blob.bin")
        block = os.urandom(1 << 20)
        with open(path, "wb") as handle:
            for _ in range(args.mib):
                handle.write(block)

        def stdlib():
            with open(path, "rb") as handle:
                return hashlib.file_digest(handle, "sha256").hexdigest()

        assert sha256_file(path)[0] == stdlib()
        ours = best_of(args.repeat, lambda: sha256_file(path))
        ref = best_of(args.repeat, stdlib)
    size = args.mib * (1 << 20)
    print(json.dumps({
        "bench": "hashing",
        "mib": args.mib,
        "glassworks_mib_s": round(size / ours / (1 << 20), 1),
        "hashlib_file_digest_mib_s": round(size / ref / (1 << 20), 1),
        "ratio_vs_stdlib": round(ref / ours, 3),
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
    }))


if __name__ == "__main__":
    main()
