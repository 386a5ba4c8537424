"""Power-law fits and predictability on curves whose parameters are known."""

import math

import numpy as np
import pytest

from glassworks.evals.predict import fit_power_law, predictability

TOKENS = [1e5, 2e5, 4e5, 8e5, 1.6e6, 3.2e6, 6.4e6]


def law(d, floor=1.7, scale=40.0, exponent=0.3):
    return floor + scale * d ** -exponent


def test_fit_recovers_floor_scale_and_exponent():
    fit = fit_power_law(TOKENS, [law(d) for d in TOKENS])
    assert fit.exponent == pytest.approx(0.3, rel=0.05)
    assert fit.floor == pytest.approx(1.7, abs=0.05)
    assert fit(TOKENS[-1]) == pytest.approx(law(TOKENS[-1]), rel=1e-3)


def test_pure_power_law_with_few_points():
    fit = fit_power_law(TOKENS[:3], [5.0 * d ** -0.5 for d in TOKENS[:3]])
    assert (fit.floor, fit.points) == (0.0, 3)
    assert fit.exponent == pytest.approx(0.5) and fit.scale == pytest.approx(5.0)


def test_predictability_on_early_checkpoints_predicts_late_ones():
    rows = [{"name": f"c{i}", "tokens_seen": d, "loss": law(d)} for i, d in enumerate(TOKENS)]
    rows.append({"name": "init", "tokens_seen": 0, "loss": 9.0})  # no tokens: not on a power law, left out
    p = predictability(rows, "loss", higher_is_better=False, fit_fraction=0.6)
    assert p.fitted_on == ["c0", "c1", "c2", "c3", "c4"]
    assert sorted(p.predicted) == ["c5", "c6"]
    assert p.rel_error < 0.01


def test_accuracy_is_fitted_as_its_complement_and_noise_shows_as_error():
    rng = np.random.default_rng(0)
    rows = [{"name": f"c{i}", "tokens_seen": d, "acc": 1 - 0.9 * d ** -0.1} for i, d in enumerate(TOKENS)]
    clean = predictability(rows, "acc", higher_is_better=True)
    assert clean.rel_error < 1e-3 and all(v > 0.5 for v in clean.predicted.values())
    noisy = [{**r, "acc": r["acc"] + rng.normal(0, 0.02)} for r in rows]
    assert predictability(noisy, "acc", higher_is_better=True).rel_error > clean.rel_error


def test_too_few_checkpoints_give_no_prediction():
    rows = [{"name": f"c{i}", "tokens_seen": d, "loss": law(d)} for i, d in enumerate(TOKENS[:3])]
    assert predictability(rows, "loss", False) is None
    with pytest.raises(ValueError):
        fit_power_law([1, 2], [1.0, math.nan])
