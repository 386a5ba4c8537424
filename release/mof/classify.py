"""MOF classification: which class a description reaches, and how far it is towards each.

The rules (MOF 1.0, as the Model Openness Tool applies them):

- Class III requires six components, Class II those and four more, Class I those and four
  more (``assets/components.yaml``). A required component counts when it is included
  with an open licence (``licences.judge``); missing, unlicensed or not-open components
  do not count. Optional components are reported, never counted.
- The research paper may stand in for the technical report at Classes III and II. At
  Class I, where the paper itself is required, a paper that stands in for a missing report
  fills both places, so Class I then needs one component fewer.
- Progress towards class k is the share of its required components that count, but only
  once every class above k is complete: until a release is an open model (III), it has
  made no progress towards open tooling (II) or open science (I).
- The class is the most open class whose progress is 100%; below Class III the release is
  unclassified.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from glassworks.release.mof.components import ROMAN, Component, components, required_for
from glassworks.release.mof.description import ComponentEntry, Description, component_entries, read_description
from glassworks.release.mof.licences import WANTED, judge

Status = Literal["included", "missing", "unlicensed", "invalid"]
LABELS = {0: "Unclassified", 1: "Class I", 2: "Class II", 3: "Class III"}
REPORT, PAPER = "Technical report", "Research paper"


@dataclass(frozen=True)
class ComponentResult:
    component: Component
    status: Status  # included (counts), missing, unlicensed or invalid (licence not open or unknown)
    licence: str | None = None  # the licence that applies, after inheritance
    licence_from: str | None = None  # where that licence was written
    type_appropriate: bool | None = None  # open licence of the kind the content type wants
    reason: str = ""  # why it does not count, or what to fix

    @property
    def counts(self) -> bool:
        return self.status == "included"

    def as_json(self) -> dict:
        c = self.component
        return {
            "class": ROMAN[c.mof_class], "required": c.required, "content_type": c.content_type,
            "status": self.status, "license": self.licence, "license_from": self.licence_from,
            "type_appropriate": self.type_appropriate, "reason": self.reason,
        }


@dataclass(frozen=True)
class Classification:
    source: str
    mof_class: int  # 1, 2, 3, or 0 for unclassified
    progress: dict[int, float]  # class -> percent of its required components that count
    components: dict[str, ComponentResult]  # every one of the 17, by name, in framework order
    problems: tuple[str, ...] = ()  # what could not be read, one line each
    schema_errors: tuple[str, ...] = ()
    readable: bool = True
    warnings: tuple[str, ...] = field(default=())  # counted, but worth fixing (licence of the wrong type)

    @property
    def label(self) -> str:
        return LABELS[self.mof_class]

    def as_json(self) -> dict:
        return {
            "file": self.source,
            "class": self.label,
            "progress": {ROMAN[k]: self.progress[k] for k in (1, 2, 3)},
            "components": {name: r.as_json() for name, r in self.components.items()},
            "schema_errors": list(self.schema_errors),
            "problems": list(self.problems),
            "warnings": list(self.warnings),
        }

    def gaps(self, mof_class: int) -> list[str]:
        """One actionable line per required component that keeps ``mof_class`` out of reach."""
        lines = []
        paper = self.components[PAPER]
        for component in required_for(mof_class):
            result = self.components[component.name]
            if result.counts or (component.name == REPORT and paper.counts):
                continue
            if component.name == REPORT and paper.status != "missing" and mof_class > 1:
                lines.append(_gap_line(paper) + " (it stands in for the technical report)")
                continue
            lines.append(_gap_line(result))
        return lines

    def next_class(self) -> int | None:
        """The next more open class, or None when the release is Class I already."""
        return None if self.mof_class == 1 else (3 if self.mof_class == 0 else self.mof_class - 1)


def _gap_line(result: ComponentResult) -> str:
    c = result.component
    if result.status == "missing":
        return f"{c.name}: missing ({c.about}); add it with {WANTED[c.content_type]}"
    if result.status == "unlicensed":
        return f"{c.name}: included without a licence; give it {WANTED[c.content_type]}"
    return f"{c.name}: {result.reason}; relicense it under {WANTED[c.content_type]}"


def judge_component(component: Component, entry: ComponentEntry | None) -> ComponentResult:
    if entry is None:
        return ComponentResult(component, "missing", reason="not listed")
    if entry.licence is None:
        why = "listed as unlicensed" if entry.explicit_unlicensed else "no licence on the component and no global one"
        return ComponentResult(component, "unlicensed", None, entry.licence_from, reason=why)
    verdict = judge(entry.licence, component.content_type)
    if verdict.status == "not_included":
        return ComponentResult(component, "missing", reason=verdict.reason)
    if verdict.status == "unlicensed":
        return ComponentResult(component, "unlicensed", None, entry.licence_from, reason=verdict.reason)
    if verdict.is_open:
        return ComponentResult(component, "included", verdict.licence, entry.licence_from,
                               verdict.type_appropriate, verdict.reason)
    return ComponentResult(component, "invalid", verdict.licence, entry.licence_from, False, verdict.reason)


def _standing(results: dict[str, ComponentResult], mof_class: int) -> tuple[int, int]:
    """(required components that count, required components) for ``mof_class``."""
    needed = required_for(mof_class)
    report, paper = results[REPORT], results[PAPER]
    paper_stands_in = not report.counts and paper.status != "missing"
    counted = sum(results[c.name].counts for c in needed)
    total = len(needed)
    if paper_stands_in:
        if mof_class > 1:
            counted += paper.counts  # the paper fills the report's place
        elif paper.counts:
            total -= 1  # one document fills both places
    return min(counted, total), total


def evaluate(desc: Description, schema_errors: list[str] | None = None) -> Classification:
    entries = component_entries(desc) if desc.readable else {}
    results = {c.name: judge_component(c, entries.get(c.name)) for c in components()}
    progress: dict[int, float] = {}
    complete_above = True
    for mof_class in (3, 2, 1):
        counted, total = _standing(results, mof_class)
        progress[mof_class] = counted / total * 100.0 if complete_above else 0.0
        complete_above = complete_above and counted == total
    reached = [k for k in (3, 2, 1) if progress[k] == 100.0]
    warnings = tuple(f"{name}: {r.reason}" for name, r in results.items()
                     if r.counts and r.type_appropriate is False)
    return Classification(desc.source, min(reached) if reached else 0, progress, results,
                          tuple(desc.problems), tuple(schema_errors or ()), desc.readable, warnings)


def classify_file(path: str | Path, validate: bool = True) -> Classification:
    """Read and classify one model.yml; never raises on what the file contains."""
    desc = read_description(path)
    errors: list[str] = []
    if validate and desc.readable:
        from glassworks.release.mof.schema import schema_errors

        errors = schema_errors(desc)
    return evaluate(desc, errors)
