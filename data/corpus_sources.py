# SPDX-FileCopyrightText: 2026 The glassworks authors
# SPDX-License-Identifier: Apache-2.0
"""What goes into the embedded demo corpus, and how SOURCES.md describes it.

Kept apart from build_corpus.py so the choices (which packages, which
files, which planted duplicates, which licences) can be reviewed as a
table without reading the build mechanics.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

GLASSWORKS = "2026 The glassworks authors"
PSF_COPYRIGHT = "2001-2023 Python Software Foundation"

# Every package a rebuild reads from; build_corpus.py refuses to run without them.
PACKAGES = ("python3.11-doc", "libpython3.11-minimal", "libpython3.11-stdlib",
            "libpython3.11-dev", "python3-toml", "python3-apt", "debianutils",
            "fortunes-de", "base-files")

HTML_ROOT = Path("/usr/share/doc/python3.11/html")
DOCS_URL = "https://docs.python.org/3.11/"
MIRROR_URL = "https://mirror.example.org/python/3.11/"
WEB_SECTIONS = ("distributing", "extending", "faq", "howto", "installing", "tutorial", "using")
LIBRARY_MAX_BYTES = 24 * 1024
RST_SECTIONS = ("faq", "howto", "tutorial")
RST_MAX_BYTES = 100_000   # leaves out the 156 KB logging cookbook

FORTUNE_DIR = Path("/usr/share/games/fortunes/de")
# Prose-like files only; see SOURCES.md for why the others are left out.
FORTUNE_FILES = ("anekdoten", "bahnhof", "beilagen", "brot", "debian", "dessert", "elefanten",
                 "hauptgericht", "kalt", "kuchen", "loewe", "murphy", "plaetzchen", "salat",
                 "sauce", "sprichworte", "stilblueten", "suppe", "tips", "vorspeise", "wusstensie")
FORTUNE_CHUNK_CHARS = 1000


def sub(pattern: str, repl: str, count: int = 1, literal: bool = True) -> Callable[[str], str]:
    """An edit that must match exactly ``count`` times, so a changed source fails loudly."""
    regex = re.escape(pattern) if literal else pattern

    def apply(text: str) -> str:
        new, n = re.subn(regex, lambda _m: repl, text)
        if n != count:
            raise SystemExit(f"build_corpus: planted edit {pattern!r} matched {n}x, expected {count}")
        return new
    return apply


SENTENCE = "Python combines remarkable power with very clear syntax. "
APPETITE_LAST = ("The rest of the tutorial introduces various features of the Python language and\n"
                 "system through examples, beginning with simple expressions, statements and data\n"
                 "types, through functions and modules, and finally touching upon advanced\n"
                 "concepts like exceptions and user-defined classes.\n")

# (page, exact|near, what changed, edits): re-served under MIRROR_URL.
WEB_PLANTS = [
    ("faq/general.html", "near", f"sentence dropped: `{SENTENCE.strip()}`", [sub(SENTENCE, "")]),
    ("howto/sorting.html", "near", "footer line `Last updated on ...` replaced by a mirror notice",
     [sub(r"Last updated on [^<\n]*\.", "Mirrored from docs.python.org by mirror.example.org.",
          literal=False)]),
    ("library/colorsys.html", "near", "mirror banner `<div class=\"mirror-banner\">` inserted "
     "after `<body>`", [sub("<body>", "<body>\n<div class=\"mirror-banner\">You are reading an "
                            "unofficial mirror of the Python documentation.</div>")]),
    ("tutorial/appetite.html", "near", "navigation line changed: `3.11.2 Documentation` -> "
     "`Python 3.11 docs (mirror)` (both breadcrumbs)",
     [sub("3.11.2 Documentation</a>", "Python 3.11 docs (mirror)</a>", count=2)]),
    ("tutorial/index.html", "exact", "byte-identical copy under the mirror URL", []),
]

# (source, original id, new id, exact|near, what changed, edits)
TEXT_PLANTS = [
    ("rst", "cpython-docs-rst/tutorial/appetite", "cpython-docs-rst/tutorial/appetite.dup1",
     "near", "last paragraph (`The rest of the tutorial introduces ...`) dropped",
     [sub(APPETITE_LAST, "")]),
    ("rst", "cpython-docs-rst/faq/general", "cpython-docs-rst/faq/general.dup1", "near",
     f"sentence dropped: `{SENTENCE.strip()}`", [sub(SENTENCE, "")]),
    ("rst", "cpython-docs-rst/howto/sorting", "cpython-docs-rst/howto/sorting.dup1", "near",
     "whitespace only: every `.` + two spaces became `.` + one space (19 places)",
     [sub(r"\.  ", ". ", count=19, literal=False)]),
    ("fortunes", "fortunes-de/hauptgericht/000", "fortunes-de/hauptgericht/000.dup1", "near",
     "quantity changed: `300 g Lasagnenudeln` -> `250 g Lasagnenudeln`",
     [sub("300 g Lasagnenudeln", "250 g Lasagnenudeln")]),
    ("fortunes", "fortunes-de/sprichworte/000", "fortunes-de/sprichworte/000.dup1", "exact",
     "identical text under a new id", []),
]

DEDENT_NOTE = ('    Note that tabs and spaces are both treated as whitespace, but they\n'
               '    are not equal: the lines "  hello" and "\\\\thello" are\n'
               '    considered to have no common leading whitespace.\n\n')
VENDOR_HEADER = "# Vendored copy of CPython 3.11 Lib/textwrap.py; docstring trimmed.\n"

# (planted path, original path, what changed) for the code tree.
CODE_PLANTS = [
    ("code/cpython-capi/tools/textwrap.py", "code/cpython-textutils/textwrap.py",
     "vendored copy: one header comment line added, the tabs-vs-spaces paragraph of "
     "`dedent()`'s docstring dropped"),
]


@dataclass
class Src:
    """A file taken from a package path, optionally transformed on the way."""

    path: str
    transform: Callable[[bytes], bytes] | None = None
    note: str = ""


def text_edit(*edits: Callable[[str], str]) -> Callable[[bytes], bytes]:
    def apply(data: bytes) -> bytes:
        text = data.decode("utf-8")
        for edit in edits:
            text = edit(text)
        return text.encode("utf-8")
    return apply


# --- licence texts --------------------------------------------------------------

def deb822_stanzas(copyright_file: str) -> list[dict[str, list[str]]]:
    """Parse a DEP-5 copyright file into stanzas of {field: [first line, continuations...]}."""
    stanzas = []
    for block in Path(copyright_file).read_text(encoding="utf-8").split("\n\n"):
        fields: dict[str, list[str]] = {}
        last = ""
        for line in block.splitlines():
            if line[:1] in (" ", "\t") and last:
                fields[last].append(line)
            elif ":" in line:
                last, _, rest = line.partition(":")
                fields[last] = [rest.strip()]
        stanzas.append(fields)
    return stanzas


def expat_body(dep5: str) -> str:
    """The licence text of the stand-alone `License: Expat` stanza, de-indented."""
    for st in deb822_stanzas(dep5):
        if "Files" not in st and st.get("License", [""])[0] == "Expat":
            body = "\n".join("" if ln.strip() == "." else ln[1:] for ln in st["License"][1:])
            if body.endswith("OTHER DEALINGS IN"):
                # python3-toml 0.10.2-1's copyright file loses the last line of the
                # Expat text; upstream's LICENSE (uiri/toml) ends like every MIT text.
                body += "\nTHE SOFTWARE."
            return body + "\n"
    raise SystemExit(f"build_corpus: no Expat licence text in {dep5}")


def toml_licence(_data: bytes) -> bytes:
    """python3-toml ships no LICENSE file, so rebuild it from its DEP-5 copyright file."""
    dep5 = "/usr/share/doc/python3-toml/copyright"
    files_all = next(st for st in deb822_stanzas(dep5) if st.get("Files") == ["*"])
    holders = "\n".join("Copyright " + h.strip() for h in files_all["Copyright"] if h.strip())
    return ("The MIT License\n\n" + holders + "\n\n" + expat_body(dep5)).encode("utf-8")


def psf_text() -> bytes:
    text = Path("/usr/lib/python3.11/LICENSE.txt").read_text(encoding="utf-8")
    start = text.index("PYTHON SOFTWARE FOUNDATION LICENSE VERSION 2\n")
    end = text.index("BEOPEN.COM LICENSE AGREEMENT")
    return (text[start:end].rstrip() + "\n").encode("utf-8")


def mit_text() -> bytes:
    body = expat_body("/usr/share/doc/python3-toml/copyright")
    return ("MIT License\n\nCopyright (c) <year> <copyright holders>\n\n" + body).encode("utf-8")


LICENCE_TEXTS = {
    "GPL-2.0-or-later": lambda: Path("/usr/share/common-licenses/GPL-2").read_bytes(),
    "MIT": mit_text,
    "PSF-2.0": psf_text,
}
LICENCE_ORIGINS = {
    "GPL-2.0-or-later": "base-files: `/usr/share/common-licenses/GPL-2`, verbatim",
    "MIT": "python3-toml: `License: Expat` paragraph of `/usr/share/doc/python3-toml/copyright` "
           "(its missing last line `THE SOFTWARE.` restored) under the SPDX template's title "
           "and copyright line",
    "PSF-2.0": "libpython3.11-stdlib: PSF section of `/usr/lib/python3.11/LICENSE.txt`",
}

# --- code repositories ------------------------------------------------------------

STDLIB = "/usr/lib/python3.11/"
INCLUDE = "/usr/include/python3.11/"
APT = "/usr/lib/python3/dist-packages/"
HEADERS = ("boolobject.h", "cpython/dictobject.h", "cpython/floatobject.h",
           "cpython/listobject.h", "cpython/tupleobject.h", "dictobject.h", "floatobject.h",
           "listobject.h", "longobject.h", "rangeobject.h", "setobject.h", "sliceobject.h",
           "tupleobject.h")


@dataclass
class Repo:
    spdx: str
    kind: str                      # permissive | copyleft
    licence_file: str | None       # None: the repo deliberately has no licence file
    copyright: list[str]
    files: dict[str, str | Src]
    copyright_by_file: dict[str, list[str]] = field(default_factory=dict)


CODE_REPOS = {
    "cpython-textutils": Repo(
        "PSF-2.0", "permissive", "LICENSE", [PSF_COPYRIGHT],
        {"LICENSE": STDLIB + "LICENSE.txt", "colorsys.py": STDLIB + "colorsys.py",
         "fnmatch.py": STDLIB + "fnmatch.py", "shlex.py": STDLIB + "shlex.py",
         "textwrap.py": STDLIB + "textwrap.py"},
        {"textwrap.py": ["1999-2001 Gregory P. Ward", "2002, 2003 Python Software Foundation"]}),
    "toml": Repo(
        "MIT", "permissive", "LICENSE",
        ["2013-2019 William Pearson", "2015-2016 Julien Enselme", "2016 Google Inc.",
         "2017 Samuel Vasko", "2017 Nate Prewitt", "2017 Jack Evans", "2019 Filippo Broggini"],
        {"LICENSE": Src("/usr/share/doc/python3-toml/copyright", toml_licence,
                        "MIT text and holders reconstructed from the DEP-5 file, "
                        "which lacks the final `THE SOFTWARE.`; restored"),
         **{f"toml/{m}.py": f"{APT}toml/{m}.py"
            for m in ("__init__", "decoder", "encoder", "ordered", "tz")}}),
    "python-apt": Repo(
        "GPL-2.0-or-later", "copyleft", "COPYING",
        ["2004-2009 Canonical Ltd.", "2009 Julian Andres Klode <jak@debian.org>",
         "2005 Gustavo Noronha Silva", "2006-2007 Sebastian Heinlein"],
        {"COPYING": "/usr/share/common-licenses/GPL-2",
         **{p: APT + p for p in ("apt/cdrom.py", "apt/progress/__init__.py",
                                 "apt/progress/base.py", "apt/progress/text.py", "apt/utils.py",
                                 "aptsources/__init__.py", "aptsources/_deb822.py")}}),
    "debianutils": Repo(
        "GPL-2.0-or-later", "copyleft", "COPYING",
        ["Guy Maor <maor@debian.org>", "Clint Adams <schizo@debian.org>"],
        {"COPYING": "/usr/share/common-licenses/GPL-2", "add-shell": "/usr/sbin/add-shell",
         "installkernel": "/sbin/installkernel", "remove-shell": "/usr/sbin/remove-shell",
         "update-shells": "/usr/sbin/update-shells"},
        {"installkernel": ["1995-1998 Ian A. Murdock <imurdock@debian.org>", "1998, 1999 Guy Maor",
                           "2002 Matthew Wilcox", "2002, 2004, 2005, 2007, 2009 Clint Adams",
                           "2009 Manoj Srivasta"],
         "update-shells": ["2021 Helmut Grohne <helmut@subdivi.de>"]}),
    "cpython-capi": Repo(
        "PSF-2.0", "permissive", None, [PSF_COPYRIGHT],
        {**{f"Include/{h}": INCLUDE + h for h in HEADERS},
         "tools/textwrap.py": Src(STDLIB + "textwrap.py",
                                  text_edit(sub('"""Text wrapping and filling.\n',
                                                VENDOR_HEADER + '"""Text wrapping and filling.\n'),
                                            sub(DEDENT_NOTE, "")),
                                  "planted near-duplicate, see below")},
        {"tools/textwrap.py": ["1999-2001 Gregory P. Ward", "2002, 2003 Python Software Foundation",
                               GLASSWORKS]}),
}


# --- SOURCES.md -------------------------------------------------------------------

LEFT_OUT = """\
- **fortunes-es** is left out: its copyright file puts only the collecting
  *programs* under the GPL and says the fortune texts are "presumed to be in
  the public domain" -- a presumption, not a licence from the quoted authors.
- **fortunes-it** is left out: its policy says the files "are not copyrighted,
  since they are a collection of quotations of which, almost entirely, we are
  not authors" and asks users to "consider this package freeware (public
  domain)"; again no grant from the people quoted.
- **fortunes-de** files left out although Debian declares the whole package
  GPL-2+: `zitate`, `fussball`, `letzteworte` and `mathematiker` (quotations
  credited to named, partly living people), `woerterbuch` (credits Douglas
  Adams and John Lloyd's book), `gedichte` (poems credited to Robert Gernhardt,
  Heinz Erhardt and Bettina Wegner, still in copyright), `kinderzitate`
  (quotes a published collection of school-essay bloopers), the chat and
  Usenet logs `infodrom`, `linuxtag` and `channel-debian.fortunes` (lines of
  named people), `asciiart` (not prose); the remaining files were simply not
  needed for a small sample. The kept files are recipes, Debian tips,
  proverbs and anonymous jokes and anecdotes; none credits a named author.
- What remains is still worth knowing about: the upstream README of
  fortunes-de says the database "was compiled from several postings in
  usenet, open mailing lists as well as web pages" and then puts it under the
  GPL; the corpus records what Debian declares (`GPL-2.0-or-later`, `Files: *`
  in `/usr/share/doc/fortunes-de/copyright`).
"""


def md_table(header: list[str], rows: list[list[str]]) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return out + ["| " + " | ".join(r) + " |" for r in rows]


def render_sources(b, rows) -> str:
    """SOURCES.md: purpose, per-file provenance with sha256, duplicates, licences, rebuild."""
    v, c = b.versions, b.counts
    lines = [
        "<!-- Generated by data/build_corpus.py; do not edit by hand. -->",
        "# Embedded demo corpus: sources", "",
        "A small, real, openly licensed corpus shipped inside the repository so that every",
        "glassworks stage (corpus pipeline, dedup, tokenizer, training, eval, release bundle)",
        "and its tests run offline on genuine data. Nothing here is synthetic: every file is",
        "cut from an installed Debian package by `data/build_corpus.py`, and the only edits",
        "are the planted duplicates listed below.", "",
        "Three shapes:", "",
        f"- `web/cpython-docs.warc.gz`: a WARC with one `warcinfo` record and {c['web_records']}",
        f"  `response` records ({c['web_pages']} CPython 3.11 documentation pages served as",
        "  `https://docs.python.org/3.11/<path>`, plus planted mirror copies under",
        f"  `{MIRROR_URL}`). WARC-Date is the date of the newest `python3.11-doc`",
        f"  changelog entry ({b.date}); WARC-Record-ID is uuid5 of the target URI.",
        f"- `text/*.jsonl`: one JSON object per line (`id`, `text`, `metadata` with `source`,",
        "  `source_version`, `origin`, `license` (SPDX), `language`; planted copies also carry",
        f"  `planted_from`). {c['rst_docs']} English reST sources of the CPython docs and",
        f"  {c['fortune_docs']} German documents of grouped fortunes (consecutive fortunes",
        f"  joined until a document has at least {FORTUNE_CHUNK_CHARS} characters).",
        f"- `code/<repo>/`: {c['code_repos']} small repositories of real code (Python, shell, C).", "",
        "## Rebuild", "", "```sh",
        "apt-get install " + " ".join(PACKAGES),
        "python data/build_corpus.py            # rewrites data/ in place",
        "python data/build_corpus.py --check    # rebuilds in a temp dir, compares sha256",
        "python data/build_corpus.py --licenses LICENSES   # also writes the licence texts",
        "```", "",
        "The script needs Python >= 3.11 and warcio. It exits 1 and prints the `apt-get",
        "install` line when a package is missing. Output is deterministic: same package",
        "versions give byte-identical files. The gzip members come from zlib; `--check`",
        "reports a WARC that differs only in compression as such.", "",
        "## Source packages", ""]
    lines += md_table(["package", "version"], [[f"`{p}`", f"`{v[p]}`"] for p in PACKAGES])
    lines += ["", "## Files", "",
              "Every file under `data/` except this one. Sizes in bytes.", ""]
    lines += md_table(["path", "origin", "licence", "bytes", "sha256"],
                      [[f"`{e.path}`", e.origin, e.spdx, str(size), f"`{digest}`"]
                       for e, size, digest in rows])
    lines += ["", "## Code repositories", "",
              "`licence file` is what a licence filter finds at the top of the repository;",
              "`none` means the repository has no licence file at all, although the true",
              "licence of its code is known (and is recorded in REUSE.toml and above).", ""]
    repo_rows = []
    for name, repo in sorted(CODE_REPOS.items()):
        pkgs = sorted({e.origin.split(":")[0] for e, _, _ in rows
                       if e.path.startswith(f"code/{name}/")})
        repo_rows.append([f"`code/{name}`", f"`{repo.licence_file}`" if repo.licence_file
                          else "none", repo.spdx, repo.kind, ", ".join(pkgs)])
    lines += md_table(["repo", "licence file", "licence", "kind", "packages"], repo_rows)
    lines += ["", "Notes: `code/toml/LICENSE` is reconstructed from the package's DEP-5 file because",
              "Debian does not ship upstream's LICENSE; that file's Expat text lacks its last",
              "line, `THE SOFTWARE.`, which the build restores (upstream's LICENSE has it). The",
              "`COPYING` files are",
              "`/usr/share/common-licenses/GPL-2`; `code/cpython-textutils/LICENSE` is CPython's",
              "own `LICENSE.txt`. `code/debianutils` leaves out `savelog` (SMAIL GPL) and `which`",
              "(public domain) so that the repository is GPL-2.0-or-later throughout.", "",
              "## Planted duplicates", "",
              "Exact: identical content under a new URI/id/path. Near: a small deterministic edit.", ""]
    lines += md_table(["shape", "type", "duplicate", "original", "edit"],
                      [[shape, kind, f"`{new}`", f"`{orig}`", what]
                       for shape, kind, new, orig, what in b.plants])
    lines += ["", "## Natural near-duplicates", "",
              "- Each `text/cpython-docs-rst.jsonl` document is the reST source of a page whose",
              "  rendered HTML is also in the WARC for the `faq`, `howto` and `tutorial` sections",
              "  (`metadata.url` is that page's URI); after HTML-to-text extraction the two are",
              "  near-duplicates, e.g. `cpython-docs-rst/tutorial/appetite` and",
              "  `https://docs.python.org/3.11/tutorial/appetite.html`.",
              "- All HTML pages share the Sphinx navigation, sidebar and footer boilerplate.",
              "- `code/debianutils/COPYING` and `code/python-apt/COPYING` are byte-identical",
              "  (both are the GPL-2 text), an exact duplicate that is not planted.", "",
              "## Non-English content", "",
              f"`text/fortunes-de.jsonl` is German (`metadata.language` = `de`), from {b.pkg('fortunes-de')}:",
              "recipes, Debian tips, proverbs, anecdotes and jokes, with umlauts and sharp s in UTF-8.", "",
              "## Licences", ""]
    lines += md_table(["SPDX id", "used for", "licence text"], [
        ["PSF-2.0", "CPython docs (HTML, reST), stdlib modules, C API headers",
         LICENCE_ORIGINS["PSF-2.0"]],
        ["GPL-2.0-or-later", "fortunes-de, python-apt, debianutils",
         LICENCE_ORIGINS["GPL-2.0-or-later"]],
        ["MIT", "toml (Debian calls it Expat)", LICENCE_ORIGINS["MIT"]],
        ["Apache-2.0", "`build_corpus.py`, `corpus_sources.py`, `REUSE.toml`", "glassworks"],
        ["CC-BY-4.0", "this file", "glassworks"]])
    lines += ["", "Code examples inside the CPython documentation are additionally available under",
              "0BSD (`/usr/lib/python3.11/LICENSE.txt`); the corpus records the documents as",
              "PSF-2.0, the licence of the documentation as a whole.", "",
              "Left out, and why:", "", LEFT_OUT]
    return "\n".join(lines)
