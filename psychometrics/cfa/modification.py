"""Modification indices (score tests) for fixed parameters, with expected parameter changes.

For a fixed parameter c with derivative d_c = dF/dc of the discrepancy function at the estimates,

    V_c   = I_cc - I_c1 I_11^-1 I_1c
    MI_c  = N d_c^2 / V_c            (1-df Lagrange multiplier test; Sorbom, 1989,
                                      https://doi.org/10.1207/s15327906mbr2403_1)
    EPC_c = -d_c / V_c               (Saris, Satorra & Sorbom, 1987, https://doi.org/10.2307/271029)

with I the expected information per observation (summed over missing-data patterns with
``missing="ml"``). Candidates are lavaan's: loadings of every factor on every indicator,
residual covariances between indicators, covariances between factors (with higher-order factors,
between disturbances), and all fixed parameters, with a mean structure also fixed intercepts and
fixed factor means (``t1 ~1`` in a growth model, whose intercepts are fixed to 0); constraints
whose release leaves the model unidentified have V_c = 0 and are dropped. With regressions
(``~``) the candidates follow lavaan's ``lav_partable_full``: regressions ``y ~ x`` between all
variables of the regressions (not with a covariate as ``y``, whose fixed.x moments lavaan keeps
fixed in a way not reproduced here), and no loadings, residual covariances or covariances that
involve the observed variables of the regressions.

Under explicit constraints (``==``, active ``<``/``>``; see :mod:`.constraints`) with theta =
theta0 + K phi, I_11^-1 is replaced by K (K' I_11 K)^-1 K' (lavaan's augmented information).
sepc.lv and sepc.all scale the EPC as :mod:`psychometrics.cfa.standardized` scales estimates;
for an intercept sepc.lv = EPC and sepc.all = EPC / sd(y), for a factor mean both are
EPC / sd(eta), as lavaan scales them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import linalg

from .estimation import Objective, derivative
from .model import ALPHA, BETA, LAMBDA, NU, PSI, THETA, ModelSpec

__all__ = ["modification_indices"]


def _candidates(spec: ModelSpec, group: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    t = spec.table
    in_group = t.group == group
    p, m = spec.p, spec.m
    present = {
        code: np.zeros(
            (p, m) if code == LAMBDA else (p, p) if code == THETA else (m, m), dtype=bool
        )
        for code in (LAMBDA, THETA, PSI)
    }
    for code, mask in present.items():
        rows = in_group & (t.matrix == code)
        mask[t.row[rows], t.col[rows]] = True
    mats, rows, cols = [], [], []
    # Loadings of every factor on every indicator (factor by factor).
    j, i = np.nonzero(~present[LAMBDA].T)
    mats.append(np.full(i.size, LAMBDA))
    rows.append(i)
    cols.append(j)
    # Residual covariances between indicators (column by column of the lower triangle).
    c, r = np.nonzero(np.triu(~present[THETA].T, k=1))
    mats.append(np.full(r.size, THETA))
    rows.append(r)
    cols.append(c)
    # Covariances between factors that the model leaves out: with higher-order factors, the
    # disturbances of first-order factors (with each other and with other constructs).
    c, r = np.nonzero(np.triu(~present[PSI].T, k=1))
    mats.append(np.full(r.size, PSI))
    rows.append(r)
    cols.append(c)
    # Identification constraints are candidates too; where freeing one leaves the model
    # unidentified its score test has no variance and the row is dropped (as lavaan does).
    # With a mean structure, fixed intercepts and factor means are candidates as well.
    codes = (LAMBDA, BETA, THETA, PSI) + ((NU, ALPHA) if spec.meanstructure else ())
    fixed = np.flatnonzero(in_group & (t.free < 0) & np.isin(t.matrix, codes))
    mats.append(t.matrix[fixed])
    rows.append(t.row[fixed])
    cols.append(t.col[fixed])
    out = (
        np.concatenate(mats).astype(int),
        np.concatenate(rows).astype(int),
        np.concatenate(cols).astype(int),
    )
    if any(op == "~" for op in t.op):
        out = _regression_candidates(spec, group, *out)
    return out


def _regression_candidates(spec: ModelSpec, group: int, mat, row, col):
    """With regressions, lavaan's candidates (``lav_partable_full``): no loadings, residual
    covariances or covariances involving the observed variables of the regressions (their
    phantom factors) nor the fixed covariate moments; instead a regression ``y ~ x`` for every
    ordered pair of variables of the regressions that the model leaves out (but for a covariate
    as ``y``)."""
    t = spec.table
    phantom_ov = np.zeros(spec.p, dtype=bool)
    phantom_lv = np.zeros(spec.m, dtype=bool)
    for ov, lv in spec.phantoms:
        phantom_ov[ov] = phantom_lv[lv] = True

    def ov(i):
        return phantom_ov[np.clip(i, 0, spec.p - 1)]

    def lv(i):
        return phantom_lv[np.clip(i, 0, spec.m - 1)]

    drop = (
        ((mat == LAMBDA) & (ov(row) | lv(col)))
        | ((mat == THETA) & (ov(row) | ov(col)))
        | ((mat == PSI) & (lv(row) | lv(col)))
        | ((mat == ALPHA) & np.isin(row, spec.fixed_x))
    )
    keep = ~drop
    mat, row, col = mat[keep], row[keep], col[keep]
    sel = (t.group == group) & (t.op == np.array("~"))
    names = set(t.lhs[i] for i in np.flatnonzero(sel)) | set(t.rhs[i] for i in np.flatnonzero(sel))
    index = {name: j for j, name in enumerate(spec.latent)}
    eqs = [index[name] for name in spec.latent if name in names]
    in_group = t.group == group
    beta_rows = in_group & (t.matrix == BETA)
    present = set(zip(t.row[beta_rows], t.col[beta_rows], strict=True))
    present |= {(r, c) for m_, r, c in zip(mat, row, col, strict=True) if m_ == BETA}
    # A covariate as the outcome of a regression is left out (lavaan lists it with the
    # covariate's moments still fixed; its MIs are not reproduced here).
    new = [
        (r, c)
        for r in eqs
        for c in eqs
        if r != c and (r, c) not in present and r not in spec.fixed_x
    ]
    if new:
        mat = np.concatenate([mat, np.full(len(new), BETA)])
        row = np.concatenate([row, [r for r, _ in new]])
        col = np.concatenate([col, [c for _, c in new]])
    return mat.astype(int), row.astype(int), col.astype(int)


def modification_indices(
    objective: Objective,
    theta: np.ndarray,
    info: np.ndarray,
    group_labels: list,
    basis: np.ndarray | None = None,
) -> pd.DataFrame:
    """Table of lhs, op, rhs, group, mi, epc, sepc_lv, sepc_all for all candidates;
    ``basis``: K of the constraint surface (None without explicit constraints)."""
    spec = objective.spec
    q = spec.n_free
    if basis is not None:
        info = basis.T @ info @ basis
    try:
        chol = linalg.cholesky(info, lower=True, check_finite=False)

        def whiten(x: np.ndarray) -> np.ndarray:  # L^-1 x with info = L L'
            return linalg.solve_triangular(chol, x, lower=True, check_finite=False)
    except linalg.LinAlgError:
        vals, vecs = np.linalg.eigh(info)
        root = vecs / np.sqrt(np.maximum(vals, vals.max() * 1e-12))

        def whiten(x: np.ndarray) -> np.ndarray:
            return root.T @ x

    frames = []
    for g, mats in enumerate(spec.implied(theta)):
        mat, row, col = _candidates(spec, g)
        if mat.size == 0:
            continue
        out = objective.groups[g].terms(mats.sigma, mats.mu if spec.meanstructure else None)
        _, grad_sigma, grad_mu, context = out
        cand = objective.groups[g].derivatives(mats, mat, row, col, means=spec.meanstructure)
        weight = objective.weights[g]
        d = weight * derivative(cand, grad_sigma, grad_mu)
        free_vec, idx = objective.vectors(mats, g)
        block = weight * objective.groups[g].information(context, cand, free_vec)
        if idx.size == q and np.array_equal(idx, np.arange(q)):
            i21 = block
        elif np.unique(idx).size == idx.size:
            i21 = np.zeros((mat.size, q))
            i21[:, idx] = block
        else:
            i21 = np.zeros((mat.size, q))
            for k, column in enumerate(idx):
                i21[:, column] += block[:, k]
        if basis is not None:
            i21 = i21 @ basis
        i22 = weight * objective.groups[g].information(context, cand, diag=True)
        half = whiten(i21.T)
        var = i22 - np.einsum("qk,qk->k", half, half)
        ok = var > 1e-10 * np.maximum(i22, 1e-300)
        mi = np.where(ok, objective.n * d**2 / np.where(ok, var, 1.0), np.nan)
        epc = np.where(ok, -d / np.where(ok, var, 1.0), np.nan)
        with np.errstate(divide="ignore", invalid="ignore"):
            lhs, op, rhs, sepc_lv, sepc_all = _scale_epc(spec, mats, mat, row, col, epc)
        frames.append(
            pd.DataFrame(
                {
                    "lhs": lhs,
                    "op": op,
                    "rhs": rhs,
                    "group": g + 1,
                    "mi": mi,
                    "epc": epc,
                    "sepc_lv": sepc_lv,
                    "sepc_all": sepc_all,
                }
            )
        )
    if not frames:
        return pd.DataFrame(
            columns=["lhs", "op", "rhs", "group", "mi", "epc", "sepc_lv", "sepc_all"]
        )
    out = pd.concat(frames, ignore_index=True)
    return out[out["mi"].notna()].reset_index(drop=True)


def _scale_epc(spec: ModelSpec, mats, mat, row, col, epc):
    """Names of the candidates and their EPCs on the std.lv and std.all scales."""
    phi_d = np.diag(mats.phi)
    psi_d = np.diag(mats.psi)
    theta_d = np.diag(mats.theta)
    sigma_d = np.diag(mats.sigma)
    observed = np.array(spec.observed, dtype=object)
    latent = np.array(spec.latent, dtype=object)
    lam, beta, theta = mat == LAMBDA, mat == BETA, mat == THETA
    nu, alpha = mat == NU, mat == ALPHA
    psi = mat == PSI
    lhs = np.where(theta, observed[np.where(theta, col, 0)], latent[np.where(theta, 0, col)])
    lhs = np.where(nu, observed[np.where(nu, row, 0)], lhs)
    lhs = np.where(alpha, latent[np.where(alpha, row, 0)], lhs)
    between = lam | theta
    rhs = np.where(
        between, observed[np.where(between, row, 0)], latent[np.where(beta | psi, row, 0)]
    )
    rhs = np.where(nu | alpha, "", rhs)
    op = np.where(lam | beta, "=~", np.where(nu | alpha, "~1", "~~"))
    # A B entry is a regression 'row ~ col' unless the model has it as a higher-order loading.
    t = spec.table
    loading = {
        (r_, c_)
        for r_, c_, o, m_ in zip(t.row, t.col, t.op, t.matrix, strict=True)
        if o == "=~" and m_ == BETA
    }
    regression = beta & np.array(
        [(r_, c_) not in loading for r_, c_ in zip(row, col, strict=True)], dtype=bool
    )
    if regression.any():
        lhs = np.where(regression, latent[np.where(regression, row, 0)], lhs)
        rhs = np.where(regression, latent[np.where(regression, col, 0)], rhs)
        op = np.where(regression, "~", op)
    r, c = row, col
    sepc_lv = epc.copy()
    sepc_all = epc.copy()
    sepc_lv[lam] = epc[lam] * np.sqrt(phi_d[c[lam]])
    sepc_all[lam] = sepc_lv[lam] / np.sqrt(sigma_d[r[lam]])
    sepc_lv[beta] = sepc_all[beta] = epc[beta] * np.sqrt(phi_d[c[beta]] / phi_d[r[beta]])
    if spec.phantoms:  # std.lv leaves observed variables unscaled
        lv_d = phi_d.copy()
        lv_d[[lv for _, lv in spec.phantoms]] = 1.0
        sepc_lv[beta] = epc[beta] * np.sqrt(lv_d[c[beta]] / lv_d[r[beta]])
    var = theta & (r == c)
    cov = theta & (r != c)
    sepc_all[var] = epc[var] / sigma_d[r[var]]
    sepc_all[cov] = epc[cov] / np.sqrt(theta_d[r[cov]] * theta_d[c[cov]])
    scale = np.where(
        r == c,
        phi_d[np.where(psi, r, 0)],
        np.sqrt(psi_d[np.where(psi, r, 0)] * psi_d[np.where(psi, c, 0)]),
    )
    sepc_lv[psi] = sepc_all[psi] = epc[psi] / scale[psi]
    sepc_all[nu] = epc[nu] / np.sqrt(sigma_d[r[nu]])
    sepc_lv[alpha] = sepc_all[alpha] = epc[alpha] / np.sqrt(phi_d[r[alpha]])
    return list(lhs), list(op), list(rhs), sepc_lv, sepc_all
