"""Full-information ML (missing="ml") against lavaan 0.6-14: HS with seeded MCAR missingness
(data/hs_missing.csv, expected/cfa_fiml_hs.json from r/generate_cfa_oracles.R).

lavaan's default standard errors for missing = "ml" come from the observed information (the
Hessian); the oracle also holds information = "expected", which the engine uses to iterate.
"""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from psychometrics.cfa import cfa

HERE = Path(__file__).parent


@pytest.fixture(scope="module")
def oracle():
    with open(HERE / "expected" / "cfa_fiml_hs.json", encoding="utf-8") as fh:
        return json.load(fh)


@pytest.fixture(scope="module")
def fiml(oracle):
    data = pd.read_csv(HERE / "data" / "hs_missing.csv")
    return cfa(oracle["model"], data, missing="ml")


def key(frame):
    return frame["lhs"] + frame["op"] + frame["rhs"]


def test_fiml_fit_measures(fiml, oracle):
    assert fiml.converged
    assert fiml.information == "observed"
    assert fiml.nobs == oracle["data"]["n"]
    fm = fiml.fit_measures()
    for name, value in oracle["fit"]["fit_measures"].items():
        ours = {"ntotal": "nobs"}.get(name, name.replace(".", "_"))
        if ours not in fm or value is None:
            continue
        if ours in {"chisq", "logl", "unrestricted_logl", "aic", "bic", "bic2", "baseline_chisq"}:
            assert fm[ours] == pytest.approx(value, rel=1e-4), ours
        else:
            assert fm[ours] == pytest.approx(value, abs=1e-3), ours


def test_fiml_h1_is_the_em_estimate(fiml, oracle):
    cov, mean = fiml.objective.groups[0].h1_moments()
    np.testing.assert_allclose(cov, oracle["h1_em"]["cov"]["values"], atol=1e-5)
    np.testing.assert_allclose(mean, list(oracle["h1_em"]["mean"].values()), atol=1e-5)


def test_fiml_estimates_observed_information_se_and_standardised(fiml, oracle):
    ours = fiml.estimates.set_index(key(fiml.estimates))
    est = pd.DataFrame(oracle["fit"]["estimates"])
    np.testing.assert_allclose(ours.loc[key(est), "est"], est["est"], atol=1e-3)
    np.testing.assert_allclose(ours.loc[key(est), "se"], est["se"], atol=1e-3)
    std = pd.DataFrame(oracle["fit"]["std_all"])
    np.testing.assert_allclose(ours.loc[key(std), "std_all"], std["est.std"], atol=1e-3)
    np.testing.assert_allclose(ours.loc[key(std), "se_std_all"], std["se"], atol=1e-3)


def test_complete_data_fiml_equals_listwise_with_means():
    data = pd.read_csv(HERE / "data" / "holzinger_swineford_1939.csv")
    model = "visual =~ x1 + x2 + x3\ntextual =~ x4 + x5 + x6\nspeed =~ x7 + x8 + x9"
    ml = cfa(model, data, missing="ml")
    lw = cfa(model, data, meanstructure=True)
    assert ml.fit_measures()["chisq"] == pytest.approx(lw.fit_measures()["chisq"], rel=1e-6)
    np.testing.assert_allclose(ml.estimates["est"], lw.estimates["est"], atol=1e-5)
