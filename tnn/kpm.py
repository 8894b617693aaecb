r"""Linear-scaling invariants by the kernel polynomial method (KPM): the Fermi projector as a
Jackson-damped Chebyshev series applied to vectors, never an ``(N, N)`` matrix.

Every function takes a matrix-free Hamiltonian -- a :class:`tnn.operators.Operator`
(:func:`tnn.hamiltonians.operator`), or a ``scipy.sparse`` matrix, a ``BCOO`` or a dense array
(:func:`tnn.operators.as_operator`) -- in the site order of ``lat`` (a :func:`tnn.lattice.from_sites`
lattice's own order is read from it). Cost ``O(num_moments x nnz x vectors)``, memory
``O(N x vectors)``; jitted, batched over vectors (``(N, k)`` products, ``k`` up to :data:`VECTOR_BLOCK`
at once, more in blocks one after the other), ``jit``/``vmap``-able.

Formulas, kernel, error estimates and defaults: docs/conventions.md, "Kernel polynomial method".
In short: bounds ``[E_min, E_max]`` (given, or :func:`spectral_bounds`) map ``H`` into ``[-1, 1]``;
``P = theta(E_F - H) = sum_{n<M} g_n c_n T_n`` (Jackson ``g_n``; Weisse et al., RMP 78, 275 (2006));
``Q = sign(H - E_F) = 1 - 2P``. The marker ``(4 pi / A_cell) Im <r|P X P Y P|r>`` (convention of
:func:`tnn.invariants.local_chern_marker`) is ``a = P|r>`` by the series, then the Chebyshev
*moments* ``(X a)^dag T_n (Y a)`` for the middle projector; the winding number
``(1/L') Tr_bulk([X, U] U^dag)``, ``U = P_A Q P_B`` (convention of
:func:`tnn.invariants.winding_number`) is ``b = U^dag v`` by the series, then the moments
``(X v)^dag T_n b``. Traces over the bulk window are stochastic, with random-phase vectors.

Errors, in a :class:`KPMResult` with every value: ``stat_error`` the standard error over the vectors;
``trunc_error`` the larger of the change of the value computed at ``M // 2`` moments on the same
vectors and of the change when only the middle projector is re-summed at ``M // 2``, times the
number of projector factors (3 marker, 2 winding) -- an estimate, not a bound;
``error = t_{0.995, k-1} stat_error + trunc_error``, or inf where more than
:data:`FERMI_WEIGHT_MAX` of the probes' spectral weight lies within one kernel width of ``E_F``.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import numpy as np
import jax
import jax.numpy as jnp

from tnn import _checks
from tnn import contractions as tc
from tnn.invariants.checks import check_pbc
from tnn.lattice import CHAINS, PLANES, Lattice, check_lattice
from tnn import chebyshev as cheb
from tnn.chebyshev import jackson_kernel, step_coefficients
from tnn.operators import Operator, as_operator, lanczos_bounds

__all__ = [
    "KPMResult", "local_chern_marker", "chern_number", "winding_number", "spectral_bounds", "fermi_projector",
    "jackson_kernel", "step_coefficients", "DEFAULT_MOMENTS", "DEFAULT_VECTORS", "LANCZOS_STEPS", "BOUNDS_MARGIN",
    "FERMI_WEIGHT_MAX", "DOS_VECTORS", "VECTOR_BLOCK",
]

#: default number of Chebyshev moments ``M`` (resolution ``~ pi (E_max - E_min) / (2 M)``)
DEFAULT_MOMENTS = 256
#: default number of random vectors of the stochastic traces
DEFAULT_VECTORS = 16
#: largest share of the probes' spectral weight within one kernel width of ``E_F`` with a finite error
FERMI_WEIGHT_MAX = 0.01
#: random vectors (of the trace's) whose moments give the Fermi weight of a stochastic trace
DOS_VECTORS = 2
#: vectors run through the Chebyshev loops at once; more run in blocks of this many, one after the
#: other (``lax.map``): memory ``O(N x VECTOR_BLOCK)`` for the loops plus ``O(N x vectors)`` for the vectors
VECTOR_BLOCK = 4
#: Lanczos steps of :func:`spectral_bounds`
LANCZOS_STEPS = 40
#: widening of the Lanczos bounds, as a fraction of the half width, on each side
BOUNDS_MARGIN = 0.05

# Student's t quantile t_{0.995, df} for df = 1..30 (a two-sided 99% interval)
_T995 = (63.657, 9.925, 5.841, 4.604, 4.032, 3.707, 3.499, 3.355, 3.250, 3.169, 3.106, 3.055, 3.012, 2.977,
         2.947, 2.921, 2.898, 2.878, 2.861, 2.845, 2.831, 2.819, 2.807, 2.797, 2.787, 2.779, 2.771, 2.763,
         2.756, 2.750)


def _t995(df: int) -> float:
    return float("inf") if df < 1 else _T995[df - 1] if df <= len(_T995) else 2.576 + 5.2 / df


class KPMResult(NamedTuple):
    """A KPM value with its error record (a pytree: ``jit``/``vmap`` return it). ``value``: scalar, or
    ``(n,)`` for :func:`local_chern_marker`; ``error = t_{0.995, k-1} stat_error + trunc_error``;
    ``stat_error``: standard error over the random vectors (0 for exact local vectors, inf for one);
    ``trunc_error``: the moments' truncation estimate; ``fermi_weight``: share of the probes' spectral
    weight within one kernel width of ``E_F`` (above :data:`FERMI_WEIGHT_MAX` the Fermi level is not
    resolved at ``M`` moments and ``error`` is inf); ``num_moments``, ``num_vectors`` (0: exact local
    vectors); ``bounds`` ``(E_min, E_max)`` used; ``fermi_energy``."""

    value: jax.Array
    error: jax.Array
    stat_error: jax.Array
    trunc_error: jax.Array
    fermi_weight: jax.Array
    num_moments: int
    num_vectors: int
    bounds: tuple
    fermi_energy: float

    def __float__(self):
        return float(self.value)


# ------------------------------------------------------------------------------ series (tnn.chebyshev)
@functools.partial(jax.jit, static_argnames=("num_moments",))
def _projector_core(op, v, emin, emax, fermi_energy, num_moments):
    xf = cheb.x_fermi(emin, emax, fermi_energy)
    return cheb.series(cheb.doubled(op, emin, emax), cheb.kernel_coef(num_moments, xf, jnp.real(v).dtype), v)[0]


def fermi_projector(op, v, *, num_moments: int = DEFAULT_MOMENTS, fermi_energy=0.0, bounds=None):
    r"""``P v`` (shape of ``v``: ``(N,)`` or ``(N, k)``) with ``P = theta(E_F - H)`` by the Jackson-damped
    Chebyshev series of ``M = num_moments >= 2`` moments; ``op`` an operator, ``scipy.sparse``, ``BCOO``
    or dense ``H``; ``E_F`` inside ``bounds`` (``(E_min, E_max)``, or None: :func:`spectral_bounds`)."""
    op = _check_op(op)
    M = _checks.check_int("num_moments", num_moments, 2)
    v = jnp.asarray(v)
    if v.ndim not in (1, 2) or v.shape[0] != op.n:
        raise ValueError(f"Argument `v` must have shape ({op.n},) or ({op.n}, k), but has shape {tuple(v.shape)}.")
    emin, emax, ef = _resolve_bounds(op, bounds, fermi_energy)
    dtype = np.result_type(op.dtype, v.dtype, np.float32)
    out = _projector_core(op, v.reshape(op.n, -1).astype(dtype), emin, emax, ef, M)
    return out.reshape(v.shape)


# ------------------------------------------------------------------------------ spectral bounds
def spectral_bounds(op, *, num_steps: int = LANCZOS_STEPS, margin: float = BOUNDS_MARGIN, key=None):
    r"""Bounds ``(E_min, E_max)`` enclosing the spectrum of a Hermitian ``H``.

    ``num_steps`` Lanczos steps from a random start (``key``; default ``jax.random.key(0)``) give the
    extreme Ritz values; each is moved out by its residual ``|beta_m y_m|`` (an eigenvalue lies within
    it) and then by ``margin`` times the half width, and the result is capped by Gershgorin's bound
    (rigorous, :meth:`tnn.operators.Operator.gershgorin`), so it is never wider than that.

    Returns ``(E_min, E_max)``: Python floats for a concrete operator, arrays under ``jit``.
    """
    op = _check_op(op)
    steps = _checks.check_int("num_steps", num_steps, 2)
    margin = _checks.check_real("margin", margin, 0.0)
    key = jax.random.key(0) if key is None else _checks.check_key(key, True, "spectral_bounds")
    lo, hi = lanczos_bounds(op, min(steps, op.n), margin, key)
    if all(_checks.is_concrete(x) for x in op.values):
        return float(lo), float(hi)
    return lo, hi


# ------------------------------------------------------------------------------ checks
def _check_op(op, lat: Lattice | None = None) -> Operator:
    if op is None:
        raise ValueError("Argument `op` must be given, got None.")
    try:
        op = as_operator(op)
    except ValueError as err:
        raise ValueError(str(err).replace("Argument `H`", "Argument `op`")) from err
    if lat is not None and op.n != lat.n_sites:
        raise ValueError(f"Argument `op` acts on {op.n} sites, but `lat` has {lat.n_sites} sites.")
    return op


def _resolve_bounds(op: Operator, bounds, fermi_energy):
    """``(E_min, E_max, E_F)``, checked: floats for concrete input (``E_F`` strictly inside), else arrays."""
    ef = _checks.check_real("fermi_energy", fermi_energy) if _checks.is_concrete(fermi_energy) else jnp.asarray(
        fermi_energy)
    if bounds is None:
        lo, hi = spectral_bounds(op)
    else:
        try:
            lo, hi = bounds
        except (TypeError, ValueError):
            raise _checks.argument_error("bounds", "must be None or a pair (E_min, E_max)", bounds) from None
        if _checks.is_concrete(lo) and _checks.is_concrete(hi):
            lo = _checks.check_real("bounds", float(np.asarray(lo)) if np.ndim(lo) == 0 else lo)
            hi = _checks.check_real("bounds", float(np.asarray(hi)) if np.ndim(hi) == 0 else hi)
            if not lo < hi:
                raise _checks.argument_error("bounds", "must be a pair (E_min, E_max) with E_min < E_max", bounds)
    if all(isinstance(x, float) for x in (lo, hi, ef)) and not lo < ef < hi:
        raise ValueError(f"Argument `fermi_energy` must lie inside the spectral bounds ({lo:.6g}, {hi:.6g}), got {ef}.")
    return lo, hi, ef


def _check_random_key(key):
    if key is None:
        raise ValueError("Argument `key` must be a jax PRNG key (the random vectors of the stochastic trace), got None.")
    return _checks.check_key(key, True, "the stochastic trace")


def _in_user_order(lat: Lattice, per_site: np.ndarray) -> np.ndarray:
    """A per-site array ``(N, ...)`` of the library's order in the operator's (a ``from_sites`` lattice's own)."""
    if lat.order is None:
        return per_site
    out = np.empty_like(per_site)
    out[np.asarray(lat.order)] = per_site
    return out


def _stated(stat, trunc, fw, k):
    return jnp.where(fw > FERMI_WEIGHT_MAX, jnp.inf, _t995(k - 1) * stat + trunc)


def _result(out, out_half, scale, factor, num_moments, num_vectors, lo, hi, ef):
    """Mean, standard error and truncation estimate of per-vector samples (stacked along axis 0):
    ``out = (values at M, values with the middle projector at M // 2, Fermi weights)``, ``out_half``
    the values of the same run at ``M // 2`` moments on the same vectors."""
    per_vec, per_vec_half, fw = out
    k = per_vec.shape[0]
    value = scale * jnp.mean(per_vec, axis=0)
    if k > 1:
        stat = scale * jnp.std(per_vec, axis=0, ddof=1) / np.sqrt(k)
    else:
        stat = jnp.full_like(value, jnp.inf)
    trunc = jnp.maximum(factor * jnp.abs(scale * jnp.mean(per_vec - per_vec_half, axis=0)),
                        jnp.abs(scale * jnp.mean(per_vec - out_half, axis=0)))
    fw = jnp.mean(fw, axis=0)
    return KPMResult(value, _stated(stat, trunc, fw, k), stat, trunc, fw, num_moments, num_vectors, (lo, hi), ef)


# ------------------------------------------------------------------------------ Chern marker
def _random_phases(key, mask, k, rdt):
    u = jax.random.uniform(key, (mask.shape[0], k), rdt)
    cdt = np.result_type(rdt, np.complex64)
    return jnp.exp(2j * np.pi * u.astype(cdt)).astype(cdt) * mask[:, None].astype(cdt)


def _marker_columns(op, v, x, y, cx, cy, emin, emax, ef, num_moments, n_dos):
    """Per column ``Im <a|(X - cx) P (Y - cy)|a>``, ``a = P v``, at ``M`` and (middle) ``M // 2``, and
    the Fermi weights of the first ``n_dos`` columns (None for 0). Alive at once: three ``(N, k)``
    arrays (the series' two iterates and sum, then ``(X - cx) a`` and the moments' two iterates)."""
    rdt = jnp.real(v).dtype
    op2 = cheb.doubled(op, emin, emax)
    xf = cheb.x_fermi(emin, emax, ef)
    coef = cheb.kernel_coef(num_moments, xf, rdt)
    a, d = cheb.series(op2, coef, v, n_dos)
    fw = None if d is None else cheb.fermi_weight(jnp.real(d), xf, num_moments)
    mu = cheb.moments(op2, cheb.as_dtype(x[:, None] - cx, a) * a, cheb.as_dtype(y[:, None] - cy, a) * a, num_moments)
    half = num_moments // 2
    coef_h = cheb.kernel_coef(half, xf, rdt)
    val = jnp.imag(jnp.sum(cheb.as_dtype(coef, mu)[:, None] * mu, axis=0))
    val_h = jnp.imag(jnp.sum(cheb.as_dtype(coef_h, mu)[:, None] * mu[:half], axis=0))
    return val, val_h, fw


def _after(done, *args):
    """``args`` unchanged, but computed by XLA only once ``done`` is: the second run of a core (at
    ``M // 2`` moments) rebuilds its vectors after the first instead of keeping them alive through it."""
    return cheb.barrier((done, args))


def _blocks(k: int):
    """``(block size, number of blocks)`` for ``k`` vectors (the last block padded)."""
    kb = min(k, VECTOR_BLOCK)
    return kb, -(-k // kb)


def _padded(v, width):
    return v if v.shape[1] == width else jnp.pad(v, ((0, 0), (0, width - v.shape[1])))


@functools.partial(jax.jit, static_argnames=("num_moments",))
def _local_marker_core(op, sites, x, y, emin, emax, ef, num_moments):
    """``((values, values with the middle projector at M // 2, Fermi weights) at M, values at M // 2)``;
    the unit vectors of ``sites`` in blocks of :data:`VECTOR_BLOCK`."""
    rdt = x.dtype
    cdt = np.result_type(op.dtype, rdt, np.complex64)
    k = sites.shape[0]
    kb, nb = _blocks(k)
    sites = jnp.pad(sites, (0, nb * kb - k))  # padding: copies of site 0, cut from the output

    def block(s):
        def run(s, M, n_dos):
            v = jnp.zeros((op.n, kb), cdt).at[s, jnp.arange(kb)].set(1.0)
            return _marker_columns(op, v, x, y, x[s], y[s], emin, emax, ef, M, n_dos)

        out = run(s, num_moments, kb)
        out, (s,) = _after(out, s)
        return out, run(s, max(num_moments // 2, 2), 0)[0]

    if nb == 1:
        return jax.tree_util.tree_map(lambda o: o[:k], block(sites))
    outs = jax.lax.map(block, sites.reshape(nb, kb))
    return jax.tree_util.tree_map(lambda o: o.reshape(nb * kb)[:k], outs)


@functools.partial(jax.jit, static_argnames=("num_moments", "num_vectors"))
def _marker_trace_core(op, key, mask, x, y, cx, cy, emin, emax, ef, num_moments, num_vectors):
    """``((per-vector values, values with the middle projector at M // 2, Fermi weights of the first
    :data:`DOS_VECTORS`) at M, per-vector values at M // 2)`` on the same vectors, in blocks of
    :data:`VECTOR_BLOCK` vectors."""
    k = num_vectors
    kb, nb = _blocks(k)
    M2 = max(num_moments // 2, 2)

    def vectors(key, mask):
        return _padded(_random_phases(key, mask, k, x.dtype), nb * kb)

    def columns(v, M, n_dos):
        return _marker_columns(op, v, x, y, cx, cy, emin, emax, ef, M, n_dos)

    if nb == 1:  # one block: the vectors rebuilt for the M // 2 run rather than kept alive through the first
        out = columns(vectors(key, mask), num_moments, DOS_VECTORS)
        out, (key, mask) = _after(out, key, mask)
        (val, val_h, fw), val_2 = out, columns(vectors(key, mask), M2, 0)[0]
        return (val[:k], val_h[:k], fw), val_2[:k]

    def block(i):
        # the block's vectors sliced again for the M // 2 run: not kept alive through the first
        out = columns(jax.lax.dynamic_slice_in_dim(v, i * kb, kb, axis=1), num_moments, DOS_VECTORS)
        out, (i,) = _after(out, i)
        return out, columns(jax.lax.dynamic_slice_in_dim(v, i * kb, kb, axis=1), M2, 0)[0]

    v = vectors(key, mask)
    outs = jax.lax.map(block, jnp.arange(nb))
    (val, val_h, fw), val_2 = outs
    return (val.reshape(-1)[:k], val_h.reshape(-1)[:k], fw[0]), val_2.reshape(-1)[:k]


def _marker_lattice(lat, what):
    lat = check_lattice(lat, PLANES, what)
    check_pbc(lat, False, what)
    return lat


def _cells_arg(lat: Lattice, sites) -> np.ndarray:
    """``sites`` (cell coordinates ``(n, 2)`` or flat cell indices ``(n,)``) as flat cell indices."""
    arr = np.asarray(sites) if _checks.is_concrete(sites) else None
    if arr is None or arr.dtype.kind not in "iu" or arr.size == 0 or arr.ndim not in (1, 2) or (
            arr.ndim == 2 and arr.shape[1] != lat.ndim):
        raise _checks.argument_error(
            "sites", f"must be a non-empty array of cell indices (n,) or cell coordinates (n, {lat.ndim}) (ints)",
            sites if arr is None or arr.size else "an empty array")
    if arr.ndim == 2:
        if np.any(arr < 0) or np.any(arr >= np.asarray(lat.dims)):
            raise _checks.argument_error("sites", f"must hold cell coordinates inside dims {lat.dims}", sites)
        return np.ravel_multi_index(tuple(arr.T), lat.dims)
    if np.any(arr < 0) or np.any(arr >= lat.n_cells):
        raise _checks.argument_error("sites", f"must hold cell indices in [0, {lat.n_cells})", sites)
    return arr.astype(np.int64)


def local_chern_marker(op, lat: Lattice, sites, *, num_moments: int = DEFAULT_MOMENTS, fermi_energy=0.0,
                       bounds=None) -> KPMResult:
    r"""Local Chern marker on chosen cells of an open sample, by KPM with exact local vectors.

    ``C(r) = (4 pi / A_cell) Im sum_{o in r} <r o|P X P Y P|r o>``, the convention of
    :func:`tnn.invariants.local_chern_marker` (which this equals as ``num_moments`` grows, for
    ``E_F`` in the half-filling gap), ``P = theta(E_F - H)`` (module docstring).

    Args:
      op: the Hamiltonian of ``lat`` (an operator, ``scipy.sparse``, ``BCOO``, dense), ``N = lat.n_sites``.
      lat: open square or honeycomb lattice.
      sites: the cells, as integer cell coordinates ``(n, 2)`` or flat cell indices ``(n,)``
        (C order); each value sums the orbitals of its cell, as the dense map does.
      num_moments: ``M >= 2`` (default :data:`DEFAULT_MOMENTS`). fermi_energy: ``E_F`` (default 0),
        strictly inside the bounds. bounds: ``(E_min, E_max)`` or None (:func:`spectral_bounds`).

    Returns a :class:`KPMResult` with ``value``, ``error``, ``trunc_error`` ``(n,)`` (``stat_error`` 0).
    """
    lat = _marker_lattice(lat, "the KPM local Chern marker")
    op = _check_op(op, lat)
    M = _checks.check_int("num_moments", num_moments, 2)
    cells = _cells_arg(lat, sites)
    emin, emax, ef = _resolve_bounds(op, bounds, fermi_energy)
    pos = _in_user_order(lat, np.asarray(lat.positions))
    site_idx = (cells[:, None] * lat.n_orb + np.arange(lat.n_orb)[None, :]).reshape(-1)
    if lat.order is not None:
        site_idx = np.asarray(lat.order)[site_idx]
    rdt = jnp.real(jnp.zeros((), np.result_type(op.dtype, np.float32))).dtype
    x, y = (jnp.asarray(pos[:, d], rdt) for d in range(2))
    (val, val_h, fw), val_2 = _local_marker_core(op, jnp.asarray(site_idx, np.int32), x, y, emin, emax, ef, M)
    val, val_h, val_2 = (tc.exact_marker_scale(lat) * a.reshape(len(cells), lat.n_orb).sum(axis=1)
                         for a in (val, val_h, val_2))
    fw = fw.reshape(len(cells), lat.n_orb).mean(axis=1)
    zero = jnp.zeros_like(val)
    trunc = jnp.maximum(3.0 * jnp.abs(val - val_h), jnp.abs(val - val_2))
    return KPMResult(val, _stated(zero, trunc, fw, 2), zero, trunc, fw, M, 0, (emin, emax), ef)


def chern_number(op, lat: Lattice, *, num_moments: int = DEFAULT_MOMENTS, num_vectors: int = DEFAULT_VECTORS,
                 key=None, window=None, fermi_energy=0.0, bounds=None) -> KPMResult:
    r"""Chern number of an open sample: the bulk-window mean of the local Chern marker by a stochastic
    trace over random-phase vectors on the window's sites (module docstring).

    Equals ``tnn.invariants.chern_number(H, lat, method="marker")`` (same convention, same default
    window) up to the stated error, for ``E_F`` in the half-filling gap.

    Args:
      op: the Hamiltonian of ``lat`` (as :func:`local_chern_marker`).
      lat: open square or honeycomb lattice.
      num_moments: ``M >= 2``. num_vectors: ``k >= 1`` random vectors, applied in
        blocks of :data:`VECTOR_BLOCK` (memory ``O(N k)``: measured 54 bytes per ``N x k`` at
        ``N = 204800``, ``k = 16``, ``M = 256``). key: PRNG key of the vectors (required).
      window: cells trimmed on each side (int or ``(tx, ty)``; default ``(lx // 4, ly // 4)``).
      fermi_energy, bounds: as :func:`local_chern_marker`.

    Returns a :class:`KPMResult` (scalar ``value``, ``stat_error`` from the spread over vectors).
    """
    lat = _marker_lattice(lat, "the KPM Chern number")
    op = _check_op(op, lat)
    M = _checks.check_int("num_moments", num_moments, 2)
    k = _checks.check_int("num_vectors", num_vectors, 1)
    key = _check_random_key(key)
    trim = tc.check_trim(lat, window)
    cells = tc.bulk_cells(lat, trim)
    emin, emax, ef = _resolve_bounds(op, bounds, fermi_energy)
    pos = _in_user_order(lat, np.asarray(lat.positions))
    mask_lib = tc.site_mask_from_cells(lat, cells)
    mask = _in_user_order(lat, mask_lib.astype(float))
    centre = np.asarray(lat.positions)[mask_lib].mean(axis=0)
    rdt = jnp.real(jnp.zeros((), np.result_type(op.dtype, np.float32))).dtype
    x, y = (jnp.asarray(pos[:, d], rdt) for d in range(2))
    out = _marker_trace_core(op, key, jnp.asarray(mask, rdt), x, y, centre[0], centre[1], emin, emax, ef, M, k)
    return _result(*out, tc.exact_marker_scale(lat) / float(cells.sum()), 3.0, M, k, emin, emax, ef)


# ------------------------------------------------------------------------------ winding number
def _winding_columns(op, vectors, token, is_b, xc, emin, emax, ef, num_moments, n_dos):
    """Per column ``Re (X v)^dag U^dag v - <b|X|b>``, ``b = U^dag v``, ``v = vectors(token)``, at ``M`` and
    (middle) ``M // 2``, and the Fermi weights of the first ``n_dos`` columns (None for 0). ``v`` is
    built twice: after the series it is needed again for ``X v``, and rebuilding it is cheaper than
    keeping it alive through the series (three ``(N, k)`` arrays at once instead of four)."""
    rdt = xc.dtype
    op2 = cheb.doubled(op, emin, emax)
    xf = cheb.x_fermi(emin, emax, ef)
    # Q = sign(H - E_F) = 1 - 2P
    coef = (-2.0 * cheb.kernel_coef(num_moments, xf, rdt)).at[0].add(1.0)
    b, d = cheb.series(op2, coef, vectors(token), n_dos)
    fw = None if d is None else cheb.fermi_weight(jnp.real(d), xf, num_moments)
    b = b * cheb.as_dtype(is_b, b)[:, None]  # U^dag v = P_B Q P_A v
    bxb = jnp.sum(cheb.as_dtype(xc, jnp.real(b))[:, None] * jnp.abs(b) ** 2, axis=0)
    (b, bxb), (token,) = _after((b, bxb), token)
    v = vectors(token)
    mu = cheb.moments(op2, cheb.as_dtype(xc, v)[:, None] * v, b, num_moments)  # (X v)^dag T_n b
    half = num_moments // 2
    coef_h = (-2.0 * cheb.kernel_coef(half, xf, rdt)).at[0].add(1.0)
    val = jnp.real(jnp.sum(cheb.as_dtype(coef, mu)[:, None] * mu, axis=0)) - bxb
    val_h = jnp.real(jnp.sum(cheb.as_dtype(coef_h, mu)[:, None] * mu[:half], axis=0)) - bxb
    return val, val_h, fw


@functools.partial(jax.jit, static_argnames=("num_moments", "num_vectors"))
def _winding_core(op, key, mask_a, is_b, xc, emin, emax, ef, num_moments, num_vectors):
    """As :func:`_marker_trace_core`, for the winding number."""
    k = num_vectors
    kb, nb = _blocks(k)
    M2 = max(num_moments // 2, 2)

    def columns(vectors, token, M, n_dos):
        return _winding_columns(op, vectors, token, is_b, xc, emin, emax, ef, M, n_dos)

    def block(token, vectors):
        out = columns(vectors, token, num_moments, DOS_VECTORS)
        out, (token,) = _after(out, token)
        return out, columns(vectors, token, M2, 0)[0]

    if nb == 1:  # the vectors rebuilt from the key whenever needed
        return block((key, mask_a), lambda t: _random_phases(t[0], t[1], k, xc.dtype))
    v = _padded(_random_phases(key, mask_a, k, xc.dtype), nb * kb)
    (val, val_h, fw), val_2 = jax.lax.map(
        lambda i: block((i,), lambda t: jax.lax.dynamic_slice_in_dim(v, t[0] * kb, kb, axis=1)), jnp.arange(nb))
    return (val.reshape(-1)[:k], val_h.reshape(-1)[:k], fw[0]), val_2.reshape(-1)[:k]


def _winding_blocks(lat: Lattice, trim):
    """``[(bulk-cell mask (L,), coordinate (L,))]``: one block (open) or four (periodic)."""
    L = lat.dims[0]
    x = np.arange(L, dtype=float)
    if not lat.pbc:
        mask = (x >= trim[0]) & (x < L - trim[0])
        return [(mask, x - x[mask].mean())]
    return [(np.isin(np.arange(L), idx), np.mod(x - idx.mean() + L / 2, L) - L / 2)
            for idx in np.array_split(np.arange(L), min(4, L))]


def winding_number(op, lat: Lattice, *, num_moments: int = DEFAULT_MOMENTS, num_vectors: int = DEFAULT_VECTORS,
                   key=None, trim=None, fermi_energy=0.0, bounds=None) -> KPMResult:
    r"""Real-space winding number of a chiral chain by KPM and a stochastic trace over random-phase
    vectors on the bulk A sites (module docstring).

    Equals :func:`tnn.invariants.winding_number` (same convention, sign and bulk window: cells
    ``trim <= i < L - trim`` of an open chain, default ``trim = L // 4``; every cell of a periodic
    one, four blocks of ``num_vectors`` vectors each) up to the stated error. ``H`` must be chiral in
    the library's order (A-B entries only; not checked: that would need a pass over ``H``).

    Args:
      op: the Hamiltonian of ``lat`` (as :func:`local_chern_marker`).
      lat: a chain. num_moments, num_vectors, key: as :func:`chern_number`.
      trim: cells trimmed on each side of an open chain (None or 0 for a periodic one).
      fermi_energy: ``E_F`` of ``Q = sign(H - E_F)`` (default 0). bounds: as :func:`local_chern_marker`.

    Returns a :class:`KPMResult` (scalar ``value``; blocks' standard errors in quadrature).
    """
    lat = check_lattice(lat, CHAINS, "the KPM winding number", n_orb=2)
    op = _check_op(op, lat)
    M = _checks.check_int("num_moments", num_moments, 2)
    k = _checks.check_int("num_vectors", num_vectors, 1)
    key = _check_random_key(key)
    if lat.pbc and trim not in (None, 0):
        raise ValueError(f"Argument `trim` applies to open chains only (periodic chains use all cells), got {trim!r}.")
    trim_t = (0,) if lat.pbc else tc.check_trim(lat, trim)
    emin, emax, ef = _resolve_bounds(op, bounds, fermi_energy)
    rdt = jnp.real(jnp.zeros((), np.result_type(op.dtype, np.float32))).dtype
    is_b = _in_user_order(lat, (lat.sublattice == 1).astype(float))
    blocks = _winding_blocks(lat, trim_t)
    n_cells = sum(int(m.sum()) for m, _ in blocks)
    values, stats, truncs, fws = [], [], [], []
    for i, (mask, xcell) in enumerate(blocks):
        mask_a = _in_user_order(lat, (mask[lat.site_cell] & (lat.sublattice == 0)).astype(float))
        xc = _in_user_order(lat, xcell[lat.site_cell])
        kb = jax.random.fold_in(key, i) if len(blocks) > 1 else key
        out = _winding_core(op, kb, jnp.asarray(mask_a, rdt), jnp.asarray(is_b, rdt), jnp.asarray(xc, rdt),
                            emin, emax, ef, M, k)
        r = _result(*out, 1.0 / n_cells, 2.0, M, k, emin, emax, ef)
        for acc, x in zip((values, stats, truncs, fws), (r.value, r.stat_error, r.trunc_error, r.fermi_weight)):
            acc.append(x)
    stat, trunc, fw = jnp.sqrt(sum(s ** 2 for s in stats)), sum(truncs), sum(fws) / len(fws)
    return KPMResult(sum(values), _stated(stat, trunc, fw, k), stat, trunc, fw, M, k, (emin, emax), ef)
