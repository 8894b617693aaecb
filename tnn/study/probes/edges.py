r"""Probes that move the edge modes and keep the bulk: an edge-potential sweep, and a "disagreeing"
set where the number of zero modes differs from what the winding number predicts.

An open chiral chain with winding ``W`` has ``|W|`` zero modes at each end (``2|W|`` in all). A
network that counts zero modes reproduces ``|W|`` on ordinary samples; it fails where the count and
the winding disagree. Two local changes make them disagree without touching the bulk:

* :func:`tnn.study.probes.edge_potential` (``+mu`` on the left ``edge_cells`` cells, ``-mu`` on the right
  ones) moves the zero modes of a topological chain to energies about ``+-mu`` times their weight on
  those cells (it breaks chiral symmetry there only); :func:`edge_potential_sweep` runs a grid of
  strengths and reports, per strength, the energy of the modes nearest zero and the certified bulk
  winding (``method="eigh"``: ``Q = sign(H)`` of the full ``H``), which must stay the label.
* :func:`dangling_edges` decouples the outermost sites ``A_0`` and ``B_{L-1}``: two exact zero modes
  on any chain, a trivial one included (chiral symmetry kept; the rest is an open chain that starts
  on ``B_0`` and ends on ``A_{L-1}``, whose winding is the same bulk winding).

:func:`disagreeing_set` applies the potential to samples with ``W != 0`` and the dangling sites to
``W = 0`` and keeps the samples whose zero-mode count (``|E| < zero_tol * max|E|``) then differs from
``2|W|``. Labels stay the samples' own; a sample whose certified real-space winding after the change
differs from its label is dropped (``changed``). Every set carries ``index`` into the unprobed set.
"""

from __future__ import annotations

import numpy as np
import jax.numpy as jnp

from tnn import _checks
from tnn.lattice import Lattice
from tnn.study.probes.common import check_chain, check_edge, input_features
from tnn.study.probes.sets import edge_potential
from tnn.study.probes.widths import certified_winding
from tnn.systems import nearest_class

__all__ = ["STRENGTHS", "ZERO_TOL", "zero_modes", "dangling_edges", "edge_potential_sweep", "disagreeing_set"]

#: the default strengths of the edge-potential sweep (units of the hoppings)
STRENGTHS = (0.0, 0.25, 0.5, 1.0, 2.0)
#: a state is a zero mode when ``|E| < ZERO_TOL * max|E|``
ZERO_TOL = 1e-3


def zero_modes(E, zero_tol: float = ZERO_TOL) -> np.ndarray:
    """Number of zero modes ``(n,)`` of spectra ``E`` ``(n, N)``: ``|E| < zero_tol * max|E|``."""
    E = np.abs(np.asarray(E))
    return (E < zero_tol * E.max(axis=1, keepdims=True)).sum(axis=1)


def dangling_edges(H, lat: Lattice):
    """``H`` ``(..., 2L, 2L)`` with every bond of ``A_0`` and of ``B_{L-1}`` removed (two decoupled
    sites: exact zero modes); the bulk is untouched and chiral symmetry kept."""
    lat = check_chain(lat)
    if lat.pbc:
        raise ValueError("Argument `lat` must be an open chain (a periodic chain has no edge).")
    keep = np.ones(lat.n_sites)
    keep[[0, lat.n_sites - 1]] = 0.0
    k = jnp.asarray(keep, dtype=jnp.real(jnp.asarray(H)).dtype)
    return jnp.asarray(H) * k[:, None] * k[None, :]


def _labels(y) -> np.ndarray:
    y = np.asarray(y, dtype=np.float64)
    if y.ndim != 1 or np.any(y != np.round(y)):
        raise ValueError(f"Argument `y` must be integer winding numbers of shape (n,), got shape {y.shape}.")
    return y


def _check(H, lat: Lattice, y):
    lat = check_chain(lat)
    if lat.pbc:
        raise ValueError("Argument `lat` must be an open chain (a periodic chain has no edge).")
    y = _labels(y)
    H = np.asarray(H)
    if H.shape != (len(y), lat.n_sites, lat.n_sites):
        raise ValueError(f"Argument `H` must have shape ({len(y)}, {lat.n_sites}, {lat.n_sites}), but has shape {H.shape}.")
    return H, lat, y


def edge_potential_sweep(H, y, lat: Lattice, names, strengths=STRENGTHS, edge_cells: int = 1, ranges=None,
                         zero_tol: float = ZERO_TOL) -> dict:
    r"""The open chains ``H`` ``(n, 2L, 2L)`` with the edge potential ``(+mu, -mu)`` for every ``mu`` in
    ``strengths``; every input ``names`` recomputed.

    Returns ``{mu: {"x", "y", "index", "lat", "changed", "winding" (n,), "edge_energy" (n,),
    "zero_modes" (n,)}}``: ``winding`` the certified bulk winding of the perturbed chains (NaN where
    not certified), ``edge_energy`` ``min |E|`` (the mode nearest zero: the edge modes of a
    topological chain), ``zero_modes`` their count; samples whose certified winding differs from
    ``y`` are dropped (``changed``).
    """
    H, lat, y = _check(H, lat, y)
    e = check_edge(lat, edge_cells)
    strengths = _checks.check_reals("strengths", strengths, min_length=1)
    out = {}
    for mu in strengths:
        Hp = np.asarray(edge_potential(jnp.asarray(H), lat, jnp.asarray([mu, -mu]), e))
        w = certified_winding(Hp, lat, method="eigh")
        cls, fin = nearest_class(np.asarray(w))
        ok = ~(fin & (cls != y))
        x = input_features(Hp, lat, tuple(names) + ("energies",), ranges)
        E = x["energies"]
        if "energies" not in names:
            x = {k: v for k, v in x.items() if k != "energies"}
        out[mu] = {"x": {k: v[ok] for k, v in x.items()}, "y": y[ok], "index": np.nonzero(ok)[0], "lat": lat,
                   "changed": int((~ok).sum()), "winding": w, "edge_energy": np.abs(E).min(axis=1),
                   "zero_modes": zero_modes(E, zero_tol)}
    return out


def disagreeing_set(H, y, lat: Lattice, names, mu: float = 1.0, edge_cells: int = 1, ranges=None,
                    zero_tol: float = ZERO_TOL) -> dict:
    r"""Samples whose zero-mode count differs from ``2|W|`` after a local edge change (module doc).

    Args:
      H: open chains ``(n, 2L, 2L)``; y: their winding labels ``(n,)``; lat: the open chain.
      names: the inputs to recompute. mu, edge_cells: the edge potential applied where ``y != 0``.
      ranges: for ``hoppings``. zero_tol: the zero-mode threshold (relative to ``max|E|``).

    Returns ``{"x", "y", "index", "lat", "kind" ("potential" | "dangling" per kept sample),
    "zero_modes_before", "zero_modes_after" (per kept sample), "changed", "agreeing"}``
    (``agreeing``: changed samples whose count still equals ``2|W|``, left out).
    """
    H, lat, y = _check(H, lat, y)
    e = check_edge(lat, edge_cells)
    mu = _checks.check_real("mu", mu)
    topo = y != 0
    Hp = np.where(topo[:, None, None], np.asarray(edge_potential(jnp.asarray(H), lat, jnp.asarray([mu, -mu]), e)),
                  np.asarray(dangling_edges(H, lat)))
    w = certified_winding(Hp, lat, method="eigh")
    cls, fin = nearest_class(np.asarray(w))
    same = ~(fin & (cls != y))
    x = input_features(Hp, lat, tuple(names) + ("energies",), ranges)
    z1 = zero_modes(x["energies"], zero_tol)
    z0 = zero_modes(input_features(H, lat, ("energies",))["energies"], zero_tol)
    disagree = z1 != 2 * np.abs(y)
    keep = same & disagree
    if "energies" not in names:
        x = {k: v for k, v in x.items() if k != "energies"}
    return {"x": {k: v[keep] for k, v in x.items()}, "y": y[keep], "index": np.nonzero(keep)[0], "lat": lat,
            "kind": np.where(topo, "potential", "dangling")[keep], "zero_modes_before": z0[keep],
            "zero_modes_after": z1[keep], "changed": int((~same).sum()), "agreeing": int((same & ~disagree).sum())}
