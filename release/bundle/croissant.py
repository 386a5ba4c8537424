"""Croissant JSON-LD for the training corpus, built and validated with mlcroissant (offline).

Each recipe's last stage yields one record set per source (web, text, code): a gzip JSON
lines shard whose sha256 comes from the stage's manifest, with the ``id`` and ``text`` of
every kept document. The file sits at the bundle root, so its content URLs are bundle (and
run) paths. When the bundle ships manifests instead of documents, the shards are
named by the path the regenerated run writes them to and the same sha256, so a regenerated
corpus can be checked against this description.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from pathlib import Path

from glassworks.errors import GlassworksError
from glassworks.release.bundle.config import BundleConfig
from glassworks.release.bundle.records import RunRecord


def final_shards(record: RunRecord) -> list[tuple[str, dict]]:
    """(recipe, file record) of the kept shards of each recipe's last stage."""
    last: dict[str, dict] = {}
    for manifest in record.stage_order():
        name = manifest["stage"]["name"]
        if "." in name and manifest["counts"]["unit"] == "documents":
            last[name.split(".", 1)[0]] = manifest
    out = []
    for recipe, manifest in sorted(last.items()):
        for rec in manifest["outputs"]["files"]:
            parts = rec["path"].split("/")
            if rec["path"].endswith(".jsonl.gz") and "dropped" not in parts and "quarantine" not in parts:
                out.append((recipe, rec))
    return out


def _id(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "-" for c in text)


def build_croissant(config: BundleConfig, record: RunRecord, licences: list[str], date: str) -> dict:
    import mlcroissant as mlc

    distribution, record_sets = [], []
    for recipe, rec in final_shards(record):
        source = rec["path"].split("/")[-2]
        file_id = _id(rec["path"])
        distribution.append(mlc.FileObject(
            id=file_id, name=file_id, content_url=rec["path"], content_size=f"{rec['bytes']} B",
            encoding_formats=[mlc.EncodingFormat.JSON_LINES], sha256=rec["sha256"],
            description=f"gzip JSON lines: documents the {recipe} recipe kept from the {source} sources"))
        set_id = _id(f"{recipe}-{source}-{Path(rec['path']).name.split('.')[0]}")
        record_sets.append(mlc.RecordSet(
            id=set_id, name=set_id, description=f"{recipe} documents from {source} sources",
            fields=[mlc.Field(id=f"{set_id}/{col}", name=col, data_types=[mlc.DataType.TEXT],
                              source=mlc.Source(file_object=file_id, extract=mlc.Extract(column=col)))
                    for col in ("id", "text")]))
    if not distribution:
        raise GlassworksError(f"{record.run_dir}: no corpus stage kept any documents; nothing to describe in Croissant")
    metadata = mlc.Metadata(
        name=f"{config.name}-corpus", description=f"The training corpus of {config.name}, as glassworks recorded it.",
        cite_as=f"{config.producer}. {config.name} training corpus, version {config.version}.",
        url=f"https://huggingface.co/datasets/{config.hub_repo}-corpus" if config.hub_repo else None,
        license=[f"https://spdx.org/licenses/{lic}.html" for lic in licences] or None,
        version=config.version, date_published=dt.datetime.fromisoformat(date),
        creators=[mlc.Organization(name=config.producer)], in_language=list(config.language),
        distribution=distribution, record_sets=record_sets,
    )
    return metadata.to_json()


def validate_croissant(path: Path) -> list[str]:
    """Errors mlcroissant finds in the file (warnings are left to mlcroissant's own log)."""
    import mlcroissant as mlc

    logging.getLogger("absl").setLevel(logging.ERROR)
    try:
        dataset = mlc.Dataset(jsonld=path)
    except mlc.ValidationError as exc:
        return [line.strip(" -") for line in str(exc).splitlines() if line.strip(" -")]
    return list(dataset.metadata.ctx.issues.errors)


def write_croissant(config: BundleConfig, record: RunRecord, licences: list[str], date: str, out: Path) -> Path:
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(build_croissant(config, record, licences, date), indent=2, sort_keys=True,
                              default=str) + "\n", encoding="utf-8")
    errors = validate_croissant(out)
    if errors:
        raise GlassworksError(f"{out}: mlcroissant rejects the Croissant description: {'; '.join(errors)}")
    return out
