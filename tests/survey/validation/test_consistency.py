"""internal_consistency: on the simulated study against pingouin, scipy and direct omega fits;
the reflected construct items and the warnings on hand-made frames."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pingouin
import pytest
from scipy import stats

from psychometrics.reliability import omega_total
from survey.services.validation.consistency import construct_items, internal_consistency
from survey.services.validation.items import analysed_rows
from tests.survey.validation.small_study import answers, simulated_answers, study_data

TOL = 1e-8


@pytest.fixture(scope="module")
def section(simulated_data):
    return internal_consistency(simulated_data, simulated_data.instruments[0])


@pytest.fixture(scope="module")
def rows(simulated_data):
    return analysed_rows(simulated_data, simulated_data.instruments[0])[1]


def _feldt(alpha: float, n: int, k: int) -> tuple[float, float]:
    df1, df2 = n - 1, (n - 1) * (k - 1)
    return (
        1 - (1 - alpha) * stats.f.ppf(0.975, df1, df2),
        1 - (1 - alpha) * stats.f.ppf(0.025, df1, df2),
    )


def _check_scale(entry: dict, frame: pd.DataFrame) -> None:
    """alpha, CI, item-total and alpha-if-deleted against pingouin / numpy / scipy."""
    n, k = frame.shape
    assert (entry["n"], entry["n_items"]) == (n, k)
    alpha = pingouin.cronbach_alpha(data=frame)[0]
    assert entry["alpha"]["alpha"] == pytest.approx(alpha, abs=TOL)
    lower, upper = _feldt(alpha, n, k)
    assert entry["alpha"]["ci"]["lower"] == pytest.approx(lower, abs=TOL)
    assert entry["alpha"]["ci"]["upper"] == pytest.approx(upper, abs=TOL)
    assert [row["id"] for row in entry["item_total"]] == list(frame.columns)
    for row in entry["item_total"]:
        rest = frame.drop(columns=row["id"])
        r = np.corrcoef(frame[row["id"]], rest.sum(axis=1))[0, 1]
        assert row["r_drop"] == pytest.approx(r, abs=TOL)
        assert row["alpha_if_deleted"] == pytest.approx(
            pingouin.cronbach_alpha(data=rest)[0], abs=TOL
        )


def test_every_subconstruct_and_construct_on_the_simulated_study(simulated_data, section):
    definition = simulated_data.instruments[0].definition
    assert section["wave"] == "baseline"
    assert [e["code"] for e in section["subconstructs"]] == [
        s.code for s in definition.subconstructs
    ]
    assert [e["code"] for e in section["constructs"]] == [c.code for c in definition.constructs]
    for entry in section["subconstructs"] + section["constructs"]:
        assert entry["alpha"] is not None and entry["omega"] is not None
        assert entry["alpha_low"] == (entry["alpha"]["alpha"] < 0.70)
    assert section["omega_hierarchical"]["available"] is False
    assert any("Omega hierarchical" in note for note in section["notes"])
    low = [e for e in section["subconstructs"] + section["constructs"] if e["alpha_low"]]
    assert len([w for w in section["warnings"] if "below 0.70" in w]) == len(low)
    json.dumps(section, allow_nan=False)


def test_subconstructs_equal_pingouin_and_direct_omega(simulated_data, section, rows):
    for entry in section["subconstructs"]:
        frame = rows[entry["items"]]
        _check_scale(entry, frame)
        direct = omega_total(frame)
        assert entry["omega"]["omega"] == pytest.approx(direct.omega, abs=TOL)


def test_constructs_reflect_reverse_oriented_subconstructs(simulated_data, section, rows):
    definition = simulated_data.instruments[0].definition
    entries = {e["code"]: e for e in section["constructs"]}
    reflected = {sub.code for sub in definition.subconstructs if sub.reverse}
    assert reflected == {"UT_LAP", "RR_RUP", "TC_FIN", "SS_STIG"}
    for construct in definition.constructs:
        entry = entries[construct.code]
        assert set(entry["reflected_subconstructs"]) == reflected & set(entry["subconstructs"])
        # By hand: 6 - x for every item of a reverse-oriented subconstruct.
        frame = rows[entry["items"]].copy()
        for sub in construct.subconstructs:
            if sub.reverse:
                ids = [item.id for item in sub.items]
                frame[ids] = 6 - frame[ids]
        _check_scale(entry, frame)
        assert entry["omega"]["omega"] == pytest.approx(omega_total(frame).omega, abs=TOL)
    # Reflected, the items of Use trajectory correlate positively with the rest of it.
    assert all(row["r_drop"] > 0 for row in entries["UT"]["item_total"])


def test_construct_items_on_a_hand_made_frame():
    data = study_data(
        answers({item: [1, 2, 5] for item in ("A_1", "A_2", "A_3", "B_1", "B_2", "B_3")})
    )
    instrument = data.instruments[0]
    construct = instrument.definition.constructs[0]
    frame = construct_items(instrument.definition, construct, instrument.keyed)
    # A_3 reverse-keyed (6 - x); B reflected within AB (6 - keyed): B_2 keyed then reflected.
    assert frame["A_1"].tolist() == [1, 2, 5] and frame["A_3"].tolist() == [5, 4, 1]
    assert frame["B_1"].tolist() == [5, 4, 1] and frame["B_2"].tolist() == [1, 2, 5]


def test_warnings_for_low_high_alpha_and_a_negative_item_total():
    rng = np.random.default_rng(11)
    n = 200
    common = rng.normal(size=n)
    # A: three copies of one answer but for a little noise (alpha > .95); A_3 is
    # reverse-keyed, so its raw answers run the other way.
    a = np.clip(np.round(3 + 1.2 * common[:, None] + 0.15 * rng.normal(size=(n, 3))), 1, 5)
    # B: B_3 close to B_1; B_2 is reverse-keyed but answered like B_1 (as if misread), so
    # keyed it runs against the other two.
    b1 = rng.integers(1, 6, size=n).astype(float)
    b3 = np.clip(b1 + rng.integers(-1, 2, size=n), 1, 5)
    columns = {"A_1": a[:, 0], "A_2": a[:, 1], "A_3": 6 - a[:, 2]}
    b2 = np.clip(np.round(3 + 0.5 * (b1 - 3) + rng.normal(size=n)), 1, 5)
    columns |= {"B_1": b1, "B_2": b2, "B_3": b3}
    data = study_data(answers(columns))
    section = internal_consistency(data, data.instruments[0])
    entries = {e["code"]: e for e in section["subconstructs"]}
    assert entries["A"]["alpha_high"] is True and entries["A"]["alpha"]["alpha"] > 0.95
    assert entries["B"]["alpha_low"] is True and entries["A"]["alpha_low"] is False
    warnings = section["warnings"]
    assert any(w.startswith("subconstruct A: alpha") and "above 0.95" in w for w in warnings)
    assert any(w.startswith("subconstruct B: alpha") and "below 0.70" in w for w in warnings)
    (negative,) = [r["id"] for r in entries["B"]["item_total"] if r["r_drop"] < 0]
    assert negative == "B_2"
    assert any(w.startswith("subconstruct B: item B_2 correlates negatively") for w in warnings)
    json.dumps(section, allow_nan=False)


def test_an_item_without_variance_is_reported_not_raised():
    raw = simulated_answers(50, seed=3)
    raw["B_1"] = 3.0
    data = study_data(raw)
    section = internal_consistency(data, data.instruments[0])
    entries = {e["code"]: e for e in section["subconstructs"] + section["constructs"]}
    assert entries["A"]["alpha"] is not None
    for code in ("B", "AB"):
        assert entries[code]["alpha"] is None and "no variance" in entries[code]["reason"]
        assert entries[code]["omega"] is None
    assert sum("no variance" in w for w in section["warnings"]) == 2
    json.dumps(section, allow_nan=False)


def test_no_complete_rows():
    raw = simulated_answers(20, seed=4)
    raw["A_1"] = np.nan
    data = study_data(raw)
    section = internal_consistency(data, data.instruments[0])
    assert section["n"] == 0
    assert all(e["alpha"] is None for e in section["subconstructs"])
    assert section["warnings"] == ["No complete rows at wave 'baseline': nothing to analyse."]
