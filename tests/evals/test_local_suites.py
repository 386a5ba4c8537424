"""The standard-suite YAMLs (ARC, HellaSwag, PIQA, Winogrande, MMLU) on local JSONL copies in
each dataset's own row format, and the lazy registration of the lm-eval model."""

import json
import subprocess
import sys

import pytest

from glassworks.evals.run import EvalConfig, evaluate_checkpoint

# Two rows per dataset, in the field layout of the published Hugging Face datasets
# (written for these tests, not taken from the datasets).
ROWS = {
    "arc_easy/test.jsonl": [
        {"id": "t1", "question": "Which of these is a liquid at room temperature?",
         "choices": {"text": ["iron", "water", "salt", "wood"], "label": ["A", "B", "C", "D"]}, "answerKey": "B"},
        {"id": "t2", "question": "What do plants need to make food?",
         "choices": {"text": ["sunlight", "sand", "plastic"], "label": ["1", "2", "3"]}, "answerKey": "1"}],
    "arc_challenge/test.jsonl": [
        {"id": "c1", "question": "Why does a metal spoon feel colder than a wooden one?",
         "choices": {"text": ["it conducts heat away faster", "it is heavier", "it is shinier", "it is longer"],
                     "label": ["A", "B", "C", "D"]}, "answerKey": "A"}],
    "hellaswag/validation.jsonl": [
        {"ind": 1, "activity_label": "Baking bread", "ctx_a": "A man kneads dough on a table.",
         "ctx_b": "he", "ctx": "A man kneads dough on a table. he",
         "endings": ["puts the dough in a bowl to rise.", "[header] swims across a lake.",
                     "reads a newspaper upside down.", "paints the table blue."],
         "source_id": "x", "split": "val", "split_type": "indomain", "label": "0"}],
    "piqa/validation.jsonl": [
        {"goal": "Keep a door from slamming", "sol1": "Place a rubber wedge under it.",
         "sol2": "Paint the door a darker color.", "label": 0}],
    "winogrande/validation.jsonl": [
        {"sentence": "The trophy did not fit in the suitcase because the _ was too big.",
         "option1": "trophy", "option2": "suitcase", "answer": "1"}],
    "mmlu/test.jsonl": [
        {"question": "What is 7 times 6?", "subject": "elementary_mathematics",
         "choices": ["42", "36", "48", "54"], "answer": 0}],
}


@pytest.fixture
def task_data(tmp_path):
    for name, rows in ROWS.items():
        path = tmp_path / "copies" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return tmp_path / "copies"


def test_every_local_suite_runs_on_its_local_copy(tmp_path, checkpoint, task_data):
    results = evaluate_checkpoint(checkpoint, tmp_path / "run", EvalConfig(tasks=("local_suite",), threads=1),
                                  task_data=task_data)
    names = ["local_arc_easy", "local_arc_challenge", "local_hellaswag", "local_piqa", "local_winogrande", "local_mmlu"]
    assert set(names) <= set(results["results"])
    expected = {n: len(ROWS[f"{n[6:]}/{'test' if 'arc' in n or 'mmlu' in n else 'validation'}.jsonl"]) for n in names}
    assert {n: results["n-samples"][n]["effective"] for n in names} == expected
    for name in names:
        assert 0.0 <= results["results"][name]["acc,none"] <= 1.0
    config = results["configs"]["local_arc_easy"]
    assert config["dataset_kwargs"]["data_files"]["test"] == "${TASK_DATA}/arc_easy/test.jsonl"


REGISTRATION = """
import sys
import glassworks.evals
assert "lm_eval" not in sys.modules and "torch" not in sys.modules, "importing glassworks.evals must stay light"
from lm_eval.api.registry import model_registry
assert "glassworks" in model_registry and "hf" in model_registry and "torch" not in sys.modules
"""


@pytest.mark.parametrize("first", ["", "import lm_eval.api.registry\n"])
def test_importing_the_package_registers_the_model_either_way(first):
    code = first + REGISTRATION
    if first:
        code = code.replace('assert "lm_eval" not in sys.modules and ', "assert ")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
