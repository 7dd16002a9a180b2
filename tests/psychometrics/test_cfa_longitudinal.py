"""Longitudinal invariance (psychometrics.cfa.longitudinal and ``invariance --longitudinal``)
against lavaan 0.6-14 / semTools 0.5-6.

The reference (``expected/longitudinal/``, written by ``generate_longitudinal.R``): 400
simulated participants, 2 factors x 3 items, 3 waves (0, 4, 8), scalar invariant with rising
latent means, residual variances growing (strict fails), ~22 % dropout by wave 3 (MAR on the
wave-1 scores); measEq.syntax's ladder (ID.fac = "std.lv", auto = "all") fitted listwise
(310 participants at every wave) and with missing = "ml" (all 400), by ML and by MLR.
"""

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from psychometrics.cfa import DataError
from psychometrics.cfa.longitudinal import (
    LEVELS,
    build_design,
    longitudinal_invariance,
    longitudinal_syntax,
    to_wide,
)
from psychometrics.cli import main

HERE = Path(__file__).parent / "expected" / "longitudinal"
LONG = HERE / "long.csv"
MODEL = HERE / "model.lav"
REFERENCE = json.loads((HERE / "lavaan_longitudinal.json").read_text(encoding="utf-8"))
CLI = ["invariance", "--data", str(LONG), "--model", str(MODEL), "--longitudinal"]
IDS = ["--id", "participant", "--time", "wave"]


def run(*args):
    return subprocess.run(
        [sys.executable, "-m", "psychometrics", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=120,
    )


def run_in_process(capsys, *argv):
    try:
        status = main(list(map(str, argv)))
    except SystemExit as exc:  # argparse's own errors
        status = exc.code
    out, err = capsys.readouterr()
    return subprocess.CompletedProcess(argv, status, out, err)


def assert_usage_error(proc, *fragments):
    assert proc.returncode == 2, (proc.returncode, proc.stderr)
    assert proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


def differences(ours: dict, reference: dict) -> dict[str, float]:
    """Largest differences of one ladder from lavaan's: fit measures (chi-squares relative),
    estimates, standard errors, and the difference tests."""
    worst = {"fit": 0.0, "chisq": 0.0, "est": 0.0, "se": 0.0, "test": 0.0}
    for level, theirs in reference["levels"].items():
        mine = ours["levels"][level]
        assert mine["converged"] and theirs["converged"], level
        for name, value in theirs["fit_measures"].items():
            if name == "fmin":  # lavaan's F at the minimum (chisq / 2N); not reported
                continue
            assert name in mine["fit_measures"], name
            if value is None:
                assert mine["fit_measures"][name] is None, name
            elif name.startswith(("chisq", "baseline.chisq")) and "factor" not in name:
                rel = abs(mine["fit_measures"][name] - value) / value
                worst["chisq"] = max(worst["chisq"], rel)
            else:
                worst["fit"] = max(worst["fit"], abs(mine["fit_measures"][name] - value))
        rows = {(r["lhs"], r["op"], r["rhs"]): r for r in mine["estimates"]}
        assert len(rows) == len(theirs["estimates"]), level
        for row in theirs["estimates"]:
            ours_row = rows[(row["lhs"], row["op"], row["rhs"])]
            worst["est"] = max(worst["est"], abs(ours_row["est"] - row["est"]))
            worst["se"] = max(worst["se"], abs(ours_row["se"] - row["se"]))
    tests = {t["level"]: t for t in ours["tests"]}
    for row in reference["lrt"][1:]:
        mine = tests[row["level"]]
        assert mine["delta_df"] == row["df_diff"]
        worst["chisq"] = max(
            worst["chisq"], abs(mine["delta_chisq"] - row["chisq_diff"]) / row["chisq_diff"]
        )
        worst["test"] = max(worst["test"], abs(mine["delta_pvalue"] - row["pvalue"]))
    return worst


def assert_within_tolerance(worst: dict[str, float]) -> None:
    assert worst["fit"] < 1e-3, worst
    assert worst["chisq"] < 1e-4, worst
    assert worst["est"] < 1e-3 and worst["se"] < 1e-3, worst
    assert worst["test"] < 1e-3, worst


def chen(reference: dict, level: str, before: str) -> bool:
    fm = reference["levels"][level]["fit_measures"]
    pm = reference["levels"][before]["fit_measures"]
    return fm["cfi"] - pm["cfi"] >= -0.010 and fm["rmsea"] - pm["rmsea"] <= 0.015


# --------------------------------------------------------------------------- the CLI contract
@pytest.mark.parametrize("missing", ["listwise", "ml"])
def test_the_cli_ladder_equals_lavaan(missing):
    proc = run(*CLI, *IDS, "--missing", missing, "--json")
    assert proc.returncode == 0, proc.stderr
    document = json.loads(proc.stdout)
    assert document["command"] == "invariance"
    result = document["result"]
    reference = REFERENCE[missing]

    design = result["design"]
    assert design["waves"] == [0, 4, 8] == REFERENCE["meta"]["waves"]
    assert design["identification"] == "std.lv" and design["estimator"] == "ML"
    assert design["missing"] == missing and design["participants"] == 400
    assert design["rows_per_wave"] == {"0": 400, "4": 351, "8": 310}
    assert design["factors"] == {f: [f"{f}_w{k}" for k in (1, 2, 3)] for f in ("F1", "F2")}
    assert list(result["levels"]) == list(LEVELS)
    for level in LEVELS:
        assert result["levels"][level]["nobs"] == reference["nobs"]
        assert result["levels"][level]["fit_measures"]["ntotal"] == reference["nobs"]

    assert_within_tolerance(differences(result, reference))

    steps = result["tests"]
    assert [(s["from"], s["level"]) for s in steps] == [
        ("configural", "metric"),
        ("metric", "scalar"),
        ("scalar", "strict"),
    ]
    for step in steps:
        assert step["supported"] is chen(reference, step["level"], step["from"])
        assert step["decision"].startswith("supported" if step["supported"] else "not supported")
    # the population is scalar invariant and its residual variances grow across the waves
    assert [s["supported"] for s in steps] == [True, True, False]
    assert result["highest_level"] == "scalar"


def test_the_text_output_shows_each_level_and_decision(capsys):
    proc = run_in_process(capsys, *CLI, *IDS)
    assert proc.returncode == 0, proc.stderr
    assert "across wave = 0, 4, 8 (400 participants, 310 analysed" in proc.stdout
    for level in LEVELS:
        assert any(line.startswith(level) for line in proc.stdout.splitlines()), level
    assert "scalar -> strict: not supported: delta CFI" in proc.stdout
    assert proc.stdout.rstrip().endswith("highest level supported: scalar")


# --------------------------------------------------------------------------- robust ML
@pytest.mark.parametrize("missing", ["listwise", "ml"])
def test_the_mlr_ladder_equals_lavaan(capsys, missing):
    proc = run_in_process(capsys, *CLI, *IDS, "--missing", missing, "--estimator", "mlr", "--json")
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)["result"]
    reference = REFERENCE[f"mlr_{missing}"]
    assert result["design"]["estimator"] == "MLR"
    for level in LEVELS:
        fm = result["levels"][level]["fit_measures"]
        assert fm["chisq.scaling.factor"] is not None and fm["cfi.robust"] is not None
    # fit measures include the scaled and robust ones; the tests are Satorra-Bentler 2001
    assert_within_tolerance(differences(result, reference))
    steps = result["tests"]
    assert {s["method"] for s in steps} == {"satorra.bentler.2001"}
    for step in steps:
        fm = reference["levels"][step["level"]]["fit_measures"]
        pm = reference["levels"][step["from"]]["fit_measures"]
        assert math.isclose(step["delta_cfi"], fm["cfi.robust"] - pm["cfi.robust"], abs_tol=1e-6)
        assert math.isclose(
            step["delta_rmsea"], fm["rmsea.robust"] - pm["rmsea.robust"], abs_tol=1e-6
        )
    assert [s["supported"] for s in steps] == [True, True, False]


# --------------------------------------------------------------------------- the model
def test_the_syntax_generalises_to_any_number_of_waves():
    design = build_design("A =~ a1 + a2 + a3\nB =~ b1 + b2 + b3 + b4", 4)
    configural = longitudinal_syntax(design, "configural").splitlines()
    # every pair of waves of every item: 7 items x C(4, 2)
    autocorrelations = [line for line in configural if line.count("~~") and "1*" not in line]
    assert len(autocorrelations) == 7 * 6
    assert "a1_w2 ~~ a1_w4" in configural
    assert "A_w3 =~ NA*a1_w3 + a2_w3 + a3_w3" in configural
    assert sum(line.endswith(" ~~ 1*A_w1") or "~~ 1*" in line for line in configural) == 8

    strict = longitudinal_syntax(design, "strict").splitlines()
    assert "B_w4 =~ NA*load.B.b1*b1_w4 + load.B.b2*b2_w4 + load.B.b3*b3_w4 + load.B.b4*b4_w4" in (
        strict
    )
    assert [line for line in strict if "~~ 1*" in line] == ["A_w1 ~~ 1*A_w1", "B_w1 ~~ 1*B_w1"]
    assert "b3_w2 ~ int.b3*1" in strict and "b3_w2 ~~ res.b3*b3_w2" in strict
    assert [line for line in strict if line.endswith("~ NA*1")] == [
        f"{f}_w{k} ~ NA*1" for k in (2, 3, 4) for f in ("A", "B")
    ]
    marker = longitudinal_syntax(design, "metric", identification="marker").splitlines()
    assert "A_w2 =~ a1_w2 + load.A.a2*a2_w2 + load.A.a3*a3_w2" in marker
    assert not [line for line in marker if "~~ 1*" in line]


def test_marker_identification_gives_the_same_fit_and_scaled_means():
    long = pd.read_csv(LONG)
    model = MODEL.read_text(encoding="utf-8")
    kwargs = {"id": "participant", "time": "wave", "waves": [0, 8], "levels": ["scalar"]}
    std = longitudinal_invariance(model, long, **kwargs).fits["scalar"]
    marker = longitudinal_invariance(model, long, identification="marker", **kwargs)
    marker = marker.fits["scalar"]
    for name in ("chisq", "df", "cfi", "rmsea", "srmr", "logl"):
        assert math.isclose(std.fit_measures()[name], marker.fit_measures()[name], abs_tol=1e-6)

    def value(fit, lhs, op, rhs=""):
        est = fit.estimates
        return est.loc[(est.lhs == lhs) & (est.op == op) & (est.rhs == rhs), "est"].item()

    # the latent mean difference in marker units is the std.lv one times the first loading
    assert math.isclose(
        value(marker, "F1_w2", "~1"),
        value(std, "F1_w2", "~1") * value(std, "F1_w1", "=~", "x1_w1"),
        rel_tol=1e-4,
    )


def test_the_model_must_be_plain_first_order_statements():
    with pytest.raises(ValueError, match="plain 'F =~ x1 \\+ x2 \\+ x3' statements"):
        build_design("F =~ x1 + a*x2 + x3", 2)
    with pytest.raises(ValueError, match="'x1 ~~ x2'"):
        build_design("F =~ x1 + x2 + x3\nx1 ~~ x2", 2)
    with pytest.raises(ValueError, match="first-order factors only"):
        build_design("F =~ x1 + x2 + x3\nG =~ y1 + y2 + y3\nH =~ F + G", 2)
    with pytest.raises(ValueError, match="at least 2 waves"):
        build_design("F =~ x1 + x2 + x3", 1)


# --------------------------------------------------------------------------- the data
def test_long_to_wide_keeps_dropouts_with_missing_later_waves():
    long = pd.read_csv(LONG)
    design = build_design(MODEL.read_text(encoding="utf-8"), 3)
    wide = to_wide(long.sample(frac=1.0, random_state=1), design, id="participant", time="wave")
    assert wide.waves == [0, 4, 8]  # numeric waves sorted, whatever the row order
    assert wide.frame.shape == (400, 18)
    assert list(wide.frame.columns[:7]) == [f"x{i}_w1" for i in range(1, 7)] + ["x1_w2"]
    complete = wide.frame.dropna()
    assert len(complete) == REFERENCE["listwise"]["nobs"] == 310
    # a participant missing at wave 2 is missing at wave 3 (monotone dropout) but kept
    gone = wide.frame[wide.frame["x1_w2"].isna()]
    assert len(gone) == 49 and gone.filter(like="_w3").isna().all().all()
    assert gone.filter(like="_w1").notna().all().all()
    row = long[(long.participant == "P002") & (long.wave == 4)].iloc[0]
    assert wide.frame.loc["P002", "x5_w2"] == row["x5"]


def test_text_waves_keep_their_order_of_appearance_or_the_given_order():
    long = pd.DataFrame(
        {
            "pid": [1, 1, 1, 2, 2],
            "visit": ["baseline", "week-4", "week-12", "baseline", "week-12"],
            "a": [1.0, 2.0, 3.0, 4.0, 5.0],
        }
    )
    wide = to_wide(long, ["a"], id="pid", time="visit")
    assert wide.waves == ["baseline", "week-4", "week-12"]
    assert np.isnan(wide.frame.loc[2, "a_w2"]) and wide.frame.loc[2, "a_w3"] == 5.0
    wide = to_wide(long, ["a"], id="pid", time="visit", waves=["week-12", "baseline"])
    assert wide.waves == ["week-12", "baseline"] and wide.frame.loc[1].tolist() == [3.0, 1.0]
    assert wide.rows_per_wave == {"week-12": 2, "baseline": 2}


def test_numeric_waves_are_matched_by_value():
    long = pd.DataFrame({"pid": [1, 1, 2, 2], "t": [0.0, 4.0, 0.0, 4.0], "a": [1.0, 2, 3, 4]})
    wide = to_wide(long, ["a"], id="pid", time="t", waves=["4", 0])
    assert wide.waves == [4.0, 0.0] and wide.frame["a_w1"].tolist() == [2.0, 4.0]


@pytest.mark.parametrize(
    ("frame", "kwargs", "message"),
    [
        (
            {"pid": [1, 1, 1], "t": [1, 1, 2], "a": [1.0, 2.0, 3.0]},
            {},
            "participant 1 has 2 rows at wave 1",
        ),
        ({"pid": [1, 2], "t": [1, 1], "a": [1.0, 2.0]}, {}, "has 1 wave (1); longitudinal"),
        ({"pid": [1, None], "t": [1, 2], "a": [1.0, 2.0]}, {}, "1 row(s) have no participant id"),
        ({"pid": [1, 1], "t": [1, 2], "a": ["x", "y"]}, {}, "must be numeric: a"),
        ({"pid": [1, 1], "t": [1, 2], "b": [1.0, 2.0]}, {}, "not in the data: a"),
        ({"pid": [1, 1], "t": [1, 2], "a": [1.0, 2.0]}, {"waves": [1, 3]}, "wave(s) 3 not found"),
    ],
)
def test_bad_long_data_is_a_data_error(frame, kwargs, message):
    with pytest.raises(DataError) as info:
        to_wide(pd.DataFrame(frame), ["a"], id="pid", time="t", **kwargs)
    assert message in str(info.value)


# --------------------------------------------------------------------------- usage errors
def test_an_unsupported_estimator_is_a_clear_error(capsys):
    proc = run_in_process(capsys, *CLI, *IDS, "--estimator", "GLS", "--json")
    assert_usage_error(
        proc, "--estimator", "not supported: GLS", "ML (--missing listwise or ml)", "WLSMV"
    )
    proc = run_in_process(capsys, *CLI, *IDS, "--estimator", "MLM", "--missing", "ml")
    assert_usage_error(proc, "--missing", "not supported with --estimator MLM", "listwise")


@pytest.mark.parametrize(
    ("extra", "fragments"),
    [
        (
            ["--estimator", "wlsmv", *IDS],
            ["--ordered", "is for ordered items", "supported: ML, MLR, MLM"],
        ),
        (["--group", "wave", *IDS], ["--group and --longitudinal exclude each other"]),
        (["--id", "participant"], ["--longitudinal: needs --time COL"]),
        (["--id", "participant", "--time", "visit"], ["long.csv", "time column 'visit'"]),
        (["--id", "pid", "--time", "wave"], ["long.csv", "id column 'pid' is not in the data"]),
        ([*IDS, "--waves", "0"], ["long.csv", "has 1 wave (0)"]),
    ],
)
def test_usage_errors_name_the_problem(capsys, extra, fragments):
    assert_usage_error(run_in_process(capsys, *CLI, *extra), *fragments)


def test_usage_errors_without_longitudinal(capsys):
    base = ["invariance", "--data", str(LONG), "--model", str(MODEL)]
    assert_usage_error(run_in_process(capsys, *base), "give --group COL", "--longitudinal")
    assert_usage_error(run_in_process(capsys, *base, *IDS), "--id: only with --longitudinal")


def test_a_participant_twice_at_a_wave_names_the_file(tmp_path, capsys):
    long = pd.read_csv(LONG)
    doubled = pd.concat([long, long.iloc[[3]]])
    path = tmp_path / "doubled.csv"
    doubled.to_csv(path, index=False)
    argv = ["invariance", "--data", path, "--model", MODEL, "--longitudinal", *IDS]
    proc = run_in_process(capsys, *argv)
    assert_usage_error(proc, "doubled.csv", "participant 'P002' has 2 rows at wave 0")


def test_a_model_with_constraints_names_the_model_file(tmp_path, capsys):
    model = tmp_path / "labelled.lav"
    model.write_text("F1 =~ x1 + a*x2 + x3\nF2 =~ x4 + x5 + x6\n", encoding="utf-8")
    argv = ["invariance", "--data", LONG, "--model", model, "--longitudinal", *IDS]
    assert_usage_error(run_in_process(capsys, *argv), "line 1", "plain 'F =~ x1 + x2 + x3'")
