"""Modification indices of fixed intercepts and factor means, against lavaan 0.6-14.

A linear growth model (lavaan's ``growth()``) fixes the observed intercepts to 0 and frees the
factor means; ``modindices()`` then lists t1~1 .. t4~1 besides the loadings and residual
covariances (18 rows). Written with explicit ``t ~ 0*1`` and ``i ~ 1; s ~ 1`` it is the same model
for ``cfa(meanstructure=True)``. A no-growth variant (``s ~ 0*1``) adds the fixed factor mean
s~1 (19 rows). Reference values: ``expected/growth_mi/generate_growth_mi.R``.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from psychometrics.cfa import cfa

HERE = Path(__file__).parent / "expected" / "growth_mi"
REFERENCE = json.loads((HERE / "growth_mi.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def data() -> pd.DataFrame:
    return pd.read_csv(HERE / "demo_growth.csv")


def _keyed(rows) -> dict[tuple[str, str, str], dict]:
    return {(r["lhs"], r["op"], r["rhs"]): r for r in rows}


@pytest.mark.parametrize(
    ("case", "syntax", "mean_rows"),
    [
        ("explicit", "explicit_model", {"t1", "t2", "t3", "t4"}),
        ("no_growth", "no_growth_model", {"t1", "t2", "t3", "t4", "s"}),
    ],
)
def test_growth_model_modification_indices_match_lavaan(data, case, syntax, mean_rows):
    reference = REFERENCE[case]
    res = cfa(REFERENCE[syntax], data, meanstructure=True)
    assert res.converged
    assert res.fit_measures()["chisq"] == pytest.approx(reference["fit"]["chisq"], rel=1e-6)

    ours = res.modification_indices(sort=False)
    ours_rows = _keyed(ours.to_dict("records"))
    expected = _keyed(reference["modindices"])
    assert len(ours) == len(expected)
    assert set(ours_rows) == set(expected)
    assert {lhs for lhs, op, _ in ours_rows if op == "~1"} == mean_rows
    for key, row in expected.items():
        got = ours_rows[key]
        for ours_name, lavaan_name in (
            ("mi", "mi"),
            ("epc", "epc"),
            ("sepc_lv", "sepc.lv"),
            ("sepc_all", "sepc.all"),
        ):
            np.testing.assert_allclose(
                got[ours_name], row[lavaan_name], atol=1e-3, err_msg=f"{key} {ours_name}"
            )


def test_explicit_syntax_is_lavaans_growth_model(data):
    """growth() and the explicit cfa() syntax give lavaan the same fit and indices; ours too."""
    growth, explicit = REFERENCE["growth"], REFERENCE["explicit"]
    assert growth["fit"]["npar"] == explicit["fit"]["npar"] == 9
    assert len(growth["modindices"]) == len(explicit["modindices"]) == 18
    res = cfa(REFERENCE["explicit_model"], data, meanstructure=True)
    assert res.fit_measures()["npar"] == 9
    estimates = {(r["lhs"], r["op"], r["rhs"]): r["est"] for r in res.estimates.to_dict("records")}
    for row in growth["estimates"]:
        assert estimates[(row["lhs"], row["op"], row["rhs"])] == pytest.approx(row["est"], abs=1e-5)


def test_free_intercepts_are_not_candidates(data):
    """Without a mean structure, or with free intercepts, no ~1 rows are listed."""
    res = cfa(REFERENCE["model"], data)
    assert not (res.modification_indices()["op"] == "~1").any()


@pytest.mark.parametrize(
    ("case", "kwargs"),
    [
        ("meanstructure", {"meanstructure": True}),
        ("scalar", {"group": "school", "group_equal": ("loadings", "intercepts")}),
    ],
)
def test_unidentified_mean_releases_are_not_listed(case, kwargs):
    """Factor means fixed to 0 beside free intercepts: no ~1 rows, as lavaan (same rows)."""
    hs = pd.read_csv(HERE.parent.parent / "data" / "holzinger_swineford_1939.csv")
    res = cfa(REFERENCE["hs_model"], hs, **kwargs)
    ours = res.modification_indices(sort=False)
    keys = set(zip(ours["lhs"], ours["op"], ours["rhs"], ours["group"], strict=True))
    expected = {(r["lhs"], r["op"], r["rhs"], r["group"]) for r in REFERENCE["hs"][case]["rows"]}
    assert keys == expected
    assert not any(op == "~1" for _, op, _, _ in keys)
