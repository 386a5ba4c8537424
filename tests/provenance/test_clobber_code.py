"""A stage re-run by other code in a run whose later stages use it is refused, not half-retired."""

import pytest

import glassworks.provenance.recorder as recorder
from glassworks.errors import GlassworksError
from glassworks.provenance import record_stage, verify_run


def two_stages(run):
    raw = run / "a.txt"
    raw.parent.mkdir(parents=True, exist_ok=True)
    raw.write_text("made by a\n")
    with record_stage(run, "a", "1", {"k": 1}) as rec:
        rec.output(raw)
    with record_stage(run, "b", "1", {"k": 2}) as rec:
        rec.input(raw)
        (run / "b.txt").write_text("made by b\n")
        rec.output(run / "b.txt")


def test_same_code_same_config_may_rerun(tmp_path):
    two_stages(tmp_path)
    recorder.refuse_to_clobber(tmp_path, "a", {"k": 1})  # rewrites the same record: allowed
    assert verify_run(tmp_path).ok


def test_other_code_is_refused_while_later_stages_use_the_record(tmp_path, monkeypatch):
    two_stages(tmp_path)
    now = recorder.code_identity()
    monkeypatch.setattr(recorder, "code_identity", lambda: {**now, "git_commit": "f" * 40})
    with pytest.raises(GlassworksError, match=r"stage 'a' was run here by other code \(glassworks .* at .*, now "
                                              r"glassworks .* at ffffffffffff\), and 1 later stage\(s\) use its outputs "
                                              r"\(b-[0-9a-f]{16}\); finish a run on one commit"):
        recorder.refuse_to_clobber(tmp_path, "a", {"k": 1})
    assert verify_run(tmp_path).ok  # nothing was touched
