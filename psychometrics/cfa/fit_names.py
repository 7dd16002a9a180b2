"""lavaan's ``fitMeasures()`` names for the engine's fit measures: the one name table.

:meth:`CFAResult.fit_measures` (and the ordinal result's) keys are lavaan 0.6-14's names with
``.`` written ``_`` (``rmsea_ci_lower``, ``chisq_scaled``, ``cfi_robust``, ...), so that they are
Python identifiers; ``nobs`` is lavaan's ``ntotal``. JSON written for people who compare with
lavaan (the command line's ``--json``, the validation report) uses lavaan's own names, through
:func:`lavaan_name` / :func:`lavaan_fit_measures`. The names were checked against
``names(fitMeasures(fit))`` of lavaan 0.6-14 for ML, MLR, MLM (with and without
``missing = "ml"``) and WLSMV, WLSM, ULSMV (``tests/psychometrics/expected/fit_names/``).

>>> lavaan_name("rmsea_ci_lower"), lavaan_name("nobs"), lavaan_name("srmr")
('rmsea.ci.lower', 'ntotal', 'srmr')
"""

from __future__ import annotations

from collections.abc import Mapping

from .._json import number

__all__ = ["FIT_NAMES", "lavaan_fit_measures", "lavaan_name", "lavaan_names"]

# our key -> lavaan 0.6-14 fitMeasures() name, in lavaan's order
FIT_NAMES: dict[str, str] = {
    "npar": "npar",
    "fmin": "fmin",
    "chisq": "chisq",
    "df": "df",
    "pvalue": "pvalue",
    "chisq_scaled": "chisq.scaled",
    "df_scaled": "df.scaled",
    "pvalue_scaled": "pvalue.scaled",
    "chisq_scaling_factor": "chisq.scaling.factor",
    # lavaan reports the shift of a scaled-and-shifted test in lavTest(), not fitMeasures()
    "chisq_shift_parameter": "chisq.shift.parameter",
    "baseline_chisq": "baseline.chisq",
    "baseline_df": "baseline.df",
    "baseline_pvalue": "baseline.pvalue",
    "baseline_chisq_scaled": "baseline.chisq.scaled",
    "baseline_df_scaled": "baseline.df.scaled",
    "baseline_pvalue_scaled": "baseline.pvalue.scaled",
    "baseline_chisq_scaling_factor": "baseline.chisq.scaling.factor",
    "cfi": "cfi",
    "tli": "tli",
    "cfi_scaled": "cfi.scaled",
    "tli_scaled": "tli.scaled",
    "cfi_robust": "cfi.robust",
    "tli_robust": "tli.robust",
    "nnfi": "nnfi",
    "rfi": "rfi",
    "nfi": "nfi",
    "pnfi": "pnfi",
    "ifi": "ifi",
    "rni": "rni",
    "logl": "logl",
    "unrestricted_logl": "unrestricted.logl",
    "aic": "aic",
    "bic": "bic",
    "nobs": "ntotal",
    "ntotal": "ntotal",
    "bic2": "bic2",
    "scaling_factor_h1": "scaling.factor.h1",
    "scaling_factor_h0": "scaling.factor.h0",
    "rmsea": "rmsea",
    "rmsea_ci_lower": "rmsea.ci.lower",
    "rmsea_ci_upper": "rmsea.ci.upper",
    "rmsea_ci_level": "rmsea.ci.level",
    "rmsea_pvalue": "rmsea.pvalue",
    "rmsea_close_h0": "rmsea.close.h0",
    "rmsea_notclose_pvalue": "rmsea.notclose.pvalue",
    "rmsea_notclose_h0": "rmsea.notclose.h0",
    "rmsea_scaled": "rmsea.scaled",
    "rmsea_ci_lower_scaled": "rmsea.ci.lower.scaled",
    "rmsea_ci_upper_scaled": "rmsea.ci.upper.scaled",
    "rmsea_pvalue_scaled": "rmsea.pvalue.scaled",
    "rmsea_notclose_pvalue_scaled": "rmsea.notclose.pvalue.scaled",
    "rmsea_robust": "rmsea.robust",
    "rmsea_ci_lower_robust": "rmsea.ci.lower.robust",
    "rmsea_ci_upper_robust": "rmsea.ci.upper.robust",
    "rmsea_pvalue_robust": "rmsea.pvalue.robust",
    "rmsea_notclose_pvalue_robust": "rmsea.notclose.pvalue.robust",
    # lavaan's own names keep these underscores
    "rmr": "rmr",
    "rmr_nomean": "rmr_nomean",
    "srmr": "srmr",
    "srmr_bentler": "srmr_bentler",
    "srmr_bentler_nomean": "srmr_bentler_nomean",
    "crmr": "crmr",
    "crmr_nomean": "crmr_nomean",
    "srmr_mplus": "srmr_mplus",
    "srmr_mplus_nomean": "srmr_mplus_nomean",
    "cn_05": "cn_05",
    "cn_01": "cn_01",
    "gfi": "gfi",
    "agfi": "agfi",
    "pgfi": "pgfi",
    "mfi": "mfi",
    "ecvi": "ecvi",
    "wrmr": "wrmr",
}


def lavaan_name(key: str) -> str:
    """lavaan's ``fitMeasures()`` name of one of our fit-measure keys.

    A key not in :data:`FIT_NAMES` follows the rule of the table (``_`` -> ``.``), so that a
    measure added to the engine later still gets lavaan's spelling when lavaan has one; the
    tests check that every key the engine emits is in the table.
    """
    return FIT_NAMES.get(key, key.replace("_", "."))


def lavaan_names(measures: Mapping[str, object]) -> dict[str, object]:
    """``measures`` (our keys) under lavaan's names, values unchanged, order kept."""
    return {lavaan_name(k): v for k, v in measures.items()}


_ORDER = {name: i for i, name in enumerate(dict.fromkeys(FIT_NAMES.values()))}


def lavaan_fit_measures(result) -> dict[str, object]:
    """A fit's :meth:`fit_measures` under lavaan's names and in lavaan's order (names not in
    the table last), JSON-ready (numpy scalars to Python, NaN and infinities to None)."""
    named = lavaan_names(result.fit_measures())
    order = sorted(named, key=lambda k: _ORDER.get(k, len(_ORDER)))
    return {k: number(named[k]) for k in order}
