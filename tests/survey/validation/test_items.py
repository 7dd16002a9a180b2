"""item_statistics: on the simulated study against direct computations, and the floor/ceiling
and warning logic on hand-made frames."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from psychometrics.items import describe_items
from survey.services.validation.items import (
    analysed_rows,
    analysed_wave,
    item_statistics,
    rows_at_wave,
)
from tests.survey.validation.small_study import answers, simulated_answers, study_data

TOL = 1e-8


@pytest.fixture(scope="module")
def section(simulated_data):
    return item_statistics(simulated_data, simulated_data.instruments[0])


def test_shape_on_the_simulated_study(simulated_data, section):
    instrument = simulated_data.instruments[0]
    definition = instrument.definition
    assert section["wave"] == "baseline" == simulated_data.waves[0]
    baseline = rows_at_wave(instrument.raw, "baseline")
    assert section["sessions"] == len(baseline) > 0
    assert [row["id"] for row in section["items"]] == [item.id for item in definition.items]
    codes = [row["code"] for row in section["scores"]]
    assert codes == [s.code for s in definition.subconstructs] + [
        c.code for c in definition.constructs
    ]
    assert {row["level"] for row in section["scores"]} == {"subconstruct", "construct"}
    for row in section["items"]:
        assert [o["value"] for o in row["distribution"]] == [1, 2, 3, 4, 5]
    json.dumps(section, allow_nan=False)  # JSON-ready: no NaN, no numpy types


def test_item_values_equal_direct_computations(simulated_data, section):
    raw = rows_at_wave(simulated_data.instruments[0].raw, "baseline")
    described = describe_items(raw, response_range=(1, 5)).table
    for row in section["items"]:
        x = raw[row["id"]].dropna().to_numpy()
        n = x.size
        assert row["n"] == n and row["missing"] == len(raw) - n
        assert row["missing_share"] == pytest.approx((len(raw) - n) / len(raw), abs=TOL)
        assert row["mean"] == pytest.approx(x.mean(), abs=TOL)
        assert row["sd"] == pytest.approx(x.std(ddof=1), abs=TOL)
        # Type 3 (psych::describe) from scipy's biased g1 and g2 (Joanes & Gill 1998).
        g1, g2 = stats.skew(x, bias=True), stats.kurtosis(x, bias=True)
        assert row["skew"] == pytest.approx(g1 * ((n - 1) / n) ** 1.5, abs=TOL)
        assert row["kurtosis"] == pytest.approx((g2 + 3) * (1 - 1 / n) ** 2 - 3, abs=TOL)
        counts = {int(v): int(c) for v, c in zip(*np.unique(x, return_counts=True), strict=True)}
        assert {o["value"]: o["count"] for o in row["distribution"] if o["count"]} == counts
        assert sum(o["share"] for o in row["distribution"]) == pytest.approx(1.0, abs=TOL)
        assert row["floor_share"] == pytest.approx(np.mean(x == 1), abs=TOL)
        assert row["ceiling_share"] == pytest.approx(np.mean(x == 5), abs=TOL)
        assert row["floor_share"] == pytest.approx(described.loc[row["id"], "floor_pct"] / 100)
        assert row["ceiling_effect"] == (np.mean(x == 5) > 0.15)


def test_score_floor_and_ceiling_on_the_simulated_study(simulated_data, section):
    scores = rows_at_wave(simulated_data.instruments[0].scores, "baseline")
    for row in section["scores"]:
        x = scores[row["code"]].dropna().to_numpy()
        assert row["n"] == x.size and row["missing"] == len(scores) - x.size
        assert row["mean"] == pytest.approx(x.mean(), abs=TOL)
        assert row["floor_share"] == pytest.approx(np.mean(np.isclose(x, 1.0)), abs=TOL)
        assert row["ceiling_share"] == pytest.approx(np.mean(np.isclose(x, 5.0)), abs=TOL)
    flagged = [r for r in section["items"] if r["floor_effect"] or r["ceiling_effect"]]
    item_warnings = [w for w in section["warnings"] if w.startswith("item ")]
    assert len(item_warnings) == sum(r["floor_effect"] + r["ceiling_effect"] for r in flagged)


def test_floor_ceiling_shares_and_warnings_on_a_hand_made_frame():
    nan = math.nan
    # 20 participants. A_1: 4 of 20 answers at 1 (20 %, floor effect), none at 2.
    # A_2: 3 of 20 at 5 (15 %: not above 15 %). A_3: 2 missing, 3 of 18 at 5 (16.7 %).
    values = {
        "A_1": [1] * 4 + [3] * 10 + [4] * 6,
        "A_2": [5] * 3 + [3] * 17,
        "A_3": [nan] * 2 + [5] * 3 + [3] * 15,
        "B_1": [2] * 20,
        "B_2": [3] * 20,
        "B_3": [4] * 20,
    }
    data = study_data(answers(values))
    section = item_statistics(data, data.instruments[0])
    rows = {row["id"]: row for row in section["items"]}

    a1 = rows["A_1"]
    assert [(o["value"], o["count"]) for o in a1["distribution"]] == [
        (1, 4),
        (2, 0),
        (3, 10),
        (4, 6),
        (5, 0),
    ]
    assert a1["distribution"][1]["share"] == 0.0 and a1["distribution"][1]["label"] == "Disagree"
    assert (a1["floor_share"], a1["floor_effect"]) == (0.2, True)
    assert (a1["ceiling_share"], a1["ceiling_effect"]) == (0.0, False)
    assert (rows["A_2"]["ceiling_share"], rows["A_2"]["ceiling_effect"]) == (0.15, False)
    a3 = rows["A_3"]
    assert (a3["n"], a3["missing"], a3["missing_share"]) == (18, 2, 0.1)
    assert a3["ceiling_share"] == pytest.approx(3 / 18) and a3["ceiling_effect"] is True
    # Floor and ceiling are on the raw answers, before reverse keying.
    assert a3["reverse"] is True and a3["floor_share"] == 0.0
    # B_1 answered 2 by everyone: no spread, so no SD-based shape statistics.
    assert rows["B_1"]["sd"] == 0.0 and rows["B_1"]["skew"] is None

    item_warnings = [w for w in section["warnings"] if w.startswith("item ")]
    assert len(item_warnings) == 2
    assert any("A_1" in w and "floor" in w and "20.0%" in w for w in item_warnings)
    assert any("A_3" in w and "ceiling" in w for w in item_warnings)

    # Scores: B keyed = (2, 6 - 3, 4), 3 for everyone; A is prorated where A_3 is missing;
    # nobody scores at the scale's ends.
    scores = {row["code"]: row for row in section["scores"]}
    assert scores["B"]["floor_share"] == 0.0 and scores["B"]["mean"] == 3.0
    assert scores["A"]["n"] == 20 and scores["AB"]["n"] == 20
    json.dumps(section, allow_nan=False)


def test_score_floor_effect_warns():
    # 5 of 20 answer 1 to every item: B reverse-keyed stays at 1 only where B_2 = 5.
    values = {item: [1] * 5 + [3] * 15 for item in ("A_1", "A_2", "B_1", "B_3")}
    values["A_3"] = [5] * 5 + [3] * 15  # reverse-keyed: 5 is keyed 1
    values["B_2"] = [5] * 5 + [3] * 15
    data = study_data(answers(values))
    section = item_statistics(data, data.instruments[0])
    scores = {row["code"]: row for row in section["scores"]}
    assert scores["A"]["floor_share"] == 0.25 and scores["A"]["floor_effect"] is True
    assert scores["B"]["floor_share"] == 0.25
    # AB = mean(A, 6 - B) = (1 + 5) / 2 = 3: neither floor nor ceiling.
    assert scores["AB"]["floor_share"] == 0.0 and scores["AB"]["ceiling_share"] == 0.0
    score_warnings = [w for w in section["warnings"] if "score" in w]
    assert len(score_warnings) == 2
    assert score_warnings[0].startswith("subconstruct score A: 25.0% of 20 scores at the scale")


def test_the_selected_wave_and_a_wave_without_sessions():
    baseline = simulated_answers(30, seed=1)
    later = simulated_answers(10, seed=2, wave="week-4")
    data = study_data(pd.concat([baseline, later]), waves=("baseline", "week-4"))
    assert analysed_wave(data) == "baseline"
    assert item_statistics(data, data.instruments[0])["sessions"] == 30

    selected = study_data(later, waves=("week-4",), wave="week-4")
    section = item_statistics(selected, selected.instruments[0])
    assert section["wave"] == "week-4" and section["sessions"] == 10
    wave, rows = analysed_rows(selected, selected.instruments[0])
    assert wave == "week-4" and len(rows) == 10 and list(rows.index.names) == ["participant"]

    empty = study_data(baseline, waves=("baseline", "week-4"), wave="week-4")
    section = item_statistics(empty, empty.instruments[0])
    assert section["sessions"] == 0
    assert all(row["n"] == 0 and row["floor_share"] is None for row in section["items"])
    assert section["warnings"] == ["No sessions at wave 'week-4': item statistics are empty."]
    json.dumps(section, allow_nan=False)
