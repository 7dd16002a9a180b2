"""psychometrics.efa against psych (tests/psychometrics/expected/efa_oracles.json, written by
tests/psychometrics/r/generate_reliability_oracles.R with psych 2.2.9 and GPArotation 2022.10-2)
and against factor_analyzer 0.5.1 where that works."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from factor_analyzer import FactorAnalyzer, calculate_bartlett_sphericity, calculate_kmo

from psychometrics.efa import bartlett_sphericity, efa, kmo, parallel_analysis
from psychometrics.keying import reverse_key

HERE = Path(__file__).parent
HS_ITEMS = [f"x{i}" for i in range(1, 10)]
LIKERT_ITEMS = [f"a{i}" for i in range(1, 7)] + [f"b{i}" for i in range(1, 6)]
CLOSED_FORM_TOL = 1e-10
LOADING_TOL = 1e-4  # brief: 1e-3; observed agreement is about 1e-5


@pytest.fixture(scope="module")
def oracle():
    with open(HERE / "expected" / "efa_oracles.json", encoding="utf-8") as fh:
        return json.load(fh)


@pytest.fixture(scope="module")
def datasets():
    hs = pd.read_csv(HERE / "data" / "holzinger_swineford_1939.csv")[HS_ITEMS]
    raw = pd.read_csv(HERE / "data" / "reliability_likert_sim.csv")
    likert = reverse_key(raw, ["a3", "a6"], low=1, high=5)[LIKERT_ITEMS]
    # psych uses pairwise correlations by default; the Likert data have missing values
    return {"holzinger_swineford": (hs, "listwise"), "likert_sim": (likert, "pairwise")}


DATASETS = ["holzinger_swineford", "likert_sim"]


@pytest.mark.parametrize("name", DATASETS)
def test_kmo_matches_psych(oracle, datasets, name):
    data, missing = datasets[name]
    res = kmo(data, missing=missing)
    expected = oracle[name]["kmo"]
    assert res.overall == pytest.approx(expected["overall"], abs=CLOSED_FORM_TOL)
    for item, value in expected["per_item"].items():
        assert res.per_item[item] == pytest.approx(value, abs=CLOSED_FORM_TOL)


@pytest.mark.parametrize("name", DATASETS)
def test_bartlett_matches_psych(oracle, datasets, name):
    data, missing = datasets[name]
    res = bartlett_sphericity(data, missing=missing)
    expected = oracle[name]["bartlett"]
    assert res.chi2 == pytest.approx(expected["chisq"], rel=1e-12)
    assert res.df == expected["df"]
    assert res.p_value == pytest.approx(expected["p_value"], rel=1e-6)
    assert res.n == expected["n"]


def test_kmo_and_bartlett_agree_with_factor_analyzer(datasets):
    data, _ = datasets["holzinger_swineford"]
    per_item, overall = calculate_kmo(data)
    res = kmo(data)
    assert res.overall == pytest.approx(overall, abs=1e-12)
    np.testing.assert_allclose(res.per_item.to_numpy(), per_item, atol=1e-12)
    chi2, p = calculate_bartlett_sphericity(data)
    assert bartlett_sphericity(data).chi2 == pytest.approx(chi2, rel=1e-12)


def test_factor_analyzer_fit_is_broken_with_this_scikit_learn(datasets):
    # Canary for the note in psychometrics/efa.py: if this starts failing, factor_analyzer (or
    # scikit-learn) changed and efa.py's module docstring needs revisiting.
    data, _ = datasets["holzinger_swineford"]
    with pytest.raises(TypeError, match="force_all_finite"):
        FactorAnalyzer(n_factors=3, rotation=None).fit(data)


def _fa_cases(oracle_doc):
    return [(name, key) for name in DATASETS for key in oracle_doc[name]["fa"]]


with open(HERE / "expected" / "efa_oracles.json", encoding="utf-8") as _fh:
    _CASES = _fa_cases(json.load(_fh))


@pytest.mark.parametrize(("name", "key"), _CASES)
def test_efa_matches_psych_fa(oracle, datasets, name, key):
    data, missing = datasets[name]
    spec = oracle[name]["fa"][key]
    res = efa(data, spec["nfactors"], method=spec["fm"], rotation=spec["rotate"], missing=missing)
    assert res.converged
    expected = np.array(spec["loadings"], dtype=float).reshape(len(spec["items"]), -1)
    # Factor order and signs follow psych's conventions, so the columns line up directly.
    np.testing.assert_allclose(res.loadings.to_numpy(), expected, atol=LOADING_TOL)
    if spec["phi"]:
        np.testing.assert_allclose(res.phi.to_numpy(), np.array(spec["phi"]), atol=LOADING_TOL)
    else:
        assert res.phi is None
    np.testing.assert_allclose(res.communalities, spec["communalities"], atol=LOADING_TOL)
    np.testing.assert_allclose(res.uniquenesses, spec["uniquenesses"], atol=LOADING_TOL)
    np.testing.assert_allclose(res.reduced_eigenvalues, spec["values"], atol=LOADING_TOL)
    np.testing.assert_allclose(res.eigenvalues, spec["e_values"], atol=CLOSED_FORM_TOL)
    json.dumps(res.to_dict(), allow_nan=False)


@pytest.mark.parametrize("name", DATASETS)
def test_parallel_analysis_observed_eigenvalues_match_psych(oracle, datasets, name):
    data, missing = datasets[name]
    expected = oracle[name]["parallel"]
    res = parallel_analysis(data, n_iter=30, rng=20240613, missing=missing)
    np.testing.assert_allclose(res.table["observed_pc"], expected["pc_values"], atol=1e-10)
    np.testing.assert_allclose(res.table["observed_fa"], expected["fa_values"], atol=1e-4)
    # The random part uses another generator than R; the decisions agree on these data.
    assert res.n_factors == expected["nfact"]
    assert res.n_components == expected["ncomp"]


def test_parallel_analysis_is_reproducible_with_a_seed(datasets):
    data, _ = datasets["holzinger_swineford"]
    a = parallel_analysis(data, n_iter=5, rng=7)
    b = parallel_analysis(data, n_iter=5, rng=np.random.default_rng(7))
    c = parallel_analysis(data, n_iter=5, rng=8)
    pd.testing.assert_frame_equal(a.table, b.table)
    assert not np.allclose(a.table["random_pc"], c.table["random_pc"])
    d = a.to_dict()
    json.dumps(d, allow_nan=False)
    assert d["n_iter"] == 5 and d["percentile"] == 95.0


def test_oblique_solution_reproduces_communalities(datasets):
    data, _ = datasets["holzinger_swineford"]
    res = efa(data, 3, rotation="oblimin")
    lam, phi = res.loadings.to_numpy(), res.phi.to_numpy()
    np.testing.assert_allclose(np.diag(lam @ phi @ lam.T), res.communalities, atol=1e-8)
    np.testing.assert_allclose(res.structure.to_numpy(), lam @ phi, atol=1e-12)


def test_listwise_and_pairwise_differ_on_incomplete_data(datasets):
    data, _ = datasets["likert_sim"]
    listwise = kmo(data)
    pairwise = kmo(data, missing="pairwise")
    assert listwise.n < pairwise.n == 400
    assert listwise.overall != pytest.approx(pairwise.overall, abs=1e-6)


def _not_positive_definite():
    # three items whose pairwise correlations (each from different rows) cannot coexist
    nan = np.nan
    a = [1, 2, 3, 4, 5, nan, nan, nan, nan, nan, 1, 2, 3, 4, 5]
    b = [1, 2, 3, 4, 5, 1, 2, 3, 4, 5, nan, nan, nan, nan, nan]
    c = [nan, nan, nan, nan, nan, 5, 4, 3, 2, 1, 1, 2, 3, 4, 5.5]
    return pd.DataFrame({"a": a, "b": b, "c": c, "d": [1, 3, 2, 5, 4] * 3})


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda d: efa(d, 0), "between 1 and"),
        (lambda d: efa(d, 4), "between 1 and"),
        (lambda d: efa(d, 1.5), "between 1 and"),
        (lambda d: efa(d, 1, method="pa"), "method must be"),
        (lambda d: efa(d, 1, rotation="geomin"), "rotation must be"),
        (lambda d: kmo(d, missing="fiml"), "missing must be"),
        (lambda d: parallel_analysis(d, n_iter=0), "n_iter"),
        (lambda d: parallel_analysis(d, percentile=100), "percentile"),
        (lambda d: parallel_analysis(d.head(4)), "more rows than items"),
        (lambda d: kmo(d.assign(e=d["a"] + d["b"])), "singular"),
        (lambda d: efa(_not_positive_definite(), 1, method="ml", missing="pairwise"), "definite"),
        (lambda d: bartlett_sphericity(d.assign(e=d["a"] * 2)), "singular|positive definite"),
    ],
)
def test_bad_input_raises_value_error(call, message):
    rng = np.random.default_rng(0)
    d = pd.DataFrame(rng.normal(size=(50, 4)), columns=list("abcd"))
    with pytest.raises(ValueError, match=message):
        call(d)


def test_convergence_means_a_stationary_point_of_the_bounded_problem():
    from scipy.optimize import OptimizeResult

    from psychometrics.efa import _converged

    def stopped(x, jac, success=False):
        return OptimizeResult(x=np.array(x), jac=np.array(jac), success=success)

    assert _converged(stopped([0.5], [1.0], success=True))
    assert _converged(stopped([0.5, 0.3], [5e-9, -2e-9]))  # "ABNORMAL" at the minimum
    assert not _converged(stopped([0.5, 0.3], [1e-2, 0.0]))  # stopped on a slope
    # At a bound, a gradient pushing out of the box is no reason to go on; one pulling in is.
    assert _converged(stopped([0.005, 1.0], [0.3, -0.2]))
    assert not _converged(stopped([0.005, 1.0], [-0.3, 0.0]))
    assert not _converged(stopped([0.5], [np.nan]))
