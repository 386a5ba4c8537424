"""The run's record, as the bundle reads it: its manifests, in upstream-first order."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from glassworks.errors import GlassworksError
from glassworks.provenance.manifest import load_manifest
from glassworks.provenance.recorder import MANIFEST_DIR


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
