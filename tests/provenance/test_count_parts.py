"""Counts broken down by part (a source, a phase): recorded, balanced and checked by verify."""

import json

import pytest

from glassworks.errors import GlassworksError
from glassworks.provenance import manifest_digest, record_stage, verify_run


def record(run, parts):
    out = run / "out.txt"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("tokens\n")
    with record_stage(run, "mix", "1", {"seed": 0}, unit="tokens") as rec:
        for name, (kept, dropped) in parts.items():
            part = rec.counts.part(name)
            part.add_in(kept + dropped)
            part.keep(kept)
            if dropped:
                part.drop("over_budget", dropped)
        rec.output(out)
    return json.loads((run / "manifests" / f"{rec.manifest_id}.json").read_text())


def test_parts_add_up_to_the_totals_and_verify(tmp_path):
    manifest = record(tmp_path, {"web": (70, 5), "code": (30, 0)})
    counts = manifest["counts"]
    assert (counts["in"], counts["kept"], counts["dropped"]) == (105, 100, {"over_budget": 5})
    assert counts["parts"] == {"code": {"in": 30, "kept": 30, "dropped": {}, "quarantined": 0},
                               "web": {"in": 75, "kept": 70, "dropped": {"over_budget": 5}, "quarantined": 0}}
    report = verify_run(tmp_path)
    assert report.ok
    assert any(f.check == "counts" and f.detail == "105 tokens accounted for in 2 parts" for f in report.findings)


def test_a_manifest_without_parts_has_no_parts_key(tmp_path):
    with record_stage(tmp_path, "plain", "1", {}) as rec:
        rec.counts.add_in(1)
        rec.counts.keep(1)
    manifest = json.loads((tmp_path / "manifests" / f"{rec.manifest_id}.json").read_text())
    assert "parts" not in manifest["counts"]


def test_an_unbalanced_part_is_refused_when_recording(tmp_path):
    with pytest.raises(GlassworksError, match=r"stage 'mix' \(part 'web'\): accounting does not balance"):
        with record_stage(tmp_path, "mix", "1", {}) as rec:
            rec.counts.part("web").add_in(3)
            rec.counts.part("web").keep(2)
            rec.counts.part("code").add_in(0)
            rec.counts.keep(1)  # the total balances, the part does not


def test_forged_parts_that_do_not_add_up_are_named(tmp_path):
    manifest = record(tmp_path, {"web": (70, 5), "code": (30, 0)})
    path = tmp_path / "manifests" / f"{manifest['id']}.json"
    forged = json.loads(path.read_text())
    forged["counts"]["parts"]["web"]["kept"] = 60
    forged["counts"]["parts"]["web"]["in"] = 65
    forged["digest"] = manifest_digest(forged)
    forged["id"] = f"mix-{forged['digest'][:16]}"
    path.unlink()
    (tmp_path / "manifests" / f"{forged['id']}.json").write_text(json.dumps(forged))
    failed = [f for f in verify_run(tmp_path).findings if f.status == "fail"]
    assert [(f.check, f.subject) for f in failed] == [("counts", f"manifests/{forged['id']}.json")]
    assert failed[0].detail == "parts add up to in=95, the total says 105; parts add up to kept=90, the total says 100"
