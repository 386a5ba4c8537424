"""What only a release bundle can be checked for: its code, its MOF description, its checkpoints.

A bundle (``model.yml`` + ``manifests/``, layout in ARCHITECTURE.md) ships the code as a
``git archive`` of a commit. git writes the commit id into the archive's pax header, so the
code identity every manifest records (commit, dirty flag, glassworks version) can be checked
against the code that is actually in the bundle, without unpacking or running any of it.
The archive is read as a stream, member by member: raw inputs embedded in the repository
(the demo corpus in ``data/``) are hashed straight out of it.

``model.yml`` is read with a YAML loader that builds only plain values and refuses aliases
(no object construction, no alias bombs); every file it names must be inside the bundle and
there. Checkpoints are checked as safetensors (a JSON header and raw bytes: the header is
parsed, its offsets checked against the file size); pickle files are never opened.
"""

from __future__ import annotations

import hashlib
import json
import re
import struct
import tarfile
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from glassworks.provenance.hashing import BLOCK
from glassworks.provenance.paths import UnsafePath, resolve_inside

MOF_FILE = "model.yml"
MAX_YAML_BYTES = 4 << 20
MAX_SAFETENSORS_HEADER = 100 << 20
ARCHIVE_SUFFIXES = (".tar", ".tar.gz", ".tgz", ".tar.xz", ".tar.bz2")
PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".pkl", ".pickle", ".ckpt")
SAFETENSORS_DTYPES = {"BOOL": 1, "U8": 1, "I8": 1, "F8_E5M2": 1, "F8_E4M3": 1, "I16": 2, "U16": 2, "F16": 2,
                      "BF16": 2, "I32": 4, "U32": 4, "F32": 4, "I64": 8, "U64": 8, "F64": 8}
MANIFEST_ID = re.compile(r"^[a-z][a-z0-9_.]*-[0-9a-f]{16}$")


def is_bundle(path: Path) -> bool:
    """A bundle has a MOF description and a manifests folder; anything else is a run directory."""
    return (path / MOF_FILE).is_file() and (path / "manifests").is_dir()


# --- the code archive -----------------------------------------------------------------
@dataclass
class CodeArchive:
    """A git archive found in the bundle: which commit, which version, and hashes of members."""

    rel: str  # its path in the bundle
    commit: str | None  # from the pax global header git writes
    version: str | None  # [project].version of its pyproject.toml
    prefix: str = ""  # the --prefix folder its members share, if any
    members: dict[str, tuple[str, int]] = field(default_factory=dict)  # wanted name -> (sha256, size)
    problem: str = ""


def find_code_archives(files: list[str]) -> list[str]:
    """Bundle paths that hold code archives: ``code/*.tar[.gz]`` or a top-level ``code.tar[.gz]``."""
    found = []
    for rel in files:
        top, _, rest = rel.partition("/")
        if rel.endswith(ARCHIVE_SUFFIXES) and ((top == "code" and rest) or top.startswith("code.")):
            found.append(rel)
    return sorted(found)


def scan_archive(path: Path, rel: str, wanted: set[str]) -> CodeArchive:
    """Read the archive once, as a stream: commit id, version, and sha256 of wanted members.

    ``wanted`` names members relative to the repository root ("data/web/x.warc.gz"); members
    are matched with and without a one-folder prefix, and the prefix is settled by where
    pyproject.toml lies. Nothing is extracted and no member is executed.
    """
    info = CodeArchive(rel=rel, commit=None, version=None)
    candidates: dict[str, dict[str, tuple[str, int]]] = {}
    versions: dict[str, str | None] = {}  # prefix -> version of the pyproject.toml found there
    try:
        with tarfile.open(path, mode="r|*") as archive:
            for member in archive:
                comment = archive.pax_headers.get("comment", "")
                if info.commit is None and re.fullmatch(r"[0-9a-f]{40}|[0-9a-f]{64}", comment or ""):
                    info.commit = comment
                if not member.isfile():
                    continue
                name = member.name
                first, _, rest = name.partition("/")
                for prefix, inner in (("", name), (f"{first}/", rest)):
                    if inner == "pyproject.toml":
                        versions[prefix] = _pyproject_version(archive.extractfile(member).read(1 << 20))
                    elif inner in wanted:
                        candidates.setdefault(prefix, {})[inner] = _hash_stream(archive.extractfile(member))
    except (tarfile.TarError, OSError, EOFError) as exc:
        info.problem = f"not a readable tar archive ({exc})"
        return info
    if versions:  # the repository root: top level if it holds pyproject.toml, else the one folder that does
        info.prefix = "" if "" in versions else sorted(versions)[0]
        info.version = versions[info.prefix]
    info.members = candidates.get(info.prefix, {})
    if info.commit is None:
        info.problem = "no commit id in its pax header (was it made by `git archive` of a commit?)"
    return info


def _pyproject_version(data: bytes) -> str | None:
    try:
        return tomllib.loads(data.decode("utf-8")).get("project", {}).get("version")
    except (tomllib.TOMLDecodeError, UnicodeDecodeError, AttributeError):
        return None


def _hash_stream(handle) -> tuple[str, int]:
    digest, size = hashlib.sha256(), 0
    while chunk := handle.read(BLOCK):
        digest.update(chunk)
        size += len(chunk)
    return digest.hexdigest(), size


def code_identity_problems(code: dict, archives: list[CodeArchive]) -> tuple[list[str], list[str]]:
    """(failures, warnings) of one manifest's code identity against the shipped archives."""
    commits = {a.commit: a for a in archives if a.commit}
    commit = code.get("git_commit")
    if commit is None:
        return ["records no git commit: its code cannot be tied to the code in the bundle"], []
    if commit not in commits:
        shipped = ", ".join(sorted(c[:12] for c in commits)) or "none"
        return [f"made by commit {commit[:12]}, but the bundle's code is commit {shipped}"], []
    failures, warnings = [], []
    archive = commits[commit]
    if archive.version is not None and code.get("glassworks_version") != archive.version:
        failures.append(f"records glassworks {code.get('glassworks_version')}, the archive's pyproject says {archive.version}")
    if code.get("git_dirty") is not False:
        warnings.append(f"made from a working tree with uncommitted changes on top of {commit[:12]} "
                        "(git_dirty); the archive holds the commit, not those changes")
    return failures, warnings


def archive_tree_id(path: Path, prefix: str) -> str:
    """The git tree id of the archive's contents, computed from the stream (sha1 objects, as
    git stores them): equal to ``<commit>^{tree}`` exactly when the archive is that commit's tree."""
    root: dict = {}
    with tarfile.open(path, mode="r|*") as archive:
        for member in archive:
            if not member.name.startswith(prefix) or not (member.isfile() or member.issym()):
                continue
            parts = member.name[len(prefix):].split("/")
            node = root
            for part in parts[:-1]:
                node = node.setdefault(part, {})
            if member.issym():
                mode, data = b"120000", member.linkname.encode("utf-8")
                oid = hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()
            else:
                mode = b"100755" if member.mode & 0o111 else b"100644"
                digest = hashlib.sha1(b"blob %d\0" % member.size)
                handle = archive.extractfile(member)
                while chunk := handle.read(BLOCK):
                    digest.update(chunk)
                oid = digest.hexdigest()
            node[parts[-1]] = (mode, oid)
    return _tree_oid(root)


def _tree_oid(node: dict) -> str:
    entries = []
    for name, value in node.items():
        mode, oid = (b"40000", _tree_oid(value)) if isinstance(value, dict) else value
        # git orders entries by name, a tree's name compared as if it ended in "/"
        entries.append((name.encode("utf-8") + (b"/" if isinstance(value, dict) else b""), mode, name, oid))
    body = b"".join(mode + b" " + name.encode("utf-8") + b"\0" + bytes.fromhex(oid)
                    for _, mode, name, oid in sorted(entries))
    return hashlib.sha1(b"tree %d\0" % len(body) + body).hexdigest()


def commit_tree_in(repo: Path, commit: str) -> str | None:
    """``<commit>^{tree}`` in the auditor's own clone, or None when the clone lacks the commit."""
    import subprocess

    done = subprocess.run(["git", "-C", str(repo), "rev-parse", "--verify", "--quiet", f"{commit}^{{tree}}"],
                          capture_output=True, text=True)
    return done.stdout.strip() if done.returncode == 0 else None


# --- the MOF description ---------------------------------------------------------------
class _PlainLoader:
    """Parse YAML into plain values only; aliases are refused (no alias bombs)."""

    @staticmethod
    def load(text: str):
        import yaml

        for event in yaml.parse(text, Loader=yaml.SafeLoader):
            if isinstance(event, yaml.AliasEvent):
                raise ValueError(f"line {event.start_mark.line + 1}: YAML aliases are not accepted in a MOF description")
        return yaml.safe_load(text)


def read_mof(path: Path) -> dict:
    """The parsed model.yml; ValueError says what is wrong (with the line where YAML knows it)."""
    import yaml

    size = path.stat().st_size
    if size > MAX_YAML_BYTES:
        raise ValueError(f"{size} bytes is too large for a MOF description")
    try:
        text = path.read_text(encoding="utf-8")
        value = _PlainLoader.load(text)
    except UnicodeDecodeError as exc:
        raise ValueError(f"not UTF-8 (byte {exc.start})") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}: " if mark else ""
        raise ValueError(f"{where}not valid YAML ({getattr(exc, 'problem', exc)})") from None
    if not isinstance(value, dict) or not isinstance(value.get("release"), dict):
        raise ValueError("a MOF description is a mapping with a 'release' section")
    return value


def mof_paths(mof: dict) -> list[tuple[str, str]]:
    """(where in model.yml, path) for every file the description names."""
    out = []
    release = mof["release"]
    licences = release.get("license")
    if isinstance(licences, dict):
        for kind, entry in sorted(licences.items()):
            if isinstance(entry, dict) and entry.get("path"):
                out.append((f"release.license.{kind}.path", entry["path"]))
    components = release.get("components")
    for i, comp in enumerate(components if isinstance(components, list) else []):
        if not isinstance(comp, dict):
            continue
        name = comp.get("name", f"#{i}")
        for key in ("component_path", "license_path"):
            if comp.get(key):
                out.append((f"components[{name}].{key}", comp[key]))
    return out


def mof_components(mof: dict) -> list[dict]:
    components = mof["release"].get("components")
    return [c for c in components if isinstance(c, dict)] if isinstance(components, list) else []


def resolve_mof_path(bundle: Path, value) -> tuple[str, Path | None, str]:
    """('local'|'remote'|'bad', resolved path, problem) for a path named by model.yml."""
    if not isinstance(value, str):
        return "bad", None, f"{value!r} is not a path"
    if re.match(r"^[a-z][a-z0-9+.-]*://", value):
        return "remote", None, ""
    rel = value.removeprefix("./").rstrip("/")
    try:
        return "local", resolve_inside(bundle, rel), ""
    except UnsafePath as exc:
        return "bad", None, f"refused: {exc}"


# --- checkpoints -----------------------------------------------------------------------
def safetensors_problem(path: Path) -> str | None:
    """Why ``path`` is not a well-formed safetensors file, or None. Reads only the header."""
    size = path.stat().st_size
    with open(path, "rb") as handle:
        head = handle.read(8)
        if len(head) < 8:
            return "shorter than a safetensors header"
        (length,) = struct.unpack("<Q", head)
        if length > min(MAX_SAFETENSORS_HEADER, size - 8):
            return f"header length {length} does not fit in the file ({size} bytes)"
        try:
            header = json.loads(handle.read(length).decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
            return "header is not JSON"
    if not isinstance(header, dict):
        return "header is not a JSON object"
    spans = []
    for name, tensor in header.items():
        if name == "__metadata__":
            continue
        if not isinstance(tensor, dict) or tensor.get("dtype") not in SAFETENSORS_DTYPES:
            return f"tensor {name!r}: unknown dtype"
        shape, offsets = tensor.get("shape"), tensor.get("data_offsets")
        if not (isinstance(shape, list) and all(isinstance(d, int) and d >= 0 for d in shape)
                and isinstance(offsets, list) and len(offsets) == 2 and all(isinstance(o, int) for o in offsets)):
            return f"tensor {name!r}: malformed shape or offsets"
        count = 1
        for dim in shape:
            count *= dim
        if offsets[1] - offsets[0] != count * SAFETENSORS_DTYPES[tensor["dtype"]]:
            return f"tensor {name!r}: offsets do not match its shape and dtype"
        spans.append(tuple(offsets))
    position = 0
    for start, end in sorted(spans):
        if start != position:
            return "tensor data has gaps or overlaps"
        position = end
    if 8 + length + position != size:
        return f"tensor data ends at byte {8 + length + position}, the file has {size}"
    return None


def manifest_ids_in(value, limit: int = 10_000) -> set[str]:
    """Strings in a JSON value that look like manifest ids (a sidecar's data manifest id)."""
    found, stack = set(), [value]
    while stack and limit:
        limit -= 1
        item = stack.pop()
        if isinstance(item, str) and MANIFEST_ID.match(item):
            found.add(item)
        elif isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return found


# --- the checks verify runs on a bundle ------------------------------------------------
LAYOUT = ("model.yml", "checkpoints/final/", "hf/", "manifests/", "LICENSES/")  # ARCHITECTURE.md: at least these


def prepare_archives(bundle: Path, index, manifests: dict) -> list[CodeArchive]:
    """Scan every code archive once, hashing the members that external-root inputs name."""
    wanted = {f"{rec['root']}/{rec['path']}" for _, m in manifests.values()
              for side in ("inputs", "outputs") for rec in m[side]["files"] if rec.get("root", "run") != "run"}
    return [scan_archive(bundle / rel, rel, wanted) for rel in find_code_archives(list(index.files))]


def check_bundle(report, bundle: Path, index, manifests: dict, archives: list[CodeArchive],
                 repo: Path | None = None) -> None:
    """Layout, code identity, MOF description and checkpoints of a bundle. With ``repo`` (the
    auditor's clone of the code), each archive must be exactly its commit's tree there."""
    from glassworks.provenance.findings import FAIL, PASS, SKIP, WARN

    for item in LAYOUT:
        present = any(rel.startswith(item) for rel in index.files) if item.endswith("/") else item in index.files
        report.add("paths", PASS if present else FAIL, item, "" if present else "required by the bundle layout, missing")

    # code identity
    for archive in archives:
        if archive.problem:
            report.add("code", FAIL, archive.rel, archive.problem)
        else:
            report.add("code", PASS, archive.rel, f"git archive of commit {archive.commit}, glassworks {archive.version}")
        if repo is not None and archive.commit:
            want = commit_tree_in(repo, archive.commit)
            if want is None:
                report.add("code", FAIL, archive.rel, f"commit {archive.commit} is not in {repo}")
            elif archive_tree_id(bundle / archive.rel, archive.prefix) != want:
                report.add("code", FAIL, archive.rel, f"its files differ from the tree of commit {archive.commit[:12]} "
                           f"in {repo}")
            else:
                report.add("code", PASS, archive.rel, f"exactly the tree {want[:12]} of commit {archive.commit[:12]} "
                           f"in {repo}")
    if not archives:
        report.add("code", FAIL, "code/", "the bundle ships no git archive of its code (code/*.tar[.gz]); "
                   "no manifest's code identity can be checked")
    else:
        for _, (rel, manifest) in sorted(manifests.items()):
            failures, warnings = code_identity_problems(manifest["code"], archives)
            for problem in failures:
                report.add("code", FAIL, rel, problem)
            for problem in warnings:
                report.add("code", WARN, rel, problem)
            if not failures and not warnings:
                report.add("code", PASS, rel, f"commit {manifest['code']['git_commit'][:12]} is in the bundle")

    # the MOF description
    try:
        mof = read_mof(bundle / MOF_FILE)
    except (ValueError, OSError) as exc:
        report.add("mof", FAIL, MOF_FILE, str(exc))
        mof = None
    if mof is not None:
        for where, value in mof_paths(mof):
            kind, target, problem = resolve_mof_path(bundle, value)
            subject = f"{MOF_FILE} {where}"
            if kind == "remote":
                report.add("mof", SKIP, subject, f"{value} is remote; not checked offline")
            elif kind == "bad":
                report.add("mof", FAIL, subject, problem)
            else:
                rel = target.relative_to(bundle.resolve()).as_posix()
                if rel in index.files or any(f.startswith(rel + "/") for f in index.files):
                    report.add("mof", PASS, subject, f"{value} is in the bundle")
                else:
                    report.add("mof", FAIL, subject, f"names {value}, which is not in the bundle")
        for comp in mof_components(mof):
            if not comp.get("component_path"):
                report.add("mof", WARN, f"{MOF_FILE} components[{comp.get('name', '?')}]",
                           "lists the component without a component_path, so no file backs the claim")

    # checkpoints: well-formed safetensors, sidecars that name manifests that are here
    for rel in sorted(index.files):
        if rel.endswith(PICKLE_SUFFIXES):
            report.add("checkpoint", WARN, rel, "pickle-format file: verify never opens it, and loading it runs code")
        elif rel.endswith(".safetensors"):
            problem = safetensors_problem(bundle / rel)
            report.add("checkpoint", FAIL if problem else PASS, rel, problem or "well-formed safetensors")
        elif rel.startswith("checkpoints/") and rel.endswith(".json") and "tokenizer" not in rel.rsplit("/", 1)[-1]:
            if index.files[rel][1] > (1 << 20):
                continue
            try:
                value = json.loads((bundle / rel).read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
                report.add("checkpoint", FAIL, rel, f"not valid JSON ({exc})")
                continue
            _check_sidecar_hashes(report, bundle, rel, value, index)
            for mid in sorted(manifest_ids_in(value)):
                if mid in manifests:
                    report.add("link", PASS, rel, f"names manifest {mid}")
                else:
                    report.add("link", FAIL, rel, f"names manifest {mid}, which is not in manifests/")
    folders = sorted({"/".join(rel.split("/")[:2]) for rel in index.files
                      if rel.startswith("checkpoints/") and rel.count("/") >= 2})
    for folder in folders:
        if not any(rel.startswith(folder + "/") and rel.endswith(".safetensors") for rel in index.files):
            report.add("checkpoint", FAIL, folder + "/", "a checkpoint folder without safetensors weights")


def _check_sidecar_hashes(report, bundle: Path, rel: str, value, index) -> None:
    """A checkpoint sidecar that lists its files' sha256 ({"files": {name: sha256}}) must agree
    with the files next to it: the checkpoint vouches for its own weights."""
    from glassworks.provenance.findings import FAIL, PASS

    files = value.get("files") if isinstance(value, dict) else None
    if not isinstance(files, dict):
        return
    folder = rel.rsplit("/", 1)[0]
    for name, sha in sorted(files.items()):
        if not isinstance(name, str) or not isinstance(sha, str) or not re.fullmatch(r"[0-9a-f]{64}", sha):
            continue
        target = f"{folder}/{name}"
        got = index.files.get(target) if "/" not in name and name not in ("", ".", "..") else None
        if got is None:
            report.add("checkpoint", FAIL, target, f"listed by {rel}, missing")
        elif got[0] != sha:
            report.add("checkpoint", FAIL, target, f"sha256 differs from the one {rel} lists")
        else:
            report.add("checkpoint", PASS, target, f"matches {rel}")
