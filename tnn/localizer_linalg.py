"""Linear algebra of the spectral localizer (:mod:`tnn.localizer`): the norms and gaps it needs of
``H``, and the signature routes (dense ``eigvalsh``; sparse ``LDL^T`` inertia with its a-priori
backward-error bound and a shift-invert gap). Eager NumPy/SciPy. Conventions: docs/conventions.md,
"Spectral localizer"."""

from __future__ import annotations

import numpy as np
import scipy.sparse
import scipy.sparse.linalg

__all__ = ["row_sum_bound", "nearest_eigenvalue", "hermitian_norms", "signature_dense", "real_embedding", "signature_ldl",
           "SMALL", "SMALL_NORM", "NORM_RESTARTS"]

SMALL = 600  # eigen-solves up to this size are dense (ARPACK needs k < n; LAPACK is faster there)
# Lanczos restarts for a norm before the row-sum bound replaces it: a clean chain's clustered band
# edges took ARPACK ~10^5 products (33 s at L = 2000); 2D samples converge in a few restarts.
NORM_RESTARTS = 50
SMALL_NORM = 160  # the norms of H and [X_d, H]: one stacked eigvalsh up to here, Lanczos above (2x faster at n = 128, 1.1-1.4x slower at 288)


def row_sum_bound(n: int, rows, vals) -> float:
    """``max_i sum_j |M_ij|``: an upper bound of ``||M||_2`` for a Hermitian or anti-Hermitian ``M``."""
    if len(vals) == 0:
        return 0.0
    return float(np.max(np.bincount(rows, weights=np.abs(vals), minlength=n)))


def nearest_eigenvalue(M, sigma: float) -> float:
    """``min |spec(M) - sigma|`` of a Hermitian ``M`` (dense ``eigvalsh``, or shift-invert Lanczos when
    sparse and large); 0 when ``M - sigma`` is exactly singular."""
    n = M.shape[0]
    if not scipy.sparse.issparse(M) or n <= SMALL:
        A = M.toarray() if scipy.sparse.issparse(M) else M
        return float(np.min(np.abs(np.linalg.eigvalsh(A) - sigma))) if n else 0.0
    v0 = np.random.default_rng(0).standard_normal(n).astype(M.dtype)
    try:
        ev = scipy.sparse.linalg.eigsh(M.tocsc(), k=1, sigma=sigma, which="LM", v0=v0, return_eigenvectors=False)
    except (RuntimeError, scipy.sparse.linalg.ArpackError):  # exactly singular: no gap
        return 0.0
    return float(np.min(np.abs(ev - sigma)))


def hermitian_norms(n: int, rows, cols, vals_list) -> list[float]:
    """``||M||_2`` of each Hermitian ``M`` with these entries (one value array per matrix, same pattern):
    up to ``SMALL_NORM`` one stacked dense ``eigvalsh`` (exact); above, Lanczos per matrix, or the row-sum
    bound (an upper bound: ``kappa_lsb`` only smaller) where Lanczos fails or takes more than
    ``NORM_RESTARTS`` restarts."""
    if len(rows) == 0:
        return [0.0 for _ in vals_list]
    if n <= SMALL_NORM:
        dtype = np.result_type(*[v.dtype for v in vals_list])
        A = np.zeros((len(vals_list), n, n), dtype=dtype)
        for k, v in enumerate(vals_list):
            A[k, rows, cols] = v
        return [float(v) for v in np.max(np.abs(np.linalg.eigvalsh(A)), axis=1)]
    out = []
    for vals in vals_list:
        M = scipy.sparse.csr_matrix((vals, (rows, cols)), shape=(n, n))
        try:
            v0 = np.random.default_rng(0).standard_normal(n).astype(M.dtype)
            ev = scipy.sparse.linalg.eigsh(M, k=1, which="LM", v0=v0, tol=1e-8, maxiter=NORM_RESTARTS,
                                           return_eigenvectors=False)
            out.append(float(np.max(np.abs(ev))))
        except scipy.sparse.linalg.ArpackError:  # ArpackNoConvergence included: the (upper) row-sum bound
            out.append(row_sum_bound(n, rows, vals))
    return out


def signature_dense(L):
    """``(signature, gap, ||L||)`` from ``eigvalsh``."""
    ev = np.linalg.eigvalsh(L)
    return int(np.sum(ev > 0) - np.sum(ev < 0)), float(np.min(np.abs(ev))), float(np.max(np.abs(ev)))


def real_embedding(L):
    """``[[Re L, -Im L], [Im L, Re L]]``: real symmetric, spectrum of ``L`` twice."""
    R, J = L.real, L.imag
    return scipy.sparse.bmat([[R, -J], [J, R]], format="csc")


def signature_ldl(L, solver_cls):
    """Sparse ``LDL^T`` (``solver_cls``: ``qdldl.Solver``) of ``L`` (csc). Returns ``(signature, gap, norm, factor_error,
    pivot_min)``; ``signature`` is None when the factorization broke down (a zero pivot), ``gap``
    None when Lanczos did not converge."""
    complex_L = np.iscomplexobj(L.data)
    S = real_embedding(L) if complex_L else scipy.sparse.csc_matrix(L)
    S.eliminate_zeros()
    n = S.shape[0]
    norm = float(np.max(np.asarray(abs(S).sum(axis=1)).ravel())) if S.nnz else 0.0
    try:
        solver = solver_cls(S)
    except (RuntimeError, ValueError):  # a zero pivot: no factorization without pivoting
        return None, None, norm, None, 0.0
    Lf, d, _ = solver.factors()
    pivot_min = float(np.min(np.abs(d))) if n else 0.0
    sig = int(np.sum(d > 0) - np.sum(d < 0))
    if complex_L:
        sig //= 2
    # A-priori backward error: the computed factors are exact for S + dS with
    # |dS| <= gamma_c |L||D||L|^T (entrywise); its 2-norm is at most the largest row sum. Entry (i, j)
    # of L D L^T sums l_ik d_k l_jk over the k where row i of L (unit diagonal included) is nonzero: a
    # product of three factors (two roundings) per term, the additions and one division. Structural zeros
    # are exact (0 * x = 0, s - 0 = s) and add no rounding, so c = (largest row count of L) + 3 replaces
    # Higham's n (Thm. 9.3 counts every term of a dense inner product); any c at least the true count is
    # a valid bound. On chains the factor is bidiagonal (c = 4): the bound no longer grows with N.
    u = np.finfo(np.float64).eps / 2
    # row counts from the CSC factor's row indices (no CSR copy of a factor of up to 10^7 entries)
    c = int(np.max(np.bincount(Lf.indices, minlength=n))) + 4 if n else 1  # + 1 unit diagonal, + 3 roundings
    gamma = c * u / (1 - c * u)
    Labs = abs(Lf)
    w = np.ones(n) + Labs.T @ np.ones(n)
    w = np.abs(d) * w
    w = w + Labs @ w
    factor_error = float(gamma * np.max(w)) if n else 0.0
    gap = None
    if n <= SMALL:
        gap = float(np.min(np.abs(np.linalg.eigvalsh(S.toarray()))))
    else:
        op = scipy.sparse.linalg.LinearOperator((n, n), matvec=solver.solve, dtype=np.float64)
        v0 = np.random.default_rng(0).standard_normal(n)
        try:
            ev = scipy.sparse.linalg.eigsh(S, k=1, sigma=0.0, which="LM", OPinv=op, v0=v0, return_eigenvectors=False)
            gap = float(np.min(np.abs(ev)))
        except scipy.sparse.linalg.ArpackError:
            gap = None
    return sig, gap, norm, factor_error, pivot_min
