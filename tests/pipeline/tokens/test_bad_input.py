"""Bad input: empty documents, a 50 MB document, lone surrogates, invalid UTF-8 and friends."""

import gzip
import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from glassworks.errors import GlassworksError
from glassworks.pipeline.tokens.build import build_mixtures
from glassworks.pipeline.tokens.pool import SourcePool, tokenize_sources
from glassworks.pipeline.tokens.sources import CorpusConfig
from glassworks.pipeline.tokens.tokenizer import Tokenizer
from glassworks.provenance.recorder import Counts, record_stage
from glassworks.provenance.verify import verify_run

DATA = Path(__file__).resolve().parents[3] / "data"
LINES = [
    b'{"id": "ok", "text": "A fine document.\\n", "metadata": {"dedup": {"weight": 1.5}}}',
    b'{"id": "empty", "text": ""}',
    b'{"id": "blank", "text": "  \\n\\t "}',
    b'{"id": "latin1", "text": "caf\xe9 au lait"}',  # invalid UTF-8: a Latin-1 byte
    b'{"id": "cut", "text": "half a rec',  # invalid JSON
    b'{"id": "surrogate", "text": "lone \\ud800 half of a pair"}',
    b'{"id": "negative", "text": "x", "metadata": {"dedup": {"weight": -1}}}',
    b'{"id": "nan", "text": "x", "metadata": {"dedup": {"weight": NaN}}}',
    b'{"id": "number", "text": 5}',
    b'{"id": "zero", "text": "unwanted", "metadata": {"dedup": {"weight": 0}}}',
]


def add_source(run: Path, name: str, lines: list[bytes], compress: bool = True) -> None:
    """A recorded source folder with exactly these lines (gzip'd, or plain JSONL)."""
    with record_stage(run, f"fixture.{name}", "1", {"lines": len(lines)}) as rec:
        path = run / "bad-corpus" / name / ("part-0.jsonl.gz" if compress else "part-0.jsonl")
        path.parent.mkdir(parents=True)
        with (gzip.GzipFile(path, "wb", mtime=0) if compress else open(path, "wb")) as handle:
            handle.write(b"\n".join(lines) + b"\n")
        rec.counts.add_in(len(lines))
        rec.counts.keep(len(lines))
        rec.output(path.parent)


@pytest.fixture
def with_bad(run_dir, mix_config):
    add_source(run_dir, "bad", LINES)
    config = mix_config()
    corpus = replace(config.corpus, sources={**config.corpus.sources, "bad": [Path("bad-corpus/bad")]})
    phase = replace(config.phases[0], weights={"docs": 0.9, "bad": 0.1})
    return run_dir, replace(config, corpus=corpus, phases=[phase])


def test_every_bad_record_is_dropped_or_quarantined_with_its_reason(with_bad):
    run, config = with_bad
    summary = build_mixtures(config, run)
    docs = summary.documents
    assert docs["dropped"] == {"empty": 2, "zero_weight": 3}  # zero: 2 in the test corpus, 1 here
    assert docs["in"] == docs["kept"] + 5 + docs["quarantined"]
    quarantine = run / "quarantine" / "data.tokenize" / "bad.jsonl.gz"
    records = [json.loads(line) for line in gzip.open(quarantine, "rt")]
    assert {r["key"]: r["reason"] for r in records} == {
        "0/part-0.jsonl.gz:4": "invalid_utf8", "0/part-0.jsonl.gz:5": "invalid_json",
        "0/part-0.jsonl.gz:7": "bad_weight", "0/part-0.jsonl.gz:8": "bad_weight", "0/part-0.jsonl.gz:9": "no_text"}
    assert "caf\ufffd au lait" in records[0]["raw"]
    assert docs["quarantined"] == 5
    assert verify_run(run).ok


def test_lone_surrogates_are_repaired_and_counted(with_bad):
    run, config = with_bad
    build_mixtures(config, run)
    pool = json.loads((run / "data" / "tokenized" / "pool.json").read_text())
    assert pool["sources"]["bad"] == {"documents": 2, "tokens": pool["sources"]["bad"]["tokens"],
                                      "weight_sum": 2.5, "texts_repaired": 1}
    tok = Tokenizer.load(run / "tokenizer")
    texts = [tok.decode(SourcePool.open(run / "data" / "tokenized" / "bad").document(i)) for i in range(2)]
    assert texts == ["A fine document.\n", "lone \ufffd half of a pair"]


def test_on_bad_input_fail_names_file_and_line(with_bad):
    run, config = with_bad
    config = replace(config, corpus=replace(config.corpus, on_bad_input="fail"))
    with pytest.raises(GlassworksError, match=r"part-0\.jsonl\.gz:4: invalid utf8"):
        build_mixtures(config, run)
    assert not list((run / "manifests").glob("data.*"))  # a failed stage records nothing


def test_a_truncated_gzip_file_is_an_error_naming_it(run_dir):
    path = run_dir / "broken" / "part-0.jsonl.gz"
    path.parent.mkdir()
    whole = gzip.compress(b'{"id": "a", "text": "b"}\n' * 5000, mtime=0)
    path.write_bytes(whole[: len(whole) // 2])
    with pytest.raises(GlassworksError, match=r"part-0\.jsonl\.gz:\d+: cannot read on"):
        tokenize_sources(CorpusConfig(sources={"broken": [Path("broken")]}), ["broken"], run_dir / "tokenizer",
                         run_dir, Counts())


def test_a_missing_source_folder_is_an_error_naming_it(run_dir):
    with pytest.raises(GlassworksError, match=r"nowhere: folder of source 'x' does not exist"):
        tokenize_sources(CorpusConfig(sources={"x": [Path("nowhere")]}), ["x"], run_dir / "tokenizer", run_dir, Counts())


def test_a_50_mb_document_is_tokenized_in_pieces_with_the_ids_of_one_call(run_dir):
    """Real text repeated past 50 MB; every copy ends with a newline, a safe cut, so the ids are
    the ids of one copy repeated, and workers share the document's pieces."""
    base = json.loads((DATA / "text" / "sphinx-docs-rst.jsonl").read_text(encoding="utf-8").splitlines()[0])["text"]
    assert base.endswith("\n")
    copies = 50_000_000 // len(base) + 1
    text = base * copies
    add_source(run_dir, "huge", [json.dumps({"id": "huge", "text": text}).encode()], compress=False)
    counts = Counts()
    tokenize_sources(CorpusConfig(sources={"huge": [Path("bad-corpus/huge")]}), ["huge"], run_dir / "tokenizer",
                     run_dir, counts, workers=2)
    tok = Tokenizer.load(run_dir / "tokenizer")
    one = np.asarray(tok.encode(base), dtype=np.uint16)
    ids = SourcePool.open(run_dir / "data" / "tokenized" / "huge").document(0)
    assert len(text.encode()) >= 50_000_000 and counts.kept == 1
    assert len(ids) == copies * len(one)
    assert np.array_equal(ids[: len(one)], one) and np.array_equal(ids[-len(one):], one)
    assert np.array_equal(np.asarray(ids).reshape(copies, len(one)), np.broadcast_to(one, (copies, len(one))))
