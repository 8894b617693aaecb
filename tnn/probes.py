r"""Proxy probes: does a trained network read the bulk invariant, or a proxy such as the edge states?

An open topological SSH chain has zero-energy edge modes; a network can reach high accuracy by
detecting them instead of computing the bulk winding number. The probes below change the edges
and leave the bulk (hence the label) alone, or the other way round, and measure the accuracy:

* :func:`mask_edges` -- the inputs of the ``edge_cells`` cells at each end are zeroed (Hamiltonian
  rows and columns; eigenvector amplitudes on those sites);
* :func:`cut_edges` -- those cells are cut away: the inner ``L - 2 e`` cells as a shorter open chain
  (new edges, same bulk);
* :func:`periodic_versions` -- the same hoppings on a periodic chain: no edge, no edge states;
* :func:`edge_potential` / :func:`proxy_disagreeing` -- open chains with a local onsite potential
  (``+mu`` on the left edge cells, ``-mu`` on the right ones). It breaks chiral symmetry only there, so the bulk winding (the
  real-space winding number's bulk trace, ``method="eigh"``) is unchanged, while the edge modes
  leave zero energy (first-order shift ``mu`` times their weight on the edge cells; for ``|mu|``
  beyond the gap they merge with the bulk bands). A proxy "zero modes present" then says
  *trivial* while the label says *topological*.
* :func:`saliency` -- ``|d logit_true / d input|`` per cell, normalized per sample and averaged per
  class.

Features follow :mod:`tnn.data`: ``hamiltonian`` ``(B, N, N)``, ``energies`` ``(B, N)``,
``wavefunctions`` ``(B, N, N)`` (columns = eigenvectors, ascending, ``"overlap"`` gauge of
:func:`tnn.data.fix_gauge`); site ``2n`` is ``A_n``, ``2n + 1`` is ``B_n``. Labels are the rounded
real-space winding numbers (:func:`tnn.invariants.winding_number`), as in the datasets; samples
whose value is NaN (gapless) or not within ``0.1`` of an integer are dropped and counted.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

import numpy as np
import jax
import jax.numpy as jnp

from tnn import _checks, hamiltonians, invariants
from tnn.lattice import Lattice, chain

__all__ = [
    "edge_potential",
    "chain_features",
    "winding_labels",
    "mask_edges",
    "cut_edges",
    "periodic_versions",
    "proxy_disagreeing",
    "saliency",
    "params_fit",
    "run_probes",
    "write_probes",
]


def _check_chain(lat, name: str = "lat") -> Lattice:
    return _checks.lattice(lat, ("chain",), "the edge probes", name=name)


def _check_edge(lat: Lattice, edge_cells) -> int:
    return _checks.check_int("edge_cells", edge_cells, 1, (lat.n_cells - 1) // 2)


def _edge_sites(lat: Lattice, e: int) -> np.ndarray:
    cells = np.r_[np.arange(e), np.arange(lat.n_cells - e, lat.n_cells)]
    return (lat.n_orb * cells[:, None] + np.arange(lat.n_orb)[None, :]).ravel()


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
    lat = _check_chain(lat)
    if lat.pbc:
        raise ValueError("Argument `lat` must be an open chain (a periodic chain has no edge).")
    e = _check_edge(lat, edge_cells)
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
    lat = _check_chain(lat)
    return np.asarray(jax.vmap(lambda h: invariants.winding_number(h, lat, method=method))(jnp.asarray(H)))


def _clean(feats, w, classes):
    """Keep samples whose winding is within 0.1 of a class value; labels = that value."""
    w = np.asarray(w)
    r = np.round(np.nan_to_num(w, nan=1e9))
    ok = np.isfinite(w) & (np.abs(w - r) < 0.1) & np.isin(r, np.asarray(classes))
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
    both = np.isfinite(w0) & np.isfinite(w1)
    same = both & (np.round(np.nan_to_num(w0)) == np.round(np.nan_to_num(w1)))
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
    """Zero the inputs on the ``edge_cells`` cells at each end: rows and columns of
    ``hamiltonian``/``density``-like ``(B, N, N)`` matrices, rows (sites) of ``wavefunctions``;
    ``energies`` unchanged."""
    lat = _check_chain(lat)
    e = _check_edge(lat, edge_cells)
    keep = np.ones(lat.n_sites, bool)
    keep[_edge_sites(lat, e)] = False
    out = {}
    for k, v in features.items():
        v = np.asarray(v)
        if k == "hamiltonian":
            out[k] = v * keep[None, :, None] * keep[None, None, :]
        elif k == "wavefunctions":
            out[k] = v * keep[None, :, None]
        elif k == "energies":
            out[k] = v
        else:
            raise ValueError(f"Argument `features` holds {k!r}; mask_edges handles 'hamiltonian', 'energies', 'wavefunctions'.")
    return out


def cut_edges(features: Mapping[str, Any], y, lat: Lattice, edge_cells: int = 1, classes=None) -> dict[str, Any]:
    """The inner ``L - 2 e`` cells of each open chain (its Hamiltonian's inner block) as new open
    chains; features recomputed, labels = their rounded winding (samples that change are dropped)."""
    lat = _check_chain(lat)
    e = _check_edge(lat, edge_cells)
    if "hamiltonian" not in features:
        raise ValueError("Argument `features` must hold 'hamiltonian' to cut the chains.")
    H = np.asarray(features["hamiltonian"])[:, 2 * e : lat.n_sites - 2 * e, 2 * e : lat.n_sites - 2 * e]
    new = chain(lat.n_cells - 2 * e, pbc=False)
    w = winding_labels(H, new)
    y = np.asarray(y, dtype=np.float64)
    same = np.isfinite(w) & (np.round(np.nan_to_num(w)) == y)
    feats = {k: v[same] for k, v in chain_features(H).items()}
    return {"x": feats, "y": y[same], "lat": new, "dropped": int((~same).sum())}


def _site_axes(name: str):
    return {"hamiltonian": (0, 1), "wavefunctions": (0,), "density": (0,)}.get(name, ())


def saliency(model, params, features: Mapping[str, Any], y, batch_size: int = 64) -> dict[str, Any]:
    r"""Per-cell saliency ``|d logit_{true class} / d input|``, averaged per class.

    The gradient is taken with respect to the raw features (through ``model.prepare``); for each
    feature with site axes (``hamiltonian``: both axes, ``wavefunctions``: rows) the absolute
    gradient is summed onto the sites (a matrix entry ``(i, j)`` half to ``i``, half to ``j``), then
    onto cells, and normalized to sum 1 per sample. Classification models only.

    Returns: ``classes``, ``saliency`` ``(n_classes, n_cells)`` (NaN rows for absent classes),
    ``edge_fraction`` ``(n_classes,)`` (weight on the first and last cell), ``counts``.
    """
    from tnn.train import encode_labels

    if model.config.task != "classify":
        raise ValueError("Argument `model` must be a classifier (task='classify') for saliency.")
    lat = _check_chain(model.lattice, "model")
    names = [k for k in features if _site_axes(k)]
    if not names:
        raise ValueError(f"Argument `features` has no per-site feature (has {sorted(features)}).")
    idx = np.asarray(encode_labels(model.config, np.asarray(y)))
    N = lat.n_sites

    def logit(feat_one, c):
        out = model.apply(params, model.prepare(jax.tree_util.tree_map(lambda a: a[None], feat_one)))
        return out[0, c]

    grad = jax.jit(jax.vmap(jax.grad(logit), in_axes=(0, 0)))
    feats = {k: np.asarray(v) for k, v in features.items() if k in names or k == "energies"}
    n = len(idx)
    per = np.zeros((n, N))
    for s in range(0, n, batch_size):
        sl = slice(s, min(n, s + batch_size))
        g = grad({k: jnp.asarray(v[sl]) for k, v in feats.items()}, jnp.asarray(idx[sl]))
        for k in names:
            a = np.abs(np.asarray(g[k]))
            if _site_axes(k) == (0, 1):
                per[sl] += 0.5 * (a.sum(axis=2) + a.sum(axis=1))
            else:
                per[sl] += a.sum(axis=2)
    cell = per.reshape(n, lat.n_cells, lat.n_orb).sum(axis=2)
    cell = cell / np.maximum(cell.sum(axis=1, keepdims=True), np.finfo(float).tiny)
    classes = list(model.config.classes)
    sal = np.full((len(classes), lat.n_cells), np.nan)
    counts = np.zeros(len(classes), int)
    for c in range(len(classes)):
        m = idx == c
        counts[c] = int(m.sum())
        if m.any():
            sal[c] = cell[m].mean(axis=0)
    edge = sal[:, [0, -1]].sum(axis=1)
    return {"classes": classes, "saliency": sal, "edge_fraction": edge, "counts": counts,
            "edge_share": 2 / lat.n_cells}


def params_fit(model, params, x) -> bool:
    """Whether ``params`` have the shapes ``model`` expects on input ``x`` (features, leading sample
    axis): size-agnostic models fit every chain length, the MLP (fixed input size) only its own."""
    x1 = jax.tree_util.tree_map(lambda a: np.asarray(a)[:1], dict(x))
    want = model.init(jax.random.key(0), model.prepare(x1))
    return jax.tree_util.tree_structure(want) == jax.tree_util.tree_structure(params) and all(
        np.shape(w) == np.shape(p) for w, p in zip(jax.tree_util.tree_leaves(want), jax.tree_util.tree_leaves(params)))


def run_probes(model_config, params, test: Mapping[str, Any], *, edge_cells: int = 1, mu: float = 1.0,
               saliency_samples: int = 128, progress: bool = False) -> dict[str, Any]:
    """Accuracy of one member on the probe sets built from an open SSH test set.

    Args:
      model_config: the model's :class:`tnn.models.ModelConfig` (models are rebuilt per lattice).
      params: one member's parameters.
      test: ``{"x": features (hamiltonian, energies, wavefunctions), "y": labels, "t": hoppings
        (B, R), "ranges": ranges, "lat": open chain}``.

    Returns:
      dict: ``acc`` (probe -> accuracy or None where the model cannot read that lattice: the MLP on
      cut chains), ``n`` (probe -> samples), ``dropped``, ``saliency`` (:func:`saliency` on the
      first ``saliency_samples`` test samples) and the edge-potential set's zero-mode counts.
    """
    from tqdm.auto import tqdm

    from tnn.models import make_model
    from tnn.train import evaluate

    lat = _check_chain(test["lat"], "test")
    classes = model_config.classes
    sets = {"test": {"x": test["x"], "y": np.asarray(test["y"]), "lat": lat, "dropped": 0}}
    sets["edge_masked"] = {"x": mask_edges(test["x"], lat, edge_cells), "y": np.asarray(test["y"]), "lat": lat, "dropped": 0}
    sets["edge_cut"] = cut_edges(test["x"], test["y"], lat, edge_cells, classes)
    sets["periodic"] = periodic_versions(test["t"], lat.n_cells, test["ranges"], classes)
    sets["edge_potential"] = proxy_disagreeing(test["t"], lat.n_cells, test["ranges"], classes, mu, edge_cells)
    out: dict[str, Any] = {"acc": {}, "n": {}, "dropped": {}, "edge_cells": edge_cells, "mu": mu}
    base = make_model(model_config, lat)
    for name, s in tqdm(sets.items(), desc=f"probes {model_config.name}", disable=not progress):
        out["n"][name] = int(len(s["y"]))
        out["dropped"][name] = s["dropped"]
        m = base if s["lat"] == lat else make_model(model_config, s["lat"])
        if len(s["y"]) == 0:
            out["acc"][name] = None
            continue
        if m is not base and not params_fit(m, params, s["x"]):  # MLP on a cut chain: other input size
            out["acc"][name] = None
            continue
        out["acc"][name] = evaluate(m, params, (s["x"], s["y"]))["acc"]
    ep = sets["edge_potential"]
    out["zero_modes_before"] = float(np.mean(ep["zero_modes_before"]))
    out["zero_modes_after"] = float(np.mean(ep["zero_modes_after"]))
    k = min(saliency_samples, len(test["y"]))
    sx = {f: np.asarray(v)[:k] for f, v in test["x"].items()}
    out["saliency"] = saliency(base, params, sx, np.asarray(test["y"])[:k])
    return out


def write_probes(results: Mapping[str, dict], folder: str | Path, name: str = "probes") -> dict[str, Path]:
    """Write ``<folder>/<name>.json`` and ``<folder>/<name>.png`` (accuracy per probe and model;
    saliency per cell and class) for ``results``: model -> :func:`run_probes`."""
    from tnn import results as tres
    from tnn._plots import pyplot, save_figure

    plt = pyplot()
    folder = Path(folder)
    jpath = tres.write_json(folder / f"{name}.json", dict(results))
    models = list(results)
    probes = list(next(iter(results.values()))["acc"]) if results else []
    fig, ax = plt.subplots(1, 1 + len(models), figsize=(5 + 3.5 * len(models), 3.6))
    ax = np.atleast_1d(ax)
    width = 0.8 / max(1, len(models))
    for i, m in enumerate(models):
        accs = [np.nan if results[m]["acc"][p] is None else results[m]["acc"][p] for p in probes]
        ax[0].bar(np.arange(len(probes)) + i * width, accs, width, label=m)
    ax[0].set_xticks(np.arange(len(probes)) + 0.4 - width / 2, probes, rotation=30, fontsize=7)
    ax[0].set_ylabel("accuracy")
    ax[0].legend(fontsize=7)
    for i, m in enumerate(models):
        s = results[m]["saliency"]
        for c, row in zip(s["classes"], np.asarray(s["saliency"], dtype=float)):
            ax[1 + i].plot(row, "o-", ms=2, label=f"W = {c}")
        ax[1 + i].set_title(m, fontsize=8)
        ax[1 + i].set_xlabel("cell")
        ax[1 + i].legend(fontsize=6)
    ax[1].set_ylabel("saliency (per-sample normalized)")
    fig.tight_layout()
    return {"json": jpath, "figure": save_figure(fig, folder / f"{name}.png")}
