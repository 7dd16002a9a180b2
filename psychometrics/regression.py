"""Criterion statistics: logistic regression, the area under the ROC curve, Pearson's r.

The three questions a criterion-validity analysis asks of a score: does it correlate with the
outcome (:func:`pearson_ci`), does it predict a binary outcome (:func:`logistic_regression`),
and how well does the prediction separate the two groups (:func:`roc_auc`, :func:`roc_auc_ci`).
Inputs are pandas objects or arrays; rows with a missing value are left out (listwise) and the
results say how many were used. Results are frozen objects with a ``to_dict()`` for JSON.

Agreement with independent implementations (``tests/psychometrics/test_regression.py``):
:func:`logistic_regression` reproduces ``statsmodels.api.Logit`` (coefficients, standard errors,
z, p, Wald intervals, log-likelihoods, AIC, BIC, McFadden's R², the likelihood-ratio test);
:func:`roc_auc` reproduces ``sklearn.metrics.roc_auc_score``; :func:`pearson_ci` reproduces
``scipy.stats.pearsonr`` (r, p, Fisher interval), each to 1e-6 or better; the DeLong variance
of :func:`roc_auc_ci` equals its definition over all positive-negative pairs.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import special, stats

from psychometrics import _json

__all__ = [
    "AUCResult",
    "CorrelationResult",
    "LogisticResult",
    "SeparationError",
    "logistic_regression",
    "pearson_ci",
    "roc_auc",
    "roc_auc_ci",
]

INTERCEPT = "intercept"
# A fitted probability this close to 0 or 1 means the outcome is (quasi-)perfectly predicted:
# with a standardised predictor it takes a linear predictor beyond +-23.
_SEPARATION_EPS = 1e-10
_TABLE_COLUMNS = [
    "coef",
    "se",
    "z",
    "p",
    "ci_lower",
    "ci_upper",
    "odds_ratio",
    "or_ci_lower",
    "or_ci_upper",
]


class SeparationError(ValueError):
    """The outcome is perfectly (or quasi-perfectly) predicted: the maximum-likelihood
    estimates do not exist (they run off to infinity)."""


def _check_level(level: float) -> float:
    if not 0 < level < 1:
        raise ValueError(f"confidence level must be between 0 and 1; got {level}")
    return float(level)


def _binary(values: np.ndarray, name: str = "y") -> np.ndarray:
    """``values`` as 0.0/1.0 floats, or ValueError when anything else is in it."""
    if values.dtype == bool:
        return values.astype(float)
    values = values.astype(float)
    bad = ~np.isin(values, (0.0, 1.0))
    if bad.any():
        shown = ", ".join(f"{v:g}" for v in np.unique(values[bad])[:5])
        raise ValueError(f"{name} must be 0/1 (or boolean); found {shown}")
    return values


# --------------------------------------------------------------------------- logistic
@dataclass(frozen=True)
class LogisticResult:
    """Result of :func:`logistic_regression`.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per term (``intercept`` first, then the predictors in order); columns ``coef``,
        ``se``, ``z``, ``p``, ``ci_lower``, ``ci_upper`` (Wald, at ``ci_level``), ``odds_ratio``
        (:math:`e^{b}`), ``or_ci_lower``, ``or_ci_upper`` (the Wald limits exponentiated).
    covariance : pandas.DataFrame
        Inverse observed information at the estimate.
    fitted : pandas.Series
        Predicted probabilities of the rows used, their index kept.
    loglik, llnull : float
        Log-likelihood of the model and of the intercept-only model.
    aic, bic : float
        :math:`-2\\ell + 2p` and :math:`-2\\ell + p \\ln n` with :math:`p` coefficients.
    pseudo_r2 : float
        McFadden's :math:`1 - \\ell / \\ell_0`.
    llr, llr_df, llr_p : float, int, float
        Likelihood-ratio test against the intercept-only model.
    n, n_events : int
        Rows used (complete on ``y`` and every predictor) and rows with ``y = 1``.
    iterations : int
    converged : bool
    ci_level : float
    """

    table: pd.DataFrame
    covariance: pd.DataFrame
    fitted: pd.Series
    loglik: float
    llnull: float
    aic: float
    bic: float
    pseudo_r2: float
    llr: float
    llr_df: int
    llr_p: float
    n: int
    n_events: int
    iterations: int
    converged: bool
    ci_level: float

    @property
    def predictors(self) -> list[str]:
        return [str(term) for term in self.table.index if term != INTERCEPT]

    def predict(self, X: pd.DataFrame) -> pd.Series:
        """Predicted probabilities for the rows of ``X`` (columns: the predictors)."""
        missing = [p for p in self.predictors if p not in X.columns]
        if missing:
            raise ValueError(f"columns not in X: {', '.join(missing)}")
        coef = self.table["coef"].to_numpy()
        eta = coef[0] + X[self.predictors].to_numpy(dtype=float) @ coef[1:]
        return pd.Series(special.expit(eta), index=X.index, name="probability")

    def to_dict(self) -> dict:
        return {
            "n": self.n,
            "n_events": self.n_events,
            "ci_level": self.ci_level,
            "converged": self.converged,
            "iterations": self.iterations,
            "loglik": _json.number(self.loglik),
            "llnull": _json.number(self.llnull),
            "aic": _json.number(self.aic),
            "bic": _json.number(self.bic),
            "pseudo_r2": _json.number(self.pseudo_r2),
            "lr_test": {
                "chisq": _json.number(self.llr),
                "df": self.llr_df,
                "p": _json.number(self.llr_p),
            },
            "coefficients": _json.records(self.table),
        }


def _design(X: pd.DataFrame, y: pd.Series) -> tuple[pd.DataFrame, np.ndarray]:
    """Complete rows of ``X`` and ``y`` as floats; ValueError on anything unusable."""
    if not isinstance(X, pd.DataFrame):
        raise ValueError(f"X must be a pandas DataFrame, got {type(X).__name__}")
    if INTERCEPT in X.columns:
        raise ValueError(f"{INTERCEPT!r} is added by the function; rename that column")
    if X.columns.duplicated().any():
        raise ValueError("X has repeated column names")
    for column in X.columns:
        if not pd.api.types.is_numeric_dtype(X[column]) and not pd.api.types.is_bool_dtype(
            X[column]
        ):
            raise ValueError(f"column {column!r} of X is not numeric")
    y = pd.Series(y)
    if len(y) != len(X):
        raise ValueError(f"X has {len(X)} rows, y has {len(y)}")
    values = X.to_numpy(dtype=float, na_value=np.nan)
    outcome = y.to_numpy(dtype=float, na_value=np.nan)
    keep = ~np.isnan(values).any(axis=1) & ~np.isnan(outcome)
    if np.isinf(values[keep]).any():
        raise ValueError("X holds infinite values")
    frame = pd.DataFrame(values[keep], index=X.index[keep], columns=[str(c) for c in X.columns])
    return frame, _binary(outcome[keep])


def _check_identified(frame: pd.DataFrame, y: np.ndarray) -> None:
    n = len(frame)
    events = int(y.sum())
    if n == 0:
        raise ValueError("no complete rows (every row misses y or a predictor)")
    if events in (0, n):
        raise ValueError(f"y is constant ({int(y[0])} in all {n} complete rows); nothing to model")
    constant = [c for c in frame.columns if np.ptp(frame[c].to_numpy()) == 0]
    if constant:
        raise ValueError(f"predictor(s) without variance: {', '.join(constant)}")
    design = np.column_stack([np.ones(n), frame.to_numpy()])
    if n <= design.shape[1]:
        raise ValueError(f"{n} complete rows for {design.shape[1]} coefficients; need more rows")
    if np.linalg.matrix_rank(design) < design.shape[1]:
        raise ValueError("the predictors are linearly dependent (collinear); drop one")


def _loglik(eta: np.ndarray, y: np.ndarray) -> float:
    # log(1 + e^eta) through logaddexp: exact for large |eta|
    return float(np.sum(y * eta - np.logaddexp(0.0, eta)))


def logistic_regression(
    X: pd.DataFrame,
    y: pd.Series | Sequence[float],
    *,
    level: float = 0.95,
    max_iter: int = 100,
    tol: float = 1e-10,
) -> LogisticResult:
    """Binary logistic regression with an intercept, by Newton-Raphson (= IRLS).

    For the logit model :math:`P(y_i = 1) = \\pi_i = 1 / (1 + e^{-x_i' b})` the
    log-likelihood, score and observed information are

    .. math::
        \\ell(b) = \\sum_i y_i x_i'b - \\ln(1 + e^{x_i'b}),\\quad
        U(b) = X'(y - \\pi),\\quad I(b) = X' W X,\\; W = \\operatorname{diag}(\\pi_i(1-\\pi_i)),

    and each step is :math:`b \\leftarrow b + I(b)^{-1} U(b)`, halved while it lowers
    :math:`\\ell`, from :math:`b_0 = (\\operatorname{logit} \\bar y, 0, \\dots)` until the
    largest change is below ``tol``. Standard errors are the square roots of the diagonal of
    :math:`I(\\hat b)^{-1}`; :math:`z = b / se`, two-sided normal p, Wald interval
    :math:`b \\pm z_{1-a/2}\\, se`; odds ratios and their limits are the exponentials.

    Parameters
    ----------
    X : pandas.DataFrame
        Numeric predictors (no intercept column: it is added, named ``intercept``).
    y : pandas.Series or sequence
        The outcome, 0/1 or boolean, aligned with ``X`` by position.
    level : float
        Confidence level of the Wald intervals.
    max_iter, tol : int, float
        Iteration limit and convergence tolerance on the coefficients.

    Raises
    ------
    SeparationError
        When a fitted probability reaches 0 or 1 (perfect or quasi-complete separation):
        the estimates do not exist; drop or combine the predictor that separates.
    ValueError
        When ``y`` is not 0/1 or constant, a predictor has no variance, the predictors are
        collinear, or there are not more complete rows than coefficients.

    References
    ----------
    Agresti, A. (2013). *Categorical data analysis* (3rd ed.), sections 4.6 and 5.4. Wiley.
    Albert, A., & Anderson, J. A. (1984). On the existence of maximum likelihood estimates in
    logistic regression models. *Biometrika, 71*(1), 1-10. https://doi.org/10.1093/biomet/71.1.1

    Examples
    --------
    >>> import pandas as pd
    >>> X = pd.DataFrame({"x": [1, 2, 3, 4, 5, 6, 7, 8]})
    >>> y = pd.Series([0, 0, 1, 0, 1, 0, 1, 1])
    >>> res = logistic_regression(X, y)
    >>> x = res.table.loc["x"]
    >>> round(float(x["coef"]), 4), round(float(x["odds_ratio"]), 4), round(float(x["p"]), 4)
    (0.5941, 1.8114, 0.1693)
    >>> res.n, res.converged
    (8, True)
    """
    level = _check_level(level)
    frame, outcome = _design(X, y)
    _check_identified(frame, outcome)
    n = len(frame)
    design = np.column_stack([np.ones(n), frame.to_numpy()])
    mean = outcome.mean()
    beta = np.zeros(design.shape[1])
    beta[0] = math.log(mean / (1 - mean))
    ll = _loglik(design @ beta, outcome)
    converged = False
    iterations = 0
    for iterations in range(1, max_iter + 1):  # noqa: B007 - the count is reported
        eta = design @ beta
        prob = special.expit(eta)
        info = design.T @ (design * (prob * (1 - prob))[:, None])
        step = np.linalg.solve(info, design.T @ (outcome - prob))
        new_ll = _loglik(design @ (beta + step), outcome)
        for _ in range(30):  # step halving: Newton may overshoot far from the optimum
            if new_ll >= ll - 1e-12 * abs(ll):
                break
            step /= 2
            new_ll = _loglik(design @ (beta + step), outcome)
        beta = beta + step
        ll = new_ll
        prob = special.expit(design @ beta)
        if np.any((prob < _SEPARATION_EPS) | (prob > 1 - _SEPARATION_EPS)):
            raise SeparationError(
                "perfect or quasi-complete separation: some rows are predicted with "
                "probability 0 or 1, so the maximum-likelihood estimates do not exist"
            )
        if np.max(np.abs(step)) < tol:
            converged = True
            break

    eta = design @ beta
    prob = special.expit(eta)
    info = design.T @ (design * (prob * (1 - prob))[:, None])
    cov = np.linalg.inv(info)
    se = np.sqrt(np.diag(cov))
    z = beta / se
    p = 2 * stats.norm.sf(np.abs(z))
    crit = stats.norm.ppf(1 - (1 - level) / 2)
    lower, upper = beta - crit * se, beta + crit * se
    terms = [INTERCEPT, *frame.columns]
    table = pd.DataFrame(
        {
            "coef": beta,
            "se": se,
            "z": z,
            "p": p,
            "ci_lower": lower,
            "ci_upper": upper,
            "odds_ratio": np.exp(beta),
            "or_ci_lower": np.exp(lower),
            "or_ci_upper": np.exp(upper),
        },
        index=pd.Index(terms, name="term"),
    )[_TABLE_COLUMNS]
    ll = _loglik(eta, outcome)
    llnull = float(n * (mean * math.log(mean) + (1 - mean) * math.log(1 - mean)))
    k = design.shape[1]
    llr = 2 * (ll - llnull)
    return LogisticResult(
        table=table,
        covariance=pd.DataFrame(cov, index=terms, columns=terms),
        fitted=pd.Series(prob, index=frame.index, name="probability"),
        loglik=ll,
        llnull=llnull,
        aic=-2 * ll + 2 * k,
        bic=-2 * ll + k * math.log(n),
        pseudo_r2=1 - ll / llnull,
        llr=llr,
        llr_df=k - 1,
        llr_p=float(stats.chi2.sf(llr, k - 1)),
        n=n,
        n_events=int(outcome.sum()),
        iterations=iterations,
        converged=converged,
        ci_level=level,
    )


# --------------------------------------------------------------------------- ROC AUC
def _roc_inputs(y, score) -> tuple[np.ndarray, np.ndarray]:
    outcome = np.asarray(pd.Series(y, dtype=object).to_numpy(dtype=float, na_value=np.nan))
    values = np.asarray(pd.Series(score, dtype=object).to_numpy(dtype=float, na_value=np.nan))
    if outcome.shape != values.shape:
        raise ValueError(f"y has {outcome.size} values, score has {values.size}")
    keep = ~np.isnan(outcome) & ~np.isnan(values)
    outcome = _binary(outcome[keep])
    values = values[keep]
    if np.isinf(values).any():
        raise ValueError("score holds infinite values")
    positives = int(outcome.sum())
    if positives == 0 or positives == outcome.size:
        raise ValueError("the AUC needs both outcomes (0 and 1) among the complete pairs")
    return outcome, values


def roc_auc(y, score) -> float:
    """Area under the ROC curve: the probability that a random positive scores higher than a
    random negative, ties counted half (the Mann-Whitney form).

    .. math::
        AUC = \\frac{R_1 - n_1 (n_1 + 1) / 2}{n_1 n_0}

    with :math:`R_1` the sum of the mid-ranks of the :math:`n_1` positives among all scores.
    ``y`` (0/1 or boolean) and ``score`` are paired by position; pairs with a missing value
    are left out. Scores that should tie must be equal to the last bit (round them first).

    References
    ----------
    Hanley, J. A., & McNeil, B. J. (1982). The meaning and use of the area under a receiver
    operating characteristic (ROC) curve. *Radiology, 143*(1), 29-36.
    https://doi.org/10.1148/radiology.143.1.7063747

    Examples
    --------
    >>> roc_auc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
    0.75
    >>> roc_auc([0, 1], [0.5, 0.5])  # a tie counts half
    0.5
    """
    outcome, values = _roc_inputs(y, score)
    ranks = stats.rankdata(values)
    n1 = outcome.sum()
    n0 = outcome.size - n1
    return float((ranks[outcome == 1].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


@dataclass(frozen=True)
class AUCResult:
    """Result of :func:`roc_auc_ci`: ``auc``, its DeLong ``se`` and interval (clipped to
    [0, 1]) at ``ci_level``, ``n_positive``, ``n_negative``, ``method``."""

    auc: float
    se: float
    ci_lower: float
    ci_upper: float
    ci_level: float
    n_positive: int
    n_negative: int
    method: str

    def to_dict(self) -> dict:
        return {
            "auc": _json.number(self.auc),
            "se": _json.number(self.se),
            "ci": {
                "lower": _json.number(self.ci_lower),
                "upper": _json.number(self.ci_upper),
                "level": self.ci_level,
                "method": self.method,
            },
            "n_positive": self.n_positive,
            "n_negative": self.n_negative,
        }


def roc_auc_ci(y, score, *, level: float = 0.95) -> AUCResult:
    """The AUC (:func:`roc_auc`) with DeLong's standard error and a normal interval.

    With the structural components (mid-ranks :math:`T` over all scores, :math:`T^{(1)}`
    within the positives, :math:`T^{(0)}` within the negatives)

    .. math::
        V_{10}(x_i) = \\frac{T_i - T^{(1)}_i}{n_0},\\qquad
        V_{01}(y_j) = 1 - \\frac{T_j - T^{(0)}_j}{n_1},\\qquad
        \\widehat{Var}(AUC) = \\frac{s^2_{10}}{n_1} + \\frac{s^2_{01}}{n_0},

    where :math:`V_{10}(x_i)` is the share of negatives below positive :math:`i` (ties half)
    and :math:`s^2` are sample variances. The interval is :math:`AUC \\pm z_{1-a/2} SE`, cut
    at 0 and 1 (as ``pROC::ci.auc(method = "delong")``).

    References
    ----------
    DeLong, E. R., DeLong, D. M., & Clarke-Pearson, D. L. (1988). Comparing the areas under
    two or more correlated receiver operating characteristic curves: A nonparametric approach.
    *Biometrics, 44*(3), 837-845. https://doi.org/10.2307/2531595
    Sun, X., & Xu, W. (2014). Fast implementation of DeLong's algorithm for comparing the
    areas under correlated receiver operating characteristic curves. *IEEE Signal Processing
    Letters, 21*(11), 1389-1393. https://doi.org/10.1109/LSP.2014.2337313

    Examples
    --------
    >>> res = roc_auc_ci([0, 0, 1, 1, 0, 1], [0.1, 0.4, 0.35, 0.8, 0.2, 0.9])
    >>> round(res.auc, 4), round(res.se, 4)
    (0.8889, 0.1571)
    """
    level = _check_level(level)
    outcome, values = _roc_inputs(y, score)
    pos, neg = values[outcome == 1], values[outcome == 0]
    n1, n0 = pos.size, neg.size
    ranks = stats.rankdata(values)
    v10 = (ranks[outcome == 1] - stats.rankdata(pos)) / n0
    v01 = 1 - (ranks[outcome == 0] - stats.rankdata(neg)) / n1
    auc = float(v10.mean())
    s10 = float(np.var(v10, ddof=1)) if n1 > 1 else 0.0
    s01 = float(np.var(v01, ddof=1)) if n0 > 1 else 0.0
    se = math.sqrt(s10 / n1 + s01 / n0)
    crit = stats.norm.ppf(1 - (1 - level) / 2)
    return AUCResult(
        auc=auc,
        se=se,
        ci_lower=max(0.0, auc - crit * se),
        ci_upper=min(1.0, auc + crit * se),
        ci_level=level,
        n_positive=int(n1),
        n_negative=int(n0),
        method="DeLong et al. (1988), normal interval cut at [0, 1]",
    )


# --------------------------------------------------------------------------- Pearson r
@dataclass(frozen=True)
class CorrelationResult:
    """Result of :func:`pearson_ci`: ``r``, ``n`` complete pairs, the Fisher-z interval at
    ``ci_level`` (``None`` in JSON when ``n < 4``) and the two-sided ``p`` of
    :math:`H_0: \\rho = 0`."""

    r: float
    n: int
    ci_lower: float
    ci_upper: float
    ci_level: float
    p: float
    method: str

    def to_dict(self) -> dict:
        return {
            "r": _json.number(self.r),
            "n": self.n,
            "ci": {
                "lower": _json.number(self.ci_lower),
                "upper": _json.number(self.ci_upper),
                "level": self.ci_level,
                "method": self.method,
            },
            "p": _json.number(self.p),
        }


def pearson_ci(x, y, level: float = 0.95) -> CorrelationResult:
    """Pearson's r over the complete pairs, with a Fisher-z interval and a t-test p.

    .. math::
        z = \\operatorname{artanh} r,\\quad
        [\\tanh(z - z_{1-a/2} / \\sqrt{n-3}),\\; \\tanh(z + z_{1-a/2} / \\sqrt{n-3})],\\qquad
        t = r \\sqrt{\\frac{n-2}{1-r^2}} \\sim t_{n-2}.

    ``x`` and ``y`` are paired by position. Raises ValueError with fewer than three complete
    pairs or a constant variable.

    References
    ----------
    Fisher, R. A. (1921). On the "probable error" of a coefficient of correlation deduced from a
    small sample. *Metron, 1*, 3-32.

    Examples
    --------
    >>> res = pearson_ci([1, 2, 3, 4, 5, 6], [2, 1, 4, 3, 6, 5])
    >>> round(res.r, 4), res.n, round(res.ci_lower, 4), round(res.ci_upper, 4)
    (0.8286, 6, 0.0519, 0.9807)
    """
    level = _check_level(level)
    a = pd.Series(x, dtype=object).to_numpy(dtype=float, na_value=np.nan)
    b = pd.Series(y, dtype=object).to_numpy(dtype=float, na_value=np.nan)
    if a.shape != b.shape:
        raise ValueError(f"x has {a.size} values, y has {b.size}")
    keep = ~np.isnan(a) & ~np.isnan(b)
    a, b = a[keep], b[keep]
    n = int(a.size)
    if n < 3:
        raise ValueError(f"a correlation needs at least 3 complete pairs, got {n}")
    if np.ptp(a) == 0 or np.ptp(b) == 0:
        raise ValueError("a variable is constant over the complete pairs; r is undefined")
    da, db = a - a.mean(), b - b.mean()
    r = float(np.clip(da @ db / math.sqrt((da @ da) * (db @ db)), -1.0, 1.0))
    if abs(r) == 1.0:
        p, lower, upper = 0.0, r, r
    else:
        t = r * math.sqrt((n - 2) / (1 - r * r))
        p = float(2 * stats.t.sf(abs(t), n - 2))
        if n > 3:
            half = stats.norm.ppf(1 - (1 - level) / 2) / math.sqrt(n - 3)
            lower, upper = math.tanh(math.atanh(r) - half), math.tanh(math.atanh(r) + half)
        else:
            lower = upper = math.nan
    return CorrelationResult(
        r=r,
        n=n,
        ci_lower=float(lower),
        ci_upper=float(upper),
        ci_level=level,
        p=p,
        method="Fisher z, standard error 1/sqrt(n-3)",
    )
