"""The fit-measure name table against lavaan 0.6-14's ``names(fitMeasures(fit))``.

The lists were printed by ``expected/fit_names/generate_fit_names.R`` (R 4.2.2, lavaan 0.6-14).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from psychometrics.cfa import cfa
from psychometrics.cfa.fit_names import FIT_NAMES, lavaan_fit_measures, lavaan_name, lavaan_names

HERE = Path(__file__).parent
EXPECTED = HERE / "expected" / "fit_names"
HS = HERE / "data" / "holzinger_swineford_1939.csv"
HS_MISSING = HERE / "data" / "hs_missing.csv"
MODEL = """
visual  =~ x1 + x2 + x3
textual =~ x4 + x5 + x6
speed   =~ x7 + x8 + x9
"""
ITEMS = [f"x{i}" for i in range(1, 10)]

# Keys the ordinal engine adds that lavaan's fitMeasures() does not list for WLSMV-type
# estimators: the number of observations (lavaan lists ntotal for ML only) and the shift of
# the scaled-and-shifted test (lavaan shows it in lavTest()).
ORDINAL_EXTRAS = {"ntotal", "chisq.shift.parameter"}


def lavaan_list(name: str) -> list[str]:
    return (EXPECTED / f"{name}.txt").read_text().split()


def ordinal_data() -> pd.DataFrame:
    # the same 4-category cut as the R script: cut(x, 4, labels = FALSE)
    hs = pd.read_csv(HS)
    out = hs.copy()
    for v in ITEMS:
        x = hs[v].to_numpy()
        edges = np.linspace(x.min(), x.max(), 5)
        out[v] = np.clip(np.searchsorted(edges, x, side="left"), 1, 4)
    return out


FITS = {
    "ML": lambda: cfa(MODEL, pd.read_csv(HS)),
    "MLR": lambda: cfa(MODEL, pd.read_csv(HS), estimator="MLR"),
    "MLM": lambda: cfa(MODEL, pd.read_csv(HS), estimator="MLM"),
    "ML_fiml": lambda: cfa(MODEL, pd.read_csv(HS_MISSING), missing="ml"),
    "MLR_fiml": lambda: cfa(MODEL, pd.read_csv(HS_MISSING), missing="ml", estimator="MLR"),
}


@pytest.mark.parametrize("name", sorted(FITS))
def test_every_key_we_emit_is_lavaans_name(name):
    res = FITS[name]()
    theirs = lavaan_list(name)
    ours = list(lavaan_fit_measures(res))
    assert not [k for k in ours if k not in theirs], name
    # every key has an explicit row in the table (not the fallback rule)
    assert all(k in FIT_NAMES for k in res.fit_measures())
    # in lavaan's order
    assert ours == [k for k in theirs if k in ours]


@pytest.mark.parametrize("estimator", ["WLSMV", "WLSM", "ULSMV"])
def test_ordinal_keys_are_lavaans_names(estimator):
    res = cfa(MODEL, ordinal_data(), ordered=True, estimator=estimator)
    theirs = set(lavaan_list(estimator))
    ours = set(lavaan_fit_measures(res))
    assert ours - theirs <= ORDINAL_EXTRAS
    assert all(k in FIT_NAMES for k in res.fit_measures())


def test_robust_names_present_and_json_ready():
    res = FITS["MLR"]()
    out = lavaan_fit_measures(res)
    for key in (
        "chisq.scaled",
        "cfi.robust",
        "rmsea.ci.upper",
        "rmsea.ci.lower.robust",
        "scaling.factor.h1",
        "scaling.factor.h0",
        "ntotal",
        "unrestricted.logl",
    ):
        assert key in out
    assert out["ntotal"] == 301 and type(out["ntotal"]) is int
    assert out["chisq.scaled"] == pytest.approx(res.fit_measures()["chisq_scaled"])
    assert all(v is None or type(v) in (int, float) for v in out.values())


def test_every_table_name_is_some_lavaan_name():
    known = set().union(*(lavaan_list(p.stem) for p in EXPECTED.glob("*.txt")))
    assert set(FIT_NAMES.values()) - known <= ORDINAL_EXTRAS


def test_name_rules():
    assert lavaan_name("srmr_bentler") == "srmr_bentler"  # lavaan keeps this underscore
    assert lavaan_name("nobs") == "ntotal"
    assert lavaan_name("some_new_measure") == "some.new.measure"
    assert lavaan_names({"rmsea_ci_lower": 0.1, "df": 3}) == {"rmsea.ci.lower": 0.1, "df": 3}


# --------------------------------------------------------------------------- the CLI's JSON
def run_cli(capsys, *argv):
    import json

    from psychometrics.cli import main

    status = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    assert status == 0, err
    return json.loads(out)["result"]


def test_cli_json_writes_lavaan_names(tmp_path, capsys):
    model = tmp_path / "hs.lav"
    model.write_text(MODEL)
    result = run_cli(capsys, "cfa", "--data", HS, "--model", model, "--estimator", "MLR", "--json")
    fm = result["fit_measures"]
    theirs = lavaan_list("MLR")
    assert list(fm) == [k for k in theirs if k in fm]  # lavaan's names, in lavaan's order
    assert {"chisq.scaled", "cfi.robust", "rmsea.ci.upper", "ntotal"} <= set(fm)
    assert not any("_" in k for k in fm)
    assert fm["chisq.scaled"] == pytest.approx(FITS["MLR"]().fit_measures()["chisq_scaled"])
    # nothing else renamed: the estimates and the robust block keep their keys
    assert {"std_lv", "std_all", "se_std_all"} <= set(result["estimates"][0])
    assert "scaling_factor" in result["robust"]


def test_cli_invariance_json_writes_lavaan_names_per_level(tmp_path, capsys):
    model = tmp_path / "hs.lav"
    model.write_text(MODEL)
    result = run_cli(
        capsys, "invariance", "--data", HS, "--model", model, "--group", "school", "--json"
    )
    theirs = set(lavaan_list("ML"))
    for level, fit in result["fits"].items():
        assert set(fit["fit_measures"]) <= theirs, level
        assert "rmsea.ci.lower" in fit["fit_measures"]
    assert "delta_chisq" in result["table"][1]  # the table keeps its column names
