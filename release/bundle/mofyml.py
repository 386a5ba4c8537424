"""``model.yml``: the bundle's MOF description, written from what the bundle holds."""

from __future__ import annotations

from pathlib import Path

import yaml

from glassworks.release.bundle.components import Found
from glassworks.release.bundle.config import BundleConfig
from glassworks.release.mof.components import by_name, components


def licence_path(spdx: str) -> str:
    """Where the licence text lives in the bundle: one file per id, the folder for an expression."""
    return f"LICENSES/{spdx}.txt" if " " not in spdx else "LICENSES/"


def licences_by_kind(config: BundleConfig, datasets: str) -> dict[str, str]:
    lic = config.licences
    return {"code": lic.code, "parameters": lic.parameters, "document": lic.document, "datasets": datasets,
            "evaluation_data": lic.evaluation_data or datasets}


def description(config: BundleConfig, found: list[Found], licences: dict[str, str], date: str) -> dict:
    order = {c.name: i for i, c in enumerate(components())}
    entries = []
    for item in sorted(found, key=lambda f: order[f.name]):
        spdx = licences[item.kind]
        entries.append({"name": item.name, "description": by_name()[item.name].about, "license": spdx,
                        "license_path": licence_path(spdx), "component_path": item.path})
    release = {
        "name": config.name, "version": config.version, "date": date, "type": "language",
        "architecture": "transformer decoder", "treatment": "pre-trained", "origin": config.name,
        "producer": config.producer, "contact": config.contact,
        # only the licences some listed component carries: the bundle ships no unused licence text
        "license": {kind: {"name": licences[key], "path": licence_path(licences[key])}
                    for kind, key in (("distribution", "code"), ("code", "code"), ("data", "parameters"),
                                      ("document", "document"))
                    if licences[key] in {e["license"] for e in entries}},
        "components": entries,
    }
    if config.repository:
        release["repository"] = config.repository
    if config.hub_repo:
        release["huggingface"] = f"https://huggingface.co/{config.hub_repo}"
    return {"framework": {"name": "Model Openness Framework", "version": "1.0", "date": "2024-12-15"},
            "release": release}


def write(path: Path, value: dict) -> Path:
    text = yaml.safe_dump(value, sort_keys=False, allow_unicode=True, width=100)
    path.write_text("# MOF model description, written by `glassworks release build` from the files of this bundle.\n"
                    + text, encoding="utf-8")
    return path
