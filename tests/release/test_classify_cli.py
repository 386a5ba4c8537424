"""`glassworks release classify`: the contract of ARCHITECTURE.md, and a light import."""

import json
import subprocess
import sys

from glassworks.cli import main


def test_json_lines_follow_the_contract_in_order(mof_reference, capsys):
    files = [mof_reference / "Amber.yml", mof_reference / "Granite-4.0-Micro.yml", mof_reference / "Llama-3.1-8B.yml"]
    assert main(["release", "classify", "--json", *map(str, files)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 3
    objects = [json.loads(line) for line in lines]
    assert [o["file"] for o in objects] == [str(f) for f in files]
    assert [o["class"] for o in objects] == ["Class I", "Class III", "Unclassified"]
    assert [o["strict_class"] for o in objects] == ["Unclassified"] * 3  # Apache-2.0 weights: not a data licence
    for o in objects:
        assert set(o["progress"]) == {"I", "II", "III"}
        assert all(isinstance(v, float) and 0 <= v <= 100 for v in o["progress"].values())
        assert len(o["components"]) == 17
        assert all(c["reason"] and isinstance(c["counts"], bool) for c in o["components"].values())
    assert objects[1]["progress"] == {"I": 0.0, "II": 60.0, "III": 100.0}
    weights = objects[1]["components"]["Model parameters (Final)"]
    assert (weights["counts"], weights["strict_counts"], weights["type_appropriate"]) == (True, False, False)
    assert objects[1]["warnings"] == [f"Model parameters (Final) (type data): {weights['reason'].split(': ', 1)[1]}"]
    assert "Apache-2.0 is open" in weights["reason"] and "not type-appropriate for data" in weights["reason"]


def test_unreadable_files_are_explained_and_the_rest_still_classified(mof_reference, tmp_path, capsys):
    broken = tmp_path / "broken.yml"
    broken.write_text("release: [unclosed\n")
    assert main(["release", "classify", "--json", str(broken), str(mof_reference / "Amber.yml"),
                 str(tmp_path / "absent.yml")]) == 1
    captured = capsys.readouterr()
    objects = [json.loads(line) for line in captured.out.splitlines()]
    assert [o["class"] for o in objects] == ["Unclassified", "Class I", "Unclassified"]
    assert objects[0]["problems"][0].startswith(f"{broken}:2: not valid YAML")
    assert "cannot read" in objects[2]["problems"][0]
    assert captured.err.strip() == "glassworks: error: 2 of 3 description(s) could not be read (explained above)"


def test_text_output_names_what_the_next_class_needs(mof_reference, capsys):
    assert main(["release", "classify", str(mof_reference / "Polyglot-Ko.yml")]) == 0
    out = capsys.readouterr().out
    assert ("Class II (progress III 100.0%, II 100.0%, I 92.9%); strict: Unclassified (progress III 83.3%, "
            "II 0.0%, I 0.0%)") in out
    assert "for Class I: Model parameters (Intermediate): missing" in out
    assert "  warning: Datasets (type data): Apache-2.0 is open" in out
    assert "strictly, for Class III: Model parameters (Final): counts for the MOT, not strictly" in out


def test_classify_does_not_import_torch(mof_reference):
    code = ("import sys; from glassworks.cli import main; rc = main(['release', 'classify', '--json', sys.argv[1]]);"
            "heavy = [m for m in ('torch', 'datatrove', 'lm_eval', 'transformers') if m in sys.modules];"
            "print(heavy, file=sys.stderr); sys.exit(rc or (3 if heavy else 0))")
    done = subprocess.run([sys.executable, "-c", code, str(mof_reference / "Amber.yml")], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
