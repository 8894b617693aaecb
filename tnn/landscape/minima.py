r"""Curvature of topo's 1D loss per parameter block: :func:`block_hessian`, :func:`block_spectra`.

The eigenvalues of each diagonal block of the Hessian (blocks :data:`tnn.landscape.chain.BLOCKS`, in
``ravel_pytree`` order) and the extremes of the full spectrum, at one point of the landscape.

The run over random initializations (:func:`~tnn.study.minima.minima_analysis`, with
:func:`~tnn.study.minima.plot_neb` and :func:`~tnn.study.minima.write_minima`) trains, draws and
writes: it moved to :mod:`tnn.study.minima` (issue 21); the old names here still work for one
version, with a ``DeprecationWarning``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tnn._moved import moved_names
from tnn.landscape.chain import block_masks
from tnn.landscape.curvature import hessian

__all__ = ["block_hessian", "block_spectra"]

__getattr__ = moved_names(__name__, dict.fromkeys(("LOG_TAU_GRID", "minima_analysis", "plot_neb", "write_minima"),
                                                  "tnn.study.minima"))


def block_spectra(H, masks) -> dict[str, Any]:
    """Block and full eigenvalues of a Hessian ``H`` ``(P, P)`` (symmetrized), ``masks``
    ``{block: (P,) bool}`` (:func:`tnn.landscape.chain.block_masks`). Output as :func:`block_hessian`."""
    Hm = np.asarray(H, np.float64)
    Hm = 0.5 * (Hm + Hm.T)
    full = np.linalg.eigvalsh(Hm)
    tol = 1e-8 * np.abs(full).max()
    blocks = {b: np.linalg.eigvalsh(Hm[np.ix_(m, m)]).tolist() for b, m in masks.items()}
    return {"blocks": blocks, "full": {"min": float(full[0]), "max": float(full[-1]),
                                       "n_negative": int(np.sum(full < -tol)), "eigenvalues": full.tolist()}}


def block_hessian(loss, params) -> dict[str, Any]:
    """Eigenvalues of the Hessian of ``loss`` at chain topo ``params``, per parameter block.

    The scaling symmetries are not isometries, so the spectrum depends on the point of the orbit:
    compare points in one gauge (e.g. canonical forms, :func:`tnn.landscape.symmetry.canonicalize`).

    Returns:
      dict: ``blocks``: ``{block: ascending eigenvalues of its diagonal block}`` (lists), ``full``:
      the full spectrum's ``min``, ``max``, ``n_negative`` (below ``-1e-8 max|lambda|``) and the
      ascending eigenvalues ``eigenvalues`` ``(P,)``.
    """
    return block_spectra(hessian(loss, params), block_masks(params))
