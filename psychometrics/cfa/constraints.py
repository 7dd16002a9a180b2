"""Explicit linear constraints between labelled parameters: ``==``, ``<`` and ``>``.

The model's free parameters theta (shared labels and ``group_equal`` already merged, see
:mod:`.model`) are subject to

    A theta = b   (equalities, ``a == 2*b``, ``a + b == 1``),
    C theta >= d  (inequalities; ``a < b`` is written -a + b >= 0; strict and non-strict alike).

Equalities are imposed by reparameterisation, as lavaan does for linear constraints
(``lav_constraints.R``: ``eq.constraints.K``/``k0``): with the singular value decomposition of A,
theta = theta0 + K phi, where theta0 = A^+ b and the columns of K (orthonormal) span the null space
of A. F is minimised over phi; gradient and information are K' g and K' I K.

Inequalities are handled by an active set: fit with the equalities; add the violated
inequalities to the equalities (an active constraint holds with equality at the solution) and
refit; drop an active one whose Lagrange multiplier (from g = A' mu + C_act' lambda, lambda >= 0
at a minimum) is negative, and repeat. Inactive inequalities change nothing.

Standard errors: the inverse information restricted to the constraint surface,
K (K' I K)^-1 K' / N, with the active inequalities counted as equalities — the same as lavaan's
augmented (bordered) information with the Jacobian of the equality and active inequality
constraints (``lav_model_information_augment_invert``; an inequality is inactive when its slack
exceeds lambda/mu). So an active bound has SE 0. Degrees of freedom and ``npar`` (lavaan 0.6-14's
``fitMeasures``) subtract the number of equality constraints; inequality constraints change
neither.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..syntax import Constraint
from .estimation import Estimate

__all__ = ["LinearConstraints", "ReducedObjective", "constrained_fit", "linear_constraints"]


@dataclass(frozen=True)
class LinearConstraints:
    """``A theta = b`` (``equal``) and ``C theta >= d`` (``inequal``) over the free parameters."""

    A: np.ndarray
    b: np.ndarray
    equal: tuple[Constraint, ...]
    C: np.ndarray
    d: np.ndarray
    inequal: tuple[Constraint, ...]
    active: tuple[int, ...] = ()  # indices into ``inequal`` active at the solution
    basis: np.ndarray | None = None  # K: theta = theta0 + K phi at the solution

    @property
    def n_equal(self) -> int:
        return len(self.equal)


def _describe(c: Constraint) -> str:
    return f"'{c.lhs} {c.op} {c.rhs}' (line {c.line})"


def linear_constraints(spec, constraints) -> LinearConstraints:
    """Rows of A, b and C, d for parsed constraints; a fixed labelled parameter is a constant."""
    t = spec.table
    q = spec.n_free
    eq_rows, eq_rhs, eq_list = [], [], []
    in_rows, in_rhs, in_list = [], [], []
    for c in constraints:
        row = np.zeros(q)
        rhs = -c.constant
        for name, coef in c.terms:
            hits = [i for i in range(len(t)) if t.label[i] == name]
            if not hits:
                raise ValueError(
                    f"constraint {_describe(c)} names {name!r}, which labels no parameter of the "
                    "model (label a parameter with e.g. 'f =~ a*x2')"
                )
            free = t.free[hits[0]]
            if free >= 0:
                row[free] += coef
            else:
                rhs -= coef * t.value[hits[0]]
        if not np.any(row):
            raise ValueError(f"constraint {_describe(c)} involves no free parameter")
        if c.op == "==":
            eq_rows.append(row)
            eq_rhs.append(rhs)
            eq_list.append(c)
        elif c.op == ">":
            in_rows.append(row)
            in_rhs.append(rhs)
            in_list.append(c)
        else:  # lhs - rhs < 0  <=>  -(lhs - rhs) > 0
            in_rows.append(-row)
            in_rhs.append(-rhs)
            in_list.append(c)
    A = np.array(eq_rows).reshape(-1, q)
    if A.shape[0] and np.linalg.matrix_rank(A) < A.shape[0]:
        raise ValueError(
            "the equality constraints are redundant or contradict each other: "
            + ", ".join(_describe(c) for c in eq_list)
        )
    if A.shape[0] >= q and q:
        raise ValueError("the equality constraints leave no free parameter")
    return LinearConstraints(
        A,
        np.array(eq_rhs, dtype=float),
        tuple(eq_list),
        np.array(in_rows).reshape(-1, q),
        np.array(in_rhs, dtype=float),
        tuple(in_list),
    )


def null_space(A: np.ndarray, b: np.ndarray, q: int) -> tuple[np.ndarray, np.ndarray]:
    """theta0 = A^+ b and an orthonormal basis K of {x : A x = 0} (q x (q - rank A))."""
    if A.shape[0] == 0:
        return np.zeros(q), np.eye(q)
    _, s, vt = np.linalg.svd(A)
    rank = int(np.sum(s > max(A.shape) * np.finfo(float).eps * s[0]))
    theta0 = np.linalg.pinv(A) @ b
    return theta0, vt[rank:].T.copy()


class ReducedObjective:
    """F(theta0 + K phi) with gradient K' g and information K' I K (for :func:`fisher_scoring`)."""

    def __init__(self, objective, theta0: np.ndarray, K: np.ndarray):
        self.base = objective
        self.theta0 = theta0
        self.K = K

    def full(self, phi: np.ndarray) -> np.ndarray:
        return self.theta0 + self.K @ phi

    def reduce(self, theta: np.ndarray) -> np.ndarray:
        return self.K.T @ (theta - self.theta0)

    def value(self, phi: np.ndarray) -> float:
        return self.base.value(self.full(phi))

    def evaluate(self, phi: np.ndarray, information: bool = True):
        f, g, info = self.base.evaluate(self.full(phi), information=information)
        if g is None:
            return f, None, None
        return f, self.K.T @ g, (self.K.T @ info @ self.K if info is not None else None)


def constrained_fit(objective, start: np.ndarray, lin: LinearConstraints, fit):
    """Minimise F under ``lin`` with ``fit(objective, start) -> Estimate`` (Fisher scoring).

    Returns the estimate in the full parameter space, K of the final (equality + active)
    constraint set, and ``lin`` with its ``active`` inequalities.
    """
    q = start.size
    active: list[int] = []
    tried: set[tuple[int, ...]] = set()
    for _ in range(2 * len(lin.inequal) + 5):
        rows = np.vstack([lin.A, lin.C[active]]) if active else lin.A
        rhs = np.concatenate([lin.b, lin.d[active]]) if active else lin.b
        theta0, K = null_space(rows, rhs, q)
        reduced = ReducedObjective(objective, theta0, K)
        est = fit(reduced, reduced.reduce(start))
        theta = reduced.full(est.theta)
        tried.add(tuple(sorted(active)))
        slack = lin.C @ theta - lin.d if len(lin.inequal) else np.zeros(0)
        scale = 1e-9 * np.maximum(1.0, np.abs(lin.d))
        violated = [i for i in range(len(slack)) if i not in active and slack[i] < -scale[i]]
        if violated:
            active.append(min(violated, key=lambda i: slack[i]))
            continue
        if active:
            _, g, _ = objective.evaluate(theta, information=False)
            coef = np.linalg.lstsq(rows.T, g, rcond=None)[0][lin.A.shape[0] :]
            worst = int(np.argmin(coef))
            if coef[worst] < -1e-7 * max(1.0, float(np.max(np.abs(g)))):
                candidate = sorted(active[:worst] + active[worst + 1 :])
                if tuple(candidate) not in tried:
                    active = candidate
                    continue
        break
    else:
        raise RuntimeError("the active set of the inequality constraints did not settle")
    estimate = Estimate(theta, est.fmin, est.iterations, est.converged, est.message)
    return (
        estimate,
        K,
        LinearConstraints(
            lin.A, lin.b, lin.equal, lin.C, lin.d, lin.inequal, tuple(sorted(active)), K
        ),
    )
