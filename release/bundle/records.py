"""The run's record, as the bundle reads it: its manifests, in upstream-first order, and the
data files it names that a release ships (the documents trained on, the token shards of
each phase, the held-out evaluation suite)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from glassworks.errors import GlassworksError
from glassworks.provenance.manifest import load_manifest
from glassworks.provenance.recorder import MANIFEST_DIR


DOCUMENTS_DIR = "corpus/documents"  # bundle folder of the documents trained on, one folder per source
TOKENS_DIR = "corpus/tokens"  # bundle folder of the token shards, one folder per phase
DOCUMENT_SUFFIXES = (".jsonl.gz", ".jsonl")


@dataclass(frozen=True)
class DataFile:
    """A data file of the run that the bundle ships, with the record that vouches for it."""

    kind: str  # documents | dedup_summary | tokens | eval
    group: str  # the source (documents), the phase (tokens), the task file's stem (eval)
    run_path: str  # its path in the run (the manifest's record)
    bundle_path: str  # where it lands in the bundle
    sha256: str
    bytes: int
    manifest: str  # id of the manifest that recorded it as an output


@dataclass(frozen=True)
class RunRecord:
    run_dir: Path
    manifests: dict[str, dict]  # id -> manifest, in id order

    @classmethod
    def load(cls, run_dir: Path) -> RunRecord:
        folder = run_dir / MANIFEST_DIR
        if not folder.is_dir():
            raise GlassworksError(f"{run_dir}: no manifests/ folder; is this a glassworks run directory?")
        manifests = {}
        for path in sorted(folder.glob("*.json")):
            manifest = load_manifest(path)
            manifests[manifest["id"]] = manifest
        return cls(run_dir, manifests)

    def files(self, manifest: dict, side: str) -> list[dict]:
        return list(manifest[side]["files"])

    def run_files(self, manifest: dict) -> set[tuple[str, str]]:
        """(path, sha256) of every run-root file a manifest names."""
        return {(r["path"], r["sha256"]) for side in ("inputs", "outputs") for r in manifest[side]["files"]
                if r.get("root", "run") == "run"}

    def recorded_outputs(self) -> dict[str, tuple[str, str]]:
        """run-relative path -> (sha256, manifest id) of every output some manifest records."""
        return {r["path"]: (r["sha256"], m["id"]) for m in self.manifests.values() for r in m["outputs"]["files"]
                if r.get("root", "run") == "run"}

    def producer_of(self, path: str) -> str | None:
        found = self.recorded_outputs().get(path)
        return found[1] if found else None

    def commits(self) -> set[str]:
        return {m["code"].get("git_commit") for m in self.manifests.values() if m["code"].get("git_commit")}

    def dirty(self) -> list[str]:
        return sorted(i for i, m in self.manifests.items() if m["code"].get("git_dirty"))

    def by_stage_prefix(self, prefix: str) -> list[dict]:
        return [m for m in self.manifests.values() if m["stage"]["name"].startswith(prefix)]

    def stage_order(self) -> list[dict]:
        """Manifests upstream first (a topological order, ties by id), for reports."""
        done: list[str] = []
        seen: set[str] = set()

        def visit(i: str) -> None:
            if i in seen or i not in self.manifests:
                return
            seen.add(i)
            for up in sorted(self.manifests[i]["upstream"]):
                visit(up)
            done.append(i)

        for i in sorted(self.manifests):
            visit(i)
        return [self.manifests[i] for i in done]

    def _single(self, stage: str, consumers: str) -> dict | None:
        """The one manifest of ``stage``: the one the ``consumers`` stages link to when the run
        holds several (a stage re-run with another config), or None when there is none."""
        found = [m for m in self.manifests.values() if m["stage"]["name"] == stage]
        if len(found) > 1:
            used = {up for m in self.by_stage_prefix(consumers) for up in m["upstream"]}
            found = [m for m in found if m["id"] in used] or found
        if len(found) > 1:
            raise GlassworksError(f"{self.run_dir}: {len(found)} manifests of stage {stage!r} "
                                  f"({', '.join(sorted(m['id'] for m in found))}) and none singled out by a later stage; "
                                  "release a run that holds one")
        return found[0] if found else None

    def trained_documents(self) -> list[DataFile]:
        """The documents the global dedup kept, per source (with their weights in
        ``metadata.dedup``), and its summary.json, which counts them per source."""
        manifest = self._single("dedup", "data.")
        if manifest is None:
            return []
        outputs = manifest["outputs"]["files"]
        summary = [r for r in outputs if r["path"].rsplit("/", 1)[-1] == "summary.json"]
        if len(summary) != 1:
            raise GlassworksError(f"{self.run_dir}: dedup manifest {manifest['id']} records no single summary.json")
        out = summary[0]["path"].rsplit("/", 1)[0] + "/" if "/" in summary[0]["path"] else ""
        files = [DataFile("dedup_summary", "", summary[0]["path"], f"{DOCUMENTS_DIR}/summary.json",
                          summary[0]["sha256"], summary[0]["bytes"], manifest["id"])]
        for rec in sorted(outputs, key=lambda r: r["path"]):
            rel = rec["path"][len(out):] if rec["path"].startswith(out) else ""
            parts = rel.split("/")
            if parts[0] == "kept" and len(parts) >= 3 and rel.endswith(DOCUMENT_SUFFIXES):
                files.append(DataFile("documents", parts[1], rec["path"], f"{DOCUMENTS_DIR}/{'/'.join(parts[1:])}",
                                      rec["sha256"], rec["bytes"], manifest["id"]))
        return files

    def phase_shards(self) -> list[DataFile]:
        """Every file of every ``data.<phase>`` stage (its index.json and packed shards)."""
        files = []
        for manifest in sorted(self.by_stage_prefix("data."), key=lambda m: m["stage"]["name"]):
            phase = manifest["stage"]["name"].split(".", 1)[1]
            if manifest["counts"]["unit"] != "tokens":
                continue  # data.tokenize counts documents: the pool the phases draw from, not a phase
            for rec in sorted(manifest["outputs"]["files"], key=lambda r: r["path"]):
                if rec.get("root", "run") == "run":
                    files.append(DataFile("tokens", phase, rec["path"],
                                          f"{TOKENS_DIR}/{phase}/{rec['path'].rsplit('/', 1)[-1]}",
                                          rec["sha256"], rec["bytes"], manifest["id"]))
        return files

    def eval_suite(self, folder: str) -> list[DataFile]:
        """The files of the held-out evaluation suite under ``folder`` (run-relative), as the
        stage that wrote them recorded them; they ship at the same path."""
        prefix = folder.rstrip("/") + "/"
        return [DataFile("eval", rec["path"][len(prefix):].rsplit(".", 1)[0], rec["path"], rec["path"],
                         rec["sha256"], rec["bytes"], m["id"])
                for m in self.stage_order() for rec in sorted(m["outputs"]["files"], key=lambda r: r["path"])
                if rec.get("root", "run") == "run" and rec["path"].startswith(prefix)]
