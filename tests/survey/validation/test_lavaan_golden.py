"""The validation report's CFA equals lavaan's on the study's own wide export (a golden test).

The golden study (``GOLDEN``) is simulated with a fixed seed; ``golden/wide.csv`` and
``golden/model.R`` are its wide and lavaan-model exports, and ``golden/lavaan_expected.json``
is what lavaan 0.6-14 gives on them (``golden/lavaan_golden.R``; how to remake the files is in
``golden/make_golden.py``), for both models by WLSMV with ``ordered = TRUE`` and by MLR. The
test simulates the same study on each database, checks that its export still holds exactly the
committed answers, and compares each of the report's fits with lavaan's fit by the same
estimator (WLSMV, or MLR where the report fell back to it and said why): fit measures to 1e-6
(relative), standardised loadings to 1e-5 (and their standard errors for MLR; the engine has
none for WLSMV); with an MLR comparison its Satorra-Bentler difference test.
"""

from __future__ import annotations

import csv
import json
import math
import re
from pathlib import Path

import pytest

from survey.services import exports
from survey.services.validation import structural
from survey.services.validation.data import load_study_data
from tests.survey.validation.conftest import make_simulated_study

GOLDEN_DIR = Path(__file__).parent / "golden"
GOLDEN = {"participants": 400, "waves": 1, "seed": 2027}


def golden_study():
    study, _ = make_simulated_study(**GOLDEN, slug="golden")
    return study


def answers(path: Path) -> list[list[str]]:
    """The participant, wave and item columns of a wide CSV (what lavaan is fitted to)."""
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    header = rows[0]
    # items are CODE_SUB_n; the data-quality indices (floats whose last digits depend on the
    # BLAS) and the timestamps are not what lavaan is fitted to
    keep = [
        i
        for i, name in enumerate(header)
        if name in ("participant", "wave")
        or (re.fullmatch(r"[A-Z]+_[A-Z]+_[0-9]+", name) and not name.startswith("ATTN"))
    ]
    return [[row[i] for i in keep] for row in rows]


@pytest.fixture(scope="module")
def expected() -> dict:
    return json.loads((GOLDEN_DIR / "lavaan_expected.json").read_text(encoding="utf-8"))


def close(ours: float, theirs: float, tolerance: float) -> bool:
    return math.isclose(ours, theirs, rel_tol=tolerance, abs_tol=tolerance)


def test_the_report_cfa_equals_lavaan_on_the_wide_export(db_session, tmp_path, expected):
    study = golden_study()
    exports.export_to(study, "wide", tmp_path / "wide.csv", actor=None)
    assert answers(tmp_path / "wide.csv") == answers(GOLDEN_DIR / "wide.csv")

    data = load_study_data(study)
    section = structural.structural_validity(data, data.instruments[0])
    assert section["n"] == expected["rows"]
    # the first-order model is the report's WLSMV fit on ordered items
    assert section["first_order"]["estimator"] == "WLSMV"
    for key in ("first_order", "second_order"):
        ours = section[key]
        theirs = expected[key][ours["estimator"]]
        assert ours["converged"] and theirs["converged"]
        wrong = [
            f"{name}: ours {ours['fit_measures'][name]!r}, lavaan {value!r}"
            for name, value in theirs["fit_measures"].items()
            if not close(ours["fit_measures"][name], value, 1e-6)
        ]
        assert not wrong, f"{key} ({ours['estimator']}) fit measures differ from lavaan: {wrong}"
        our_loadings = {(row["factor"], row["indicator"]): row for row in ours["loadings"]}
        assert len(our_loadings) == len(theirs["loadings"])
        for row in theirs["loadings"]:
            mine = our_loadings[(row["factor"], row["indicator"])]
            assert close(mine["std_all"], row["std_all"], 1e-5), (key, row)
            if ours["estimator"] == "MLR":
                assert close(mine["se_std_all"], row["se_std_all"], 1e-5), (key, row)
            else:
                assert mine["se_std_all"] is None
    comparison = section["comparison"]
    if comparison["chisq_diff"] is not None:  # both compared as MLR fits
        lrt = expected["comparison_mlr"]
        assert comparison["df_diff"] == lrt["df_diff"]
        assert close(comparison["chisq_diff"], lrt["chisq_diff"], 1e-6)
        assert close(comparison["pvalue"], lrt["pvalue"], 1e-6)
