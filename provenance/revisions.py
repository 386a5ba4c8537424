"""On which revision of a published repository each intermediate checkpoint ships.

``release publish`` (to the Hub, or to a local folder, which gets the same git layout) keeps
``main`` to the bundle without its intermediate checkpoints and puts each of those on a
branch of its own, made from ``main``. It writes ``revisions.json`` into ``main`` before the
branches are made, so every revision holds the same file::

    {"format": "glassworks-revisions/1", "default": "main",
     "checkpoints": {"checkpoints/step1/": "step1-tokens1K", ...},
     "root_exports": {"main": {"from": "hf/", "files": {"config.json": SHA256, ...}},
                      "step1-tokens1K": {"from": "checkpoints/step1/", "files": {...}}}}

``checkpoints`` says where each intermediate checkpoint folder went; ``root_exports`` which
Hugging Face export sits at the repository root of each revision (so that
``from_pretrained(repo, revision=...)`` loads that checkpoint), and its files' sha256.

The file is written after the bundle was recorded, so it is never taken on its word
(``check_claims``): a claim holds only for a whole folder ``checkpoints/<name>/`` other than
``final`` whose files the bundle's own record lists, and that a checkout holds entirely (it
is that checkpoint's revision) or not at all (the files are reported as shipping elsewhere,
not checked here). Any other claim is a failure, and the files it names fail as missing, so
editing revisions.json cannot hide a deleted file. A signed bundle adds the signature's own
guard: the claimed folders must be intermediate checkpoint folders of the signed statement.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

FILE = "revisions.json"
FORMAT = "glassworks-revisions/1"
DEFAULT = "main"
# git's ref-name rules, narrowed to what the Hub accepts for a branch and what glassworks makes
_REVISION = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,95}$")
_CHECKPOINT = re.compile(r"^checkpoints/([^/]+)/$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
# files git or the Hub add to every checkout, outside the bundle: the Hub's first commit
# ("initial commit") holds a .gitattributes, and a clone holds its .git/
GIT_METADATA = (".gitattributes",)


class RevisionsError(ValueError):
    """revisions.json is present but not one glassworks wrote (the message names the field)."""


@dataclass
class Revisions:
    default: str = DEFAULT
    checkpoints: dict[str, str] = field(default_factory=dict)  # "checkpoints/<name>/" -> revision
    root_exports: dict[str, dict] = field(default_factory=dict)  # revision -> {"from": folder, "files": {name: sha}}

    def as_json(self) -> dict:
        return {"format": FORMAT, "default": self.default, "checkpoints": dict(sorted(self.checkpoints.items())),
                "root_exports": {rev: {"from": e["from"], "files": dict(sorted(e["files"].items()))}
                                 for rev, e in sorted(self.root_exports.items())}}

    def to_bytes(self) -> bytes:
        """Canonical JSON (sorted keys) with a final newline: the same bundle gives the same bytes."""
        return (json.dumps(self.as_json(), indent=1, sort_keys=True, ensure_ascii=False) + "\n").encode("utf-8")

    def revision_of(self, rel: str) -> str | None:
        """The revision a claimed checkpoint file ships on, else None."""
        for prefix, revision in self.checkpoints.items():
            if rel.startswith(prefix):
                return revision
        return None


def parse_revisions(value, where: str = FILE) -> Revisions:
    """A Revisions from the parsed JSON, or RevisionsError naming what is wrong."""
    if not isinstance(value, dict) or value.get("format") != FORMAT:
        raise RevisionsError(f"{where}: not a glassworks revision map (format must be {FORMAT!r})")
    default = value.get("default", DEFAULT)
    checkpoints = value.get("checkpoints", {})
    exports = value.get("root_exports", {})
    if not isinstance(default, str) or not _REVISION.match(default):
        raise RevisionsError(f"{where}: default {default!r} is not a revision name")
    if not isinstance(checkpoints, dict) or not isinstance(exports, dict):
        raise RevisionsError(f"{where}: checkpoints and root_exports must be objects")
    for prefix, revision in checkpoints.items():
        if not isinstance(revision, str) or not _REVISION.match(revision) or revision == default:
            raise RevisionsError(f"{where}: checkpoints[{prefix!r}] = {revision!r} is not a branch name "
                                 f"other than {default!r}")
    for revision, export in exports.items():
        files = export.get("files") if isinstance(export, dict) else None
        if (not _REVISION.match(str(revision)) or not isinstance(export.get("from"), str) or not isinstance(files, dict)
                or not all(isinstance(k, str) and "/" not in k and isinstance(v, str) and _SHA256.match(v)
                           for k, v in files.items())):
            raise RevisionsError(f"{where}: root_exports[{revision!r}] must be {{\"from\": FOLDER, \"files\": "
                                 "{ROOT_FILE: SHA256}}")
    return Revisions(default, dict(checkpoints), dict(exports))


def read_revisions(root: Path) -> Revisions | None:
    """The revision map at the root of a checkout; None when there is none."""
    path = Path(root) / FILE
    if not path.is_file() or path.is_symlink():
        return None
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise RevisionsError(f"{FILE}: cannot be read as JSON ({exc})") from exc
    return parse_revisions(value)


@dataclass
class Claims:
    """What a checkout makes of a revision map, checked against the record."""

    elsewhere: dict[str, str] = field(default_factory=dict)  # checkpoint folder absent here -> its revision
    here: dict[str, str] = field(default_factory=dict)  # checkpoint folder held here -> its revision
    problems: list[tuple[str, str]] = field(default_factory=list)  # (subject, why): each one fails
    revision: str | None = None  # the revision this checkout is, judged from its files

    def revision_of(self, rel: str) -> str | None:
        """The other revision a recorded file ships on, when the claim holds; else None."""
        for prefix, revision in self.elsewhere.items():
            if rel.startswith(prefix):
                return revision
        return None


def check_claims(revisions: Revisions, recorded: set[str], present: set[str]) -> Claims:
    """Hold each claim of ``revisions`` against ``recorded`` (the bundle paths the record lists)
    and ``present`` (the files of this checkout)."""
    claims = Claims()
    for prefix, revision in sorted(revisions.checkpoints.items()):
        match = _CHECKPOINT.match(prefix)
        if not match or match.group(1) in ("final", ".", "..") or match.group(1).startswith("."):
            claims.problems.append((FILE, f"claims {prefix!r} ships on {revision!r}, but only an intermediate "
                                    "checkpoint folder (checkpoints/<name>/, not final) may ship on another revision"))
            continue
        files = {rel for rel in recorded if rel.startswith(prefix)}
        if not files:
            claims.problems.append((FILE, f"claims {prefix!r} ships on {revision!r}, but the bundle's record lists "
                                    "no file there"))
            continue
        held = files & present
        if not held:
            claims.elsewhere[prefix] = revision
        elif held == files:
            claims.here[prefix] = revision
        else:
            claims.problems.append((prefix, f"{len(files - held)} of {len(files)} recorded files missing: a checkpoint "
                                    f"ships whole, on {revision!r} or here, never in part"))
    if len(set(claims.here.values())) == 1 and not claims.problems:
        claims.revision = next(iter(claims.here.values()))
    elif not claims.here:
        claims.revision = revisions.default
    return claims


def tensor_digests(path: Path) -> Counter | str:
    """The multiset of (dtype, shape, sha256 of the bytes) of a safetensors file's tensors, or why
    it cannot be read. Names are left out, so an export that renames tensors (glassworks names
    to Hugging Face names) compares equal to its source exactly when every tensor's bytes do."""
    import hashlib
    import struct

    try:
        with open(path, "rb") as handle:
            size = struct.unpack("<Q", handle.read(8))[0]
            if size > 100 * 2**20:
                return f"header of {size} bytes: not a safetensors file"
            header = json.loads(handle.read(size))
            out: Counter = Counter()
            base = 8 + size
            for name, info in sorted(header.items()):
                if name == "__metadata__":
                    continue
                begin, end = info["data_offsets"]
                handle.seek(base + begin)
                digest, left = hashlib.sha256(), end - begin
                while left > 0:
                    block = handle.read(min(left, 1 << 20))
                    if not block:
                        return f"{name}: data ends before its offsets"
                    digest.update(block)
                    left -= len(block)
                out[(info["dtype"], tuple(info["shape"]), digest.hexdigest())] += 1
            return out
    except (OSError, ValueError, KeyError, TypeError, struct.error, RecursionError) as exc:
        return f"not a readable safetensors file ({exc})"


def bundle_claims(root: Path) -> Claims | None:
    """The claims of ``root``'s revision map held against its bundle record (the manifests of
    the stage that wrote the bundle) and its files; None when it has no revision map. Cheap:
    paths only, no hashing (``audit verify`` checks the bytes)."""
    from glassworks.errors import GlassworksError
    from glassworks.provenance.manifest import load_manifest, validate_manifest
    from glassworks.provenance.paths import walk_files
    from glassworks.provenance.verify import GIT_DIR, writes_bundle

    root = Path(root)
    revisions = read_revisions(root)
    if revisions is None:
        return None
    recorded: set[str] = set()
    for file in sorted((root / "manifests").glob("*.json")):
        try:
            manifest = load_manifest(file)
        except GlassworksError:
            continue  # audit verify names it
        if not validate_manifest(manifest) and writes_bundle(manifest):
            recorded |= {rec["path"] for side in ("inputs", "outputs") for rec in manifest[side]["files"]
                         if rec.get("root", "run") == "run"}
    present = {e.rel for e in walk_files(root, skip=(f"{GIT_DIR}/",)) if e.kind == "file"}
    return check_claims(revisions, recorded, present)
