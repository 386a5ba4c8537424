"""A local publish is the Hub's git layout, and every revision's checkout verifies.

The bundle is the session's real one (built from a trained run with two intermediate
checkpoints); it is published once into a git repository, and each revision is cloned
with the ``git`` command, then put through ``audit verify`` and ``release check``. A signed
copy of it is published too: every checkout verifies with the maintainer's key pinned, and
forgeries on a checkout (a signed file deleted or moved by revisions.json, a stray file, a
swapped checkpoint file) fail.
"""

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from glassworks.cli import main
from glassworks.provenance.hashing import sha256_file
from glassworks.provenance.revisions import FILE, read_revisions
from glassworks.provenance.verify import FAIL, PASS, SKIP, verify_run
from glassworks.release.bundle.check import check_bundle
from glassworks.release.bundle.publish import INITIAL_COMMIT, plan_publish, staged

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="a local publish writes a git repository")


def _git(*args, cwd=None) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout


def _verify_args() -> list[str]:
    """The session's bundle is not signed: audit verify (and publish) check it for integrity only."""
    return ["--allow-unsigned"]


def _verify(path: Path):
    return verify_run(path, allow_unsigned=True)


def _tree(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): sha256_file(p)[0] for p in sorted(root.rglob("*"))
            if p.is_file() and ".git" not in p.relative_to(root).parts}


@pytest.fixture(scope="module")
def published(built, tmp_path_factory):
    _, bundle = built
    repo = tmp_path_factory.mktemp("publish") / "repo"
    assert main(["release", "publish", str(bundle), "--to", str(repo), *_verify_args()]) == 0
    return bundle, repo


def _checkout(repo: Path, revision: str, into: Path) -> Path:
    _git("clone", "--quiet", "--branch", revision, str(repo), str(into))
    return into


def test_croissant_loads_from_a_checkout_of_main(published, tmp_path):
    """The data is on main: mlcroissant loads every record set of a clone with the bundle's counts."""
    import logging

    import mlcroissant as mlc

    bundle, repo = published
    logging.getLogger("absl").setLevel(logging.ERROR)

    def counts(root: Path) -> dict:
        dataset = mlc.Dataset(jsonld=root / "croissant.json")
        return {rs.uuid: sum(1 for _ in dataset.records(record_set=rs.uuid)) for rs in dataset.metadata.record_sets}

    cloned = counts(_checkout(repo, "main", tmp_path / "main"))
    assert cloned and cloned == counts(bundle)


def test_the_repository_has_main_and_one_branch_per_intermediate_checkpoint(published):
    bundle, repo = published
    branches = sorted(_git("for-each-ref", "--format=%(refname:short)", "refs/heads/", cwd=repo).split())
    assert branches == ["main", "step1-tokens128", "step2-tokens256"]
    revisions = read_revisions(repo)
    assert revisions.checkpoints == {"checkpoints/step1/": "step1-tokens128", "checkpoints/step2/": "step2-tokens256"}
    first = _git("log", "--format=%s", "--reverse", "main", cwd=repo).splitlines()
    assert first[0] == INITIAL_COMMIT and len(first) == 4
    # each branch is made from main's head: main is its parent's ancestor
    for branch in branches[1:]:
        assert _git("merge-base", "main", branch, cwd=repo).strip() == _git("rev-parse", "main", cwd=repo).strip()


def test_each_revision_holds_what_the_hub_would(published, tmp_path):
    bundle, repo = published
    ours = _tree(bundle)
    main_tree = _tree(_checkout(repo, "main", tmp_path / "main"))
    expected = {rel: sha for rel, sha in ours.items() if not rel.startswith(("checkpoints/step1/", "checkpoints/step2/"))}
    expected.update({rel[len("hf/"):]: sha for rel, sha in ours.items() if rel.startswith("hf/")})
    assert {k: v for k, v in main_tree.items() if k not in (FILE, ".gitattributes")} == expected
    branch = _tree(_checkout(repo, "step1-tokens128", tmp_path / "b1"))
    assert {k: v for k, v in branch.items() if k.startswith("checkpoints/step1/")} == {
        k: v for k, v in ours.items() if k.startswith("checkpoints/step1/")}
    assert not any(k.startswith("checkpoints/step2/") for k in branch)
    assert json.loads((tmp_path / "b1" / "config.json").read_text())["architectures"] == ["MistralForCausalLM"]
    assert branch["model.safetensors"] != ours["hf/model.safetensors"]  # the checkpoint's own export, not the final


@pytest.mark.parametrize("revision", ["main", "step1-tokens128", "step2-tokens256"])
def test_every_revision_verifies_and_checks(published, tmp_path, revision, capsys):
    bundle, repo = published
    checkout = _checkout(repo, revision, tmp_path / revision)
    assert main(["audit", "verify", str(checkout), *_verify_args()]) == 0, capsys.readouterr().out
    report = _verify(checkout)
    skipped = [f for f in report.findings if f.status == SKIP and "ships on revision" in f.detail]
    checked = check_bundle(checkout)
    assert checked.ok, checked.lines()
    assert checked.classification.label == check_bundle(bundle).classification.label
    if revision == "main":
        assert {f.subject.split("/")[1] for f in skipped} == {"step1", "step2"}
        assert checked.elsewhere and "step1-tokens128, step2-tokens256" in checked.elsewhere[0]
    else:
        name = revision.split("-")[0]
        assert not any(f.subject.startswith(f"checkpoints/{name}/") for f in skipped)
        weights = [f for f in report.findings if f.subject == "model.safetensors" and f.check == "coverage"]
        assert weights[0].status == PASS and "every tensor" in weights[0].detail
        assert main(["release", "check", str(checkout)]) == 0


def _fails(report) -> dict[str, str]:
    return {f.subject: f.detail for f in report.findings if f.status == FAIL}


def test_revisions_json_cannot_hide_a_deleted_file(published, tmp_path):
    _, repo = published
    checkout = _checkout(repo, "main", tmp_path / "main")
    shutil.rmtree(checkout / ".git")
    (checkout / "docs" / "paper.md").unlink()
    value = json.loads((checkout / FILE).read_text())
    value["checkpoints"]["docs/"] = "step1-tokens128"
    value["checkpoints"]["checkpoints/final/"] = "step2-tokens256"
    (checkout / FILE).write_text(json.dumps(value))
    report = _verify(checkout)
    failed = _fails(report)
    assert "docs/paper.md" in failed and "ships on" not in failed["docs/paper.md"]
    claims = [f.detail for f in report.findings if f.status == FAIL and f.subject == FILE]
    assert sum("only an intermediate checkpoint folder" in why for why in claims) == 2
    checked = check_bundle(checkout)
    assert not checked.ok and any("docs/" in line and "only an intermediate" in line for line in checked.problems)


def test_a_checkpoint_ships_whole_or_fails(published, tmp_path):
    _, repo = published
    checkout = _checkout(repo, "step1-tokens128", tmp_path / "b1")
    (checkout / "checkpoints" / "step1" / "state.json").unlink()
    failed = _fails(_verify(checkout))
    assert "checkpoints/step1/state.json" in failed
    assert "never in part" in failed["checkpoints/step1/"]


def test_root_weights_on_a_branch_must_be_its_checkpoint(published, tmp_path):
    _, repo = published
    checkout = _checkout(repo, "step1-tokens128", tmp_path / "b1")
    other = tmp_path / "b2"
    _checkout(repo, "step2-tokens256", other)
    shutil.copyfile(other / "model.safetensors", checkout / "model.safetensors")
    value = json.loads((checkout / FILE).read_text())  # the attacker also updates the listed digest
    value["root_exports"]["step1-tokens128"]["files"]["model.safetensors"] = sha256_file(checkout / "model.safetensors")[0]
    (checkout / FILE).write_text(json.dumps(value))
    failed = _fails(_verify(checkout))
    assert "tensors are not those of checkpoints/step1/" in failed["model.safetensors"]


def test_hub_and_local_plans_have_the_same_layout(built, tmp_path):
    _, bundle = built

    def layout(plan, prefix):
        return [(s.action, s.target.removeprefix(prefix), s.path_in_repo, s.ignore, s.delete, s.note,
                 tuple(dst for _, dst in s.files)) for s in plan.steps]

    with staged() as staging:
        hub = layout(plan_publish(bundle, "hf://glassworks/tiny-test", staging), "glassworks/tiny-test")
        local = layout(plan_publish(bundle, str(tmp_path / "repo"), staging), str(tmp_path / "repo"))
    assert hub == local
    assert [a for a, *_ in hub].count("create_branch") == 2


# --- a signed bundle, published: every checkout verifies with the maintainer's key pinned ---

@pytest.fixture(scope="module")
def signed_published(built, tmp_path_factory):
    """A signed copy of the session's bundle (DSSE statement and model_signing), published
    locally; returns (repository, maintainer's public key)."""
    from glassworks.provenance.attest import sign_tree
    from glassworks.provenance.signing import generate_keypair, load_private_key

    base = tmp_path_factory.mktemp("signed-publish")
    private, public, _ = generate_keypair(base / "keys", "maintainer")
    bundle = base / "bundle"
    shutil.copytree(built[1], bundle)
    sign_tree(bundle, load_private_key(private), repository="https://github.com/example/glassworks")
    repo = base / "repo"
    # publishing refuses a bundle not signed by the named key; a checkout is then verified the same way
    assert main(["release", "publish", str(bundle), "--to", str(base / "refused"), "--trusted-fingerprint",
                 "SHA256:" + "0" * 64]) != 0
    assert main(["release", "publish", str(bundle), "--to", str(repo), "--trusted-key", str(public)]) == 0
    return repo, public


def _trusted(public: Path):
    from glassworks.provenance.signing import TrustedKeys

    return TrustedKeys.from_args((str(public),))


def _signature_fails(report) -> dict[str, str]:
    return {f.subject: f.detail for f in report.findings if f.status == FAIL and f.check == "signature"}


@pytest.mark.parametrize("revision", ["main", "step1-tokens128", "step2-tokens256"])
def test_every_revision_of_a_signed_bundle_verifies_with_the_pinned_key(signed_published, tmp_path, revision, capsys):
    repo, public = signed_published
    checkout = _checkout(repo, revision, tmp_path / revision)
    assert main(["audit", "verify", str(checkout), "--trusted-key", str(public)]) == 0, capsys.readouterr().out
    report = verify_run(checkout, trusted=_trusted(public))
    assert report.authenticity == "verified"
    away = {f.subject for f in report.findings if f.check == "signature" and f.status == SKIP}
    expected = {"main": {"checkpoints/step1/", "checkpoints/step2/"}, "step1-tokens128": {"checkpoints/step2/"},
                "step2-tokens256": {"checkpoints/step1/"}}[revision]
    assert away == expected  # once for the statement, once for model_signing, each a whole folder
    assert all("ship on revision" in f.detail for f in report.findings if f.subject in away and f.check == "signature")
    passed = {f.subject: f.detail for f in report.findings if f.check == "signature" and f.status == PASS}
    assert "ship on other revisions" in passed["attestation/statement.intoto.json"]
    assert "attestation/model.sig" in passed


def test_a_signed_file_deleted_from_a_checkout_fails(signed_published, tmp_path):
    repo, public = signed_published
    checkout = _checkout(repo, "main", tmp_path / "main")
    (checkout / "docs" / "paper.md").unlink()
    failed = _signature_fails(verify_run(checkout, trusted=_trusted(public)))
    assert failed["docs/paper.md"] == "signed file is missing"
    assert "signed but missing: docs/paper.md" in failed["attestation/model.sig"]


def test_revisions_json_cannot_move_a_signed_file_to_another_revision(signed_published, tmp_path):
    repo, public = signed_published
    checkout = _checkout(repo, "step1-tokens128", tmp_path / "b1")
    shutil.rmtree(checkout / "docs")
    shutil.rmtree(checkout / "checkpoints" / "final")
    value = json.loads((checkout / FILE).read_text())
    value["checkpoints"].update({"docs/": "step2-tokens256", "checkpoints/final/": "step2-tokens256"})
    (checkout / FILE).write_text(json.dumps(value))
    report = verify_run(checkout, trusted=_trusted(public))
    failed = _signature_fails(report)
    assert failed["docs/paper.md"] == "signed file is missing"
    assert failed["checkpoints/final/model.safetensors"] == "signed file is missing"
    assert "signed but missing: " in failed["attestation/model.sig"] and "docs/paper.md" in failed["attestation/model.sig"]
    # the forged map itself is not left to the revision checks alone: the signature refuses it too
    assert failed[FILE] == "not covered by the signature (added or replaced after signing)"
    assert report.authenticity == "failed"


def test_a_stray_file_at_the_root_of_a_checkout_fails(signed_published, tmp_path):
    repo, public = signed_published
    checkout = _checkout(repo, "main", tmp_path / "main")
    shutil.copyfile(checkout / "model.yml", checkout / "extra.yml")  # a copy of a signed file, at the root
    failed = _signature_fails(verify_run(checkout, trusted=_trusted(public)))
    assert failed["extra.yml"] == "not covered by the signature (added or replaced after signing)"
    assert "not signed: extra.yml" in failed["attestation/model.sig"]


def test_a_swapped_checkpoint_file_on_a_branch_fails(signed_published, tmp_path):
    repo, public = signed_published
    checkout = _checkout(repo, "step1-tokens128", tmp_path / "b1")
    other = _checkout(repo, "step2-tokens256", tmp_path / "b2")
    name = "checkpoints/step1/model.safetensors"
    shutil.copyfile(other / "checkpoints" / "step2" / "model.safetensors", checkout / name)
    failed = _signature_fails(verify_run(checkout, trusted=_trusted(public)))
    assert failed[name] == "changed since it was signed (sha256 differs from the signed statement)"
    assert f"{name} changed" in failed["attestation/model.sig"]


def test_model_signing_alone_checks_the_full_bundle_not_a_checkout(signed_published, tmp_path):
    """What docs/auditing.md says: the standalone `model_signing verify` sees a revision's
    checkout as missing the other revisions' checkpoints, even told to ignore unsigned files."""
    import sys

    cli = Path(sys.executable).parent / "model_signing"
    if not cli.exists():
        pytest.skip("model_signing's console script is not installed next to this Python")
    repo, public = signed_published
    checkout = _checkout(repo, "step1-tokens128", tmp_path / "b1")
    argv = [str(cli), "verify", "key", str(checkout), "--signature", str(checkout / "attestation" / "model.sig"),
            "--public_key", str(public)]
    for extra in ([], ["--ignore_unsigned_files"]):
        done = subprocess.run(argv + extra, capture_output=True, text=True)
        assert done.returncode != 0 and "checkpoints/step2/" in done.stderr + done.stdout, (extra, done.stderr)


def test_publish_takes_paths_relative_to_the_caller(built, tmp_path, monkeypatch):
    """`release publish bundle --to repo` from the folder that holds them: git runs inside the
    repository, so the bundle's relative path must not be handed to it as is."""
    import os

    monkeypatch.chdir(tmp_path)
    assert main(["release", "publish", os.path.relpath(built[1], tmp_path), "--to", "repo", *_verify_args()]) == 0
    assert "main" in _git("branch", "--list", "main", cwd=tmp_path / "repo")
