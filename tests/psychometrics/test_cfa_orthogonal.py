"""orthogonal=True (lavaan's ``orthogonal = TRUE``) against lavaan 0.6-14: the default
covariances between exogenous factors are fixed to 0. References:
tests/psychometrics/expected/orthogonal/ (generate_orthogonal.R)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from psychometrics.cfa import cfa

HERE = Path(__file__).parent / "expected" / "orthogonal"
ORACLE = json.loads((HERE / "orthogonal_oracles.json").read_text())
HS = pd.read_csv(Path(__file__).parent / "data" / "holzinger_swineford_1939.csv")
SPARSE = pd.read_csv(Path(__file__).parent / "expected" / "ordinal" / "sparse5.csv")

CASES = {
    "ml": (ORACLE["hs_model"], HS, {}),
    "ml_std_lv": (ORACLE["hs_model"], HS, {"std_lv": True}),
    "mlr": (ORACLE["hs_model"], HS, {"estimator": "MLR"}),
    "wlsmv": (ORACLE["ord_model"], SPARSE, {"ordered": True, "estimator": "WLSMV"}),
}


@pytest.fixture(scope="module", params=list(CASES))
def fitted(request):
    model, data, kwargs = CASES[request.param]
    return cfa(model, data, orthogonal=True, **kwargs), ORACLE["fits"][request.param]


def test_estimates_and_ses(fitted):
    fit, ref = fitted
    ref_table = pd.DataFrame(ref["estimates"])
    ref_table = ref_table[ref_table["op"].isin(["=~", "~~", "|"])]
    ours = fit.estimates.assign(rhs=fit.estimates["rhs"].fillna(""))
    merged = ref_table.merge(ours, on=["lhs", "op", "rhs"], suffixes=("_ref", ""))
    assert len(merged) == len(ref_table)
    covariances = merged[
        (merged["op"] == "~~")
        & merged["lhs"].str.match(r"^(visual|textual|speed|f\d)$")
        & (merged["lhs"] != merged["rhs"])
    ]
    assert len(covariances) > 0 and (covariances["est"] == 0).all()
    np.testing.assert_allclose(merged["est"], merged["est_ref"], atol=1e-5)
    np.testing.assert_allclose(merged["se"], merged["se_ref"], atol=1e-5)


MEASURES = ["npar", "df", "chisq", "cfi", "tli", "rmsea", "srmr", "chisq.scaled", "cfi.robust"]


def test_fit_measures(fitted):
    fit, ref = fitted
    ours = fit.fit_measures()
    # the scaled and robust measures where lavaan reports them (MLR, WLSMV)
    compared = [m for m in MEASURES if ref["fit_measures"].get(m) is not None]
    assert {"npar", "df", "chisq", "cfi", "rmsea"} <= set(compared)
    for measure in compared:
        assert ours[measure.replace(".", "_")] == pytest.approx(
            ref["fit_measures"][measure], rel=1e-4, abs=1e-6
        ), measure


def test_modification_indices_list_the_fixed_covariances():
    fit = cfa(ORACLE["hs_model"], HS, orthogonal=True)
    ref = pd.DataFrame(ORACLE["fits"]["ml"]["modindices"])
    ours = fit.modification_indices()
    merged = ref.merge(ours, on=["lhs", "op", "rhs"], suffixes=("_ref", ""))
    assert len(merged) == len(ref)
    np.testing.assert_allclose(merged["mi"], merged["mi_ref"], rtol=1e-4, atol=1e-6)
    assert {("visual", "~~", "textual"), ("visual", "~~", "speed")} <= set(
        zip(merged["lhs"], merged["op"], merged["rhs"], strict=True)
    )


def test_stated_covariances_stay_as_stated():
    model = ORACLE["hs_model"] + "\nvisual ~~ textual"
    fit = cfa(model, HS, orthogonal=True)
    est = fit.estimates.set_index(["lhs", "op", "rhs"])["est"]
    assert est[("visual", "~~", "textual")] != 0 and est[("visual", "~~", "speed")] == 0
    assert fit.fit_measures()["df"] == ORACLE["fits"]["ml"]["fit_measures"]["df"] - 1


def test_cli_orthogonal(tmp_path):
    model = tmp_path / "hs.lav"
    model.write_text(ORACLE["hs_model"])
    data = Path(__file__).parent / "data" / "holzinger_swineford_1939.csv"
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "psychometrics",
            "cfa",
            "--data",
            str(data),
            "--model",
            str(model),
            "--orthogonal",
            "--json",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)["result"]
    assert result["fit_measures"]["df"] == 27
    assert result["fit_measures"]["chisq"] == pytest.approx(
        ORACLE["fits"]["ml"]["fit_measures"]["chisq"], rel=1e-6
    )
