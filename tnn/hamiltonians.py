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

from tnn import _checks
from tnn.lattice import Lattice

__all__ = [
    "ssh",
    "qwz",
    "haldane",
    "terms",
    "assemble",
    "assemble_sparse",
    "sparse",
    "Terms",
    "MODEL_PARAMS",
    "chiral_operator",
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


def _uniform(key, shape, width, dtype):
    """Uniform noise in [-width/2, width/2]."""
    u = jax.random.uniform(key, shape, dtype=dtype, minval=-0.5, maxval=0.5)
    return width.astype(dtype) * u


def _disorder_keys(key, n: int):
    return jax.random.split(key, n)


# ------------------------------------------------------------------------------------------ SSH
def _check_ranges(ranges) -> tuple[int, ...]:
    try:
        r = tuple(ranges)
    except TypeError as err:
        raise ValueError(f"Argument `ranges` must be a tuple of ints, got {ranges!r}.") from err
    if len(r) == 0 or not all(isinstance(x, (int, np.integer)) and not isinstance(x, bool) for x in r):
        raise ValueError(f"Argument `ranges` must be a non-empty tuple of ints, got {ranges!r}.")
    if len(set(r)) != len(r):
        raise ValueError(f"Argument `ranges` must not repeat a range, got {r}.")
    return tuple(int(x) for x in r)


def min_cells_for_ranges(ranges: tuple[int, ...], pbc: bool) -> int:
    """Smallest chain length for which every hopping range is represented unambiguously."""
    rmax = max(abs(r) for r in ranges)
    return 2 * rmax + 1 if pbc else rmax + 1


def _ssh_check(t, lat, ranges=(0, 1), bond_disorder=0.0, onsite_disorder=0.0, key=None):
    lat = _checks.lattice(lat, ("chain",), "SSH")
    ranges = _check_ranges(ranges)
    t = _checks.as_param("t", t, (len(ranges),))
    need = min_cells_for_ranges(ranges, lat.pbc)
    if lat.n_cells < need:
        raise ValueError(
            f"Argument `lat` has {lat.n_cells} cells, too few for ranges={ranges} with "
            f"pbc={lat.pbc}: need at least {need}."
        )
    wb = _checks.nonnegative("bond_disorder", bond_disorder)
    wo = _checks.nonnegative("onsite_disorder", onsite_disorder)
    disordered = not (_checks.is_zero(bond_disorder) and _checks.is_zero(onsite_disorder))
    key = _checks.check_key(key, disordered, "bond_disorder or onsite_disorder")
    return (t, wb, wo, key), lat, (ranges,)


def _ssh_core(t, wb, wo, key, lat: Lattice, ranges) -> Terms:
    fams = [lat.hop((r,), 0, 1) for r in ranges]  # B_n -> A_{n+r}
    rows = tuple(f[0] for f in fams)
    cols = tuple(f[1] for f in fams)
    vals = [jnp.broadcast_to(t[i], rows[i].shape) for i in range(len(ranges))]
    diag = None
    if key is not None:
        # Separate streams for bonds and sites: switching onsite disorder on leaves the bonds alone.
        kb, ko = _disorder_keys(key, 2)
        n_b = sum(len(r) for r in rows)
        noise = _uniform(kb, (n_b,), wb, t.dtype)
        splits = np.cumsum([len(r) for r in rows])[:-1]
        vals = [v + n for v, n in zip(vals, jnp.split(noise, splits))]
        diag = _uniform(ko, (lat.n_sites,), wo, t.dtype)
    return Terms(lat.n_sites, rows, cols, tuple(vals), (True,) * len(rows), diag)


def ssh_terms(t, lat: Lattice, ranges=(0, 1), bond_disorder=0.0, onsite_disorder=0.0, key=None) -> Terms:
    """The :class:`Terms` of :func:`ssh` (same arguments, same checks)."""
    args, lat, static = _ssh_check(t, lat, ranges, bond_disorder, onsite_disorder, key)
    return _ssh_core(*args, lat, *static)


def ssh(t, lat: Lattice, ranges=(0, 1), bond_disorder=0.0, onsite_disorder=0.0, key=None) -> jax.Array:
    r"""Real-space Hamiltonian of the SSH family, shape ``(2L, 2L)``.

    Args:
      t: hopping amplitudes, shape ``(len(ranges),)``; ``t[i]`` couples ``B_n`` with
        ``A_{n+ranges[i]}``. With ``ranges=(0, 1)``, ``t = (v, w)`` is the standard SSH chain.
      lat: a :func:`tnn.lattice.chain` with ``L`` cells (static). Needs ``L > max|r|`` (open) or
        ``L > 2 max|r|`` (periodic).
      ranges: static tuple of ints.
      bond_disorder: ``Wb >= 0``; uniform ``[-Wb/2, Wb/2]`` added to every bond (chiral).
      onsite_disorder: ``Wo >= 0``; uniform ``[-Wo/2, Wo/2]`` on every site (breaks chirality).
      key: PRNG key, required when a disorder strength is nonzero or traced. With a key, noise is
        always drawn (so ``vmap`` over strengths including 0 is consistent).

    Returns:
      ``H`` of shape ``(2L, 2L)``, real for real ``t``.
    """
    args, lat, static = _ssh_check(t, lat, ranges, bond_disorder, onsite_disorder, key)
    return _build(_ssh_core, args, lat, static, False)


def chiral_operator(lat: Lattice) -> np.ndarray:
    """The chiral (sublattice) operator ``Gamma = diag(+1 on A, -1 on B)`` as a vector ``(N,)``."""
    return np.where(lat.sublattice == 0, 1.0, -1.0)


# ------------------------------------------------------------------------------------------ QWZ
_SX = np.array([[0, 1], [1, 0]], dtype=complex)
_SY = np.array([[0, -1j], [1j, 0]], dtype=complex)
_SZ = np.array([[1, 0], [0, -1]], dtype=complex)
QWZ_TX = (_SZ + 1j * _SX) / 2  # block H[r + x, r]
QWZ_TY = (_SZ + 1j * _SY) / 2  # block H[r + y, r]


def _block_family(lat: Lattice, offset, block: np.ndarray):
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


@functools.lru_cache(maxsize=None)
def _qwz_static(lat: Lattice):
    fx = _block_family(lat, (1, 0), QWZ_TX)
    fy = _block_family(lat, (0, 1), QWZ_TY)
    rows = np.concatenate([fx[0], fy[0]])
    cols = np.concatenate([fx[1], fy[1]])
    vals = np.concatenate([fx[2], fy[2]])
    sz = np.where(lat.sublattice == 0, 1.0, -1.0)
    return rows, cols, vals, sz


def _anderson(key, lat, w, dtype):
    return _uniform(key, (lat.n_sites,), w, dtype)


def _qwz_check(m, lat, onsite_disorder=0.0, key=None):
    lat = _checks.lattice(lat, ("square",), "QWZ")
    m = _checks.as_param("m", m, ())
    w = _checks.nonnegative("onsite_disorder", onsite_disorder)
    key = _checks.check_key(key, not _checks.is_zero(onsite_disorder), "onsite_disorder")
    return (m, w, key), lat, ()


def _qwz_core(m, w, key, lat: Lattice) -> Terms:
    rows, cols, vals, sz = _qwz_static(lat)
    cdtype = complex_dtype(m.dtype)
    diag = m * jnp.asarray(sz, dtype=m.dtype)
    if key is not None:
        diag = diag + _anderson(key, lat, w, m.dtype)
    return Terms(lat.n_sites, (rows,), (cols,), (jnp.asarray(vals, dtype=cdtype),), (True,), diag)


def qwz_terms(m, lat: Lattice, onsite_disorder=0.0, key=None) -> Terms:
    """The :class:`Terms` of :func:`qwz` (same arguments, same checks)."""
    args, lat, static = _qwz_check(m, lat, onsite_disorder, key)
    return _qwz_core(*args, lat, *static)


def qwz(m, lat: Lattice, onsite_disorder=0.0, key=None) -> jax.Array:
    r"""Real-space Qi-Wu-Zhang Chern insulator, shape ``(2 lx ly, 2 lx ly)``, complex.

    Args:
      m: mass, scalar. Clean Chern number ``C = +1`` for ``-2 < m < 0``, ``-1`` for ``0 < m < 2``.
      lat: a :func:`tnn.lattice.square` lattice (static).
      onsite_disorder: Anderson strength ``W >= 0`` (uniform ``[-W/2, W/2]`` per orbital).
      key: PRNG key, required when ``onsite_disorder`` is nonzero or traced.
    """
    args, lat, static = _qwz_check(m, lat, onsite_disorder, key)
    return _build(_qwz_core, args, lat, static, False)


# -------------------------------------------------------------------------------------- Haldane
_NNN_OFFSETS = ((1, 0), (0, 1), (-1, 1), (-1, 0), (0, -1), (1, -1))


@functools.lru_cache(maxsize=None)
def haldane_nnn_chirality() -> dict[tuple[int, int, int], int]:
    """``nu`` for each NNN hop ``(offset, sublattice)``: the hop ``j = (R, s) -> i = (R + offset, s)``.

    Computed from the geometry: ``k`` is the common nearest neighbour of ``j`` and ``i`` and
    ``nu = sign((r_k - r_j) x (r_i - r_k))_z`` (+1 for a counter-clockwise turn).
    """
    a = np.array([[1.0, 0.0], [0.5, np.sqrt(3) / 2]])
    basis = np.array([[0.0, 0.0], [0.5, np.sqrt(3) / 6]])
    nn = 1.0 / np.sqrt(3)
    out = {}
    for s in range(2):
        other = 1 - s
        cand = [np.array(c) @ a + basis[other] for c in np.ndindex(5, 5)]
        cand = [c - 2 * a[0] - 2 * a[1] for c in cand]
        rj = basis[s]
        for off in _NNN_OFFSETS:
            ri = np.array(off) @ a + basis[s]
            ks = [c for c in cand if abs(np.linalg.norm(c - rj) - nn) < 1e-9 and abs(np.linalg.norm(c - ri) - nn) < 1e-9]
            assert len(ks) == 1, (s, off, ks)
            rk = ks[0]
            u, v = rk - rj, ri - rk
            out[(off[0], off[1], s)] = int(np.sign(u[0] * v[1] - u[1] * v[0]))
    return out


@functools.lru_cache(maxsize=None)
def _haldane_static(lat: Lattice):
    nn = [lat.hop(off, 0, 1) for off in ((0, 0), (1, 0), (0, 1))]  # B(R) -> A(R + off)
    nn_rows = np.concatenate([f[0] for f in nn])
    nn_cols = np.concatenate([f[1] for f in nn])
    nu = haldane_nnn_chirality()
    rows, cols, sgn = [], [], []
    for s in range(2):
        for off in _NNN_OFFSETS:
            r, c, _ = lat.hop(off, s, s)
            rows.append(r)
            cols.append(c)
            sgn.append(np.full(r.shape, nu[(off[0], off[1], s)], dtype=np.float64))
    mass = np.where(lat.sublattice == 0, 1.0, -1.0)
    return nn_rows, nn_cols, np.concatenate(rows), np.concatenate(cols), np.concatenate(sgn), mass


def _haldane_check(t1, t2, phi, M, lat, onsite_disorder=0.0, key=None):
    lat = _checks.lattice(lat, ("honeycomb",), "Haldane")
    t1 = _checks.as_param("t1", t1, ())
    t2 = _checks.as_param("t2", t2, ())
    phi = _checks.as_param("phi", phi, ())
    M = _checks.as_param("M", M, ())
    w = _checks.nonnegative("onsite_disorder", onsite_disorder)
    key = _checks.check_key(key, not _checks.is_zero(onsite_disorder), "onsite_disorder")
    return (t1, t2, phi, M, w, key), lat, ()


def _haldane_core(t1, t2, phi, M, w, key, lat: Lattice) -> Terms:
    nn_r, nn_c, nnn_r, nnn_c, nu, mass = _haldane_static(lat)
    rdtype = real_dtype(t1, t2, phi, M)
    t1, t2, phi, M = (x.astype(rdtype) for x in (t1, t2, phi, M))
    cdtype = complex_dtype(rdtype)
    v_nn = jnp.broadcast_to(t1.astype(cdtype), nn_r.shape)
    # Each directed NNN hop is listed with its reverse (nu flips), so no extra h.c. is added.
    v_nnn = t2.astype(cdtype) * jnp.exp(1j * (jnp.asarray(nu, rdtype) * phi).astype(cdtype))
    diag = M * jnp.asarray(mass, rdtype)
    if key is not None:
        diag = diag + _anderson(key, lat, w, rdtype)
    return Terms(lat.n_sites, (nn_r, nnn_r), (nn_c, nnn_c), (v_nn, v_nnn), (True, False), diag)


def haldane_terms(t1, t2, phi, M, lat: Lattice, onsite_disorder=0.0, key=None) -> Terms:
    """The :class:`Terms` of :func:`haldane` (same arguments, same checks)."""
    args, lat, static = _haldane_check(t1, t2, phi, M, lat, onsite_disorder, key)
    return _haldane_core(*args, lat, *static)


def haldane(t1, t2, phi, M, lat: Lattice, onsite_disorder=0.0, key=None) -> jax.Array:
    r"""Real-space Haldane model on the honeycomb lattice, shape ``(2 lx ly, 2 lx ly)``, complex.

    Args:
      t1: nearest-neighbour hopping. t2: next-nearest-neighbour hopping magnitude.
      phi: NNN flux phase; the hop ``j -> k -> i`` carries ``t2 exp(i nu phi)``, ``nu = +1`` for a
        counter-clockwise turn at ``k``. M: sublattice mass (+M on A, -M on B).
      lat: a :func:`tnn.lattice.honeycomb` lattice (static).
      onsite_disorder: Anderson strength ``W >= 0``; key: PRNG key when it is nonzero or traced.

    Clean Chern number: ``C = -sign(t2 sin phi)`` for ``|M| < 3 sqrt(3) |t2 sin phi|``, else 0.
    """
    args, lat, static = _haldane_check(t1, t2, phi, M, lat, onsite_disorder, key)
    return _build(_haldane_core, args, lat, static, False)


MODEL_PARAMS = {"ssh": ("t",), "qwz": ("m",), "haldane": ("t1", "t2", "phi", "M")}
_TERMS = {"ssh": ssh_terms, "qwz": qwz_terms, "haldane": haldane_terms}
_CHECK_CORE = {
    "ssh": (_ssh_check, _ssh_core),
    "qwz": (_qwz_check, _qwz_core),
    "haldane": (_haldane_check, _haldane_core),
}


def _check_model(model: str, params: dict, kwargs: dict) -> None:
    if model not in _TERMS:
        raise ValueError(f"Argument `model` must be 'ssh', 'qwz' or 'haldane', got {model!r}.")
    if not isinstance(params, dict) or set(params) != set(MODEL_PARAMS[model]):
        got = sorted(params) if isinstance(params, dict) else type(params).__name__
        raise ValueError(
            f"Argument `params` for model {model!r} must be a dict with exactly the keys "
            f"{sorted(MODEL_PARAMS[model])}, got {got}."
        )
    clash = set(kwargs) & set(MODEL_PARAMS[model])
    if clash:
        raise ValueError(f"Argument `params` must hold {sorted(clash)}, not the keyword arguments.")


def terms(model: str, params: dict, lat: Lattice, **kwargs) -> Terms:
    """The hopping-family list of ``model`` (``"ssh"``, ``"qwz"``, ``"haldane"``).

    ``params`` is keyed as the builder's physical arguments (``MODEL_PARAMS[model]``); ``kwargs``
    are the remaining keyword arguments of the builder (``ranges``, disorder strengths, ``key``).
    """
    _check_model(model, params, kwargs)
    return _TERMS[model](lat=lat, **params, **kwargs)


# The dense and sparse builders run their (check-free) core under one jit per geometry: eager
# op-by-op scatters cost ~1 s of dispatch/compilation per new lattice, a jitted build ~0.1 s. Inside a
# caller's jit this inner jit is simply inlined.
@functools.partial(jax.jit, static_argnums=(0, 2, 3, 4))
def _build(core, args, lat: Lattice, static: tuple, sparse_out: bool):
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
    _check_model(model, params, kwargs)
    check, core = _CHECK_CORE[model]
    args, lat, static = check(**params, lat=lat, **kwargs)
    return _build(core, args, lat, static, True)
