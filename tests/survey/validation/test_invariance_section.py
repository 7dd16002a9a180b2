"""The measurement-invariance section: the group ladder equals psychometrics.cfa.invariance on
the same rows, the group variable is chosen (and small groups left out) as documented, Chen's
criteria decide each step, waves are compared with the repeated-measures model over every wave
(FIML, MLR) that lavaan/semTools fit alike (invariance_reference/) and that
psychometrics.cfa.longitudinal.longitudinal_invariance fits on the long data, and the report
shows every ladder."""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from instruments.measurement_model import measurement_model
from psychometrics.cfa import invariance
from psychometrics.cfa.longitudinal import longitudinal_invariance
from survey.services.validation import invariance as section_module
from survey.services.validation import report_html
from survey.services.validation.invariance import (
    chen_step,
    conclude,
    group_choices,
    measurement_invariance,
    wide_rows,
)
from survey.services.validation.report_html import render_report_html
from tests.survey.validation.small_study import simulated_answers, study_data
from tests.survey.validation.test_report_html import Tree, body_rows, cells, not_computed

REFERENCE = Path(__file__).parent / "invariance_reference"
LEVELS = ["configural", "metric", "scalar", "strict"]
COMPARED = ["npar", "chisq", "df", "pvalue", "cfi", "tli", "rmsea", "srmr", "aic", "bic"]
COMPARED += ["delta_chisq", "delta_df", "delta_pvalue", "delta_cfi", "delta_rmsea"]


def with_modes(data, modes: list[str | None]):
    """``data`` whose sessions carry ``modes`` as their delivery mode."""
    return dataclasses.replace(data, rows=data.rows.assign(delivery_mode=modes))


def with_outcomes(data, frame: pd.DataFrame, columns: tuple[tuple[str, str], ...]):
    return dataclasses.replace(data, outcomes=frame, outcome_version=1, outcome_columns=columns)


def outcome_rows(records: list[tuple[str, str | None, dict[str, Any]]], levels: dict[str, list]):
    """An outcomes frame as OutcomeTable.frame gives it, from (participant, wave or None,
    values) records; categorical columns (``levels``) as pandas Categoricals."""
    frame = {
        "participant_id": [int(code[1:]) for code, _, _ in records],
        "participant": [code for code, _, _ in records],
        "wave_id": pd.array([None if w is None else 1 for _, w, _ in records], dtype="Int64"),
        "wave": pd.array([w for _, w, _ in records], dtype="string"),
    }
    for name, categories in levels.items():
        values = [values.get(name) for _, _, values in records]
        frame[name] = pd.Categorical(values, categories=categories)
    return pd.DataFrame(frame)


def tiny(n: int = 500, *, seed: int = 3):
    return study_data(simulated_answers(n, seed=seed))


def group_frame(data, labels: pd.Series, kept: list[str], column: str) -> pd.DataFrame:
    """The complete keyed baseline rows of the ``kept`` groups, group by group, built here
    from the frames (not through the section)."""
    keyed = data.instruments[0].keyed.xs("baseline", level="wave").dropna()
    keyed = keyed.assign(**{column: labels.reindex(keyed.index).to_numpy()})
    return pd.concat([keyed[keyed[column] == level] for level in kept])


def assert_ladder_equals(levels: list[dict[str, Any]], table: pd.DataFrame) -> None:
    assert [row["level"] for row in levels] == LEVELS == table["level"].tolist()
    for row, (_, expected) in zip(levels, table.iterrows(), strict=True):
        for name in COMPARED:
            want = expected[name]
            if math.isnan(want):
                assert row[name] is None, (row["level"], name)
            else:
                assert row[name] == pytest.approx(want, rel=1e-10, abs=1e-10), (row["level"], name)


# --------------------------------------------------------------------------------------
# across groups
# --------------------------------------------------------------------------------------
def test_the_delivery_mode_ladder_equals_a_direct_invariance_call_on_the_same_rows():
    data = tiny()
    modes = ["web"] * 300 + ["chat"] * 200
    data = with_modes(data, modes)
    section = measurement_invariance(data, data.instruments[0])
    json.dumps(section, allow_nan=False)  # JSON-ready, no NaN

    groups = section["groups"]
    assert groups["available"] and groups["variable"] == "delivery_mode"
    assert groups["label"] == "delivery mode: web vs chat"
    assert (groups["groups"], groups["reference_group"]) == (["web", "chat"], "web")
    assert groups["counts"] == {"web": 300, "chat": 200} and groups["n"] == 500
    assert section["comparisons"] == [groups]

    labels = pd.Series(modes, index=data.rows.index.get_level_values("participant"))
    frame = group_frame(data, labels, ["web", "chat"], "delivery_mode")
    model = measurement_model(data.instruments[0].definition, second_order=False).syntax
    direct = invariance(model, frame, "delivery_mode")
    assert_ladder_equals(groups["levels"], direct.table)
    for row in groups["levels"]:
        measures = direct.fits[row["level"]].fit_measures()
        assert row["rmsea.ci.lower"] == pytest.approx(measures["rmsea_ci_lower"], abs=1e-10)
        assert row["rmsea.ci.upper"] == pytest.approx(measures["rmsea_ci_upper"], abs=1e-10)
        assert row["ntotal"] == 500 and row["converged"]
    scalar = direct.fits["scalar"].estimates
    means = scalar[(scalar["op"] == "~1") & scalar["lhs"].isin(["A", "B"]) & scalar["free"]]
    assert [(m["factor"], m["group"]) for m in groups["levels"][2]["latent_means"]] == [
        ("A", "chat"),
        ("B", "chat"),
    ]
    assert [m["est"] for m in groups["levels"][2]["latent_means"]] == pytest.approx(
        means["est"].tolist(), abs=1e-10
    )
    # the same population in both groups: every step holds
    assert groups["highest_level"] == "strict"
    assert groups["conclusion"].startswith("Strict invariance holds across web and chat")
    assert all(row["supported"] for row in groups["levels"])


def test_without_a_group_the_delivery_mode_is_used_only_when_both_modes_have_enough_rows():
    data = with_modes(tiny(), ["web"] * 460 + ["chat"] * 40)
    section = measurement_invariance(data, data.instruments[0])
    groups = section["groups"]
    assert not groups["available"] and groups["levels"] == []
    assert "delivery mode does not give two groups of at least 100" in groups["reason"]
    assert "(web 460, chat 40)" in groups["reason"]
    assert section["comparisons"] == [] and not section["available"]
    assert section["reason"].startswith(f"groups: {groups['reason']}; waves: ")

    # a lower floor lets the 40 chat sessions form a group
    lower = measurement_invariance(data, data.instruments[0], min_n=40)
    assert lower["groups"]["groups"] == ["web", "chat"]

    # sessions without a delivery mode: none to choose
    plain = tiny(120)
    assert "delivery_mode" not in plain.rows.columns and group_choices(plain) == []
    reason = measurement_invariance(plain, plain.instruments[0])["groups"]["reason"]
    assert reason == "no group variable was chosen and the sessions carry no delivery mode"


def test_a_requested_group_leaves_out_small_groups_and_needs_two_that_remain():
    data = with_modes(tiny(), ["web"] * 460 + ["chat"] * 40)
    section = measurement_invariance(data, data.instruments[0], group="delivery_mode")
    groups = section["groups"]
    assert groups["dropped"] == [{"group": "chat", "n": 40}] and groups["groups"] == ["web"]
    assert not groups["available"]
    assert groups["reason"] == (
        "fewer than two groups of delivery mode with at least 100 complete rows at wave "
        "'baseline' (rows per group: web 460, chat 40)"
    )
    assert "Groups left out, too few rows: chat (40)." in section["notes"]
    assert any("chat (40)" in warning for warning in section["warnings"])


def test_an_unknown_or_numeric_group_variable_is_said_not_raised():
    data = tiny(120)
    frame = outcome_rows([("P1", None, {})], {})
    frame["messages_sent"] = [3.0]
    data = with_outcomes(data, frame, (("messages_sent", "numeric"),))
    numeric = measurement_invariance(data, data.instruments[0], group="messages_sent")
    assert numeric["groups"]["reason"] == (
        "'messages_sent' is a numeric outcome; a group variable must be categorical"
    )
    unknown = measurement_invariance(data, data.instruments[0], group="site")
    assert unknown["groups"]["reason"] == "'site' is not a group variable of this study"
    assert unknown["warnings"] == [
        "The requested group variable was not used: 'site' is not a group variable of this study."
    ]


def test_no_complete_rows_at_the_analysed_wave_is_said_not_raised():
    raw = simulated_answers(150, seed=3)
    raw.iloc[:, 0] = np.nan  # nobody answered A_1
    data = with_modes(study_data(raw), ["web"] * 100 + ["chat"] * 50)
    for group in (None, "delivery_mode"):
        section = measurement_invariance(data, data.instruments[0], group=group)
        assert section["groups"]["reason"] == "no rows with every item answered at wave 'baseline'"
        assert section["comparisons"] == [] and section["warnings"] == []


def test_a_categorical_outcome_column_groups_the_rows_and_its_small_levels_are_left_out():
    data = tiny()
    sites = ["north"] * 250 + ["south"] * 220 + ["east"] * 30
    records = [(f"P{i + 1}", None, {"site": site}) for i, site in enumerate(sites)]
    frame = outcome_rows(records, {"site": ["south", "north", "east"]})
    data = with_outcomes(data, frame, (("site", "categorical"),))
    assert group_choices(data) == ["site"]

    section = measurement_invariance(data, data.instruments[0], group="site")
    groups = section["groups"]
    # levels in the column's order: the first kept one is the reference
    assert groups["groups"] == ["south", "north"] and groups["reference_group"] == "south"
    assert groups["dropped"] == [{"group": "east", "n": 30}]
    assert groups["label"] == "site: south vs north" and groups["n"] == 470
    labels = pd.Series(sites, index=[f"P{i + 1}" for i in range(500)])
    direct_frame = group_frame(data, labels, ["south", "north"], "site")
    model = measurement_model(data.instruments[0].definition, second_order=False).syntax
    assert_ladder_equals(groups["levels"], invariance(model, direct_frame, "site").table)


def test_a_per_wave_covariate_is_read_at_the_analysed_wave_else_per_participant():
    data = tiny(300)
    records = []
    for i in range(300):
        code = f"P{i + 1}"
        records.append((code, None, {"therapist": "ann"}))  # overridden at baseline
        if i < 280:
            records.append((code, "baseline", {"therapist": "bob" if i < 150 else "cy"}))
        records.append((code, "week-4", {"therapist": "ann"}))  # another wave: not read
    frame = outcome_rows(records, {"therapist": ["ann", "bob", "cy"]})
    data = with_outcomes(data, frame, (("therapist", "categorical"),))
    groups = measurement_invariance(data, data.instruments[0], group="therapist")["groups"]
    assert groups["counts"] == {"ann": 20, "bob": 150, "cy": 130}
    assert groups["groups"] == ["bob", "cy"] and groups["dropped"] == [{"group": "ann", "n": 20}]
    assert groups["available"] and groups["label"] == "therapist: bob vs cy"


def test_a_level_that_cannot_be_fitted_is_reported_with_its_reason():
    raw = simulated_answers(400, seed=3)
    raw.iloc[250:, 0] = 3.0  # A_1 has no variance among the chat sessions
    data = with_modes(study_data(raw), ["web"] * 250 + ["chat"] * 150)
    section = measurement_invariance(data, data.instruments[0])
    groups = section["groups"]
    assert [row["fitted"] for row in groups["levels"]] == [False] * 4
    assert all("zero variance: A_1" in row["reason"] for row in groups["levels"])
    assert groups["highest_level"] is None
    assert groups["conclusion"].startswith(
        "No conclusion across web and chat: the configural model was not fitted:"
    )
    (warning,) = section["warnings"]
    assert warning.startswith("delivery mode: web vs chat, configural, metric, scalar, strict:")


# --------------------------------------------------------------------------------------
# Chen's criteria and the conclusion, on hand-made numbers
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("delta_cfi", "delta_rmsea", "supported"),
    [
        (-0.009, 0.014, True),
        (-0.010, 0.015, True),  # the bounds themselves pass
        (0.004, -0.002, True),
        (-0.0101, 0.0, False),
        (0.0, 0.0151, False),
        (-0.02, 0.03, False),
        (None, 0.0, None),
        (0.0, None, None),
    ],
)
def test_chen_criteria_decide_a_step(delta_cfi, delta_rmsea, supported):
    decided, sentence = chen_step(delta_cfi, delta_rmsea)
    assert decided is supported
    word = {True: "supported", False: "not supported", None: "not judged"}[supported]
    assert sentence.startswith(f"{word}:")


def level(name: str, supported: bool | None, **extra: Any) -> dict[str, Any]:
    row = {"level": name, "fitted": True, "converged": True, "supported": supported}
    return row | {"decision": f"decision on {name}"} | extra


def test_the_conclusion_names_the_highest_level_whose_every_step_is_supported():
    ladder = [level("configural", True), level("metric", True), level("scalar", False)]
    ladder.append(level("strict", True))  # after a failed step, later ones do not count
    highest, sentence = conclude(ladder, "web and chat")
    assert highest == "metric"
    assert sentence.startswith(
        "Metric invariance holds across web and chat, scalar does not (decision on scalar): "
    )
    assert "not latent or observed means" in sentence

    all_hold = [level(name, True) for name in LEVELS]
    assert conclude(all_hold[:3], "web and chat") == (
        "scalar",
        "Scalar invariance holds across web and chat: latent means can be compared.",
    )
    assert conclude(all_hold, "web and chat")[0] == "strict"

    unjudged = [level("configural", True), level("metric", None), level("scalar", True)]
    highest, sentence = conclude(unjudged, "web and chat")
    assert highest == "configural" and "metric could not be judged" in sentence

    poor = [level("configural", False)] + all_hold[1:]
    highest, sentence = conclude(poor, "web and chat")
    assert highest is None and sentence.startswith("Configural invariance does not hold")

    stuck = [level("configural", None, converged=False)] + all_hold[1:]
    assert conclude(stuck, "web and chat")[0] is None


def test_the_criteria_match_the_report_plot():
    from survey.services.validation import plots

    assert section_module.DELTA_CFI == plots.DELTA_CFI
    assert section_module.DELTA_RMSEA == plots.DELTA_RMSEA


# --------------------------------------------------------------------------------------
# across waves, on the simulated study
# --------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def simulated_section(simulated_data) -> dict[str, Any]:
    # a floor of 111 keeps the 110 complete chat rows at baseline out: no group ladder (the
    # 72-item two-group ladder takes some 7 s), the wave ladders all run
    return measurement_invariance(simulated_data, simulated_data.instruments[0], min_n=111)


def test_on_the_simulated_study_the_delivery_mode_is_too_small_and_the_waves_are_compared(
    simulated_data, simulated_section
):
    groups = simulated_section["groups"]
    assert not groups["available"]
    assert groups["reason"].endswith("at wave 'baseline' (web 268, chat 110)")
    assert group_choices(simulated_data) == ["delivery_mode", "age_group"]

    waves = simulated_section["waves"]
    assert simulated_data.waves == ("baseline", "week-4", "week-8")
    assert waves["available"] and waves["waves"] == list(simulated_data.waves)
    assert (waves["from"], waves["to"]) == ("baseline", "week-8")
    assert (waves["estimator"], waves["missing"]) == ("MLR", "ml")
    codes = [c.code for c in simulated_data.instruments[0].definition.constructs]
    assert [entry["construct"] for entry in waves["constructs"]] == codes
    labels = [entry["label"] for entry in simulated_section["comparisons"]]
    assert labels == [f"waves baseline → week-4 → week-8 (construct {code})" for code in codes]
    assert all(entry["kind"] == "waves" for entry in simulated_section["comparisons"])
    json.dumps(simulated_section, allow_nan=False)


def test_the_wave_ladders_use_every_wave_and_keep_the_participants_who_dropped_out(
    simulated_data, simulated_section
):
    instrument = simulated_data.instruments[0]
    for entry in simulated_section["waves"]["constructs"]:
        assert entry["waves"] == list(simulated_data.waves)
        assert set(entry["participants_per_wave"]) == set(simulated_data.waves)
        # the model has each item at the third wave; FIML keeps the participants who left
        assert all("__t3" in entry["syntax"][level] for level in LEVELS)
        items = [item for members in entry["factors"].values() for item in members]
        keyed = instrument.keyed[items]
        answered = keyed[keyed.notna().any(axis=1)].index.get_level_values("participant")
        assert entry["n"] == answered.nunique() > entry["complete"]
        assert entry["participants_per_wave"]["week-8"] < entry["n"]
        assert all(
            row["estimator"] == "MLR" and row["ntotal"] == entry["n"] for row in entry["levels"]
        )


def test_a_wave_ladder_equals_longitudinal_invariance_on_the_long_data(
    simulated_data, simulated_section
):
    (entry,) = [e for e in simulated_section["waves"]["constructs"] if e["construct"] == "SE"]
    items = [item for members in entry["factors"].values() for item in members]
    model = "\n".join(f"{f} =~ {' + '.join(m)}" for f, m in entry["factors"].items())
    long = simulated_data.instruments[0].keyed[items].reset_index()
    long = long[long[items].notna().any(axis=1)]
    direct = longitudinal_invariance(
        model,
        long,
        id="participant",
        time="wave",
        waves=list(simulated_data.waves),
        missing="ml",
        estimator="MLR",
        identification="marker",
    )
    assert direct.waves == list(simulated_data.waves) and direct.participants == entry["n"]
    steps = {step["level"]: step for step in direct.steps}
    for row in entry["levels"]:
        measures = direct.fits[row["level"]].fit_measures()
        for name in ("chisq", "df", "cfi.robust", "tli.robust", "rmsea.robust", "srmr", "aic"):
            want = measures[name.replace(".", "_")]
            assert row[name] == pytest.approx(want, rel=1e-8, abs=1e-8), (row["level"], name)
        if row["level"] != "configural":
            step = steps[row["level"]]
            for name in ("delta_chisq", "delta_df", "delta_pvalue", "delta_cfi", "delta_rmsea"):
                assert row[name] == pytest.approx(step[name], rel=1e-8, abs=1e-8), name
            assert row["supported"] is step["supported"]
    assert entry["highest_level"] == direct.highest_level


def test_the_wave_ladder_of_one_construct_equals_lavaan_and_semtools(
    simulated_data, simulated_section
):
    expected = json.loads((REFERENCE / "longitudinal_lavaan.json").read_text(encoding="utf-8"))
    assert expected["waves"] == list(simulated_data.waves)
    (ta,) = [e for e in simulated_section["waves"]["constructs"] if e["construct"] == "TA"]
    items = [item for members in ta["factors"].values() for item in members]
    wide = wide_rows(simulated_data.instruments[0], items, simulated_data.waves)
    committed = pd.read_csv(REFERENCE / "longitudinal_TA.csv", index_col="participant")
    pd.testing.assert_frame_equal(wide, committed.astype("float64"), check_names=False)
    assert ta["n"] == expected["rows"] == len(wide)

    # Measured: the unscaled measures (chisq, cfi, tli, rmsea, aic, bic) agree to 3e-10; the
    # scaled and robust ones (chisq.scaled, cfi/tli/rmsea.robust, srmr) to 1.3e-6 and the
    # Satorra-Bentler differences to 3e-6 (relative): their scaling factors come from the
    # saturated FIML model, which lavaan fits by EM to its own stopping tolerance.
    for row in ta["levels"]:
        theirs = expected["levels"][row["level"]]
        assert row["converged"] and theirs["converged"]
        for name, value in theirs["fit_measures"].items():
            assert math.isclose(row[name], value, rel_tol=1e-5, abs_tol=1e-6), (row, name)
        for name in ("delta_chisq", "delta_df", "delta_pvalue"):
            if name in theirs:
                assert math.isclose(row[name], theirs[name], rel_tol=1e-5, abs_tol=1e-5), name
        differences = theirs.get("latent_mean_differences", [])
        assert len(row["latent_means"]) == len(differences)
        for ours, their in zip(row["latent_means"], differences, strict=True):
            assert ours["factor"] == their["factor"]
            assert math.isclose(ours["est"], their["est"], rel_tol=1e-5, abs_tol=1e-5)
            assert math.isclose(ours["se"], their["se"], rel_tol=1e-5, abs_tol=1e-5)
    assert [row["level"] for row in ta["levels"]] == LEVELS


def test_waves_are_not_compared_with_one_wave_or_a_one_wave_selection():
    single = tiny(120)
    waves = measurement_invariance(single, single.instruments[0])["waves"]
    assert waves == waves | {"available": False, "reason": "the study has fewer than two waves"}
    chosen = study_data(simulated_answers(120, seed=3), wave="baseline")
    waves = measurement_invariance(chosen, chosen.instruments[0])["waves"]
    assert (
        waves["reason"]
        == "the run is restricted to wave 'baseline'; invariance across waves needs two"
    )


# --------------------------------------------------------------------------------------
# the report
# --------------------------------------------------------------------------------------
def test_the_report_shows_a_table_and_a_plot_per_ladder(simulated_report, simulated_section):
    # the other sections as when they cannot compute: no other plot to draw
    report = not_computed(simulated_report)
    report["instruments"][0]["invariance"] = simulated_section
    tree = Tree(render_report_html(report))
    assert tree.errors == []
    ladders = simulated_section["comparisons"]
    for position, ladder in enumerate(ladders, 1):
        rows = [cells(row) for row in body_rows(tree.root.find_id(f"i1-invariance-{position}"))]
        assert [row[0] for row in rows] == LEVELS
        metric = ladder["levels"][1]
        # the wave ladders (MLR) show the robust CFI they are judged on
        assert rows[1][3] == report_html.number(metric["cfi.robust"])
        assert rows[1][9:] == [
            report_html.number(metric["delta_cfi"]),
            report_html.number(metric["delta_rmsea"]),
        ]
    section = tree.root.find_id("i1-invariance")
    titles = [svg.elements()[0].text() for svg in section.iter("svg")]
    assert len(titles) == len(ladders)
    assert titles[0].startswith(
        "Invariance ladder, waves baseline → week-4 → week-8 (construct OE)"
    )
