"""Careless-response (insufficient effort) indices per respondent.

Every function takes a 2-D array of responses (rows respondents, columns items, ``NaN`` for a
missing answer; anything :func:`numpy.asarray` turns into a float matrix, so a DataFrame works too)
and returns a frozen result object of per-row arrays with a ``to_dict()`` for JSON. The functions
are vectorised over rows: on 10,000 × 72 each takes tens of milliseconds, :func:`psychsyn` (which
correlates every item pair) about a third of a second.

Column order matters, and differs between indices:

- :func:`longstring` and :func:`irv` read the columns in the order the respondent SAW them
  (presentation order). Where the item order is shuffled per participant, answers kept in
  instrument order must be put into each participant's presentation order by the caller before
  the call: this module knows no order but the one it is given.
  They take the raw answers (not reverse-keyed): a straight line is a run of the same option.
- :func:`even_odd` reads the columns in INSTRUMENT order, grouped by scale (consecutive blocks
  of ``factors`` columns), reverse-keyed items already reversed.
- :func:`mahalanobis`, :func:`psychsyn` and :func:`attention_failed` do not depend on column
  order (except for the order in which :attr:`PsychsynResult.pairs` are listed).

Agreement with R's ``careless`` 1.2.2 (Yentes & Wilhelm), run from its sources with psych 2.2.9
on R 4.2.2, to 1e-10 (``tests/psychometrics/careless_reference/``): ``longstring(avg = TRUE)``,
``irv(split = TRUE)``, ``mahad(flag = TRUE)`` on complete data, ``evenodd(diag = TRUE)`` and
``psychsyn(diag = TRUE, resample_na = FALSE)``. Where this module departs from ``careless`` on
missing values, the function's docstring says so.

References
----------
Curran, P. G. (2016). Methods for the detection of carelessly invalid responses in survey data.
*Journal of Experimental Social Psychology, 66*, 4-19. https://doi.org/10.1016/j.jesp.2015.07.006

Johnson, J. A. (2005). Ascertaining the validity of individual protocols from web-based
personality inventories. *Journal of Research in Personality, 39*(1), 103-129.
https://doi.org/10.1016/j.jrp.2004.09.009

Meade, A. W., & Craig, S. B. (2012). Identifying careless responses in survey data.
*Psychological Methods, 17*(3), 437-455. https://doi.org/10.1037/a0028085

Dunn, A. M., Heggestad, E. D., Shanock, L. R., & Theilgard, N. (2018). Intra-individual response
variability as an indicator of insufficient effort responding. *Journal of Business and
Psychology, 33*(1), 105-121. https://doi.org/10.1007/s10869-016-9479-0

Yentes, R. D., & Wilhelm, F. (2023). *careless: Procedures for computing indices of careless
responding* (R package version 1.2.2). https://github.com/ryentes/careless
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import linalg, stats

from psychometrics import _json

# Smallest eigenvalue / largest eigenvalue of a covariance matrix below which it is treated as
# singular; R's solve() refuses a reciprocal condition number below .Machine$double.eps.
_SINGULAR_RATIO = np.finfo(float).eps


def _values(values: np.ndarray | None) -> list | None:
    """A 1-D or 2-D array as (nested) JSON-ready lists, NaN -> None."""
    if values is None:
        return None
    return np.vectorize(_json.number, otypes=[object])(values).tolist() if values.size else []


def _matrix(x, name: str = "x", *, min_columns: int = 1) -> np.ndarray:
    """``x`` as a 2-D float array (rows respondents), or a ValueError naming the problem."""
    try:
        out = np.asarray(x, dtype=float)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be a numeric 2-D array: {exc}") from None
    if out.ndim != 2:
        raise ValueError(f"{name} must be 2-D (rows respondents, columns items); got {out.ndim}-D")
    if out.shape[1] < min_columns:
        raise ValueError(f"{name} needs at least {min_columns} column(s); got {out.shape[1]}")
    if np.isinf(out).any():
        raise ValueError(f"{name} holds infinite values; use NaN for a missing answer")
    return out


def _paired_correlation(a: np.ndarray, b: np.ndarray, *, min_n: int) -> tuple:
    """Pearson correlation of ``a[:, j]`` with ``b[:, j]`` over rows where both are present.

    The two-pass formula on the pairwise complete rows, as R's ``cor(use =
    "pairwise.complete.obs")``: :math:`r = \\sum (a-\\bar a)(b-\\bar b) / \\sqrt{\\sum
    (a-\\bar a)^2 \\sum (b-\\bar b)^2}`, clipped to [-1, 1]. ``NaN`` with fewer than ``min_n``
    complete pairs or when either side is constant on them (R: NA, "the standard deviation is
    zero"). Returns ``(r, n)``, one value per column.
    """
    usable = ~(np.isnan(a) | np.isnan(b))
    n = usable.sum(axis=0)
    if a.shape[0] == 0:  # nothing to correlate over (no rows, or no pairs)
        return np.full(a.shape[1], np.nan), n
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_a = np.where(usable, a, 0.0).sum(axis=0) / n
        mean_b = np.where(usable, b, 0.0).sum(axis=0) / n
        da = np.where(usable, a - mean_a, 0.0)
        db = np.where(usable, b - mean_b, 0.0)
        r = (da * db).sum(axis=0) / np.sqrt((da * da).sum(axis=0) * (db * db).sum(axis=0))
    # constant on the complete pairs: exact test (max == min), not a rounding-prone variance
    const_a = np.where(usable, a, -np.inf).max(axis=0) == np.where(usable, a, np.inf).min(axis=0)
    const_b = np.where(usable, b, -np.inf).max(axis=0) == np.where(usable, b, np.inf).min(axis=0)
    r = np.clip(r, -1.0, 1.0)
    r[(n < max(min_n, 2)) | const_a | const_b] = np.nan
    return r, n


def _row_mean(x: np.ndarray) -> np.ndarray:
    """Mean of the non-missing values of each row; NaN for a row without any."""
    n = (~np.isnan(x)).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(np.isnan(x), 0.0, x).sum(axis=1) / n


def _row_sd(x: np.ndarray) -> np.ndarray:
    """Sample SD (n - 1) of the non-missing values of each row; NaN with fewer than two."""
    present = ~np.isnan(x)
    n = present.sum(axis=1)
    mean = _row_mean(x)
    dev = np.where(present, x - mean[:, None], 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        sd = np.sqrt((dev * dev).sum(axis=1) / (n - 1))
    sd[n < 2] = np.nan
    return sd


# --------------------------------------------------------------------------- longstring
@dataclass(frozen=True)
class LongstringResult:
    """Result of :func:`longstring`.

    Attributes
    ----------
    longest : numpy.ndarray of int
        Per row, the longest run of identical consecutive answers (0 for a row without answers).
    average : numpy.ndarray of float
        Per row, the mean length of its runs: answers / runs (NaN for a row without answers).
    """

    longest: np.ndarray
    average: np.ndarray

    def to_dict(self) -> dict:
        return {"longest": _values(self.longest), "average": _values(self.average)}


def longstring(x) -> LongstringResult:
    """Longest and average run of identical consecutive answers, in presentation order.

    Reading row :math:`i` left to right, a run is a maximal stretch of consecutive columns holding
    the same answer. ``longest`` is the length of the longest run and ``average`` the mean run
    length, :math:`(\\text{answers}) / (\\text{runs})` (Johnson, 2005; ``careless::longstring(x,
    avg = TRUE)``'s ``longstr`` and ``avgstr``). A straight line over :math:`k` items gives
    ``longest = average = k``; alternating answers give 1.

    The columns must be in the order the respondent saw the items: unshuffle per-participant item
    orders before calling (the caller's job; in any other order the runs are not the ones the
    respondent produced). Use the raw answers, not reverse-keyed ones.

    Missing answers: a ``NaN`` ends a run and is never part of one, and only answered items are
    counted. ``careless`` (R's ``rle``) counts each ``NA`` as a run of length 1, so on a row with
    missing answers its ``avgstr`` is :math:`(\\text{answers} + m) / (\\text{runs} + m)` for
    :math:`m` missing cells where ours is answers / runs; ``longest`` agrees unless the row has no
    answers (``careless``: 1; here 0).

    Parameters
    ----------
    x : array-like, shape (n_respondents, n_items)
        Answers in presentation order, ``NaN`` for missing.

    Returns
    -------
    LongstringResult

    References
    ----------
    Johnson, J. A. (2005). https://doi.org/10.1016/j.jrp.2004.09.009

    Examples
    --------
    >>> res = longstring([[3, 3, 3, 3, 3, 3], [1, 5, 1, 5, 1, 5], [2, 2, 4, 4, 4, 1]])
    >>> res.longest.tolist(), res.average.tolist()
    ([6, 1, 3], [6.0, 1.0, 2.0])
    >>> longstring([[4, 4, float("nan"), 4, 4, 4]]).longest.tolist()
    [3]
    """
    x = _matrix(x)
    n, k = x.shape
    present = ~np.isnan(x)
    run = np.zeros(n, dtype=np.int64)
    longest = np.zeros(n, dtype=np.int64)
    runs = np.zeros(n, dtype=np.int64)
    previous = np.full(n, np.nan)
    for j in range(k):
        column = x[:, j]
        same = column == previous  # NaN == anything is False: a gap breaks the run
        run = np.where(same, run + 1, present[:, j].astype(np.int64))
        runs += present[:, j] & ~same
        np.maximum(longest, run, out=longest)
        previous = column
    with np.errstate(invalid="ignore", divide="ignore"):
        average = present.sum(axis=1) / runs
    average[runs == 0] = np.nan
    return LongstringResult(longest=longest, average=average)


# --------------------------------------------------------------------------- irv
@dataclass(frozen=True)
class IrvResult:
    """Result of :func:`irv`.

    Attributes
    ----------
    irv : numpy.ndarray
        Per row, the SD of its answers (``careless``'s ``irvTotal``).
    split : numpy.ndarray or None
        Shape (n_respondents, num_split): the SD within each consecutive part of the columns
        (``irv1``, ``irv2``, ...); ``None`` when no split was asked for.
    parts : tuple of tuple of int
        The column indices (0-based) of each part; one part with all columns when not split.
    """

    irv: np.ndarray
    split: np.ndarray | None
    parts: tuple[tuple[int, ...], ...]

    def to_dict(self) -> dict:
        return {
            "irv": _values(self.irv),
            "split": _values(self.split),
            "parts": [list(p) for p in self.parts],
        }


def split_parts(n_items: int, num_split: int) -> tuple[tuple[int, ...], ...]:
    """Consecutive parts of ``n_items`` columns as R's ``cut(seq_len(n_items), num_split)``.

    ``cut`` makes ``num_split`` equal-width intervals over positions :math:`1..k`, closed on the
    right, so position :math:`p` belongs to part :math:`\\max(1, \\lceil (p-1) s / (k-1)
    \\rceil)` (computed in integers here). This is how ``careless::irv(split = TRUE)`` cuts
    the items.

    Examples
    --------
    >>> split_parts(10, 3)
    ((0, 1, 2, 3), (4, 5, 6), (7, 8, 9))
    """
    if n_items < 1:
        raise ValueError(f"need at least one item to split; got {n_items}")
    if not 1 <= num_split <= n_items:
        raise ValueError(f"num_split must be between 1 and the number of items ({n_items})")
    if n_items == 1:
        return ((0,),)
    part = [max(1, -(-(p - 1) * num_split // (n_items - 1))) for p in range(1, n_items + 1)]
    return tuple(tuple(j for j in range(n_items) if part[j] == s) for s in range(1, num_split + 1))


def irv(x, *, num_split: int | None = None) -> IrvResult:
    """Intra-individual response variability: the SD of each row's answers.

    .. math::
        \\mathrm{IRV}_i = \\sqrt{\\frac{1}{k_i - 1} \\sum_{j} (x_{ij} - \\bar x_i)^2}

    over the :math:`k_i` answered items of row :math:`i` (R's ``sd(na.rm = TRUE)``, as
    ``careless::irv``; Dunn et al., 2018). ``NaN`` with fewer than two answers. Low values mark
    straight lines (Dunn et al.), high values random answering (Marjanovic et al., 2015).

    With ``num_split`` the columns are also cut into that many consecutive parts (see
    :func:`split_parts`) and the SD is computed within each, which shows effort that fades
    towards the end. Columns in presentation order, raw answers.

    Parameters
    ----------
    x : array-like, shape (n_respondents, n_items)
    num_split : int, optional
        Number of parts (``careless``'s ``num.split`` with ``split = TRUE``).

    Returns
    -------
    IrvResult

    References
    ----------
    Dunn, A. M., et al. (2018). https://doi.org/10.1007/s10869-016-9479-0

    Marjanovic, Z., Holden, R., Struthers, W., Cribbie, R., & Greenglass, E. (2015). The
    inter-item standard deviation (ISD). *Personality and Individual Differences, 84*, 79-83.
    https://doi.org/10.1016/j.paid.2014.08.021

    Examples
    --------
    >>> res = irv([[3, 3, 3, 3], [1, 5, 1, 5]], num_split=2)
    >>> res.irv.round(6).tolist(), res.split.round(6).tolist()
    ([0.0, 2.309401], [[0.0, 0.0], [2.828427, 2.828427]])
    """
    x = _matrix(x)
    total = _row_sd(x)
    k = x.shape[1]
    if num_split is None:
        return IrvResult(irv=total, split=None, parts=(tuple(range(k)),))
    parts = split_parts(k, int(num_split))
    split = np.column_stack([_row_sd(x[:, list(p)]) for p in parts])
    return IrvResult(irv=total, split=split, parts=parts)


# --------------------------------------------------------------------------- mahalanobis
@dataclass(frozen=True)
class MahalanobisResult:
    """Result of :func:`mahalanobis`.

    Attributes
    ----------
    d2 : numpy.ndarray
        Per row, the squared Mahalanobis distance :math:`D^2`; NaN for a row with a missing answer.
    p_value : numpy.ndarray
        Upper-tail chi-square probability of ``d2`` with ``df`` degrees of freedom; NaN with ``d2``.
    flagged : numpy.ndarray of bool
        ``d2 > cutoff``; False where ``d2`` is NaN.
    cutoff : float
        The ``quantile`` quantile of the chi-square distribution with ``df`` degrees of freedom.
    df : int
        Number of columns.
    quantile : float
    n_reference : int or None
        Complete rows the centre and covariance came from; None when the caller gave them.
    center : numpy.ndarray
        Column means used.
    covariance : numpy.ndarray
        Covariance matrix used (n - 1 denominator when estimated here).
    """

    d2: np.ndarray
    p_value: np.ndarray
    flagged: np.ndarray
    cutoff: float
    df: int
    quantile: float
    n_reference: int | None
    center: np.ndarray
    covariance: np.ndarray

    def to_dict(self) -> dict:
        return {
            "d2": _values(self.d2),
            "p_value": _values(self.p_value),
            "flagged": _values(self.flagged),
            "cutoff": _json.number(self.cutoff),
            "df": self.df,
            "quantile": self.quantile,
            "n_reference": self.n_reference,
            "center": _values(self.center),
            "covariance": _values(self.covariance),
        }


def _check_covariance(cov: np.ndarray, n_rows: int | None) -> None:
    """Raise a ValueError naming the problem when ``cov`` cannot be inverted."""
    k = cov.shape[0]
    source = "the given covariance" if n_rows is None else f"the {n_rows} complete rows"
    if not np.allclose(cov, cov.T, rtol=1e-10, atol=0.0):
        raise ValueError("covariance matrix is not symmetric")
    constant = [j for j in range(k) if not cov[j, j] > 0]
    if constant:
        cols = ", ".join(str(j) for j in constant)
        raise ValueError(
            f"covariance matrix is singular: column(s) {cols} (0-based) have no variance in "
            f"{source}; leave them out"
        )
    sd = np.sqrt(np.diag(cov))
    eigen = np.linalg.eigvalsh(cov / np.outer(sd, sd))
    if eigen[0] <= _SINGULAR_RATIO * eigen[-1]:
        raise ValueError(
            f"covariance matrix of {source} is singular (smallest eigenvalue of the correlation "
            f"matrix {eigen[0]:.3g}): some columns are exact linear combinations of others"
        )


def mahalanobis(
    x,
    *,
    quantile: float = 0.999,
    center: Sequence[float] | np.ndarray | None = None,
    covariance: np.ndarray | None = None,
) -> MahalanobisResult:
    """Squared Mahalanobis distance of each row, with a chi-square cut-off.

    .. math::
        D^2_i = (x_i - \\bar x)^\\top S^{-1} (x_i - \\bar x),\\qquad
        \\text{flagged}_i = D^2_i > \\chi^2_{q}(k),\\qquad p_i = P(\\chi^2_k > D^2_i)

    with :math:`\\bar x` the column means and :math:`S` the covariance matrix (:math:`n - 1`
    denominator) of the complete rows, :math:`k` the number of columns and :math:`q` =
    ``quantile`` (Meade & Craig, 2012). On complete data this is R's ``stats::mahalanobis(x,
    colMeans(x), cov(x))`` and ``careless::mahad(x, flag = TRUE, confidence = quantile)``
    (whose default ``confidence`` is 0.99; the default here is 0.999).

    Missing answers: rows with any missing answer get ``d2 = NaN`` (not flagged) and do not enter
    the means and covariance. ``careless::mahad`` instead calls ``psych::outlier`` (2.2.9), which
    uses pairwise covariances and drops the terms of a row's missing items: a distance over
    fewer items, still compared with the chi-square quantile for :math:`k` df, so this function
    does not imitate it.

    ``center`` and ``covariance`` may be given (both or neither), e.g. computed over a whole study
    in a first pass so that chunks of rows are scored against one reference.

    Parameters
    ----------
    x : array-like, shape (n_respondents, n_items)
    quantile : float
        Chi-square quantile of the cut-off, strictly between 0 and 1.
    center : array-like, shape (n_items,), optional
    covariance : array-like, shape (n_items, n_items), optional

    Returns
    -------
    MahalanobisResult

    Raises
    ------
    ValueError
        When there are not more complete rows than columns, a column is constant, or the
        covariance matrix is otherwise singular (each named in the message).

    References
    ----------
    Mahalanobis, P. C. (1936). On the generalized distance in statistics. *Proceedings of the
    National Institute of Sciences of India, 2*, 49-55.

    Meade, A. W., & Craig, S. B. (2012). https://doi.org/10.1037/a0028085

    Examples
    --------
    >>> res = mahalanobis([[1, 1], [1, -1], [-1, 1], [-1, -1], [0, 0]], quantile=0.9)
    >>> res.d2.tolist(), round(res.cutoff, 4), res.flagged.tolist()
    ([2.0, 2.0, 2.0, 2.0, 0.0], 4.6052, [False, False, False, False, False])
    """
    x = _matrix(x)
    n, k = x.shape
    if not 0 < quantile < 1:
        raise ValueError(f"quantile must be strictly between 0 and 1; got {quantile}")
    complete = ~np.isnan(x).any(axis=1)
    if (center is None) != (covariance is None):
        raise ValueError("give both center and covariance, or neither")
    if center is None:
        n_reference = int(complete.sum())
        if n_reference <= k:
            raise ValueError(
                f"Mahalanobis distance needs more complete rows than columns: {n_reference} "
                f"complete row(s) for {k} column(s)"
            )
        reference = x[complete]
        mean = reference.mean(axis=0)
        cov = np.cov(reference, rowvar=False, ddof=1).reshape(k, k)
    else:
        n_reference = None
        mean = np.asarray(center, dtype=float).reshape(-1)
        cov = np.asarray(covariance, dtype=float)
        if mean.shape != (k,) or cov.shape != (k, k):
            raise ValueError(
                f"center must have {k} values and covariance be {k} × {k}; got "
                f"{mean.shape[0]} values and {' × '.join(map(str, cov.shape))}"
            )
        if not (np.isfinite(mean).all() and np.isfinite(cov).all()):
            raise ValueError("center and covariance must be finite")
    _check_covariance(cov, n_reference)
    chol = linalg.cholesky(cov, lower=True)
    d2 = np.full(n, np.nan)
    if complete.any():
        z = linalg.solve_triangular(chol, (x[complete] - mean).T, lower=True)
        d2[complete] = np.einsum("ij,ij->j", z, z)
    cutoff = float(stats.chi2.ppf(quantile, k))
    return MahalanobisResult(
        d2=d2,
        p_value=stats.chi2.sf(d2, k),
        flagged=np.where(np.isnan(d2), False, d2 > cutoff),
        cutoff=cutoff,
        df=k,
        quantile=float(quantile),
        n_reference=n_reference,
        center=mean,
        covariance=cov,
    )


# --------------------------------------------------------------------------- even-odd
@dataclass(frozen=True)
class EvenOddResult:
    """Result of :func:`even_odd`.

    Attributes
    ----------
    correlation : numpy.ndarray
        Per row, the correlation across scales of the odd-half and even-half scale means.
    consistency : numpy.ndarray
        Spearman-Brown corrected, :math:`2r/(1+r)` floored at -1 (Johnson, 2005): about 1 for
        consistent answering, about 0 for random answering.
    score : numpy.ndarray
        ``-consistency``, the value of ``careless::evenodd`` since version 1.2.0 (higher means
        more likely careless).
    n_pairs : numpy.ndarray of int
        Scales with both an odd and an even mean for the row (``careless``'s ``eo_missing``,
        which despite its name counts the available pairs; careless 1.2.2's ``diag = TRUE``
        spreads it over one column per person).
    factors : tuple of int
    """

    correlation: np.ndarray
    consistency: np.ndarray
    score: np.ndarray
    n_pairs: np.ndarray
    factors: tuple[int, ...]

    def to_dict(self) -> dict:
        return {
            "correlation": _values(self.correlation),
            "consistency": _values(self.consistency),
            "score": _values(self.score),
            "n_pairs": _values(self.n_pairs),
            "factors": list(self.factors),
        }


def even_odd(x, factors: Sequence[int]) -> EvenOddResult:
    """Even-odd consistency (Johnson, 2005), as ``careless::evenodd``.

    The columns are in INSTRUMENT order, grouped by scale: the first ``factors[0]`` columns are
    scale 1, the next ``factors[1]`` scale 2, and so on, reverse-keyed items already reversed
    (not presentation order: the halves are the scale's odd- and even-numbered items).

    For row :math:`i` and scale :math:`s`, :math:`o_{is}` is the mean of the scale's 1st, 3rd, 5th,
    ... items and :math:`e_{is}` of its 2nd, 4th, ... items (over the answered ones). Then

    .. math::
        r_i = \\operatorname{cor}_s(e_{is}, o_{is}),\\qquad
        \\text{consistency}_i = \\max\\left(-1, \\frac{2 r_i}{1 + r_i}\\right),\\qquad
        \\text{score}_i = -\\text{consistency}_i,

    the correlation over the scales where both means exist (``pairwise.complete.obs``). ``NaN``
    when fewer than two scales have both means, or the odd or the even means are all equal (R
    gives NA: zero standard deviation). ``careless`` reports ``score`` (negated since version
    1.2.0, so that higher means more likely careless); Johnson's index is ``consistency``.

    A scale with a single item has no even half, so it never has both means and contributes
    nothing (as in ``careless``, where its even mean is NaN); it still counts in ``factors``.

    Parameters
    ----------
    x : array-like, shape (n_respondents, sum(factors))
    factors : sequence of int
        Number of items in each consecutive scale; at least two scales, summing to the number of
        columns (``careless`` only warns on a mismatch and ignores the extra columns).

    Returns
    -------
    EvenOddResult

    References
    ----------
    Johnson, J. A. (2005). https://doi.org/10.1016/j.jrp.2004.09.009

    Examples
    --------
    Three scales of four items; odd means 1, 3, 5 and even means 2, 3, 4 per row 0 (r = 1):

    >>> res = even_odd([[1, 2, 1, 2, 3, 3, 3, 3, 5, 4, 5, 4]], [4, 4, 4])
    >>> res.correlation.tolist(), res.consistency.tolist(), res.score.tolist()
    ([1.0], [1.0], [-1.0])
    """
    x = _matrix(x)
    sizes = [int(f) for f in factors]
    if len(sizes) < 2:
        raise ValueError("even-odd consistency needs at least two scales (factors)")
    if any(f < 1 for f in sizes):
        raise ValueError(f"every scale needs at least one item; got factors {sizes}")
    if sum(sizes) != x.shape[1]:
        raise ValueError(f"factors add up to {sum(sizes)} items but x has {x.shape[1]} columns")
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(int)
    blocks = [x[:, s : s + f] for s, f in zip(starts, sizes, strict=True)]
    odd = np.column_stack([_row_mean(b[:, 0::2]) for b in blocks])
    # a one-item scale has no even half: its mean of no items is NaN, so it drops out
    even = np.column_stack([_row_mean(b[:, 1::2]) for b in blocks])
    r, n_pairs = _paired_correlation(even.T, odd.T, min_n=2)
    with np.errstate(invalid="ignore", divide="ignore"):
        consistency = 2.0 * r / (1.0 + r)
    consistency = np.where(consistency < -1.0, -1.0, consistency)
    return EvenOddResult(
        correlation=r,
        consistency=consistency,
        score=-consistency,
        n_pairs=n_pairs.astype(np.int64),
        factors=tuple(sizes),
    )


# --------------------------------------------------------------------------- psychometric synonyms
@dataclass(frozen=True)
class PsychsynResult:
    """Result of :func:`psychsyn`.

    Attributes
    ----------
    correlation : numpy.ndarray
        Per row, the correlation across the pairs of the first and the second item's answers.
    n_pairs : numpy.ndarray of int
        Pairs the row answered both items of (``careless``'s ``numPairs``).
    pairs : numpy.ndarray of int, shape (n_pairs, 2)
        Column indices (0-based, first < second) of the synonym (or antonym) pairs, ordered by
        first then second column.
    pair_r : numpy.ndarray
        The sample correlation of each pair.
    critval : float
    anto : bool
    """

    correlation: np.ndarray
    n_pairs: np.ndarray
    pairs: np.ndarray
    pair_r: np.ndarray
    critval: float
    anto: bool

    def to_dict(self) -> dict:
        return {
            "correlation": _values(self.correlation),
            "n_pairs": _values(self.n_pairs),
            "pairs": [
                {"first": int(a), "second": int(b), "r": _json.number(r)}
                for (a, b), r in zip(self.pairs, self.pair_r, strict=True)
            ],
            "critval": self.critval,
            "anto": self.anto,
        }


def item_correlations(x) -> np.ndarray:
    """Item × item Pearson correlations over pairwise complete rows (R's ``cor(x, use =
    "pairwise.complete.obs")``); NaN where a pair has fewer than two complete rows or an item is
    constant on them, 1 on the diagonal of non-constant items.

    Examples
    --------
    >>> item_correlations([[1, 2, 5], [2, 4, 4], [3, 6, 1]]).round(4).tolist()
    [[1.0, 1.0, -0.9608], [1.0, 1.0, -0.9608], [-0.9608, -0.9608, 1.0]]
    """
    x = _matrix(x)
    present = (~np.isnan(x)).astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        # centre each column on its mean first, so the sums below do not cancel
        centred = np.where(present > 0, x - _column_mean(x), 0.0)
        n = present.T @ present  # n[i, j]: rows with both i and j
        s = centred.T @ present  # s[i, j]: sum of item i over those rows
        ss = (centred * centred).T @ present  # sum of squares of item i over those rows
        sxy = centred.T @ centred
        cov = sxy - s * s.T / n
        var = ss - s * s / n
        corr = np.clip(cov / np.sqrt(var * var.T), -1.0, 1.0)
    # Pairs with fewer than two rows or a (nearly) constant item: decide them exactly.
    doubtful = (n < 2) | ~(var > 1e-8 * ss) | ~(var.T > 1e-8 * ss.T)
    for i, j in zip(*np.nonzero(np.triu(doubtful)), strict=True):
        r, _ = _paired_correlation(x[:, [i]], x[:, [j]], min_n=2)
        corr[i, j] = corr[j, i] = r[0]
    return corr


def _column_mean(x: np.ndarray) -> np.ndarray:
    """Mean of the non-missing values of each column; 0 for a column without any."""
    n = (~np.isnan(x)).sum(axis=0)
    return np.where(np.isnan(x), 0.0, x).sum(axis=0) / np.maximum(n, 1)


def psychsyn(
    x,
    *,
    critval: float = 0.60,
    anto: bool = False,
    pairs: np.ndarray | Sequence[Sequence[int]] | None = None,
) -> PsychsynResult:
    """Psychometric synonyms or antonyms (Meade & Craig, 2012), as ``careless::psychsyn``.

    The pairs are the item pairs whose sample correlation (pairwise complete,
    :func:`item_correlations`) exceeds :math:`c` = ``abs(critval)``: :math:`r_{jl} > c` for
    synonyms, :math:`r_{jl} < -c` for antonyms (``anto=True``). Each row's index is the Pearson
    correlation, across the pairs it answered both items of, between the first and the second
    item's answers:

    .. math::
        \\text{psychsyn}_i = \\operatorname{cor}_{(j,l) \\in P}(x_{ij}, x_{il})

    Attentive respondents score high on synonyms and low (negative) on antonyms. ``NaN`` for a
    row with fewer than three usable pairs (``careless``: "more than two item pairs"), or whose
    first or second answers are all equal. ``careless`` by default (``resample_na = TRUE``) then
    swaps the two items of random pairs up to ten times looking for a non-NA value; this
    function does not (it equals ``careless::psychsyn(resample_na = FALSE)``). Column order does
    not matter. Raw (not reverse-keyed) answers are the usual input for antonyms.

    ``pairs`` may be given instead of searched for, e.g. found once on a whole study (a reference
    sample) and then applied to chunks of its rows; ``critval`` and ``anto`` are then only
    recorded, and ``pair_r`` holds the pairs' correlations in ``x``.

    Parameters
    ----------
    x : array-like, shape (n_respondents, n_items)
    critval : float
        Minimum absolute correlation; its sign is ignored, as in ``careless``.
    anto : bool
        Antonyms (negatively correlated pairs) instead of synonyms.
    pairs : array-like of int, shape (n_pairs, 2), optional
        Column indices (0-based) of the pairs to use; none found by this call.

    Returns
    -------
    PsychsynResult

    Raises
    ------
    ValueError
        When no pair passes the critical value (``careless`` stops with "No Psychometric
        Synonyms found."), or given ``pairs`` are not pairs of two different columns of ``x``.

    References
    ----------
    Meade, A. W., & Craig, S. B. (2012). https://doi.org/10.1037/a0028085

    Examples
    --------
    >>> x = [[1, 1, 2, 2, 5], [2, 2, 3, 3, 4], [4, 5, 4, 5, 3], [5, 4, 5, 4, 1], [3, 3, 1, 1, 2]]
    >>> res = psychsyn(x, critval=0.6)
    >>> res.pairs.tolist(), res.n_pairs.tolist()
    ([[0, 1], [0, 2], [1, 3], [2, 3]], [4, 4, 4, 4, 4])
    """
    x = _matrix(x, min_columns=2)
    c = abs(float(critval))
    if pairs is not None:
        first, second = _given_pairs(pairs, x.shape[1])
        r, _ = _paired_correlation(x[:, first], x[:, second], min_n=2)
    else:
        corr = item_correlations(x)
        first, second = np.triu_indices(x.shape[1], k=1)
        r = corr[first, second]
        with np.errstate(invalid="ignore"):
            keep = r < -c if anto else r > c
        if not keep.any():
            kind = "antonyms" if anto else "synonyms"
            bound = f"below -{c:g}" if anto else f"above {c:g}"
            raise ValueError(f"no psychometric {kind}: no item pair correlates {bound}")
        first, second, r = first[keep], second[keep], r[keep]
    person_r, n_pairs = _paired_correlation(x[:, first].T, x[:, second].T, min_n=3)
    return PsychsynResult(
        correlation=person_r,
        n_pairs=n_pairs.astype(np.int64),
        pairs=np.column_stack([first, second]),
        pair_r=r,
        critval=c,
        anto=bool(anto),
    )


def _given_pairs(pairs, n_items: int) -> tuple[np.ndarray, np.ndarray]:
    """Validated ``(first, second)`` column indices of caller-given pairs."""
    try:
        given = np.asarray(pairs, dtype=float).reshape(-1, 2)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"pairs must be a list of (first, second) column indices: {exc}") from None
    if (given != np.round(given)).any() or (given < 0).any() or (given >= n_items).any():
        raise ValueError(f"pairs must hold column indices from 0 to {n_items - 1}")
    given = given.astype(np.int64)
    if (given[:, 0] == given[:, 1]).any():
        raise ValueError("a pair must name two different columns")
    return given[:, 0], given[:, 1]


# --------------------------------------------------------------------------- page timings
@dataclass(frozen=True)
class SecondsPerItemResult:
    """Result of :func:`seconds_per_item`.

    Attributes
    ----------
    seconds_per_item : numpy.ndarray
        Per row, ``total_seconds / items_timed``; NaN when no timed page has items.
    total_seconds : numpy.ndarray
        Seconds summed over the row's timed pages (0 when none).
    items_timed : numpy.ndarray of int
        Items on the row's timed pages.
    pages_timed : numpy.ndarray of int
        Pages with a time.
    """

    seconds_per_item: np.ndarray
    total_seconds: np.ndarray
    items_timed: np.ndarray
    pages_timed: np.ndarray

    def to_dict(self) -> dict:
        return {
            "seconds_per_item": _values(self.seconds_per_item),
            "total_seconds": _values(self.total_seconds),
            "items_timed": _values(self.items_timed),
            "pages_timed": _values(self.pages_timed),
        }


def seconds_per_item(page_seconds, page_items) -> SecondsPerItemResult:
    """Seconds per item from page timings.

    .. math::
        \\text{spi}_i = \\frac{\\sum_{p \\in T_i} t_{ip}}{\\sum_{p \\in T_i} m_{ip}}

    with :math:`T_i` the pages row :math:`i` has a time for (``page_seconds`` not NaN),
    :math:`t_{ip}` the seconds on page :math:`p` and :math:`m_{ip}` its number of items. Pages
    without a time (not shown, not submitted, not recorded) leave both sums; very short values
    flag answering too fast to read (Curran, 2016, on response time).

    Parameters
    ----------
    page_seconds : array-like, shape (n_respondents, n_pages)
        Seconds spent on each page, ``NaN`` for no timing; must not be negative.
    page_items : array-like, shape (n_pages,) or (n_respondents, n_pages)
        Items on each page (the same for everyone, or per row).

    Returns
    -------
    SecondsPerItemResult

    References
    ----------
    Curran, P. G. (2016). https://doi.org/10.1016/j.jesp.2015.07.006

    Examples
    --------
    >>> nan = float("nan")
    >>> res = seconds_per_item([[30, 12, nan], [nan, nan, nan]], [10, 6, 4])
    >>> res.seconds_per_item.tolist(), res.items_timed.tolist()
    ([2.625, nan], [16, 0])
    """
    seconds = _matrix(page_seconds, "page_seconds")
    if (seconds < 0).any():
        raise ValueError("page_seconds holds negative times")
    try:
        items = np.asarray(page_items, dtype=float)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"page_items must be numeric: {exc}") from None
    if items.ndim == 1 and items.shape[0] == seconds.shape[1]:
        items = np.broadcast_to(items, seconds.shape)
    if items.shape != seconds.shape:
        raise ValueError(
            f"page_items must have one count per page ({seconds.shape[1]}) or the shape of "
            f"page_seconds {seconds.shape}; got shape {items.shape}"
        )
    if not np.isfinite(items).all() or (items < 0).any() or (items != np.round(items)).any():
        raise ValueError("page_items must be whole numbers of items, 0 or more")
    timed = ~np.isnan(seconds)
    total = np.where(timed, seconds, 0.0).sum(axis=1)
    n_items = np.where(timed, items, 0.0).sum(axis=1).astype(np.int64)
    with np.errstate(invalid="ignore", divide="ignore"):
        spi = total / n_items
    spi[n_items == 0] = np.nan
    return SecondsPerItemResult(
        seconds_per_item=spi,
        total_seconds=total,
        items_timed=n_items,
        pages_timed=timed.sum(axis=1).astype(np.int64),
    )


# --------------------------------------------------------------------------- attention checks
@dataclass(frozen=True)
class AttentionResult:
    """Result of :func:`attention_failed`.

    Attributes
    ----------
    failed : numpy.ndarray of int
        Per row, attention checks answered otherwise than expected.
    answered : numpy.ndarray of int
        Per row, attention checks answered at all.
    n_checks : int
    """

    failed: np.ndarray
    answered: np.ndarray
    n_checks: int

    def to_dict(self) -> dict:
        return {
            "failed": _values(self.failed),
            "answered": _values(self.answered),
            "n_checks": self.n_checks,
        }


def attention_failed(answers, expected: Sequence[float]) -> AttentionResult:
    """Number of attention checks (instructed items, "answer 'agree' here") failed per row.

    .. math::
        \\text{failed}_i = \\#\\{c : x_{ic} \\text{ answered and } x_{ic} \\ne e_c\\}

    A missing answer is not a failure (it is counted in neither ``failed`` nor ``answered``).
    Meade & Craig (2012) recommend instructed items as a direct check of attention.

    Parameters
    ----------
    answers : array-like, shape (n_respondents, n_checks)
        Answers to the attention-check items, ``NaN`` for missing.
    expected : sequence of float, length n_checks
        The instructed answer of each check.

    Returns
    -------
    AttentionResult

    References
    ----------
    Meade, A. W., & Craig, S. B. (2012). https://doi.org/10.1037/a0028085

    Examples
    --------
    >>> nan = float("nan")
    >>> res = attention_failed([[4, 2], [3, 2], [nan, 1], [nan, nan]], [4, 2])
    >>> res.failed.tolist(), res.answered.tolist()
    ([0, 1, 1, 0], [2, 2, 1, 0])
    """
    x = _matrix(answers, "answers")
    try:
        want = np.asarray(expected, dtype=float).reshape(-1)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"expected must be numeric: {exc}") from None
    if want.shape[0] != x.shape[1]:
        raise ValueError(
            f"expected has {want.shape[0]} value(s) for {x.shape[1]} attention-check column(s)"
        )
    if not np.isfinite(want).all():
        raise ValueError("every attention check needs a finite expected answer")
    answered = ~np.isnan(x)
    failed = answered & (x != want)
    return AttentionResult(
        failed=failed.sum(axis=1).astype(np.int64),
        answered=answered.sum(axis=1).astype(np.int64),
        n_checks=int(x.shape[1]),
    )
