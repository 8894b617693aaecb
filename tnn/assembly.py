r"""The operator engine: a Hamiltonian as a list of hopping families, and its assembly.

Below the systems (:mod:`tnn.systems`) and above the lattice: a system's builder returns
:class:`Terms` (static NumPy index arrays ``(rows, cols)`` from :meth:`tnn.lattice.Lattice.hop` and
traced amplitudes); :func:`assemble` scatters them into a dense ``(N, N)`` matrix,
:func:`assemble_sparse` into a ``jax.experimental.sparse.BCOO`` one (same entries),
:func:`build_operator` into a matrix-free :class:`tnn.operators.Operator`. :func:`build` and
:func:`build_operator` run a system's check-free core and its assembly under one ``jit`` per
geometry. The noise helpers (:func:`uniform_noise`, :func:`anderson_noise`) and the dtype rules
(:func:`real_dtype`, :func:`complex_dtype`) are shared by every system. Nothing here knows a
system by name; :mod:`tnn.hamiltonians` is the public face that does.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import numpy as np
import jax
import jax.numpy as jnp

from tnn import _checks, operators
from tnn.lattice import Lattice

__all__ = [
    "Terms",
    "real_dtype",
    "complex_dtype",
    "assemble",
    "assemble_sparse",
    "build",
    "build_operator",
    "uniform_noise",
    "anderson_noise",
    "check_ranges",
    "chiral_operator",
    "block_family",
]


class Terms(NamedTuple):
    """A Hamiltonian as ``H = sum_f H[rows_f, cols_f] += vals_f (+ h.c. where hermitize)`` + diag.

    rows, cols: static NumPy int arrays, one per hopping family; vals: traced arrays of the same
    lengths; hermitize: per family, whether to add the Hermitian conjugate; diag: ``(N,)`` onsite.
    """

    n: int
    rows: tuple[np.ndarray, ...]
    cols: tuple[np.ndarray, ...]
    vals: tuple[jax.Array, ...]
    hermitize: tuple[bool, ...]
    diag: jax.Array | None


def real_dtype(*xs) -> np.dtype:
    """The common dtype of ``xs``, promoted explicitly (NumPy rules on the dtypes).

    The builders cast every input to it themselves, so they run unchanged under
    ``jax_numpy_dtype_promotion="strict"``.
    """
    return np.result_type(*[np.dtype(x.dtype) for x in xs])


def complex_dtype(dtype) -> np.dtype:
    """complex128 for float64 (or complex128), complex64 otherwise."""
    return np.dtype(np.complex128) if np.dtype(dtype) in (np.float64, np.complex128) else np.dtype(np.complex64)


def _terms_dtype(tm: "Terms") -> np.dtype:
    return real_dtype(*tm.vals, *([] if tm.diag is None else [tm.diag]))


def assemble(tm: Terms) -> jax.Array:
    """Scatter :class:`Terms` into a dense ``(N, N)`` matrix."""
    dtype = _terms_dtype(tm)
    H = jnp.zeros((tm.n, tm.n), dtype=dtype)
    for r, c, v, herm in zip(tm.rows, tm.cols, tm.vals, tm.hermitize):
        r, c = _index(r), _index(c)
        v = v.astype(dtype)
        H = H.at[r, c].add(v)
        if herm:
            H = H.at[c, r].add(jnp.conj(v))
    if tm.diag is not None:
        idx = _index(np.arange(tm.n))
        H = H.at[idx, idx].add(tm.diag.astype(dtype))
    return H


def _index(a: np.ndarray) -> np.ndarray:
    # int32 indices work with and without x64; NumPy's default int64 breaks JAX's index
    # normalisation when x64 is off (int32 + int64 in lax.add).
    return np.asarray(a, dtype=np.int32)


def uniform_noise(key, shape, width, dtype):
    """Uniform noise in [-width/2, width/2]."""
    u = jax.random.uniform(key, shape, dtype=dtype, minval=-0.5, maxval=0.5)
    return width.astype(dtype) * u


def check_ranges(ranges) -> tuple[int, ...]:
    return _checks.check_ints("ranges", ranges, min_length=1, distinct=True)


def chiral_operator(lat: Lattice) -> np.ndarray:
    """The chiral (sublattice) operator ``Gamma = diag(+1 on A, -1 on B)`` as a vector ``(N,)``."""
    return np.where(lat.sublattice == 0, 1.0, -1.0)


def block_family(lat: Lattice, offset, block: np.ndarray):
    """Index arrays and constant values for ``H[R + offset, R] = block`` (orbital blocks)."""
    rows, cols, vals = [], [], []
    for a in range(lat.n_orb):
        for b in range(lat.n_orb):
            if block[a, b] != 0:
                r, c, _ = lat.hop(tuple(offset), a, b)
                rows.append(r)
                cols.append(c)
                vals.append(np.full(r.shape, block[a, b]))
    return np.concatenate(rows), np.concatenate(cols), np.concatenate(vals)


def anderson_noise(key, lat, w, dtype):
    """Anderson disorder: uniform ``[-W/2, W/2]`` per site ``(N,)``."""
    return uniform_noise(key, (lat.n_sites,), w, dtype)


# The dense and sparse builders run their (check-free) core under one jit per geometry: eager
# op-by-op scatters cost ~1 s of dispatch/compilation per new lattice, a jitted build ~0.1 s. Inside a
# caller's jit this inner jit is simply inlined.
@functools.partial(jax.jit, static_argnums=(0, 2, 3, 4))
def build(core, args, lat: Lattice, static: tuple, sparse_out: bool):
    tm = core(*args, lat, *static)
    return assemble_sparse(tm) if sparse_out else assemble(tm)


def assemble_sparse(tm: Terms):
    """:class:`Terms` as a ``jax.experimental.sparse.BCOO`` matrix of shape ``(N, N)``.

    ``nse`` is the number of stored entries (each hopping and its conjugate, plus the diagonal);
    duplicates are summed by every BCOO operation, as in :func:`assemble`. Index arrays are static,
    so the pattern is fixed at trace time and only the values are traced.
    """
    from jax.experimental import sparse as jsparse  # noqa: PLC0415  (keeps `import tnn` light)

    dtype = _terms_dtype(tm)
    rows, cols, vals = [], [], []
    for r, c, v, herm in zip(tm.rows, tm.cols, tm.vals, tm.hermitize):
        rows.append(r)
        cols.append(c)
        vals.append(v.astype(dtype))
        if herm:
            rows.append(c)
            cols.append(r)
            vals.append(jnp.conj(v.astype(dtype)))
    if tm.diag is not None:
        idx = np.arange(tm.n)
        rows.append(idx)
        cols.append(idx)
        vals.append(tm.diag.astype(dtype))
    indices = np.stack([np.concatenate(rows), np.concatenate(cols)], axis=-1).astype(np.int32)
    return jsparse.BCOO((jnp.concatenate(vals), jnp.asarray(indices)), shape=(tm.n, tm.n))


# ------------------------------------------------------------------------ matrix-free (tnn.operators)
@functools.partial(jax.jit, static_argnums=(0, 2, 3, 4))
def build_operator(core, args, lat: Lattice, static: tuple, engine):
    return operators.from_terms(core(*args, lat, *static), lat, engine)
