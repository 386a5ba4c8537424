"""Which programming language a file is written in, from its name, extension or shebang.

The names are GitHub Linguist's, as The Stack uses them. Extensions that Linguist resolves
by content are fixed here to their most common language: ``.h`` is C (as the code reader
says), ``.m`` Objective-C (not MATLAB), ``.pl`` Perl (not Prolog), ``.v`` Verilog (not
Coq). Whole file names (Makefile, Dockerfile) are looked at before extensions, and the
shebang line only when neither says anything.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from datatrove.data import Document, DocumentsPipeline
from datatrove.pipeline.base import PipelineStep
from datatrove.pipeline.filters.base_filter import BaseFilter

from glassworks.pipeline.documents import is_settled

_EXTENSIONS = {
    "Ada": ".adb .ads", "Assembly": ".asm .s .nasm", "Awk": ".awk", "Batchfile": ".bat .cmd",
    "C": ".c .h", "C#": ".cs", "C++": ".cc .cpp .cxx .c++ .hh .hpp .hxx .h++ .ipp .tpp",
    "Clojure": ".clj .cljs .cljc .edn", "CMake": ".cmake", "Common Lisp": ".lisp .lsp .cl",
    "CSS": ".css", "Cuda": ".cu .cuh", "D": ".d", "Dart": ".dart", "Dockerfile": ".dockerfile",
    "Elixir": ".ex .exs", "Elm": ".elm", "Emacs Lisp": ".el", "Erlang": ".erl .hrl", "F#": ".fs .fsi .fsx",
    "Fortran": ".f .f77 .f90 .f95 .f03 .f08 .for", "Go": ".go", "GraphQL": ".graphql .gql",
    "Groovy": ".groovy .gradle", "Haskell": ".hs .lhs", "HCL": ".hcl .tf", "HTML": ".html .htm .xhtml",
    "Java": ".java", "JavaScript": ".js .mjs .cjs .jsx", "JSON": ".json", "Julia": ".jl",
    "Jupyter Notebook": ".ipynb", "Kotlin": ".kt .kts", "Less": ".less", "Lua": ".lua", "Makefile": ".mk .mak",
    "Markdown": ".md .markdown", "Nim": ".nim", "Nix": ".nix", "Objective-C": ".m", "Objective-C++": ".mm",
    "OCaml": ".ml .mli", "Pascal": ".pas .pp", "Perl": ".pl .pm .t", "PHP": ".php .phtml",
    "PowerShell": ".ps1 .psm1 .psd1", "Protocol Buffer": ".proto", "Python": ".py .pyi .pyw .pyx",
    "R": ".r", "Racket": ".rkt", "reStructuredText": ".rst", "Ruby": ".rb .rake .gemspec", "Rust": ".rs",
    "Scala": ".scala .sc", "Scheme": ".scm .ss", "SCSS": ".scss", "Shell": ".sh .bash .zsh .ksh",
    "Solidity": ".sol", "SQL": ".sql", "Svelte": ".svelte", "Swift": ".swift", "Tcl": ".tcl", "TeX": ".tex .sty .cls",
    "Text": ".txt", "TOML": ".toml", "TypeScript": ".ts .tsx .mts .cts", "Verilog": ".v .vh", "VHDL": ".vhd .vhdl",
    "Visual Basic .NET": ".vb", "Vue": ".vue", "XML": ".xml .xsd .xsl", "YAML": ".yaml .yml", "Zig": ".zig",
}
EXTENSIONS = {ext: lang for lang, exts in _EXTENSIONS.items() for ext in exts.split()}
"""Lower-case extension (with its dot) to language."""

FILENAMES = {
    "makefile": "Makefile", "gnumakefile": "Makefile", "dockerfile": "Dockerfile", "containerfile": "Dockerfile",
    "cmakelists.txt": "CMake", "rakefile": "Ruby", "gemfile": "Ruby", "vagrantfile": "Ruby", "podfile": "Ruby",
    "jenkinsfile": "Groovy", ".bashrc": "Shell", ".bash_profile": "Shell", ".profile": "Shell", ".zshrc": "Shell",
    "pkgbuild": "Shell", "build.bazel": "Starlark", "workspace": "Starlark", "meson.build": "Meson",
}
"""Lower-case whole file name to language; ``Dockerfile.<anything>`` counts as Dockerfile."""

INTERPRETERS = {
    "python": "Python", "sh": "Shell", "bash": "Shell", "dash": "Shell", "zsh": "Shell", "ksh": "Shell",
    "perl": "Perl", "ruby": "Ruby", "node": "JavaScript", "php": "PHP", "lua": "Lua", "rscript": "R",
    "tclsh": "Tcl", "wish": "Tcl", "awk": "Awk", "gawk": "Awk", "pwsh": "PowerShell", "julia": "Julia",
}
"""Shebang interpreter (version digits stripped: python3.11 is python) to language."""

SHEBANG = re.compile(r"#!\s*\S*/(?:env\s+(?:-\S+\s+)*)?([A-Za-z]+)")
LANGUAGES = frozenset(_EXTENSIONS) | frozenset(FILENAMES.values())
"""Every language this module can name."""


def detect_language(path: str, text: str) -> str | None:
    """The language of a file from its path (file name, then extension), else its shebang."""
    name = PurePosixPath(path).name.lower()
    if name in FILENAMES:
        return FILENAMES[name]
    if name.startswith("dockerfile."):
        return "Dockerfile"
    suffix = PurePosixPath(name).suffix
    if suffix in EXTENSIONS:
        return EXTENSIONS[suffix]
    match = SHEBANG.match(text)
    return INTERPRETERS.get(match.group(1).lower()) if match else None


class LanguageTagger(PipelineStep):
    """Set ``metadata["language"]`` from this module's map, replacing the reader's shorter one.

    The path is ``metadata["path"]`` (the code reader's), else the document id.
    """

    name = "🏷 language tagger"
    type = "🏷 - ANNOTATE"

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        for doc in data:
            if not is_settled(doc):
                doc.metadata["language"] = detect_language(doc.metadata.get("path", doc.id), doc.text[:200])
                self.stat_update(f"language/{doc.metadata['language'] or 'unknown'}")
            yield doc


@dataclass(frozen=True)
class LanguageFilterConfig:
    keep: frozenset[str] = field(default_factory=lambda: LANGUAGES - {"Text"})
    """Languages whose files pass; by default every language named here except plain text."""


class LanguageFilter(BaseFilter):
    """Keep files in the configured languages; reject others as ``language:<name or unknown>``.

    Reads ``metadata["language"]`` as ``LanguageTagger`` (or the code reader) set it.
    """

    name = "🔤 language filter"

    def __init__(self, config: LanguageFilterConfig = LanguageFilterConfig()):
        super().__init__()
        unknown = sorted(set(config.keep) - LANGUAGES)
        if unknown:
            raise ValueError(f"LanguageFilter: unknown language(s) {unknown}; known: {sorted(LANGUAGES)}")
        self.config = config

    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        language = doc.metadata.get("language")
        if language in self.config.keep:
            return True
        return False, f"language:{language or 'unknown'}"
