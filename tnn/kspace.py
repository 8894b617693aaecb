r"""Bloch Hamiltonians and k-space invariants: the references every real-space result is tested on.

Bloch convention (``docs/conventions.md``): ``psi_k(R) = e^{i k.R} u_k``, so
``H(k) = sum_d e^{i k.d} H[R, R + d]`` with ``R, R + d`` cells and ``d`` the Cartesian cell
displacement. With this convention the plane-wave projection of a periodic real-space matrix from
:mod:`tnn.hamiltonians` equals :func:`bloch_hamiltonian` entry by entry.

* SSH family (orbital order A, B): ``H(k) = [[0, conj q], [q, 0]]``, ``q(k) = sum_i t_i e^{i r_i k}``.
  :func:`winding_number` counts the counter-clockwise turns of ``q`` as ``k: 0 -> 2 pi``.
* QWZ: ``H(k) = sin kx sx + sin ky sy + (m + cos kx + cos ky) sz``.
* Haldane: ``H_AB(k) = t1 sum_{off in {0, a1, a2}} e^{-i k.off}``,
  ``H_ss(k) = +-M + t2 sum_off e^{i nu(off, s) phi} e^{-i k.off}`` over the six NNN offsets.
* :func:`chern_number`: Fukui-Hatsugai-Suzuki lattice field strength for the occupied bands
  (``E < 0``, half filling) with the sign of ``C = (1/2 pi) int F_xy``, ``A = i <u|d_k u>``; the
  grid is trusted only while every plaquette's ``|flux| < FHS_FLUX_MAX`` (refined when eager, NaN
  under ``jit``).
* Gaps are band gaps at the Fermi level of half filling: the indirect gap
  ``min_k E_{occ+1} - max_k E_occ`` (``<= 0``: gapless or a metal). For the chiral SSH family it is
  ``2 min_k |q(k)|``, the direct gap at ``E = 0``.

Two flavours are provided: the public ``winding_number`` / ``chern_number`` called with concrete
numbers return a Python ``int`` and raise :class:`GaplessError` on a gapless model. Called inside
``jax.jit`` / ``jax.vmap`` (traced parameters) they cannot raise on a value, so they return a float
array instead: the integer invariant, or NaN where the model is gapless (same ``gap_tol`` rule).
The ``*_and_gap`` variants are jittable and vmappable everywhere and return
``(float invariant, gap)`` for sweeps and datasets.
"""

from __future__ import annotations

import numpy as np

from tnn import _checks, bloch, systems
from tnn.assembly import check_ranges
from tnn.bloch import (  # noqa: F401  (the machinery's public names, reachable here as before)
    FHS_FLUX_MAX,
    GaplessError,
    GridTooCoarseError,
    as_real,
    bz_grid,
    fhs_flux,
    phase,
    winding_number,
    winding_number_and_gap,
)

# The Bloch matrices (ssh_bloch, qwz_bloch, haldane_bloch, ...) live with their systems in
# tnn.systems; they are attributes of this module too (visible in dir()).
_BLOCH = {name: systems.lookup(name) for name in systems.public_names() if name.endswith(("_bloch", "_q"))}
globals().update(_BLOCH)

__all__ = [
    "GaplessError",
    "GridTooCoarseError",
    "FHS_FLUX_MAX",
    "as_real",
    "phase",
    "bloch_hamiltonian",
    "reciprocal_vectors",
    "winding_number",
    "winding_number_and_gap",
    "chern_number",
    "chern_number_and_gap",
    "bz_grid",
    "fhs_flux",
    *_BLOCH,
]


def __getattr__(name: str):
    if name.startswith("__"):
        raise AttributeError(f"module 'tnn.kspace' has no attribute {name!r}")
    # MODEL_PARAMS, and the Bloch matrices of a system added to the registry after this import.
    if name == "MODEL_PARAMS":
        return {n: s.params for n, s in systems.SYSTEMS.items()}
    if name.endswith(("_bloch", "_q")) and systems.lookup(name) is not None:
        return systems.lookup(name)
    raise AttributeError(f"module 'tnn.kspace' has no attribute {name!r}")


def reciprocal_vectors(model: str) -> np.ndarray:
    """Reciprocal vectors ``b_i`` (rows) with ``a_i . b_j = 2 pi delta_ij`` for ``model``'s lattice."""
    return np.array(systems.get(model).reciprocal)



def _check_params(model: str, params: dict, ranges=(0, 1)) -> dict:
    system = systems.get(model)
    if not isinstance(params, dict):
        raise ValueError(
            f"Argument `params` must be a dict keyed by {system.params}, got {type(params).__name__}."
        )
    want = set(system.params)
    if set(params) != want:
        raise ValueError(
            f"Argument `params` for model {model!r} must have exactly the keys {sorted(want)}, got {sorted(params)}."
        )
    ranges = check_ranges(ranges)
    return {
        name: _checks.as_param(f"params[{name!r}]", params[name], system.param_shape(name, ranges))
        for name in system.params
    }


def bloch_hamiltonian(model: str, params: dict, k, ranges=(0, 1)):
    """``H(k)`` of ``model`` with ``params`` keyed as the real-space builders' arguments.

    ``k``: scalar (chains) or ``(2,)`` Cartesian (2D systems). Returns ``(2, 2)`` complex.
    """
    p = _check_params(model, params, ranges)
    system = systems.get(model)
    k = _checks.as_param("k", k, () if system.ndim == 1 else (system.ndim,))
    return system.bloch(p, k, check_ranges(ranges))


def _grid_of(model: str) -> dict:
    s = systems.get(model)
    return {"reciprocal": s.reciprocal, "critical_k": s.critical_k}


def _chern_args(model: str, params: dict, nk: int):
    if systems.get(model).invariant != "chern":
        chern = sorted(n for n, s in systems.SYSTEMS.items() if s.invariant == "chern")
        raise ValueError(f"Argument `model` must be one of {chern} for a Chern number, got {model!r}.")
    return _check_params(model, params), _checks.check_int("nk", nk, 4)


def chern_number_and_gap(model: str, params: dict, nk: int = 48):
    r"""Jittable FHS Chern number of the occupied half of the bands (float) and the band gap.

    ``model``: ``"qwz"`` or ``"haldane"``; ``params`` keyed as the real-space builders'
    arguments (scalars, traced allowed; ``vmap`` over them works); ``nk`` static. Returns two
    scalars:

    * gap: the *indirect* band gap at the Fermi level of half filling,
      ``min_k E_{occ+1}(k) - max_k E_occ(k)`` over the ``nk x nk`` grid and the points where the
      model's gap can close (so it is ``<= 0`` at every transition); negative where the bands
      overlap (a metal). It is the direct gap ``2 min_k |d(k)|`` when the spectrum is symmetric
      (QWZ; Haldane at ``phi = +-pi/2``). Sampled on the grid, it can only overestimate.
    * Chern number: the FHS sum, an integer up to rounding; **NaN** where ``gap <= 0`` (no gap)
      or where the grid is too coarse for this gap: some plaquette's ``|Berry flux|`` is at least
      :data:`FHS_FLUX_MAX` (the plaquette holding a nearly closed Dirac point carries nearly
      ``+-pi``; beyond ``pi`` the lattice sum loses a quantum). The grid cannot be refined under
      ``jit``; :func:`chern_number` with concrete numbers refines it. The flux test is necessary,
      not sufficient: on coarse grids (nk < 16) nearly metallic Haldane models (``t2 > t1 / 3``)
      gave wrong integers with fluxes below it (``docs/conventions.md``). On grids that hold the
      points where the gap closes (nk a multiple of 6 serves both models; the default 48 does) the
      flux stayed below it down to the smallest gaps measured.
    """
    p, nk = _chern_args(model, params, nk)
    return bloch.chern_number_and_gap(systems.get(model).bloch, p, nk, **_grid_of(model))


def chern_number(model: str, params: dict, nk: int = 48, gap_tol: float = 1e-6, max_nk: int | None = None) -> int:
    """Chern number of ``model`` (``"qwz"`` or ``"haldane"``) as an ``int``; FHS from ``nk x nk`` up.

    With concrete numbers the grid is refined: ``n = nk, 2 nk, 4 nk, ...``; the value of grid ``n``
    is returned once both ``n`` and ``2 n`` have every ``|plaquette flux|`` below
    :data:`FHS_FLUX_MAX` and give the same integer (doubling nests the grids). Raises
    :class:`GaplessError` when the indirect band gap (:func:`chern_number_and_gap`) is below
    ``gap_tol``, and :class:`GridTooCoarseError` (a :class:`GaplessError`, naming ``nk``) when no
    grid up to ``max_nk`` (default ``max(1024, 2 nk)``) passes: the gap is open but too small to
    resolve. Under ``jit`` / ``vmap`` (any parameter traced) it returns a float scalar instead: the
    rounded Chern number of the ``nk`` grid alone, NaN where the gap is below ``gap_tol`` or the
    grid too coarse; e.g. ``jax.vmap(lambda m: chern_number("qwz", {"m": m}))(ms)``.
    """
    p, nk = _chern_args(model, params, nk)
    return bloch.chern_number(systems.get(model).bloch, p, nk, gap_tol, max_nk, name=model, **_grid_of(model))
