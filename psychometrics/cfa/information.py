"""Expected (Fisher) information of the normal-theory ML discrepancy function.

For parameters k, l of a covariance/mean structure, the expected information per observation is

    I_kl = 1/2 tr(Sigma^-1 dSigma_k Sigma^-1 dSigma_l) + dmu_k' Sigma^-1 dmu_l

(e.g. Bollen, 1989, *Structural Equations with Latent Variables*, ch. 4,
https://doi.org/10.1002/9781118619179). Every CFA parameter changes Sigma by a symmetric rank-two
term dSigma_k = s_k (u_k v_k' + v_k u_k') (:func:`psychometrics.cfa.model.derivative_vectors`),
which turns the trace into

    I_kl = s_k s_l [(u_k' S v_l)(v_k' S u_l) + (u_k' S u_l)(v_k' S v_l)] + w_k' S w_l,  S = Sigma^-1

so the whole matrix costs a few (p x K) matrix products instead of the Kronecker-sized
Delta' (Sigma^-1 (x) Sigma^-1) Delta.
"""

from __future__ import annotations

import numpy as np
from scipy import sparse

__all__ = [
    "Indexed",
    "Vectors",
    "indexed_information",
    "indexed_information_diag",
    "quad_diag",
    "rank2_information",
    "rank2_information_diag",
]

Vectors = tuple  # (U, V, s, W): sparse p x K, sparse p x K, K-vector, sparse p x K or None


def _times(mat: np.ndarray, vectors) -> np.ndarray:
    """mat @ vectors for a symmetric dense ``mat`` and sparse or dense ``vectors``."""
    if sparse.issparse(vectors):
        return np.asarray((vectors.T @ mat).T)
    return mat @ vectors


def quad_diag(u, mat: np.ndarray, v) -> np.ndarray:
    """diag(U' mat V) for sparse or dense U, V (mat symmetric)."""
    if sparse.issparse(u):
        return np.asarray(u.multiply(_times(mat, v)).sum(axis=0)).ravel()
    return np.einsum("ik,ik->k", u, mat @ v)


def rank2_information(sinv: np.ndarray, a: Vectors, b: Vectors) -> np.ndarray:
    """Information block between the entries described by ``a`` and ``b`` (K_a x K_b)."""
    u1, v1, s1, w1 = a
    u2, v2, s2, w2 = b
    su2 = _times(sinv, u2)
    sv2 = _times(sinv, v2)
    out = np.asarray(u1.T @ su2) * np.asarray(v1.T @ sv2)
    out += np.asarray(u1.T @ sv2) * np.asarray(v1.T @ su2)
    out *= np.outer(s1, s2)
    if w1 is not None and w2 is not None:
        out += np.asarray(w1.T @ _times(sinv, w2))
    return out


def rank2_information_diag(sinv: np.ndarray, a: Vectors) -> np.ndarray:
    """Diagonal of ``rank2_information(sinv, a, a)``."""
    u, v, s, w = a
    uv = quad_diag(u, sinv, v)
    out = s * s * (uv * uv + quad_diag(u, sinv, u) * quad_diag(v, sinv, v))
    if w is not None:
        out += quad_diag(w, sinv, w)
    return out


# --------------------------------------------------------------------------------------------
# Index form for complete data
# --------------------------------------------------------------------------------------------
#
# In a CFA every u_k, v_k and w_k is (a multiple of) a column of the p x B basis
# E = [I_p | Lambda Phi | Lambda (I - B)^-1] (see :func:`psychometrics.cfa.model.derivative_index`),
# so every product u_k' S v_l is an entry of the small B x B Gram matrix G = E' S E and the
# information is assembled by gathering entries of G:
#
#     I_kl = s_k s_l [G(a_k, b_l) G(b_k, a_l) + G(a_k, a_l) G(b_k, b_l)] + c_k c_l G(w_k, w_l).


class Indexed:
    """Derivatives of (Sigma, mu) as column indices into a basis ``E`` (p x B).

    dSigma/dk = s_k (E[:, a_k] E[:, b_k]' + E[:, b_k] E[:, a_k]'), dmu/dk = c_k E[:, w_k];
    ``c`` is ``None`` without a mean structure.
    """

    __slots__ = ("a", "b", "basis", "c", "s", "w")

    def __init__(
        self,
        basis: np.ndarray,
        a: np.ndarray,
        b: np.ndarray,
        s: np.ndarray,
        w: np.ndarray,
        c: np.ndarray | None,
    ):
        self.basis, self.a, self.b, self.s, self.w, self.c = basis, a, b, s, w, c

    def gram(self, mat: np.ndarray) -> np.ndarray:
        return self.basis.T @ mat @ self.basis

    def derivative(self, grad_sigma: np.ndarray, grad_mu: np.ndarray | None) -> np.ndarray:
        """dF/dk for every entry from dF/dSigma (symmetric form) and dF/dmu."""
        out = 2.0 * self.s * self.gram(grad_sigma)[self.a, self.b]
        if self.c is not None and grad_mu is not None:
            out += self.c * (self.basis.T @ grad_mu)[self.w]
        return out


def indexed_information(
    sinv: np.ndarray, x: Indexed, y: Indexed | None = None, gram: np.ndarray | None = None
) -> np.ndarray:
    """Information block between the entries described by ``x`` and ``y`` (same basis)."""
    y = x if y is None else y
    g = x.gram(sinv) if gram is None else gram
    # Gather the (few) columns of y first, then rows: contiguous and several times faster
    # than gathering rows of G for every entry of x.
    gya = np.ascontiguousarray(g[:, y.a])
    gyb = g[:, y.b] * y.s  # the scale of y's entries folded into the gathered columns
    out = gyb[x.a] * gya[x.b]
    out += gya[x.a] * gyb[x.b]
    if np.any(x.s != 1.0):
        out *= x.s[:, None]
    if x.c is not None and y.c is not None:
        out += np.outer(x.c, y.c) * g[np.ix_(x.w, y.w)]
    return out


def indexed_information_diag(
    sinv: np.ndarray, x: Indexed, gram: np.ndarray | None = None
) -> np.ndarray:
    g = x.gram(sinv) if gram is None else gram
    gab = g[x.a, x.b]
    out = x.s * x.s * (gab * gab + g[x.a, x.a] * g[x.b, x.b])
    if x.c is not None:
        out += x.c * x.c * g[x.w, x.w]
    return out
