r"""Pure real-space Hamiltonian builders: ``ssh``, ``qwz``, ``haldane``.

Every physical parameter, disorder strength and PRNG key is a traced argument; the lattice and
the hopping ``ranges`` are static. A builder wrapped in ``jax.jit`` compiles once per lattice (a
lattice is a pytree without leaves, so it needs no ``static_argnames``; ``ranges``, a tuple of ints,
does: ``jax.jit(ssh, static_argnames="ranges")``) and ``jax.vmap`` maps over parameters and keys. Output is a
dense ``(N, N)`` matrix, ``N = lat.n_sites``, in the site order of :mod:`tnn.lattice`.

The construction is a list of *hopping families*: static NumPy index arrays ``(rows, cols)`` from
:meth:`tnn.lattice.Lattice.hop` and traced amplitudes. :func:`terms` exposes that list;
:func:`assemble` scatters it into a dense matrix and :func:`sparse` / :func:`assemble_sparse` into a
``jax.experimental.sparse.BCOO`` one (same entries, same noise for the same key). Inputs are checked
in Python first (``ValueError`` naming the argument, constants checked even inside a caller's
``jit``); the assembly then runs under one internal ``jit`` per geometry, so eager calls are cheap too.

Conventions are those of ``docs/conventions.md``:

* SSH family: ``H = sum_n sum_i t[i] (c^dag_{A,n+r_i} c_{B,n} + h.c.)``; bond disorder adds an
  independent uniform ``[-Wb/2, Wb/2]`` to every bond amplitude (keeps chiral symmetry), onsite
  disorder a uniform ``[-Wo/2, Wo/2]`` on every site (breaks it).
* QWZ: onsite ``m sigma_z``; ``H[r + x, r] = (sigma_z + i sigma_x)/2``,
  ``H[r + y, r] = (sigma_z + i sigma_y)/2`` plus h.c., so that the Bloch matrix is
  ``sin kx sx + sin ky sy + (m + cos kx + cos ky) sz``.
* Haldane: NN hopping ``t1``; NNN ``t2 exp(i nu phi)`` for the hop ``j -> k -> i`` with
  ``nu = sign((r_k - r_j) x (r_i - r_k))_z``; mass ``+M`` on A, ``-M`` on B.
* Anderson disorder (QWZ, Haldane): uniform ``[-W/2, W/2]`` per orbital.
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
    "terms",
    "assemble",
    "assemble_sparse",
    "sparse",
    "operator",
    "as_operator",
    "Terms",
    "MODEL_PARAMS",
    "chiral_operator",
    "build",
    "check_ranges",
    "block_family",
    "uniform_noise",
    "anderson_noise",
    "model_params",
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


# ------------------------------------------------------------------------ systems (the registry)
def _system(model: str):
    from tnn import systems  # noqa: PLC0415  (the system modules import this one)

    return systems.get(model)


def model_params() -> dict[str, tuple[str, ...]]:
    """``{system name: names of its builder's physical arguments}`` for every registered system."""
    from tnn import systems  # noqa: PLC0415

    return {name: s.params for name, s in systems.SYSTEMS.items()}


def __getattr__(name: str):
    if name.startswith("__"):
        raise AttributeError(f"module 'tnn.hamiltonians' has no attribute {name!r}")
    # The builders (ssh, qwz, haldane, kitaev_chain, their *_terms) live with their systems in
    # tnn.systems; they stay reachable here, and a new system's builders appear without an edit.
    from tnn import systems  # noqa: PLC0415

    if name == "MODEL_PARAMS":
        return model_params()
    fn = systems.lookup(name)
    if fn is None:
        raise AttributeError(f"module 'tnn.hamiltonians' has no attribute {name!r}")
    return fn


def _check_model(model: str, params: dict, kwargs: dict):
    system = _system(model)
    if not isinstance(params, dict) or set(params) != set(system.params):
        got = sorted(params) if isinstance(params, dict) else type(params).__name__
        raise ValueError(
            f"Argument `params` for model {model!r} must be a dict with exactly the keys "
            f"{sorted(system.params)}, got {got}."
        )
    clash = set(kwargs) & set(system.params)
    if clash:
        raise ValueError(f"Argument `params` must hold {sorted(clash)}, not the keyword arguments.")
    return system


def terms(model: str, params: dict, lat: Lattice, **kwargs) -> Terms:
    """The hopping-family list of ``model`` (a name of :data:`tnn.systems.SYSTEMS`).

    ``params`` is keyed as the builder's physical arguments (``MODEL_PARAMS[model]``); ``kwargs``
    are the remaining keyword arguments of the builder (``ranges``, disorder strengths, ``key``).
    """
    check, core = _check_model(model, params, kwargs).check_core
    args, lat, static = check(**params, lat=lat, **kwargs)
    return core(*args, lat, *static)


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


def sparse(model: str, params: dict, lat: Lattice, **kwargs):
    """Sparse (BCOO) version of the dense builders, for lattices too large for an ``(N, N)`` array.

    ``sparse("qwz", {"m": m}, lat, onsite_disorder=W, key=key)`` has the same entries as
    ``qwz(m, lat, onsite_disorder=W, key=key)`` (same checks, same noise for the same key).
    Returns a ``BCOO`` of shape ``(N, N)``; ``H @ v`` is a sparse matrix-vector product.
    """
    check, core = _check_model(model, params, kwargs).check_core
    args, lat, static = check(**params, lat=lat, **kwargs)
    return build(core, args, lat, static, True)


# ------------------------------------------------------------------------ matrix-free (tnn.operators)
@functools.partial(jax.jit, static_argnums=(0, 2, 3, 4))
def _build_operator(core, args, lat: Lattice, static: tuple, engine):
    return operators.from_terms(core(*args, lat, *static), lat, engine)


def operator(model: str, params: dict, lat: Lattice, *, engine: str | None = None, **kwargs) -> operators.Operator:
    """Matrix-free version of the dense builders: the action ``v -> H v`` of ``model`` on ``lat``.

    ``operator("qwz", {"m": m}, lat, onsite_disorder=W, key=key) @ v`` equals
    ``qwz(m, lat, onsite_disorder=W, key=key) @ v`` (same checks, same noise for the same key) for
    ``v`` of shape ``(N,)`` or ``(N, k)``, without forming ``H``. Arguments as :func:`terms`;
    ``engine``: None (default: the stencil, shifted copies of ``v`` on the cells x orbitals grid),
    ``"stencil"`` or ``"bonds"`` (gather + segment sum). Returns a :class:`tnn.operators.Operator`,
    a pytree that ``jit`` and ``vmap`` take (parameters and keys may be traced).
    """
    check, core = _check_model(model, params, kwargs).check_core
    args, lat, static = check(**params, lat=lat, **kwargs)
    if engine is not None and engine not in ("stencil", "bonds"):
        raise ValueError(f"Argument `engine` must be None, 'stencil' or 'bonds', got {engine!r}.")
    return _build_operator(core, args, lat, static, engine)


def as_operator(H) -> operators.Operator:
    """A user's Hamiltonian (``scipy.sparse``, ``jax.experimental.sparse.BCOO``, dense ``(N, N)``, or an
    operator) as a :class:`tnn.operators.Operator`: :func:`tnn.operators.as_operator`."""
    return operators.as_operator(H)
