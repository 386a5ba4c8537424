"""REUSE metadata of a bundle, derived from its ``model.yml``: ``REUSE.toml`` and ``LICENSES/``.

Every MOF component's path is annotated with the component's licence; the bundle's own
records (manifests, model.yml, croissant.json, reports) and any file added after the build
(a signature, publish metadata) fall under a catch-all annotation with the document
licence, so ``reuse lint`` still passes once a signer or publisher adds files. In REUSE.toml
the last matching annotation wins, so annotations are written from the broadest path to the
most specific. ``LICENSES/`` holds exactly the texts the annotations use.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from glassworks.errors import GlassworksError

REUSE_FILE = "REUSE.toml"
# Files that are not a MOF component but ship with one: (bundle glob, component whose licence they carry).
COMPANIONS = (
    ("hf/**", "Model parameters (Final)"),  # the Hugging Face export of the final weights
    ("tokenizer/**", "Model parameters (Final)"),  # trained with the model, loaded with its weights
)
CODE_COMPANIONS = ("corpus/recipes/**",)  # configs of the code that made the data: the code licence


def _glob(path: str) -> str:
    return path.rstrip("/") + "/**" if path.endswith("/") else path


def _depth(glob: str) -> tuple[int, int]:
    """Broadest first: ``**``, then fewer folders first, a folder's ``**`` before a file at the same depth."""
    if glob == "**":
        return -1, 0
    return glob.removesuffix("/**").count("/"), 0 if glob.endswith("/**") else 1


def source_holders(data_dir: Path) -> list[str]:
    """Copyright holders of the raw sources, from ``data_dir/REUSE.toml`` (corpus files only)."""
    from glassworks.release.bundle.notices import corpus_annotations

    return sorted({h for _, holders in corpus_annotations(data_dir).values() for h in holders})


def annotations(mof: dict, producer: str, year: str, default_licence: str,
                data_holders: list[str] = (), content: dict[str, tuple[str, list[str]]] | None = None) -> list[dict]:
    """The REUSE.toml annotations of a bundle described by ``mof`` (broadest first).

    The data components (datasets, evaluation data) name the sources' own holders beside the
    producer: compiling the documents does not transfer their authors' copyright. ``content``
    gives data folders (``corpus/documents/``) the expression of the component's licence and the
    documents' own licences (``notices.data_terms``).
    """
    ours = f"{year} {producer}"
    by_name = {c["name"]: c for c in mof["release"]["components"]}
    notes: dict[str, tuple[str, list[str]]] = {"**": (default_licence, [ours])}
    for comp in by_name.values():
        holders = [ours, *(h for h in data_holders if h != ours)] if comp["name"] in ("Datasets", "Evaluation data") \
            else [ours]
        notes[_glob(comp["component_path"])] = (comp["license"], holders)
    for glob, owner in COMPANIONS:
        if owner in by_name:
            notes.setdefault(glob, (by_name[owner]["license"], [ours]))
    for folder, (expression, holders) in (content or {}).items():
        notes[_glob(folder)] = (expression, [ours, *(h for h in holders if h != ours)])
    code = mof["release"].get("license", {}).get("code", {}).get("name")
    if code and "Datasets" in by_name:
        for glob in CODE_COMPANIONS:
            notes.setdefault(glob, (code, [ours]))
    return [{"path": glob, "precedence": "override", "SPDX-FileCopyrightText": holders,
             "SPDX-License-Identifier": licence}
            for glob, (licence, holders) in sorted(notes.items(), key=lambda kv: (_depth(kv[0]), kv[0]))]


def _toml_string(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def render(notes: list[dict]) -> str:
    lines = ["# REUSE metadata of this release bundle (REUSE specification 3.x), written by `glassworks",
             "# release build` from model.yml: each MOF component's files carry its licence. The first",
             "# annotation covers the bundle's own records and files added after the build (signatures,",
             "# publish metadata); when several match a file, the last one wins.",
             "version = 1"]
    for note in notes:
        holders = ", ".join(_toml_string(h) for h in note["SPDX-FileCopyrightText"])
        lines += ["", "[[annotations]]", f"path = {_toml_string(note['path'])}",
                  f"precedence = {_toml_string(note['precedence'])}", f"SPDX-FileCopyrightText = [{holders}]",
                  f"SPDX-License-Identifier = {_toml_string(note['SPDX-License-Identifier'])}"]
    return "\n".join(lines) + "\n"


def write_reuse(bundle: Path, mof: dict, producer: str, year: str, default_licence: str, texts: Path,
                data_holders: list[str] = (), content: dict[str, tuple[str, list[str]]] | None = None) -> list[str]:
    """Write ``REUSE.toml`` and ``LICENSES/<id>.txt`` for exactly the licences it uses (texts
    from ``texts``); returns those ids."""
    notes = annotations(mof, producer, year, default_licence, data_holders, content)
    components = {c["license"] for c in mof["release"]["components"]}
    for spdx in sorted(components):
        if " " in spdx or "(" in spdx:
            raise GlassworksError(f"licence {spdx!r}: a bundle component carries one SPDX id, not an expression "
                                  "(the Model Openness Tool looks the whole string up as one id)")
    ids = sorted({part for n in notes for part in n["SPDX-License-Identifier"].split(" AND ")})
    for spdx in ids:
        if not (texts / f"{spdx}.txt").is_file():
            raise GlassworksError(f"{texts / f'{spdx}.txt'}: no text for licence {spdx}; add it to {texts} "
                                  "(REUSE layout) before releasing")
    folder = bundle / "LICENSES"
    if folder.is_dir():
        shutil.rmtree(folder)
    folder.mkdir()
    for spdx in ids:
        shutil.copyfile(texts / f"{spdx}.txt", folder / f"{spdx}.txt")
    (bundle / REUSE_FILE).write_text(render(notes), encoding="utf-8")
    return ids


def lint(bundle: Path) -> list[str]:
    """What ``reuse lint`` finds wrong in ``bundle`` (empty when it complies)."""
    from reuse.project import Project
    from reuse.report import ProjectReport

    report = ProjectReport.generate(Project.from_directory(bundle), multiprocessing=False)
    if report.is_compliant:
        return []
    problems = [f"{kind}: {', '.join(sorted(str(p) for p in items))}" for kind, items in (
        ("bad licences", report.bad_licenses), ("deprecated licences", report.deprecated_licenses),
        ("licences without a text", report.missing_licenses), ("unused licence texts", report.unused_licenses),
        ("files without licence", report.files_without_licenses),
        ("files without copyright", report.files_without_copyright)) if items]
    return problems or ["not REUSE compliant (see `reuse lint`)"]
