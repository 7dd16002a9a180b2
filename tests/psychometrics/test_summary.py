"""CFAResult.summary() against lavaan 0.6-14's summary(fit, fit.measures = TRUE,
standardized = TRUE), block by block.

The reference texts were printed by ``expected/summary/generate_summary.R`` (R 4.2.2,
lavaan 0.6-14) on the Holzinger-Swineford data. Both texts are parsed into blocks of rows
(label, cells); the blocks, the rows and their labels must be the same, and every number
within 1e-3 (lavaan prints 3 decimals). The engine's own lines -- the first (its name and
iteration count) and the optimisation method -- are left out.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from psychometrics.cfa import cfa

HERE = Path(__file__).parent
EXPECTED = HERE / "expected" / "summary"
HS = HERE / "data" / "holzinger_swineford_1939.csv"
HS_MISSING = HERE / "data" / "hs_missing.csv"
MODEL = """
visual  =~ x1 + x2 + x3
textual =~ x4 + x5 + x6
speed   =~ x7 + x8 + x9
"""
SECOND_ORDER = """
visual  =~ x1 + a*x2 + a*x3
textual =~ x4 + x5 + x6
speed   =~ x7 + x8 + x9
g =~ visual + textual + speed
x1 ~~ x4
"""
RUNS = {
    "hs_ml": (HS, {}),
    "hs_mlr": (HS, {"estimator": "MLR"}),
    "hs_mlm": (HS, {"estimator": "MLM"}),
    "hs_ml_group": (HS, {"group": "school"}),
    "hs_ml_stdlv": (HS, {"std_lv": True}),
    "hs_metric": (HS, {"group": "school", "group_equal": ["loadings"]}),
    "hs_ml_fiml": (HS_MISSING, {"missing": "ml"}),
    "hs_mlr_fiml": (HS_MISSING, {"missing": "ml", "estimator": "MLR"}),
    "hs_mlr_group": (HS, {"group": "school", "estimator": "MLR"}),
    "hs_second_order": (HS, {"model": SECOND_ORDER}),
}
ENGINE_ROWS = {"Optimization method"}
NUMBER = re.compile(r"^-?\d+(\.\d+)?$|^NA$")


def parse(text: str) -> list[tuple[str, list[tuple[str, list[str]]]]]:
    """[(block title, [(row label, [cells])])]; blank lines dropped."""
    lines = [line for line in text.splitlines() if not line.startswith("#")]
    blocks: list[tuple[str, list]] = [("header", [])]
    for line in lines[1:]:  # the first line names the program and its iterations
        if not line.strip():
            continue
        if not line.startswith(" "):
            blocks.append((line.strip(), []))
            continue
        cells = re.split(r"\s{2,}", line.strip())
        blocks[-1][1].append((cells[0], cells[1:]))
    return blocks


def without_robust_rows(blocks):
    """lavaan's blocks less the robust CFI/TLI/RMSEA rows (ML with missing = "ml", whose
    FIML-corrected robust measures the engine computes only for MLR)."""
    out = []
    for title, rows in blocks:
        if title == "Root Mean Square Error of Approximation:":
            rows = rows[: [label for label, _ in rows].index("Robust RMSEA")]
        rows = [(label, cells) for label, cells in rows if not label.startswith("Robust")]
        out.append((title, rows))
    return out


def close(a: str, b: str) -> bool:
    if NUMBER.match(a) and NUMBER.match(b):
        if "NA" in (a, b):
            return a == b
        return abs(float(a) - float(b)) <= 1e-3 + 1e-9
    return a == b


@pytest.fixture(scope="module")
def hs():
    return pd.read_csv(HS)


@pytest.mark.parametrize("name", sorted(RUNS))
def test_summary_matches_lavaan_block_by_block(name):
    path, options = RUNS[name]
    options = dict(options)
    res = cfa(options.pop("model", MODEL), pd.read_csv(path), **options)
    ours = parse(res.summary())
    theirs = parse((EXPECTED / f"{name}.txt").read_text())
    if name == "hs_ml_fiml" and "cfi_robust" not in res.fit_measures():
        theirs = without_robust_rows(theirs)
    assert [title for title, _ in ours] == [title for title, _ in theirs]
    compared = 0
    for (title, mine), (_, ref) in zip(ours, theirs, strict=True):
        assert [label for label, _ in mine] == [label for label, _ in ref], title
        for (label, a), (_, b) in zip(mine, ref, strict=True):
            if label in ENGINE_ROWS:
                continue
            assert len(a) == len(b), (title, label, a, b)
            for x, y in zip(a, b, strict=True):
                assert close(x, y), (title, label, a, b)
                compared += NUMBER.match(y) is not None
    assert compared > 100


def test_summary_layout_is_lavaans(hs):
    """Apart from the engine's own two lines, the text is lavaan's character for character
    (with HS ML every printed number agrees to the last digit)."""
    ours = cfa(MODEL, hs).summary().splitlines()
    theirs = (EXPECTED / "hs_ml.txt").read_text().splitlines()[1:]
    assert ours[0].startswith("psychometrics CFA ended normally after ")
    assert ours[3] == "  Optimization method                           FISHER"
    assert [ours[i] for i in range(len(ours)) if i not in (0, 3)] == [
        theirs[i] for i in range(len(theirs)) if i not in (0, 3)
    ]


def test_summary_labels_constraints_and_second_order(hs):
    model = """
    visual  =~ x1 + a*x2 + a*x3
    textual =~ x4 + x5 + x6
    speed   =~ x7 + x8 + x9
    g =~ visual + textual + speed
    x1 ~~ x4
    """
    text = cfa(model, hs).summary()
    assert "  Number of equality constraints" in text
    assert re.search(r"^    x2 +\(a\) +0\.\d{3}", text, re.M)
    assert "  .visual ~~" not in text and re.search(r"^   \.visual +\d", text, re.M)
    assert re.search(r"^ \.x1 ~~\s*$", text, re.M) and re.search(r"^   \.x4 +", text, re.M)


# --------------------------------------------------------------------------- the CLI's text
def test_cli_text_is_the_summary_and_std_lv_is_passed(tmp_path, capsys):
    from psychometrics.cli import main

    model = tmp_path / "hs.lav"
    model.write_text(MODEL)
    argv = ["cfa", "--data", str(HS), "--model", str(model), "--std-lv"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert out == cfa(MODEL, pd.read_csv(HS), std_lv=True).summary().rstrip() + "\n"
    assert parse(out) == parse(cfa(MODEL, pd.read_csv(HS), std_lv=True).summary())
    theirs = parse((EXPECTED / "hs_ml_stdlv.txt").read_text())
    ours = dict(parse(out))
    assert [label for label, _ in ours["Latent Variables:"]] == [
        label for label, _ in dict(theirs)["Latent Variables:"]
    ]
    assert ours["Variances:"][-1] == ("speed", ["1.000", "1.000", "1.000"])


def test_cli_invariance_std_lv(tmp_path, capsys):
    import json

    from psychometrics.cli import main

    model = tmp_path / "hs.lav"
    model.write_text(MODEL)
    argv = ["invariance", "--data", str(HS), "--model", str(model), "--group", "school"]
    assert main([*argv, "--std-lv", "--json"]) == 0
    fits = json.loads(capsys.readouterr().out)["result"]["fits"]
    variances = [
        r
        for r in fits["configural"]["estimates"]
        if r["op"] == "~~" and r["lhs"] == r["rhs"] == "visual"
    ]
    assert [(r["est"], r["free"]) for r in variances] == [(1.0, False), (1.0, False)]
    # metric: the first group's factor variances stay 1, the second's are free
    metric = [
        r
        for r in fits["metric"]["estimates"]
        if r["op"] == "~~" and r["lhs"] == r["rhs"] == "visual"
    ]
    assert [r["free"] for r in metric] == [False, True]
