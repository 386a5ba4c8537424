"""MOF classification: the class the Model Openness Tool computes, and a strict class.

The MOT's rules (``ModelEvaluator``, reproduced; ``mot.py`` reads the file as the MOT does):

- Class III requires six components, Class II those and four more, Class I those and four
  more (``assets/components.yaml``, the MOT's ``mof.settings.yml``). A listed component
  counts ("included") when its licence is open to the MOT (``licences.judge``: the string
  looked up as one id); ``unlicensed`` components and those with any other licence
  ("invalid") do not. Optional components never count.
- An open licence that the MOT does not list for the component's content type still counts;
  the MOT only warns ("should have a type-appropriate open license").
- When the technical report does not count but the research paper is listed, the paper
  takes the report's place at Classes III and II, and Class I needs one component fewer.
- Progress towards class k is the share of its (cumulative) required components that count,
  and 0 unless every class above k is complete. The class is the most open one at 100%.

The strict class applies the same rules with one more condition: a component counts only
when its licence is also type-appropriate, i.e. when the MOT would not warn about it. It is
therefore never above the MOT's class.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

from glassworks.release.mof import mot
from glassworks.release.mof.components import ROMAN, Component, components, required_by, required_for
from glassworks.release.mof.description import Description, read_description
from glassworks.release.mof.licences import UNLICENSED, acceptable, describe, judge

Status = Literal["included", "missing", "unlicensed", "invalid"]
LABELS = {0: "Unclassified", 1: "Class I", 2: "Class II", 3: "Class III"}
REPORT, PAPER = "Technical report", "Research paper"


@dataclass(frozen=True)
class ComponentResult:
    component: Component
    status: Status  # the MOT's: included (counts), missing, unlicensed, invalid (licence not open or unknown)
    licence: str | None = None  # the licence the MOT resolved, verbatim; None when missing or unlicensed
    licence_from: str | None = None  # where that licence was written
    type_appropriate: bool | None = None  # the MOT lists the licence for this content type; None: no licence
    reason: str = ""  # why it counts or not, in the MOT's terms

    @property
    def counts(self) -> bool:
        """Counts towards the MOT's class."""
        return self.status == "included"

    @property
    def strict_counts(self) -> bool:
        """Counts towards the strict class: included and type-appropriate."""
        return self.counts and bool(self.type_appropriate)

    def as_json(self) -> dict:
        c = self.component
        return {
            "class": ROMAN[c.mof_class], "required": c.required, "content_type": c.content_type,
            "status": self.status, "counts": self.counts, "strict_counts": self.strict_counts,
            "license": self.licence, "license_from": self.licence_from,
            "type_appropriate": self.type_appropriate, "reason": self.reason,
        }


@dataclass(frozen=True)
class Classification:
    source: str
    mof_class: int  # the MOT's class: 1, 2, 3, or 0 for unclassified
    progress: dict[int, float]  # the MOT's progress: class -> percent
    components: dict[str, ComponentResult]  # every one of the 17, by name, in framework order
    problems: tuple[str, ...] = ()  # what could not be read, or why the MOT would refuse the file
    schema_errors: tuple[str, ...] = ()  # against glassworks' own schema (assets/mof.schema.json)
    readable: bool = True
    warnings: tuple[str, ...] = field(default=())  # the MOT's warnings (licence not type-appropriate), and notes
    strict_class: int = 0  # same rules, every counted licence also type-appropriate
    strict_progress: dict[int, float] = field(default_factory=lambda: {1: 0.0, 2: 0.0, 3: 0.0})
    mot_accepts: bool = True  # False: the MOT would refuse to load the file (then everything is 0)

    @property
    def label(self) -> str:
        return LABELS[self.mof_class]

    @property
    def strict_label(self) -> str:
        return LABELS[self.strict_class]

    def as_json(self) -> dict:
        return {
            "file": self.source,
            "class": self.label,
            "strict_class": self.strict_label,
            "progress": {ROMAN[k]: self.progress[k] for k in (1, 2, 3)},
            "strict_progress": {ROMAN[k]: self.strict_progress[k] for k in (1, 2, 3)},
            "mot_accepts": self.mot_accepts,
            "components": {name: r.as_json() for name, r in self.components.items()},
            "warnings": list(self.warnings),
            "schema_errors": list(self.schema_errors),
            "problems": list(self.problems),
        }

    def gaps(self, mof_class: int, strict: bool = False) -> list[str]:
        """One actionable line per required component that keeps ``mof_class`` out of reach
        (by the MOT's rules, or with ``strict`` by the strict ones)."""
        counts = (lambda r: r.strict_counts) if strict else (lambda r: r.counts)
        paper = self.components[PAPER]
        lines = []
        for component in required_for(mof_class):
            result = self.components[component.name]
            if counts(result) or (component.name == REPORT and paper.status != "missing" and counts(paper)):
                continue
            if component.name == REPORT and paper.status != "missing" and mof_class > 1:
                lines.append(_gap_line(paper) + " (it stands in for the technical report)")
                continue
            lines.append(_gap_line(result))
        return lines

    def next_class(self, strict: bool = False) -> int | None:
        """The next more open class, or None when the release is Class I already."""
        reached = self.strict_class if strict else self.mof_class
        return None if reached == 1 else (3 if reached == 0 else reached - 1)


def _gap_line(result: ComponentResult) -> str:
    c = result.component
    wanted = f"one of {', '.join(acceptable(c.content_type))}"
    if result.status == "missing":
        return f"{c.name}: missing ({c.about}); add it under {wanted}"
    if "wants one of" in result.reason:
        return f"{c.name}: {result.reason}"
    return f"{c.name}: {result.reason}; license it under {wanted}"


def judge_component(component: Component, entry: mot.MotEntry | None) -> ComponentResult:
    """The MOT's status for one component (``ModelEvaluator::evaluateComponents``)."""
    if entry is None:
        return ComponentResult(component, "missing", reason="does not count: not listed in the description")
    kind = component.content_type
    if entry.licence == UNLICENSED:
        why = ("listed as unlicensed" if entry.licence_from == "component"
               else "no licence on the component and no global one for its type or the distribution")
        return ComponentResult(component, "unlicensed", None, entry.licence_from, None, f"does not count: {why}")
    verdict = judge(entry.licence, kind)
    text = describe(verdict, kind)
    if verdict.is_open:
        prefix = "counts" if verdict.type_appropriate else "counts for the MOT, not strictly"
        return ComponentResult(component, "included", entry.licence, entry.licence_from, verdict.type_appropriate,
                               f"{prefix}: {text}")
    return ComponentResult(component, "invalid", entry.licence, entry.licence_from, verdict.type_appropriate,
                           f"does not count: {text}")


def progress_of(counted: dict[str, bool], listed: dict[str, bool]) -> dict[int, float]:
    """``ModelEvaluator::getProgress`` for classes 3, 2, 1, given which components count and
    which are listed (the paper stands in for the report when listed, whatever its status)."""
    paper_in = not counted[REPORT] and listed[PAPER]

    def included(k: int) -> int:
        n = sum(counted[c.name] for c in required_for(k))
        return n + (counted[PAPER] if paper_in and k > 1 else 0)

    out = {}
    for k in (3, 2, 1):
        total = 0
        for i in range(3, k - 1, -1):
            total += len(required_by(i))
            n = included(i)
            if n < total:
                break
        if i > k:  # a class above k is not complete
            out[k] = 0.0
            continue
        if k == 1 and not counted[REPORT] and counted[PAPER]:
            total -= 1
        out[k] = min(n / total * 100, 100.0)
    return out


def class_of(progress: dict[int, float]) -> int:
    reached = [k for k in (3, 2, 1) if progress[k] == 100.0]
    return min(reached) if reached else 0


def evaluate(desc: Description, schema_errors: list[str] | None = None) -> Classification:
    reading = mot.read(desc)
    results = {c.name: judge_component(c, reading.entries.get(c.name)) for c in components()}
    listed = {name: r.status != "missing" for name, r in results.items()}
    report = results[REPORT]
    if not report.counts and listed[PAPER]:
        results[REPORT] = replace(report, reason=f"{report.reason}; the research paper takes its place "
                                  "(Classes III and II count the paper; Class I then needs one component fewer)")
    zero = {1: 0.0, 2: 0.0, 3: 0.0}
    if reading.accepted:
        progress = progress_of({n: r.counts for n, r in results.items()}, listed)
        strict = progress_of({n: r.strict_counts for n, r in results.items()}, listed)
    else:
        progress, strict = zero, dict(zero)
    warnings = tuple(f"{name} (type {r.component.content_type}): {r.reason.split(': ', 1)[1]}"
                     for name, r in results.items() if r.counts and not r.type_appropriate)
    problems = [*desc.problems]
    if desc.readable:
        problems += [f"{line} (the Model Openness Tool refuses such a file)" for line in reading.refusals]
    return Classification(desc.source, class_of(progress), progress, results, tuple(problems),
                          tuple(schema_errors or ()), desc.readable, warnings + tuple(reading.notes),
                          class_of(strict), strict, reading.accepted)


def classify_file(path: str | Path, validate: bool = True) -> Classification:
    """Read and classify one model.yml; never raises on what the file contains."""
    desc = read_description(path)
    errors: list[str] = []
    if validate and desc.readable:
        from glassworks.release.mof.schema import schema_errors

        errors = schema_errors(desc)
    return evaluate(desc, errors)


def classify(description: str | Path | dict) -> Classification:
    """MOT class, strict class, progress, per-component reasons and warnings of a model.yml
    given as a path or as already-parsed data (as ``release build`` holds it)."""
    if isinstance(description, dict):
        from glassworks.release.mof.description import from_data
        from glassworks.release.mof.schema import schema_errors

        desc = from_data(description)
        return evaluate(desc, schema_errors(desc) if desc.readable else [])
    return classify_file(description)
