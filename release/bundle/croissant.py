"""Croissant 1.0 JSON-LD for the data a bundle ships, built and validated with mlcroissant (offline).

It describes exactly the shipped files, each a ``FileObject`` with the sha256 its stage's
manifest recorded, at a content URL relative to the bundle root (where ``croissant.json``
lies), so ``mlcroissant.Dataset(jsonld=BUNDLE/croissant.json)`` loads from the bundle or
from any checkout of it:

- ``documents-<source>``: the documents the global dedup kept (what the tokenizer and the
  mixtures drew from), with ``id``, ``text``, ``source`` and the dedup ``weight``,
  ``cluster`` and ``cluster_size`` of each; one record set per file of a source;
- ``tokens-<phase>-shards``: the shards of each phase, read from the phase's index.json
  (the packed ``.npy`` arrays themselves are FileObjects without a record set:
  mlcroissant has no reader for NumPy files);
- ``eval-<task>``: the items of each held-out evaluation task, with the fields they hold.
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
import logging
import re
from collections import Counter
from pathlib import Path

from glassworks.errors import GlassworksError
from glassworks.release.bundle.config import BundleConfig
from glassworks.release.bundle.records import DataFile, RunRecord

NPY_FORMAT = "https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html"
DOCUMENT_FIELDS = (  # (field, column of the JSON line, JSON path inside it, data type)
    ("id", "id", None, "TEXT"),
    ("text", "text", None, "TEXT"),
    ("source", "metadata", "dedup.source", "TEXT"),
    ("dedup_weight", "metadata", "dedup.weight", "FLOAT"),
    ("dedup_cluster", "metadata", "dedup.cluster", "TEXT"),
    ("dedup_cluster_size", "metadata", "dedup.cluster_size", "INTEGER"),
)
SHARD_FIELDS = (("name", "TEXT"), ("first_sequence", "INTEGER"), ("sequences", "INTEGER"))


def _id(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "-" for c in text)


def _read_jsonl(path: Path) -> list[dict]:
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def _json_type(values: list) -> tuple[str, bool] | None:
    """(Croissant data type, repeated) of a column's non-null values, or None when mixed."""
    repeated = all(isinstance(v, list) for v in values)
    items = [x for v in values for x in v] if repeated else values
    for kind, types in (("BOOL", bool), ("INTEGER", int), ("FLOAT", (int, float)), ("TEXT", str)):
        if items and all(isinstance(x, types) and (kind == "BOOL" or not isinstance(x, bool)) for x in items):
            return kind, repeated
    return None


class _Builder:
    def __init__(self, bundle: Path):
        import mlcroissant as mlc

        self.mlc, self.bundle = mlc, bundle
        self.distribution, self.record_sets = [], []

    def file(self, item: DataFile, encoding: str, description: str) -> str:
        file_id = _id(item.bundle_path)
        self.distribution.append(self.mlc.FileObject(
            id=file_id, name=file_id, content_url=item.bundle_path, content_size=f"{item.bytes} B",
            encoding_formats=[encoding], sha256=item.sha256, description=description))
        return file_id

    def field(self, set_id: str, name: str, kind: str, file_id: str, column: str | None = None,
              path: str | None = None, repeated: bool = False):
        mlc = self.mlc
        extract = mlc.Extract(column=column) if column else mlc.Extract(json_path=path)
        transforms = [mlc.Transform(json_path=path)] if column and path else []
        return mlc.Field(id=f"{set_id}/{name}", name=name, data_types=[getattr(mlc.DataType, kind)],
                         source=mlc.Source(file_object=file_id, extract=extract, transforms=transforms),
                         repeated=repeated)

    def record_set(self, set_id: str, description: str, fields: list) -> None:
        self.record_sets.append(self.mlc.RecordSet(id=set_id, name=set_id, description=description, fields=fields))


def _documents(b: _Builder, files: list[DataFile]) -> None:
    per_source = Counter(f.group for f in files)
    for item in files:
        file_id = b.file(item, b.mlc.EncodingFormat.JSON_LINES,
                         f"gzip JSON lines: documents of source {item.group} kept by the global dedup "
                         f"(manifest {item.manifest}, recorded at {item.run_path})")
        set_id = _id(f"documents-{item.group}" + ("" if per_source[item.group] == 1 else
                                                  "-" + Path(item.bundle_path).name.split(".")[0]))
        b.record_set(set_id, f"The {item.group} documents the model's tokenizer and mixtures drew from, each "
                             "with its dedup weight (its sampling weight) and duplicate cluster",
                     [b.field(set_id, name, kind, file_id, column, path) for name, column, path, kind in DOCUMENT_FIELDS])


def _tokens(b: _Builder, files: list[DataFile]) -> None:
    for item in files:
        if item.bundle_path.endswith(".npy"):
            b.file(item, NPY_FORMAT, f"NumPy array of phase {item.group} (the packed token sequences and their "
                                     f"document boundaries; see index.json), manifest {item.manifest}")
            continue
        file_id = b.file(item, b.mlc.EncodingFormat.JSON, f"index of phase {item.group}: mixture, shards, "
                                                           f"tokens per source (manifest {item.manifest})")
        set_id = _id(f"tokens-{item.group}-shards")
        b.record_set(set_id, f"The token shards of training phase {item.group}, from its index.json",
                     [b.field(set_id, name, kind, file_id, path=f"$.shards[*].{name}") for name, kind in SHARD_FIELDS])


def _eval(b: _Builder, files: list[DataFile]) -> None:
    for item in files:
        if not item.bundle_path.endswith(".jsonl"):
            b.file(item, b.mlc.EncodingFormat.TEXT, f"held-out evaluation suite: {Path(item.bundle_path).name} "
                                                    f"(manifest {item.manifest})")
            continue
        rows = _read_jsonl(b.bundle / item.bundle_path)
        file_id = b.file(item, b.mlc.EncodingFormat.JSON_LINES,
                         f"JSON lines: the items of held-out task {item.group} (manifest {item.manifest})")
        set_id = _id(f"eval-{item.group}")
        fields = []
        for column in sorted({k for row in rows for k in row}):
            typed = _json_type([row[column] for row in rows if row.get(column) is not None])
            if typed is None:
                raise GlassworksError(f"{b.bundle / item.bundle_path}: column {column!r} mixes value types; "
                                      "Croissant needs one type per field")
            fields.append(b.field(set_id, column, typed[0], file_id, column, repeated=typed[1]))
        b.record_set(set_id, f"Held-out evaluation task {item.group}: its documents were kept out of training", fields)


def _languages(bundle: Path, files: list[DataFile]) -> list[str]:
    """Language codes of the shipped documents (from language ID, ``metadata.language``)."""
    found = Counter()
    for item in files:
        if item.kind == "documents":
            for doc in _read_jsonl(bundle / item.bundle_path):
                lang = (doc.get("metadata") or {}).get("language")
                if isinstance(lang, str) and re.fullmatch(r"[a-z]{2,3}", lang):
                    found[lang] += 1
    return [lang for lang, _ in found.most_common()]


def _rai(record: RunRecord, files: list[DataFile], languages: list[str]) -> dict:
    """The Responsible-AI fields this run's record can back with facts."""
    stages = [m for m in record.stage_order() if m["counts"]["unit"] == "documents"]
    steps = [f"{m['stage']['name']}: {m['counts']['in']} documents in, {m['counts']['kept']} kept"
             + (f", dropped {dict(sorted(m['counts']['dropped'].items()))}" if m["counts"]["dropped"] else "")
             for m in stages]
    redact = [m for m in stages if "redact" in m["stage"]["name"]]
    sources = sorted({f.group for f in files if f.kind == "documents"})
    return {
        "data_collection": "Compiled offline by glassworks from the raw sources recorded in the sources manifest; "
                           "every stage is recorded in manifests/ with its inputs, outputs and counts.",
        "data_collection_type": ["Secondary Data Analysis"],
        "data_collection_raw_data": f"Sources {', '.join(sources)}: see the data card (corpus/README.md) for "
                                    "their origin and licences.",
        "data_preprocessing_protocol": steps,
        "data_use_cases": ["Pre-training the released language model; reproducing and auditing its training data."],
        "data_limitations": [f"A small corpus ({sum(1 for _ in sources)} sources) meant for a demonstration model; "
                             "not representative of any language or domain at large."],
        "data_biases": [f"The documents are in {len(languages)} language(s) by their language labels "
                        f"({', '.join(languages) or 'none labelled'}) from {len(sources)} source(s): the topics and "
                        "registers of those few authors dominate, and most languages are absent."],
        "personal_sensitive_information": [
            "Code documents went through " + ", ".join(m["stage"]["name"] for m in redact)
            + " (secrets and e-mail addresses redacted)" if redact else
            "No stage of this run removed personal information; the sources are published documentation and code."],
        "data_release_maintenance_plan": "Released once with the model version it trained; `glassworks audit "
                                         "regenerate` rebuilds it from the sources and checks every hash.",
    }


def build_croissant(config: BundleConfig, record: RunRecord, shipped: list[DataFile], bundle: Path,
                    licences: list[str], date: str) -> dict:
    """The Croissant description of ``shipped`` (already copied into ``bundle``)."""
    import mlcroissant as mlc

    b = _Builder(bundle)
    _documents(b, [f for f in shipped if f.kind == "documents"])
    _tokens(b, [f for f in shipped if f.kind == "tokens"])
    _eval(b, [f for f in shipped if f.kind == "eval"])
    if not b.distribution:
        raise GlassworksError(f"{record.run_dir}: the bundle ships no data files; nothing to describe in Croissant")
    url = f"https://huggingface.co/{config.hub_repo}" if config.hub_repo else config.repository or None
    languages = _languages(bundle, shipped)
    metadata = mlc.Metadata(
        name=f"{config.name}-data",
        description=f"The data of {config.name} {config.version}: the documents it was trained on (after global "
                    "deduplication, with their weights), the token shards of its training phases and its held-out "
                    "evaluation suite, as glassworks recorded them.",
        cite_as=f"{config.producer}. {config.name} training and evaluation data, version {config.version}.",
        url=url, license=[f"https://spdx.org/licenses/{spdx}.html" for spdx in licences],
        version=config.version, date_published=dt.datetime.fromisoformat(date),
        creators=[mlc.Organization(name=config.producer, url=config.repository or None)],
        in_language=languages or list(config.language),
        distribution=b.distribution, record_sets=b.record_sets, **_rai(record, shipped, languages),
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


def write_croissant(config: BundleConfig, record: RunRecord, shipped: list[DataFile], bundle: Path,
                    licences: list[str], date: str) -> Path:
    out = bundle / "croissant.json"
    out.write_text(json.dumps(build_croissant(config, record, shipped, bundle, licences, date), indent=2,
                              sort_keys=True, default=str) + "\n", encoding="utf-8")
    errors = validate_croissant(out)
    if errors:
        raise GlassworksError(f"{out}: mlcroissant rejects the Croissant description: {'; '.join(errors)}")
    return out
