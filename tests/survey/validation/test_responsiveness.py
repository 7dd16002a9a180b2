"""The responsiveness section: trajectories and change against scipy, attrition by count, and
the simulated study's growth in its key constructs."""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy import stats

from survey.services.validation import responsiveness
from tests.survey.validation import longitudinal_study

TOL = 1e-10


@pytest.fixture(scope="module")
def section(simulated_data):
    return responsiveness.responsiveness(simulated_data, simulated_data.instruments[0])


def test_shape_and_json(section, simulated_data):
    definition = simulated_data.instruments[0].definition
    assert section["available"] is True
    assert section["waves"] == ["baseline", "week-4", "week-8"]
    assert section["first_wave"] == "baseline"
    assert [e["code"] for e in section["constructs"]] == [c.code for c in definition.constructs]
    assert [e["code"] for e in section["subconstructs"]] == [
        s.code for s in definition.subconstructs
    ]
    for entry in section["constructs"] + section["subconstructs"]:
        assert [w["wave"] for w in entry["waves"]] == section["waves"]
        assert [c["wave"] for c in entry["change"]] == ["week-4", "week-8"]
    assert section["notes"]
    json.dumps(section, allow_nan=False)


def test_trajectories_and_change_equal_scipy(section, simulated_data):
    scores = simulated_data.instruments[0].scores
    for entry in section["constructs"] + section["subconstructs"][::5]:
        wide = scores[entry["code"]].unstack("wave")
        for row in entry["waves"]:
            values = wide[row["wave"]].dropna()
            ci = stats.ttest_1samp(values, 0).confidence_interval(0.95)
            assert row["n"] == len(values)
            assert row["mean"] == pytest.approx(values.mean(), abs=TOL)
            assert row["sd"] == pytest.approx(np.std(values, ddof=1), abs=TOL)
            assert row["ci"]["lower"] == pytest.approx(ci.low, abs=TOL)
            assert row["ci"]["upper"] == pytest.approx(ci.high, abs=TOL)
        for change in entry["change"]:
            pair = wide[["baseline", change["wave"]]].dropna()
            before, after = pair["baseline"], pair[change["wave"]]
            ref = stats.ttest_rel(after, before)
            ci = ref.confidence_interval(0.95)
            d = after - before
            assert change["n"] == len(pair) and change["df"] == len(pair) - 1
            assert change["mean_change"] == pytest.approx(d.mean(), abs=TOL)
            assert change["t"] == pytest.approx(ref.statistic, abs=1e-8)
            assert change["p"] == pytest.approx(ref.pvalue, abs=1e-10)
            assert change["ci"]["lower"] == pytest.approx(ci.low, abs=TOL)
            assert change["ci"]["upper"] == pytest.approx(ci.high, abs=TOL)
            assert change["srm"] == pytest.approx(d.mean() / np.std(d, ddof=1), abs=TOL)
            assert change["cohens_d"] == pytest.approx(d.mean() / np.std(before, ddof=1), abs=TOL)


def test_attrition_counts_sessions(section, simulated_data):
    rows = simulated_data.rows.reset_index()
    total = rows["participant"].nunique()
    baseline = set(rows.loc[rows["wave"] == "baseline", "participant"])
    for entry in section["attrition"]:
        present = set(rows.loc[rows["wave"] == entry["wave"], "participant"])
        assert entry["participants"] == len(present)
        assert entry["share"] == pytest.approx(len(present) / total)
        assert entry["share_of_first"] == pytest.approx(len(present & baseline) / len(baseline))
    assert [e["participants"] for e in section["attrition"]] == [400, 332, 293]
    # 293 of 400 at week 8 is below 80 %: a warning about completers
    assert len(section["warnings"]) == 1 and "week-8" in section["warnings"][0]


def test_the_simulated_growth_shows_in_the_key_constructs(section, simulated_truth):
    """The simulation raises TA and SE by 0.15 SD per wave and no other construct: by week 8
    their change from baseline is positive with an interval above 0 (d 0.35 and 0.18 on this
    study), and they have the two largest effect sizes."""
    growing = {code for code, change in simulated_truth["mean_changes"].items() if change > 0}
    assert growing == {"SE", "TA"}
    last = {e["code"]: e["change"][-1] for e in section["constructs"]}
    for code in growing:
        assert last[code]["ci"]["lower"] > 0 and last[code]["srm"] > 0
    ranked = sorted(last, key=lambda code: last[code]["cohens_d"], reverse=True)
    assert set(ranked[:2]) == growing
    assert all(abs(last[code]["cohens_d"]) < 0.1 for code in ranked[2:])


def test_one_wave_is_not_available():
    raw = longitudinal_study.answers(10, ["baseline"], seed=1)
    data, instrument = longitudinal_study.study(raw, ["baseline", "week-4"])
    section = responsiveness.responsiveness(data, instrument)
    assert section["available"] is False and "two waves" in section["reason"]
    json.dumps(section, allow_nan=False)


def test_handmade_edges_small_waves_and_missing_scores():
    waves = ["baseline", "week-4"]
    raw = longitudinal_study.answers(6, waves, seed=5, shift=0.5)
    # only P000001 and P000002 come back; P000002's A_X (hence A) is missing at week 4
    keep = [p for p in raw.index if p[1] == "baseline" or p[0] in ("P000001", "P000002")]
    raw = raw.loc[keep]
    raw.loc[("P000002", "week-4"), ["A_X_1", "A_X_2", "A_X_3"]] = np.nan
    data, instrument = longitudinal_study.study(raw, waves)
    section = responsiveness.responsiveness(data, instrument)
    a = next(e for e in section["constructs"] if e["code"] == "A")
    assert [w["n"] for w in a["waves"]] == [6, 1]
    assert a["waves"][1]["sd"] is None and a["waves"][1]["ci"]["lower"] is None
    change = a["change"][0]
    assert change["n"] == 1 and change["mean_change"] is not None
    assert change["srm"] is None and change["cohens_d"] is None and change["t"] is None
    b = next(e for e in section["constructs"] if e["code"] == "B")
    assert b["change"][0]["n"] == 2
    assert [e["share_of_first"] for e in section["attrition"]] == [1.0, pytest.approx(2 / 6)]
    assert any("Only 33%" in w for w in section["warnings"])
    assert any("Fewer than 30" in w for w in section["warnings"])
    json.dumps(section, allow_nan=False)
