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
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["composite_reliability", "fornell_larcker", "htmt"]


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
