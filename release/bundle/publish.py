"""``release publish BUNDLE --to DIR | URL | hf://org/name``: copy a checked bundle out.

A Hugging Face target, and a local folder, get the same git layout (``plan_publish`` makes
one plan for both, so the dry runs list the same steps and files):

- ``create_repo``: the first commit, "initial commit", holds a ``.gitattributes`` (the Hub
  writes its own; a local repository gets ``GITATTRIBUTES``, the weight and archive types
  stored through Git LFS);
- on ``main`` (``upload_folder``): the bundle without its intermediate checkpoints; the
  Hugging Face export again at the repository root, so ``from_pretrained(repo)`` is the final
  model; and ``revisions.json`` (``glassworks.provenance.revisions``), which says on which
  branch each intermediate checkpoint ships;
- one branch per intermediate checkpoint, named like Pythia's and OLMo's
  (``step1000-tokens4M``), made from ``main``'s head (``create_branch``'s default), so it
  holds main's files plus the glassworks checkpoint at its bundle path
  (``checkpoints/<name>/``) and, at the root, that checkpoint's Hugging Face export in place
  of the final one (``from_pretrained(repo, revision="step1000-tokens4M")``).

A checkout of any revision is then a bundle that ``audit verify`` and ``release check`` pass:
files that ship on another revision are reported as such, everything else is checked. (Until
this layout, each branch started from the first commit and held its checkpoint only, under
``glassworks/``, with nothing to verify it against.)

A local folder is a real git repository written with the ``git`` command, each commit with
the message the Hub upload uses, every committed blob compared with its source. Any other
fsspec URL gets a plain copy of the bundle (every file at its path, read back and compared by
sha256), as does a local folder with ``layout="copy"``.

``plan_publish`` computes the exact list of operations without touching the target;
``--dry-run`` prints it. Publishing refuses a bundle that ``release check`` or ``audit
verify`` fails.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from glassworks.errors import GlassworksError
from glassworks.provenance.hashing import sha256_file
from glassworks.provenance.revisions import DEFAULT, FILE as REVISIONS_FILE, Revisions
from glassworks.release.bundle.checkpoints import read_checkpoint

HUB = "hf://"
LAYOUTS = ("repo", "copy")
INITIAL_COMMIT = "initial commit"  # the message of the Hub's first commit of a new repository
# Stored through Git LFS in the local repository, as the Hub's own .gitattributes does for these types.
GITATTRIBUTES = "".join(f"{pattern} filter=lfs diff=lfs merge=lfs -text\n" for pattern in (
    "*.safetensors", "*.bin", "*.pt", "*.pth", "*.ckpt", "*.model", "*.gz", "*.tar", "*.tgz", "*.zst", "*.zip",
    "*.parquet", "*.arrow", "*.npy", "tokenizer.json"))


@dataclass(frozen=True)
class Step:
    action: str  # copy | create_repo | create_branch | upload_folder
    target: str  # destination folder, repo id, or repo@branch
    folder: str = ""  # upload_folder: the local folder (a bundle path, or a staged export)
    path_in_repo: str = ""
    ignore: tuple[str, ...] = ()  # upload_folder's ignore_patterns
    files: tuple[tuple[str, str], ...] = ()  # (local file, destination): exactly what the step writes
    note: str = ""  # for upload_folder, also the commit message
    delete: tuple[str, ...] = ()  # upload_folder's delete_patterns: files of the revision it removes

    def lines(self) -> list[str]:
        where = f" {self.folder} -> {self.path_in_repo or '/'}" if self.action == "upload_folder" else ""
        ignore = f" ignoring {', '.join(self.ignore)}" if self.ignore else ""
        delete = f" deleting {', '.join(self.delete)}" if self.delete else ""
        head = f"{self.action} {self.target}{where}{ignore}{delete}" + (f"  # {self.note}" if self.note else "")
        return [head] + [f"    {src} -> {dst}" for src, dst in self.files]


@dataclass
class Plan:
    bundle: Path
    target: str
    layout: str = "repo"  # repo: main + one branch per intermediate checkpoint; copy: every file at its path
    steps: list[Step] = field(default_factory=list)
    revisions: Revisions | None = None  # what revisions.json says (repo layout)

    def lines(self) -> list[str]:
        return [line for step in self.steps for line in step.lines()]


def _files(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


def _intermediate(bundle: Path):
    return [c for c in (read_checkpoint(d) for d in sorted((bundle / "checkpoints").glob("*")) if d.name != "final")
            if c is not None]


def _upload(repo: str, folder: Path, shown: str, path_in_repo: str = "", ignore: tuple[str, ...] = (),
            note: str = "", delete: tuple[str, ...] = ()) -> Step:
    """An ``upload_folder`` step with the files it will upload, filtered as huggingface_hub filters them."""
    from huggingface_hub.utils import filter_repo_objects

    kept = list(filter_repo_objects(_files(folder), ignore_patterns=list(ignore) or None))
    prefix = f"{path_in_repo}/" if path_in_repo else ""
    return Step("upload_folder", repo, shown, path_in_repo, ignore,
                tuple((f"{shown}/{f}", prefix + f) for f in kept), note, delete)


def default_layout(target: str) -> str:
    """A Hub repository or a local folder gets the repository layout; another URL a plain copy."""
    if target.startswith(HUB) or "://" not in target or target.startswith("file://"):
        return "repo"
    return "copy"


def plan_publish(bundle: str | Path, target: str, staging: Path | None = None, layout: str | None = None) -> Plan:
    """The exact steps that publish ``bundle`` to ``target``; ``staging`` holds the Hugging Face
    exports of the intermediate checkpoints and revisions.json (see ``staged()``)."""
    bundle = Path(bundle).resolve()  # git runs inside the target repository: no path relative to here
    layout = layout or default_layout(target)
    if layout not in LAYOUTS:
        raise GlassworksError(f"layout {layout!r}: one of {', '.join(LAYOUTS)}")
    if layout == "repo" and default_layout(target) != "repo":
        raise GlassworksError(f"{target}: a git repository is written to a Hub repository or a local folder only; "
                              "use the copy layout for other URLs")
    if layout == "copy":
        if target.startswith(HUB):
            raise GlassworksError(f"{target}: a Hub repository gets the repository layout")
        base = target.rstrip("/")
        files = _files(bundle)
        return Plan(bundle, target, "copy", [Step("copy", base, files=tuple((f"{bundle}/{f}", f"{base}/{f}") for f in files),
                                                  note=f"{len(files)} files, each read back and compared by sha256")])
    if target.startswith(HUB):
        repo = target[len(HUB):].strip("/")
        if repo.count("/") != 1 or not all(repo.split("/")):
            raise GlassworksError(f"{target}: a Hub target is hf://ORG/NAME")
    else:
        repo = target.removeprefix("file://").rstrip("/") or "/"
    if staging is None:
        raise ValueError("a repository plan needs a staging folder (see staged())")
    return _plan_repo(Plan(bundle, target, "repo"), repo, staging)


def _plan_repo(plan: Plan, repo: str, staging: Path) -> Plan:
    bundle = plan.bundle
    intermediate = _intermediate(bundle)
    branches = [c.branch for c in intermediate]
    if len(set(branches)) != len(branches) or DEFAULT in branches:
        raise GlassworksError(f"{bundle}: two intermediate checkpoints would share a branch name ({branches})")
    main = f"{repo}@{DEFAULT}"
    root_export = bundle / "hf"
    exports = {c.branch: _export(c.source, staging / "exports" / c.branch) for c in intermediate}
    revisions = Revisions(DEFAULT, {f"checkpoints/{c.name}/": c.branch for c in intermediate}, {})
    if root_export.is_dir():
        revisions.root_exports[DEFAULT] = {"from": "hf/", "files": _digests(root_export)}
    for c in intermediate:
        revisions.root_exports[c.branch] = {"from": f"checkpoints/{c.name}/", "files": _digests(exports[c.branch])}
    meta = staging / "revisions"
    meta.mkdir(parents=True, exist_ok=True)
    (meta / REVISIONS_FILE).write_bytes(revisions.to_bytes())
    plan.revisions = revisions

    plan.steps.append(Step("create_repo", repo, note=f"repo_type=model, exist_ok=True; first commit {INITIAL_COMMIT!r} "
                                                    "with .gitattributes"))
    plan.steps.append(_upload(main, bundle, str(bundle), ignore=tuple(f"checkpoints/{c.name}/*" for c in intermediate),
                              note="Upload the release bundle; intermediate checkpoints ship on their own branches"))
    if root_export.is_dir():
        plan.steps.append(_upload(main, root_export, str(root_export),
                                  note="Upload the final model at the root: from_pretrained(repo)"))
    plan.steps.append(_upload(main, meta, str(meta), note=f"Upload {REVISIONS_FILE}: the revision of each intermediate "
                                                          "checkpoint"))
    main_root = set(revisions.root_exports.get(DEFAULT, {}).get("files", {}))
    for c in intermediate:
        branch = f"{repo}@{c.branch}"
        ours = set(revisions.root_exports[c.branch]["files"])
        plan.steps.append(Step("create_branch", branch, note=f"from {DEFAULT}'s head: {DEFAULT}'s files plus this "
                                                             "checkpoint"))
        plan.steps.append(_upload(branch, c.source, str(c.source), path_in_repo=f"checkpoints/{c.name}",
                                  note=f"Upload checkpoint {c.name} (step {c.step}, {c.tokens} tokens)"))
        plan.steps.append(_upload(branch, exports[c.branch], str(exports[c.branch]),
                                  delete=tuple(sorted(main_root - ours)),
                                  note=f"Upload checkpoint {c.name} in Hugging Face format at the root: "
                                       f"from_pretrained(repo, revision={c.branch!r})"))
    return plan


def _digests(folder: Path) -> dict[str, str]:
    """sha256 of each file directly in ``folder`` (a Hugging Face export is flat)."""
    return {p.name: sha256_file(p)[0] for p in sorted(folder.iterdir()) if p.is_file()}


def _export(checkpoint: Path, out: Path) -> Path:
    """The checkpoint in Hugging Face format, so each branch loads with ``from_pretrained``."""
    from glassworks.model import export_hf

    if not out.exists():
        out.parent.mkdir(parents=True, exist_ok=True)
        export_hf(checkpoint, out)
    return out


def refuse_unless_sound(bundle: Path, allow_unsigned: bool = False, trusted=None) -> None:
    """Refuse a bundle that ``release check`` or ``audit verify`` fails: one not signed by a
    ``trusted`` key (``TrustedKeys``), unless ``allow_unsigned``."""
    from glassworks.provenance.verify import verify_run
    from glassworks.release.bundle.check import check_bundle

    checked = check_bundle(bundle)
    if not checked.ok:
        raise GlassworksError(f"{bundle}: release check fails ({(checked.schema_errors + checked.problems + checked.absent)[0]}); "
                              "run `glassworks release check` and fix it before publishing")
    verified = verify_run(bundle, allow_unsigned=allow_unsigned, trusted=trusted)
    if not verified.ok:
        first = verified.failures[0]
        raise GlassworksError(f"{bundle}: audit verify fails ({first.line().strip()}); run `glassworks audit verify`")


def publish(plan: Plan) -> None:
    """Carry out a plan made by ``plan_publish``."""
    if plan.target.startswith(HUB):
        _publish_hub(plan)
    elif plan.layout == "repo":
        _publish_git(plan)
    else:
        _publish_folder(plan)


def _publish_folder(plan: Plan) -> None:
    import fsspec

    fs, base = fsspec.core.url_to_fs(plan.target)
    if fs.exists(base) and fs.ls(base):
        raise GlassworksError(f"{plan.target}: exists and is not empty; publish into a new folder")
    for step in plan.steps:
        for src, dst in step.files:
            path = fs._strip_protocol(dst)
            fs.makedirs(path.rsplit("/", 1)[0], exist_ok=True)
            fs.put_file(src, path)
            want = sha256_file(src)[0]
            digest = hashlib.sha256()
            with fs.open(path, "rb") as handle:
                for block in iter(lambda: handle.read(1 << 20), b""):
                    digest.update(block)
            if digest.hexdigest() != want:
                raise GlassworksError(f"{dst}: the copy differs from {src} (sha256 {digest.hexdigest()} != {want})")


class _Git:
    """The ``git`` command in one repository, with an identity of its own (no user config needed)."""

    def __init__(self, root: Path):
        self.root = root
        self.env = {**os.environ, "GIT_AUTHOR_NAME": "glassworks", "GIT_AUTHOR_EMAIL": "glassworks@localhost",
                    "GIT_COMMITTER_NAME": "glassworks", "GIT_COMMITTER_EMAIL": "glassworks@localhost",
                    "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull}

    def __call__(self, *args: str, stdin: str | None = None) -> str:
        if shutil.which("git") is None:
            raise GlassworksError("publishing to a local folder writes a git repository: install git")
        done = subprocess.run(["git", "-C", str(self.root), *args], input=stdin, capture_output=True, text=True,
                              env=self.env)
        if done.returncode != 0:
            raise GlassworksError(f"{self.root}: git {' '.join(args[:2])} failed: {done.stderr.strip() or done.stdout.strip()}")
        return done.stdout

    def commit(self, message: str) -> bool:
        """Commit the whole work tree; like upload_folder, no empty commit when nothing changed."""
        self("add", "--all", ".")
        if not self("status", "--porcelain"):
            return False
        self("commit", "--quiet", "--no-verify", "-m", message)
        return True


def _publish_git(plan: Plan) -> None:
    """Write the plan as the Hub would: the same commits, branches and files, in a local git repository."""
    root = Path(plan.steps[0].target)
    if root.exists() and (not root.is_dir() or any(root.iterdir())):
        raise GlassworksError(f"{root}: exists and is not empty; publish into a new folder")
    root.mkdir(parents=True, exist_ok=True)
    git = _Git(root)
    for step in plan.steps:
        branch = step.target.rpartition("@")[2]
        if step.action == "create_repo":
            git("init", "--quiet", f"--initial-branch={DEFAULT}")
            (root / ".gitattributes").write_text(GITATTRIBUTES, encoding="utf-8")
            git.commit(INITIAL_COMMIT)
        elif step.action == "create_branch":
            git("branch", branch, DEFAULT)
        elif step.action == "upload_folder":
            git("checkout", "--quiet", branch)
            for name in step.delete:
                (root / name).unlink(missing_ok=True)
            for src, dst in step.files:
                (root / dst).parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(src, root / dst)
            git.commit(step.note)
            _check_blobs(git, step)
    git("checkout", "--quiet", DEFAULT)


def _check_blobs(git: _Git, step: Step) -> None:
    """Every file the step uploaded is, in the commit, the very bytes of its source."""
    if not step.files:
        return
    tree = {}
    for line in git("ls-tree", "-r", "-z", "HEAD").split("\0"):
        if line:
            meta, _, path = line.partition("\t")
            tree[path] = meta.split()[2]
    want = git("hash-object", "--no-filters", "--stdin-paths", stdin="\n".join(src for src, _ in step.files) + "\n").split()
    for (src, dst), blob in zip(step.files, want):
        if tree.get(dst) != blob:
            raise GlassworksError(f"{git.root}: {dst} in the commit is not {src} (blob {tree.get(dst)} != {blob})")


def _publish_hub(plan: Plan) -> None:
    from huggingface_hub import HfApi

    api = HfApi()
    for step in plan.steps:
        repo_id, _, branch = step.target.partition("@")
        if step.action == "create_repo":
            api.create_repo(repo_id, repo_type="model", exist_ok=True)
        elif step.action == "create_branch":
            api.create_branch(repo_id, branch=branch, revision=DEFAULT, exist_ok=True)
        elif step.action == "upload_folder":
            api.upload_folder(repo_id=repo_id, folder_path=step.folder, path_in_repo=step.path_in_repo or None,
                              revision=branch, ignore_patterns=list(step.ignore) or None,
                              delete_patterns=list(step.delete) or None, commit_message=step.note)


@contextlib.contextmanager
def staged():
    """A temporary folder for the Hub exports of intermediate checkpoints and revisions.json, removed afterwards."""
    with tempfile.TemporaryDirectory(prefix="glassworks-publish-") as tmp:
        yield Path(tmp)
