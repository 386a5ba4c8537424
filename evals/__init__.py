"""Evaluation: the lm-eval adapter, offline task suites, checkpoint sweeps, fits, contamination.

Importing this package registers the lm-eval model ``glassworks``, so that

    import glassworks.evals, lm_eval
    lm_eval.simple_evaluate(model="glassworks", model_args="checkpoint=DIR", tasks=[...])

works. Registration is a lazy placeholder (``glassworks.evals.lm:GlassworksLM``) in
lm-eval's model registry, so torch is loaded only when lm-eval builds the model. Importing
this package does not import lm-eval either (``glassworks --help`` imports the ``eval``
command from here and must stay light): when lm-eval is already imported the model is
registered at once, otherwise a one-shot import hook registers it the moment
``lm_eval.api.registry`` is first imported. lm-eval's own ``lm_eval`` console script has no
plugin discovery for models; from the shell use ``glassworks eval``.

Public functions (each imports what it needs on first use):

- ``evaluate_checkpoint(checkpoint, tasks, out_dir, ...)``: one checkpoint, results JSON + manifest;
- ``glassworks.evals.sweep.sweep(checkpoints, run_dir, ...)``: every checkpoint, metrics against
  tokens seen, power-law predictability, contamination, a plot;
- ``evaluate_run(config, run_dir, checkpoints)``: what the demo calls;
- ``build_suite(data_dir, out_dir, config)``: the shipped held-out suite from the embedded corpus;
- ``fit_power_law`` / ``predictability``; ``glassworks.evals.contamination.contamination``.
"""

from __future__ import annotations

import importlib
import importlib.abc
import sys

MODEL_NAME = "glassworks"
_TARGET = "glassworks.evals.lm:GlassworksLM"
_REGISTRY = "lm_eval.api.registry"


def register() -> None:
    """Put ``glassworks`` into lm-eval's model registry (idempotent, no torch)."""
    import lm_eval.models  # noqa: F401 - lm-eval fills its registry lazily only while it is empty
    from lm_eval.api.registry import model_registry

    if MODEL_NAME not in model_registry:
        model_registry.register(MODEL_NAME, target=_TARGET)


class _RegisterOnImport(importlib.abc.MetaPathFinder):
    """Finds nothing itself; wraps the loader of lm-eval's registry module so that
    ``register()`` runs right after that module has executed."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname != _REGISTRY:
            return None
        sys.meta_path.remove(self)  # one shot: let the other finders locate the module
        spec = None
        for finder in sys.meta_path:
            find = getattr(finder, "find_spec", None)
            spec = find(fullname, path, target) if find else None
            if spec is not None:
                break
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return spec
        loader = spec.loader
        exec_module = loader.exec_module

        def exec_and_register(module):
            exec_module(module)
            sys.modules[fullname] = module
            try:
                register()
            except Exception as exc:  # noqa: BLE001 - never break importing lm-eval itself
                import warnings

                warnings.warn(f"glassworks: could not register the lm-eval model 'glassworks': {exc}", stacklevel=2)

        loader.exec_module = exec_and_register
        return spec


if _REGISTRY in sys.modules:
    register()
elif not any(isinstance(f, _RegisterOnImport) for f in sys.meta_path):
    sys.meta_path.insert(0, _RegisterOnImport())


# Functions named like their module (sweep.sweep, contamination.contamination) are not listed:
# importing the submodule would replace the package attribute with the module.
_LAZY = {
    "evaluate_checkpoint": "glassworks.evals.run",
    "EvalConfig": "glassworks.evals.run",
    "evaluate_run": "glassworks.evals.sweep",
    "SweepConfig": "glassworks.evals.sweep",
    "build_suite": "glassworks.evals.suite",
    "SuiteConfig": "glassworks.evals.suite",
    "held_out_ids": "glassworks.evals.suite",
    "fit_power_law": "glassworks.evals.predict",
    "predictability": "glassworks.evals.predict",
    "GlassworksLM": "glassworks.evals.lm",
}

__all__ = ["MODEL_NAME", "register", *_LAZY]


def __getattr__(name: str):
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'glassworks.evals' has no attribute {name!r}")
