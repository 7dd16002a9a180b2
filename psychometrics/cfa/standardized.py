"""Standardised solutions (lavaan's ``std.lv`` and ``std.all``) with delta-method standard errors.

With Phi the model-implied factor covariance matrix, Psi/Theta the (residual) variances and Sigma
the implied indicator covariance matrix:

- loadings: std.lv = lambda sqrt(Phi_jj); std.all = std.lv / sqrt(Sigma_ii)
  (second-order loadings: b sqrt(Phi_cc / Phi_rr));
- variances: x / Sigma_ii (indicators), x / Phi_jj (factors);
- covariances: x / sqrt(x_ii x_jj) with the (residual) variances of the same matrix, i.e.
  residual correlations (lavaan's ``cov.std = TRUE``);
- intercepts x / sqrt(Sigma_ii), factor means x / sqrt(Phi_jj);
- regressions b sqrt(Phi_cc / Phi_rr) (both scales), except that std.lv leaves observed
  variables of regressions (the "phantom" factors of :mod:`.model`) unscaled: their Phi_jj is
  taken as 1 there, and their variances, covariances and intercepts keep their raw std.lv.

Standard errors of std.all are sqrt(diag(J V J')) with V the covariance matrix of the free
parameters and J the Jacobian of the standardisation, obtained exactly by complex-step
differentiation (Squire & Trapp, 1998, https://doi.org/10.1137/S003614459631241X).
"""

from __future__ import annotations

import numpy as np
from scipy import sparse

from .model import ALPHA, BETA, LAMBDA, NU, PSI, THETA, ModelSpec, derivative_index

__all__ = ["standardize", "std_all_jacobian", "std_all_se"]


def standardize(spec: ModelSpec, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """std.lv and std.all of every table row from row values ``x`` (batch axes allowed).

    Rows whose scale is zero (e.g. a residual variance fixed to 0) come out as NaN.
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        return _standardize(spec, x)


def _scales(spec: ModelSpec, x: np.ndarray, g: int) -> tuple[np.ndarray, ...]:
    """diag(Phi), diag(Psi), diag(Theta) and diag(Sigma) of group ``g`` from row values ``x``."""
    t = spec.table
    batch = x.shape[:-1]
    p, m = spec.p, spec.m
    idx = spec.group_rows[g]
    lam = np.zeros(batch + (p, m), x.dtype)
    psi = np.zeros(batch + (m, m), x.dtype)
    rows = idx[LAMBDA]
    lam[..., t.row[rows], t.col[rows]] = x[..., rows]
    for ov, lv in spec.phantoms:
        lam[..., ov, lv] = 1.0
    rows = idx[PSI]
    psi[..., t.row[rows], t.col[rows]] = x[..., rows]
    psi[..., t.col[rows], t.row[rows]] = x[..., rows]
    theta_diag = np.zeros(batch + (p,), x.dtype)
    rows = idx[THETA][t.row[idx[THETA]] == t.col[idx[THETA]]]
    theta_diag[..., t.row[rows]] = x[..., rows]
    if spec.has_beta:
        beta = np.zeros(batch + (m, m), x.dtype)
        rows = idx[BETA]
        beta[..., t.row[rows], t.col[rows]] = x[..., rows]
        ib = np.linalg.inv(np.eye(m) - beta)
        phi = ib @ psi @ np.swapaxes(ib, -1, -2)
        loadings = lam @ ib
    else:
        phi, loadings = psi, lam
    phi_d = np.diagonal(phi, axis1=-2, axis2=-1)
    psi_d = np.diagonal(psi, axis1=-2, axis2=-1)
    sigma_d = np.sum((loadings @ psi) * loadings, axis=-1) + theta_diag
    return phi_d, psi_d, theta_diag, sigma_d


def _scale_jacobians(spec: ModelSpec, theta: np.ndarray, g: int) -> tuple[np.ndarray, ...]:
    """Derivatives (q x m, q x m, q x p, q x p) of the :func:`_scales` of group ``g`` with
    respect to the free parameters, analytically:

    dSigma_ii/dk = 2 s_k u_ki v_ki (the rank-two form of
    :func:`psychometrics.cfa.model.derivative_index`), dPhi_jj/dpsi_rc = 2 s IB_jr IB_jc and
    dPhi_jj/dB_rc = 2 IB_jr Phi_cj with IB = (I - B)^-1.
    """
    t = spec.table
    q, p, m = spec.n_free, spec.p, spec.m
    mats = spec.matrices(spec.row_values(theta), g)
    rows = spec.free_rows(g)
    free = t.free[rows]
    mat, r, c = t.matrix[rows], t.row[rows], t.col[rows]
    vec = derivative_index(mats, mat, r, c, means=False)
    j_sigma = np.zeros((q, p))
    np.add.at(j_sigma, free, 2.0 * vec.s[:, None] * (vec.basis[:, vec.a] * vec.basis[:, vec.b]).T)
    j_theta = np.zeros((q, p))
    j_psi = np.zeros((q, m))
    j_phi = np.zeros((q, m))
    sel = (mat == THETA) & (r == c)
    np.add.at(j_theta, (free[sel], r[sel]), 1.0)
    sel = (mat == PSI) & (r == c)
    np.add.at(j_psi, (free[sel], r[sel]), 1.0)
    ib = mats.ib
    sel = mat == PSI
    scale = np.where(r[sel] == c[sel], 1.0, 2.0)
    np.add.at(j_phi, free[sel], scale[:, None] * (ib[:, r[sel]] * ib[:, c[sel]]).T)
    sel = mat == BETA
    np.add.at(j_phi, free[sel], 2.0 * (ib[:, r[sel]] * mats.phi[c[sel], :].T).T)
    return j_phi, j_psi, j_theta, j_sigma


def _standardize(
    spec: ModelSpec, x: np.ndarray, scales: list | None = None
) -> tuple[np.ndarray, np.ndarray]:
    t = spec.table
    std_lv = np.array(x, copy=True)
    std_all = np.array(x, copy=True)
    for g in range(spec.n_groups):
        idx = spec.group_rows[g]
        phi_d, psi_d, theta_diag, sigma_d = _scales(spec, x, g) if scales is None else scales[g]
        phantom = np.zeros(spec.m, dtype=bool)
        phantom[[lv for _, lv in spec.phantoms]] = True
        lv_d = np.where(phantom, 1.0, phi_d)  # std.lv scales factors only

        rows = idx[LAMBDA]
        r, c = t.row[rows], t.col[rows]
        std_lv[..., rows] = x[..., rows] * np.sqrt(phi_d[..., c])
        std_all[..., rows] = std_lv[..., rows] / np.sqrt(sigma_d[..., r])
        rows = idx[BETA]
        r, c = t.row[rows], t.col[rows]
        std_all[..., rows] = x[..., rows] * np.sqrt(phi_d[..., c] / phi_d[..., r])
        std_lv[..., rows] = x[..., rows] * np.sqrt(lv_d[..., c] / lv_d[..., r])
        rows = idx[THETA]
        r, c = t.row[rows], t.col[rows]
        diag = r == c
        std_all[..., rows] = np.where(
            diag,
            x[..., rows] / sigma_d[..., r],
            x[..., rows] / np.sqrt(theta_diag[..., r] * theta_diag[..., c]),
        )
        rows = idx[PSI]
        r, c = t.row[rows], t.col[rows]
        diag = r == c
        value = np.where(
            diag,
            x[..., rows] / phi_d[..., r],
            x[..., rows] / np.sqrt(psi_d[..., r] * psi_d[..., c]),
        )
        std_lv[..., rows] = np.where(phantom[r] & phantom[c], x[..., rows], value)
        std_all[..., rows] = value
        rows = idx[NU]
        std_all[..., rows] = x[..., rows] / np.sqrt(sigma_d[..., t.row[rows]])
        rows = idx[ALPHA]
        std_all[..., rows] = x[..., rows] / np.sqrt(phi_d[..., t.row[rows]])
        std_lv[..., rows] = x[..., rows] / np.sqrt(lv_d[..., t.row[rows]])
    return std_lv, std_all


def std_all_se(spec: ModelSpec, theta: np.ndarray, vcov: np.ndarray) -> np.ndarray:
    """Delta-method standard errors of the std.all values of every table row."""
    q = spec.n_free
    if q == 0 or not np.all(np.isfinite(vcov)):
        return np.full(len(spec.table), np.nan)
    jac = std_all_jacobian(spec, theta)
    # Each standardised value depends on a handful of parameters: a sparse product.
    if np.count_nonzero(jac) < 0.2 * jac.size:
        jac_s = sparse.csr_matrix(jac)
        var = np.asarray(jac_s.multiply(np.asarray(jac_s @ vcov)).sum(axis=1)).ravel()
    else:
        var = np.sum((jac @ vcov) * jac, axis=1)
    return np.sqrt(np.maximum(var, 0.0))


def std_all_jacobian(spec: ModelSpec, theta: np.ndarray) -> np.ndarray:
    """d(std.all of every table row)/d(theta), rows x q (complex steps, see above)."""
    q = spec.n_free
    h = 1e-30
    perturbed = spec.row_values(theta + 1j * h * np.eye(q))
    # The scales enter to first order through their analytic Jacobians (cheaper than carrying
    # q complex copies of the model matrices through the products).
    x = spec.row_values(theta)
    scales = [
        tuple(
            value + 1j * h * jac
            for value, jac in zip(
                _scales(spec, x, g), _scale_jacobians(spec, theta, g), strict=True
            )
        )
        for g in range(spec.n_groups)
    ]
    with np.errstate(divide="ignore", invalid="ignore"):
        return _standardize(spec, perturbed, scales)[1].imag.T / h  # rows x q
