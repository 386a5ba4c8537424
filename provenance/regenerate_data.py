"""The data stages after the corpus, rebuilt from their manifests for `audit regenerate`.

    dedup           the recipes' last stages -> dedup/ (kept, removed, spans, weights)   run_dedup
    eval.suite      raw data/ -> eval/suite/ (the held-out documents and their ids)      prepare_suite
    tokenizer       dedup/kept + held-out ids -> tokenizer/                              train_tokenizer
    data.tokenize   dedup/kept + tokenizer -> data/tokenized/                            build_mixtures
    data.<phase>    data/tokenized -> data/<phase>/ (packed token shards)                build_mixtures

Each manifest's ``config`` is the canonical config of its stage, so it is read back into the
same typed config (``from_dict``) and the stage's public function runs it, exactly as
glassworks/demo.py chains them. What the record cannot say (a dedup source that read a
folder outside the run, phases packed with different seeds) raises ``Unplannable`` with the
reason, and the stage is reported as not regenerated.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath

from glassworks.config import from_dict

DEDUP, SUITE, TOKENIZER, POOL = "dedup", "eval.suite", "tokenizer", "data.tokenize"


class Unplannable(Exception):
    """The record does not say enough to re-run this stage; the message says what is missing."""


def is_phase(manifest: dict) -> bool:
    config = manifest["config"]
    return (manifest["stage"]["name"].startswith("data.") and manifest["stage"]["name"] != POOL
            and isinstance(config, dict) and {"phase", "packing", "seed", "pool"} <= set(config))


def data_stages(manifests: list[dict]) -> list[dict]:
    """The recorded data stages after the corpus, in the order they ran (phases by name)."""
    rank = {DEDUP: 0, SUITE: 1, TOKENIZER: 2, POOL: 3}
    found = [m for m in manifests if m["stage"]["name"] in rank or is_phase(m)]
    return sorted(found, key=lambda m: (rank.get(m["stage"]["name"], 4), m["stage"]["name"]))


def _origin(manifest: dict) -> str:
    return f"manifests/{manifest['id']}.json"


def _in_run_only(manifest: dict) -> None:
    outside = sorted({rec["root"] for rec in manifest["inputs"]["files"] if rec.get("root", "run") not in ("run", "data")})
    if outside:
        raise Unplannable(f"it read files outside the run (roots {', '.join(outside)}), which the record names but "
                          "does not hold")


def redo_dedup(recorded: dict, by_id: dict[str, dict], corpus_outs: dict[str, Path], run: Path, workers: int) -> None:
    """Global dedup over the regenerated recipes' last stages. The record names its sources;
    each one is the folder of the upstream recipe stage of the same name (as the demo runs it)."""
    from glassworks.pipeline.dedup.config import DedupConfig
    from glassworks.pipeline.dedup.run import run_dedup

    config = recorded["config"]
    if not isinstance(config, dict) or set(config) != {"config", "sources"}:
        raise Unplannable("its config is not the {config, sources} that run_dedup records")
    _in_run_only(recorded)
    upstream = [by_id[u] for u in recorded["upstream"] if u in by_id]
    folders = {}
    for name in config["sources"]:
        match = [m for m in upstream if m["stage"]["name"].split(".")[0] == name]
        if not match and len(config["sources"]) == 1 and len(upstream) == 1:
            match = upstream
        if len(match) != 1:
            raise Unplannable(f"cannot tell which recipe stage dedup source {name!r} read (upstream: "
                              f"{', '.join(m['stage']['name'] for m in upstream) or 'none'})")
        stage = match[0]["stage"]["name"]
        if stage not in corpus_outs:
            raise Unplannable(f"the folder of its source {name!r} (stage {stage}) was not regenerated")
        folders[name] = corpus_outs[stage]
    summary = [rec["path"] for rec in recorded["outputs"]["files"] if PurePosixPath(rec["path"]).name == "summary.json"]
    if len(summary) != 1:
        raise Unplannable("its outputs do not show where it wrote (one summary.json)")
    settings = dict(config["config"])
    settings["executor"] = {**settings.get("executor", {}), "workers": workers}
    out = run / PurePosixPath(summary[0]).parent
    run_dedup(from_dict(DedupConfig, settings, origin=_origin(recorded)), folders, out, run)


def redo_suite(recorded: dict, run: Path, data_dir: Path) -> None:
    """The held-out eval suite, from the raw data/ (the tokens stages leave its documents out)."""
    from glassworks.evals.run import EvalConfig, prepare_suite
    from glassworks.evals.suite import SuiteConfig

    suite = from_dict(SuiteConfig, recorded["config"], origin=_origin(recorded))
    prepare_suite(run, EvalConfig(suite=suite), data_dir)


def redo_tokenizer(recorded: dict, run: Path) -> None:
    from glassworks.pipeline.tokens.train import TokenizerConfig, train_tokenizer

    _in_run_only(recorded)
    train_tokenizer(from_dict(TokenizerConfig, recorded["config"], origin=_origin(recorded)), run)


def mixture_config(pool: dict, phases: list[dict]):
    """One MixtureConfig from the data.tokenize manifest and the phase manifests built on it."""
    from glassworks.pipeline.tokens.mixture import MixtureConfig

    mine = [m for m in phases if m["config"]["pool"] == pool["id"]]
    if not mine:
        raise Unplannable("no phase manifest was built on it")
    shared = {(m["config"]["seed"], repr(sorted(m["config"]["packing"].items()))) for m in mine}
    if len(shared) != 1:
        raise Unplannable("its phases were packed with different seeds or packing settings (several `data build` runs)")
    first = mine[0]["config"]
    data = {**pool["config"], "phases": [m["config"]["phase"] for m in mine], "seed": first["seed"],
            "packing": first["packing"]}
    return from_dict(MixtureConfig, data, origin=_origin(pool))


def redo_mixtures(pool: dict, phases: list[dict], run: Path, workers: int) -> None:
    """Tokenize the kept documents and pack every phase: one `data build` run."""
    from glassworks.pipeline.tokens.build import build_mixtures

    _in_run_only(pool)
    build_mixtures(mixture_config(pool, phases), run, workers=workers)


def config_to_compare(manifest: dict) -> dict:
    """The stage config without what holds manifest ids, which change with the code identity:
    ``after`` (a recipe stage's chain) and ``pool`` (the data.tokenize manifest of a phase)."""
    config = manifest["config"]
    if not isinstance(config, dict):
        return config
    drop = {"after"} | ({"pool"} if is_phase(manifest) else set())
    return {k: v for k, v in config.items() if k not in drop}
