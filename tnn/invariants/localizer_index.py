"""The spectral localizer's Chern index of a (possibly traced) 2D ``H``, for the certificates of the
Chern marker and the Kitaev formula (:func:`tnn.validity.certify`, ``localizer=``).

:mod:`tnn.localizer` is eager NumPy/SciPy. Here a concrete ``H`` is passed to it directly; a traced
one (under ``jit``, ``vmap``, ``shard_map``) through ``jax.pure_callback`` (``vmap``: one host call per
sample), on ``stop_gradient(H)``: the index is integer-valued and enters only the certificate. Both give
the same numbers. Returns ``(index, gap)`` as float arrays of ``H``'s real dtype, ``index`` NaN where the
localizer is not defined (its gap closed, ``H`` has no gap at the Fermi level near the centre, NaN in
``H``, ``H`` not Hermitian to :data:`tnn.validity.SYMMETRY_RTOL`). Conventions: ``docs/conventions.md``, "Spectral localizer" and "Certificates".
"""

from __future__ import annotations

import functools
import warnings

import numpy as np
import scipy.sparse
import jax
import jax.numpy as jnp

from tnn import _checks, localizer, validity
from tnn.lattice import Lattice

__all__ = ["chern_index", "SPARSE_FROM", "DROP_RTOL"]

#: from this many sites on, the sparse ``LDL^T`` route (measured faster from 10 x 10 QWZ, N = 200, on)
SPARSE_FROM = 200
#: entries of H below this times max|H| are left out of the sparse matrix (rounding noise; bounded above)
DROP_RTOL = 1e-12


def _host(H, lat: Lattice):
    H = np.asarray(H)
    dtype = np.finfo(H.dtype).dtype if np.issubdtype(H.dtype, np.inexact) else np.float64
    scale = np.max(np.abs(H)) if H.size else 0.0
    # NaN input, or a non-Hermitian traced H (its value is refused as symmetry_broken by the caller;
    # the eager localizer would raise): no index.
    if not np.all(np.isfinite(H)) or np.max(np.abs(H - np.conj(H.T))) > validity.SYMMETRY_RTOL * scale:
        return np.asarray(np.nan, dtype), np.asarray(np.nan, dtype)
    dropped = 0.0
    if H.shape[0] >= SPARSE_FROM:
        # An H rebuilt from its eigensystem (V diag(E) V^dagger: the *_from_eigh routes) has rounding
        # noise in every entry, which would make the sparse factorization dense (4.8 s instead of 0.07 s
        # at 20 x 20). Entries below DROP_RTOL * max|H| are dropped; their Frobenius norm bounds the
        # change of the localizer, so the index stands when it is below the gap (Weyl), and the gap
        # reported is the lower bound gap - dropped for the H given.
        small = np.abs(H) <= DROP_RTOL * scale
        dropped = float(np.sqrt(np.sum(np.abs(H[small]) ** 2)))
        M = scipy.sparse.csr_matrix(np.where(small, 0, H))
    else:
        M = H
    with warnings.catch_warnings():
        # A fallback of the sparse route to the dense one changes the cost, not the value.
        warnings.simplefilter("ignore", localizer.LocalizerWarning)
        index, cert = localizer.chern_number(M, lat, return_certificate=True)
    gap = np.nan if cert.gap is None else cert.gap - dropped
    ok = cert.ok and not (dropped > 0 and gap <= 0)  # the dropped noise could have closed the gap
    return np.asarray(index if ok else np.nan, dtype), np.asarray(gap, dtype)


def chern_index(H, lat: Lattice):
    """``(index, gap)`` of the localizer of ``H`` (``(N, N)``, static ``lat``: square or honeycomb, open
    or periodic) with the default ``kappa`` rule and centre point; see the module docstring."""
    real = jnp.finfo(jnp.asarray(H).dtype).dtype
    if _checks.is_concrete(H):
        index, gap = _host(np.asarray(H), lat)
        return jnp.asarray(index, real), jnp.asarray(gap, real)
    shape = jax.ShapeDtypeStruct((), real)
    return jax.pure_callback(functools.partial(_host, lat=lat), (shape, shape), jax.lax.stop_gradient(H),
                             vmap_method="sequential")
