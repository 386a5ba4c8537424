"""The recorder a stage runs inside: it writes the stage's manifest when the stage succeeds.

    with record_stage(run_dir, "sources", "1", config, roots={"data": data_dir}) as rec:
        rec.input(data_dir / "web")            # files or whole folders
        ...work...
        rec.output(run_dir / "raw")
        rec.counts.keep(n); rec.counts.drop("too_short"); rec.counts.quarantine()

On a clean exit it hashes every input and output (streamed), finds the upstream manifests
that produced the inputs, checks that the counts balance, validates the manifest against
the schema and writes ``manifests/<id>.json`` atomically. On an exception nothing is
written, so a crashed stage never leaves a record claiming outputs it did not finish.
Older manifests whose outputs this run overwrote are removed: their record is no longer
true of the files on disk.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import socket
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from glassworks.canonical import normalise
from glassworks.config import config_hash
from glassworks.errors import GlassworksError
from glassworks.provenance.atomic import atomic_write_json
from glassworks.provenance.hashing import FileRecord, file_record
from glassworks.provenance.identity import code_identity
from glassworks.provenance.manifest import (
    SCHEMA_ID,
    fileset,
    load_manifest,
    manifest_digest,
    manifest_id,
    validate_manifest,
)

MANIFEST_DIR = "manifests"


@dataclass
class Counts:
    """Accounting of a stage's units: every unit that comes in leaves by exactly one door.

    ``part(name)`` opens a named sub-account (a source, a phase): what is counted there is
    counted in the totals too, and the manifest carries the breakdown under ``parts``.
    """

    unit: str = "documents"
    seen: int = 0
    kept: int = 0
    dropped: Counter = field(default_factory=Counter)
    quarantined: int = 0
    parts: dict[str, "Counts"] = field(default_factory=dict)
    parent: "Counts | None" = field(default=None, repr=False, compare=False)

    def add_in(self, n: int = 1) -> None:
        self.seen += n
        if self.parent is not None:
            self.parent.add_in(n)

    def keep(self, n: int = 1) -> None:
        self.kept += n
        if self.parent is not None:
            self.parent.keep(n)

    def drop(self, reason: str, n: int = 1) -> None:
        self.dropped[reason] += n
        if self.parent is not None:
            self.parent.drop(reason, n)

    def quarantine(self, n: int = 1) -> None:
        self.quarantined += n
        if self.parent is not None:
            self.parent.quarantine(n)

    def part(self, name: str) -> "Counts":
        if name not in self.parts:
            self.parts[name] = Counts(unit=self.unit, parent=self)
        return self.parts[name]

    def balanced(self) -> bool:
        return self.seen == self.kept + sum(self.dropped.values()) + self.quarantined and all(
            part.balanced() for part in self.parts.values())

    def as_json(self) -> dict:
        out = {
            "unit": self.unit,
            "in": self.seen,
            "kept": self.kept,
            "dropped": dict(sorted(self.dropped.items())),
            "quarantined": self.quarantined,
        }
        if self.parts:  # absent otherwise, so manifests without parts keep their digests
            out["parts"] = {name: {k: v for k, v in part.as_json().items() if k != "unit"}
                            for name, part in sorted(self.parts.items())}
        return out


class StageRecorder:
    """Collects what one stage execution read, wrote and decided; see the module docstring."""

    def __init__(self, run_dir: str | Path, stage: str, version: str, config: Any,
                 roots: dict[str, str | Path] | None = None, unit: str = "documents"):
        Path(run_dir).mkdir(parents=True, exist_ok=True)
        self.run_dir = Path(run_dir).resolve()
        self.stage = stage
        self.version = str(version)
        self.config = config
        self.roots = {"run": self.run_dir, **{k: Path(v).resolve() for k, v in (roots or {}).items()}}
        self.counts = Counts(unit=unit)
        self._inputs: list[Path] = []
        self._outputs: list[Path] = []
        self._upstream: set[str] = set()
        self.manifest: dict | None = None
        self.manifest_path: Path | None = None

    # --- what the stage declares -------------------------------------------------------
    def input(self, path: str | Path) -> None:
        self._inputs.append(Path(path))

    def output(self, path: str | Path) -> None:
        self._outputs.append(Path(path))

    def upstream(self, manifest_id: str) -> None:
        self._upstream.add(manifest_id)

    @property
    def manifest_id(self) -> str:
        if self.manifest is None:
            raise RuntimeError(f"stage {self.stage!r} has not finished: its manifest id is not known yet")
        return self.manifest["id"]

    # --- building the manifest ---------------------------------------------------------
    def _locate(self, path: Path) -> tuple[str, str]:
        """(root name, POSIX path relative to it) of a file; the run dir wins over other roots."""
        resolved = path.resolve()
        for name, root in sorted(self.roots.items(), key=lambda kv: kv[0] != "run"):
            if resolved.is_relative_to(root):
                return name, resolved.relative_to(root).as_posix()
        raise GlassworksError(
            f"stage {self.stage!r}: {path} lies outside the run directory {self.run_dir} and the declared "
            f"roots ({', '.join(f'{k}={v}' for k, v in self.roots.items() if k != 'run') or 'none'})"
        )

    def _records(self, paths: list[Path], kind: str) -> list[FileRecord]:
        manifests = (self.run_dir / MANIFEST_DIR).resolve()
        files: dict[tuple[str, str], Path] = {}
        for path in paths:
            if not path.exists():
                raise GlassworksError(f"stage {self.stage!r}: declared {kind} {path} does not exist")
            members = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
            for member in members:
                if member.resolve().is_relative_to(manifests):
                    continue
                files[self._locate(member)] = member
        from tqdm import tqdm

        records = []
        for (root, rel), member in tqdm(sorted(files.items()), desc=f"{self.stage}: hashing {kind}s",
                                         unit="file", disable=None, leave=False):
            records.append(file_record(member, rel, root))
        return records

    def _producers(self) -> dict[tuple[str, str], str]:
        """Which existing manifest produced each run-dir file, by the file's current hash."""
        out = {}
        for path in sorted((self.run_dir / MANIFEST_DIR).glob("*.json")):
            try:
                manifest = load_manifest(path)
                for rec in manifest["outputs"]["files"]:
                    out[(rec.get("root", "run"), rec["path"], rec["sha256"])] = manifest["id"]
            except (GlassworksError, KeyError, TypeError):
                continue  # a broken manifest is verify's to report, not ours to trust
        return out

    def finish(self, started: float, started_wall: dt.datetime) -> dict:
        for name, counts in [*((f" (part {k!r})", v) for k, v in self.counts.parts.items()), ("", self.counts)]:
            if not counts.balanced():
                c = counts.as_json()
                raise GlassworksError(
                    f"stage {self.stage!r}{name}: accounting does not balance: in={c['in']} but kept={c['kept']} "
                    f"+ dropped={sum(c['dropped'].values())} {c['dropped']} + quarantined={c['quarantined']}"
                )
        inputs = self._records(self._inputs, "input")
        outputs = self._records(self._outputs, "output")
        producers = self._producers()
        upstream = set(self._upstream)
        for rec in inputs:
            producer = producers.get((rec.root, rec.path, rec.sha256))
            if producer is not None:
                upstream.add(producer)
        manifest = {
            "schema": SCHEMA_ID,
            "stage": {"name": self.stage, "version": self.version},
            "config": normalise(self.config),
            "config_sha256": config_hash(self.config),
            "code": code_identity(),
            "upstream": sorted(upstream),
            "inputs": fileset(inputs),
            "outputs": fileset(outputs),
            "counts": self.counts.as_json(),
        }
        manifest["digest"] = manifest_digest(manifest)
        manifest["id"] = manifest_id(self.stage, manifest["digest"])
        finished = dt.datetime.now(dt.timezone.utc)
        manifest["run"] = {
            "started": started_wall.isoformat().replace("+00:00", "Z"),
            "finished": finished.isoformat().replace("+00:00", "Z"),
            "wall_seconds": round(time.perf_counter() - started, 3),
            "host": socket.gethostname(),
        }
        problems = validate_manifest(manifest)
        if problems:
            raise GlassworksError(f"stage {self.stage!r} built an invalid manifest: " + "; ".join(problems))
        self._retire_overwritten({(r.root, r.path) for r in outputs}, keep=manifest["id"])
        self.manifest_path = self.run_dir / MANIFEST_DIR / f"{manifest['id']}.json"
        atomic_write_json(self.manifest_path, manifest)
        self.manifest = manifest
        return manifest

    def _retire_overwritten(self, outputs: set[tuple[str, str]], keep: str) -> None:
        for path in sorted((self.run_dir / MANIFEST_DIR).glob("*.json")):
            if path.stem == keep:
                continue
            try:
                old = load_manifest(path)
                claimed = {(r.get("root", "run"), r["path"]) for r in old["outputs"]["files"]}
            except (GlassworksError, KeyError, TypeError):
                continue
            if claimed & outputs:
                os.unlink(path)


def refuse_to_clobber(run_dir: str | Path, stage: str, config: Any) -> None:
    """Stop before a stage overwrites outputs that later stages of this run consumed, when it
    would make them differently (another config): their records would silently go stale.
    Re-running with the same config rewrites the same bytes and is allowed."""
    manifests = Path(run_dir) / MANIFEST_DIR
    if not manifests.is_dir():
        return
    loaded = []
    for path in sorted(manifests.glob("*.json")):
        try:
            loaded.append(load_manifest(path))
        except GlassworksError:
            continue
    digest = config_hash(config)
    code = code_identity()
    for old in loaded:
        if old.get("stage", {}).get("name") != stage:
            continue
        if old.get("config_sha256") != digest:
            why, fix = "with another config", "run with this config in a new --workdir"
        elif _code_of(old.get("code")) != _code_of(code):
            # Same config, other code: the new record would retire the old one, and the later
            # stages that link to it would be left pointing at nothing.
            why, fix = (f"by other code ({_describe_code(old.get('code'))}, now {_describe_code(code)})",
                        "finish a run on one commit, or start this one in a new --workdir")
        else:
            continue
        users = sorted(m["id"] for m in loaded if old.get("id") in m.get("upstream", []))
        if users:
            raise GlassworksError(
                f"{run_dir}: stage {stage!r} was run here {why}, and {len(users)} later stage(s) "
                f"use its outputs ({', '.join(users[:3])}{', ...' if len(users) > 3 else ''}); {fix}"
            )


def _code_of(code) -> tuple:
    """What makes two records of the same config differ in id: the code and library versions."""
    if not isinstance(code, dict):
        return (None,)
    return code.get("glassworks_version"), code.get("git_commit"), code.get("python"), \
        tuple(sorted((code.get("libraries") or {}).items()))


def _describe_code(code) -> str:
    if not isinstance(code, dict):
        return "unknown code"
    commit = code.get("git_commit")
    return f"glassworks {code.get('glassworks_version')} at {commit[:12] if commit else 'no commit'}"


@contextlib.contextmanager
def record_stage(run_dir: str | Path, stage: str, version: str, config: Any,
                 roots: dict[str, str | Path] | None = None, unit: str = "documents") -> Iterator[StageRecorder]:
    """Run the body as one recorded stage execution; the manifest is written on success only."""
    recorder = StageRecorder(run_dir, stage, version, config, roots=roots, unit=unit)
    started = time.perf_counter()
    started_wall = dt.datetime.now(dt.timezone.utc)
    yield recorder
    recorder.finish(started, started_wall)
