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
# The `Files: *` stanza of /usr/share/doc/sphinx-doc/copyright (same file in python3-sphinx).
SPHINX_COPYRIGHT = "2007-2022 the Sphinx team (see AUTHORS file)"
YAML_COPYRIGHT = "2006-2020, Kirill Simonov <xi@resolvent.net>"

# Every package a rebuild reads from; build_corpus.py refuses to run without them.
PACKAGES = ("sphinx-doc", "python3-sphinx", "libyaml-dev", "python3-toml", "python3-apt",
            "debianutils", "sword-text-sparv", "diatheke", "base-files")

DOCS_PACKAGE = "sphinx-doc"
HTML_ROOT = Path("/usr/share/doc/sphinx-doc/html")
DOCS_URL = "https://www.sphinx-doc.org/en/master/"   # every page's <link rel="canonical">
MIRROR_URL = "https://mirror.example.org/sphinx/5.3/"
# Pages and reST sources left out of both shapes, with the reason SOURCES.md gives.
DOCS_EXCLUDED = {
    "changes": "the changelog (889 KB of release notes)",
    "genindex": "generated index, no prose", "py-modindex": "generated index, no prose",
    "search": "the search page, no content",
    "internals/authors": "a list of contributors' names and e-mail addresses",
    "internals/code-of-conduct": "its text is credited to the Speak Up! project, not the "
                                 "Sphinx team",
}
RST_MIN_BYTES = 1000        # leaves out stubs that only `.. include::` another file
RST_MAX_BYTES = 100_000

# The second language: the Reina-Valera Bible of 1909 (Spanish), public domain. Debian
# has no German text that is public domain or CC0 (see "Left out"), so the second
# language moved from German to Spanish. diatheke (the SWORD project's command-line
# reader) renders the module; one document per chapter.
BIBLE_PACKAGE = "sword-text-sparv"
BIBLE_MODULE = "spaRV1909eb"
BIBLE_DEP5 = "/usr/share/doc/sword-text-sparv/copyright"
BIBLE_NAME = "reina-valera-1909"
# (diatheke's English book name, Spanish name for ids and headings, chapters)
BIBLE_CHAPTERS = [
    ("Ruth", "Rut", range(1, 5)), ("Jonah", "Jonás", range(1, 5)), ("Esther", "Ester", range(1, 11)),
    ("Proverbs", "Proverbios", range(1, 32)), ("Ecclesiastes", "Eclesiastés", range(1, 13)),
    ("James", "Santiago", range(1, 6)),
    ("Mark", "Marcos", range(1, 17)),
    # Two pairs of chapters that the Bible itself tells twice, in different words.
    ("II Samuel", "2 Samuel", [22]), ("Psalms", "Salmos", [14, 18, 53]),
]
NATURAL_BIBLE_DUPLICATES = [
    ("salmos/053", "salmos/014", "one psalm twice, with different wording in places (about 60% of "
     "the words align), a partial duplicate below the usual near-duplicate thresholds"),
    ("salmos/018", "2-samuel/022", "David's song of deliverance, told twice (about half the words "
     "align)")]


def sub(pattern: str, repl: str, count: int = 1, literal: bool = True) -> Callable[[str], str]:
    """An edit that must match exactly ``count`` times, so a changed source fails loudly."""
    regex = re.escape(pattern) if literal else pattern

    def apply(text: str) -> str:
        new, n = re.subn(regex, lambda _m: repl, text)
        if n != count:
            raise SystemExit(f"build_corpus: planted edit {pattern!r} matched {n}x, expected {count}")
        return new
    return apply


SENTENCE = "There we go! You created your first HTML documentation using Sphinx.\n"
FOOTER = ('Created using <a href="https://www.sphinx-doc.org/">Sphinx</a> 5.3.0.')
PDF_NOTE = (".. note::\n\n"
            "   Generating a PDF using Sphinx can be done running ``make latexpdf``,\n"
            "   provided that the system has a working LaTeX installation,\n"
            "   as explained in the documentation of :class:`sphinx.builders.latex.LaTeXBuilder`.\n"
            "   Although this is perfectly feasible, such installations are often big,\n"
            "   and in general LaTeX requires careful configuration in some cases,\n"
            "   so PDF generation is out of scope for this tutorial.\n")

# (page, exact|near, what changed, edits): re-served under MIRROR_URL.
WEB_PLANTS = [
    ("tutorial/getting-started.html", "near", f"sentence dropped: `{SENTENCE.strip()}`",
     [sub(SENTENCE, "")]),
    ("usage/quickstart.html", "near", "footer line `Created using Sphinx 5.3.0.` replaced by a "
     "mirror notice", [sub(FOOTER, "Mirrored from sphinx-doc.org by mirror.example.org.")]),
    ("usage/markdown.html", "near", "mirror banner `<div class=\"mirror-banner\">` inserted "
     "after `<body>`", [sub("<body>", "<body>\n<div class=\"mirror-banner\">You are reading an "
                            "unofficial mirror of the Sphinx documentation.</div>")]),
    ("tutorial/first-steps.html", "near", "navigation line changed: `Documentation` -> "
     "`Sphinx 5.3 docs (mirror)` (the breadcrumb)",
     [sub("Documentation</a> &raquo;", "Sphinx 5.3 docs (mirror)</a> &raquo;")]),
    ("tutorial/index.html", "exact", "byte-identical copy under the mirror URL", []),
]

# (source, original id, new id, exact|near, what changed, edits)
TEXT_PLANTS = [
    ("rst", "sphinx-docs-rst/tutorial/first-steps", "sphinx-docs-rst/tutorial/first-steps.dup1",
     "near", "last paragraph (the `.. note::` on PDF generation) dropped",
     [sub("\n" + PDF_NOTE, "")]),
    ("rst", "sphinx-docs-rst/tutorial/getting-started",
     "sphinx-docs-rst/tutorial/getting-started.dup1", "near",
     f"sentence dropped: `{SENTENCE.strip()}`", [sub(SENTENCE, "")]),
    ("rst", "sphinx-docs-rst/usage/quickstart", "sphinx-docs-rst/usage/quickstart.dup1", "near",
     "whitespace only: every `.` + two spaces became `.` + one space (33 places)",
     [sub(r"\.  ", ". ", count=33, literal=False)]),
    ("bible", "reina-valera-1909/jonas/001", "reina-valera-1909/jonas/001.dup1", "near",
     "one word changed: `ciudad grande` -> `ciudad muy grande` (verse 2)",
     [sub("Nínive, ciudad grande", "Nínive, ciudad muy grande")]),
    ("bible", "reina-valera-1909/rut/001", "reina-valera-1909/rut/001.dup1", "exact",
     "identical text under a new id", []),
]

SETUP_CFG_NOTE = ("\n    Or add this section in ``setup.cfg``::\n\n"
                  "       [build_sphinx]\n"
                  "       project = 'My project'\n"
                  "       version = 1.2\n"
                  "       release = 1.2.0\n")
VENDOR_HEADER = "# Vendored copy of sphinx/setup_command.py (Sphinx 5.3.0); docstring trimmed.\n"

# (planted path, original path, what changed) for the code tree.
CODE_PLANTS = [
    ("code/docs-vendor/tools/setup_command.py", "code/sphinx-utils/sphinx/setup_command.py",
     "vendored copy: one header comment line added, the `setup.cfg` paragraph of "
     "`BuildDoc`'s docstring dropped"),
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


SPHINX_DEP5 = "/usr/share/doc/sphinx-doc/copyright"
SPHINX_CODE_DEP5 = "/usr/share/doc/python3-sphinx/copyright"   # the same text, in the code's package
TOML_DEP5 = "/usr/share/doc/python3-toml/copyright"


def licence_body(dep5: str, name: str) -> str:
    """The text of the stand-alone `License: <name>` stanza of a DEP-5 file, de-indented."""
    for st in deb822_stanzas(dep5):
        if "Files" not in st and st.get("License", [""])[0] == name:
            return "\n".join("" if ln.strip() == "." else ln[1:] for ln in st["License"][1:]) + "\n"
    raise SystemExit(f"build_corpus: no {name} licence text in {dep5}")


def expat_body(dep5: str) -> str:
    body = licence_body(dep5, "Expat")
    if body.endswith("OTHER DEALINGS IN\n"):
        # python3-toml 0.10.2-1's copyright file loses the last line of the
        # Expat text; upstream's LICENSE (uiri/toml) ends like every MIT text.
        body += "THE SOFTWARE.\n"
    return body


def toml_licence(_data: bytes) -> bytes:
    """python3-toml ships no LICENSE file, so rebuild it from its DEP-5 copyright file."""
    files_all = next(st for st in deb822_stanzas(TOML_DEP5) if st.get("Files") == ["*"])
    holders = "\n".join("Copyright " + h.strip() for h in files_all["Copyright"] if h.strip())
    return ("The MIT License\n\n" + holders + "\n\n" + expat_body(TOML_DEP5)).encode("utf-8")


def sphinx_licence(_data: bytes) -> bytes:
    """python3-sphinx ships no LICENSE file either: the `Files: *` holders and BSD-2-clause text."""
    files_all = next(st for st in deb822_stanzas(SPHINX_CODE_DEP5) if st.get("Files") == ["*"])
    holders = "\n".join("Copyright " + h.strip() for h in files_all["Copyright"] if h.strip())
    return ("BSD 2-Clause License\n\n" + holders + "\nAll rights reserved.\n\n"
            + licence_body(SPHINX_CODE_DEP5, "BSD-2-clause")).encode("utf-8")


def sphinx_notice() -> str:
    """What BSD-2-Clause asks every redistributed copy to retain: holders, conditions, disclaimer.

    Carried in ``metadata.notice`` of each Sphinx document, so a document taken out of
    the corpus (or out of a released training set) still carries its licence.
    """
    files_all = next(st for st in deb822_stanzas(SPHINX_DEP5) if st.get("Files") == ["*"])
    holders = "\n".join("Copyright " + h.strip() for h in files_all["Copyright"] if h.strip())
    return (holders + "\nAll rights reserved.\n\n" + licence_body(SPHINX_DEP5, "BSD-2-clause"))


PUBLIC_DOMAIN = "LicenseRef-Public-Domain"


def public_domain_text() -> str:
    """The `License: public-domain` paragraph of the Reina-Valera package's `Files: *` stanza."""
    files_all = next(st for st in deb822_stanzas(BIBLE_DEP5) if st.get("Files") == ["*"])
    if files_all["License"][0] != "public-domain":
        raise SystemExit(f"build_corpus: {BIBLE_DEP5} no longer says public-domain")
    return "\n".join(ln.strip() for ln in files_all["License"][1:]) + "\n"


def mit_text() -> bytes:
    body = expat_body(TOML_DEP5)
    return ("MIT License\n\nCopyright (c) <year> <copyright holders>\n\n" + body).encode("utf-8")


def bsd2_text() -> bytes:
    body = licence_body(SPHINX_DEP5, "BSD-2-clause")
    return ("BSD 2-Clause License\n\nCopyright (c) <year> <owner>\n\n" + body).encode("utf-8")


LICENCE_TEXTS = {
    "BSD-2-Clause": bsd2_text,
    "GPL-2.0-or-later": lambda: Path("/usr/share/common-licenses/GPL-2").read_bytes(),
    "MIT": mit_text,
    PUBLIC_DOMAIN: lambda: ("Public domain\n\nThe text of the Reina-Valera Bible of 1909 is in the public "
                            "domain. Statement of its\npublisher, eBible.org, as Debian's sword-text-sparv "
                            "package records it:\n\n" + public_domain_text()).encode("utf-8"),
}
LICENCE_ORIGINS = {
    "BSD-2-Clause": "sphinx-doc: `License: BSD-2-clause` paragraph of "
                    "`/usr/share/doc/sphinx-doc/copyright` under the SPDX template's title "
                    "and copyright line",
    "GPL-2.0-or-later": "base-files: `/usr/share/common-licenses/GPL-2`, verbatim",
    PUBLIC_DOMAIN: "sword-text-sparv: `License: public-domain` paragraph of "
                   "`/usr/share/doc/sword-text-sparv/copyright`, under a title line",
    "MIT": "python3-toml: `License: Expat` paragraph of `/usr/share/doc/python3-toml/copyright` "
           "(its missing last line `THE SOFTWARE.` restored) under the SPDX template's title "
           "and copyright line",
}

# --- code repositories ------------------------------------------------------------

APT = "/usr/lib/python3/dist-packages/"
SPHINX_UTIL = ("docstrings", "matching", "png", "rst", "tags")


@dataclass
class Repo:
    spdx: str                      # the licence of the repository as a whole
    kind: str                      # permissive | copyleft
    licence_file: str | None       # None: the repo deliberately has no licence file
    copyright: list[str]
    files: dict[str, str | Src]
    copyright_by_file: dict[str, list[str]] = field(default_factory=dict)
    spdx_by_file: dict[str, str] = field(default_factory=dict)


CODE_REPOS = {
    "sphinx-utils": Repo(
        "BSD-2-Clause", "permissive", "LICENSE", [SPHINX_COPYRIGHT],
        {"LICENSE": Src(SPHINX_CODE_DEP5, sphinx_licence,
                        "BSD-2-clause text and holders reconstructed from the DEP-5 file"),
         "sphinx/setup_command.py": APT + "sphinx/setup_command.py",
         **{f"sphinx/util/{m}.py": f"{APT}sphinx/util/{m}.py" for m in SPHINX_UTIL}}),
    "toml": Repo(
        "MIT", "permissive", "LICENSE",
        ["2013-2019 William Pearson", "2015-2016 Julien Enselme", "2016 Google Inc.",
         "2017 Samuel Vasko", "2017 Nate Prewitt", "2017 Jack Evans", "2019 Filippo Broggini"],
        {"LICENSE": Src(TOML_DEP5, toml_licence,
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
    # No licence file, and no file states a licence: a licence filter cannot keep it,
    # although the true licences of its two files are known (MIT and BSD-2-Clause).
    "docs-vendor": Repo(
        "MIT AND BSD-2-Clause", "permissive", None, [YAML_COPYRIGHT],
        {"include/yaml.h": "/usr/include/yaml.h",
         "tools/setup_command.py": Src(APT + "sphinx/setup_command.py",
                                       text_edit(sub('"""Setuptools/distutils commands',
                                                     VENDOR_HEADER + '"""Setuptools/distutils '
                                                     'commands'),
                                                 sub(SETUP_CFG_NOTE, "")),
                                       "planted near-duplicate, see below")},
        {"tools/setup_command.py": [SPHINX_COPYRIGHT, GLASSWORKS]},
        {"include/yaml.h": "MIT", "tools/setup_command.py": "BSD-2-Clause"}),
}


# --- SOURCES.md -------------------------------------------------------------------

LEFT_OUT = """\
- **fortunes-de** (German, until December 2026 the second language): Debian
  declares the package `GPL-2.0-or-later` (`Files: *` in
  `/usr/share/doc/fortunes-de/copyright`), and its upstream README says the
  database "was compiled from several postings in usenet, open mailing lists as
  well as web pages". GPL text cannot be released inside training data under a
  permissive data licence, and the sayings' own authors never licensed them.
- **German text that is public domain or CC0** was looked for and not found in
  Debian 12 or on PyPI: the German documentation packages (`maint-guide-de`,
  `debian-faq-de`, `debian-reference-de`, `udo-doc-de`, `debian-edu-doc-de`) are
  GPL or carry a verbatim-copying licence, `ubuntu-packaging-guide-html-de` is
  CC-BY-SA-3.0, the typing-tutor texts (`klavaro`: German Wikipedia paragraphs
  declared GPL-3+) and word lists (`wngerman`, `diceware`) are GPL or not prose,
  and Debian packages no German Bible. The Reina-Valera Bible of 1909, whose
  Debian copyright file says "This work is not copyrighted. It is in the Public
  Domain.", took its place: real prose in a second language, with accents, `ñ`,
  `¿` and `¡`.
- **display-dhammapada**'s Polish translation is declared public domain by its
  translator but is itself translated from a copyrighted English translation
  (Acharya Buddharakkhita's), and its header asks that the source be cited; left
  out as unclear. **fortunes-eo** (Zamenhof's proverbs, author died 1917) is
  public domain in substance, but its digitiser offers the GPL "in case there
  is a need for it"; left out for the same reason.
- **fortunes-es** and **fortunes-it** say the quoted texts are "presumed to be
  in the public domain" or "not copyrighted", without any grant from the people
  quoted.
"""


def md_table(header: list[str], rows: list[list[str]]) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return out + ["| " + " | ".join(r) + " |" for r in rows]


def render_sources(b, rows) -> str:
    """SOURCES.md: purpose, per-file provenance with sha256, duplicates, licences, rebuild."""
    from corpus_release import release_section
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
        f"- `web/sphinx-docs.warc.gz`: a WARC with one `warcinfo` record and {c['web_records']}",
        f"  `response` records ({c['web_pages']} pages of the Sphinx 5.3 documentation served as",
        f"  `{DOCS_URL}<path>` (their canonical URL), plus planted mirror copies",
        f"  under `{MIRROR_URL}`). WARC-Date is the date of the newest `{DOCS_PACKAGE}`",
        f"  changelog entry ({b.date}); WARC-Record-ID is uuid5 of the target URI.",
        f"- `text/*.jsonl`: one JSON object per line (`id`, `text`, `metadata` with `source`,",
        "  `source_version`, `origin`, `license` (SPDX), `notice` (the licence notice the",
        "  document must keep), `language`; planted copies also carry `planted_from`).",
        f"  {c['rst_docs']} English reST sources of the Sphinx docs and {c['bible_docs']} Spanish",
        f"  chapters of the Reina-Valera Bible of 1909 (one document per chapter).",
        f"- `code/<repo>/`: {c['code_repos']} small repositories of real code (Python, shell, C).", "",
        "## Why Sphinx, not CPython", "",
        "Until November 2026 the English documents were CPython's documentation and the",
        "permissive code was CPython's, both under PSF-2.0. The SPDX licence list flags",
        "PSF-2.0 neither OSI-approved nor FSF-libre, so the Model Openness Framework does not",
        "count it as an open licence and a release built from this corpus could not be",
        "Class I. Sphinx's documentation and code are BSD-2-Clause (`Files: *` in",
        f"`/usr/share/doc/{DOCS_PACKAGE}/copyright`), an OSI-approved licence.", "",
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
    lines += ["", "Notes: `code/toml/LICENSE` and `code/sphinx-utils/LICENSE` are reconstructed",
              "from the packages' DEP-5 files (holders of the `Files: *` paragraph, then the",
              "licence paragraph) because Debian does not ship upstream's LICENSE files;",
              "python3-toml's Expat text lacks its last line, `THE SOFTWARE.`, which the build",
              "restores (upstream's LICENSE has it). The `COPYING` files are",
              "`/usr/share/common-licenses/GPL-2`. `code/docs-vendor` has no licence file and no",
              "file in it states a licence: `include/yaml.h` (libyaml, `License: Expat`, i.e.",
              "MIT, in `/usr/share/doc/libyaml-dev/copyright`) and a vendored Sphinx module",
              "(BSD-2-Clause). `code/debianutils` leaves out `savelog` (SMAIL GPL) and `which`",
              "(public domain) so that the repository is GPL-2.0-or-later throughout.", "",
              "## Planted duplicates", "",
              "Exact: identical content under a new URI/id/path. Near: a small deterministic edit.", ""]
    lines += md_table(["shape", "type", "duplicate", "original", "edit"],
                      [[shape, kind, f"`{new}`", f"`{orig}`", what]
                       for shape, kind, new, orig, what in b.plants])
    lines += ["", "## Natural near-duplicates", "",
              "- Each `text/sphinx-docs-rst.jsonl` document is the reST source of a page",
              "  (`metadata.url` is that page's URI); for "
              f"{c['rst_in_web']} of the {c['rst_docs']} the rendered page is also in",
              "  the WARC, and after HTML-to-text extraction the two are near-duplicates, e.g.",
              "  `sphinx-docs-rst/tutorial/first-steps` and",
              f"  `{DOCS_URL}tutorial/first-steps.html`.",
              "- All HTML pages share the Sphinx navigation, sidebar and footer boilerplate.",
              "- `code/debianutils/COPYING` and `code/python-apt/COPYING` are byte-identical",
              "  (both are the GPL-2 text), an exact duplicate that is not planted.",
              *[f"- `{BIBLE_NAME}/{a}` and `{BIBLE_NAME}/{o}`: {why}." for a, o, why in
                NATURAL_BIBLE_DUPLICATES], "",
              "## Non-English content", "",
              f"`text/{BIBLE_NAME}.jsonl` is Spanish (`metadata.language` = `es`), from",
              f"{b.pkg(BIBLE_PACKAGE)}: narrative (Rut, Jonás, Ester, Marcos), wisdom (Proverbios,",
              "Eclesiastés),",
              "a letter (Santiago) and psalms, in the spelling of 1909 (`á` as a word, `fué`),",
              "with accents, `ñ`, `¿` and `¡` in UTF-8.", "",
              "## Licences", ""]
    lines += md_table(["SPDX id", "used for", "licence text"], [
        ["BSD-2-Clause", "Sphinx docs (HTML, reST), Sphinx modules",
         LICENCE_ORIGINS["BSD-2-Clause"]],
        [PUBLIC_DOMAIN, "the Reina-Valera Bible of 1909", LICENCE_ORIGINS[PUBLIC_DOMAIN]],
        ["GPL-2.0-or-later", "python-apt, debianutils",
         LICENCE_ORIGINS["GPL-2.0-or-later"]],
        ["MIT", "toml (Debian calls it Expat), libyaml's `yaml.h`", LICENCE_ORIGINS["MIT"]],
        ["Apache-2.0", "`build_corpus.py`, `corpus_sources.py`, `corpus_release.py`, `REUSE.toml`",
         "glassworks"],
        ["CC-BY-4.0", "this file", "glassworks"]])
    lines += ["", "The Sphinx HTML pages are taken without their JavaScript and CSS (`_static/`:",
              "jQuery and underscore.js are MIT, the stemmers BSD-3-Clause per the copyright",
              "file), without `_modules/` (highlighted source code, some of it from",
              "sphinxcontrib-websupport) and without these pages and their reST sources:", ""]
    lines += [f"- `{name}`: {why}" for name, why in DOCS_EXCLUDED.items()]
    lines += ["", "Left out, and why:", "", LEFT_OUT]
    return "\n".join(lines + release_section())
