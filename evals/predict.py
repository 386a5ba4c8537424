"""Predictability: fit a power law to the early checkpoints, say how well it predicts the late ones.

BaichuanSEED (Dong et al. 2024) checks that a training run is on course by fitting the
metric of early checkpoints as a power law in training tokens and comparing its
extrapolation with what later checkpoints measure. Here, for a metric ``y`` measured at
``D`` tokens seen:

    y(D) = E + A * D ** (-alpha)

(a saturating power law, as in Kaplan et al. 2020 and Hoffmann et al. 2022: ``E`` is the
floor the metric approaches). Metrics where higher is better (accuracy) are fitted as
their complement ``1 - y``, so every fitted quantity falls as training goes on.

The fit is a grid over the floor ``E`` (from 0 to just below the smallest observed value)
with, for each ``E``, ordinary least squares of ``log(y - E)`` on ``log D``; the ``E`` with
the smallest squared error in log space wins. With fewer than 4 points the floor is fixed at
0 (a pure power law, two parameters). Deterministic, numpy only.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

GRID = 200  # floor values tried between 0 and the smallest observation


@dataclass(frozen=True)
class PowerLaw:
    floor: float  # E
    scale: float  # A
    exponent: float  # alpha (> 0 when the quantity falls with tokens)
    points: int  # how many (tokens, value) pairs it was fitted on
    rmse_log: float  # root mean squared error of the fit in log(y - E)

    def __call__(self, tokens):
        return self.floor + self.scale * np.power(np.asarray(tokens, dtype=float), -self.exponent)


def fit_power_law(tokens, values) -> PowerLaw:
    """Least-squares fit of ``values = E + A * tokens ** -alpha`` (all tokens > 0, values > 0)."""
    x = np.asarray(tokens, dtype=float)
    y = np.asarray(values, dtype=float)
    if len(x) < 2 or np.any(x <= 0) or np.any(y <= 0) or not np.all(np.isfinite(y)):
        raise ValueError("a power-law fit needs at least 2 points with tokens > 0 and finite values > 0")
    floors = [0.0] if len(x) < 4 else list(np.linspace(0.0, float(y.min()) * (1 - 1e-3), GRID))
    best = None
    for floor in floors:
        ly, lx = np.log(y - floor), np.log(x)
        slope, intercept = np.polyfit(lx, ly, 1)
        err = float(np.sqrt(np.mean((intercept + slope * lx - ly) ** 2)))
        if best is None or err < best[0] - 1e-12:
            best = (err, floor, math.exp(intercept), -slope)
    err, floor, scale, exponent = best
    return PowerLaw(float(floor), float(scale), float(exponent), len(x), err)


@dataclass(frozen=True)
class Prediction:
    metric: str
    higher_is_better: bool
    fit: PowerLaw
    fitted_on: list[str]  # checkpoint names of the early points
    predicted: dict[str, float]  # checkpoint -> predicted metric (in the metric's own units)
    observed: dict[str, float]
    abs_error: float  # mean |predicted - observed| over the held-back checkpoints
    rel_error: float  # mean |predicted - observed| / |observed|

    def as_json(self) -> dict:
        return asdict(self)


def predictability(rows: list[dict], metric: str, higher_is_better: bool, fit_fraction: float = 0.6,
                   min_fit: int = 3) -> Prediction | None:
    """Fit on the first ``fit_fraction`` of checkpoints (by tokens seen, at least ``min_fit``),
    predict the rest. ``rows``: ``{"name", "tokens_seen", metric: value}``. None when there are
    too few usable checkpoints to hold any back."""
    usable = sorted((r for r in rows if r.get("tokens_seen", 0) > 0 and _finite(r.get(metric))),
                    key=lambda r: r["tokens_seen"])
    n_fit = max(min_fit, math.ceil(fit_fraction * len(usable)))
    if len(usable) <= n_fit:
        return None
    to_fit = (lambda v: 1.0 - v) if higher_is_better else (lambda v: v)
    early, late = usable[:n_fit], usable[n_fit:]
    try:
        fit = fit_power_law([r["tokens_seen"] for r in early], [to_fit(r[metric]) for r in early])
    except ValueError:
        return None
    predicted = {r["name"]: float(to_fit(fit(r["tokens_seen"]))) for r in late}
    observed = {r["name"]: float(r[metric]) for r in late}
    errors = [abs(predicted[k] - observed[k]) for k in observed]
    rel = [abs(predicted[k] - observed[k]) / abs(observed[k]) for k in observed if observed[k] != 0]
    return Prediction(metric, higher_is_better, fit, [r["name"] for r in early], predicted, observed,
                      float(np.mean(errors)), float(np.mean(rel)) if rel else float("nan"))


def _finite(value) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(value)
