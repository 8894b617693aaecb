r"""Masks and cuts whose width is swept in units of the correlation length ``xi``.

A network that reads the bulk invariant keeps its accuracy when the edges are hidden or cut away;
one that reads the edge modes loses it once the hidden width passes the modes' extent, a few ``xi``
(the zero modes decay as ``exp(-n / xi)``; for a clean chain ``xi`` is :func:`tnn.study.probes.ssh_xi`).
For each fraction ``f`` (default ``0, 0.5, 1, 2, 3``) sample ``i`` gets the width
``c_i = ceil(f * xi_i)`` cells at each end, capped so that ``min_cells`` cells stay:

* :func:`mask_sweep` -- the inputs on those cells are zeroed, every input kind in its own layout
  (:func:`mask_features`); the sample and its label are unchanged.
* :func:`cut_sweep` -- those cells are cut away: the inner ``L - 2 c_i`` cells become a shorter open
  chain with new edges and the same bulk, and every input kind is recomputed from the cut
  Hamiltonian (:func:`tnn.study.probes.common.input_features`). The label stays the sample's (a bulk
  property: the k-space or Lyapunov label does not depend on where the chain ends); the certified
  real-space winding of the cut chain is computed beside it and samples where it is certified and
  differs from the label are dropped (counted in ``changed``).

Each returns, per fraction, a set whose ``index`` says which samples of the unprobed set it holds,
so the comparison in :mod:`tnn.study.probes.paired` is paired sample by sample. Cut chains of different
lengths come in ``groups`` (one lattice each).
"""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np
import jax
import jax.numpy as jnp

from tnn import _checks, invariants
from tnn.data import features as _features
from tnn.lattice import Lattice, chain
from tnn.study.probes.common import check_chain, input_features
from tnn.systems import nearest_class

__all__ = ["FRACTIONS", "xi_cells", "mask_features", "mask_sweep", "cut_sweep", "certified_winding"]

#: the default widths, in units of xi
FRACTIONS = (0.0, 0.5, 1.0, 2.0, 3.0)


def _xi(xi, n: int) -> np.ndarray:
    a = np.asarray(xi, dtype=np.float64)
    if a.shape != (n,) or np.any(~(a > 0)):
        raise ValueError(f"Argument `xi` must be positive correlation lengths (cells) of shape ({n},), got shape "
                         f"{a.shape} with min {np.nanmin(a) if a.size else None}.")
    return a


def xi_cells(xi, fraction: float, lat: Lattice, min_cells: int = 8, step: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Widths ``ceil(fraction * xi)`` ``(n,)`` (cells at each end), rounded up to a multiple of ``step``
    cells and capped at ``(L - min_cells) // 2``; returns ``(cells, capped)`` with ``capped`` the
    samples whose width the cap cut short."""
    fraction = _checks.check_real("fraction", fraction, 0)
    cap = (lat.n_cells - _checks.check_int("min_cells", min_cells, 2, lat.n_cells)) // 2
    step = _checks.check_int("step", step, 1)
    want = np.ceil(fraction * np.asarray(xi, dtype=np.float64) - 1e-12).astype(np.int64)
    want = -(-want // step) * step
    want = np.where(np.isfinite(xi), want, cap)
    return np.minimum(want, cap), want > cap


def mask_features(features: Mapping[str, Any], lat: Lattice, cells) -> dict[str, np.ndarray]:
    r"""Zero every input on the ``cells`` cells at each end (an int, or ``(n,)`` per sample).

    Each feature by its shape kind (:data:`tnn.data.features.FEATURE_KINDS`): matrices
    (``hamiltonian`` ``(n, N, N)``): rows and columns, of sites, or of cells for a chain's ``(n, L, L)``
    chiral block (``projector``: the edge cells' rows (A) and columns (B)); eigenvectors and site
    arrays (``wavefunctions`` ``(n, N, N)``, ``density`` ``(n, N, N)``, ``edge_modes`` ``(n, N, k)``):
    rows (sites); cell tables (``hoppings`` ``(n, R + 2, L)``): columns (cells); ``energies``: unchanged."""
    lat = check_chain(lat)
    n = len(next(iter(features.values())))
    c = np.broadcast_to(np.asarray(cells, dtype=np.int64), (n,))
    cell = np.arange(lat.n_cells)
    keep_cell = (cell[None, :] >= c[:, None]) & (cell[None, :] < lat.n_cells - c[:, None])  # (n, L)
    keep_site = np.repeat(keep_cell, lat.n_orb, axis=1)  # (n, N)
    out = {}
    reg = _features.registry()
    for k, v in features.items():
        v = np.asarray(v)
        kind = reg[k].kind if k in reg else None
        if k == "energies":
            out[k] = v
        elif kind == "matrix" and v.shape[-1] == lat.n_sites:
            out[k] = v * keep_site[:, :, None] * keep_site[:, None, :]
        elif kind == "matrix":
            out[k] = v * keep_cell[:, :, None] * keep_cell[:, None, :]
        elif kind in ("eigenvectors", "sites"):
            out[k] = v * keep_site[:, :, None]
        elif kind == "cells":
            out[k] = v * keep_cell[:, None, :]
        else:
            raise ValueError(f"Argument `features` holds {k!r}, which the masks do not know.")
    return out


def mask_sweep(features: Mapping[str, Any], y, lat: Lattice, xi, fractions=FRACTIONS, min_cells: int = 8) -> dict:
    """Masked sets per fraction: ``{f: {"x", "y", "index", "lat", "cells", "capped"}}``; ``x`` holds the
    masked ``features`` (every input kind given), ``y`` the unchanged labels."""
    lat = check_chain(lat)
    y = np.asarray(y, dtype=np.float64)
    xi = _xi(xi, len(y))
    out = {}
    for f in _checks.check_reals("fractions", fractions, 0, min_length=1):
        cells, capped = xi_cells(xi, f, lat, min_cells)
        out[f] = {"x": mask_features(features, lat, cells), "y": y, "index": np.arange(len(y)), "lat": lat,
                  "cells": cells, "capped": int(capped.sum())}
    return out


def certified_winding(H, lat: Lattice, method: str = "polar") -> np.ndarray:
    """Certified real-space winding numbers ``(n,)`` of ``H`` ``(n, 2L, 2L)`` (NaN where not certified,
    :mod:`tnn.validity`); ``method="eigh"`` for chains that break chiral symmetry."""
    H = jnp.asarray(H)
    return np.asarray(jax.vmap(lambda h: invariants.winding_number(h, lat, method=method))(H))


def cut_sweep(H, y, lat: Lattice, xi, names, fractions=FRACTIONS, ranges=None, min_cells: int = 8,
              certify: bool = True, step: int = 1) -> dict:
    r"""Cut sets per fraction: the inner ``L - 2 c_i`` cells of each open chain ``H`` ``(n, 2L, 2L)``.

    Args:
      H: open chain Hamiltonians. y: labels ``(n,)``. lat: their open chain. xi: ``(n,)`` cells.
      names: the inputs to recompute (:data:`tnn.study.probes.common.INPUT_KINDS`).
      fractions: widths in units of ``xi``. ranges: needed for ``hoppings``.
      min_cells: cells that stay at least.
      certify: compute the certified winding of the cut chains and drop those that changed (one
        compilation per cut length; ``False`` keeps every sample with its label).
      step: widths rounded up to a multiple of ``step`` cells (:func:`xi_cells`): fewer distinct cut
        lengths, each one lattice and one compilation of every model that reads it.

    Returns ``{f: {"groups": [{"x", "y", "index", "lat"}, ...] (one per cut length), "index" (kept
    samples), "cells", "capped", "changed"}}``.
    """
    lat = check_chain(lat)
    if lat.pbc:
        raise ValueError("Argument `lat` must be an open chain (a periodic chain has no edge to cut).")
    H = np.asarray(H)
    y = np.asarray(y, dtype=np.float64)
    xi = _xi(xi, len(y))
    out = {}
    for f in _checks.check_reals("fractions", fractions, 0, min_length=1):
        cells, capped = xi_cells(xi, f, lat, min_cells, step)
        groups, kept, changed = [], [], 0
        for c in np.unique(cells):
            idx = np.nonzero(cells == c)[0]
            sub = chain(lat.n_cells - 2 * int(c), pbc=False)
            Hc = H[idx][:, 2 * c : lat.n_sites - 2 * c, 2 * c : lat.n_sites - 2 * c]
            w = certified_winding(Hc, sub) if (c > 0 and certify) else np.full(len(idx), np.nan)
            cls, fin = nearest_class(np.asarray(w))
            ok = ~(fin & (cls != y[idx]))
            changed += int((~ok).sum())
            idx, Hc = idx[ok], Hc[ok]
            if len(idx):
                groups.append({"x": input_features(Hc, sub, names, ranges), "y": y[idx], "index": idx, "lat": sub})
                kept.append(idx)
        out[f] = {"groups": groups, "index": np.sort(np.concatenate(kept)) if kept else np.zeros(0, int),
                  "cells": cells, "capped": int(capped.sum()), "changed": changed}
    return out
