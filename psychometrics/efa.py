"""Exploratory factor analysis: sampling adequacy, sphericity, parallel analysis, extraction.

Everything works on the Pearson correlation matrix of the items, computed with listwise
(default) or pairwise deletion (``psych``'s default is pairwise; pass ``missing="pairwise"`` to
match it on incomplete data).

Agreement with R (``tests/psychometrics/r/generate_reliability_oracles.R``): :func:`kmo` and
:func:`bartlett_sphericity` reproduce ``psych::KMO`` and ``psych::cortest.bartlett`` to 1e-10;
:func:`efa` reproduces ``psych::fa`` loadings, factor correlations and communalities to 1e-3
(minres or ml extraction with varimax, promax or oblimin rotation; oblimin via GPArotation in R);
the observed eigenvalues of :func:`parallel_analysis` match ``psych::fa.parallel``'s
``pc.values`` to 1e-10 and ``fa.values`` to 1e-4.

factor_analyzer 0.5.1 with scikit-learn 1.9, pandas 3.1 and numpy 2.4
---------------------------------------------------------------------
Checked with warnings turned into errors (as our pytest does):

- ``FactorAnalyzer.fit`` is **broken**: it calls
  ``sklearn.utils.check_array(X, force_all_finite="allow-nan")``; scikit-learn renamed that
  argument ``ensure_all_finite`` in 1.6 and removed the old name in 1.8, so every ``fit`` raises
  ``TypeError: check_array() got an unexpected keyword argument 'force_all_finite'``.
  ``transform`` has the same call.
- Its extraction also differs from ``psych::fa`` where it does run: ``minres`` minimises the
  squared residuals *including* the diagonal with no gradient and loose default tolerances,
  factors are reordered by their sum of squared loadings even after an oblique rotation
  (``psych`` orders by :math:`\\operatorname{diag}(\\Phi \\Lambda'\\Lambda)`), and missing
  values are imputed with the median rather than handled by listwise/pairwise deletion.
- ``calculate_kmo`` and ``calculate_bartlett_sphericity`` run without warnings on complete data
  and agree with ``psych``, but both take raw data only (a single missing value makes the result
  NaN), and ``calculate_kmo`` decides whether to use a pseudo-inverse by comparing the
  determinant of the *covariance* matrix with float32 epsilon, so merely rescaling the items
  (e.g. dividing by 10) makes it warn and switch to ``pinv``.
- ``Rotator`` (varimax, promax, oblimin, quartimin, ...) works and matches ``stats::varimax``,
  ``psych``'s ``promax`` (``kaiser(loadings, "Promax")``) and ``GPArotation::oblimin``.

What this module does: the extraction (minres and ML, following ``psych::fa``: the same
objective functions, analytic gradients, bounds 0.005..1 on the uniquenesses, SMC start) and KMO
and Bartlett's test (on a correlation matrix, so pairwise deletion works) are implemented here;
rotations use ``factor_analyzer.rotator.Rotator``, followed by ``psych``'s sign and order
conventions. The tests compare KMO and Bartlett with ``factor_analyzer`` on complete data.

Speed: scipy's L-BFGS-B calls BLAS on vectors of length p; with a multithreaded OpenBLAS on a
shared two-core machine that made a 30-data-set parallel analysis of 9 items take 0.9 s instead
of 0.04 s, so extraction runs under ``threadpoolctl.threadpool_limits(1, "blas")`` (scoped, the
caller's setting is restored; threadpoolctl comes with scikit-learn).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from factor_analyzer.rotator import Rotator
from scipy import optimize, stats
from threadpoolctl import threadpool_limits

from psychometrics import _json
from psychometrics.inputs import check_missing, complete_cases, correlation_matrix, item_frame

METHODS = ("minres", "ml")
ROTATIONS = ("none", "varimax", "promax", "oblimin", "quartimin", "quartimax", "equamax")
OBLIQUE = ("promax", "oblimin", "quartimin")
_PSI_BOUNDS = (0.005, 1.0)
# Tight tolerances for the reported solution (psych's own optim stops earlier, at about 1e-6 in
# the loadings); loose ones for the simulated data sets of parallel analysis, where 1e-6 in an
# eigenvalue is plenty and the tight settings cost up to 20 times as long.
_TIGHT = {"maxiter": 10_000, "ftol": 1e-15, "gtol": 1e-10, "maxcor": 20}
_LOOSE = {"maxiter": 1_000, "ftol": 1e-10, "gtol": 1e-6}


def _prepare(data, items, missing, min_items=2):
    check_missing(missing)
    frame = item_frame(data, items, min_items=min_items, min_rows=3)
    if missing == "listwise":
        frame = complete_cases(frame, min_rows=3)
    else:
        frame = frame.loc[frame.notna().any(axis=1)]
    corr = correlation_matrix(frame, missing)
    return frame, corr


def _inverse(corr: np.ndarray) -> np.ndarray:
    try:
        inv = np.linalg.inv(corr)
    except np.linalg.LinAlgError:
        inv = None
    if inv is None or not np.all(np.isfinite(inv)) or np.linalg.cond(corr) > 1e12:
        raise ValueError(
            "the correlation matrix is singular (an item is a linear combination of others, "
            "or there are more items than respondents)"
        )
    return inv


# --------------------------------------------------------------------------- KMO
@dataclass(frozen=True)
class KMOResult:
    """Result of :func:`kmo`: ``overall`` MSA and ``per_item`` MSA (Series)."""

    overall: float
    per_item: pd.Series
    n: int
    missing: str

    def to_dict(self) -> dict:
        return {
            "overall": _json.number(self.overall),
            "per_item": _json.series(self.per_item),
            "n": self.n,
            "missing": self.missing,
        }


def kmo(
    data: pd.DataFrame, items: Sequence[str] | None = None, *, missing: str = "listwise"
) -> KMOResult:
    """Kaiser-Meyer-Olkin measure of sampling adequacy, overall and per item.

    With correlations :math:`r_{ij}` and partial correlations
    :math:`q_{ij} = -R^{-1}_{ij} / \\sqrt{R^{-1}_{ii} R^{-1}_{jj}}` (all others held constant):

    .. math::
        \\mathrm{MSA} = \\frac{\\sum_{i\\ne j} r_{ij}^2}
                             {\\sum_{i\\ne j} r_{ij}^2 + \\sum_{i\\ne j} q_{ij}^2},\\qquad
        \\mathrm{MSA}_j = \\frac{\\sum_{i\\ne j} r_{ij}^2}
                               {\\sum_{i\\ne j} r_{ij}^2 + \\sum_{i\\ne j} q_{ij}^2}.

    Values below 0.5 are usually taken as unacceptable, above 0.8 as good.

    References
    ----------
    Kaiser, H. F. (1970). A second generation little jiffy. *Psychometrika, 35*(4), 401-415.
    https://doi.org/10.1007/BF02291817

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> f = rng.normal(size=300)
    >>> df = pd.DataFrame({f"i{j}": f + rng.normal(size=300) for j in range(4)})
    >>> round(kmo(df).overall, 3)
    0.813
    """
    frame, corr_frame = _prepare(data, items, missing)
    r = corr_frame.to_numpy()
    inv = _inverse(r)
    d = 1 / np.sqrt(np.diag(inv))
    q = inv * np.outer(d, d)
    np.fill_diagonal(q, 0.0)
    r0 = r.copy()
    np.fill_diagonal(r0, 0.0)
    r2, q2 = r0**2, q**2
    per_item = r2.sum(axis=0) / (r2.sum(axis=0) + q2.sum(axis=0))
    overall = r2.sum() / (r2.sum() + q2.sum())
    return KMOResult(
        overall=float(overall),
        per_item=pd.Series(per_item, index=corr_frame.columns, name="msa"),
        n=len(frame),
        missing=missing,
    )


# --------------------------------------------------------------------------- Bartlett
@dataclass(frozen=True)
class BartlettResult:
    """Result of :func:`bartlett_sphericity`."""

    chi2: float
    df: int
    p_value: float
    n: int
    missing: str

    def to_dict(self) -> dict:
        return {
            "chi2": _json.number(self.chi2),
            "df": self.df,
            "p_value": _json.number(self.p_value),
            "n": self.n,
            "missing": self.missing,
        }


def bartlett_sphericity(
    data: pd.DataFrame, items: Sequence[str] | None = None, *, missing: str = "listwise"
) -> BartlettResult:
    """Bartlett's test that the population correlation matrix is the identity.

    .. math::
        \\chi^2 = -\\left(n - 1 - \\frac{2p + 5}{6}\\right) \\ln |R|,\\qquad
        df = \\frac{p(p-1)}{2}

    with :math:`n` rows used (complete rows, or rows with any response when pairwise) and
    :math:`p` items, as ``psych::cortest.bartlett``.

    References
    ----------
    Bartlett, M. S. (1950). Tests of significance in factor analysis. *British Journal of
    Statistical Psychology, 3*(2), 77-85. https://doi.org/10.1111/j.2044-8317.1950.tb00285.x

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> f = rng.normal(size=300)
    >>> df = pd.DataFrame({f"i{j}": f + rng.normal(size=300) for j in range(4)})
    >>> res = bartlett_sphericity(df)
    >>> res.df, res.p_value < 1e-10
    (6, True)
    """
    frame, corr_frame = _prepare(data, items, missing)
    r = corr_frame.to_numpy()
    n, p = len(frame), r.shape[0]
    sign, logdet = np.linalg.slogdet(r)
    if sign <= 0:
        raise ValueError("the correlation matrix is singular or not positive definite")
    chi2 = -logdet * (n - 1 - (2 * p + 5) / 6)
    df = p * (p - 1) // 2
    return BartlettResult(
        chi2=float(chi2),
        df=int(df),
        p_value=float(stats.chi2.sf(chi2, df)),
        n=n,
        missing=missing,
    )


# --------------------------------------------------------------------------- extraction
def _smc(r: np.ndarray) -> np.ndarray:
    return 1 - 1 / np.diag(_inverse(r))


def _minres_objective(psi, r, nf):
    # ULS as a function of the uniquenesses: the best rank-nf fit to R - Psi leaves the
    # remaining eigenvalues (and any negative leading ones) as residual. Its gradient is
    # diag(LL' + Psi - R), psych's FAgr.minres; at the optimum the diagonal residuals are zero and
    # this is psych's minres solution (which reports the off-diagonal residuals).
    values, vectors = np.linalg.eigh(r - np.diag(psi))
    values, vectors = values[::-1], vectors[:, ::-1]
    top = np.maximum(values[:nf], 0.0)
    load = vectors[:, :nf] * np.sqrt(top)
    f = 0.5 * (np.sum(values**2) - np.sum(top**2))
    grad = np.sum(load**2, axis=1) + psi - np.diag(r)
    return f, grad


def _minres_loadings(psi, r, nf):
    values, vectors = np.linalg.eigh(r - np.diag(psi))
    values, vectors = values[::-1], vectors[:, ::-1]
    return vectors[:, :nf] * np.sqrt(np.maximum(values[:nf], 0.0))


def _ml_objective(psi, r, nf):
    # Maximum-likelihood discrepancy as in stats::factanal / psych's FAfn and FAgr.
    sc = 1 / np.sqrt(psi)
    values, vectors = np.linalg.eigh(r * np.outer(sc, sc))
    values, vectors = values[::-1], vectors[:, ::-1]
    rest = values[nf:]
    f = -(np.sum(np.log(rest) - rest) - nf + r.shape[0])
    load = vectors[:, :nf] * np.sqrt(np.maximum(values[:nf] - 1, 0.0))
    load = load * np.sqrt(psi)[:, None]
    grad = (np.sum(load**2, axis=1) + psi - np.diag(r)) / psi**2
    return f, grad


def _ml_loadings(psi, r, nf):
    sc = 1 / np.sqrt(psi)
    values, vectors = np.linalg.eigh(r * np.outer(sc, sc))
    values, vectors = values[::-1], vectors[:, ::-1]
    load = vectors[:, :nf] * np.sqrt(np.maximum(values[:nf] - 1, 0.0))
    return load * np.sqrt(psi)[:, None]


def _extract(r: np.ndarray, nf: int, method: str, *, precise: bool = True):
    # Callers hold `threadpool_limits(1, "blas")`: scipy's L-BFGS-B calls BLAS on vectors of
    # length p, and a multithreaded OpenBLAS spends 20 times longer starting threads than
    # computing (0.9 s instead of 0.04 s for a 30-iteration parallel analysis of 9 items).
    start = 1 - _smc(r)
    start = np.clip(start, *_PSI_BOUNDS)
    objective = _minres_objective if method == "minres" else _ml_objective
    res = optimize.minimize(
        objective,
        start,
        args=(r, nf),
        jac=True,
        method="L-BFGS-B",
        bounds=[_PSI_BOUNDS] * r.shape[0],
        options=_TIGHT if precise else _LOOSE,
    )
    psi = res.x
    load = _minres_loadings(psi, r, nf) if method == "minres" else _ml_loadings(psi, r, nf)
    return load, psi, res


# Largest projected-gradient component accepted as a stationary point when L-BFGS-B stops
# without reporting success.
_STATIONARY_GTOL = 1e-6


def _converged(res: optimize.OptimizeResult) -> bool:
    """Whether L-BFGS-B ended at a stationary point of the bounded problem.

    ``res.success``, or a projected gradient below :data:`_STATIONARY_GTOL`: scipy >= 1.15
    (L-BFGS-B rewritten in C) ends with "ABNORMAL" when the line search cannot lower an
    objective already at its minimum to the last bit (``ftol`` 1e-15), e.g. the ML solution
    of Holzinger-Swineford with two factors, whose gradient is then ~5e-9.
    """
    if res.success:
        return True
    x, grad = np.asarray(res.x), np.asarray(res.jac)
    low, high = _PSI_BOUNDS
    # At a bound, only the component pointing into the box counts.
    projected = np.where((x <= low) & (grad > 0), 0.0, grad)
    projected = np.where((x >= high) & (projected < 0), 0.0, projected)
    return bool(np.all(np.isfinite(projected)) and np.max(np.abs(projected)) < _STATIONARY_GTOL)


def _reduced_eigenvalues(r: np.ndarray, loadings: np.ndarray) -> np.ndarray:
    reduced = r.copy()
    np.fill_diagonal(reduced, np.sum(loadings**2, axis=1))
    return np.sort(np.linalg.eigvalsh(reduced))[::-1]


# --------------------------------------------------------------------------- EFA
@dataclass(frozen=True)
class EFAResult:
    """Result of :func:`efa`.

    Attributes
    ----------
    loadings : pandas.DataFrame
        Pattern loadings, items x factors (``F1``, ``F2``, ...), after rotation.
    phi : pandas.DataFrame or None
        Factor correlations (oblique rotations only).
    structure : pandas.DataFrame
        Structure matrix :math:`\\Lambda\\Phi` (equals ``loadings`` for orthogonal solutions).
    communalities : pandas.Series
        :math:`h^2_i = \\operatorname{diag}(\\Lambda\\Phi\\Lambda')`.
    uniquenesses : pandas.Series
        :math:`1 - h^2_i`.
    variance : pandas.DataFrame
        Per factor: ``ss_loadings`` (:math:`\\operatorname{diag}(\\Phi\\Lambda'\\Lambda)`),
        ``proportion``, ``cumulative``.
    eigenvalues : pandas.Series
        Eigenvalues of the correlation matrix.
    reduced_eigenvalues : pandas.Series
        Eigenvalues of the correlation matrix with communalities on the diagonal
        (``psych::fa``'s ``values``).
    method, rotation, missing : str
    n : int
    converged : bool
    objective : float
    """

    loadings: pd.DataFrame
    phi: pd.DataFrame | None
    structure: pd.DataFrame
    communalities: pd.Series
    uniquenesses: pd.Series
    variance: pd.DataFrame
    eigenvalues: pd.Series
    reduced_eigenvalues: pd.Series
    method: str
    rotation: str
    n_factors: int
    n: int
    missing: str
    converged: bool
    objective: float

    def to_dict(self) -> dict:
        return {
            "method": self.method,
            "rotation": self.rotation,
            "n_factors": self.n_factors,
            "n": self.n,
            "missing": self.missing,
            "converged": self.converged,
            "objective": _json.number(self.objective),
            "loadings": _json.matrix(self.loadings),
            "phi": None if self.phi is None else _json.matrix(self.phi),
            "structure": _json.matrix(self.structure),
            "communalities": _json.series(self.communalities),
            "uniquenesses": _json.series(self.uniquenesses),
            "variance": _json.records(self.variance),
            "eigenvalues": [_json.number(v) for v in self.eigenvalues],
            "reduced_eigenvalues": [_json.number(v) for v in self.reduced_eigenvalues],
        }


def _rotate(loadings: np.ndarray, rotation: str):
    if rotation == "none" or loadings.shape[1] < 2:
        return loadings, None
    # GPArotation's default maxit is 1000; factor_analyzer's is 500.
    kwargs = (
        {"max_iter": 1000} if rotation in ("oblimin", "quartimin", "quartimax", "equamax") else {}
    )
    rotator = Rotator(method=rotation, **kwargs)
    rotated = rotator.fit_transform(loadings)
    phi = rotator.phi_ if rotation in OBLIQUE else None
    return np.asarray(rotated), None if phi is None else np.asarray(phi)


def efa(
    data: pd.DataFrame,
    n_factors: int,
    items: Sequence[str] | None = None,
    *,
    method: str = "minres",
    rotation: str = "oblimin",
    missing: str = "listwise",
) -> EFAResult:
    """Exploratory factor analysis of the item correlation matrix.

    The common factor model :math:`R = \\Lambda\\Phi\\Lambda' + \\Psi` is fitted by minimising,
    over the uniquenesses :math:`\\Psi` (bounded to 0.005..1, started at :math:`1 - SMC`):

    - ``"minres"`` (ordinary least squares): the squared residuals
      :math:`\\tfrac12\\lVert R - \\Psi - \\Lambda\\Lambda'\\rVert^2`, :math:`\\Lambda` the leading
      eigenvectors of :math:`R - \\Psi` scaled by the square roots of their eigenvalues;
    - ``"ml"`` (maximum likelihood): :math:`\\ln|\\Sigma| + \\operatorname{tr}(\\Sigma^{-1}R)
      - \\ln|R| - p`, in the concentrated form of Jöreskog (1967) as ``factanal``.

    The solution is then rotated (``varimax``, ``quartimax``, ``equamax`` orthogonal;
    ``promax``, ``oblimin``, ``quartimin`` oblique) and, as ``psych::fa`` does, each factor's
    sign is set so that its loadings sum to a positive number and factors are ordered by the
    variance they account for, :math:`\\operatorname{diag}(\\Phi\\Lambda'\\Lambda)`.

    Parameters
    ----------
    data : pandas.DataFrame
        Item responses.
    n_factors : int
        Number of factors, ``1 <= n_factors < number of items``.
    items : sequence of str, optional
    method : {"minres", "ml"}
    rotation : {"oblimin", "promax", "varimax", "quartimin", "quartimax", "equamax", "none"}
    missing : {"listwise", "pairwise"}

    Returns
    -------
    EFAResult

    References
    ----------
    Harman, H. H., & Jones, W. H. (1966). Factor analysis by minimizing residuals (minres).
    *Psychometrika, 31*(3), 351-368. https://doi.org/10.1007/BF02289468
    Jöreskog, K. G. (1967). Some contributions to maximum likelihood factor analysis.
    *Psychometrika, 32*(4), 443-482. https://doi.org/10.1007/BF02289658
    Jennrich, R. I. (2002). A simple general method for oblique rotation. *Psychometrika, 67*(1),
    7-19. https://doi.org/10.1007/BF02294706

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(2)
    >>> f = rng.normal(size=(500, 2))
    >>> x = np.column_stack([f[:, 0]] * 3 + [f[:, 1]] * 3) + rng.normal(scale=0.8, size=(500, 6))
    >>> res = efa(pd.DataFrame(x, columns=list("abcdef")), 2, rotation="varimax")
    >>> (res.loadings.abs() > 0.5).astype(int).to_numpy().T.tolist()
    [[0, 0, 0, 1, 1, 1], [1, 1, 1, 0, 0, 0]]
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(METHODS)}; got {method!r}")
    if rotation not in ROTATIONS:
        raise ValueError(f"rotation must be one of {', '.join(ROTATIONS)}; got {rotation!r}")
    frame, corr_frame = _prepare(data, items, missing, min_items=3)
    r = corr_frame.to_numpy()
    p = r.shape[0]
    if not isinstance(n_factors, (int, np.integer)) or not 1 <= n_factors < p:
        raise ValueError(f"number of factors must be between 1 and {p - 1}; got {n_factors!r}")
    nf = int(n_factors)
    if method == "ml" and np.linalg.eigvalsh(r).min() <= 1e-12:
        raise ValueError(
            "the correlation matrix is not positive definite (pairwise deletion can cause "
            "this), so the ML discrepancy is undefined; use missing='listwise' or method='minres'"
        )

    with threadpool_limits(limits=1, user_api="blas"):
        unrotated, _psi, opt = _extract(r, nf, method)
    signs = np.where(unrotated.sum(axis=0) < 0, -1.0, 1.0)
    unrotated = unrotated * signs
    loadings, phi = _rotate(unrotated, rotation)
    signs = np.where(loadings.sum(axis=0) < 0, -1.0, 1.0)
    loadings = loadings * signs
    if phi is not None:
        phi = phi * np.outer(signs, signs)
        ss = np.diag(phi @ loadings.T @ loadings)
    else:
        ss = np.sum(loadings**2, axis=0)
    order = np.argsort(-ss, kind="stable")
    loadings, ss = loadings[:, order], ss[order]
    if phi is not None:
        phi = phi[np.ix_(order, order)]

    names = [f"F{i + 1}" for i in range(nf)]
    index = corr_frame.columns
    loadings_df = pd.DataFrame(loadings, index=index, columns=names)
    phi_df = None if phi is None else pd.DataFrame(phi, index=names, columns=names)
    structure = loadings if phi is None else loadings @ phi
    communalities = np.sum(unrotated**2, axis=1)
    variance = pd.DataFrame(
        {"ss_loadings": ss, "proportion": ss / p, "cumulative": np.cumsum(ss) / p},
        index=pd.Index(names, name="factor"),
    )
    return EFAResult(
        loadings=loadings_df,
        phi=phi_df,
        structure=pd.DataFrame(structure, index=index, columns=names),
        communalities=pd.Series(communalities, index=index, name="communality"),
        uniquenesses=pd.Series(1 - communalities, index=index, name="uniqueness"),
        variance=variance,
        eigenvalues=pd.Series(np.sort(np.linalg.eigvalsh(r))[::-1], name="eigenvalue"),
        reduced_eigenvalues=pd.Series(_reduced_eigenvalues(r, unrotated), name="eigenvalue"),
        method=method,
        rotation=rotation,
        n_factors=nf,
        n=len(frame),
        missing=missing,
        converged=_converged(opt),
        objective=float(opt.fun),
    )


# --------------------------------------------------------------------------- parallel analysis
@dataclass(frozen=True)
class ParallelAnalysisResult:
    """Result of :func:`parallel_analysis`.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per position ``1..p``: ``observed_pc`` (eigenvalues of R), ``random_pc``
        (their ``percentile`` over random data), ``observed_fa`` (eigenvalues of R with
        one-factor minres communalities on the diagonal, as ``psych::fa.parallel``),
        ``random_fa``.
    n_components, n_factors : int
        Number of leading observed eigenvalues above the random ones (PCA and FA).
    percentile : float
    n_iter : int
    n : int
    missing : str
    """

    table: pd.DataFrame
    n_components: int
    n_factors: int
    percentile: float
    n_iter: int
    n: int
    missing: str

    def to_dict(self) -> dict:
        return {
            "n_components": self.n_components,
            "n_factors": self.n_factors,
            "percentile": self.percentile,
            "n_iter": self.n_iter,
            "n": self.n,
            "missing": self.missing,
            "random_data": "standard normal, same n and number of items",
            "eigenvalues": _json.records(self.table),
        }


def _leading_above(observed: np.ndarray, threshold: np.ndarray) -> int:
    above = observed > threshold
    return int(np.argmin(above)) if not above.all() else int(above.size)


def _fa_values(r: np.ndarray, precise: bool = True) -> np.ndarray:
    load, _, _ = _extract(r, 1, "minres", precise=precise)
    return _reduced_eigenvalues(r, load)


def parallel_analysis(
    data: pd.DataFrame,
    items: Sequence[str] | None = None,
    *,
    n_iter: int = 100,
    percentile: float = 95.0,
    rng: int | np.random.Generator | None = None,
    missing: str = "listwise",
) -> ParallelAnalysisResult:
    """Horn's parallel analysis with PCA and common-factor eigenvalues.

    Eigenvalues of the observed correlation matrix are compared, position by position, with the
    ``percentile`` of the eigenvalues from ``n_iter`` data sets of independent standard normal
    variables of the same size. Two kinds of eigenvalues are reported, as
    ``psych::fa.parallel(fa = "both")``: of :math:`R` itself (principal components) and of
    :math:`R` with the communalities of a one-factor minres solution on the diagonal (common
    factors). The suggested number is the count of leading observed eigenvalues that exceed the
    random ones.

    Parameters
    ----------
    data : pandas.DataFrame
    items : sequence of str, optional
    n_iter : int
        Number of random data sets.
    percentile : float
        Percentile of the random eigenvalues to compare with (95 as Glorfeld, 1995; 50 gives
        Horn's original mean-like criterion).
    rng : int or numpy.random.Generator
        Seed or generator for the random data; pass one for reproducible results.
    missing : {"listwise", "pairwise"}

    References
    ----------
    Horn, J. L. (1965). A rationale and test for the number of factors in factor analysis.
    *Psychometrika, 30*(2), 179-185. https://doi.org/10.1007/BF02289447
    Glorfeld, L. W. (1995). An improvement on Horn's parallel analysis methodology for selecting
    the correct number of factors to retain. *Educational and Psychological Measurement, 55*(3),
    377-393. https://doi.org/10.1177/0013164495055003002

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> g = np.random.default_rng(3)
    >>> f = g.normal(size=(400, 2))
    >>> x = np.column_stack([f[:, 0]] * 4 + [f[:, 1]] * 4) + g.normal(size=(400, 8))
    >>> res = parallel_analysis(pd.DataFrame(x), n_iter=20, rng=1)
    >>> res.n_components, res.n_factors
    (2, 2)
    """
    if not isinstance(n_iter, (int, np.integer)) or n_iter < 1:
        raise ValueError(f"n_iter must be a positive integer; got {n_iter!r}")
    if not 0 < percentile < 100:
        raise ValueError(f"percentile must be between 0 and 100; got {percentile!r}")
    frame, corr_frame = _prepare(data, items, missing, min_items=3)
    r = corr_frame.to_numpy()
    n, p = len(frame), r.shape[0]
    if n <= p:
        raise ValueError(
            f"need more rows than items for parallel analysis; got {n} rows, {p} items"
        )
    generator = np.random.default_rng(rng)
    sim_pc = np.empty((n_iter, p))
    sim_fa = np.empty((n_iter, p))
    with threadpool_limits(limits=1, user_api="blas"):
        observed_pc = np.sort(np.linalg.eigvalsh(r))[::-1]
        observed_fa = _fa_values(r)
        for i in range(n_iter):
            sim = np.corrcoef(generator.standard_normal((n, p)), rowvar=False)
            sim_pc[i] = np.sort(np.linalg.eigvalsh(sim))[::-1]
            sim_fa[i] = _fa_values(sim, precise=False)
    random_pc = np.percentile(sim_pc, percentile, axis=0)
    random_fa = np.percentile(sim_fa, percentile, axis=0)
    table = pd.DataFrame(
        {
            "observed_pc": observed_pc,
            "random_pc": random_pc,
            "observed_fa": observed_fa,
            "random_fa": random_fa,
        },
        index=pd.RangeIndex(1, p + 1, name="position"),
    )
    return ParallelAnalysisResult(
        table=table,
        n_components=_leading_above(observed_pc, random_pc),
        n_factors=_leading_above(observed_fa, random_fa),
        percentile=float(percentile),
        n_iter=int(n_iter),
        n=n,
        missing=missing,
    )
