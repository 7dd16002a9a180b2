"""The CLI's ``cfa`` and ``invariance`` surface a fit's warnings: ``warning:`` lines on stderr, a
WARNING block before the numbers, and exit status 3 when the fit did not converge or has no
standard errors (a Heywood case alone warns and exits 0)."""

import functools
import json
import subprocess
import sys
from pathlib import Path

import pandas as pd

from psychometrics.cli import EXIT_UNTRUSTWORTHY, main

HERE = Path(__file__).parent
HS = HERE / "data" / "holzinger_swineford_1939.csv"
HEYWOOD = HERE / "data" / "heywood_sim.csv"  # lavaan 0.6-14 finds theta(h1) < 0 (cfa_heywood.json)
HEYWOOD_MODEL = "f1 =~ h1 + h2 + h3\nf2 =~ h4 + h5 + h6\n"
HS_MODEL = "visual =~ x1 + x2 + x3\ntextual =~ x4 + x5 + x6\nspeed =~ x7 + x8 + x9\n"
# Two indicators for f and f fixed uncorrelated with g: df = 5, but f's loadings and variance
# are not separately identified, so the information matrix is singular.
EMPIRICALLY_UNDERIDENTIFIED = "f =~ x1 + x2\ng =~ x4 + x5 + x6\nf ~~ 0*g\n"


def _model(tmp_path, text):
    path = tmp_path / "model.lav"
    path.write_text(text, encoding="utf-8")
    return str(path)


def _run(capsys, *argv):
    status = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return subprocess.CompletedProcess(argv, status, out, err)


def _warning_lines(stderr):
    lines = stderr.strip().splitlines()
    assert lines and all(line.startswith("warning: ") for line in lines), stderr
    return lines


def test_exit_status_3_is_documented_in_help(capsys):
    for argv in (["--help"], ["cfa", "--help"], ["invariance", "--help"]):
        try:
            main(argv)
        except SystemExit as stop:
            assert stop.code == 0
        text = " ".join(capsys.readouterr().out.split())
        assert "Exit status 3" in text or "3 cfa/invariance printed results" in text
        assert "Heywood" in text


def test_well_fitting_model_prints_no_warning(tmp_path, capsys):
    proc = _run(capsys, "cfa", "--data", HS, "--model", _model(tmp_path, HS_MODEL))
    assert proc.returncode == 0
    assert proc.stderr == ""
    assert proc.stdout.startswith("psychometrics CFA ended normally")  # summary()


def test_heywood_case_warns_first_and_exits_0(tmp_path):
    # a real process: the status is what a shell script sees
    proc = subprocess.run(
        [sys.executable, "-m", "psychometrics", "cfa", "--data", str(HEYWOOD), "--model"]
        + [_model(tmp_path, HEYWOOD_MODEL)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    lines = _warning_lines(proc.stderr)
    assert any("Heywood case" in w and "'h1'" in w and "negative" in w for w in lines)
    assert any("exceeds 1" in w for w in lines)
    text = proc.stdout.splitlines()
    assert text[0].startswith("WARNING")
    assert "not trustworthy" not in text[0]
    assert any("residual variance of 'h1' is negative" in t for t in text[1:3])
    # the numbers follow the warning block
    assert text.index("Model Test User Model:") > text.index("")
    assert "Parameter Estimates:" in proc.stdout


def test_empirically_underidentified_model_exits_3_and_still_prints(tmp_path, capsys):
    model = _model(tmp_path, EMPIRICALLY_UNDERIDENTIFIED)
    proc = _run(capsys, "cfa", "--data", HS, "--model", model)
    assert proc.returncode == EXIT_UNTRUSTWORTHY == 3
    lines = _warning_lines(proc.stderr)
    assert any("information matrix is singular" in w for w in lines)
    assert any("no standard error for 10 of 10 free parameter(s)" in w for w in lines)
    assert proc.stdout.startswith("WARNING: the results below are not trustworthy (exit status 3)")
    assert "Model Test User Model:" in proc.stdout and "Parameter Estimates:" in proc.stdout

    proc = _run(capsys, "cfa", "--data", HS, "--model", model, "--json")
    assert proc.returncode == 3
    result = json.loads(proc.stdout)["result"]  # stdout stays one JSON document
    assert all(r["se"] is None for r in result["estimates"] if r["free"])
    assert [f"warning: {w}" for w in result["warnings"]] == _warning_lines(proc.stderr)[:1]


def test_model_with_negative_df_is_bad_input(tmp_path, capsys):
    proc = _run(capsys, "cfa", "--data", HS, "--model", _model(tmp_path, "f =~ x1 + x2\n"))
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert "not identified" in proc.stderr and "df = -1" in proc.stderr


def test_non_convergence_exits_3_with_the_optimiser_message(tmp_path, capsys, monkeypatch):
    from psychometrics.cfa import fitting

    # the real optimiser, stopped after two iterations (as in test_cfa.py)
    monkeypatch.setattr(
        fitting, "fisher_scoring", functools.partial(fitting.fisher_scoring, max_iter=2)
    )
    proc = _run(capsys, "cfa", "--data", HS, "--model", _model(tmp_path, HS_MODEL))
    assert proc.returncode == 3
    lines = _warning_lines(proc.stderr)
    assert any("did not converge" in w and "2 iterations" in w for w in lines), lines
    assert proc.stdout.startswith("WARNING: the results below are not trustworthy")
    assert "did NOT end normally after 2 iterations" in proc.stdout
    assert "Parameter Estimates:" in proc.stdout


def test_invariance_warns_per_level_and_exits_3(tmp_path, capsys):
    model = _model(tmp_path, EMPIRICALLY_UNDERIDENTIFIED)
    proc = _run(capsys, "invariance", "--data", HS, "--model", model, "--group", "school")
    assert proc.returncode == 3
    lines = _warning_lines(proc.stderr)
    assert any(w.startswith("warning: configural model: the information matrix") for w in lines)
    assert proc.stdout.startswith("WARNING: the results below are not trustworthy")
    assert "Measurement invariance across school" in proc.stdout


def test_invariance_heywood_case_warns_and_exits_0(tmp_path, capsys):
    data = pd.read_csv(HEYWOOD)
    data["g"] = ["a", "b"] * (len(data) // 2)
    csv = tmp_path / "heywood_groups.csv"
    data.to_csv(csv, index=False)
    model = _model(tmp_path, HEYWOOD_MODEL)
    proc = _run(capsys, "invariance", "--data", csv, "--model", model, "--group", "g")
    assert proc.returncode == 0
    lines = _warning_lines(proc.stderr)
    assert any(w.startswith("warning: configural model: Heywood case") for w in lines)
    assert any("in group 'a'" in w for w in lines)
    assert proc.stdout.startswith("WARNING: read the results below")
