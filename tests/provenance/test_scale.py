"""Bounded memory: verify and sign stream every file, so memory follows the file count, not the bytes.

3 000 files keep the test quick (creating files dominates); bench/audit.py measures 10 000
files and tens of GB (sparse) with peak RSS.
"""

import os
import tracemalloc

from glassworks.provenance import record_stage, verify_run
from glassworks.provenance.attest import sign_tree
from glassworks.provenance.signing import TrustedKeys, generate_keypair, load_private_key

FILES = 3_000
SPARSE = 256 << 20  # a 256 MiB file that takes no disk: holes read as zeros


def make_wide_run(run):
    with record_stage(run, "wide", "1", {"files": FILES}, unit="files") as rec:
        shards = run / "shards"
        for i in range(FILES):
            folder = shards / f"{i // 1000:02d}"
            if i % 1000 == 0:
                folder.mkdir(parents=True)
            (folder / f"{i:05d}.txt").write_bytes(b"%d\n" % i)
        with open(run / "big.bin", "wb") as handle:
            handle.truncate(SPARSE)
        rec.counts.add_in(FILES + 1)
        rec.counts.keep(FILES + 1)
        rec.output(shards)
        rec.output(run / "big.bin")
    return rec.manifest


def test_verify_and_sign_many_files_and_a_large_file_in_bounded_memory(tmp_path):
    run = tmp_path / "run"
    make_wide_run(run)
    assert os.stat(run / "big.bin").st_blocks * 512 < SPARSE // 100  # really sparse: the test stays cheap
    private, public, _ = generate_keypair(tmp_path / "keys")

    import model_signing.signing, model_signing.verifying  # noqa: F401  (imports are not what this test measures)

    tracemalloc.start()
    try:
        sign_tree(run, load_private_key(private), repository="https://github.com/example/glassworks")
        _, sign_peak = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        report = verify_run(run, trusted=TrustedKeys.from_args((public,)))
        _, verify_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert report.ok, [f.line() for f in report.failures[:5]]
    assert report.files_hashed == FILES + 1 and report.bytes_hashed > SPARSE
    # one entry per file (path, digest, finding) and the 1 MiB read buffer; never the 256 MiB file
    assert verify_peak < 32 << 20, verify_peak
    assert sign_peak < 32 << 20, sign_peak
