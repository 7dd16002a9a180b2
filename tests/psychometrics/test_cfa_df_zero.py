"""Fit measures of just-identified (df = 0) CFA models, against lavaan 0.6-14.

Reference values: expected/df_zero/df_zero_hs.json, written by
expected/df_zero/generate_df_zero.R. lavaan reports chisq clamped at 0, pvalue NA, CFI = TLI = 1,
RMSEA = 0 with the interval [0, 0] and rmsea.pvalue NA when df = 0.
"""

import json
import math
from pathlib import Path

import pandas as pd
import pytest

from psychometrics.cfa import cfa
from psychometrics.cfa.fit import fit_measures, rmsea_interval

HERE = Path(__file__).parent
REFERENCE = json.loads(
    (HERE / "expected" / "df_zero" / "df_zero_hs.json").read_text(encoding="utf-8")
)
OURS = {"ntotal": "nobs"}


@pytest.fixture(scope="module")
def hs():
    return pd.read_csv(HERE / "data" / "holzinger_swineford_1939.csv")


@pytest.mark.parametrize("case", sorted(REFERENCE["cases"]))
def test_df_zero_matches_lavaan(hs, case):
    ref = REFERENCE["cases"][case]
    kwargs = {"group": ref["group"]} if ref["group"] else {}
    ours = cfa(ref["model"], hs, **kwargs).fit_measures()
    assert ours["df"] == 0
    for name, expected in ref["fit"].items():
        key = OURS.get(name, name.replace(".", "_"))
        if expected is None:
            assert math.isnan(ours[key]), key
        else:
            assert ours[key] == pytest.approx(expected, abs=1e-6), key
    assert ours["cfi"] == pytest.approx(1.0, abs=1e-9)
    assert ours["tli"] == 1.0
    assert (ours["rmsea"], ours["rmsea_ci_lower"], ours["rmsea_ci_upper"]) == (0.0, 0.0, 0.0)


# One-factor, three-indicator HS model (df = 0): lavaan's logl and baseline chisq.
H1_LOGL = -1356.9773169905
BASELINE_LOGL = H1_LOGL - 111.27110977024 / 2.0
COMMON = dict(
    h1_logl=H1_LOGL, baseline_logl=BASELINE_LOGL, n=301, n_groups=1, baseline_df=3, srmr_value=0.0
)


@pytest.mark.parametrize("chisq", [-1e-12, 0.0, 1e-12])
def test_round_off_sign_does_not_matter(chisq):
    fm = fit_measures(logl=H1_LOGL - chisq / 2.0, npar=6, moments=6, **COMMON)
    assert fm["chisq"] >= 0.0
    assert fm["chisq"] == pytest.approx(0.0, abs=1e-9)
    assert fm["cfi"] == pytest.approx(1.0, abs=1e-12)
    assert fm["tli"] == 1.0
    assert (fm["rmsea"], fm["rmsea_ci_lower"], fm["rmsea_ci_upper"]) == (0.0, 0.0, 0.0)
    assert math.isnan(fm["pvalue"]) and math.isnan(fm["rmsea_pvalue"])


def test_negative_chisq_with_df_is_clamped():
    # df = 1, T = -1e-12: lavaan sets T to 0, so p = 1, CFI = 1, TLI = 1 + df_b / (T_b - df_b).
    fm = fit_measures(logl=H1_LOGL + 5e-13, npar=5, moments=6, **COMMON)
    b_chisq = 2.0 * (H1_LOGL - BASELINE_LOGL)
    assert fm["chisq"] == 0.0
    assert fm["pvalue"] == pytest.approx(1.0)
    assert fm["cfi"] == 1.0
    assert fm["tli"] == pytest.approx(1.0 - (0.0 - 1.0) * 3.0 / ((b_chisq - 3.0) * 1.0))
    assert fm["rmsea"] == 0.0


def test_negative_df_gives_no_test():
    fm = fit_measures(logl=H1_LOGL, npar=7, moments=6, **COMMON)
    for key in ("chisq", "pvalue", "cfi", "tli", "rmsea", "rmsea_ci_lower", "rmsea_pvalue"):
        assert math.isnan(fm[key]), key


def test_rmsea_interval_df_zero():
    lower, upper, pvalue = rmsea_interval(0.0, 0, 301, 1)
    assert (lower, upper) == (0.0, 0.0)
    assert math.isnan(pvalue)
