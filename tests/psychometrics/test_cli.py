"""``python -m psychometrics`` run as a subprocess on CSV files written to tmp_path."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

HERE = Path(__file__).parent
HS = HERE / "data" / "holzinger_swineford_1939.csv"
LIKERT = HERE / "data" / "reliability_likert_sim.csv"
HS_MODEL = """
visual  =~ x1 + x2 + x3
textual =~ x4 + x5 + x6
speed   =~ x7 + x8 + x9
"""


def run(*args, cwd=None):
    return subprocess.run(
        [sys.executable, "-m", "psychometrics", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
    )


def oracle(name):
    with open(HERE / "expected" / name, encoding="utf-8") as fh:
        return json.load(fh)


def assert_one_line_error(proc, *fragments):
    assert proc.returncode == 2, proc.stderr
    assert proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


def test_describe_prints_an_aligned_table(tmp_path):
    csv = tmp_path / "answers.csv"
    pd.DataFrame({"q1": [1, 2, 2, 5, None], "q2": [3, 3, 4, 5, 5]}).to_csv(csv, index=False)
    proc = run("describe", "--data", csv, "--range", 1, 5)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert "floor/ceiling against the given range" in lines[0]
    header, q1 = lines[1], lines[3]
    assert header.split()[:3] == ["n", "missing_pct", "mean"]
    assert q1.split()[:4] == ["q1", "4", "20.0000", "2.5000"]
    assert "Response counts" in proc.stdout


def test_reliability_json_reverse_keys_and_matches_psych():
    proc = run(
        "reliability",
        "--data",
        LIKERT,
        "--range",
        1,
        5,
        "--scale",
        "a=a1,a2,-a3,a4,a5,-a6",
        "--scale",
        "b=b1,b2,b3,b4,b5",
        "--missing",
        "pairwise",
        "--no-omega",
        "--json",
    )
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    expected = oracle("reliability_oracles.json")["likert_sim"]
    for name in ("a", "b"):
        got = doc["result"]["scales"][name]
        want = expected[name]["alpha_pairwise"]
        assert got["alpha"]["alpha"] == pytest.approx(want["raw_alpha"], abs=1e-10)
        assert got["alpha"]["missing"] == "pairwise"
        for item, value in want["r_drop"].items():
            assert got["alpha"]["items"][item]["r_drop"] == pytest.approx(value, abs=1e-10)
        assert "spearman_brown" in got["split_half"]
    assert doc["result"]["scales"]["a"]["key"]["reverse"] == ["a3", "a6"]


def test_reliability_text_marks_reversed_items():
    proc = run("reliability", "--data", LIKERT, "--range", 1, 5, "--scale", "a=a1,a2,-a3")
    assert proc.returncode == 0, proc.stderr
    assert "reverse-keyed: a3" in proc.stdout
    assert "Cronbach's alpha" in proc.stdout and "(Feldt)" in proc.stdout
    assert "omega total" in proc.stdout
    assert any(line.split()[:1] == ["-a3"] for line in proc.stdout.splitlines())


def test_efa_json_matches_psych_and_uses_parallel_analysis():
    items = ",".join(f"x{i}" for i in range(1, 10))
    proc = run("efa", "--data", HS, "--items", items, "--seed", 3, "--iterations", 20, "--json")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)["result"]
    assert doc["seed"] == 3
    assert doc["parallel_analysis"]["n_factors"] == 3
    assert doc["efa"]["method"] == "minres" and doc["efa"]["rotation"] == "oblimin"
    expected = oracle("efa_oracles.json")["holzinger_swineford"]
    want = np.array(expected["fa"]["minres_oblimin"]["loadings"])
    got = np.array([[row[f"F{j}"] for j in (1, 2, 3)] for row in doc["efa"]["loadings"].values()])
    np.testing.assert_allclose(got, want, atol=1e-4)
    assert doc["kmo"]["overall"] == pytest.approx(expected["kmo"]["overall"], abs=1e-10)


def test_json_has_no_nan(tmp_path, capsys):
    from psychometrics.cli import main

    csv = tmp_path / "const.csv"
    pd.DataFrame({"q1": [3, 3, 3], "q2": [1, 2, 3]}).to_csv(csv, index=False)
    assert main(["describe", "--data", str(csv), "--json"]) == 0
    out = capsys.readouterr().out
    assert "NaN" not in out
    assert json.loads(out)["result"]["items"]["q1"]["skew"] is None


# --------------------------------------------------------------------------- bad input
def _write(tmp_path, name, content):
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


BAD = [
    ("missing.csv", None, ["describe"], ["missing.csv", "no such file"]),
    ("empty.csv", "", ["describe"], ["empty.csv", "empty"]),
    (
        "binary.csv",
        b"\xff\xfe\x00garbage\x80\n",
        ["describe"],
        ["binary.csv", "not a readable CSV"],
    ),
    ("ragged.csv", "a,b\n1,2,3,4\n5,6\n", ["describe"], ["ragged.csv", "not a readable CSV"]),
    ("quote.csv", 'a,b\n1,2\n"3,4\n', ["describe"], ["quote.csv", "not a readable CSV"]),
    ("text.csv", "a,b\n1,x\n2,y\n3,z\n", ["describe"], ["text.csv", "'b' is not numeric"]),
    (
        "absent.csv",
        "a,b,c\n1,2,3\n2,3,4\n3,4,4\n",
        ["reliability", "--scale", "s=a,b,zz"],
        ["absent.csv", "zz"],
    ),
    (
        "norange.csv",
        "a,b,c\n1,2,3\n2,3,4\n3,4,4\n",
        ["reliability", "--scale", "s=a,-b,c"],
        ["--range"],
    ),
    ("short.csv", "a,b,c\n1,2,3\n2,3,4\n", ["reliability", "--scale", "s=a,b,c"], ["short.csv"]),
    ("short2.csv", "a,b,c\n1,2,3\n2,3,4\n", ["efa"], ["short2.csv", "at least 3"]),
    ("badscale.csv", "a,b\n1,2\n", ["reliability", "--scale", "nameless"], ["NAME=ITEM"]),
    ("opt.csv", "a,b\n1,2\n", ["efa", "--rotation", "spin"], ["invalid choice"]),
]


# A few bad inputs go through a real subprocess; the rest call main() in-process, which is the
# same code path without a second of interpreter start-up each.
SUBPROCESS_CASES = {"missing.csv", "ragged.csv", "text.csv", "norange.csv"}


@pytest.mark.parametrize(("name", "content", "args", "fragments"), BAD, ids=[b[0] for b in BAD])
def test_bad_input_gives_one_line_and_status_2(tmp_path, capsys, name, content, args, fragments):
    path = tmp_path / name if content is None else _write(tmp_path, name, content)
    argv = [args[0], "--data", str(path), *args[1:]]
    if name in SUBPROCESS_CASES:
        assert_one_line_error(run(*argv), *fragments)
        return
    from psychometrics.cli import main

    try:
        status = main(argv)
    except SystemExit as exc:  # argparse errors
        status = exc.code
    out, err = capsys.readouterr()
    proc = subprocess.CompletedProcess(argv, status, out, err)
    assert_one_line_error(proc, *fragments)


def test_scale_values_outside_the_range(tmp_path, capsys):
    from psychometrics.cli import main

    path = _write(tmp_path, "range.csv", "a,b,c\n1,2,7\n2,3,4\n3,4,4\n4,2,1\n")
    status = main(["reliability", "--data", str(path), "--range", "1", "5", "--scale", "s=a,b,-c"])
    out, err = capsys.readouterr()
    assert_one_line_error(subprocess.CompletedProcess([], status, out, err), "range.csv", "outside")


# --------------------------------------------------------------------------- CFA engine
def test_cfa_runs_on_a_model_file(tmp_path):
    model = _write(tmp_path, "hs.lav", HS_MODEL)
    proc = run("cfa", "--data", HS, "--model", model, "--json")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["command"] == "cfa"
    text = run("cfa", "--data", HS, "--model", model)
    assert text.returncode == 0, text.stderr
    assert "Model Test User Model:" in text.stdout and "Parameter Estimates:" in text.stdout


def test_invariance_runs(tmp_path):
    model = _write(tmp_path, "hs.lav", HS_MODEL)
    proc = run("invariance", "--data", HS, "--model", model, "--group", "school", "--json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["command"] == "invariance"


def test_model_syntax_error_names_the_model_file(tmp_path):
    model = _write(tmp_path, "broken.lav", "visual =~ x1 + + x2\n")
    proc = run("cfa", "--data", HS, "--model", model)
    assert_one_line_error(proc, "broken.lav")


def test_model_naming_absent_columns(tmp_path):
    model = _write(tmp_path, "absent.lav", "f =~ x1 + x2 + nope\n")
    proc = run("cfa", "--data", HS, "--model", model)
    assert proc.returncode in (1, 2)
    assert len(proc.stderr.strip().splitlines()) == 1 and "nope" in proc.stderr


def test_missing_model_file(tmp_path, capsys):
    from psychometrics.cli import main

    status = main(["cfa", "--data", str(HS), "--model", str(tmp_path / "none.lav")])
    out, err = capsys.readouterr()
    proc = subprocess.CompletedProcess([], status, out, err)
    assert_one_line_error(proc)
    assert "none.lav" in proc.stderr or "CFA engine" in proc.stderr


def test_unknown_group_column(tmp_path, capsys):
    from psychometrics.cli import main

    model = _write(tmp_path, "hs.lav", HS_MODEL)
    argv = ["invariance", "--data", str(HS), "--model", str(model), "--group", "nope"]
    status = main(argv)
    out, err = capsys.readouterr()
    proc = subprocess.CompletedProcess(argv, status, out, err)
    assert_one_line_error(proc)
    assert "nope" in proc.stderr or "CFA engine" in proc.stderr
