"""Second-order ordinal CFA (WLSMV) against lavaan 0.6-14, delta and theta parameterisation.

In the delta parameterisation the residual variances are derived (1 - the common part of each
latent response's unit variance); with a higher-order factor that common part is
diag(Lambda Phi Lambda') with Phi the total covariance of the first-order factors. Reference
values: tests/psychometrics/expected/ordinal_second_order/ (generate_second_order_ordinal.R).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from psychometrics.cfa import cfa

HERE = Path(__file__).parent / "expected" / "ordinal_second_order"
ORACLE = json.loads((HERE / "second_order_oracles.json").read_text())
DATA = pd.read_csv(HERE / "second_order5.csv")


@pytest.fixture(scope="module", params=["delta", "theta"])
def fitted(request):
    fit = cfa(
        ORACLE["model"],
        DATA,
        ordered=True,
        estimator="WLSMV",
        parameterization=request.param,
    )
    return fit, ORACLE["fits"][request.param]


def _merge(ours: pd.DataFrame, theirs: list[dict]) -> pd.DataFrame:
    ref = pd.DataFrame(theirs)
    # lavaan also lists the fixed intercepts (~1) and scaling factors (~*~) of the latent
    # responses; the comparison is over loadings, (co)variances and thresholds
    ref = ref[ref["op"].isin(["=~", "~~", "|"])]
    ref["rhs"] = ref["rhs"].fillna("")
    ours = ours.assign(rhs=ours["rhs"].fillna(""))
    merged = ref.merge(ours, on=["lhs", "op", "rhs"], suffixes=("_ref", ""))
    assert len(merged) == len(ref), "every lavaan row has a counterpart"
    return merged


def test_estimates_and_ses(fitted):
    fit, ref = fitted
    assert fit.converged
    merged = _merge(fit.estimates, ref["estimates"])
    np.testing.assert_allclose(merged["est"], merged["est_ref"], atol=1e-5)
    np.testing.assert_allclose(merged["se"], merged["se_ref"], atol=1e-5)


def test_standardized_solution(fitted):
    fit, ref = fitted
    merged = _merge(fit.estimates, ref["std_all"])
    np.testing.assert_allclose(merged["std_all"], merged["est.std"], atol=1e-5)


def test_residual_variances_are_admissible_in_the_delta_parameterisation():
    fit = cfa(ORACLE["model"], DATA, ordered=True, estimator="WLSMV")
    est = fit.estimates
    resid = est[(est["op"] == "~~") & (est["lhs"] == est["rhs"]) & est["lhs"].isin(DATA.columns)]
    assert ((resid["est"] > 0) & (resid["est"] < 1)).all()
    np.testing.assert_allclose(resid["est"], resid["std_all"], atol=1e-10)


@pytest.mark.parametrize(
    "measure",
    [
        "chisq",
        "df",
        "chisq.scaled",
        "cfi.scaled",
        "tli.scaled",
        "rmsea.scaled",
        "cfi.robust",
        "tli.robust",
        "rmsea.robust",
        "srmr",
    ],
)
def test_fit_measures(fitted, measure):
    fit, ref = fitted
    ours = fit.fit_measures()[measure.replace(".", "_")]
    assert ours == pytest.approx(ref["fit_measures"][measure], rel=1e-4, abs=1e-6)
