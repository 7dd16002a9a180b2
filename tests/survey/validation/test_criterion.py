"""The criterion-validity section: the aggregation rule by hand, correlations against scipy,
logistic models against statsmodels and sklearn, and the simulated dropout predictors."""

from __future__ import annotations

import json
from collections import defaultdict

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import stats
from sklearn.metrics import roc_auc_score

from survey.services.validation import criterion
from tests.survey.validation import longitudinal_study

TOL = 1e-6


@pytest.fixture(scope="module")
def section(simulated_data):
    return criterion.criterion_validity(simulated_data, simulated_data.instruments[0])


@pytest.fixture(scope="module")
def by_hand(simulated_data):
    """Per participant: messages_sent and active_weeks summed, dropped_out the maximum, over
    the rows of every wave, written as plain loops."""
    sums: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for row in simulated_data.outcomes.itertuples():
        if pd.isna(row.wave):
            continue
        for name in ("messages_sent", "active_weeks"):
            if not np.isnan(getattr(row, name)):
                sums[row.participant][name] += getattr(row, name)
        if not np.isnan(row.dropped_out):
            sums[row.participant]["dropped_out"] = max(
                sums[row.participant].get("dropped_out", 0.0), row.dropped_out
            )
    return pd.DataFrame.from_dict({p: dict(v) for p, v in sums.items()}, orient="index")


def _baseline(simulated_data, by_hand):
    """Baseline scores rounded as the section rounds them (equal means tie exactly), joined
    with the outcomes by hand."""
    scores = simulated_data.instruments[0].scores.xs("baseline", level="wave")
    return scores.round(criterion.SCORE_DECIMALS).join(by_hand)


def test_shape_and_json(section, simulated_data):
    assert section["available"] is True
    assert section["baseline_wave"] == "baseline"
    assert section["waves"] == ["baseline", "week-4", "week-8"]
    assert [o["name"] for o in section["outcomes"]] == [
        "messages_sent",
        "active_weeks",
        "dropped_out",
    ]
    definition = simulated_data.instruments[0].definition
    scores = len(definition.constructs) + len(definition.subconstructs)
    assert len(section["correlations"]) == 3 * scores
    # dropped_out is the only 0/1 outcome: one all-construct model and one per construct
    assert [m["predictors"] for m in section["logistic"]] == ["all"] + [
        c.code for c in definition.constructs
    ]
    assert set(section["predictors"]) == set(section["predictors_alone"]) == {"dropped_out"}
    assert any("age_group" in note for note in section["notes"])
    json.dumps(section, allow_nan=False)


def test_outcomes_are_aggregated_by_the_stated_rule(section, simulated_data, by_hand):
    rules = {o["name"]: o for o in section["outcomes"]}
    assert rules["messages_sent"]["rule"] == "summed over the analysed waves"
    assert rules["dropped_out"]["rule"] == "1 if 1 at any analysed wave, else 0"
    assert rules["dropped_out"]["binary"] and not rules["active_weeks"]["binary"]
    joined = _baseline(simulated_data, by_hand)
    assert rules["dropped_out"]["events"] == int(joined["dropped_out"].sum())
    # 400 at baseline, 293 at week 8: everyone else dropped out at some wave
    assert rules["dropped_out"]["events"] == 400 - 293
    assert rules["messages_sent"]["mean"] == pytest.approx(joined["messages_sent"].mean())
    values, _ = criterion.participant_outcomes(
        simulated_data.outcomes, ["messages_sent", "active_weeks", "dropped_out"], ("baseline",)
    )
    at_baseline = simulated_data.outcomes[simulated_data.outcomes["wave"] == "baseline"]
    assert (
        values["messages_sent"].to_dict()
        == at_baseline.set_index("participant")["messages_sent"].to_dict()
    )


def test_correlations_equal_scipy(section, simulated_data, by_hand):
    joined = _baseline(simulated_data, by_hand)
    checked = 0
    for entry in section["correlations"][::7]:
        pair = joined[[entry["code"], entry["outcome"]]].dropna()
        ref = stats.pearsonr(pair.iloc[:, 0], pair.iloc[:, 1])
        ci = ref.confidence_interval(0.95)
        assert entry["n"] == len(pair)
        assert entry["r"] == pytest.approx(ref.statistic, abs=TOL)
        assert entry["p"] == pytest.approx(ref.pvalue, abs=TOL)
        assert entry["ci"]["lower"] == pytest.approx(ci.low, abs=TOL)
        assert entry["ci"]["upper"] == pytest.approx(ci.high, abs=TOL)
        checked += 1
    assert checked >= 10


def _statsmodels(joined, codes):
    rows = joined[[*codes, "dropped_out"]].dropna()
    z = (rows[codes] - rows[codes].mean()) / rows[codes].std(ddof=1)
    fit = sm.Logit(rows["dropped_out"], sm.add_constant(z)).fit(disp=0, tol=1e-12)
    return rows, fit


def test_logistic_models_equal_statsmodels_and_sklearn(section, simulated_data, by_hand):
    joined = _baseline(simulated_data, by_hand)
    constructs = [c.code for c in simulated_data.instruments[0].definition.constructs]
    for model in section["logistic"][:3]:
        codes = constructs if model["predictors"] == "all" else [model["predictors"]]
        rows, ref = _statsmodels(joined, codes)
        ci = ref.conf_int(0.05)
        assert model["n"] == len(rows) and model["n_events"] == int(rows["dropped_out"].sum())
        for ratio in model["odds_ratios"]:
            code = ratio["code"]
            assert ratio["coef"] == pytest.approx(ref.params[code], abs=TOL)
            assert ratio["se"] == pytest.approx(ref.bse[code], abs=TOL)
            assert ratio["p"] == pytest.approx(ref.pvalues[code], abs=TOL)
            assert ratio["odds_ratio"] == pytest.approx(np.exp(ref.params[code]), rel=TOL)
            assert ratio["ci"]["lower"] == pytest.approx(np.exp(ci.loc[code, 0]), rel=TOL)
            assert ratio["ci"]["upper"] == pytest.approx(np.exp(ci.loc[code, 1]), rel=TOL)
        assert model["auc"] == pytest.approx(
            roc_auc_score(rows["dropped_out"], ref.predict()), abs=TOL
        )
        assert model["auc_ci"]["lower"] < model["auc"] < model["auc_ci"]["upper"]
        assert model["fit"]["loglik"] == pytest.approx(ref.llf, abs=TOL)
        assert model["fit"]["aic"] == pytest.approx(ref.aic, abs=TOL)


def test_the_simulated_drivers_of_dropout_come_out_as_predictors(section, simulated_truth):
    """The simulation's dropout is logistic on TA and SE (-0.5 per SD of the factor) and on
    nothing else. On this study both come out, and only they, in the all-construct model
    (OR per SD 0.73 and 0.76) and alone (0.74 and 0.76)."""
    model = simulated_truth["dropout_model"]
    drivers = {code for code, b in model["coefficients"].items() if b != 0}
    assert drivers == {"SE", "TA"}
    for found in (section["predictors"]["dropped_out"], section["predictors_alone"]["dropped_out"]):
        assert {entry["code"] for entry in found} == drivers
        for entry in found:
            sign = np.sign(model["coefficients"][entry["code"]])
            assert np.sign(entry["log_odds_ratio"]) == sign
            assert entry["ci"]["upper"] < 1
        logs = [abs(entry["log_odds_ratio"]) for entry in found]
        assert logs == sorted(logs, reverse=True)
    joint = section["logistic"][0]
    assert joint["predictors"] == "all" and 0.6 < joint["auc"] < 0.75


def test_no_outcomes_or_no_numeric_outcome_is_not_available():
    raw = longitudinal_study.answers(10, ["baseline"], seed=1)
    data, instrument = longitudinal_study.study(raw, ["baseline"])
    section = criterion.criterion_validity(data, instrument)
    assert section == {
        "available": False,
        "reason": "the study has no outcomes uploaded",
        "notes": ["Criterion validity not computed: the study has no outcomes uploaded."],
        "warnings": [],
    }
    frame = longitudinal_study.outcome_frame([("P000001", None, {})])
    frame["group"] = pd.Categorical(["a"])
    data, instrument = longitudinal_study.study(
        raw, ["baseline"], outcomes=frame, outcome_columns=(("group", "categorical"),)
    )
    section = criterion.criterion_validity(data, instrument)
    assert section["available"] is False and "no numeric column" in section["reason"]


def _tiny_outcomes():
    waves = ["baseline", "week-4", "week-8"]
    raw = longitudinal_study.answers(40, waves, seed=6)
    records = []
    for p in range(1, 41):
        code = f"P{p:06d}"
        dropped = 1.0 if p % 4 == 0 else 0.0
        records.append((code, None, {"score_card": float(p % 7), "mixed": float(p)}))
        records.append((code, "baseline", {"messages": 2.0, "dropped": dropped, "mixed": 0.5}))
        records.append((code, "week-4", {"messages": 3.0, "dropped": 0.0}))
        records.append((code, "week-8", {"messages": float(p), "dropped": 0.0}))
    # P000002 has no per-participant "mixed": its waves' values are summed (0.5)
    records[4] = ("P000002", None, {"score_card": 2.0})
    columns = (
        ("score_card", "numeric"),
        ("mixed", "numeric"),
        ("messages", "numeric"),
        ("dropped", "numeric"),
    )
    return raw, waves, longitudinal_study.outcome_frame(records), columns


def test_handmade_aggregation_rules():
    raw, waves, outcomes, columns = _tiny_outcomes()
    data, instrument = longitudinal_study.study(
        raw, waves, outcomes=outcomes, outcome_columns=columns
    )
    section = criterion.criterion_validity(data, instrument)
    rules = {o["name"]: o["rule"] for o in section["outcomes"]}
    assert rules == {
        "score_card": "per participant, as uploaded",
        "mixed": "the per-participant value where given, else summed over the analysed waves",
        "messages": "summed over the analysed waves",
        "dropped": "1 if 1 at any analysed wave, else 0",
    }
    values, _ = criterion.participant_outcomes(outcomes, [c for c, _ in columns], waves)
    assert values.loc["P000003", "messages"] == 2 + 3 + 3
    assert values.loc["P000004", "dropped"] == 1.0 and values.loc["P000003", "dropped"] == 0.0
    assert values.loc["P000003", "mixed"] == 3.0 and values.loc["P000002", "mixed"] == 0.5
    assert values.loc["P000005", "score_card"] == 5.0
    # a run restricted to week 4 aggregates week 4's rows only (and its scores are week 4's)
    restricted, _ = criterion.participant_outcomes(outcomes, ["messages"], ("week-4",))
    assert set(restricted["messages"]) == {3.0}
    week4 = raw.xs("week-4", level="wave", drop_level=False)
    data, instrument = longitudinal_study.study(
        week4, ["week-4"], wave="week-4", outcomes=outcomes, outcome_columns=columns
    )
    section = criterion.criterion_validity(data, instrument)
    assert section["baseline_wave"] == "week-4" and section["waves"] == ["week-4"]
    # dropped is 0 at every week-4 row: constant, no model, said in the entry and a warning
    model = section["logistic"][0]
    assert model["auc"] is None and "constant" in model["error"]
    assert any("not estimable" in w for w in section["warnings"])
    json.dumps(section, allow_nan=False)


def test_handmade_logistic_and_separation():
    raw, waves, outcomes, columns = _tiny_outcomes()
    scores = longitudinal_study.study(raw, waves)[1].scores.xs("baseline", level="wave")
    baseline = scores.round(criterion.SCORE_DECIMALS)
    # dropped = 1 exactly when B is above its median: B separates the outcome perfectly
    cut = baseline["B"].median()
    outcomes.loc[outcomes["wave"] == "baseline", "dropped"] = (
        outcomes.loc[outcomes["wave"] == "baseline", "participant"].map(baseline["B"]) > cut
    ).astype(float)
    data, instrument = longitudinal_study.study(
        raw, waves, outcomes=outcomes, outcome_columns=columns
    )
    section = criterion.criterion_validity(data, instrument)
    models = {m["predictors"]: m for m in section["logistic"]}
    assert models["B"]["error"].startswith("separation") and models["B"]["auc"] is None
    assert models["all"]["error"].startswith("separation")
    a = models["A"]
    rows = pd.DataFrame({"A": baseline["A"], "y": outcomes.groupby("participant")["dropped"].max()})
    rows = rows.dropna()
    z = (rows["A"] - rows["A"].mean()) / rows["A"].std(ddof=1)
    ref = sm.Logit(rows["y"], sm.add_constant(z.rename("A"))).fit(disp=0)
    assert a["odds_ratios"][0]["coef"] == pytest.approx(ref.params["A"], abs=TOL)
    assert a["auc"] == pytest.approx(roc_auc_score(rows["y"], ref.predict()), abs=TOL)
    assert section["predictors"]["dropped"] == []
    assert any("separation" in w for w in section["warnings"])
    json.dumps(section, allow_nan=False)
