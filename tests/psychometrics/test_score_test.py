"""Score tests for releasing equality constraints against lavaan 0.6-14's lavTestScore(fit,
epc = TRUE) (expected/constraints/ from generate_constraints.R): shared labels, '==' (simple and
linear with constants) and group_equal (with group_partial)."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from psychometrics.cfa import cfa, score_test

HERE = Path(__file__).parent
CASES = json.loads(
    (HERE / "expected" / "constraints" / "constraints_oracles.json").read_text(encoding="utf-8")
)["cases"]
HS_CSV = HERE / "data" / "holzinger_swineford_1939.csv"
SIM_CSV = HERE / "expected" / "constraints" / "sim_constraints.csv"
SCALAR = {"group": "school", "group_equal": ["loadings", "intercepts"]}
FITS = {
    "hs_eq_simple": (HS_CSV, {}),
    "hs_eq_times": (HS_CSV, {}),
    "hs_eq_sum": (HS_CSV, {}),
    "hs_eq_diff": (HS_CSV, {}),
    "sim_eq_groups": (SIM_CSV, {"group": "g", "group_equal": ["intercepts"]}),
    "hs_scalar": (HS_CSV, SCALAR),
    "hs_scalar_partial": (HS_CSV, {**SCALAR, "group_partial": ["x3~1", "x7~1"]}),
    "hs_metric_labels": (HS_CSV, {"group": "school", "group_equal": ["loadings"]}),
}


@pytest.mark.parametrize("name", list(FITS))
def test_score_test_matches_lavaan(name):
    path, kwargs = FITS[name]
    case = CASES[name]
    fit = cfa(case["model"], pd.read_csv(path), **kwargs)
    res = score_test(fit, epc=True)
    ref = case["score"]
    uni = res.uni
    assert list(zip(uni["lhs"], uni["op"], uni["rhs"], strict=True)) == [
        (r["lhs"], r["op"], r["rhs"]) for r in ref["uni"]
    ]
    # The statistics inherit the ~1e-6 differences of the estimates (relative ~1e-6).
    np.testing.assert_allclose(uni["X2"], [r["X2"] for r in ref["uni"]], rtol=2e-5, atol=1e-5)
    np.testing.assert_allclose(uni["pvalue"], [r["p.value"] for r in ref["uni"]], atol=1e-5)
    assert (uni["df"] == 1).all()
    total = res.test.iloc[0]
    assert total["df"] == ref["test"][0]["df"]
    assert total["X2"] == pytest.approx(ref["test"][0]["X2"], rel=2e-6)
    assert total["pvalue"] == pytest.approx(ref["test"][0]["p.value"], abs=1e-5)
    epc = res.epc
    assert len(epc) == len(ref["epc"])
    expected = np.array([np.nan if r.get("epc") is None else r["epc"] for r in ref["epc"]])
    np.testing.assert_array_equal(np.isnan(epc["epc"]), np.isnan(expected))
    np.testing.assert_allclose(epc["epc"], expected, atol=2e-5)
    epv = np.array([np.nan if r.get("epv") is None else r["epv"] for r in ref["epc"]])
    np.testing.assert_allclose(epc["epv"].where(~np.isnan(expected)), epv, atol=2e-5)


def test_readable_names_and_method():
    fit = cfa(CASES["hs_scalar"]["model"], pd.read_csv(HS_CSV), **SCALAR)
    res = fit.score_test()
    assert res.uni["constraint"].iat[0] == "visual=~x2 [Pasteur] == visual=~x2 [Grant-White]"
    assert "x7~1 [Pasteur] == x7~1 [Grant-White]" in set(res.uni["constraint"])
    assert res.epc is None
    assert set(res.to_dict()) == {"test", "uni"}
    single = cfa(CASES["hs_eq_times"]["model"], pd.read_csv(HS_CSV)).score_test()
    assert single.uni["constraint"].tolist() == ["b == 2*c"]


def test_score_test_refuses_what_it_does_not_handle():
    hs = pd.read_csv(HS_CSV)
    plain = "visual =~ x1 + x2 + x3\ntextual =~ x4 + x5 + x6"
    with pytest.raises(ValueError, match="no equality constraints"):
        score_test(cfa(plain, hs))
    with pytest.raises(ValueError, match="inequality"):
        score_test(cfa("visual =~ x1 + a*x2 + a*x3\ntextual =~ x4 + x5 + x6\na > 0", hs))
    with pytest.raises(ValueError, match="estimator 'ML'"):
        score_test(cfa(plain, hs, group="school", group_equal=["loadings"], estimator="MLR"))


def test_cli_score_test(tmp_path):
    model = tmp_path / "m.lav"
    model.write_text(CASES["hs_eq_simple"]["model"], encoding="utf-8")
    cmd = [sys.executable, "-m", "psychometrics", "cfa", "--data", str(HS_CSV)]
    cmd += ["--model", str(model), "--score-test", "--json"]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=HERE.parent.parent)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)["result"]["score_test"]
    ref = CASES["hs_eq_simple"]["score"]
    assert [r["rhs"] for r in out["uni"]] == ["c", ".p3."]
    assert out["test"][0]["X2"] == pytest.approx(ref["test"][0]["X2"], rel=1e-5)
    assert "epc" in out


def test_release_subset_matches_lavaan():
    case = CASES["hs_scalar"]
    fit = cfa(case["model"], pd.read_csv(HS_CSV), **SCALAR)
    ref = case["score_release"]
    res = fit.score_test(release=ref["release"])
    assert res.test["df"].iat[0] == ref["test"][0]["df"] == 3
    assert res.test["X2"].iat[0] == pytest.approx(ref["test"][0]["X2"], rel=2e-6)
    assert res.uni["rhs"].tolist() == [r["rhs"] for r in ref["uni"]]
    np.testing.assert_allclose(res.uni["X2"], [r["X2"] for r in ref["uni"]], rtol=2e-5)
    with pytest.raises(ValueError, match="between 1 and 15"):
        fit.score_test(release=[16])


def test_cli_invariance_score_test(tmp_path):
    model = tmp_path / "m.lav"
    model.write_text(CASES["hs_scalar"]["model"], encoding="utf-8")
    cmd = [sys.executable, "-m", "psychometrics", "invariance", "--data", str(HS_CSV)]
    cmd += ["--model", str(model), "--group", "school", "--score-test", "--json"]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=HERE.parent.parent)
    assert proc.returncode == 0, proc.stderr
    fits = json.loads(proc.stdout)["result"]["fits"]
    assert "score_test" not in fits["configural"]
    scalar = fits["scalar"]["score_test"]
    ref = CASES["hs_scalar"]["score"]
    assert scalar["test"][0]["X2"] == pytest.approx(ref["test"][0]["X2"], rel=2e-6)
    assert [r["rhs"] for r in scalar["uni"]] == [r["rhs"] for r in ref["uni"]]
    assert fits["strict"]["score_test"]["test"][0]["df"] == 24
