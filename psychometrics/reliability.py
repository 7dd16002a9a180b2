"""Reliability of a scale: internal consistency, split half, omega, test-retest.

All functions take a :class:`pandas.DataFrame` (rows respondents, columns items, reverse-keyed
items already reversed, see :mod:`psychometrics.keying`) and return a frozen result object with a
``to_dict()`` for JSON. Each result states the missing-data handling it used and its ``n``.

Agreement with R (see ``tests/psychometrics/r/generate_reliability_oracles.R``):

- :func:`cronbach_alpha` reproduces ``psych::alpha`` (``raw_alpha``, ``std.alpha``,
  ``r.drop``, ``alpha.drop``) and ``psych::alpha.ci`` (Feldt) to 1e-10; ``missing="pairwise"``
  is ``psych::alpha``'s default ``use = "pairwise"``, ``missing="listwise"`` its result on the
  complete cases.
- :func:`omega_total` reproduces ``semTools::compRelSEM(fit, obs.var = FALSE)`` for a one-factor
  ``lavaan::cfa(..., std.lv = TRUE)`` model, within the CFA engine's tolerance.
- :func:`intraclass_corr` reproduces ``psych::ICC(x, lmer = FALSE)`` to 1e-10.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from psychometrics import _json
from psychometrics.inputs import (
    check_missing,
    complete_cases,
    covariance_matrix,
    item_frame,
)

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_.]*$")


# --------------------------------------------------------------------------- alpha
@dataclass(frozen=True)
class AlphaResult:
    """Result of :func:`cronbach_alpha`.

    Attributes
    ----------
    alpha : float
        Raw (covariance-based) Cronbach's alpha.
    std_alpha : float
        Standardised alpha, from the mean inter-item correlation.
    average_r : float
        Mean inter-item correlation.
    ci_lower, ci_upper : float
        Confidence interval for ``alpha`` (Feldt, 1965), at ``ci_level``.
    ci_level : float
    ci_method : str
    items : pandas.DataFrame
        Per item: ``n``, ``mean``, ``sd``, ``r_drop`` (corrected item-total correlation),
        ``alpha_if_deleted``, ``std_alpha_if_deleted``.
    n : int
        Rows used: complete rows (listwise) or rows with at least one response (pairwise).
    n_items : int
    missing : str
    """

    alpha: float
    std_alpha: float
    average_r: float
    ci_lower: float
    ci_upper: float
    ci_level: float
    ci_method: str
    items: pd.DataFrame
    n: int
    n_items: int
    missing: str

    def to_dict(self) -> dict:
        return {
            "alpha": _json.number(self.alpha),
            "std_alpha": _json.number(self.std_alpha),
            "average_r": _json.number(self.average_r),
            "ci": {
                "lower": _json.number(self.ci_lower),
                "upper": _json.number(self.ci_upper),
                "level": self.ci_level,
                "method": self.ci_method,
            },
            "n": self.n,
            "n_items": self.n_items,
            "missing": self.missing,
            "items": _json.records(self.items),
        }


def _alpha_from_cov(cov: np.ndarray) -> float:
    k = cov.shape[0]
    if k < 2:
        return float("nan")
    return float(k / (k - 1) * (1.0 - np.trace(cov) / cov.sum()))


def _std_alpha_from_corr(corr: np.ndarray) -> tuple[float, float]:
    k = corr.shape[0]
    if k < 2:
        return float("nan"), float("nan")
    r_bar = (corr.sum() - k) / (k * (k - 1))
    return float(k * r_bar / (1 + (k - 1) * r_bar)), float(r_bar)


def feldt_interval(alpha: float, n: int, k: int, level: float = 0.95) -> tuple[float, float]:
    """Feldt (1965) confidence interval for Cronbach's alpha.

    .. math::
        \\left[1 - (1-\\alpha) F_{1-a/2}(n-1, (n-1)(k-1)),\\;
               1 - (1-\\alpha) F_{a/2}(n-1, (n-1)(k-1))\\right],\\quad a = 1 - \\text{level}

    References
    ----------
    Feldt, L. S. (1965). The approximate sampling distribution of Kuder-Richardson reliability
    coefficient twenty. *Psychometrika, 30*(3), 357-370. https://doi.org/10.1007/BF02289499

    Examples
    --------
    >>> [round(v, 4) for v in feldt_interval(0.8, n=100, k=5)]
    [0.7306, 0.8559]
    """
    if not 0 < level < 1:
        raise ValueError(f"confidence level must be between 0 and 1; got {level}")
    a = 1.0 - level
    df1, df2 = n - 1, (n - 1) * (k - 1)
    lower = 1 - (1 - alpha) * stats.f.ppf(1 - a / 2, df1, df2)
    upper = 1 - (1 - alpha) * stats.f.ppf(a / 2, df1, df2)
    return float(lower), float(upper)


def cronbach_alpha(
    data: pd.DataFrame,
    items: Sequence[str] | None = None,
    *,
    missing: str = "listwise",
    ci: float = 0.95,
) -> AlphaResult:
    """Cronbach's alpha with Feldt interval, standardised alpha and item-deleted statistics.

    With the item covariance matrix :math:`C` of :math:`k` items and the correlation matrix
    :math:`R`:

    .. math::
        \\alpha = \\frac{k}{k-1}\\left(1 - \\frac{\\operatorname{tr} C}{\\mathbf 1' C \\mathbf 1}
        \\right),\\qquad
        \\alpha_{std} = \\frac{k \\bar r}{1 + (k-1)\\bar r},

    with :math:`\\bar r` the mean off-diagonal correlation. The corrected item-total correlation
    (``psych``'s ``r.drop``) of item :math:`i` is its correlation with the sum of the other items,
    :math:`\\sum_{j\\ne i} C_{ij} / \\sqrt{C_{ii}\\, \\mathbf 1' C_{-i,-i} \\mathbf 1}`;
    ``alpha_if_deleted`` is :math:`\\alpha` of :math:`C_{-i,-i}`.

    Parameters
    ----------
    data : pandas.DataFrame
        Item responses, reverse-keyed items already reversed.
    items : sequence of str, optional
        Columns forming the scale (default: all).
    missing : {"listwise", "pairwise"}
        ``"listwise"`` uses the complete rows; ``"pairwise"`` builds :math:`C` from pairwise
        complete observations (``psych::alpha``'s default).
    ci : float
        Confidence level of the Feldt interval; ``n`` is the number of rows used.

    Returns
    -------
    AlphaResult

    References
    ----------
    Cronbach, L. J. (1951). Coefficient alpha and the internal structure of tests.
    *Psychometrika, 16*(3), 297-334. https://doi.org/10.1007/BF02310555

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"a": [1, 2, 3, 4, 5, 3], "b": [2, 2, 3, 5, 4, 3],
    ...                    "c": [1, 3, 3, 4, 5, 2]})
    >>> res = cronbach_alpha(df)
    >>> round(res.alpha, 4), res.n, res.missing
    (0.9318, 6, 'listwise')
    """
    check_missing(missing)
    frame = item_frame(data, items, min_items=2, min_rows=3)
    if missing == "listwise":
        frame = complete_cases(frame, min_rows=3)
        n = len(frame)
    else:
        frame = frame.loc[frame.notna().any(axis=1)]
        n = len(frame)
    cov_frame = covariance_matrix(frame, missing)
    cov = cov_frame.to_numpy()
    sd = np.sqrt(np.diag(cov))
    corr = cov / np.outer(sd, sd)
    k = cov.shape[0]
    alpha = _alpha_from_cov(cov)
    std_alpha, r_bar = _std_alpha_from_corr(corr)
    lower, upper = feldt_interval(alpha, n, k, ci)

    rows = []
    for i, item in enumerate(cov_frame.columns):
        keep = [j for j in range(k) if j != i]
        rest = cov[np.ix_(keep, keep)]
        r_drop = (cov[:, i].sum() - cov[i, i]) / np.sqrt(cov[i, i] * rest.sum())
        drop_alpha = _alpha_from_cov(rest) if k > 2 else float("nan")
        drop_std = _std_alpha_from_corr(corr[np.ix_(keep, keep)])[0] if k > 2 else float("nan")
        values = frame[item]
        rows.append(
            {
                "n": int(values.notna().sum()),
                "mean": float(values.mean()),
                "sd": float(values.std(ddof=1)),
                "r_drop": float(r_drop),
                "alpha_if_deleted": drop_alpha,
                "std_alpha_if_deleted": drop_std,
            }
        )
    table = pd.DataFrame(rows, index=pd.Index(cov_frame.columns, name="item"))
    return AlphaResult(
        alpha=alpha,
        std_alpha=std_alpha,
        average_r=r_bar,
        ci_lower=lower,
        ci_upper=upper,
        ci_level=ci,
        ci_method="Feldt (1965), F distribution with n-1 and (n-1)(k-1) df",
        items=table,
        n=n,
        n_items=k,
        missing=missing,
    )


# --------------------------------------------------------------------------- split half
@dataclass(frozen=True)
class SplitHalfResult:
    """Result of :func:`split_half`.

    Attributes
    ----------
    r_halves : float
        Correlation of the odd-item and even-item half scores.
    spearman_brown : float
        :math:`2r / (1 + r)`, the reliability of the full-length test.
    guttman_split_half : float
        Flanagan-Rulon / Guttman :math:`\\lambda_4` for this split,
        :math:`4\\,\\mathrm{cov}(O, E) / \\mathrm{var}(O + E)`; no equal-variance assumption.
    odd_items, even_items : tuple of str
    n : int
    missing : str
    split : str
    """

    r_halves: float
    spearman_brown: float
    guttman_split_half: float
    odd_items: tuple[str, ...]
    even_items: tuple[str, ...]
    n: int
    missing: str
    split: str = "odd-even (items 1, 3, 5, ... vs 2, 4, 6, ... in the given order)"

    def to_dict(self) -> dict:
        return {
            "r_halves": _json.number(self.r_halves),
            "spearman_brown": _json.number(self.spearman_brown),
            "guttman_split_half": _json.number(self.guttman_split_half),
            "odd_items": list(self.odd_items),
            "even_items": list(self.even_items),
            "split": self.split,
            "n": self.n,
            "missing": self.missing,
        }


def split_half(
    data: pd.DataFrame, items: Sequence[str] | None = None, *, missing: str = "listwise"
) -> SplitHalfResult:
    """Odd-even split-half reliability with the Spearman-Brown correction.

    The first, third, fifth, ... item (in the given order) form one half and the others the
    second. With half scores :math:`O` and :math:`E`:

    .. math::
        r = \\mathrm{cor}(O, E),\\qquad \\rho_{SB} = \\frac{2r}{1+r},\\qquad
        \\lambda_4 = \\frac{4\\,\\mathrm{cov}(O,E)}{\\mathrm{var}(O+E)}.

    Both are computed from the item covariance matrix (sums of its blocks), so ``"pairwise"``
    handles missing responses without imputing; ``"listwise"`` equals correlating the half sums
    of the complete rows.

    References
    ----------
    Spearman, C. (1910). Correlation calculated from faulty data. *British Journal of Psychology,
    3*(3), 271-295. https://doi.org/10.1111/j.2044-8295.1910.tb00206.x
    Brown, W. (1910). Some experimental results in the correlation of mental abilities.
    *British Journal of Psychology, 3*(3), 296-322.
    https://doi.org/10.1111/j.2044-8295.1910.tb00207.x

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"a": [1, 2, 3, 4, 5], "b": [2, 2, 3, 5, 4],
    ...                    "c": [1, 3, 3, 4, 5], "d": [2, 1, 4, 4, 5]})
    >>> res = split_half(df)
    >>> round(res.r_halves, 4), round(res.spearman_brown, 4), res.odd_items
    (0.844, 0.9154, ('a', 'c'))
    """
    check_missing(missing)
    frame = item_frame(data, items, min_items=2, min_rows=3)
    if missing == "listwise":
        frame = complete_cases(frame, min_rows=3)
    else:
        frame = frame.loc[frame.notna().any(axis=1)]
    cov = covariance_matrix(frame, missing).to_numpy()
    k = cov.shape[0]
    odd = list(range(0, k, 2))
    even = list(range(1, k, 2))
    c_oe = cov[np.ix_(odd, even)].sum()
    v_o = cov[np.ix_(odd, odd)].sum()
    v_e = cov[np.ix_(even, even)].sum()
    r = c_oe / np.sqrt(v_o * v_e)
    return SplitHalfResult(
        r_halves=float(r),
        spearman_brown=float(2 * r / (1 + r)),
        guttman_split_half=float(4 * c_oe / cov.sum()),
        odd_items=tuple(frame.columns[odd]),
        even_items=tuple(frame.columns[even]),
        n=len(frame),
        missing=missing,
    )


# --------------------------------------------------------------------------- omega
@dataclass(frozen=True)
class OmegaResult:
    """Result of :func:`omega_total`.

    Attributes
    ----------
    omega : float
        :math:`(\\sum\\lambda)^2 / ((\\sum\\lambda)^2 + \\sum\\theta)`, model-implied total
        variance (``semTools::compRelSEM(obs.var = FALSE)``).
    omega_observed : float
        :math:`(\\sum\\lambda)^2 / \\mathbf 1' S \\mathbf 1` with the observed (ML, divisor n)
        covariance matrix of the complete rows (``compRelSEM``'s default ``obs.var = TRUE``);
        NaN with ``missing="ml"``.
    loadings : pandas.DataFrame
        Per item: ``loading``, ``residual_variance``, ``std_loading``.
    model : str
        The lavaan-style model that was fitted.
    n : int
    missing : str
    fit : dict
        The CFA fit measures.
    """

    omega: float
    omega_observed: float
    loadings: pd.DataFrame
    model: str
    n: int
    missing: str
    fit: dict

    def to_dict(self) -> dict:
        return {
            "omega": _json.number(self.omega),
            "omega_observed": _json.number(self.omega_observed),
            "convention": "model-implied total variance, as semTools::compRelSEM(obs.var=FALSE)",
            "model": self.model,
            "n": self.n,
            "missing": self.missing,
            "items": _json.records(self.loadings),
            "fit": {str(k): _json.number(v) for k, v in self.fit.items()},
        }


def omega_total(
    data: pd.DataFrame, items: Sequence[str] | None = None, *, missing: str = "listwise"
) -> OmegaResult:
    """McDonald's omega total from a one-factor CFA of the scale.

    Fits ``f =~ item1 + item2 + ...`` by maximum likelihood with the factor variance fixed to 1
    (``std.lv = TRUE``) with :func:`psychometrics.cfa.cfa`, then

    .. math::
        \\omega = \\frac{(\\sum_i \\lambda_i)^2}{(\\sum_i \\lambda_i)^2 + \\sum_i \\theta_{ii}}

    with loadings :math:`\\lambda` and residual variances :math:`\\theta` in the items' raw
    metric. This is ``semTools::compRelSEM(fit, obs.var = FALSE)``; ``omega_observed`` divides by
    the observed total variance instead (``compRelSEM``'s default). ``psych::omega``'s
    ``omega.tot`` differs: it comes from a minres factor analysis of the correlation matrix.
    Reverse-keyed items must be reversed first; a negative loading lowers omega.

    Parameters
    ----------
    data : pandas.DataFrame
        Item responses. Column names must be identifiers (letters, digits, ``_``, ``.``).
    items : sequence of str, optional
        Columns forming the scale (at least 3 for an identified model).
    missing : {"listwise", "ml"}
        Complete rows, or full-information maximum likelihood on all rows.

    Returns
    -------
    OmegaResult

    References
    ----------
    McDonald, R. P. (1999). *Test theory: A unified treatment*. Erlbaum.
    https://doi.org/10.4324/9781410601087
    Raykov, T. (1997). Estimation of composite reliability for congeneric measures.
    *Applied Psychological Measurement, 21*(2), 173-184. https://doi.org/10.1177/01466216970212006

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(1)
    >>> f = rng.normal(size=500)
    >>> df = pd.DataFrame({f"i{j}": 0.7 * f + rng.normal(scale=0.7, size=500) for j in range(4)})
    >>> res = omega_total(df)
    >>> round(res.omega, 2), res.n
    (0.77, 500)
    """
    check_missing(missing, ("listwise", "ml"))
    frame = item_frame(data, items, min_items=3, min_rows=4)
    bad = [str(c) for c in frame.columns if not _IDENTIFIER.match(str(c))]
    if bad:
        raise ValueError(f"item names must be identifiers for the CFA model; rename {bad}")
    if missing == "listwise":
        frame = complete_cases(frame, min_rows=frame.shape[1] + 1)
    model = "f =~ " + " + ".join(str(c) for c in frame.columns)

    from psychometrics.cfa import cfa  # the engine is optional for everything else here

    res = cfa(model, frame, std_lv=True, missing=missing)
    est = res.estimates
    names = [str(c) for c in frame.columns]
    load = est[(est["op"] == "=~") & (est["lhs"] == "f")].set_index("rhs")
    resid = est[(est["op"] == "~~") & (est["lhs"] == est["rhs"]) & est["lhs"].isin(names)]
    resid = resid.set_index("lhs")
    lam = load.loc[names, "est"].to_numpy(dtype=float)
    theta = resid.loc[names, "est"].to_numpy(dtype=float)
    num = lam.sum() ** 2
    omega = num / (num + theta.sum())
    if missing == "listwise":
        observed = frame.cov(ddof=0).to_numpy().sum()
        omega_obs = num / observed
    else:
        omega_obs = float("nan")
    table = pd.DataFrame(
        {
            "loading": lam,
            "residual_variance": theta,
            "std_loading": load.loc[names, "std_all"].to_numpy(dtype=float),
        },
        index=pd.Index(names, name="item"),
    )
    return OmegaResult(
        omega=float(omega),
        omega_observed=float(omega_obs),
        loadings=table,
        model=model,
        n=int(frame.notna().any(axis=1).sum()),
        missing=missing,
        fit=dict(res.fit_measures()),
    )


# --------------------------------------------------------------------------- ICC
_ICC_DESCRIPTIONS = {
    "ICC1": "single measure, one-way random (absolute agreement)",
    "ICC2": "single measure, two-way random, absolute agreement",
    "ICC3": "single measure, two-way mixed, consistency",
    "ICC1k": "mean of k measures, one-way random",
    "ICC2k": "mean of k measures, two-way random, absolute agreement",
    "ICC3k": "mean of k measures, two-way mixed, consistency",
}


@dataclass(frozen=True)
class ICCResult:
    """Result of :func:`intraclass_corr`.

    Attributes
    ----------
    table : pandas.DataFrame
        Rows ``ICC1``, ``ICC2``, ``ICC3``, ``ICC1k``, ``ICC2k``, ``ICC3k``; columns
        ``description``, ``icc``, ``f``, ``df1``, ``df2``, ``p``, ``ci_lower``, ``ci_upper``.
    mean_squares : dict
        ``msb`` (subjects), ``msw`` (within subjects), ``msj`` (waves), ``mse`` (residual).
    n : int
        Subjects with a score at every wave.
    k : int
        Number of waves (raters).
    ci_level : float
    missing : str
    """

    table: pd.DataFrame
    mean_squares: dict
    n: int
    k: int
    ci_level: float
    missing: str

    def to_dict(self) -> dict:
        return {
            "n": self.n,
            "k": self.k,
            "ci_level": self.ci_level,
            "missing": self.missing,
            "mean_squares": {k: _json.number(v) for k, v in self.mean_squares.items()},
            "icc": _json.records(self.table),
        }


def intraclass_corr(
    data: pd.DataFrame,
    waves: Sequence[str] | None = None,
    *,
    missing: str = "listwise",
    ci: float = 0.95,
) -> ICCResult:
    """Intraclass correlations (Shrout & Fleiss) for test-retest reliability.

    ``data`` is wide: one row per participant, one column per wave (or rater), e.g. the scale
    score at baseline and at week 4. From the two-way ANOVA mean squares for subjects
    (:math:`MS_B`), waves (:math:`MS_J`), residual (:math:`MS_E`) and within subjects
    (:math:`MS_W`), with :math:`n` subjects and :math:`k` waves:

    .. math::
        ICC1 = \\frac{MS_B - MS_W}{MS_B + (k-1) MS_W},\\quad
        ICC2 = \\frac{MS_B - MS_E}{MS_B + (k-1) MS_E + k (MS_J - MS_E)/n},\\quad
        ICC3 = \\frac{MS_B - MS_E}{MS_B + (k-1) MS_E},

    and the average-measure forms :math:`(MS_B - MS_W)/MS_B`,
    :math:`(MS_B - MS_E)/(MS_B + (MS_J - MS_E)/n)`, :math:`(MS_B - MS_E)/MS_B`. F tests and
    confidence intervals follow Shrout & Fleiss (1979) and McGraw & Wong (1996), as
    ``psych::ICC``. For test-retest agreement ICC2 (absolute agreement) is the usual choice;
    ICC3 ignores a systematic shift between waves.

    Parameters
    ----------
    data : pandas.DataFrame
        One column per wave.
    waves : sequence of str, optional
        Columns to use (default: all), at least two.
    missing : {"listwise"}
        Participants without a score at every wave are dropped.
    ci : float
        Confidence level.

    References
    ----------
    Shrout, P. E., & Fleiss, J. L. (1979). Intraclass correlations: Uses in assessing rater
    reliability. *Psychological Bulletin, 86*(2), 420-428.
    https://doi.org/10.1037/0033-2909.86.2.420
    McGraw, K. O., & Wong, S. P. (1996). Forming inferences about some intraclass correlation
    coefficients. *Psychological Methods, 1*(1), 30-46. https://doi.org/10.1037/1082-989X.1.1.30

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"t1": [9, 6, 8, 7, 10, 6], "t2": [2, 1, 4, 1, 5, 2]})
    >>> res = intraclass_corr(df)
    >>> res.table.loc[["ICC1", "ICC3"], "icc"].round(4).tolist()
    [-0.4964, 0.7453]
    """
    check_missing(missing, ("listwise",))
    if not 0 < ci < 1:
        raise ValueError(f"confidence level must be between 0 and 1; got {ci}")
    frame = complete_cases(item_frame(data, waves, min_items=2, min_rows=3), min_rows=3)
    x = frame.to_numpy()
    n, k = x.shape
    grand = x.mean()
    ss_total = ((x - grand) ** 2).sum()
    ss_rows = k * ((x.mean(axis=1) - grand) ** 2).sum()
    ss_cols = n * ((x.mean(axis=0) - grand) ** 2).sum()
    ss_err = ss_total - ss_rows - ss_cols
    msb = ss_rows / (n - 1)
    msj = ss_cols / (k - 1)
    mse = ss_err / ((n - 1) * (k - 1))
    msw = (ss_cols + ss_err) / (n * (k - 1))
    if mse <= 0 or msw <= 0:
        raise ValueError("the waves agree perfectly or have no variance; ICC is undefined")

    icc1 = (msb - msw) / (msb + (k - 1) * msw)
    icc2 = (msb - mse) / (msb + (k - 1) * mse + k * (msj - mse) / n)
    icc3 = (msb - mse) / (msb + (k - 1) * mse)
    icc1k = (msb - msw) / msb
    icc2k = (msb - mse) / (msb + (msj - mse) / n)
    icc3k = (msb - mse) / msb

    a = 1 - ci
    f1 = msb / msw
    df1n, df1d = n - 1, n * (k - 1)
    p1 = stats.f.sf(f1, df1n, df1d)
    f2 = msb / mse
    df2n, df2d = n - 1, (n - 1) * (k - 1)
    p2 = stats.f.sf(f2, df2n, df2d)

    f1l = f1 / stats.f.ppf(1 - a / 2, df1n, df1d)
    f1u = f1 * stats.f.ppf(1 - a / 2, df1d, df1n)
    f3l = f2 / stats.f.ppf(1 - a / 2, df2n, df2d)
    f3u = f2 * stats.f.ppf(1 - a / 2, df2d, df2n)
    # ICC2: Satterthwaite-type df for the two-way random model (McGraw & Wong, 1996, Table 7).
    fj = msj / mse
    vn = (k - 1) * (n - 1) * (k * icc2 * fj + n * (1 + (k - 1) * icc2) - k * icc2) ** 2
    vd = (n - 1) * k**2 * icc2**2 * fj**2 + (n * (1 + (k - 1) * icc2) - k * icc2) ** 2
    v = vn / vd
    fu = stats.f.ppf(1 - a / 2, n - 1, v)
    fl = stats.f.ppf(1 - a / 2, v, n - 1)
    l2 = n * (msb - fu * mse) / (fu * (k * msj + (k * n - k - n) * mse) + n * msb)
    u2 = n * (fl * msb - mse) / (k * msj + (k * n - k - n) * mse + n * fl * msb)

    rows = {
        "ICC1": (icc1, f1, df1n, df1d, p1, (f1l - 1) / (f1l + k - 1), (f1u - 1) / (f1u + k - 1)),
        "ICC2": (icc2, f2, df2n, df2d, p2, l2, u2),
        "ICC3": (icc3, f2, df2n, df2d, p2, (f3l - 1) / (f3l + k - 1), (f3u - 1) / (f3u + k - 1)),
        "ICC1k": (icc1k, f1, df1n, df1d, p1, 1 - 1 / f1l, 1 - 1 / f1u),
        "ICC2k": (
            icc2k,
            f2,
            df2n,
            df2d,
            p2,
            l2 * k / (1 + l2 * (k - 1)),
            u2 * k / (1 + u2 * (k - 1)),
        ),
        "ICC3k": (icc3k, f2, df2n, df2d, p2, 1 - 1 / f3l, 1 - 1 / f3u),
    }
    table = pd.DataFrame.from_dict(
        rows, orient="index", columns=["icc", "f", "df1", "df2", "p", "ci_lower", "ci_upper"]
    ).astype(float)
    table.insert(0, "description", [_ICC_DESCRIPTIONS[t] for t in table.index])
    table.index.name = "type"
    return ICCResult(
        table=table,
        mean_squares={"msb": float(msb), "msw": float(msw), "msj": float(msj), "mse": float(mse)},
        n=n,
        k=k,
        ci_level=ci,
        missing=missing,
    )
