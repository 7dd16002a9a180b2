"""group_partial (lavaan's group.partial) against lavaan 0.6-14: parameters released from the
group equality constraints (expected/constraints/ from generate_constraints.R)."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from psychometrics.cfa import cfa, invariance

HERE = Path(__file__).parent
HS_MODEL = "visual =~ x1 + x2 + x3\ntextual =~ x4 + x5 + x6\nspeed =~ x7 + x8 + x9"
CASES = json.loads(
    (HERE / "expected" / "constraints" / "constraints_oracles.json").read_text(encoding="utf-8")
)["cases"]
FIT_KEYS = ["npar", "chisq", "df", "pvalue", "cfi", "tli", "rmsea", "srmr", "aic", "bic"]


@pytest.fixture(scope="module")
def hs():
    return pd.read_csv(HERE / "data" / "holzinger_swineford_1939.csv")


def compare(fit, case, tol=1e-5):
    """Max differences of estimates, SEs and fit measures to lavaan's."""
    ours = fit.estimates.copy()
    if "group" not in case["estimates"][0]:
        ours = ours[ours["group"] == 1]
    index = {
        (r.lhs, r.op, r.rhs, int(r.group)): (r.est, r.se) for r in ours.itertuples(index=False)
    }
    assert len(index) == len(case["estimates"])
    worst_est = worst_se = 0.0
    for r in case["estimates"]:
        est, se = index[(r["lhs"], r["op"], r["rhs"], int(r.get("group", 1)))]
        worst_est = max(worst_est, abs(est - r["est"]))
        worst_se = max(worst_se, abs(se - r["se"]))
    assert worst_est < tol and worst_se < tol, (worst_est, worst_se)
    fm = fit.fit_measures()
    assert fm["npar"] == case["fit"]["npar"] and fm["df"] == case["fit"]["df"]
    for k in FIT_KEYS:
        assert fm[k] == pytest.approx(case["fit"][k], rel=1e-6, abs=1e-6), k


@pytest.mark.parametrize(
    "name, equal, partial",
    [
        ("hs_scalar_partial", ["loadings", "intercepts"], ["x3~1", "x7 ~ 1"]),
        ("hs_metric_partial_loading", ["loadings"], ["visual =~ x3"]),
        ("hs_strict_partial_residual", ["loadings", "intercepts", "residuals"], ["x3~1", "x1~~x1"]),
    ],
)
def test_group_partial_matches_lavaan(hs, name, equal, partial):
    fit = cfa(HS_MODEL, hs, group="school", group_equal=equal, group_partial=partial)
    compare(fit, CASES[name])
    est = fit.estimates
    released = est[(est["lhs"] == "x3") & (est["op"] == "~1")]
    if "intercepts" in equal:
        assert released["est"].iat[0] != pytest.approx(released["est"].iat[1])


def test_invariance_passes_group_partial(hs):
    res = invariance(
        HS_MODEL,
        hs,
        group="school",
        levels=("configural", "scalar"),
        group_partial=["x3~1", "x7~1"],
    )
    compare(res.fits["scalar"], CASES["hs_scalar_partial"])
    assert res.table["df"].tolist()[1] == CASES["hs_scalar_partial"]["fit"]["df"]


def test_group_partial_errors(hs):
    with pytest.raises(ValueError, match="not in the model"):
        cfa(HS_MODEL, hs, group="school", group_equal=["loadings"], group_partial=["x10~1"])
    with pytest.raises(ValueError, match="not a parameter"):
        cfa(HS_MODEL, hs, group="school", group_equal=["loadings"], group_partial=["x3"])
    with pytest.raises(ValueError, match="give group_equal"):
        cfa(HS_MODEL, hs, group="school", group_partial=["x3~1"])


def test_cli_group_partial(tmp_path):
    model = tmp_path / "m.lav"
    model.write_text(HS_MODEL, encoding="utf-8")
    cmd = [
        sys.executable,
        "-m",
        "psychometrics",
        "invariance",
        "--data",
        str(HERE / "data" / "holzinger_swineford_1939.csv"),
        "--model",
        str(model),
        "--group",
        "school",
        "--group-partial",
        "x3~1,x7~1",
        "--json",
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=HERE.parent.parent)
    assert proc.returncode == 0, proc.stderr
    table = json.loads(proc.stdout)["result"]["table"]
    scalar = [row for row in table if row["level"] == "scalar"][0]
    assert scalar["df"] == CASES["hs_scalar_partial"]["fit"]["df"]
    assert np.isclose(scalar["chisq"], CASES["hs_scalar_partial"]["fit"]["chisq"], rtol=1e-6)
