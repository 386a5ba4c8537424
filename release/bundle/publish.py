"""``release publish BUNDLE --to DIR | URL | hf://org/name``: copy a checked bundle out.

A folder target (local or any fsspec URL) gets every file of the bundle at the same path,
each read back and compared by sha256. A Hugging Face target gets, through huggingface_hub:
the repository (``create_repo``); on ``main`` (``upload_folder``) the whole bundle except the
intermediate checkpoints, and the Hugging Face export again at the repository root (so
``from_pretrained(repo)`` is the final model); and one branch per intermediate checkpoint,
named like Pythia's and OLMo's (``step1000-tokens4M``), holding that checkpoint exported to
the Hugging Face format at its root and the glassworks checkpoint under ``glassworks/``.
Each branch starts from the repository's first commit, so it holds that checkpoint only.

``plan_publish`` computes the exact list of operations without touching the target;
``--dry-run`` prints it. Publishing refuses a bundle that ``release check`` or ``audit
verify`` fails.
"""

from __future__ import annotations

import contextlib
import hashlib
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from glassworks.errors import GlassworksError
from glassworks.provenance.hashing import sha256_file
from glassworks.release.bundle.checkpoints import read_checkpoint

HUB = "hf://"


@dataclass(frozen=True)
class Step:
    action: str  # copy | create_repo | create_branch | upload_folder
    target: str  # destination folder, repo id, or repo@branch
    folder: str = ""  # upload_folder: the local folder (a bundle path, or a staged export)
    path_in_repo: str = ""
    ignore: tuple[str, ...] = ()  # upload_folder's ignore_patterns
    files: tuple[tuple[str, str], ...] = ()  # (local file, destination): exactly what the step writes
    note: str = ""

    def lines(self) -> list[str]:
        where = f" {self.folder} -> {self.path_in_repo or '/'}" if self.action == "upload_folder" else ""
        ignore = f" ignoring {', '.join(self.ignore)}" if self.ignore else ""
        head = f"{self.action} {self.target}{where}{ignore}" + (f"  # {self.note}" if self.note else "")
        return [head] + [f"    {src} -> {dst}" for src, dst in self.files]


@dataclass
class Plan:
    bundle: Path
    target: str
    steps: list[Step] = field(default_factory=list)

    def lines(self) -> list[str]:
        return [line for step in self.steps for line in step.lines()]


def _files(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


def _intermediate(bundle: Path):
    return [c for c in (read_checkpoint(d) for d in sorted((bundle / "checkpoints").glob("*")) if d.name != "final")
            if c is not None]


def _upload(repo: str, folder: Path, shown: str, path_in_repo: str = "", ignore: tuple[str, ...] = (),
            note: str = "") -> Step:
    """An ``upload_folder`` step with the files it will upload, filtered as huggingface_hub filters them."""
    from huggingface_hub.utils import filter_repo_objects

    kept = list(filter_repo_objects(_files(folder), ignore_patterns=list(ignore) or None))
    prefix = f"{path_in_repo}/" if path_in_repo else ""
    return Step("upload_folder", repo, shown, path_in_repo, ignore,
                tuple((f"{shown}/{f}", prefix + f) for f in kept), note)


def plan_publish(bundle: str | Path, target: str, staging: Path | None = None) -> Plan:
    bundle = Path(bundle)
    plan = Plan(bundle, target)
    if not target.startswith(HUB):
        base = target.rstrip("/")
        files = _files(bundle)
        plan.steps.append(Step("copy", base, files=tuple((f"{bundle}/{f}", f"{base}/{f}") for f in files),
                               note=f"{len(files)} files, each read back and compared by sha256"))
        return plan
    repo_id = target[len(HUB):].strip("/")
    if repo_id.count("/") != 1 or not all(repo_id.split("/")):
        raise GlassworksError(f"{target}: a Hub target is hf://ORG/NAME")
    intermediate = _intermediate(bundle)
    branches = [c.branch for c in intermediate]
    if len(set(branches)) != len(branches):
        raise GlassworksError(f"{bundle}: two intermediate checkpoints would share a Hub branch name ({branches})")
    if intermediate and staging is None:
        raise ValueError("a Hub plan with intermediate checkpoints needs a staging folder (see staged())")
    main = f"{repo_id}@main"
    plan.steps.append(Step("create_repo", repo_id, note="repo_type=model, exist_ok=True"))
    plan.steps.append(_upload(main, bundle, str(bundle), ignore=tuple(f"checkpoints/{c.name}/*" for c in intermediate),
                              note="the bundle; intermediate checkpoints go to their branches"))
    if (bundle / "hf").is_dir():
        plan.steps.append(_upload(main, bundle / "hf", f"{bundle}/hf", note="the final model at the root: from_pretrained(repo)"))
    for ckpt in intermediate:
        branch = f"{repo_id}@{ckpt.branch}"
        exported = _export(ckpt.source, staging / ckpt.branch)
        plan.steps.append(Step("create_branch", branch, note="from the repository's first commit"))
        plan.steps.append(_upload(branch, exported, str(exported),
                                  note=f"checkpoint {ckpt.name} (step {ckpt.step}, {ckpt.tokens} tokens) in HF format"))
        plan.steps.append(_upload(branch, ckpt.source, str(ckpt.source), path_in_repo="glassworks",
                                  note="the glassworks checkpoint itself"))
    return plan


def _export(checkpoint: Path, out: Path) -> Path:
    """The checkpoint in Hugging Face format, so each branch loads with ``from_pretrained``."""
    from glassworks.model import export_hf

    if not out.exists():
        export_hf(checkpoint, out)
    return out


def refuse_unless_sound(bundle: Path) -> None:
    from glassworks.provenance.verify import verify_run
    from glassworks.release.bundle.check import check_bundle

    checked = check_bundle(bundle)
    if not checked.ok:
        raise GlassworksError(f"{bundle}: release check fails ({(checked.schema_errors + checked.problems + checked.absent)[0]}); "
                              "run `glassworks release check` and fix it before publishing")
    verified = verify_run(bundle)
    if not verified.ok:
        first = verified.failures[0]
        raise GlassworksError(f"{bundle}: audit verify fails ({first.line().strip()}); run `glassworks audit verify`")


def publish(plan: Plan) -> None:
    """Carry out a plan made by ``plan_publish``."""
    if plan.target.startswith(HUB):
        _publish_hub(plan)
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


def _publish_hub(plan: Plan) -> None:
    from huggingface_hub import HfApi

    api = HfApi()
    for step in plan.steps:
        repo_id, _, branch = step.target.partition("@")
        if step.action == "create_repo":
            api.create_repo(repo_id, repo_type="model", exist_ok=True)
        elif step.action == "create_branch":
            first = api.list_repo_commits(repo_id)[-1].commit_id  # newest first: the last is the first
            api.create_branch(repo_id, branch=branch, revision=first, exist_ok=True)
        elif step.action == "upload_folder":
            api.upload_folder(repo_id=repo_id, folder_path=step.folder, path_in_repo=step.path_in_repo or None,
                              revision=branch, ignore_patterns=list(step.ignore) or None, commit_message=step.note)


@contextlib.contextmanager
def staged():
    """A temporary folder for the Hub exports of intermediate checkpoints, removed afterwards."""
    with tempfile.TemporaryDirectory(prefix="glassworks-publish-") as tmp:
        yield Path(tmp)
