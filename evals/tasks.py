"""The task YAMLs glassworks ships, made runnable: data placeholders become absolute paths.

``evals/tasks/local/`` holds lm-eval task configs (``dataset_path: json``) whose
``data_files`` name the placeholder root ``${TASK_DATA}``, the folder of local copies of
the standard suites a user gives. ``evals/tasks/heldout/`` holds the two templates of the
held-out suite; its tasks, one per file that ``build_suite`` wrote
(``heldout_<kind>_<source>``), and their group ``glassworks_heldout`` are written here, so
the suite follows whatever sources the corpus has. The datasets library resolves relative data files against the
working directory, not the YAML, so ``render_tasks`` copies the folders into a run's
``eval/tasks/`` with the placeholders replaced, and remembers which data files each task
reads: those are hashed into the eval manifest and checked before lm-eval starts.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from glassworks.errors import GlassworksError

TEMPLATES = Path(__file__).resolve().parent / "tasks"
SUITES = ("heldout", "local")
PLACEHOLDERS = {"HELDOUT_DATA": "heldout", "TASK_DATA": "local"}
_PLACEHOLDER = re.compile(r"\$\{(HELDOUT_DATA|TASK_DATA)\}(/[^\s\"']*)?")
_TASK = re.compile(r"^(task|group):\s*(\S+)\s*$", re.MULTILINE)
_MEMBER = re.compile(r"^\s+-\s+(\S+)\s*$", re.MULTILINE)


@dataclass
class RenderedTasks:
    folder: Path
    data_files: dict[str, list[Path]] = field(default_factory=dict)  # task -> files it reads
    groups: dict[str, list[str]] = field(default_factory=dict)  # group -> its tasks
    roots: dict[str, str] = field(default_factory=dict)  # placeholder -> the absolute path it became

    def portable(self, value):
        """``value`` (results, configs) with the rendered folder and the data roots written
        back as the shipped template folder and placeholders: the same on every machine."""
        if isinstance(value, str):
            value = value.replace(self.folder.resolve().as_posix(), "glassworks/evals/tasks")
            for name, root in self.roots.items():
                value = value.replace(root, "${" + name + "}")
            return value
        if isinstance(value, dict):
            return {k: self.portable(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [self.portable(v) for v in value]
        return value

    def expand(self, names: list[str]) -> list[str]:
        """Task names with groups replaced by their members (order kept, no repeats)."""
        out: list[str] = []
        for name in names:
            for task in self.groups.get(name, [name]):
                if task not in out:
                    out.append(task)
        return out

    def check(self, names: list[str]) -> dict[str, list[Path]]:
        """The data files of the named tasks; a missing one is an error naming task and file."""
        files = {}
        for task in self.expand(names):
            for path in self.data_files.get(task, []):
                if not path.is_file():
                    hint = ("give the folder of local copies with --task-data (evals/tasks/local/README.md)"
                            if "TASK_DATA" not in str(path) else "")
                    raise GlassworksError(f"{path}: data file of task {task!r} not found; {hint}".rstrip("; "))
            files[task] = self.data_files.get(task, [])
        return files


def render_tasks(out_dir: str | Path, heldout_data: str | Path | None, task_data: str | Path | None) -> RenderedTasks:
    """Copy the shipped task folders into ``out_dir`` with their data roots filled in. A
    suite whose root is not given keeps its placeholder paths (its tasks fail ``check``)."""
    out_dir = Path(out_dir)
    roots = {"HELDOUT_DATA": heldout_data, "TASK_DATA": task_data}
    rendered = RenderedTasks(out_dir, roots={k: Path(v).resolve().as_posix() for k, v in roots.items() if v is not None})
    if out_dir.exists():
        shutil.rmtree(out_dir)
    for suite in SUITES:
        target = out_dir / suite
        target.mkdir(parents=True)
        for source in sorted((TEMPLATES / suite).iterdir()):
            if not source.is_file() or source.suffix == ".pyc":
                continue
            text = source.read_text(encoding="utf-8")
            if source.suffix == ".yaml":
                text = _render(text, roots, rendered)
            (target / source.name).write_text(text, encoding="utf-8")
    if heldout_data is not None:
        tasks = []
        for data in sorted(Path(heldout_data).glob("heldout_*.jsonl"), key=lambda p: ("ppl" in p.name, p.name)):
            task, kind = data.name[:-len(".jsonl")], data.name.split("_")[1]
            tasks.append(task)
            yaml = (f"include: _{kind}_template\ntask: {task}\ndataset_kwargs:\n  data_files:\n"
                    f"    test: ${{HELDOUT_DATA}}/{data.name}\n")
            (out_dir / "heldout" / f"{task}.yaml").write_text(_render(yaml, roots, rendered), encoding="utf-8")
        group = "group: glassworks_heldout\ntask:\n" + "".join(f"  - {t}\n" for t in tasks) + "metadata:\n  version: 1.0\n"
        (out_dir / "heldout" / "glassworks_heldout.yaml").write_text(_render(group, roots, rendered), encoding="utf-8")
    return rendered


def _render(text: str, roots: dict, rendered: RenderedTasks) -> str:
    names = _TASK.findall(text)
    files: list[Path] = []

    def fill(match: re.Match) -> str:
        root = roots[match[1]]
        rest = match[2] or ""
        path = (Path(root).resolve().as_posix() if root is not None else "${" + match[1] + "}") + rest
        files.append(Path(path))
        return path

    text = _PLACEHOLDER.sub(fill, text)
    for kind, name in names:
        if kind == "task":
            rendered.data_files[name] = files
        else:
            rendered.groups[name] = _MEMBER.findall(text.split("task:", 1)[1])
    return text
