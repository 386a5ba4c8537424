#!/usr/bin/env python3
# SPDX-FileCopyrightText: 2026 The glassworks authors
# SPDX-License-Identifier: Apache-2.0
"""Rebuild glassworks' embedded demo corpus from installed Debian packages.

The demo corpus must be real, openly licensed text whose origin anyone can
verify, so it is cut from Debian packages rather than downloaded or
generated: every file traces back to a package name, version and path.
The output is byte-for-byte deterministic (fixed dates, uuid5 record ids,
gzip mtime 0, sorted inputs, sorted JSON keys) so that ``--check`` can prove
that the committed files are exactly what this script produces.

    python data/build_corpus.py               # rebuild into data/
    python data/build_corpus.py --out DIR     # rebuild somewhere else
    python data/build_corpus.py --check       # rebuild in a temp dir, compare
    python data/build_corpus.py --licenses LICENSES   # also write licence texts

Needs Python >= 3.11, warcio, dpkg and the packages listed in PACKAGES.
"""
from __future__ import annotations

import argparse
import gzip
import hashlib
import io
import json
import re
import shutil
import subprocess
import sys
import tempfile
import unicodedata
import uuid
from dataclasses import dataclass, field
from datetime import timezone
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Callable

sys.dont_write_bytecode = True  # keep data/ free of __pycache__
sys.path.insert(0, str(Path(__file__).resolve().parent))
from corpus_sources import (BIBLE_CHAPTERS, BIBLE_MODULE, BIBLE_NAME,  # noqa: E402
                            BIBLE_PACKAGE, CODE_PLANTS, CODE_REPOS, DOCS_EXCLUDED, DOCS_PACKAGE,
                            DOCS_URL, GLASSWORKS, HTML_ROOT, LICENCE_TEXTS, MIRROR_URL, PACKAGES,
                            PUBLIC_DOMAIN, RST_MAX_BYTES, RST_MIN_BYTES, SPHINX_COPYRIGHT,
                            TEXT_PLANTS, WEB_PLANTS, Src, public_domain_text, render_sources,
                            sphinx_notice)

HERE = Path(__file__).resolve().parent
WARC_NAME = "sphinx-docs.warc.gz"
RST_NAME = "sphinx-docs-rst.jsonl"


@dataclass
class Entry:
    """One output file and the provenance SOURCES.md and REUSE.toml report for it."""

    path: str
    origin: str
    spdx: str
    copyright: list[str]


@dataclass
class Build:
    """Everything one run learns or writes; the report is rendered from it."""

    out: Path
    versions: dict[str, str]
    date: str
    entries: list[Entry] = field(default_factory=list)
    plants: list[tuple[str, str, str, str, str]] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)

    def write(self, rel: str, data: bytes, origin: str, spdx: str, copyright: list[str]) -> None:
        target = self.out / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        self.entries.append(Entry(rel, origin, spdx, copyright))

    def pkg(self, name: str) -> str:
        return f"{name} {self.versions[name]}"


# --- Debian packages ---------------------------------------------------------

def installed_versions(packages: tuple[str, ...]) -> dict[str, str]:
    """Return {package: version} for the installed ones; missing ones are left out."""
    versions = {}
    for name in packages:
        try:
            proc = subprocess.run(
                ["dpkg-query", "-W", "-f=${db:Status-Abbrev}|${Version}", name],
                capture_output=True, text=True, check=False)
        except FileNotFoundError:
            return {}
        status, _, version = proc.stdout.partition("|")
        if proc.returncode == 0 and status.startswith("ii"):
            versions[name] = version.strip()
    return versions


def require_packages() -> dict[str, str]:
    """Exit 1 with the exact install line when a Debian package or warcio is missing."""
    try:
        import warcio  # noqa: F401
    except ImportError:
        print("build_corpus: needs warcio:\n  python -m pip install warcio", file=sys.stderr)
        sys.exit(1)
    versions = installed_versions(PACKAGES)
    missing = [name for name in PACKAGES if name not in versions]
    if missing:
        print("build_corpus: missing Debian packages: " + ", ".join(missing), file=sys.stderr)
        print("install them with:\n  apt-get install " + " ".join(missing), file=sys.stderr)
        sys.exit(1)
    return versions


def owners(paths: list[str]) -> dict[str, str]:
    """Map each path to the Debian package that ships it (arch qualifier dropped)."""
    proc = subprocess.run(["dpkg", "-S", *paths], capture_output=True, text=True, check=True)
    found = {}
    for line in proc.stdout.splitlines():
        pkg, _, path = line.partition(": ")
        found[path] = pkg.split(":")[0]
    return {p: found[p] for p in paths}


def changelog_date(package: str) -> str:
    """The date of the package's newest changelog entry, as a WARC-Date.

    Using the package date rather than the build time keeps the WARC
    reproducible and ties the "crawl" to the exact documentation release.
    """
    with gzip.open(f"/usr/share/doc/{package}/changelog.Debian.gz", "rt", encoding="utf-8") as fh:
        for line in fh:
            if line.startswith(" -- "):
                stamp = parsedate_to_datetime(line.rsplit("  ", 1)[1].strip())
                return stamp.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    raise SystemExit(f"build_corpus: no date in changelog of {package}")


# --- web: WARC of HTML pages ---------------------------------------------------

def plant(edits: list[Callable[[str], str]], text: str) -> str:
    """Apply a planted duplicate's edits in order (none: an exact copy)."""
    for edit in edits:
        text = edit(text)
    return text


def documentation_pages(root: Path, suffix: str, low: int, high: int) -> list[str]:
    """Page names (``usage/quickstart``) under root, outside ``_*`` folders, within a size range.

    The underscore folders hold the theme's JS/CSS, images and highlighted source code,
    not documentation; DOCS_EXCLUDED names the pages left out on purpose.
    """
    names = []
    for path in root.rglob("*" + suffix):
        rel = path.relative_to(root).as_posix()
        name = rel.removesuffix(suffix)
        if rel.startswith("_") or "/_" in rel or name in DOCS_EXCLUDED:
            continue
        if low <= path.stat().st_size <= high:
            names.append(name)
    return sorted(names)


def select_pages() -> list[str]:
    """Every documentation page: the whole manual is still under 1 MB as a WARC."""
    return [name + ".html" for name in documentation_pages(HTML_ROOT, ".html", 0, 1 << 30)]


def record_id(key: str) -> str:
    """uuid5 of the URI: stable across rebuilds, unique per record."""
    return f"<urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, key)}>"


def build_web(b: Build) -> None:
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    pages = select_pages()
    bodies = {rel: (HTML_ROOT / rel).read_bytes() for rel in pages}
    records = [(DOCS_URL + rel, bodies[rel]) for rel in pages]
    for rel, kind, what, edits in WEB_PLANTS:
        body = plant(edits, bodies[rel].decode("utf-8")).encode("utf-8")
        records.append((MIRROR_URL + rel, body))
        b.plants.append(("web", kind, MIRROR_URL + rel, DOCS_URL + rel, what))

    buf = io.BytesIO()
    writer = WARCWriter(buf, gzip=True)
    info = (f"software: glassworks data/build_corpus.py (warcio)\r\n"
            f"format: WARC File Format 1.0\r\n"
            f"isPartOf: glassworks embedded demo corpus\r\n"
            f"description: Sphinx 5.3 documentation pages from Debian "
            f"{b.pkg(DOCS_PACKAGE)}, served as if crawled from www.sphinx-doc.org, "
            f"plus planted mirror near-duplicates listed in data/SOURCES.md\r\n").encode("utf-8")
    writer.write_record(writer.create_warc_record(
        "", "warcinfo", payload=io.BytesIO(info), length=len(info),
        warc_headers_dict={"WARC-Record-ID": record_id("glassworks:warcinfo:" + WARC_NAME),
                           "WARC-Date": b.date, "WARC-Filename": WARC_NAME,
                           "Content-Type": "application/warc-fields"}))
    for uri, body in records:
        http = StatusAndHeaders("200 OK", [("Content-Type", "text/html; charset=utf-8"),
                                           ("Content-Length", str(len(body)))],
                                protocol="HTTP/1.1")
        writer.write_record(writer.create_warc_record(
            uri, "response", payload=io.BytesIO(body), length=len(body), http_headers=http,
            warc_headers_dict={"WARC-Record-ID": record_id(uri), "WARC-Date": b.date}))
    b.counts["web_pages"] = len(pages)
    b.counts["web_records"] = len(records)
    b.write(f"web/{WARC_NAME}", buf.getvalue(),
            f"{b.pkg(DOCS_PACKAGE)}: `{HTML_ROOT}/**/*.html` outside `_*/`, less the pages listed under Licences ({len(pages)} pages) "
            f"+ {len(WEB_PLANTS)} planted mirror records",
            "BSD-2-Clause", [SPHINX_COPYRIGHT, GLASSWORKS])


# --- text: JSONL ---------------------------------------------------------------

def jsonl(docs: list[dict]) -> bytes:
    """One object per line, sorted keys, real UTF-8 (not \\u escapes), '\\n' endings."""
    ids = [d["id"] for d in docs]
    assert len(ids) == len(set(ids)), "duplicate document ids"
    return "".join(json.dumps(d, ensure_ascii=False, sort_keys=True) + "\n" for d in docs).encode()


def add_text_plants(b: Build, source: str, docs: list[dict]) -> None:
    """Append planted duplicates after their originals, labelled in metadata."""
    by_id = {d["id"]: d for d in docs}
    for src, orig_id, new_id, kind, what, edits in TEXT_PLANTS:
        if src != source:
            continue
        orig = by_id[orig_id]
        meta = dict(orig["metadata"], planted_from=orig_id)
        docs.append({"id": new_id, "text": plant(edits, orig["text"]), "metadata": meta})
        b.plants.append(("text", kind, new_id, orig_id, what))


def build_rst(b: Build) -> None:
    root = HTML_ROOT / "_sources"
    docs = []
    for rel in documentation_pages(root, ".rst.txt", RST_MIN_BYTES, RST_MAX_BYTES):
        path = root / f"{rel}.rst.txt"
        docs.append({"id": f"sphinx-docs-rst/{rel}",
                     "text": path.read_text(encoding="utf-8"),
                     "metadata": {"source": DOCS_PACKAGE,
                                  "source_version": b.versions[DOCS_PACKAGE],
                                  "origin": str(path), "license": "BSD-2-Clause",
                                  "notice": sphinx_notice(), "language": "en",
                                  "url": f"{DOCS_URL}{rel}.html"}})
    b.counts["rst_docs"] = len(docs)
    web = set(select_pages())
    b.counts["rst_in_web"] = sum(f"{d['id'].split('/', 1)[1]}.html" in web for d in docs)
    add_text_plants(b, "rst", docs)
    b.write(f"text/{RST_NAME}", jsonl(docs),
            f"{b.pkg(DOCS_PACKAGE)}: `{root}/**/*.rst.txt` of {RST_MIN_BYTES} to {RST_MAX_BYTES} "
            f"bytes, outside `_*/`, less the pages listed under Licences "
            f"({b.counts['rst_docs']} docs) + planted duplicates",
            "BSD-2-Clause", [SPHINX_COPYRIGHT, GLASSWORKS])


def slug(name: str) -> str:
    """`Eclesiastés` -> `eclesiastes`, `2 Samuel` -> `2-samuel`: ASCII ids for Spanish book names."""
    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^a-z0-9]+", "-", plain.lower()).strip("-")


def chapter_verses(book: str, chapter: int) -> list[str]:
    """The verses of one chapter as diatheke renders them in plain text, Strong's tags removed.

    Each verse is a line ``<Book> <c>:<v>: <text>``; the module marks a few words with
    Strong's numbers (``<H1870>``), which are markup, not text. A line that is not a verse
    continues the one before; the last line names the module.
    """
    proc = subprocess.run(["diatheke", "-b", BIBLE_MODULE, "-f", "plain", "-k", f"{book} {chapter}"],
                          capture_output=True, text=True, check=True)
    lines = proc.stdout.rstrip("\n").split("\n")
    if lines[-1] != f"({BIBLE_MODULE})":
        raise SystemExit(f"build_corpus: diatheke {book} {chapter}: unexpected last line {lines[-1]!r}")
    verse_re = re.compile(rf"^{re.escape(book)} {chapter}:(\d+): (.*)$")
    verses: list[str] = []
    for line in lines[:-1]:
        match = verse_re.match(line)
        if match:
            if int(match.group(1)) != len(verses) + 1:
                raise SystemExit(f"build_corpus: {book} {chapter}: verse {match.group(1)} out of order")
            verses.append(match.group(2))
        elif verses and line.strip():
            verses[-1] += " " + line
    if not verses:
        raise SystemExit(f"build_corpus: diatheke returned no verses for {book} {chapter}")
    return [" ".join(re.sub(r"\s*<[HG]\d+>", "", v).split()) for v in verses]


def build_bible(b: Build) -> None:
    """One document per chapter: a heading line, then one numbered verse per line."""
    docs = []
    for book, spanish, chapters in BIBLE_CHAPTERS:
        for chapter in chapters:
            verses = chapter_verses(book, chapter)
            text = f"{spanish} {chapter}\n\n" + "".join(f"{i} {v}\n" for i, v in enumerate(verses, 1))
            docs.append({"id": f"{BIBLE_NAME}/{slug(spanish)}/{chapter:03d}", "text": text,
                         "metadata": {"source": BIBLE_PACKAGE,
                                      "source_version": b.versions[BIBLE_PACKAGE],
                                      "origin": f"diatheke -b {BIBLE_MODULE} -f plain -k '{book} {chapter}'",
                                      "license": PUBLIC_DOMAIN, "notice": public_domain_text(),
                                      "language": "es"}})
    b.counts["bible_docs"] = len(docs)
    add_text_plants(b, "bible", docs)
    books = ", ".join(f"{spanish} {min(ch)}-{max(ch)}" if len(ch) > 1 else f"{spanish} {ch[0]}"
                      for _, spanish, ch in BIBLE_CHAPTERS)
    b.write(f"text/{BIBLE_NAME}.jsonl", jsonl(docs),
            f"{b.pkg(BIBLE_PACKAGE)}: module `{BIBLE_MODULE}` rendered by {b.pkg('diatheke')} "
            f"(`diatheke -f plain`), chapters {books} ({b.counts['bible_docs']} docs) + planted duplicates",
            PUBLIC_DOMAIN, ["Reina and Valera", GLASSWORKS])


# --- code: small repositories --------------------------------------------------

def build_code(b: Build) -> None:
    """Copy each small repository file by file, recording the owning package."""
    owner = owners(sorted({s.path if isinstance(s, Src) else s
                           for repo in CODE_REPOS.values() for s in repo.files.values()}))
    for name, repo in sorted(CODE_REPOS.items()):
        for rel, src in sorted(repo.files.items()):
            src = src if isinstance(src, Src) else Src(src)
            data = Path(src.path).read_bytes()
            if src.transform:
                data = src.transform(data)
            origin = f"{b.pkg(owner[src.path])}: `{src.path}`" + (f" ({src.note})" if src.note else "")
            b.write(f"code/{name}/{rel}", data, origin, repo.spdx_by_file.get(rel, repo.spdx),
                    repo.copyright_by_file.get(rel, repo.copyright))
    b.counts["code_repos"] = len(CODE_REPOS)
    for path, orig, what in CODE_PLANTS:
        b.plants.append(("code", "near", path, orig, what))


# --- licence texts, REUSE.toml, SOURCES.md -------------------------------------

def write_licences(target: Path) -> list[str]:
    target.mkdir(parents=True, exist_ok=True)
    written = []
    for spdx, make in sorted(LICENCE_TEXTS.items()):
        (target / f"{spdx}.txt").write_bytes(make())
        written.append(spdx)
    return written


def toml_str(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)


def build_reuse(b: Build) -> None:
    """REUSE.toml with one annotation per (licence, copyright) group, listing exact paths.

    The corpus files cannot carry SPDX headers (WARC, JSONL, verbatim third-party
    code), so every file, including the glassworks-owned ones, is annotated here.
    """
    b.entries += [
        Entry("build_corpus.py", "glassworks: this script", "Apache-2.0", [GLASSWORKS]),
        Entry("corpus_sources.py", "glassworks: the source table `build_corpus.py` reads",
              "Apache-2.0", [GLASSWORKS]),
        Entry("corpus_release.py", "glassworks: may each source ship in the released training data",
              "Apache-2.0", [GLASSWORKS]),
        Entry("SOURCES.md", "glassworks: generated by `build_corpus.py`", "CC-BY-4.0",
              [GLASSWORKS])]
    groups: dict[tuple[str, tuple[str, ...]], list[str]] = {}
    for e in b.entries + [Entry("REUSE.toml", "", "Apache-2.0", [GLASSWORKS])]:
        groups.setdefault((e.spdx, tuple(e.copyright)), []).append(e.path)
    lines = ["# Generated by data/build_corpus.py; do not edit by hand.",
             "# REUSE 3.2 annotations for every file of the embedded demo corpus.",
             "version = 1", ""]
    for (spdx, copyright), paths in sorted(groups.items()):
        lines += ["[[annotations]]",
                  "path = [" + ", ".join(toml_str(p) for p in sorted(paths)) + "]",
                  'precedence = "override"',
                  "SPDX-FileCopyrightText = [" + ", ".join(toml_str(c) for c in copyright) + "]",
                  f"SPDX-License-Identifier = {toml_str(spdx)}", ""]
    b.write("REUSE.toml", "\n".join(lines).encode("utf-8"),
            "glassworks: generated by `build_corpus.py`", "Apache-2.0", [GLASSWORKS])


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def copy_self(b: Build) -> None:
    """--out elsewhere must hold the script too, so the tree is self-describing."""
    for name in ("build_corpus.py", "corpus_sources.py", "corpus_release.py"):
        if (b.out / name).resolve() != (HERE / name).resolve():
            shutil.copyfile(HERE / name, b.out / name)


def build(out: Path, versions: dict[str, str]) -> Build:
    if out.is_dir() and any(out.iterdir()) and not (out / "SOURCES.md").exists():
        raise SystemExit(f"build_corpus: {out} is not empty and holds no corpus; not touching it")
    for sub_dir in ("web", "text", "code"):
        shutil.rmtree(out / sub_dir, ignore_errors=True)
    out.mkdir(parents=True, exist_ok=True)
    b = Build(out=out, versions=versions, date=changelog_date(DOCS_PACKAGE))
    build_web(b)
    build_rst(b)
    build_bible(b)
    build_code(b)
    copy_self(b)
    build_reuse(b)
    rows = [(e, (out / e.path).stat().st_size, sha256(out / e.path))
            for e in sorted(b.entries, key=lambda e: e.path) if e.path != "SOURCES.md"]
    (out / "SOURCES.md").write_bytes(render_sources(b, rows).encode("utf-8"))
    return b


def compare(built: Path, committed: Path) -> list[str]:
    """Differences between two corpus trees; gzip members are also compared unpacked."""
    def files(root: Path) -> dict[str, Path]:
        return {p.relative_to(root).as_posix(): p for p in root.rglob("*")
                if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"}
    a, c = files(built), files(committed)
    problems = [f"missing in committed tree: {p}" for p in sorted(a.keys() - c.keys())]
    problems += [f"not produced by the build: {p}" for p in sorted(c.keys() - a.keys())]
    for rel in sorted(a.keys() & c.keys()):
        if sha256(a[rel]) != sha256(c[rel]):
            note = ""
            if rel.endswith(".gz") and gzip.decompress(a[rel].read_bytes()) == \
                    gzip.decompress(c[rel].read_bytes()):
                note = " (same content once unpacked: different zlib?)"
            problems.append(f"differs: {rel}{note}")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=HERE, help="output folder (default: %(default)s)")
    parser.add_argument("--check", action="store_true",
                        help="rebuild into a temp dir and compare sha256 with --out")
    parser.add_argument("--licenses", type=Path, metavar="DIR",
                        help="also write the licence texts (<SPDX-ID>.txt) into DIR")
    args = parser.parse_args(argv)
    versions = require_packages()
    if args.licenses:
        print("wrote licences:", ", ".join(write_licences(args.licenses)))
    if not args.check:
        b = build(args.out, versions)
        print(f"built {len(b.entries)} files into {args.out}")
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        build(Path(tmp), versions)
        problems = compare(Path(tmp), args.out)
        licence_dir = args.out.resolve().parent / "LICENSES"
        if licence_dir.is_dir():
            write_licences(Path(tmp) / "LICENSES")
            for spdx in LICENCE_TEXTS:
                mine, theirs = Path(tmp) / "LICENSES" / f"{spdx}.txt", licence_dir / f"{spdx}.txt"
                if not theirs.exists() or sha256(mine) != sha256(theirs):
                    problems.append(f"differs: {theirs}")
    for line in problems:
        print(line)
    print("check: OK, byte-identical" if not problems else f"check: {len(problems)} difference(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
