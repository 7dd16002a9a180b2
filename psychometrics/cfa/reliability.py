"""Construct reliability and validity from a fitted CFA: omega, AVE, HTMT, Fornell-Larcker.

For a first-order factor j with indicators I, loadings lambda_i, factor variance phi_j and the
sample covariance matrix S (divisor N), as semTools 0.5-6 computes them by default
(``obs.var = TRUE``):

    omega_j = (sum_i lambda_i)^2 phi_j / (1' S_II 1)      (Bentler, 2009, https://doi.org/10.1007/s11336-008-9100-1)
    AVE_j   = sum_i lambda_i^2 phi_j / sum_i S_ii          (Fornell & Larcker, 1981, https://doi.org/10.1177/002224378101800104)

HTMT (Henseler, Ringle & Sarstedt, 2015, https://doi.org/10.1007/s11747-014-0403-8) is the mean
absolute heterotrait correlation divided by the geometric mean of the two mean absolute monotrait
correlations; ``htmt2`` (the semTools default) uses geometric instead of arithmetic means
(Roemer, Schuberth & Henseler, 2021, https://doi.org/10.1108/IMDS-02-2021-0082).

For a second-order factor, :func:`omega_hierarchical` gives semTools 0.5-6's ``reliabilityL2``
(omega of the items for the second-order factor, of the first-order factors for it, and the
partial omega; Jorgensen et al.) and ``compRelSEM(fit, higher = ...)`` (the same common variance
over the observed total variance).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["composite_reliability", "fornell_larcker", "htmt", "omega_ci", "omega_hierarchical"]


def composite_reliability(
    factors: dict[str, list[int]],
    loadings: np.ndarray,
    phi: np.ndarray,
    cov: np.ndarray,
    latent: tuple[str, ...],
) -> pd.DataFrame:
    rows = []
    for name, items in factors.items():
        j = latent.index(name)
        lam = loadings[items, j]
        total = float(np.sum(cov[np.ix_(items, items)]))
        omega = float(lam.sum() ** 2 * phi[j, j] / total)
        ave = float(np.sum(lam**2) * phi[j, j] / np.sum(np.diag(cov)[items]))
        rows.append({"factor": name, "omega": omega, "ave": ave})
    return pd.DataFrame(rows, columns=["factor", "omega", "ave"])


def _mean(values: np.ndarray, geometric: bool) -> float:
    if values.size == 0:
        return np.nan
    if geometric:
        return float(np.exp(np.mean(np.log(values))))
    return float(np.mean(values))


def htmt(factors: dict[str, list[int]], cor: np.ndarray, htmt2: bool = True) -> pd.DataFrame:
    names = list(factors)
    r = np.abs(cor)
    mono = {}
    for name, items in factors.items():
        sub = r[np.ix_(items, items)]
        mono[name] = _mean(sub[np.triu_indices(len(items), 1)], htmt2)
    out = np.eye(len(names))
    for a in range(len(names)):
        for b in range(a + 1, len(names)):
            hetero = _mean(r[np.ix_(factors[names[a]], factors[names[b]])].ravel(), htmt2)
            out[a, b] = out[b, a] = hetero / np.sqrt(mono[names[a]] * mono[names[b]])
    return pd.DataFrame(out, index=names, columns=names)


def fornell_larcker(ave: pd.Series, phi: np.ndarray, latent: tuple[str, ...]) -> pd.DataFrame:
    names = list(ave.index)
    idx = [latent.index(n) for n in names]
    sub = phi[np.ix_(idx, idx)]
    sd = np.sqrt(np.diag(sub))
    out = sub / np.outer(sd, sd)
    np.fill_diagonal(out, np.sqrt(ave.to_numpy(dtype=float)))
    return pd.DataFrame(out, index=names, columns=names)


def omega_hierarchical(result, factor: str) -> dict[str, float]:
    """Reliability of a second-order factor, as semTools 0.5-6 ``reliabilityL2(fit, factor)``
    and ``compRelSEM(fit, higher = factor)``.

    With first-order loadings Lambda, second-order loadings b = B[:, factor] onto the set K of
    first-order factors with b_k != 0, the items I loading on them, the factor's variance
    phi_g, the disturbance covariance Psi and residual covariance Theta (model estimates):

        common_1  = (1' Lambda_IK b_K)^2 phi_g                 (items' variance due to g)
        unique_1  = sum_k (sum_i lambda_ik)^2 psi_kk           (due to the disturbances)
        error_1   = 1' Theta_II 1
        omega_l1  = common_1 / (common_1 + unique_1 + error_1)  (omega hierarchical of g)
        partial_omega_l1 = common_1 / (common_1 + error_1)
        omega_l2  = (sum_k b_k)^2 phi_g / ((sum_k b_k)^2 phi_g + 1' Psi_KK 1)
                                                   (of the first-order factors as indicators of g)
        omega_observed = common_1 / (1' S_II 1)      (compRelSEM: observed total variance, S with
                                                      divisor N)

    Indicators loading on ``factor`` directly are added to the item set as semTools does
    (their loadings join common_1 and omega_l2's numerator, their residuals the errors).
    References: McDonald, R. P. (1999), Test theory: A unified treatment, Erlbaum; Zinbarg,
    Revelle, Yovel & Li (2005), https://doi.org/10.1007/s11336-003-0974-7; Jorgensen et al.,
    semTools, https://CRAN.R-project.org/package=semTools.

    Parameters
    ----------
    result : CFAResult
        A single-group fit whose model regresses first-order factors on ``factor``.
    factor : str
        The name of the second-order factor.

    Returns
    -------
    dict
        ``omega_l1``, ``omega_l2``, ``partial_omega_l1`` (reliabilityL2's omegaL1, omegaL2,
        partialOmegaL1) and ``omega_observed`` (compRelSEM's value for the higher-order factor).

    Raises
    ------
    ValueError
        Unknown factor, not a second-order factor, several groups, or items loading both
        directly and through first-order factors on it.
    """
    spec = result.spec
    if factor not in spec.latent:
        raise ValueError(f"{factor!r} is not a latent variable of the model")
    if spec.n_groups != 1:
        raise ValueError("omega_hierarchical is available for single-group models only")
    cov = np.asarray(result.objective.groups[0].h1_moments()[0])
    return _second_order_omegas(spec, result.theta, factor, cov)


def _second_order_omegas(spec, theta_free, factor: str, cov: np.ndarray) -> dict[str, float]:
    latent = list(spec.latent)
    mats = spec.implied(theta_free)[0]
    if mats.beta is None:
        raise ValueError(f"{factor!r} is not a second-order factor (the model has none)")
    g = latent.index(factor)
    lam, beta = np.asarray(mats.lam), np.asarray(mats.beta)
    psi, theta = np.asarray(mats.psi), np.asarray(mats.theta)
    phi_g = float(np.asarray(mats.phi)[g, g])
    b = beta[:, g]
    k = np.flatnonzero(b != 0)
    if k.size == 0:
        raise ValueError(f"{factor!r} is not a second-order factor (no factor loads on it)")
    items = np.flatnonzero(np.any(lam[:, k] != 0, axis=1))
    l1load = lam[:, k] @ b[k]
    common_2 = float(np.sum(b[k])) ** 2 * phi_g
    error_2 = float(np.sum(psi[np.ix_(k, k)]))
    common_1 = float(np.sum(l1load)) ** 2 * phi_g
    error_1 = float(np.sum(theta[np.ix_(items, items)]))
    unique_1 = float(sum(np.sum(lam[:, j]) ** 2 * psi[j, j] for j in k))
    direct = np.flatnonzero(lam[:, g] != 0)
    if direct.size:
        if np.intersect1d(direct, items).size:
            raise ValueError(
                f"indicators load on {factor!r} both directly and through first-order factors"
            )
        common_2 = float(np.sum(np.concatenate([lam[direct, g], b[k]]))) ** 2 * phi_g
        common_1 = float(np.sum(lam[direct, g]) + np.sum(l1load)) ** 2 * phi_g
        extra = float(np.sum(theta[np.ix_(direct, direct)]))
        error_2 += extra
        error_1 += extra
    # compRelSEM(higher =): sum(L B Phi B' L') / sum(S) over the items of g and its factors
    block = np.concatenate([[g], k])
    ind = np.flatnonzero(np.any(lam[:, block] != 0, axis=1))
    sub_l = lam[np.ix_(ind, block)]
    sub_b = beta[np.ix_(block, block)]
    sub_phi = np.asarray(mats.phi)[np.ix_(block, block)]
    common_obs = float(np.sum(sub_l @ sub_b @ sub_phi @ sub_b.T @ sub_l.T))
    return {
        "omega_l1": common_1 / (common_1 + unique_1 + error_1),
        "omega_l2": common_2 / (common_2 + error_2),
        "partial_omega_l1": common_1 / (common_1 + error_1),
        "omega_observed": common_obs / float(np.sum(cov[np.ix_(ind, ind)])),
    }


OMEGA_STATISTICS = ("omega", "omega_l1", "omega_l2", "partial_omega_l1")


def _first_order_omega(spec, theta_free, factor: str) -> float:
    """(sum_i lambda_i)^2 phi_jj / 1' Sigma_II 1 (compRelSEM with obs.var = FALSE)."""
    mats = spec.implied(theta_free)[0]
    j = list(spec.latent).index(factor)
    lam = np.asarray(mats.lam)
    items = np.flatnonzero(lam[:, j] != 0)
    sigma = np.asarray(mats.sigma)
    return float(lam[items, j].sum() ** 2 * np.asarray(mats.phi)[j, j]) / float(
        np.sum(sigma[np.ix_(items, items)])
    )


def omega_ci(
    result,
    factor: str,
    statistic: str | None = None,
    *,
    level: float = 0.95,
    method: str = "delta",
    n_draws: int = 5000,
    seed: int | None = None,
) -> dict:
    """Standard error and confidence interval of a model-based omega.

    semTools 0.5-6 gives no standard error for omega. Here omega is treated as a function
    omega(theta) of the free parameters, whose estimate has the covariance matrix V
    (``result.vcov``), and

    * ``method="delta"``: se = sqrt(g' V g) with g = d omega / d theta (central differences,
      step 1e-6 max(1, |theta_k|)), and the Wald interval omega -/+ z_(1+level)/2 se
      (Raykov, 2002, https://doi.org/10.1177/01421602026003004);
    * ``method="monte_carlo"``: ``n_draws`` parameter vectors from N(theta-hat, V) (seeded
      with ``seed``), se their omegas' standard deviation and the interval their
      (1-level)/2 and (1+level)/2 quantiles (Preacher & Selig, 2012,
      https://doi.org/10.1080/19312458.2012.679848). No refitting: it describes the same
      normal approximation of theta-hat without linearising omega.

    Only omegas that are functions of the estimates alone qualify, so the denominator is the
    model-implied total variance: ``statistic="omega"`` (the default for a first-order factor)
    is compRelSEM's ``obs.var = FALSE`` value, (sum lambda)^2 phi / 1' Sigma_II 1; for a
    second-order factor ``"omega_l1"`` (the default), ``"omega_l2"`` or ``"partial_omega_l1"``
    of :func:`omega_hierarchical`. The interval is not truncated to [0, 1].

    Returns
    -------
    dict
        factor, statistic, method, level, estimate, se, ci_lower, ci_upper (and n_draws, seed
        for the Monte Carlo method).

    Raises
    ------
    ValueError
        Unknown factor/statistic/method, a level outside (0, 1), several groups, or a
        missing or non-finite covariance matrix of the estimates.
    """
    from scipy import stats

    spec = result.spec
    if factor not in spec.latent:
        raise ValueError(f"{factor!r} is not a latent variable of the model")
    if spec.n_groups != 1:
        raise ValueError("omega_ci is available for single-group models only")
    if not 0 < level < 1:
        raise ValueError(f"level must be between 0 and 1, not {level!r}")
    if method not in ("delta", "monte_carlo"):
        raise ValueError(f"method must be 'delta' or 'monte_carlo', not {method!r}")
    j = list(spec.latent).index(factor)
    mats = spec.implied(result.theta)[0]
    second_order = mats.beta is not None and np.any(np.asarray(mats.beta)[:, j] != 0)
    if statistic is None:
        statistic = "omega_l1" if second_order else "omega"
    if statistic not in OMEGA_STATISTICS:
        raise ValueError(f"statistic must be one of {', '.join(OMEGA_STATISTICS)}")
    if (statistic == "omega") == bool(second_order):
        kind = "a second-order" if second_order else "a first-order"
        raise ValueError(f"statistic {statistic!r} does not apply to {kind} factor {factor!r}")
    if not np.any(np.asarray(mats.lam)[:, j] != 0) and not second_order:
        raise ValueError(f"{factor!r} has no indicators")
    cov = np.asarray(result.objective.groups[0].h1_moments()[0])

    def value(theta_free) -> float:
        if statistic == "omega":
            return _first_order_omega(spec, theta_free, factor)
        return _second_order_omegas(spec, theta_free, factor, cov)[statistic]

    vcov = np.asarray(result.vcov, dtype=float)
    theta = np.asarray(result.theta, dtype=float)
    if vcov.shape != (theta.size, theta.size) or not np.all(np.isfinite(vcov)):
        raise ValueError("the covariance matrix of the estimates is missing or not finite")
    estimate = value(theta)
    out = {"factor": factor, "statistic": statistic, "method": method, "level": float(level)}
    if method == "delta":
        grad = np.empty(theta.size)
        for k in range(theta.size):
            h = 1e-6 * max(1.0, abs(theta[k]))
            up, down = theta.copy(), theta.copy()
            up[k] += h
            down[k] -= h
            grad[k] = (value(up) - value(down)) / (2 * h)
        se = float(np.sqrt(max(grad @ vcov @ grad, 0.0)))
        z = float(stats.norm.ppf((1 + level) / 2))
        lower, upper = estimate - z * se, estimate + z * se
    else:
        if int(n_draws) < 100:
            raise ValueError("n_draws must be at least 100")
        rng = np.random.default_rng(seed)
        draws = rng.multivariate_normal(theta, vcov, size=int(n_draws), method="eigh")
        values = np.array([value(d) for d in draws])
        values = values[np.isfinite(values)]
        se = float(np.std(values, ddof=1))
        lower, upper = (float(v) for v in np.quantile(values, [(1 - level) / 2, (1 + level) / 2]))
        out.update(n_draws=int(n_draws), seed=seed)
    out.update(estimate=float(estimate), se=se, ci_lower=float(lower), ci_upper=float(upper))
    return out
