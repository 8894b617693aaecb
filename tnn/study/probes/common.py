r"""What every probe shares: argument checks, edge sites, the correlation length of a clean chain,
the inputs of any chain Hamiltonian (every kind a model reads) and per-sample correctness.

Site ``2n`` is ``A_n``, ``2n + 1`` is ``B_n`` (docs/conventions.md); every array carries a leading
sample axis ``n``.
"""

from __future__ import annotations

import functools
from typing import Any, Mapping

import numpy as np
import jax
import jax.numpy as jnp

from tnn import _checks
from tnn.precision import require_x64
from tnn.data import fix_gauge
from tnn.data.exact import chain_root_rates
from tnn.data import features as _features
from tnn.data.features import eigen_features
from tnn.lattice import Lattice, check_lattice

__all__ = [
    "check_chain",
    "check_edge",
    "edge_sites",
    "ssh_xi",
    "INPUT_KINDS",
    "input_features",
    "correct",
]

#: evaluation batch of :func:`correct` (sets are padded to a multiple of it)
CORRECT_BATCH = 64


def _recomputable(f) -> bool:
    """Whether a probe can recompute the feature ``f`` from a chain Hamiltonian alone."""
    return f.source in ("hamiltonian", "eigensystem") or f.from_hamiltonian is not None


#: the features of chain systems (tnn.data.features) that a probe recomputes from any chain Hamiltonian
#: (from ``H``, its eigensystem, or the system's ``Feature.from_hamiltonian``), in the registry's order
_CHAIN_FEATURES = tuple(n for n, f in _features.registry().items() if "chain" in _features.lattices(n) and _recomputable(f))
#: every input a probe can recompute for a chain: those features, ``energies`` (which comes with every
#: eigen feature) after the Hamiltonian
INPUT_KINDS = ("hamiltonian", "energies") + tuple(n for n in _CHAIN_FEATURES if n != "hamiltonian")


def check_chain(lat, name: str = "lat") -> Lattice:
    return check_lattice(lat, ("chain",), "the edge probes", name=name)


def check_edge(lat: Lattice, edge_cells) -> int:
    return _checks.check_int("edge_cells", edge_cells, 1, (lat.n_cells - 1) // 2)


def edge_sites(lat: Lattice, e: int) -> np.ndarray:
    """Sites of the ``e`` cells at each end of a chain, ``(4 e,)``."""
    cells = np.r_[np.arange(e), np.arange(lat.n_cells - e, lat.n_cells)]
    return (lat.n_orb * cells[:, None] + np.arange(lat.n_orb)[None, :]).ravel()


def ssh_xi(t, ranges=(0, 1)):
    r"""Correlation length (cells) of a clean chain: ``xi = 1 / min_k |ln|z_k||`` over the nonzero
    roots ``z_k`` of ``q(z) = sum_r t_r z^r`` (docs/conventions.md, "Exact labels"). The zero modes
    and the Fermi projector of the chain decay as ``|z_k|^n`` (standard SSH: ``xi = 1 / |ln(v / w)|``).

    Args:
      t: hoppings ``(R,)`` or ``(n, R)`` (ranges order).
      ranges: the ranges of ``t``.

    Returns a float, or ``(n,)``; ``inf`` where a root lies on the unit circle (gapless); about 0 for a
    single hopping (perfectly dimerized: no nonzero root).
    """
    ranges = _checks.check_ints("ranges", ranges, min_length=1, distinct=True)
    t = np.asarray(t, dtype=np.float64)
    if t.shape[-1:] != (len(ranges),) or t.ndim not in (1, 2):
        raise ValueError(f"Argument `t` must have shape ({len(ranges)},) or (n, {len(ranges)}), but has shape {t.shape}.")
    # the same roots as the clean limit of the exact labels' Lyapunov exponents (tnn.data.exact)
    require_x64("tnn.study.probes.ssh_xi")
    rates = np.asarray(jax.vmap(lambda c: chain_root_rates(c, ranges))(jnp.asarray(np.atleast_2d(t))))
    m = np.min(np.abs(rates), axis=1)  # zero roots (ln|z| = -inf) never decide
    with np.errstate(divide="ignore"):
        out = np.where(m == 0, np.inf, 1.0 / m)
    return float(out[0]) if t.ndim == 1 else out


@functools.lru_cache(maxsize=None)
def _eigen_fn(names: tuple, gauge: str):
    """One compiled call (per shape) for the eigen features ``names`` of a batch."""

    def one(H):
        E, V = jnp.linalg.eigh(H)
        out = {"energies": E, **eigen_features(names, E, V, True)}
        if "wavefunctions" in names:
            out["wavefunctions"] = fix_gauge(V, gauge)
        return out

    return jax.jit(jax.vmap(one))


@functools.lru_cache(maxsize=32)
def _apply_fn(model):
    return jax.jit(lambda p, x: model.apply(p, model.prepare(x)))


def input_features(H, lat: Lattice, names, ranges=None, gauge: str = "overlap") -> dict[str, np.ndarray]:
    r"""The inputs ``names`` (any of :data:`INPUT_KINDS`) of chain Hamiltonians ``H`` ``(n, 2L, 2L)``,
    computed as :mod:`tnn.data` stores them (one ``eigh`` per sample; ``density``, ``edge_modes`` and
    ``projector`` are gauge invariant, :mod:`tnn.data.features`). ``hoppings`` needs ``ranges``.
    Returns NumPy arrays with the leading sample axis; ``energies`` whenever an eigen feature is asked."""
    lat = check_chain(lat)
    names = tuple(names)
    bad = [k for k in names if k not in INPUT_KINDS]
    if bad:
        raise ValueError(f"Argument `names` has unknown inputs {bad}; known: {INPUT_KINDS}.")
    H = jnp.asarray(H)
    if H.ndim != 3 or H.shape[1:] != (lat.n_sites, lat.n_sites):
        raise ValueError(f"Argument `H` must have shape (n, {lat.n_sites}, {lat.n_sites}), but has shape {H.shape}.")
    out: dict[str, Any] = {}
    reg = _features.registry()
    if "hamiltonian" in names:
        out["hamiltonian"] = np.asarray(H)
    for k in names:
        read = reg[k].from_hamiltonian if k in reg else None
        if read is not None:  # a system's own feature, read back from H (SSH hoppings)
            if ranges is None:
                raise ValueError(f"Argument `ranges` must be given for the {k!r} input.")
            out[k] = np.asarray(jax.vmap(lambda h: read(h, lat, ranges))(H))
    eig = tuple(k for k in names if k == "energies" or (k in reg and reg[k].source == "eigensystem"))
    if eig:
        n = H.shape[0]
        Hp = jnp.concatenate([H, jnp.repeat(H[:1], -n % CORRECT_BATCH, axis=0)])  # one compiled shape per size
        out.update({k: np.asarray(v)[:n] for k, v in _eigen_fn(eig, gauge)(Hp).items()})
    return out


def correct(model, params, x: Mapping[str, Any], y) -> np.ndarray:
    """Per-sample correctness ``(n,)`` bool of one member: the predicted class value (``argmax`` of
    the logits; a regression output rounded to the nearest class value) equals ``y``."""
    y = np.asarray(y, dtype=np.float64)
    if len(y) == 0:
        return np.zeros(0, bool)
    # pad to a multiple of the batch: every set of a lattice runs with one compiled shape
    n = len(y)
    pad = -n % CORRECT_BATCH
    x = {k: np.concatenate([np.asarray(v), np.repeat(np.asarray(v)[:1], pad, axis=0)]) for k, v in x.items()}
    fn = _apply_fn(model)
    out = np.concatenate([np.asarray(fn(params, {k: v[s : s + CORRECT_BATCH] for k, v in x.items()}))
                          for s in range(0, n + pad, CORRECT_BATCH)])[:n]
    classes = np.asarray(model.config.classes, dtype=np.float64)
    if model.config.task == "classify":
        pred = classes[out.argmax(axis=1)]
    else:
        pred = classes[np.abs(out[:, :1] - classes[None, :]).argmin(axis=1)]
    return pred == y
