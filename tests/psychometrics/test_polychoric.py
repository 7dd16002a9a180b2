"""Thresholds and polychoric/tetrachoric correlations against lavaan 0.6-14 and psych 2.2.9.

Reference values: tests/psychometrics/expected/ordinal/ordinal_oracles.json, written by
generate_ordinal.R in the same folder (lavCor(ordered = ...) and psych::polychoric(correct = 0)).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from psychometrics.polychoric import bivariate_normal_cdf, polychoric, thresholds, two_step_gamma

HERE = Path(__file__).parent / "expected" / "ordinal"
ORACLES = json.loads((HERE / "ordinal_oracles.json").read_text())
CASES = [
    ("sparse5", "listwise"),
    ("bfi", "listwise"),
    ("binary", "listwise"),
    ("missing5", "pairwise"),
]


def _data(name: str) -> pd.DataFrame:
    frame = pd.read_csv(HERE / f"{name}.csv")
    if name == "bfi":
        frame = frame.dropna()
    return frame


@pytest.fixture(scope="module", params=CASES, ids=[c[0] for c in CASES])
def case(request):
    name, missing = request.param
    ref = ORACLES[name]["cor"]
    frame = _data(name)[ref["items"]]
    return name, ref, polychoric(frame, missing=missing), frame, missing


def test_thresholds_match_lavaan(case):
    _, ref, res, frame, missing = case
    assert res.threshold_names() == ref["lavaan_threshold_names"]
    np.testing.assert_allclose(res.threshold_vector(), ref["lavaan_thresholds"], atol=1e-10)
    direct = thresholds(frame, missing=missing)
    np.testing.assert_allclose(np.concatenate(list(direct.values())), ref["lavaan_thresholds"])


def test_correlations_match_lavcor(case):
    _, ref, res, _, _ = case
    assert res.converged
    np.testing.assert_allclose(res.correlation.to_numpy(), ref["lavaan_cor"], atol=1e-6)


def test_correlations_match_psych_without_correction(case):
    # psych optimises rho with optimize()'s default tolerance: agreement to ~2e-5
    _, ref, _, frame, missing = case
    res = polychoric(frame, missing=missing, correct=0)
    np.testing.assert_allclose(res.correlation.to_numpy(), ref["psych_rho"], atol=1e-4)
    tau = np.asarray(ref["psych_tau"], dtype=float)
    if tau.ndim == 1:  # binary items: one threshold each
        tau = tau[:, None]
    mine = [res.thresholds[it] for it in ref["items"]]
    for row, t in zip(tau, mine, strict=True):
        np.testing.assert_allclose(row[: t.size], t, atol=1e-10)


def test_gamma_diagonal_matches_lavaan(case):
    name, _, res, _, _ = case
    gamma = two_step_gamma(res)
    ref = np.asarray(ORACLES[name]["WLSMV"]["gamma_diag"])
    np.testing.assert_allclose(np.diag(gamma), ref, rtol=1e-5)
    assert np.allclose(gamma, gamma.T)
    assert np.linalg.eigvalsh(gamma)[0] > 0


def test_bivariate_normal_cdf_against_scipy():
    from scipy.stats import multivariate_normal

    rng = np.random.default_rng(11)
    h = rng.normal(scale=1.5, size=60)
    k = rng.normal(scale=1.5, size=60)
    r = np.concatenate(
        [
            rng.uniform(-0.999, 0.999, 48),
            [-0.99, -0.95, 0.93, 0.999, -0.3, 0.3, 0.75, -0.75, 0.0, 0.5, -0.925, 0.925],
        ]
    )
    ref = [
        multivariate_normal([0, 0], [[1, ri], [ri, 1]], abseps=1e-12, releps=1e-12).cdf([hi, ki])
        for hi, ki, ri in zip(h, k, r, strict=True)
    ]
    np.testing.assert_allclose(bivariate_normal_cdf(h, k, r), ref, atol=1e-12)
    # infinite limits reduce to the univariate normal
    out = bivariate_normal_cdf([np.inf, -np.inf, 1.0, 0.0], [0.5, 1.0, np.inf, 0.0], 0.5)
    np.testing.assert_allclose(out, [0.691462461274013, 0.0, 0.841344746068543, 1.0 / 3.0])


def test_zero_cell_rules():
    # a 2 x 2 table with one empty cell: lavaan adds 0.5 keeping the margins; correct=0.5 is
    # psych::tetrachoric's default; correct=0 leaves it (rho at lavaan's bound 0.999, where
    # psych goes on to 0.99935)
    ref = json.loads((HERE / "zero_cell_oracles.json").read_text())
    frame = pd.DataFrame(ref["data"])
    lav = polychoric(frame).correlation.loc["a", "b"]
    assert lav == pytest.approx(ref["lavaan"], abs=1e-7)
    psych = polychoric(frame, correct=0.5).correlation.loc["a", "b"]
    assert psych == pytest.approx(ref["psych_tetrachoric_correct_05"], abs=1e-4)
    assert polychoric(frame, correct=0).correlation.loc["a", "b"] == pytest.approx(0.999)
    assert ref["psych_tetrachoric_correct_0"] > 0.999


def test_psych_polychoric_ignores_correct_with_global_thresholds():
    ref = json.loads((HERE / "zero_cell_oracles.json").read_text())
    frame = _data("sparse5")
    ours = polychoric(frame, correct=0).correlation.to_numpy()
    np.testing.assert_allclose(ours, ref["psych_polychoric_sparse5_correct_05"], atol=1e-4)


def test_ordered_categoricals_use_their_category_order():
    frame = _data("sparse5")[["y1", "y2", "y3"]]
    labels = ["never", "rarely", "sometimes", "often", "always"]
    cats = frame.apply(
        lambda col: pd.Categorical.from_codes(col - 1, categories=labels, ordered=True)
    )
    np.testing.assert_allclose(
        polychoric(cats).correlation.to_numpy(), polychoric(frame).correlation.to_numpy()
    )


def test_bad_input_messages():
    with pytest.raises(ValueError, match="fewer than two observed categories"):
        polychoric(pd.DataFrame({"a": [1, 1, 1], "b": [1, 2, 1]}))
    with pytest.raises(ValueError, match="missing must be"):
        polychoric(pd.DataFrame({"a": [1, 2], "b": [1, 2]}), missing="ml")
    with pytest.raises(ValueError, match="numeric codes"):
        polychoric(pd.DataFrame({"a": ["x", "y"], "b": [1, 2]}))
