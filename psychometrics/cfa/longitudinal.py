"""Longitudinal measurement invariance: one repeated-measures CFA over all waves.

Repeated waves of the same participants are not independent groups, so a multi-group ladder
(:func:`psychometrics.cfa.invariance`) does not apply. The accepted model is one CFA over all
waves in wide form (Liu et al., 2017, https://doi.org/10.1037/met0000075; Widaman, Ferrer &
Conger, 2010, https://doi.org/10.1111/j.1750-8606.2009.00110.x):

- one factor per construct per wave (``F1_w1``, ``F1_w2``, ...; ``k`` in ``_w<k>`` is the
  wave's position, 1 for the first), each on the wave's copies of its items (``x1_w1``, ...);
- all factors covary (within and across waves);
- each item's residuals covary across every pair of waves (``x1_w1 ~~ x1_w2``, ``x1_w1 ~~
  x1_w3``, ``x1_w2 ~~ x1_w3``): the item-specific variance that repeats over time;
- a mean structure throughout.

The levels add equality constraints across waves (Meredith, 1993,
https://doi.org/10.1007/BF02294825): **configural** (none), **metric** (loadings), **scalar**
(+ intercepts; the later waves' latent means are then free, the first wave's stay 0) and
**strict** (+ residual variances). The residual covariances across waves and the factor
covariances stay free at every level.

Identification is that of ``semTools::measEq.syntax`` by default for continuous indicators,
``ID.fac = "std.lv"`` (semTools 0.5-6, ``R/measEq.R``): in the configural model every factor
has variance 1 and mean 0 and every loading is free; from the metric level on, the factors of
the first wave keep variance 1 and those of the later waves get a free variance; from the
scalar level on, the later waves' latent means are free too. ``identification="marker"`` is
lavaan's own default instead (each factor's first loading 1 at every wave, the first wave's
latent means 0); both give the same fit at every level, only the scale of the estimates differs.

Nested levels are compared by the chi-square difference test, Delta CFI and Delta RMSEA;
a step is supported when CFI drops by at most .010 and RMSEA rises by at most .015 (Chen, 2007,
https://doi.org/10.1080/10705510701301834).

Examples
--------
>>> import numpy as np, pandas as pd
>>> rng = np.random.default_rng(3)
>>> f = rng.normal(size=(300, 1))
>>> rows = []
>>> for t, shift in enumerate([0.0, 0.4]):
...     g = 0.7 * f + 0.7 * rng.normal(size=(300, 1)) + shift
...     x = 2 + g @ np.array([[0.8, 0.7, 0.6]]) + rng.normal(scale=0.5, size=(300, 3))
...     rows.append(pd.DataFrame(x, columns=["a", "b", "c"]).assign(id=range(300), t=t))
>>> long = pd.concat(rows)
>>> res = longitudinal_invariance("f =~ a + b + c", long, id="id", time="t")
>>> [row["level"] for row in res.steps]
['metric', 'scalar', 'strict']
>>> res.fits["scalar"].fit_measures()["df"]
9
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..syntax import Modifier, parse_model
from .errors import DataError
from .fitting import cfa
from .lrt import lrt
from .results import CFAResult, _clean

__all__ = [
    "IDENTIFICATIONS",
    "LEVELS",
    "LongitudinalDesign",
    "LongitudinalInvarianceResult",
    "SUPPORTED_ESTIMATORS",
    "build_design",
    "longitudinal_invariance",
    "longitudinal_syntax",
    "to_wide",
]

LEVELS: dict[str, tuple[str, ...]] = {
    "configural": (),
    "metric": ("loadings",),
    "scalar": ("loadings", "intercepts"),
    "strict": ("loadings", "intercepts", "residuals"),
}
IDENTIFICATIONS = ("std.lv", "marker")
SUPPORTED_ESTIMATORS = ("ML", "MLR", "MLM", "WLSMV")
SUPPORTED_MISSING = ("listwise", "ml")
# what each estimator supports (MLM: complete data; WLSMV: ordered items, listwise or pairwise)
ESTIMATOR_MISSING = {
    "ML": ("listwise", "ml"),
    "MLR": ("listwise", "ml"),
    "MLM": ("listwise",),
    "WLSMV": ("listwise", "pairwise"),
}
# the ordinal ladder (Wu & Estabrook 2016, delta parameterisation): constraints of each level
ORDINAL_LEVELS: dict[str, tuple[str, ...]] = {
    "configural": (),
    "thresholds": ("thresholds",),
    "metric": ("thresholds", "loadings"),
    "scalar": ("thresholds", "loadings", "intercepts"),
    "strict": ("thresholds", "loadings", "intercepts", "residuals"),  # theta only
}
NAME_FORMAT = "{name}_w{wave}"

DELTA_CFI = -0.010
DELTA_RMSEA = 0.015
CHEN = "Chen 2007: delta CFI >= -0.010 and delta RMSEA <= 0.015"


# --------------------------------------------------------------------------------------
# the model
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class LongitudinalDesign:
    """The cross-sectional factors and the waves they are repeated over.

    ``factors``: factor -> its items, as in the cross-sectional model; ``n_waves``: number of
    waves; ``name_format``: how a factor or item is named at wave ``k`` (1-based).
    """

    factors: dict[str, tuple[str, ...]]
    n_waves: int
    name_format: str = NAME_FORMAT

    @property
    def items(self) -> list[str]:
        seen: dict[str, None] = {}
        for members in self.factors.values():
            seen.update(dict.fromkeys(members))
        return list(seen)

    def at(self, name: str, wave: int) -> str:
        """``name`` at wave ``wave`` (1-based)."""
        return self.name_format.format(name=name, wave=wave)

    def wide_factors(self) -> dict[str, list[str]]:
        """Cross-sectional factor -> its factor at each wave (semTools' ``longFacNames``)."""
        return {f: [self.at(f, k) for k in self._waves()] for f in self.factors}

    def wide_items(self) -> dict[str, list[str]]:
        """Item -> its column at each wave (semTools' ``longIndNames``)."""
        return {i: [self.at(i, k) for k in self._waves()] for i in self.items}

    def _waves(self) -> range:
        return range(1, self.n_waves + 1)


def build_design(model: str, n_waves: int, *, name_format: str = NAME_FORMAT) -> LongitudinalDesign:
    """The design of ``model``, a cross-sectional first-order CFA written as plain
    ``F =~ x1 + x2 + x3`` statements, repeated over ``n_waves`` waves."""
    parsed = parse_model(model)
    if parsed.constraints:
        raise ValueError(
            "a longitudinal model is built from plain 'F =~ x1 + x2 + x3' statements: "
            "constraints ('==', '<', '>') are not supported there"
        )
    bad = [s for s in parsed.statements if s.op != "=~" or s.modifier != Modifier()]
    if bad:
        s = bad[0]
        what = f"{s.lhs} {s.op} {s.rhs}".strip()
        raise ValueError(
            f"line {s.line}: {what!r}: a longitudinal model is built from plain "
            "'F =~ x1 + x2 + x3' statements (no modifiers, labels, '~~' or '~1'): the "
            "repeated-measures model adds its own constraints at each level"
        )
    second = [s.rhs for s in parsed.statements if s.rhs in parsed.latent]
    if second:
        raise ValueError(
            f"{second[0]!r} is a factor measured by a factor: a longitudinal model takes "
            "first-order factors only"
        )
    if n_waves < 2:
        raise ValueError(f"longitudinal invariance needs at least 2 waves, not {n_waves}")
    if "{name}" not in name_format or "{wave}" not in name_format:
        raise ValueError("name_format must contain {name} and {wave}")
    factors = {f: tuple(parsed.indicators(f)) for f in parsed.latent}
    return LongitudinalDesign(factors, n_waves, name_format)


def longitudinal_syntax(
    design: LongitudinalDesign, level: str, *, identification: str = "std.lv"
) -> str:
    """lavaan syntax of the repeated-measures model of ``design`` at ``level`` (see the module
    docstring). Equality across waves is written with shared labels: ``load.F.x`` (loadings),
    ``int.x`` (intercepts), ``res.x`` (residual variances)."""
    if level not in LEVELS:
        raise ValueError(f"unknown invariance level {level!r}; choose from {list(LEVELS)}")
    if identification not in IDENTIFICATIONS:
        raise ValueError(
            f"unknown identification {identification!r}; choose from {list(IDENTIFICATIONS)}"
        )
    equal = LEVELS[level]
    std_lv = identification == "std.lv"
    at = design.at
    waves = range(1, design.n_waves + 1)
    lines = ["# loadings"]
    for k in waves:
        for factor, items in design.factors.items():
            terms = []
            for j, item in enumerate(items):
                label = f"load.{factor}.{item}*" if "loadings" in equal else ""
                if std_lv:
                    terms.append(f"NA*{label}{at(item, k)}" if j == 0 else f"{label}{at(item, k)}")
                else:  # the marker stays fixed at 1; a label on it would carry the 1 along
                    terms.append(at(item, k) if j == 0 else f"{label}{at(item, k)}")
            lines.append(f"{at(factor, k)} =~ {' + '.join(terms)}")
    if std_lv:
        lines.append("# factor variances: 1 (from the metric level on, the first wave's only)")
        fixed_waves = waves if "loadings" not in equal else range(1, 2)
        lines += [f"{at(f, k)} ~~ 1*{at(f, k)}" for k in fixed_waves for f in design.factors]
    lines.append("# each item's residuals across waves")
    for item in design.items:
        lines += [f"{at(item, a)} ~~ {at(item, b)}" for a in waves for b in waves if a < b]
    if "intercepts" in equal:
        lines.append("# equal intercepts; the later waves' latent means free")
        lines += [f"{at(item, k)} ~ int.{item}*1" for k in waves for item in design.items]
        lines += [f"{at(f, k)} ~ NA*1" for k in waves if k > 1 for f in design.factors]
    if "residuals" in equal:
        lines.append("# equal residual variances")
        lines += [
            f"{at(item, k)} ~~ res.{item}*{at(item, k)}" for k in waves for item in design.items
        ]
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------------------
# the data
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class WideData:
    """Long data reshaped: ``frame`` one row per participant (index: the id), columns the
    items at each wave in wave order; ``waves`` the wave labels in order; ``rows_per_wave``
    participants with at least one answered item at each wave."""

    frame: pd.DataFrame
    waves: list
    rows_per_wave: dict[str, int] = field(default_factory=dict)


def _wave_order(values: pd.Series, waves: Sequence | None, time: str) -> list:
    present = list(pd.unique(values))
    if waves is None:
        if pd.api.types.is_numeric_dtype(values.dtype):
            return sorted(present)
        return present  # labels in order of first appearance
    numeric = pd.api.types.is_numeric_dtype(values.dtype)

    def key(value) -> str:  # "4", 4 and 4.0 name the same wave of a numeric column
        if numeric:
            try:
                return repr(float(value))
            except (TypeError, ValueError):
                return str(value)
        return str(value)

    by_key = {key(v): v for v in present}
    missing = [str(w) for w in waves if key(w) not in by_key]
    if missing:
        raise DataError(
            f"wave(s) {', '.join(missing)} not found in the time column {time!r} "
            f"(it has {', '.join(map(str, present))})"
        )
    if len({key(w) for w in waves}) != len(waves):
        raise DataError("a wave is named twice in waves")
    return [by_key[key(w)] for w in waves]


def to_wide(
    data: pd.DataFrame,
    design: LongitudinalDesign | Sequence[str],
    *,
    id: str,  # noqa: A002 - the CLI's name for the column
    time: str,
    waves: Sequence | None = None,
    name_format: str = NAME_FORMAT,
) -> WideData:
    """Long data (one row per participant x wave) to wide (one row per participant).

    ``design`` gives the items (or is a list of item names). Waves are the distinct values of
    ``time`` (sorted when numeric, else in order of first appearance), or ``waves`` in that
    order (rows at other waves are left out). A participant absent at a wave gets missing
    values there. Raises :class:`DataError` when a column is missing, an id or wave is empty,
    a participant has two rows at one wave, or fewer than two waves remain.
    """
    if not isinstance(data, pd.DataFrame):
        raise TypeError("data must be a pandas DataFrame")
    items = design.items if isinstance(design, LongitudinalDesign) else list(design)
    if isinstance(design, LongitudinalDesign):
        name_format = design.name_format
    for role, column in (("id", id), ("time", time)):
        if column not in data.columns:
            raise DataError(f"the {role} column {column!r} is not in the data")
    if id == time:
        raise DataError("the id and time columns must differ")
    for role, column in (("id", id), ("time", time)):
        if column in items:
            raise DataError(f"the {role} column {column!r} is an item of the model")
    absent = [i for i in items if i not in data.columns]
    if absent:
        raise DataError(f"variables named in the model are not in the data: {', '.join(absent)}")
    bad = [
        i
        for i in items
        if not pd.api.types.is_numeric_dtype(data[i].dtype)
        or pd.api.types.is_bool_dtype(data[i].dtype)
    ]
    if bad:
        raise DataError(f"variables must be numeric: {', '.join(bad)}")
    for role, column in (("participant id", id), ("wave", time)):
        empty = int(data[column].isna().sum())
        if empty:
            raise DataError(f"{empty} row(s) have no {role} (column {column!r} is empty)")
    order = _wave_order(data[time], waves, time)
    if len(order) < 2:
        shown = ", ".join(map(str, order)) or "none"
        raise DataError(
            f"the time column {time!r} has {len(order)} wave ({shown}); longitudinal "
            "invariance needs at least 2"
        )
    rows = data.loc[data[time].isin(order), [id, time, *items]]
    doubled = rows.duplicated([id, time], keep=False)
    if doubled.any():
        pairs = rows.loc[doubled, [id, time]].drop_duplicates()
        first = pairs.iloc[0]
        count = int(rows.loc[doubled].groupby([id, time]).size().iloc[0])
        raise DataError(
            f"participant {_shown(first[id])} has {count} rows at wave {_shown(first[time])} "
            f"({len(pairs)} participant-wave pair(s) repeated): one row per participant "
            "and wave is expected"
        )
    participants = pd.Index(pd.unique(rows[id]), name=id)
    blocks, counts = [], {}
    for k, wave in enumerate(order, start=1):
        at_wave = rows.loc[rows[time] == wave].set_index(id)[items].reindex(participants)
        counts[str(wave)] = int(at_wave.notna().any(axis=1).sum())
        at_wave.columns = [name_format.format(name=i, wave=k) for i in items]
        blocks.append(at_wave.astype(float))
    return WideData(pd.concat(blocks, axis=1), list(order), counts)


# --------------------------------------------------------------------------------------
# the ladder
# --------------------------------------------------------------------------------------
def lavaan_names(measures: dict) -> dict:
    """Fit measures under lavaan's ``fitMeasures()`` names (``rmsea.ci.lower``, ``ntotal``)."""
    return {("ntotal" if k == "nobs" else k.replace("_", ".")): v for k, v in measures.items()}


def chen_decision(delta_cfi: float, delta_rmsea: float) -> tuple[bool | None, str]:
    """Chen's (2007) criteria for one step: supported, not supported, or None when unknown."""
    if not (np.isfinite(delta_cfi) and np.isfinite(delta_rmsea)):
        return None, "not judged: the change in CFI or RMSEA is unknown"
    cfi_ok, rmsea_ok = delta_cfi >= DELTA_CFI, delta_rmsea <= DELTA_RMSEA
    said = (
        f"delta CFI {delta_cfi:+.4f} ({'within' if cfi_ok else 'beyond'} {DELTA_CFI:+.3f}), "
        f"delta RMSEA {delta_rmsea:+.4f} ({'within' if rmsea_ok else 'beyond'} "
        f"{DELTA_RMSEA:+.3f})"
    )
    return (
        (True, f"supported: {said}") if cfi_ok and rmsea_ok else (False, f"not supported: {said}")
    )


@dataclass(frozen=True)
class LongitudinalInvarianceResult:
    """The longitudinal ladder.

    ``fits``: level -> :class:`CFAResult` (of the wide model); ``syntax``: level -> the lavaan
    syntax fitted; ``steps``: one dict per level after the first, with ``level``, ``from``,
    ``delta_chisq``, ``delta_df``, ``delta_pvalue``, ``delta_cfi``, ``delta_rmsea``,
    ``supported`` (Chen 2007; None when a level did not converge) and ``decision``;
    ``highest_level``: the highest level reached by supported steps from the configural one.
    """

    design: LongitudinalDesign
    waves: list
    id: str
    time: str
    identification: str
    missing: str
    estimator: str
    participants: int
    rows_per_wave: dict[str, int]
    syntax: dict[str, str]
    fits: dict[str, CFAResult]
    steps: list[dict]
    highest_level: str | None

    def _table_measures(self) -> tuple[str, ...]:
        if self.estimator == "WLSMV":
            return (
                "npar",
                "chisq",
                "df",
                "chisq_scaled",
                "pvalue_scaled",
                "cfi_scaled",
                "tli_scaled",
                "rmsea_scaled",
                "srmr",
            )
        return ("npar", "chisq", "df", "pvalue", "cfi", "tli", "rmsea", "srmr", "aic", "bic")

    def table(self) -> pd.DataFrame:
        """One row per level: fit measures and the changes from the previous level (for
        WLSMV the scaled-shifted statistics and the scaled CFI/TLI/RMSEA)."""
        by_level = {s["level"]: s for s in self.steps}
        rows = []
        for level, fit in self.fits.items():
            fm = fit.fit_measures()
            step = by_level.get(level, {})
            rows.append(
                {
                    "level": level,
                    **{k: fm.get(k, np.nan) for k in self._table_measures()},
                    **{
                        k: step.get(k, np.nan)
                        for k in (
                            "delta_chisq",
                            "delta_df",
                            "delta_pvalue",
                            "delta_cfi",
                            "delta_rmsea",
                        )
                    },
                    "supported": step.get("supported"),
                }
            )
        return pd.DataFrame(rows).set_index("level")

    def to_dict(self) -> dict:
        levels = {}
        for level, fit in self.fits.items():
            est = fit.estimates.drop(columns=["group", "std_lv", "se_std_all"], errors="ignore")
            levels[level] = {
                "constraints": list({**LEVELS, **ORDINAL_LEVELS}[level]),
                "syntax": self.syntax[level],
                "converged": fit.converged,
                "iterations": fit.iterations,
                "nobs": fit.nobs,
                "information": fit.information,
                "warnings": fit.warnings,
                "fit_measures": lavaan_names(fit.fit_measures()),
                "estimates": est,
            }
        return _clean(
            {
                "design": {
                    "id": self.id,
                    "time": self.time,
                    "waves": [_plain(w) for w in self.waves],
                    "participants": self.participants,
                    "rows_per_wave": self.rows_per_wave,
                    "factors": self.design.wide_factors(),
                    "indicators": self.design.wide_items(),
                    "identification": self.identification,
                    "missing": self.missing,
                    "estimator": self.estimator,
                    "criterion": CHEN,
                },
                "levels": levels,
                "tests": self.steps,
                "highest_level": self.highest_level,
            }
        )


def _plain(value):
    return value.item() if isinstance(value, np.generic) else value


def _shown(value) -> str:
    """A label in a message: quoted when text, plain when a number (never ``np.int64(1)``)."""
    value = _plain(value)
    return repr(value) if isinstance(value, str) else str(value)


def _step(level: str, before: str, fit: CFAResult, prev: CFAResult, estimator: str) -> dict:
    """One step up the ladder: :func:`psychometrics.cfa.lrt.lrt` (the plain difference for ML,
    the Satorra-Bentler 2001 scaled difference for MLR) and the changes in CFI and RMSEA (the
    robust CFI and RMSEA for MLR)."""
    fm, pm = fit.fit_measures(), prev.fit_measures()
    test = lrt(fit, prev)
    suffix = "" if estimator == "ML" else "_robust"
    d_cfi = fm[f"cfi{suffix}"] - pm[f"cfi{suffix}"]
    d_rmsea = fm[f"rmsea{suffix}"] - pm[f"rmsea{suffix}"]
    step = {
        "level": level,
        "from": before,
        "method": test.method,
        "delta_chisq": test.chisq_diff,
        "delta_df": test.df_diff,
        "delta_pvalue": test.pvalue,
        "delta_cfi": d_cfi,
        "delta_rmsea": d_rmsea,
        "test_warnings": list(test.warnings),
    }
    if not (fit.converged and prev.converged):
        which = level if not fit.converged else before
        step.update(supported=None, decision=f"not judged: the {which} model did not converge")
    else:
        step["supported"], step["decision"] = chen_decision(d_cfi, d_rmsea)
    return step


def _ordinal_ladder(design, wide, levels, missing, ordered, parameterization):
    """The WLSMV ladder: (syntax, fits, steps), steps judged on the scaled CFI and RMSEA."""
    from .ordinal_invariance import lavaan_syntax, longitudinal_ordinal

    if ordered is not True:
        names = [ordered] if isinstance(ordered, str) else list(ordered)
        not_ordered = [v for v in design.items if v not in names]
        if not_ordered:
            raise ValueError(
                "ordinal longitudinal invariance needs every item ordered (mixed continuous "
                f"and ordered items are not supported; not ordered: {', '.join(not_ordered)})"
            )
    fits, tests = longitudinal_ordinal(design, wide.frame, levels, missing, parameterization)
    syntax = {lv: lavaan_syntax(fit) for lv, fit in fits.items()}
    steps = []
    for k, level in enumerate(levels[1:], start=1):
        before = levels[k - 1]
        fit, prev, test = fits[level], fits[before], tests[level]
        fm, pm = fit.fit_measures(), prev.fit_measures()
        d_cfi = fm["cfi_scaled"] - pm["cfi_scaled"]
        d_rmsea = fm["rmsea_scaled"] - pm["rmsea_scaled"]
        step = {
            "level": level,
            "from": before,
            "method": test.method,
            "delta_chisq": test.chisq_diff,
            "delta_df": test.df_diff,
            "delta_pvalue": test.pvalue,
            "delta_cfi": d_cfi,
            "delta_rmsea": d_rmsea,
            "test_warnings": [],
        }
        if not (fit.converged and prev.converged):
            which = level if not fit.converged else before
            step.update(supported=None, decision=f"not judged: the {which} model did not converge")
        else:
            step["supported"], step["decision"] = chen_decision(d_cfi, d_rmsea)
        steps.append(step)
    return syntax, fits, steps


def longitudinal_invariance(
    model: str,
    data: pd.DataFrame,
    *,
    id: str,  # noqa: A002 - the CLI's name for the column
    time: str,
    waves: Sequence | None = None,
    levels: Sequence[str] | None = None,
    missing: str = "listwise",
    estimator: str = "ML",
    identification: str = "std.lv",
    ordered=None,
    parameterization: str = "delta",
) -> LongitudinalInvarianceResult:
    """Configural -> metric -> scalar -> strict invariance across waves of the same people.

    Parameters
    ----------
    model : str
        The cross-sectional model, plain ``F =~ x1 + x2 + x3`` statements (first order).
    data : DataFrame
        Long format: one row per participant x wave, with the ``id`` and ``time`` columns and
        the model's items.
    id, time : str
        The participant and wave columns.
    waves : sequence, optional
        The waves to use, in order (default: every value of ``time``, sorted when numeric,
        else in order of first appearance).
    levels : sequence of str, optional
        Any of "configural", "metric", "scalar", "strict", least to most constrained (default
        all four); with WLSMV any of "configural", "thresholds", "metric", "scalar".
    missing : {"listwise", "ml", "pairwise"}
        ``listwise``: the participants with every item at every wave; ``ml``: full-information
        ML on everyone (a participant who dropped out keeps the waves they answered; ML and
        MLR); ``pairwise``: WLSMV only, each polychoric correlation from the participants who
        answered both items (lavaan's ``missing = "pairwise"``).
    estimator : {"ML", "MLR", "MLM", "WLSMV"}
        Maximum likelihood, or with robust (Huber-White) standard errors and the Yuan-Bentler
        scaled test (:mod:`psychometrics.cfa.robust`); with MLR the steps use the
        Satorra-Bentler (2001) scaled difference and the changes in the robust CFI and RMSEA.
        MLM (complete data only): robust SEs and the Satorra-Bentler scaled test, steps as for
        MLR. WLSMV: ordered items (``ordered``), the Wu & Estabrook (2016) ladder of
        :mod:`psychometrics.cfa.ordinal_invariance` across waves (semTools' ``measEq.syntax``
        with ``ID.cat = "Wu.Estabrook.2016"``, delta parameterisation, each item's residuals
        correlated across waves), steps by Satorra's (2000) scaled-shifted difference and the
        changes in the scaled CFI and RMSEA; ``identification`` must be "std.lv".
    ordered : True or list, optional
        With WLSMV: every item is ordered (True, or the list of all the model's items).
    parameterization : {"delta", "theta"}
        With WLSMV: lavaan's parameterisation; strict invariance (equal residual variances)
        only with "theta" (the last level of its ladder).
    identification : {"std.lv", "marker"}
        ``std.lv`` (semTools ``measEq.syntax``'s default) or lavaan's marker loadings.

    Returns
    -------
    LongitudinalInvarianceResult

    References
    ----------
    Liu, Y., Millsap, R. E., West, S. G., Tein, J.-Y., Tanaka, R., & Grimm, K. J. (2017).
    Testing measurement invariance in longitudinal data with ordered-categorical measures.
    *Psychological Methods, 22*(3), 486-506. https://doi.org/10.1037/met0000075

    Chen, F. F. (2007). Sensitivity of goodness of fit indexes to lack of measurement
    invariance. *Structural Equation Modeling, 14*(3), 464-504.
    https://doi.org/10.1080/10705510701301834
    """
    estimator = estimator.upper()
    if estimator not in SUPPORTED_ESTIMATORS:
        raise ValueError(
            f"not supported: estimator {estimator!r} for longitudinal invariance; "
            f"supported: {', '.join(SUPPORTED_ESTIMATORS)}"
        )
    allowed = ESTIMATOR_MISSING[estimator]
    if missing not in allowed:
        raise ValueError(
            f"missing={missing!r} is not supported with estimator {estimator} for "
            f"longitudinal invariance; supported: {', '.join(allowed)}"
        )
    ordinal = estimator == "WLSMV"
    if ordinal and ordered in (None, False):
        raise ValueError("estimator WLSMV is for ordered items: pass ordered=True")
    if not ordinal and ordered not in (None, False):
        raise ValueError(
            f"ordered items need estimator='WLSMV' (got {estimator}) for longitudinal invariance"
        )
    if ordinal:
        from .ordinal_invariance import check_levels

        levels = check_levels(levels, parameterization)
        ladder = {lv: ORDINAL_LEVELS[lv] for lv in check_levels(None, parameterization)}
    elif parameterization != "delta":
        raise ValueError("parameterization is for ordered items (estimator='WLSMV') only")
    else:
        ladder = LEVELS
    if ordinal and identification != "std.lv":
        raise ValueError(
            "the ordinal ladder (WLSMV) uses identification 'std.lv' only (semTools' "
            "ID.fac = 'std.lv' with ID.cat = 'Wu.Estabrook.2016')"
        )
    levels = list(ladder) if levels is None else list(levels)
    unknown = [lv for lv in levels if lv not in ladder]
    if unknown or not levels:
        raise ValueError(f"unknown invariance level(s) {unknown}; choose from {list(ladder)}")
    levels = [lv for lv in ladder if lv in levels]
    if identification not in IDENTIFICATIONS:
        raise ValueError(
            f"unknown identification {identification!r}; choose from {list(IDENTIFICATIONS)}"
        )
    design = build_design(model, 2)  # checks the model before the data are reshaped
    wide = to_wide(data, design, id=id, time=time, waves=waves)
    design = build_design(model, len(wide.waves))
    fits: dict[str, CFAResult] = {}
    steps: list[dict] = []
    if ordinal:
        syntax, fits, steps = _ordinal_ladder(
            design, wide, levels, missing, ordered, parameterization
        )
    else:
        syntax = {
            lv: longitudinal_syntax(design, lv, identification=identification) for lv in levels
        }
    for k, level in enumerate([] if ordinal else levels):
        robust = {} if estimator == "ML" else {"estimator": estimator}
        fits[level] = cfa(syntax[level], wide.frame, meanstructure=True, missing=missing, **robust)
        if k:
            before = levels[k - 1]
            steps.append(_step(level, before, fits[level], fits[before], estimator))
    highest = None
    if levels[0] == "configural" and fits["configural"].converged:
        highest = "configural"
        for step in steps:
            if step["supported"] is not True:
                break
            highest = step["level"]
    return LongitudinalInvarianceResult(
        design=design,
        waves=wide.waves,
        id=id,
        time=time,
        identification=identification,
        missing=missing,
        estimator=estimator,
        participants=len(wide.frame),
        rows_per_wave=wide.rows_per_wave,
        syntax=syntax,
        fits=fits,
        steps=steps,
        highest_level=highest,
    )
