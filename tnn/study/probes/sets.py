r"""The fixed-width probe sets: does a trained network read the bulk invariant, or the edges?

An open topological SSH chain has zero-energy edge modes; a network can reach high accuracy by
detecting them instead of computing the bulk winding number. The sets below change the edges and
leave the bulk (hence the label) alone, or the other way round:

* :func:`mask_edges` -- the inputs of the ``edge_cells`` cells at each end are zeroed (every input
  kind in its own layout, :func:`tnn.study.probes.widths.mask_features`);
* :func:`cut_edges` -- those cells are cut away: the inner ``L - 2 e`` cells as a shorter open chain
  (new edges, same bulk);
* :func:`periodic_versions` -- the same hoppings on a periodic chain: no edge, no edge states;
* :func:`edge_potential` / :func:`proxy_disagreeing` -- open chains with a local onsite potential
  (``+mu`` on the left edge cells, ``-mu`` on the right ones). It breaks chiral symmetry only there,
  so the bulk winding (the real-space winding number's bulk trace, ``method="eigh"``) is unchanged,
  while the edge modes leave zero energy (first-order shift ``mu`` times their weight on the edge
  cells; for ``|mu|`` beyond the gap they merge with the bulk bands). A proxy "zero modes present"
  then says *trivial* while the label says *topological*.

Features follow :mod:`tnn.data`: ``hamiltonian`` ``(B, N, N)``, ``energies`` ``(B, N)``,
``wavefunctions`` ``(B, N, N)`` (columns = eigenvectors, ascending, ``"overlap"`` gauge of
:func:`tnn.data.fix_gauge`); site ``2n`` is ``A_n``, ``2n + 1`` is ``B_n``. Labels here are the rounded
real-space winding numbers (:func:`tnn.invariants.winding_number`); samples whose value is NaN
(gapless) or not within ``0.1`` of an integer are dropped and counted. The width-swept, paired
versions are in :mod:`tnn.study.probes.widths`, :mod:`tnn.study.probes.edges` and :mod:`tnn.study.probes.paired`.
"""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np
import jax
import jax.numpy as jnp

from tnn import hamiltonians, invariants
from tnn.lattice import Lattice, chain
from tnn.study.probes.common import check_chain, check_edge
from tnn.study.probes.widths import mask_features
from tnn.systems import nearest_class

__all__ = [
    "edge_potential",
    "chain_features",
    "winding_labels",
    "mask_edges",
    "cut_edges",
    "periodic_versions",
    "proxy_disagreeing",
]


def edge_potential(H, lat: Lattice, mu, edge_cells: int = 1):
    r"""``H + mu_left P_left + mu_right P_right``: an onsite potential on every site of the
    ``edge_cells`` cells at each end of an open chain.

    Args:
      H: ``(..., 2L, 2L)`` chain Hamiltonians (open ``lat``).
      lat: the open chain (static).
      mu: scalar (both ends) or ``(2,)`` (left, right); traced.
      edge_cells: cells at each end (static, ``1 <= e < L/2``).

    Returns:
      ``(..., 2L, 2L)``.
    """
    lat = check_chain(lat)
    if lat.pbc:
        raise ValueError("Argument `lat` must be an open chain (a periodic chain has no edge).")
    e = check_edge(lat, edge_cells)
    mu = jnp.asarray(mu)
    if mu.shape not in ((), (2,)):
        raise ValueError(f"Argument `mu` must be a scalar or (left, right) of shape (2,), but has shape {mu.shape}.")
    mu = jnp.broadcast_to(mu, (2,))
    N = lat.n_sites
    cell = np.arange(N) // lat.n_orb
    v = jnp.where(jnp.asarray(cell < e), mu[0], jnp.where(jnp.asarray(cell >= lat.n_cells - e), mu[1], 0.0))
    return H + jnp.diag(v.astype(H.dtype))


def chain_features(H, gauge: str = "overlap") -> dict[str, np.ndarray]:
    """``{"hamiltonian", "energies", "wavefunctions"}`` of a batch ``H`` ``(B, N, N)`` (NumPy)."""
    from tnn.data import fix_gauge

    H = jnp.asarray(H)
    E, V = jax.vmap(jnp.linalg.eigh)(H)
    V = jax.vmap(lambda v: fix_gauge(v, gauge))(V)
    return {"hamiltonian": np.asarray(H), "energies": np.asarray(E), "wavefunctions": np.asarray(V)}


def winding_labels(H, lat: Lattice, method: str = "polar"):
    """Real-space winding numbers ``(B,)`` of ``H`` ``(B, N, N)`` (:func:`tnn.invariants.winding_number`)."""
    lat = check_chain(lat)
    return np.asarray(jax.vmap(lambda h: invariants.winding_number(h, lat, method=method))(jnp.asarray(H)))


def _clean(feats, w, classes):
    """Keep samples whose winding is within 0.1 of a class value; labels = that value."""
    w = np.asarray(w)
    cls, fin = nearest_class(w)
    r = cls.astype(np.float64)
    ok = fin & (np.abs(np.where(fin, w, 0.0) - r) < 0.1) & np.isin(r, np.asarray(classes))
    return {k: v[ok] for k, v in feats.items()}, r[ok], int((~ok).sum())


def _hoppings_H(t, lat: Lattice, ranges):
    t = jnp.asarray(t)
    return jax.vmap(lambda ti: hamiltonians.ssh(ti, lat, ranges=tuple(ranges)))(t)


def periodic_versions(t, L: int, ranges, classes) -> dict[str, Any]:
    """Chains with hoppings ``t`` ``(B, R)`` (ranges ``ranges``) on a periodic ``chain(L)``.

    Returns ``{"x": features, "y": labels, "lat": lattice, "dropped": count}``."""
    lat = chain(int(L), pbc=True)
    H = _hoppings_H(t, lat, ranges)
    feats, y, dropped = _clean(chain_features(H), winding_labels(H, lat), classes)
    return {"x": feats, "y": y, "lat": lat, "dropped": dropped}


def proxy_disagreeing(t, L: int, ranges, classes, mu: float = 1.0, edge_cells: int = 1) -> dict[str, Any]:
    """Open chains (hoppings ``t`` ``(B, R)``) with the edge potential ``(+mu, -mu)`` on the
    (left, right) ``edge_cells`` (:func:`edge_potential`).

    Labels: the rounded bulk winding of the perturbed chain (``method="eigh"``); samples whose
    certified value changed from the unperturbed chain's are dropped (counted in ``changed``), and
    so are samples not certified before or after (:mod:`tnn.validity`; counted in ``invalid``). Also returns
    ``zero_modes_before`` / ``zero_modes_after``: per sample, the number of eigenvalues with
    ``|E| < 1e-3 * max|E|`` (the edge modes that a proxy would look for)."""
    lat = chain(int(L), pbc=False)
    H0 = _hoppings_H(t, lat, ranges)
    # Opposite signs at the two ends: one edge mode goes up, the other down, so half filling stays
    # in the bulk gap even when |mu| pushes them into the bands (the same sign at both ends would
    # put the Fermi level inside a band there: gapless, no label).
    H = edge_potential(H0, lat, jnp.asarray([mu, -mu]), edge_cells)
    w0 = winding_labels(H0, lat)
    w1 = winding_labels(H, lat, method="eigh")
    (c0, f0), (c1, f1) = nearest_class(np.asarray(w0)), nearest_class(np.asarray(w1))
    both = f0 & f1
    same = both & (c0 == c1)
    feats = chain_features(H)

    def zero_modes(Es):
        Es = np.asarray(Es)
        return (np.abs(Es) < 1e-3 * np.abs(Es).max(axis=1, keepdims=True)).sum(axis=1)

    z0 = zero_modes(np.linalg.eigvalsh(np.asarray(H0)))
    z1 = zero_modes(feats["energies"])
    feats = {k: v[same] for k, v in feats.items()}
    feats, y, dropped = _clean(feats, w1[same], classes)
    return {"x": feats, "y": y, "lat": lat, "dropped": dropped, "changed": int((both & ~same).sum()),
            "invalid": int((~both).sum()),
            "zero_modes_before": z0, "zero_modes_after": z1}


def mask_edges(features: Mapping[str, Any], lat: Lattice, edge_cells: int = 1) -> dict[str, np.ndarray]:
    """Zero the inputs on the ``edge_cells`` cells at each end (every input kind of
    :data:`tnn.study.probes.common.INPUT_KINDS` in its own layout: rows and columns of ``hamiltonian``,
    rows of ``wavefunctions``/``density``/``edge_modes``, the edge cells' rows and columns of the
    chain ``projector`` block, columns of ``hoppings``); ``energies`` unchanged."""
    lat = check_chain(lat)
    e = check_edge(lat, edge_cells)
    return mask_features(features, lat, e)


def cut_edges(features: Mapping[str, Any], y, lat: Lattice, edge_cells: int = 1, classes=None) -> dict[str, Any]:
    """The inner ``L - 2 e`` cells of each open chain (its Hamiltonian's inner block) as new open
    chains; features recomputed, labels = their rounded winding (samples that change are dropped)."""
    lat = check_chain(lat)
    e = check_edge(lat, edge_cells)
    if "hamiltonian" not in features:
        raise ValueError("Argument `features` must hold 'hamiltonian' to cut the chains.")
    H = np.asarray(features["hamiltonian"])[:, 2 * e : lat.n_sites - 2 * e, 2 * e : lat.n_sites - 2 * e]
    new = chain(lat.n_cells - 2 * e, pbc=False)
    w = winding_labels(H, new)
    y = np.asarray(y, dtype=np.float64)
    cls, fin = nearest_class(np.asarray(w))
    same = fin & (cls == y)
    feats = {k: v[same] for k, v in chain_features(H).items()}
    return {"x": feats, "y": y[same], "lat": new, "dropped": int((~same).sum())}


