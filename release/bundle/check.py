"""``release check BUNDLE``: is the bundle what its model.yml says, and what would the next
class take?

The description is validated against the MOF schema, each component it lists is looked for
in the bundle with the same detectors the build used, and the class is recomputed from the
components that are really there. A component listed but absent is named, and the next
class up gets one actionable line per missing piece.

A checkout of one revision of a published repository (``release publish``) holds
``revisions.json``: a component whose files ship whole on another revision of the same
repository (the intermediate checkpoints, each on its branch) counts as present, with a note
naming the revisions, once its claim holds against the bundle's record
(``provenance.revisions.check_claims``); a claim that does not hold is a problem.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from glassworks.provenance.revisions import FILE as REVISIONS_FILE
from glassworks.provenance.revisions import Claims, RevisionsError, bundle_claims
from glassworks.release.bundle.components import detect
from glassworks.release.mof import Classification, evaluate, from_data, read_description
from glassworks.release.mof.components import ROMAN
from glassworks.release.mof.description import Description, component_entries
from glassworks.release.mof.schema import schema_errors


@dataclass
class CheckReport:
    bundle: Path
    classification: Classification  # of the components that are really in the bundle
    schema_errors: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # model.yml could not be read as a description
    absent: list[str] = field(default_factory=list)  # "Component: why" for listed components not in the bundle
    unlisted: list[str] = field(default_factory=list)  # components in the bundle that model.yml leaves out
    elsewhere: list[str] = field(default_factory=list)  # "Component: note" for components on other revisions

    @property
    def ok(self) -> bool:
        return not (self.schema_errors or self.problems or self.absent)

    def next_class_lines(self) -> list[str]:
        step = self.classification.next_class()
        if step is None:
            return []
        return [f"for Class {ROMAN[step]}: {line}" for line in self.classification.gaps(step)]

    def lines(self) -> list[str]:
        c = self.classification
        out = [f"{self.bundle}: {c.label} (progress III {c.progress[3]:.1f}%, II {c.progress[2]:.1f}%, "
               f"I {c.progress[1]:.1f}%)"]
        out += [f"schema: {line}" for line in self.schema_errors]
        out += [f"problem: {line}" for line in self.problems]
        out += [f"absent: {line}" for line in self.absent]
        out += [f"elsewhere: {line}" for line in self.elsewhere]
        out += [f"unlisted: {name} is in the bundle but not in model.yml" for name in self.unlisted]
        out += [f"warning: {line}" for line in c.warnings]
        return out + self.next_class_lines()

    def as_json(self) -> dict:
        return {"bundle": str(self.bundle), "ok": self.ok, **{k: v for k, v in self.classification.as_json().items()
                                                              if k in ("class", "progress")},
                "schema_errors": self.schema_errors, "problems": self.problems, "absent": self.absent,
                "unlisted": self.unlisted, "elsewhere": self.elsewhere, "next_class": self.next_class_lines(),
                "warnings": list(self.classification.warnings)}


def check_bundle(bundle: str | Path) -> CheckReport:
    bundle = Path(bundle)
    desc = read_description(bundle / "model.yml")
    errors = schema_errors(desc) if desc.readable else []
    listed = component_entries(desc) if desc.readable else {}
    present = {f.name: f for f in detect(bundle)}
    problems = list(desc.problems)
    try:
        claims = bundle_claims(bundle)
    except RevisionsError as exc:
        claims, problems = None, problems + [str(exc)]
    if claims is not None:
        problems += [f"{REVISIONS_FILE}: {subject}: {why}" for subject, why in claims.problems]
    absent, elsewhere = [], []
    for name in listed:
        if name not in present:
            paths = [c.get("component_path") for c in desc.release.get("components", [])
                     if isinstance(c, dict) and c.get("name") == name]
            where = f" ({paths[0]})" if paths and paths[0] else ""
            revisions = _on_other_revisions(claims, paths[0] if paths else None)
            if revisions:
                elsewhere.append(f"{name}: its files{where} ship on revision(s) {', '.join(revisions)} of the same "
                                 f"repository ({REVISIONS_FILE}); counted as present, checked on those revisions")
            else:
                absent.append(f"{name}: listed in model.yml, but its files{where} are not in the bundle")
    data = desc.data if isinstance(desc.data, dict) else {}
    kept = _without(data, {a.split(":")[0] for a in absent})
    result = evaluate(from_data(kept, Description(desc.source, lines=desc.lines))) if desc.readable else evaluate(desc)
    unlisted = [name for name in present if name not in listed]
    return CheckReport(bundle, result, errors, problems, absent, unlisted, elsewhere)


def _on_other_revisions(claims: Claims | None, path) -> list[str]:
    """The revisions that hold a component's files, when its path is a folder of checkpoints that
    ship whole on other revisions (and none is here to detect); else []."""
    if claims is None or not claims.elsewhere or not isinstance(path, str) or not path.strip("/"):
        return []
    folder = path.strip("/") + "/"
    return sorted({rev for prefix, rev in claims.elsewhere.items() if prefix.startswith(folder)})


def _without(data: dict, names: set[str]) -> dict:
    """The description with the named components taken out."""
    release = data.get("release")
    if not isinstance(release, dict) or not isinstance(release.get("components"), list):
        return data
    components = [c for c in release["components"] if not (isinstance(c, dict) and c.get("name") in names)]
    return {**data, "release": {**release, "components": components}}
