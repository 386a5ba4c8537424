"""A real bundle from the demo's corpus run: it verifies, and tampering with any kind of artifact is named.

These bundles are unsigned: integrity is checked with ``allow_unsigned`` (--allow-unsigned);
that an unsigned bundle fails by default is the first test. Signatures: test_signing, test_forgery.
"""

import io
import json
import os
from pathlib import Path

import pytest
import yaml

from glassworks.cli import main
from glassworks.provenance import verify_run
from glassworks.provenance.attest import UNSIGNED
from glassworks.provenance.manifest import manifest_digest
from glassworks.provenance.paths import UnsafePath, resolve_inside, unsafe_reason


def fails(path: Path, **kw) -> list[str]:
    return [f.line() for f in verify_run(path, allow_unsigned=True, **kw).failures]


def test_an_unsigned_bundle_fails_unless_the_auditor_allows_it(bundle, capsys):
    report = verify_run(bundle)
    assert not report.ok and report.authenticity == "failed"
    assert [f.line() for f in report.failures] == [f"FAIL signature attestation/: {UNSIGNED}"]
    assert main(["audit", "verify", str(bundle)]) == 1
    capsys.readouterr()
    assert main(["audit", "verify", str(bundle), "--allow-unsigned"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("AUTHENTICITY NOT CHECKED (--allow-unsigned") and out[-1].startswith("VERIFIED")


def flip(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))


def manifest_of(bundle: Path, stage: str) -> Path:
    return next(p for p in (bundle / "manifests").glob(f"{stage}-*.json"))


def test_bundle_verifies_with_every_bundle_check(bundle):
    report = verify_run(bundle, allow_unsigned=True)
    assert report.ok, [f.line() for f in report.failures]
    assert report.kind == "bundle" and report.manifests == len(list((bundle / "manifests").glob("*.json"))) > 15
    checks = report.by_check()
    for check in ("code", "mof", "checkpoint", "link", "file", "counts", "digest", "paths"):
        assert checks[check]["pass"] > 0, check
    seen = {(f.check, f.status, f.subject, f.detail) for f in report.findings}
    final = "checkpoints/final/model.safetensors"
    assert ("checkpoint", "pass", final, "well-formed safetensors") in seen
    assert ("checkpoint", "pass", final, "matches checkpoints/final/state.json") in seen
    assert ("mof", "pass", "model.yml components[Model parameters (Final)].component_path",
            "checkpoints/final/ is in the bundle") in seen
    # raw inputs are hashed straight out of the code archive
    raw = [f for f in report.findings if f.subject == "data:web/sphinx-docs.warc.gz"]
    assert raw and all(f.status == "pass" and "code archive" in f.detail for f in raw)


def test_bundle_that_ships_only_manifests_names_what_is_not_shipped(manifests_bundle):
    report = verify_run(manifests_bundle, allow_unsigned=True)
    assert report.ok, [f.line() for f in report.failures]
    skipped = {f.subject for f in report.findings if f.status == "skip"}
    assert "corpus/slimpajama/language/web/00000.jsonl.gz" in skipped and "raw/web/sphinx-docs.warc.gz" in skipped
    assert all("not shipped" in f.detail for f in report.findings if f.status == "skip")
    assert not any(f.subject.startswith("checkpoints/") for f in report.findings if f.status == "skip")


def component_file(bundle: Path, component: str) -> str:
    """A file that model.yml names for a MOF component (the first one, for a folder)."""
    mof = yaml.safe_load((bundle / "model.yml").read_text())
    path = next(c["component_path"] for c in mof["release"]["components"] if c["name"] == component).rstrip("/")
    if (bundle / path).is_dir():
        path = sorted(p.relative_to(bundle).as_posix() for p in (bundle / path).rglob("*") if p.is_file())[0]
    return path


def set_component_path(bundle: Path, component: str, value: str) -> None:
    mof = yaml.safe_load((bundle / "model.yml").read_text())
    next(c for c in mof["release"]["components"] if c["name"] == component)["component_path"] = value
    (bundle / "model.yml").write_text(yaml.safe_dump(mof, sort_keys=False))


VICTIMS = {
    "shard": "corpus/slimpajama/language/web/00000.jsonl.gz",
    "intermediate stage output": "documents/text/00000.jsonl.gz",
    "final checkpoint": "checkpoints/final/model.safetensors",
    "checkpoint sidecar": "checkpoints/step1/state.json",
    "Hugging Face export": "hf/model.safetensors",
    "MOF description": "model.yml",
    "model card": "Model card",  # a MOF component: the file model.yml names for it
    "data card": "Data card",
    "technical report": "Technical report",
}


@pytest.mark.parametrize("kind", list(VICTIMS))
def test_tampered_artifact_is_caught_and_named(bundle, kind, capsys):
    victim = VICTIMS[kind]
    if not (bundle / victim).is_file():
        victim = component_file(bundle, victim)
    flip(bundle / victim)
    lines = fails(bundle)
    assert lines and any(victim in line and "content changed" in line for line in lines), lines
    assert main(["audit", "verify", str(bundle), "--allow-unsigned"]) == 1
    assert victim in capsys.readouterr().out


def test_weights_that_disagree_with_their_sidecar_are_named(bundle):
    flip(bundle / "checkpoints" / "step2" / "model.safetensors")
    lines = fails(bundle)
    assert any("FAIL checkpoint checkpoints/step2/model.safetensors: sha256 differs from the one "
               "checkpoints/step2/state.json lists" in line for line in lines), lines


def test_tampered_manifest_is_caught_and_named(bundle):
    path = manifest_of(bundle, "slimpajama.normalize")
    manifest = json.loads(path.read_text())
    manifest["counts"]["kept"] += 1
    manifest["counts"]["in"] += 1
    path.write_text(json.dumps(manifest))
    assert any(line.startswith(f"FAIL digest   manifests/{path.name}") for line in fails(bundle))


def test_manifest_forged_with_a_recomputed_digest_breaks_its_links(bundle):
    path = manifest_of(bundle, "eval")
    forged = json.loads(path.read_text())
    forged["config"]["task"] = "something_easier"
    forged["digest"] = manifest_digest(forged)
    forged["id"] = f"eval-{forged['digest'][:16]}"
    path.unlink()
    (bundle / "manifests" / f"{forged['id']}.json").write_text(json.dumps(forged))
    lines = fails(bundle)
    assert any(f"missing link: upstream manifest manifests/{path.name} does not exist" in line for line in lines)


def test_code_identity_must_match_the_shipped_archive(bundle):
    path = manifest_of(bundle, "documents")
    forged = json.loads(path.read_text())
    forged["code"]["git_commit"] = "0" * 40
    forged["digest"] = manifest_digest(forged)
    forged["id"] = f"documents-{forged['digest'][:16]}"
    path.unlink()
    (bundle / "manifests" / f"{forged['id']}.json").write_text(json.dumps(forged))
    lines = fails(bundle)
    assert any(f"FAIL code     manifests/{forged['id']}.json: made by commit 000000000000" in line for line in lines)


def test_missing_checkpoint_and_mof_claims_are_named(bundle):
    (bundle / "checkpoints" / "step1" / "model.safetensors").unlink()
    lines = fails(bundle)
    assert any("checkpoints/step1/model.safetensors" in line and "missing" in line for line in lines)
    assert any("FAIL checkpoint checkpoints/step1/: a checkpoint folder without safetensors" in line for line in lines)
    set_component_path(bundle, "Data card", "NOCARD.md")
    assert any("components[Data card].component_path: names NOCARD.md, which is not in the bundle" in line
               for line in fails(bundle))


def test_mof_paths_that_escape_are_refused(bundle, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("outside")
    for bad in ("../secret.txt", str(secret), "corpus/../../secret.txt"):
        set_component_path(bundle, "Model card", bad)
        lines = fails(bundle)
        assert any("components[Model card].component_path: refused" in line for line in lines), (bad, lines)


def test_symlink_out_of_the_bundle_is_refused(bundle, tmp_path):
    outside = tmp_path / "weights.safetensors"
    outside.write_bytes((bundle / "checkpoints/final/model.safetensors").read_bytes())
    (bundle / "checkpoints/final/model.safetensors").unlink()
    (bundle / "checkpoints/final/model.safetensors").symlink_to(outside)
    lines = fails(bundle)
    assert any("FAIL paths    checkpoints/final/model.safetensors: is a symlink" in line for line in lines)


def test_malformed_manifest_and_model_yml_fail_clearly(bundle):
    path = manifest_of(bundle, "eval")
    path.write_text('{"schema": "glassworks.manifest/v1", "id": ')
    (bundle / "model.yml").write_text("a: &x [1, 2]\nb: *x\nrelease: {}\n")
    lines = fails(bundle)
    assert any(f"FAIL manifest manifests/{path.name}: 1: manifest is not valid JSON" in line for line in lines)
    assert any("FAIL mof      model.yml: line 2: YAML aliases are not accepted" in line for line in lines)


def test_unsafe_paths_are_refused(tmp_path):
    for bad in ("../x", "/etc/passwd", "a/../../x", "a\\b", "a\x00b", "", "a//b", "C:/x"):
        assert unsafe_reason(bad), bad
    (tmp_path / "root").mkdir()
    (tmp_path / "root" / "link").symlink_to(tmp_path)
    for bad in ("../x", "link/secret"):
        with pytest.raises(UnsafePath):
            resolve_inside(tmp_path / "root", bad)
    assert resolve_inside(tmp_path / "root", "a/b.txt") == (tmp_path / "root" / "a" / "b.txt").resolve()


def test_the_verifier_never_opens_pickles(bundle):
    (bundle / "checkpoints" / "final" / "optimizer.pt").write_bytes(b"\x80\x04cos\nsystem\n(S'echo pwned'\ntR.")
    report = verify_run(bundle, allow_unsigned=True)
    assert any(f.check == "checkpoint" and f.status == "warn" and "pickle" in f.detail for f in report.findings)
    assert any("checkpoints/final/optimizer.pt" in f.line() and f.check == "coverage" for f in report.failures)


def test_report_in_markdown_and_html_with_a_lineage_picture(bundle, tmp_path, capsys):
    card = component_file(bundle, "Model card")
    flip(bundle / card)
    assert main(["audit", "verify", str(bundle), "--allow-unsigned", "--report", str(tmp_path / "report")]) == 1
    markdown = (tmp_path / "report" / "audit.md").read_text()
    assert markdown.startswith(f"# Audit of {bundle}") and "**FAILED" in markdown
    assert f"**{card}** (claimed by `manifests/release.bundle-" in markdown
    assert "| slimpajama.normalize |" in markdown and "![lineage graph](lineage.png)" in markdown
    page = (tmp_path / "report" / "audit.html").read_text()
    assert f"<td>{card}</td>" in page and "<script" not in page
    assert (tmp_path / "report" / "lineage.png").stat().st_size > 20_000
    assert os.path.getsize(tmp_path / "report" / "audit.html") > 2_000


def test_code_archive_is_proven_against_the_auditors_clone(bundle, tmp_path):
    """With --repo, the archive's git tree id is computed from its bytes and must be the
    commit's tree: code swapped inside an archive that keeps the commit id is caught."""
    import tarfile

    repo = Path(__file__).resolve().parents[2]
    archive = next((bundle / "code").glob("*.tar.gz"))
    assert main(["audit", "verify", str(bundle), "--allow-unsigned", "--repo", str(repo)]) == 0
    with tarfile.open(archive) as src:
        commit = src.pax_headers["comment"]
        members = [(m, src.extractfile(m).read() if m.isfile() else None) for m in src.getmembers()]
    forged = tmp_path / archive.name
    with tarfile.open(forged, "w:gz", format=tarfile.PAX_FORMAT, pax_headers={"comment": commit}) as out:
        for member, data in members:
            if member.name.endswith("pipeline/filters/__init__.py"):
                data += b"\n# a quiet change\n"
                member.size = len(data)
            out.addfile(member, io.BytesIO(data) if data is not None else None)
    archive.write_bytes(forged.read_bytes())
    lines = fails(bundle, repo=repo)
    assert any(f"FAIL code     code/{archive.name}: its files differ from the tree of commit {commit[:12]}" in line
               for line in lines), lines


def test_a_bundle_inside_its_run_is_left_to_its_own_verify(corpus_run, manifests_bundle, tmp_path):
    """`release build` writes RUN/bundle/ by default: the run still verifies, and says where the bundle is."""
    import shutil

    run = tmp_path / "run"
    shutil.copytree(corpus_run, run)
    shutil.copytree(manifests_bundle, run / "bundle")
    report = verify_run(run, unchecked_roots=("data",))
    assert report.ok, [f.line() for f in report.failures]
    assert any(f.subject == "bundle/" and f.status == "skip" and "verify it on its own" in f.detail
               for f in report.findings)
    assert verify_run(run / "bundle", allow_unsigned=True).ok
