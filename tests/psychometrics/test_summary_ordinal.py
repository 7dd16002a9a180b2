"""OrdinalCFAResult.summary() against lavaan 0.6-14's summary(fit, fit.measures = TRUE,
standardized = TRUE) of categorical fits, block by block (as test_summary.py).

The reference texts were printed by ``expected/summary/generate_summary_ordinal.R`` (R 4.2.2,
lavaan 0.6-14) on the ordinal oracles' data: sparse5.csv (WLSMV in the delta and the theta
parameterisation, WLSM, ULSMV), missing5.csv (WLSMV, pairwise) and second_order5.csv (a
second-order model, WLSMV). Both texts are parsed into blocks of rows (label, cells); the
blocks, the rows and their labels must be the same and every number within 1e-3 (lavaan
prints 3 decimals). The engine's own lines -- the first (its name and iteration count) and the
optimisation method -- are left out.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest

from psychometrics.cfa import cfa

HERE = Path(__file__).parent
EXPECTED = HERE / "expected" / "summary"
ORDINAL = HERE / "expected" / "ordinal"
SECOND = HERE / "expected" / "ordinal_second_order"
MODEL = json.loads((ORDINAL / "ordinal_oracles.json").read_text())["sparse5"]["model"]
SECOND_MODEL = json.loads((SECOND / "second_order_oracles.json").read_text())["model"]
RUNS = {
    "ord_wlsmv": (ORDINAL / "sparse5.csv", MODEL, {}),
    "ord_wlsmv_theta": (ORDINAL / "sparse5.csv", MODEL, {"parameterization": "theta"}),
    "ord_wlsm": (ORDINAL / "sparse5.csv", MODEL, {"estimator": "WLSM"}),
    "ord_ulsmv": (ORDINAL / "sparse5.csv", MODEL, {"estimator": "ULSMV"}),
    "ord_wlsmv_pairwise": (ORDINAL / "missing5.csv", MODEL, {"missing": "pairwise"}),
    "ord_second_order": (SECOND / "second_order5.csv", SECOND_MODEL, {}),
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


def close(a: str, b: str) -> bool:
    if NUMBER.match(a) and NUMBER.match(b):
        if "NA" in (a, b):
            return a == b
        return abs(float(a) - float(b)) <= 1e-3 + 1e-9
    return a == b


def fit(name: str):
    path, model, options = RUNS[name]
    options = {"estimator": "WLSMV", **options}
    return cfa(model, pd.read_csv(path), ordered=True, **options)


@pytest.mark.parametrize("name", sorted(RUNS))
def test_ordinal_summary_matches_lavaan_block_by_block(name):
    ours = parse(fit(name).summary())
    theirs = parse((EXPECTED / f"{name}.txt").read_text())
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
    assert compared > 200


@pytest.mark.parametrize("name", ["ord_wlsmv", "ord_wlsmv_theta", "ord_second_order"])
def test_ordinal_summary_layout_is_lavaans(name):
    """Apart from the engine's own two lines, the text is lavaan's character for character."""
    ours = fit(name).summary().splitlines()
    theirs = (EXPECTED / f"{name}.txt").read_text().splitlines()[1:]
    assert ours[0].startswith("psychometrics ordinal CFA ended normally after ")
    assert ours[3] == "  Optimization method                     GAUSS-NEWTON"
    assert [ours[i] for i in range(len(ours)) if i not in (0, 3)] == [
        theirs[i] for i in range(len(theirs)) if i not in (0, 3)
    ]


def test_listwise_used_and_total():
    """Rows dropped listwise: lavaan's "Used / Total" line."""
    data = pd.read_csv(ORDINAL / "sparse5.csv").astype(float)
    data.iloc[:7, 2] = float("nan")
    text = cfa(MODEL, data, ordered=True).summary()
    assert re.search(r"^ {50}Used {7}Total$", text, re.M)
    assert re.search(r"^  Number of observations {27}293 {9}300$", text, re.M)


def test_multigroup_summary_is_refused():
    data = pd.read_csv(ORDINAL / "sparse5.csv")
    data["g"] = [1, 2] * (len(data) // 2)
    res = cfa(MODEL, data, ordered=True, group="g")
    with pytest.raises(ValueError, match="supported: one group"):
        res.summary()


def test_cli_text_is_the_summary(tmp_path, capsys):
    from psychometrics.cli import main

    model = tmp_path / "model.lav"
    model.write_text(MODEL + "\n")
    argv = ["cfa", "--data", str(ORDINAL / "sparse5.csv"), "--model", str(model)]
    assert main([*argv, "--ordered", "all"]) == 0
    out = capsys.readouterr().out
    assert fit("ord_wlsmv").summary().rstrip() in out
    assert out.index("Scales y*:") < out.index("Categorical omega")
    assert main([*argv, "--ordered", "all", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)["result"]
    assert "summary" not in result and result["estimator"] == "WLSMV"
