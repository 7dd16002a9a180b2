"""The test-retest section: ICC(A,1) against pingouin, SEM and SDC by their formulas, the
stratified alpha by hand, and the simulated study's ICCs against its stabilities."""

from __future__ import annotations

import json
import math
import warnings

import numpy as np
import pandas as pd
import pingouin
import pytest

from survey.services.validation import retest
from tests.survey.validation import longitudinal_study

TOL = 1e-6


def _pingouin_icc(pair: pd.DataFrame) -> pd.Series:
    long = pair.reset_index(names="participant").melt(
        id_vars="participant", var_name="wave", value_name="score"
    )
    with warnings.catch_warnings():
        # pingouin 0.5 calls DataFrame.dropna(inplace=True), deprecated in pandas 3.1
        warnings.simplefilter("ignore", pd.errors.Pandas4Warning)
        table = pingouin.intraclass_corr(long, "participant", "wave", "score")
    return table.set_index("Type").loc["ICC(A,1)"]


def _pair(data, code: str, first: str, second: str) -> pd.DataFrame:
    scores = data.instruments[0].scores[code].unstack("wave")
    return scores[[first, second]].dropna()


@pytest.fixture(scope="module")
def section(simulated_data):
    return retest.test_retest(simulated_data, simulated_data.instruments[0])


def test_shape_and_json(section, simulated_data):
    assert section["available"] is True
    assert section["waves"] == ["baseline", "week-4", "week-8"]
    assert [(p["from"], p["to"]) for p in section["pairs"]] == [
        ("baseline", "week-4"),
        ("week-4", "week-8"),
    ]
    definition = simulated_data.instruments[0].definition
    for pair in section["pairs"]:
        assert [e["code"] for e in pair["constructs"]] == [c.code for c in definition.constructs]
        assert [e["code"] for e in pair["subconstructs"]] == [
            s.code for s in definition.subconstructs
        ]
        assert {e["construct"] for e in pair["subconstructs"]} == {
            c.code for c in definition.constructs
        }
    assert section["notes"] and any("stability" in note for note in section["notes"])
    assert section["warnings"] == []  # 275 or more participants per pair
    json.dumps(section, allow_nan=False)


def test_icc_equals_pingouin_and_sem_sdc_follow_de_vet(section, simulated_data):
    for pair in section["pairs"]:
        for entry in pair["constructs"] + pair["subconstructs"][:6]:
            both = _pair(simulated_data, entry["code"], pair["from"], pair["to"])
            ref = _pingouin_icc(both)
            assert entry["n"] == len(both)
            assert entry["icc"] == pytest.approx(ref["ICC"], abs=TOL)
            assert entry["f"] == pytest.approx(ref["F"], abs=TOL)
            assert entry["p"] == pytest.approx(ref["pval"], abs=TOL)
            # pingouin rounds its interval to two decimals
            assert entry["ci"]["lower"] == pytest.approx(ref["CI95"][0], abs=0.005 + 1e-12)
            assert entry["ci"]["upper"] == pytest.approx(ref["CI95"][1], abs=0.005 + 1e-12)
            sd = math.sqrt((np.var(both.iloc[:, 0], ddof=1) + np.var(both.iloc[:, 1], ddof=1)) / 2)
            assert entry["sd_pooled"] == pytest.approx(sd, abs=1e-12)
            assert entry["sem"] == pytest.approx(sd * math.sqrt(1 - ref["ICC"]), abs=TOL)
            assert entry["sdc"] == pytest.approx(1.96 * math.sqrt(2) * entry["sem"], abs=1e-12)
            assert entry["sdc_group"] == pytest.approx(entry["sdc"] / math.sqrt(len(both)))
            assert entry["mean_change"] == pytest.approx(
                (both.iloc[:, 1] - both.iloc[:, 0]).mean(), abs=1e-12
            )
            assert entry["rating"] == ("sufficient" if entry["icc"] >= 0.70 else "insufficient")


def test_simulated_iccs_against_the_simulated_stabilities(section, simulated_truth):
    """The simulation's construct factors are AR(1) with stability 0.7; observed scores add
    measurement error, so their ICC is about 0.7 times their reliability. On this study
    (seed 7) the construct ICCs run 0.49 to 0.63 (mean 0.55) and, corrected for attenuation
    with stratified alpha, 0.62 to 0.82 (mean 0.71): within 0.15 each, 0.03 on average."""
    stabilities = simulated_truth["stabilities"]
    raw, corrected = [], []
    for pair in section["pairs"]:
        for entry in pair["constructs"]:
            truth = stabilities[entry["code"]]
            raw.append(entry["icc"])
            corrected.append(entry["icc_disattenuated"])
            assert 0.40 < entry["icc"] < truth  # attenuated by measurement error
            assert entry["icc_disattenuated"] == pytest.approx(truth, abs=0.15)
            expected = truth * math.sqrt(entry["reliability"]["from"] * entry["reliability"]["to"])
            assert entry["icc"] == pytest.approx(expected, abs=0.10)
    assert np.mean(corrected) == pytest.approx(0.7, abs=0.03)
    assert np.mean(raw) == pytest.approx(0.55, abs=0.03)


def test_reliability_is_alpha_and_stratified_alpha_on_the_same_participants(simulated_data):
    data, instrument = simulated_data, simulated_data.instruments[0]
    section = retest.test_retest(data, instrument)
    pair = section["pairs"][0]
    keyed = instrument.keyed.xs("baseline", level="wave")
    scores = instrument.scores.xs("baseline", level="wave")
    construct = instrument.definition.construct("UT")  # UT_LAP enters reflected
    both = _pair(data, "UT", "baseline", "week-4").index
    parts, variance_error = [], 0.0
    for sub in construct.subconstructs:
        alpha = pingouin.cronbach_alpha(keyed.loc[both, [i.id for i in sub.items]].dropna())[0]
        part = scores.loc[both, sub.code] * (-1 if sub.reverse else 1)
        variance_error += part.var(ddof=1) * (1 - alpha)
        parts.append(part)
    stratified = 1 - variance_error / pd.concat(parts, axis=1).sum(axis=1).var(ddof=1)
    entry = next(e for e in pair["constructs"] if e["code"] == "UT")
    assert entry["reliability"]["from"] == pytest.approx(stratified, abs=1e-10)
    sub_entry = next(e for e in pair["subconstructs"] if e["code"] == "UT_LAP")
    sub_both = _pair(data, "UT_LAP", "baseline", "week-4").index
    items = [i.id for i in instrument.definition.subconstruct("UT_LAP").items]
    alpha = pingouin.cronbach_alpha(keyed.loc[sub_both, items].dropna())[0]
    assert sub_entry["reliability"]["from"] == pytest.approx(alpha, abs=1e-10)
    assert sub_entry["icc_disattenuated"] == pytest.approx(
        sub_entry["icc"] / math.sqrt(alpha * sub_entry["reliability"]["to"]), abs=1e-12
    )


def test_one_wave_is_not_available():
    raw = longitudinal_study.answers(20, ["baseline"], seed=1)
    data, instrument = longitudinal_study.study(raw, ["baseline", "week-4"])
    section = retest.test_retest(data, instrument)
    assert section["available"] is False
    assert "two waves" in section["reason"] and section["waves"] == ["baseline"]
    selected = longitudinal_study.answers(20, ["baseline", "week-4"], seed=1).xs(
        "week-4", level="wave", drop_level=False
    )
    data, instrument = longitudinal_study.study(selected, ["week-4"], wave="week-4")
    section = retest.test_retest(data, instrument)
    assert section["available"] is False and "restricted to wave 'week-4'" in section["reason"]
    json.dumps(section, allow_nan=False)


def test_handmade_pairs_leave_out_missing_and_skip_empty_waves():
    waves = ["baseline", "week-4", "week-8", "week-12"]
    raw = longitudinal_study.answers(60, waves[:3], seed=2, stability=0.9)
    # P000001 misses week-4; P000002 answered too little of A_X at baseline (no A_X, no A)
    raw = raw.drop(index=("P000001", "week-4"))
    raw.loc[("P000002", "baseline"), ["A_X_1", "A_X_2"]] = np.nan
    data, instrument = longitudinal_study.study(raw, waves)
    section = retest.test_retest(data, instrument)
    assert section["waves"] == waves[:3]  # week-12 has no sessions
    first, second = section["pairs"]
    by_code = {e["code"]: e for e in first["constructs"] + first["subconstructs"]}
    assert by_code["B"]["n"] == 59 and by_code["B_X"]["n"] == 59
    assert by_code["A"]["n"] == 58 and by_code["A_X"]["n"] == 58 and by_code["A_Y"]["n"] == 59
    assert {e["n"] for e in second["constructs"]} == {59}
    # B has one subconstruct: stratified alpha is its alpha
    assert by_code["B"]["reliability"]["from"] == pytest.approx(
        by_code["B_X"]["reliability"]["from"], abs=1e-12
    )
    assert by_code["B"]["icc"] > 0.7 and by_code["B"]["rating"] == "sufficient"
    # 59 and 58 participants: no sample-size warning
    assert section["warnings"] == []


def test_small_pairs_warn_and_no_icc_is_indeterminate():
    raw = longitudinal_study.answers(12, ["baseline", "week-4"], seed=3)
    keep = [p for p in raw.index if not (p[1] == "week-4" and p[0] > "P000002")]
    data, instrument = longitudinal_study.study(raw.loc[keep], ["baseline", "week-4"])
    section = retest.test_retest(data, instrument)
    entry = section["pairs"][0]["constructs"][0]
    assert entry["n"] == 2
    assert entry["icc"] is None and entry["rating"] == "indeterminate"
    assert "no ICC" in entry["error"]
    assert entry["ci"] == {"lower": None, "upper": None, "level": 0.95}
    assert any("fewer than 50" in w for w in section["warnings"])
    assert any("no ICC" in w for w in section["warnings"])
    json.dumps(section, allow_nan=False)


def test_a_shift_lowers_agreement_but_not_consistency():
    raw = longitudinal_study.answers(200, ["baseline", "week-4"], seed=4, stability=0.95, shift=0.6)
    data, instrument = longitudinal_study.study(raw, ["baseline", "week-4"])
    entry = retest.test_retest(data, instrument)["pairs"][0]["constructs"][1]  # B
    assert entry["mean_change"] > 0.3
    assert entry["icc_consistency"] - entry["icc"] > 0.05
