"""Explicit constraints '==', '<', '>' against lavaan 0.6-14 (expected/constraints/ from
generate_constraints.R): estimates, SEs, npar, df and fit measures."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from psychometrics.cfa import cfa
from psychometrics.syntax import ModelSyntaxError, parse_model

HERE = Path(__file__).parent
CASES = json.loads(
    (HERE / "expected" / "constraints" / "constraints_oracles.json").read_text(encoding="utf-8")
)["cases"]
FIT_KEYS = ["npar", "chisq", "df", "pvalue", "cfi", "tli", "rmsea", "srmr", "aic", "bic"]
DATA = {
    "hs_missing": HERE / "data" / "hs_missing.csv",
    "hs": HERE / "data" / "holzinger_swineford_1939.csv",
    "heywood": HERE / "data" / "heywood_sim.csv",
    "sim": HERE / "expected" / "constraints" / "sim_constraints.csv",
}


def data_for(name):
    key = next(k for k in DATA if name.startswith(k))
    return pd.read_csv(DATA[key])


def differences(fit, case):
    ours = fit.estimates
    if "group" not in case["estimates"][0]:
        ours = ours[ours["group"] == 1]
    index = {
        (r.lhs, r.op, r.rhs, int(r.group)): (r.est, r.se) for r in ours.itertuples(index=False)
    }
    assert len(index) == len(case["estimates"])
    d_est = d_se = 0.0
    for r in case["estimates"]:
        est, se = index[(r["lhs"], r["op"], r["rhs"], int(r.get("group", 1)))]
        d_est, d_se = max(d_est, abs(est - r["est"])), max(d_se, abs(se - r["se"]))
    return d_est, d_se


# lavaan's nlminb.constr (augmented Lagrangian) stops early with an active inequality: its F is
# larger than ours (by ~1e-9, chi-square ~1e-6 higher) on the same constraint surface, so those
# cases are compared at 1e-4 (the tolerance is 1e-3); all others at 1e-5 (the fit
# measures at relative 1e-5).
@pytest.mark.parametrize(
    "name, kwargs, tol",
    [
        ("hs_eq_simple", {}, 1e-5),
        ("hs_eq_times", {}, 1e-5),
        ("hs_eq_sum", {}, 1e-5),
        ("hs_eq_diff", {}, 1e-5),
        ("sim_eq_groups", {"group": "g", "group_equal": ["intercepts"]}, 1e-5),
        ("hs_missing_eq_times", {"missing": "ml"}, 1e-5),
        ("heywood_free", {}, 1e-5),
        ("heywood_positive", {}, 1e-5),
        ("heywood_bound", {}, 1e-5),
        ("hs_inactive", {}, 1e-5),
        # inactive, but lavaan's nlminb.constr still runs: its estimates are 3.8e-5 from its own
        # fit without the inequality (ours match that fit's chi-square to 1e-8)
        ("hs_groups_inequality", {"group": "school", "group_equal": ["intercepts"]}, 1e-4),
        ("hs_active_order", {}, 1e-4),
        ("hs_active_upper", {}, 1e-4),
    ],
)
def test_constraints_match_lavaan(name, kwargs, tol):
    case = CASES[name]
    fit = cfa(case["model"], data_for(name), **kwargs)
    assert fit.converged
    d_est, d_se = differences(fit, case)
    assert d_est < tol and d_se < tol, (d_est, d_se)
    fm = fit.fit_measures()
    assert fm["npar"] == case["fit"]["npar"] and fm["df"] == case["fit"]["df"]
    for k in FIT_KEYS:
        assert fm[k] == pytest.approx(case["fit"][k], rel=1e-5, abs=1e-5), k


def test_equalities_hold_and_active_bounds_have_zero_se():
    case = CASES["hs_eq_times"]
    est = cfa(case["model"], data_for("hs")).estimates.set_index("label")
    assert est.loc["b", "est"] == pytest.approx(2 * est.loc["c", "est"], abs=1e-12)
    fit = cfa(CASES["heywood_bound"]["model"], data_for("heywood"))
    row = fit.estimates[fit.estimates["label"] == "t1"].iloc[0]
    assert row["est"] == pytest.approx(0.1, abs=1e-12) and row["se"] == pytest.approx(0, abs=1e-9)
    assert fit.constraints.active == (0,)
    inactive = cfa(CASES["hs_inactive"]["model"], data_for("hs"))
    plain = cfa(CASES["hs_inactive"]["model"].rsplit("\nv1", 1)[0], data_for("hs"))
    assert inactive.constraints.active == ()
    np.testing.assert_allclose(inactive.estimates["est"], plain.estimates["est"], atol=1e-10)
    np.testing.assert_allclose(inactive.estimates["se"], plain.estimates["se"], atol=1e-10)


def test_parse_linear_constraints():
    m = parse_model("f =~ a*x1 + b*x2 + c*x3\na + b == 1\nl5 - 0.5*a == 0.1\nb < c/2\na > 0")
    assert [(c.lhs, c.op, c.rhs) for c in m.constraints] == [
        ("a+b", "==", "1"),
        ("l5-0.5*a", "==", "0.1"),
        ("b", "<", "c/2"),
        ("a", ">", "0"),
    ]
    assert m.constraints[1].terms == (("l5", 1.0), ("a", -0.5))
    assert m.constraints[1].constant == pytest.approx(-0.1)
    assert m.constraints[2].terms == (("b", 1.0), ("c", -0.5))


def test_constraint_errors():
    hs = data_for("hs")
    model = "visual =~ x1 + a*x2 + b*x3\ntextual =~ x4 + x5 + x6\n"
    with pytest.raises(ValueError, match="labels no parameter"):
        cfa(model + "a == z", hs)
    with pytest.raises(ValueError, match="estimator 'ML' only"):
        cfa(model + "a == b", hs, estimator="MLR")
    with pytest.raises(ValueError, match="redundant or contradict"):
        cfa(model + "a == b\n2*a == 2*b", hs)
    with pytest.raises(ModelSyntaxError, match="nonlinear"):
        cfa(model + "a == b^2", hs)


# As test_cfa.py's modification indices: rtol 1e-4; the active case inherits lavaan's early stop
# (estimates 2e-5 away), which moves its MIs by up to 2.4e-4 relative: rtol 1e-3 (the issue's).
@pytest.mark.parametrize("name, tol", [("hs_eq_times", 1e-4), ("hs_active_upper", 1e-3)])
def test_modification_indices_under_constraints(name, tol):
    case = CASES[name]
    mi = cfa(case["model"], data_for(name)).modification_indices(sort=False)
    ours = {(r.lhs, r.op, r.rhs): (r.mi, r.epc) for r in mi.itertuples(index=False)}
    ref = {(r["lhs"], r["op"], r["rhs"]): (r["mi"], r["epc"]) for r in case["modindices"]}
    assert set(ours) == set(ref)
    keys = sorted(ref)
    np.testing.assert_allclose(
        [ours[k][0] for k in keys], [ref[k][0] for k in keys], rtol=tol, atol=1e-4
    )
    np.testing.assert_allclose([ours[k][1] for k in keys], [ref[k][1] for k in keys], atol=tol)


def test_summary_lists_constraints():
    case = CASES["hs_active_upper"]
    text = cfa(case["model"], data_for("hs_active_upper")).summary()
    assert "Number of inequality constraints                   1" in text
    block = text.split("Constraints:\n", 1)[1].splitlines()
    assert block[0].strip() == "|Slack|"
    assert block[1].split() == ["0.4", "-", "(v1)", "0.000"]


def test_explicit_equality_equals_a_shared_label():
    """'a == b' and one shared label are the same model: everything must agree."""
    hs = data_for("hs")
    rest = "\ntextual =~ x4 + x5 + x6\nspeed =~ x7 + x8 + x9"
    label = cfa("visual =~ x1 + a*x2 + a*x3" + rest, hs)
    explicit = cfa("visual =~ x1 + a*x2 + b*x3" + rest + "\na == b", hs)
    cols = ["est", "se", "std_all", "se_std_all"]
    np.testing.assert_allclose(explicit.estimates[cols], label.estimates[cols], atol=1e-7)
    fm0, fm1 = label.fit_measures(), explicit.fit_measures()
    assert fm0["npar"] == fm1["npar"] and fm0["df"] == fm1["df"]
    assert fm1["chisq"] == pytest.approx(fm0["chisq"], rel=1e-9)
    mi0, mi1 = label.modification_indices(sort=False), explicit.modification_indices(sort=False)
    np.testing.assert_allclose(mi1[["mi", "epc"]], mi0[["mi", "epc"]], rtol=1e-6, atol=1e-8)
    from psychometrics.cfa import residual_correlations

    r0, r1 = residual_correlations(label), residual_correlations(explicit)
    np.testing.assert_allclose(r1.matrix.to_numpy(), r0.matrix.to_numpy(), atol=1e-7)
    np.testing.assert_allclose(r1.z.to_numpy(), r0.z.to_numpy(), rtol=1e-5, atol=1e-6)
    s0, s1 = label.score_test(), explicit.score_test()
    assert s1.test["X2"].iat[0] == pytest.approx(s0.test["X2"].iat[0], rel=1e-6)
