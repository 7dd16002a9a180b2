"""psychometrics.reliability and psychometrics.keying against R.

Reference values: tests/psychometrics/expected/reliability_oracles.json, written by
tests/psychometrics/r/generate_reliability_oracles.R (R 4.2.2, psych 2.2.9, lavaan 0.6-14,
semTools 0.5.6), plus the Cronbach's alphas of /work/shared/oracles/holzinger_swineford_lavaan.json
copied below.
"""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pingouin
import pytest

from psychometrics.keying import ScaleKey, reverse_key
from psychometrics.reliability import (
    cronbach_alpha,
    feldt_interval,
    intraclass_corr,
    omega_total,
    split_half,
)

HERE = Path(__file__).parent
ALPHA_TOL = 1e-10  # the brief asks for 1e-6; closed form, so we hold it to rounding error
OMEGA_TOL = 1e-6  # iterative CFA fit; observed agreement with lavaan is about 3e-7
HS_SCALES = {
    "visual": ["x1", "x2", "x3"],
    "textual": ["x4", "x5", "x6"],
    "speed": ["x7", "x8", "x9"],
}

# psych::alpha per factor of the Holzinger-Swineford three-factor model, from the shared reference
# holzinger_swineford_lavaan.json ("alpha"), R 4.2.2 / psych 2.2.9, rounded to 8 decimals there.
SHARED_ALPHA = {"visual": 0.62611713, "textual": 0.88270691, "speed": 0.68845502}


@pytest.fixture(scope="module")
def oracle():
    with open(HERE / "expected" / "reliability_oracles.json", encoding="utf-8") as fh:
        return json.load(fh)


@pytest.fixture(scope="module")
def hs():
    return pd.read_csv(HERE / "data" / "holzinger_swineford_1939.csv")


@pytest.fixture(scope="module")
def likert():
    raw = pd.read_csv(HERE / "data" / "reliability_likert_sim.csv")
    return reverse_key(raw, ["a3", "a6"], low=1, high=5)


def _check_alpha(res, expected):
    assert res.alpha == pytest.approx(expected["raw_alpha"], abs=ALPHA_TOL)
    assert res.std_alpha == pytest.approx(expected["std_alpha"], abs=ALPHA_TOL)
    assert res.average_r == pytest.approx(expected["average_r"], abs=ALPHA_TOL)
    assert res.ci_lower == pytest.approx(expected["feldt_lower"], abs=ALPHA_TOL)
    assert res.ci_upper == pytest.approx(expected["feldt_upper"], abs=ALPHA_TOL)
    for item, value in expected["r_drop"].items():
        assert res.items.loc[item, "r_drop"] == pytest.approx(value, abs=ALPHA_TOL)
    for item, value in expected["alpha_drop"].items():
        assert res.items.loc[item, "alpha_if_deleted"] == pytest.approx(value, abs=ALPHA_TOL)
    for item, value in expected["std_alpha_drop"].items():
        assert res.items.loc[item, "std_alpha_if_deleted"] == pytest.approx(value, abs=ALPHA_TOL)


@pytest.mark.parametrize("scale", list(HS_SCALES))
def test_alpha_holzinger_swineford_matches_psych(oracle, hs, scale):
    expected = oracle["holzinger_swineford"][scale]["alpha_pairwise"]
    res = cronbach_alpha(hs, HS_SCALES[scale])
    _check_alpha(res, expected)
    assert res.n == expected["n_rows"] == 301
    assert res.alpha == pytest.approx(SHARED_ALPHA[scale], abs=1e-8)


@pytest.mark.parametrize("scale", ["a", "b"])
@pytest.mark.parametrize("missing", ["pairwise", "listwise"])
def test_alpha_with_missing_values_matches_psych(oracle, likert, scale, missing):
    entry = oracle["likert_sim"][scale]
    expected = entry[f"alpha_{missing}"]
    res = cronbach_alpha(likert, entry["items"], missing=missing)
    _check_alpha(res, expected)
    assert res.n == expected["n_rows"]
    assert res.missing == missing


@pytest.mark.parametrize("missing", ["pairwise", "listwise"])
def test_alpha_agrees_with_pingouin(likert, missing):
    items = [f"b{i}" for i in range(1, 6)]
    ours = cronbach_alpha(likert, items, missing=missing)
    theirs, _ = pingouin.cronbach_alpha(likert[items], nan_policy=missing)
    assert ours.alpha == pytest.approx(theirs, abs=1e-12)


def test_feldt_interval_agrees_with_pingouin_on_complete_data(hs):
    # pingouin 0.7 rounds the interval to 3 decimals and, with missing values, uses the number
    # of rows *before* listwise deletion; so compare on complete data only.
    ours = cronbach_alpha(hs, HS_SCALES["speed"])
    _, ci = pingouin.cronbach_alpha(hs[HS_SCALES["speed"]])
    assert [ours.ci_lower, ours.ci_upper] == pytest.approx(list(ci), abs=6e-4)


def test_feldt_interval_widens_with_level():
    narrow = feldt_interval(0.8, 200, 6, level=0.9)
    wide = feldt_interval(0.8, 200, 6, level=0.99)
    assert wide[0] < narrow[0] < 0.8 < narrow[1] < wide[1]
    with pytest.raises(ValueError, match="between 0 and 1"):
        feldt_interval(0.8, 200, 6, level=95)


def test_alpha_to_dict_is_json_ready(hs):
    d = cronbach_alpha(hs, HS_SCALES["visual"]).to_dict()
    json.dumps(d, allow_nan=False)
    assert d["ci"]["method"].startswith("Feldt")
    assert set(d["items"]) == {"x1", "x2", "x3"}


def test_two_item_alpha_has_no_alpha_if_deleted(hs):
    res = cronbach_alpha(hs, ["x1", "x2"])
    assert np.isnan(res.items["alpha_if_deleted"]).all()
    assert json.loads(json.dumps(res.to_dict()))["items"]["x1"]["alpha_if_deleted"] is None


@pytest.mark.parametrize("dataset", ["holzinger_swineford", "likert_sim"])
def test_split_half_matches_r(oracle, hs, likert, dataset):
    data = hs if dataset == "holzinger_swineford" else likert
    for entry in oracle[dataset].values():
        expected = entry["split_half"]
        res = split_half(data, entry["items"])
        assert res.n == expected["n"]
        assert res.r_halves == pytest.approx(expected["r_halves"], abs=ALPHA_TOL)
        assert res.spearman_brown == pytest.approx(expected["spearman_brown"], abs=ALPHA_TOL)


def test_split_half_pairwise_uses_all_rows(likert):
    items = [f"a{i}" for i in range(1, 7)]
    res = split_half(likert, items, missing="pairwise")
    assert res.n == 400
    assert res.odd_items == ("a1", "a3", "a5")
    assert 0 < res.spearman_brown < 1
    # with equal half variances the Guttman and Spearman-Brown values coincide
    assert abs(res.guttman_split_half - res.spearman_brown) < 0.02


def test_icc_matches_psych(oracle):
    data = pd.read_csv(HERE / "data" / "reliability_retest_sim.csv")
    res = intraclass_corr(data, ["t1", "t2"])
    assert (res.n, res.k) == (120, 2)
    for kind, expected in oracle["icc_retest"].items():
        row = res.table.loc[kind]
        assert row["icc"] == pytest.approx(expected["icc"], abs=ALPHA_TOL), kind
        assert row["f"] == pytest.approx(expected["f"], rel=1e-12), kind
        assert (row["df1"], row["df2"]) == (expected["df1"], expected["df2"])
        assert row["p"] == pytest.approx(expected["p"], rel=1e-6), kind
        assert row["ci_lower"] == pytest.approx(expected["lower"], abs=ALPHA_TOL), kind
        assert row["ci_upper"] == pytest.approx(expected["upper"], abs=ALPHA_TOL), kind
    json.dumps(res.to_dict(), allow_nan=False)


def test_icc_drops_incomplete_participants():
    data = pd.DataFrame({"t1": [1.0, 2, 3, 4, 5, np.nan], "t2": [1.5, 2, 3.5, 4, 6, 3]})
    assert intraclass_corr(data).n == 5


# --------------------------------------------------------------------------- omega (CFA engine)


@pytest.mark.parametrize("dataset", ["holzinger_swineford", "likert_sim"])
def test_omega_matches_lavaan_semtools(oracle, hs, likert, dataset):
    data = hs if dataset == "holzinger_swineford" else likert
    for name, entry in oracle[dataset].items():
        expected = entry["omega"]
        res = omega_total(data, entry["items"])
        assert res.n == expected["n"], name
        for item in entry["items"]:
            assert res.loadings.loc[item, "loading"] == pytest.approx(
                expected["loadings"][item], abs=OMEGA_TOL
            )
        assert res.omega == pytest.approx(expected["compRelSEM_obs_var_false"], abs=OMEGA_TOL)
        assert res.omega == pytest.approx(expected["omega_model_implied"], abs=OMEGA_TOL)
        assert res.omega_observed == pytest.approx(
            expected["compRelSEM_obs_var_true"], abs=OMEGA_TOL
        )
        json.dumps(res.to_dict(), allow_nan=False)


@pytest.mark.parametrize("scale", ["a", "b"])
def test_omega_fiml_matches_lavaan(oracle, likert, scale):
    entry = oracle["likert_sim"][scale]
    expected = entry["omega_fiml"]
    res = omega_total(likert, entry["items"], missing="ml")
    assert res.n == expected["n"] == 400
    assert res.missing == "ml"
    assert res.omega == pytest.approx(expected["compRelSEM_obs_var_false"], abs=OMEGA_TOL)
    assert np.isnan(res.omega_observed)
    assert json.loads(json.dumps(res.to_dict()))["omega_observed"] is None


def test_omega_needs_identifier_names():
    df = pd.DataFrame(np.ones((5, 3)), columns=["a b", "c", "d"])
    with pytest.raises(ValueError, match="identifiers"):
        omega_total(df)


# --------------------------------------------------------------------------- errors and keying
@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda d: cronbach_alpha(d, ["a"]), "at least 2 items"),
        (lambda d: cronbach_alpha(d, ["a", "zz"]), "not in the data"),
        (lambda d: cronbach_alpha(d, ["a", "txt"]), "not numeric"),
        (lambda d: cronbach_alpha(d, ["a", "b"], missing="mean"), "missing must be"),
        (lambda d: cronbach_alpha(d, ["a", "const"]), "no variance"),
        (lambda d: cronbach_alpha(d.head(2), ["a", "b"]), "at least 3 rows"),
        (lambda d: split_half(d, ["a", "b"], missing="ml"), "missing must be"),
        (lambda d: omega_total(d, ["a", "b"]), "at least 3 items"),
        (lambda d: omega_total(d, ["a", "b", "c"], missing="pairwise"), "missing must be"),
        (lambda d: intraclass_corr(d, ["a", "b"], missing="pairwise"), "missing must be"),
        (lambda d: intraclass_corr(d, ["a", "b"], ci=1.5), "between 0 and 1"),
        (lambda d: intraclass_corr(d, ["a", "a2"]), "agree perfectly"),
    ],
)
def test_bad_input_raises_value_error(call, message):
    d = pd.DataFrame(
        {
            "a": [1.0, 2, 3, 4, 5],
            "a2": [1.0, 2, 3, 4, 5],
            "b": [2.0, 1, 4, 3, 5],
            "c": [1.0, 3, 2, 5, 4],
            "const": [3.0] * 5,
            "txt": list("vwxyz"),
        }
    )
    with pytest.raises(ValueError, match=message):
        call(d)


def test_scale_key_parse():
    key = ScaleKey.parse(" mood = m1, -m2 ,m3 ")
    assert key == ScaleKey("mood", ("m1", "m2", "m3"), ("m2",))
    assert key.to_dict() == {"name": "mood", "items": ["m1", "m2", "m3"], "reverse": ["m2"]}
    for bad in ("m1,m2", "=m1", "mood=", "mood=m1,-", "mood=m1,m1"):
        with pytest.raises(ValueError):
            ScaleKey.parse(bad)


def test_reverse_key_uses_the_response_range_not_the_observed_one():
    df = pd.DataFrame({"q": [2.0, 3.0, np.nan], "r": [1.0, 1.0, 1.0]})
    out = reverse_key(df, ["q"], low=1, high=5)
    assert out["q"].tolist()[:2] == [4.0, 3.0]
    assert np.isnan(out["q"].iloc[2])
    assert out["r"].tolist() == [1.0, 1.0, 1.0]
    assert df["q"].tolist()[:2] == [2.0, 3.0]  # input untouched
    with pytest.raises(ValueError, match="outside the response range"):
        reverse_key(df, ["q"], low=1, high=2)
    with pytest.raises(ValueError, match="not in the data"):
        reverse_key(df, ["zz"], low=1, high=5)
    with pytest.raises(ValueError, match="low < high"):
        reverse_key(df, ["q"], low=5, high=1)
