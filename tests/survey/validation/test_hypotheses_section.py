"""The hypotheses-testing section: estimates against scipy and a hand Fisher-z interval, the
simulated study's dropout model met, a false hypothesis not met, and what cannot be tested."""

from __future__ import annotations

import dataclasses
import json
import math
from collections import defaultdict

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from survey.services import hypotheses as service
from survey.services.validation import cosmin, criterion
from survey.services.validation import hypotheses as section
from survey.services.validation.data import VersionInfo
from tests.survey.validation import longitudinal_study

TOL = 1e-10
# Written to match the simulation: TA and SE lower dropout and raise engagement; SE
# correlates .34 with TR and .23 with IP in the generating model.
MATCHING = (
    "TA correlates >= .10 with active_weeks",
    "TA correlates <= -.05 with dropped_out",
    "SE correlates negatively with dropped_out",
    "TA correlates positively with messages_sent",
    "SE correlates more with TR than with IP",
)
FALSE = "TA correlates <= -.30 with active_weeks"


def names_of(data) -> dict[str, str]:
    """The names known_names gives a one-instrument study, from the data alone."""
    definition = data.instruments[0].definition
    names = {c.code: service.SCORE for c in definition.constructs}
    names.update({s.code: service.SCORE for s in definition.subconstructs})
    names.update({n: service.OUTCOME for n, kind in data.outcome_columns if kind == "numeric"})
    return names


def stated(data, *texts: str) -> list[dict]:
    names = names_of(data)
    return [
        {
            "id": number,
            "text": text,
            "spec": service.parse_hypothesis(text, names=names),
            "stated_at": "2027-05-01T09:00:00+00:00",
        }
        for number, text in enumerate(texts, start=1)
    ]


@pytest.fixture(scope="module")
def result(simulated_data):
    return section.test_hypotheses(
        simulated_data, simulated_data.instruments[0], stated(simulated_data, *MATCHING, FALSE)
    )


@pytest.fixture(scope="module")
def joined(simulated_data):
    """Baseline scores joined with the outcomes summed (0/1 dropout: the maximum) over every
    wave per participant, by plain loops."""
    sums: dict[str, dict[str, float]] = defaultdict(dict)
    for row in simulated_data.outcomes.itertuples():
        if pd.isna(row.wave):
            continue
        for name in ("messages_sent", "active_weeks", "dropped_out"):
            value = getattr(row, name)
            if np.isnan(value):
                continue
            held = sums[row.participant].get(name, 0.0)
            sums[row.participant][name] = (
                max(held, value) if name == "dropped_out" else held + value
            )
    outcomes = pd.DataFrame.from_dict(dict(sums), orient="index")
    scores = simulated_data.instruments[0].scores.xs("baseline", level="wave")
    return scores.join(outcomes)


def fisher_ci(r: float, n: int) -> tuple[float, float]:
    half = 1.959963984540054 / math.sqrt(n - 3)
    return math.tanh(math.atanh(r) - half), math.tanh(math.atanh(r) + half)


def test_shape_counts_and_json(result):
    assert result["available"] is True
    assert result["wave"] == "baseline" and result["participants"] > 0
    assert [entry["id"] for entry in result["results"]] == list(range(1, 7))
    assert result["stated"] == result["tested"] == 6
    assert result["met"] == 5 and result["share_met"] == pytest.approx(5 / 6)
    assert result["criterion"] == "at least 75 % met (COSMIN)"
    assert result["notes"] and isinstance(result["warnings"], list)
    assert json.loads(json.dumps(result, allow_nan=False)) == result
    first = result["results"][0]
    assert first["stated_at"] == "2027-05-01T09:00:00+00:00"
    assert first["variables"] == ["TA", "active_weeks"] and first["kind"] == "correlation"


def test_hypotheses_matching_the_simulation_are_met_and_a_false_one_is_not(result):
    by_text = {entry["text"]: entry for entry in result["results"]}
    for text in MATCHING:
        assert by_text[text]["met"] is True, by_text[text]["result"]
        assert by_text[text]["result"].startswith("Met: ")
    false = by_text[FALSE]
    assert false["met"] is False and false["ci_verdict"] == "not met"
    assert false["result"].startswith("Not met: r(TA, active_weeks) = ")
    assert "expected ≤ -0.30" in false["result"]


@pytest.mark.parametrize(
    ("position", "outcome"), [(0, "active_weeks"), (1, "dropped_out"), (3, "messages_sent")]
)
def test_r_and_interval_equal_scipy_and_a_hand_fisher_interval(result, joined, position, outcome):
    (estimate,) = result["results"][position]["estimates"]
    pair = joined[["TA", outcome]].dropna()
    reference = stats.pearsonr(pair["TA"], pair[outcome])
    interval = reference.confidence_interval(0.95)
    lower, upper = fisher_ci(reference.statistic, len(pair))
    assert estimate["n"] == len(pair) == result["results"][position]["n"]
    assert estimate["r"] == pytest.approx(reference.statistic, abs=TOL)
    assert estimate["p"] == pytest.approx(reference.pvalue, abs=TOL)
    assert estimate["ci"]["lower"] == pytest.approx(interval.low, abs=TOL)
    assert estimate["ci"]["upper"] == pytest.approx(interval.high, abs=TOL)
    assert (estimate["ci"]["lower"], estimate["ci"]["upper"]) == pytest.approx(
        (lower, upper), abs=TOL
    )


def test_a_comparison_uses_the_rows_with_all_three_values(result, joined):
    entry = result["results"][4]
    rows = joined[["SE", "TR", "IP"]].dropna()
    more, than = entry["estimates"]
    assert (more["left"], more["right"], than["right"]) == ("SE", "TR", "IP")
    assert more["n"] == than["n"] == entry["n"] == len(rows)
    r_more = stats.pearsonr(rows["SE"], rows["TR"]).statistic
    r_than = stats.pearsonr(rows["SE"], rows["IP"]).statistic
    assert more["r"] == pytest.approx(r_more, abs=TOL)
    assert than["r"] == pytest.approx(r_than, abs=TOL)
    assert entry["difference"] == entry["estimate"] == pytest.approx(abs(r_more) - abs(r_than))
    assert entry["met"] is bool(abs(r_more) > abs(r_than))
    assert entry["ci_verdict"] is None and "is greater than" in entry["result"]


def test_the_same_r_as_the_criterion_section(simulated_data, result):
    correlations = criterion.criterion_validity(simulated_data, simulated_data.instruments[0])[
        "correlations"
    ]
    reference = next(c for c in correlations if c["code"] == "TA" and c["outcome"] == "dropped_out")
    (estimate,) = result["results"][1]["estimates"]
    assert estimate["n"] == reference["n"]
    assert estimate["r"] == pytest.approx(reference["r"], abs=1e-9)


@pytest.mark.parametrize(
    ("op", "offset", "met"),
    [(">=", -0.01, True), (">=", 0.01, False), (">", -0.01, True), ("<=", 0.01, True)]
    + [("<=", -0.01, False), ("<", 0.01, True), ("<", -0.01, False)],
)
def test_met_follows_the_point_estimate_for_every_operator(simulated_data, result, op, offset, met):
    r = result["results"][0]["estimate"]
    spec = {"kind": "correlation", "left": "TA", "right": "active_weeks", "op": op}
    hypothesis = {"id": 9, "text": "t", "spec": {**spec, "value": r + offset}, "stated_at": None}
    (entry,) = section.test_hypotheses(simulated_data, simulated_data.instruments[0], [hypothesis])[
        "results"
    ]
    assert entry["met"] is met
    # The interval (about +-0.09 wide) straddles a boundary 0.01 from r.
    assert entry["ci_verdict"] == "undecided"


def test_what_cannot_be_tested_is_listed_with_its_reason_and_not_counted(simulated_data):
    hypotheses = stated(simulated_data, MATCHING[0], FALSE) + [
        {
            "id": 3,
            "text": "TA and age",
            "spec": {"kind": "sign", "left": "TA", "right": "age_group", "sign": "positive"},
            "stated_at": None,
        },
        {
            "id": 4,
            "text": "gone",
            "spec": {
                "kind": "correlation",
                "left": "TA",
                "right": "sessions_booked",
                "op": ">",
                "value": 0.1,
            },
            "stated_at": None,
        },
        {"id": 5, "text": "future", "spec": {"kind": "interval", "left": "TA"}, "stated_at": None},
    ]
    result = section.test_hypotheses(simulated_data, simulated_data.instruments[0], hypotheses)
    entries = result["results"]
    assert [entry["met"] for entry in entries] == [True, False, None, None, None]
    assert result["tested"] == 2 and result["met"] == 1 and result["share_met"] == 0.5
    assert "age_group is a categorical covariate" in entries[2]["reason"]
    assert (
        "sessions_booked is neither a score of the battery nor a numeric column"
        in (entries[3]["reason"])
    )
    assert "unknown kind of hypothesis 'interval'" in entries[4]["reason"]
    assert entries[3]["result"] == f"Not tested: {entries[3]['reason']}."
    assert entries[3]["estimates"] == [] and entries[3]["n"] is None
    assert any("3 of 5 hypotheses could not be tested" in w for w in result["warnings"])


def test_a_hypothesis_about_another_instrument_is_left_to_it(simulated_data):
    iemdp = simulated_data.instruments[0]
    other = dataclasses.replace(iemdp, version=VersionInfo(2, "copy", "1.0.0", "0" * 64))
    own = dataclasses.replace(iemdp, version=VersionInfo(1, "iemdp", "1.1.0", "1" * 64))
    data = dataclasses.replace(simulated_data, instruments=(own, other))
    hypotheses = [
        {
            "id": 1,
            "text": "mine",
            "spec": {
                "kind": "sign",
                "left": "iemdp.TA",
                "right": "dropped_out",
                "sign": "negative",
            },
        },
        {
            "id": 2,
            "text": "theirs",
            "spec": {"kind": "sign", "left": "copy.TA", "right": "dropped_out", "sign": "negative"},
        },
        {
            "id": 3,
            "text": "both",
            "spec": {
                "kind": "correlation",
                "left": "iemdp.TA",
                "right": "copy.TA",
                "op": ">=",
                "value": 0.99,
            },
        },
        {
            "id": 4,
            "text": "bare",
            "spec": {"kind": "sign", "left": "TA", "right": "dropped_out", "sign": "negative"},
        },
    ]
    result = section.test_hypotheses(data, own, hypotheses)
    mine, theirs, both, bare = result["results"]
    assert mine["met"] is True and theirs["met"] is None
    assert theirs["reason"] == section.OTHER_INSTRUMENT
    # the same scores under two names: r = 1 over the participants of the baseline wave
    assert both["met"] is True and both["estimate"] == pytest.approx(1.0)
    assert bare["met"] is None and "TA is neither a score" in bare["reason"]
    assert result["tested"] == 2
    # Another instrument's hypothesis is no problem of this one's; an unknown name is.
    assert not any("'theirs'" in w for w in result["warnings"])
    assert any("'bare'" in w for w in result["warnings"])


def test_no_hypotheses_leaves_the_section_unavailable_and_cosmin_indeterminate(simulated_data):
    result = section.test_hypotheses(simulated_data, simulated_data.instruments[0], [])
    assert result["available"] is False
    assert result["reason"] == "no hypotheses were stated before the run"
    assert result["results"] == [] and result["share_met"] is None and result["tested"] == 0
    assert cosmin.hypotheses_row(result)["rating"] == "indeterminate"


def test_cosmin_rates_the_share_met(result):
    row = cosmin.hypotheses_row(result)
    assert row["rating"] == "sufficient" and row["result"] == "5 of 6 met (83%)"


# -- small hand-made studies ----------------------------------------------------------------


def small(outcome_values, *, waves=("t0", "t1"), wave=None, participants=12, seed=3):
    raw = longitudinal_study.answers(participants, list(waves), seed=seed)
    codes = sorted(set(raw.index.get_level_values("participant")))
    records = [
        (code, w, {"visits": value})
        for code, per_wave in zip(codes, outcome_values, strict=False)
        for w, value in per_wave
    ]
    frame = longitudinal_study.outcome_frame(records)
    return longitudinal_study.study(
        raw, list(waves), wave=wave, outcomes=frame, outcome_columns=(("visits", "numeric"),)
    )


def test_per_wave_outcomes_are_summed_from_the_analysed_wave_on():
    values = [[("t0", float(i)), ("t1", float(i % 3))] for i in range(12)]
    data, instrument = small(values)
    hypothesis = {
        "id": 1,
        "text": "A and visits",
        "spec": {"kind": "sign", "left": "A", "right": "visits", "sign": "positive"},
    }
    (entry,) = section.test_hypotheses(data, instrument, [hypothesis])["results"]
    scores = instrument.scores.xs("t0", level="wave")["A"]
    totals = pd.Series({f"P{i + 1:06d}": float(i + i % 3) for i in range(12)})
    assert entry["estimate"] == pytest.approx(stats.pearsonr(scores, totals[scores.index])[0])
    assert entry["n"] == 12
    # From the second wave on, only its values count and the scores are those at t1.
    data, instrument = small(values, wave="t1")
    result = section.test_hypotheses(data, instrument, [hypothesis])
    later = instrument.scores.xs("t1", level="wave")["A"]
    at_t1 = pd.Series({f"P{i + 1:06d}": float(i % 3) for i in range(12)})
    assert result["wave"] == "t1"
    assert result["results"][0]["estimate"] == pytest.approx(
        stats.pearsonr(later, at_t1[later.index])[0]
    )
    assert any("fewer than 100 participants" in w for w in result["warnings"])


def test_a_constant_outcome_or_too_few_pairs_is_not_tested():
    data, instrument = small([[("t0", 2.0)] for _ in range(12)])
    hypothesis = {
        "id": 1,
        "text": "A and visits",
        "spec": {"kind": "sign", "left": "A", "right": "visits", "sign": "positive"},
    }
    (entry,) = section.test_hypotheses(data, instrument, [hypothesis])["results"]
    assert entry["met"] is None and "constant" in entry["reason"]
    data, instrument = small([[("t0", 1.0)], [("t0", 2.0)]])
    (entry,) = section.test_hypotheses(data, instrument, [hypothesis])["results"]
    assert entry["met"] is None and "at least 3 complete pairs, got 2" in entry["reason"]


def test_a_study_without_outcomes_names_the_reason():
    raw = longitudinal_study.answers(10, ["t0"], seed=1)
    data, instrument = longitudinal_study.study(raw, ["t0"])
    hypotheses = [
        {
            "id": 1,
            "text": "A and visits",
            "spec": {"kind": "sign", "left": "A", "right": "visits", "sign": "positive"},
        },
        {
            "id": 2,
            "text": "A more with A_X than with B",
            "spec": {"kind": "comparison", "left": "A", "more": "A_X", "than": "B"},
        },
    ]
    result = section.test_hypotheses(data, instrument, hypotheses)
    first, second = result["results"]
    assert first["reason"] == "visits is not a score of the battery and the study has no outcomes"
    assert second["met"] is True  # a subconstruct correlates more with its construct
    assert result["tested"] == 1 and result["share_met"] == 1.0
