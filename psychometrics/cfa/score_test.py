"""Score (Lagrange multiplier) tests for releasing equality constraints, as lavaan's
``lavTestScore()`` (release mode).

The constraints are those of the fitted model: explicit ``==`` statements, shared labels and
``group_equal``. As lavaan 0.6-14 does, every free row of the parameter table is given its own
parameter (the "unconstrained" vector u, in table order) and the equalities are written as rows
of R (R u = r): first the explicit ``==`` constraints in the order written (a label stands for
the first row that carries it), then one row e_i - e_j per pair (first member i, other member j)
of each set of rows held equal by a shared label or ``group_equal``, in table order. lavaan names
the rows by plabel ``.pK.`` (K the 1-based row of the parameter table); ``constraint`` spells
them out.

With s the gradient of the log-likelihood per observation (s = -dF/du) and I the expected
information per observation, both at the constrained estimates, N observations:

- total test, releasing all constraints: X2 = N s' I^+ s with df = rows of R;
- univariate test of row k: X2_k = N s' J_k s, df = 1, with J_k the upper-left block of the
  Moore-Penrose inverse of the bordered matrix [[I, R_-k'], [R_-k, 0]] (R without row k);
- ``epc``: the expected change of every parameter when all constraints are released,
  epc = I^+ s (``epv`` = est + epc), lavaan's ``epc = TRUE``;
- ``release`` (1-based rows of ``uni``, lavaan's ``release =``): only those constraints are
  released; the total test uses J, the upper-left block of the Moore-Penrose inverse of
  [[I, R_0'], [R_0, 0]] with R_0 the rows kept, df = number released; the univariate tests and
  ``epc`` are those of the released rows (``epc`` = J s).

Moore-Penrose inverses use MASS::ginv's tolerance (singular values below sqrt(eps) times the
largest are dropped). Inequality constraints are refused, as lavaan does.

References
----------
Bentler, P. M., & Chou, C.-P. (1992). Some new covariance structure model improvement
statistics. *Sociological Methods & Research, 21*, 259-282.
https://doi.org/10.1177/0049124192021002006

Rosseel, Y. (2012). lavaan: An R package for structural equation modeling. *Journal of
Statistical Software, 48*(2). https://doi.org/10.18637/jss.v048.i02
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from .._json import jsonable
from .estimation import Objective
from .fiml import MissingData

__all__ = ["ScoreTestResult", "score_test"]

_TOL = float(np.sqrt(np.finfo(float).eps))  # MASS::ginv's default tolerance


@dataclass(frozen=True)
class ScoreTestResult:
    """``test``: the total score test; ``uni``: one row per constraint (lhs, op, rhs as lavaan,
    ``constraint`` readable, X2, df, pvalue); ``epc``: expected parameter changes or None."""

    test: pd.DataFrame
    uni: pd.DataFrame
    epc: pd.DataFrame | None = None

    def to_dict(self) -> dict:
        out = {"test": self.test, "uni": self.uni}
        if self.epc is not None:
            out["epc"] = self.epc
        return jsonable(out)


def _ginv(a: np.ndarray) -> np.ndarray:
    return np.linalg.pinv(a, rcond=_TOL, hermitian=True)


def _names(fit) -> list[str]:
    t = fit.spec.table
    multi = fit.spec.n_groups > 1
    out = []
    for i in range(len(t)):
        name = f"{t.lhs[i]}~1" if t.op[i] == "~1" else f"{t.lhs[i]}{t.op[i]}{t.rhs[i]}"
        if multi:
            name += f" [{fit.group_labels[int(t.group[i])]}]"
        out.append(name)
    return out


def constraint_rows(fit):
    """R over the unconstrained parameters, with lhs, rhs (lavaan's) and readable names."""
    t = fit.spec.table
    rows_free = np.flatnonzero(t.free >= 0)
    comp = t.free[rows_free]
    n_unco = rows_free.size
    first = {}
    for pos, f in enumerate(comp):
        first.setdefault(int(f), pos)
    names = _names(fit)
    R, lhs, rhs, readable = [], [], [], []
    lin = fit.constraints
    if lin is not None:
        for k, c in enumerate(lin.equal):
            row = np.zeros(n_unco)
            for f in np.flatnonzero(lin.A[k]):
                row[first[int(f)]] = lin.A[k, f]
            R.append(row)
            lhs.append(c.lhs)
            rhs.append(c.rhs)
            readable.append(f"{c.lhs} == {c.rhs}")
    pairs = []
    for f, ref in first.items():
        members = np.flatnonzero(comp == f)
        pairs.extend((ref, int(o)) for o in members if o != ref)
    for ref, other in sorted(pairs):
        row = np.zeros(n_unco)
        row[ref], row[other] = 1.0, -1.0
        R.append(row)
        i, j = rows_free[ref], rows_free[other]
        lhs.append(f".p{i + 1}.")
        rhs.append(f".p{j + 1}.")
        readable.append(f"{names[i]} == {names[j]}")
    return np.array(R).reshape(-1, n_unco), lhs, rhs, readable, rows_free, comp


def _bordered_inverse(info: np.ndarray, kept: np.ndarray) -> np.ndarray:
    """Upper-left block of ginv([[I, R'], [R, 0]]) (ginv(I) when no row is kept)."""
    if kept.shape[0] == 0:
        return _ginv(info)
    k = kept.shape[0]
    z = np.block([[info, kept.T], [kept, np.zeros((k, k))]])
    return _ginv(z)[: info.shape[0], : info.shape[0]]


def score_test(fit, *, epc: bool = False, release=None) -> ScoreTestResult:
    """Score tests for releasing the equality constraints of ``fit`` (lavaan's
    ``lavTestScore(fit, epc = epc, release = release)``): total and univariate, see the module
    docstring. ``release``: 1-based numbers of the constraints to release (default: all).

    Supported: ML with complete data (``estimator="ML"``, ``missing="listwise"``).
    """
    from .results import CFAResult

    if not isinstance(fit, CFAResult):
        raise TypeError("score_test takes a CFAResult of cfa() with continuous indicators")
    if fit.estimator != "ML":
        raise ValueError(f"score tests are supported with estimator 'ML', not {fit.estimator!r}")
    if any(isinstance(g, MissingData) for g in fit.objective.groups):
        raise ValueError("score tests are supported with complete data (missing='listwise')")
    lin = fit.constraints
    if lin is not None and lin.inequal:
        raise ValueError("score tests do not handle inequality constraints ('<', '>'), as lavaan")
    R, lhs, rhs, readable, rows_free, comp = constraint_rows(fit)
    if R.shape[0] == 0:
        raise ValueError(
            "the model has no equality constraints (shared labels, '==' or group_equal)"
        )
    spec = fit.spec
    unco_free = np.full(len(spec.table), -1)
    unco_free[rows_free] = np.arange(rows_free.size)
    unco = dataclasses.replace(
        spec,
        table=dataclasses.replace(spec.table, free=unco_free),
        n_free=int(rows_free.size),
    )
    objective = Objective(unco, fit.objective.groups)
    theta_u = np.asarray(fit.theta)[comp]
    _, grad, info = objective.evaluate(theta_u)
    score = -grad
    n = fit.objective.n
    if release is None:
        chosen = np.arange(R.shape[0])
    else:
        chosen = np.unique(np.asarray(release, dtype=int)) - 1
        if chosen.size == 0 or chosen.min() < 0 or chosen.max() >= R.shape[0]:
            raise ValueError(f"release takes constraint numbers between 1 and {R.shape[0]}")
    j_all = _bordered_inverse(info, np.delete(R, chosen, axis=0))
    stat = float(n * score @ j_all @ score)
    df = int(chosen.size)
    test = pd.DataFrame(
        {"test": ["score"], "X2": [stat], "df": [df], "pvalue": [float(stats.chi2.sf(stat, df))]}
    )
    uni = np.array(
        [n * score @ _bordered_inverse(info, np.delete(R, k, axis=0)) @ score for k in chosen]
    )
    lhs, rhs, readable = ([x[k] for k in chosen] for x in (lhs, rhs, readable))
    table = pd.DataFrame(
        {
            "lhs": lhs,
            "op": "==",
            "rhs": rhs,
            "constraint": readable,
            "X2": uni,
            "df": 1,
            "pvalue": stats.chi2.sf(uni, 1),
        }
    )
    epc_table = None
    if epc:
        change = score @ j_all
        est = fit.estimates
        epc_table = est[["lhs", "op", "rhs", "group", "label", "est"]].copy()
        values = np.full(len(est), np.nan)
        values[rows_free] = change
        epc_table["epc"] = values
        epc_table["epv"] = epc_table["est"] + values
        epc_table = epc_table.reset_index(drop=True)
    return ScoreTestResult(test, table, epc_table)
