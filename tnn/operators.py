r"""Matrix-free Hamiltonians: the action ``v -> H v`` without an ``(N, N)`` array.

An :class:`Operator` is a JAX pytree: its traced leaves are the matrix entries (hopping amplitudes,
onsite terms, disorder included), its static aux data the sparsity pattern (NumPy index arrays or
shifts, hashed once). ``jax.jit`` compiles once per pattern and ``jax.vmap`` maps over stacks of
entries, so an operator built from traced parameters inside ``jit``/``vmap`` works like any array.
``op @ v`` and ``op(v)`` take ``v`` of shape ``(N,)`` or ``(N, k)`` (``k`` vectors at once) and return
the same shape.

Three engines, one interface:

* ``"stencil"`` (:func:`from_terms` with a lattice; what :func:`tnn.hamiltonians.operator` returns):
  ``v`` is viewed on the cells x orbitals grid ``(*lat.dims, n_orb, k)`` and every hopping family
  becomes a shifted, amplitude-weighted copy, ``out[R + d, a] += t_d(R) v[R, b]`` -- a roll along
  the cell axes, no gather, no index arrays at run time. Entries are grouped by the cell
  displacement ``d`` (modulo the sample, so periodic wraps are the same roll) and stored as one
  ``(*dims)`` array per (displacement, orbital pair); open boundaries are zeros in it. A family
  marked ``hermitize`` stores its amplitudes once and applies the conjugate as the opposite roll.
* ``"bonds"`` (:func:`from_terms` without a lattice, :func:`as_operator` of a ``scipy.sparse``
  matrix or a ``jax.experimental.sparse.BCOO``): a gather ``v[cols]`` and a sorted segment sum over
  ``rows`` (COO/CSR), for any pattern (vacancies, a user's Hamiltonian).
* ``"dense"`` (:func:`as_operator` of an ``(N, N)`` array): ``H @ v``, for small checks.

The Hamiltonian is a *description* with the fields of :class:`tnn.hamiltonians.Terms` (``n, rows,
cols, vals, hermitize, diag``: ``H[rows_f, cols_f] += vals_f`` plus the conjugate where
``hermitize``, plus ``diag``), read by duck typing: this module sits below the systems and the
builders (it imports only :mod:`tnn._checks` and :mod:`tnn.lattice`) and knows no system by name.

Site order: the stencil engine needs the library's order (site ``cell * n_orb + orbital``, cells in
C order, :mod:`tnn.lattice`), which every builder writes; the other engines take any order.
"""

from __future__ import annotations

import functools
import hashlib
import sys
from typing import NamedTuple

import numpy as np
import jax
import jax.numpy as jnp

from tnn import _checks
from tnn.lattice import Lattice, check_lattice

__all__ = ["Operator", "from_terms", "as_operator", "is_operator", "lanczos_bounds", "ENGINES"]

#: the product engines (module docstring)
ENGINES = ("stencil", "bonds", "dense")


class _Static:
    """Hashable holder of static NumPy arrays (aux data of a pytree): equal when the arrays are,
    hashed by a digest computed once."""

    __slots__ = ("arrays", "_digest")

    def __init__(self, *arrays):
        self.arrays = tuple(np.ascontiguousarray(a) for a in arrays)
        h = hashlib.sha1()
        for a in self.arrays:
            h.update(str((a.dtype.str, a.shape)).encode())
            h.update(a.tobytes())
        self._digest = h.hexdigest()

    def __hash__(self):
        return hash(self._digest)

    def __eq__(self, other):
        return isinstance(other, _Static) and other._digest == self._digest

    def __repr__(self):
        return f"_Static({', '.join(str(a.shape) for a in self.arrays)})"


class _Group(NamedTuple):
    """One stencil group: a cell displacement ``shift`` (modulo the sample), whether the conjugate
    is applied too, and the orbital pairs ``(to, from)`` with one amplitude array each."""

    shift: tuple[int, ...]
    hermitize: bool
    pairs: tuple[tuple[int, int], ...]


class _Structure(NamedTuple):
    """Static description of an operator (the aux data of the pytree)."""

    engine: str
    n: int
    dims: tuple[int, ...] = ()
    n_orb: int = 1
    groups: tuple[_Group, ...] = ()
    bonds: _Static | None = None  # rows, cols (sorted by rows) of the "bonds" engine
    has_diag: bool = False


@jax.tree_util.register_pytree_node_class
class Operator:
    r"""The action ``v -> H v`` of an ``(N, N)`` matrix ``H``; build it with :func:`from_terms`,
    :func:`as_operator` or :func:`tnn.hamiltonians.operator`.

    ``op @ v`` / ``op(v)``: ``v`` ``(N,)`` or ``(N, k)`` -> same shape, dtype the promotion of the
    entries' and ``v``'s. Attributes: ``n`` (``N``), ``shape`` ``(N, N)``, ``dtype``, ``engine``.
    Methods: :meth:`scaled` (``alpha H + beta``), :meth:`gershgorin` (rigorous spectral bounds),
    :meth:`todense` (small ``N`` only). A pytree: leaves are the entries (``values``, one array per
    stencil pair or the nonzeros, then the diagonal), aux data the static pattern.
    """

    def __init__(self, structure: _Structure, values: tuple):
        self.structure = structure
        self.values = tuple(values)

    # ------------------------------------------------------------------ pytree
    def tree_flatten(self):
        return self.values, self.structure

    @classmethod
    def tree_unflatten(cls, structure, values):
        return cls(structure, values)

    # ------------------------------------------------------------------ description
    @property
    def n(self) -> int:
        return self.structure.n

    @property
    def shape(self) -> tuple[int, int]:
        return (self.n, self.n)

    @property
    def engine(self) -> str:
        return self.structure.engine

    @property
    def dtype(self):
        return np.result_type(*[np.dtype(a.dtype) for a in self.values]) if self.values else jnp.result_type(float)

    def __repr__(self) -> str:
        extra = f", dims={self.structure.dims}, groups={len(self.structure.groups)}" if self.engine == "stencil" else ""
        return f"Operator(engine={self.engine!r}, n={self.n}{extra})"

    # ------------------------------------------------------------------ products
    def __matmul__(self, v):
        return self.matvec(v)

    def __call__(self, v):
        return self.matvec(v)

    def matvec(self, v):
        """``H v`` for ``v`` ``(N,)`` or ``(N, k)``."""
        v = jnp.asarray(v)
        if v.ndim not in (1, 2) or v.shape[0] != self.n:
            raise ValueError(f"Argument `v` must have shape ({self.n},) or ({self.n}, k), but has shape {tuple(v.shape)}.")
        # the common dtype of v and the entries, promoted explicitly (NumPy's rule, JAX's standard one
        # for these dtypes): a real v times a complex H runs under jax_numpy_dtype_promotion="strict" too
        dtype = np.result_type(v.dtype, *(np.dtype(a.dtype) for a in jax.tree_util.tree_leaves(self.values)))
        values = jax.tree_util.tree_map(lambda a: a.astype(dtype), self.values)
        out = _APPLY[self.engine](self.structure, values, v.astype(dtype).reshape(self.n, -1))
        return out.reshape(v.shape)

    def scaled(self, alpha, beta=0.0) -> "Operator":
        """The operator of ``alpha H + beta 1`` (real ``alpha``, ``beta``; traced allowed): entries
        scaled, ``beta`` added on the diagonal, the same pattern (so the same product cost)."""
        s = self.structure
        rdt = jnp.real(jnp.zeros((), self.dtype)).dtype
        alpha = jnp.asarray(alpha, rdt)
        beta = jnp.asarray(beta, rdt)
        if s.engine == "dense":
            (H,) = self.values
            return Operator(s, (alpha.astype(H.dtype) * H + beta.astype(H.dtype) * jnp.eye(self.n, dtype=H.dtype),))
        vals = list(self.values)
        if s.has_diag:
            *off, diag = vals
            diag = alpha.astype(diag.dtype) * diag + beta.astype(diag.dtype)
        else:
            off, diag = vals, jnp.full((self.n,), beta, rdt)
        return Operator(s._replace(has_diag=True), tuple(alpha.astype(x.dtype) * x for x in off) + (diag,))

    def gershgorin(self):
        r"""Rigorous spectral bounds ``(lo, hi)`` of a Hermitian ``H`` by Gershgorin's theorem:
        ``lo = min_i (H_ii - R_i)``, ``hi = max_i (H_ii + R_i)``, ``R_i = sum_{j != i} |H_ij|``
        (duplicates of the pattern counted separately, which only widens them). Scalars (arrays)."""
        s = self.structure
        if s.engine == "dense":
            (H,) = self.values
            d = jnp.real(jnp.diagonal(H))
            r = jnp.sum(jnp.abs(H), axis=1) - jnp.abs(jnp.diagonal(H))
            return jnp.min(d - r), jnp.max(d + r)
        vals = list(self.values)
        diag = vals.pop() if s.has_diag else None
        rdt = jnp.real(jnp.zeros((), self.dtype)).dtype
        ones = jnp.ones((self.n, 1), rdt)
        if s.engine == "stencil":
            radius = _apply_stencil(s._replace(has_diag=False), tuple(jnp.abs(x) for x in vals), ones)[:, 0]
        else:
            rows, cols = s.bonds.arrays
            on = rows == cols
            a = jnp.abs(vals[0])
            radius = jax.ops.segment_sum(jnp.where(on, 0.0, a), rows, num_segments=self.n, indices_are_sorted=True)
            d_bonds = jax.ops.segment_sum(jnp.where(on, jnp.real(vals[0]), 0.0), rows, num_segments=self.n,
                                          indices_are_sorted=True)
            diag = d_bonds if diag is None else diag + d_bonds
        d = jnp.zeros((self.n,), rdt) if diag is None else jnp.real(diag)
        return jnp.min(d - radius), jnp.max(d + radius)

    def todense(self):
        """The ``(N, N)`` matrix (columns ``H e_j``): for checks on small samples only."""
        return self.matvec(jnp.eye(self.n, dtype=self.dtype))


def is_operator(x) -> bool:
    """True for an :class:`Operator`."""
    return isinstance(x, Operator)


# ------------------------------------------------------------------------------ products
def _roll(x, shift):
    """``x`` rolled by ``shift`` along its leading ``len(shift)`` axes (static ints, zeros skipped)."""
    axes = tuple(i for i, s in enumerate(shift) if s)
    if not axes:
        return x
    return jnp.roll(x, tuple(shift[i] for i in axes), axis=axes)


def _apply_stencil(s: _Structure, values, v):
    k = v.shape[-1]
    x = v.reshape(*s.dims, s.n_orb, k)
    nd = len(s.dims)
    vals = list(values)
    diag = vals.pop() if s.has_diag else None
    orb = [x[..., b, :] for b in range(s.n_orb)]
    out = [None] * s.n_orb

    def add(a, term):
        out[a] = term if out[a] is None else out[a] + term

    if diag is not None:
        d = diag.reshape(*s.dims, s.n_orb)
        for a in range(s.n_orb):
            add(a, d[..., a, None] * orb[a])
    it = iter(vals)
    for g in s.groups:
        amps = [next(it) for _ in g.pairs]
        # forward: out[R + d, a] += t(R) v[R, b], summed over b before the one roll per a
        src = {}
        for (a, b), t in zip(g.pairs, amps):
            term = t[..., None] * orb[b]
            src[a] = term if a not in src else src[a] + term
        for a, term in src.items():
            add(a, _roll(term, g.shift))
        if g.hermitize:
            # conjugate: out[R, b] += conj(t(R)) v[R + d, a] = roll(sum_a conj(t(R' - d)) v[R', a], -d)[R]:
            # the amplitudes rolled forward (loop-invariant, hoisted out of a Chebyshev loop), then one
            # roll per b of a product, like the forward terms. Rolling v itself (shared by the pairs)
            # made XLA materialize each rolled copy (2 vectors of temporaries and traffic per product).
            back = tuple(-sh for sh in g.shift)
            dst = {}
            for (a, b), t in zip(g.pairs, amps):
                term = jnp.conj(_roll(t, g.shift))[..., None] * orb[a]
                dst[b] = term if b not in dst else dst[b] + term
            for b, term in dst.items():
                add(b, _roll(term, back))
    for a in range(s.n_orb):
        if out[a] is None:
            out[a] = jnp.zeros_like(orb[a], dtype=jnp.result_type(v, *values) if values else v.dtype)
    return jnp.stack(out, axis=nd).reshape(s.n, k)


def _apply_bonds(s: _Structure, values, v):
    rows, cols = s.bonds.arrays
    vals = values[0]
    out = jax.ops.segment_sum(vals[:, None] * v[cols], rows, num_segments=s.n, indices_are_sorted=True)
    if s.has_diag:
        out = out + values[1][:, None] * v
    return out


def _apply_dense(s: _Structure, values, v):
    return values[0] @ v


_APPLY = {"stencil": _apply_stencil, "bonds": _apply_bonds, "dense": _apply_dense}


@functools.partial(jax.jit, static_argnames=("num_steps",))
def lanczos_bounds(op: Operator, num_steps: int, margin, key):
    r"""Spectral bounds ``(lo, hi)`` of a Hermitian operator (arrays; jitted, ``num_steps`` static):
    ``num_steps`` Lanczos steps from a Gaussian start (``key``), the extreme Ritz values moved out by
    their residuals ``|beta_m y_m|`` and then by ``margin`` times the half width, capped by
    :meth:`Operator.gershgorin`. Checked wrapper: :func:`tnn.kpm.spectral_bounds`."""
    rdt = jnp.real(jnp.zeros((), op.dtype)).dtype
    cdt = np.result_type(op.dtype, rdt)
    n = op.n
    v0 = jax.random.normal(key, (n,), rdt).astype(cdt)
    v0 = v0 / jnp.linalg.norm(v0).astype(cdt)
    tiny = jnp.finfo(rdt).tiny ** 0.5
    # The carries take the operator's type: under shard_map an operator that varies over a mesh axis
    # makes every step's output vary, and scan needs the initial carry to vary alike ("scan-vma").
    # Adding an exact zero computed from the operator does that on any JAX version; same numbers.
    zero = jnp.zeros((), rdt) * jnp.real(jnp.vdot(v0, (op @ v0[:, None])[:, 0]))
    v0 = v0 + zero.astype(cdt)

    def step(carry, _):
        vp, v, beta = carry
        w = (op @ v[:, None])[:, 0] - beta.astype(cdt) * vp
        alpha = jnp.real(jnp.vdot(v, w))
        w = w - alpha.astype(cdt) * v
        b = jnp.linalg.norm(w)
        ok = b > tiny
        vn = jnp.where(ok, w / jnp.where(ok, b, 1.0).astype(cdt), 0.0)
        return (v, vn, jnp.where(ok, b, 0.0)), (alpha, jnp.where(ok, b, 0.0))

    _, (alphas, betas) = jax.lax.scan(step, (jnp.zeros_like(v0), v0, zero), None, length=num_steps)
    T = jnp.diag(alphas) + jnp.diag(betas[:-1], 1) + jnp.diag(betas[:-1], -1)
    theta, Y = jnp.linalg.eigh(T)
    # Ritz residuals |beta_m y_m| of the extreme Ritz values: an eigenvalue lies within each.
    lo = theta[0] - jnp.abs(betas[-1] * Y[-1, 0])
    hi = theta[-1] + jnp.abs(betas[-1] * Y[-1, -1])
    half = (hi - lo) / 2
    lo, hi = lo - margin * half, hi + margin * half
    glo, ghi = op.gershgorin()
    return jnp.maximum(lo, glo), jnp.minimum(hi, ghi)


# ------------------------------------------------------------------------------ constructors
def _terms_dtype(tm):
    xs = list(tm.vals) + ([] if tm.diag is None else [tm.diag])
    return np.result_type(*[np.dtype(x.dtype) for x in xs]) if xs else np.dtype(float)


def _stencil_groups(tm, lat: Lattice):
    """Group every entry by ``(shift mod dims, hermitize, orbital pair)``; returns ``{key: [(family,
    entry indices, source cells)]}``."""
    n_orb = lat.n_orb
    dims = np.asarray(lat.dims)
    cc = lat.cell_coords
    groups: dict = {}
    for f, (r, c, herm) in enumerate(zip(tm.rows, tm.cols, tm.hermitize)):
        r, c = np.asarray(r, np.int64), np.asarray(c, np.int64)
        if r.size == 0:
            continue
        cell_to, o_to = np.divmod(r, n_orb)
        cell_from, o_from = np.divmod(c, n_orb)
        shift = np.mod(cc[cell_to] - cc[cell_from], dims)
        key = np.concatenate([shift, o_to[:, None], o_from[:, None]], axis=1)
        uniq, inv = np.unique(key, axis=0, return_inverse=True)
        inv = inv.reshape(-1)
        for u, row in enumerate(uniq):
            sel = np.flatnonzero(inv == u)
            k = (tuple(int(s) for s in row[:-2]), bool(herm), int(row[-2]), int(row[-1]))
            groups.setdefault(k, []).append((f, sel, cell_from[sel]))
    return groups


def from_terms(tm, lat: Lattice | None = None, engine: str | None = None) -> Operator:
    r"""An :class:`Operator` from a Hamiltonian description ``tm`` with the fields of
    :class:`tnn.hamiltonians.Terms` (``n``, ``rows``, ``cols``, ``vals``, ``hermitize``, ``diag``).

    Args:
      tm: the description; ``rows``/``cols`` static NumPy index arrays, ``vals``/``diag`` arrays
        (traced allowed: call it inside ``jit``/``vmap``).
      lat: the lattice of the sample (library site order), for the stencil engine; None: bonds.
      engine: None (default: ``"stencil"`` when ``lat`` is given and its amplitude arrays, one
        ``(*dims)`` array per (displacement, orbital pair), hold at most twice as many numbers as
        the pattern has entries -- true for every translation-invariant family, open or periodic;
        else ``"bonds"``), ``"stencil"`` or ``"bonds"``.

    Returns:
      :class:`Operator` with ``op @ v == assemble(tm) @ v`` (to rounding).
    """
    if engine is not None and engine not in ("stencil", "bonds"):
        raise ValueError(f"Argument `engine` must be None, 'stencil' or 'bonds', got {engine!r}.")
    n = int(tm.n)
    if lat is not None:
        lat = check_lattice(lat, ("chain", "square", "honeycomb"), "a stencil operator", builder=True)
        if lat.n_sites != n:
            raise ValueError(f"Argument `lat` has {lat.n_sites} sites, but the Hamiltonian has {n}.")
    elif engine == "stencil":
        raise ValueError("Argument `lat` must be given for engine='stencil' (the stencil lives on its cell grid).")
    dtype = _terms_dtype(tm)
    diag = None if tm.diag is None else jnp.asarray(tm.diag).astype(dtype)
    groups = _stencil_groups(tm, lat) if lat is not None and engine != "bonds" else None
    if groups is not None:
        n_entries = sum(int(np.size(r)) for r in tm.rows)
        if engine == "stencil" or len(groups) * lat.n_cells <= 2 * max(n_entries, lat.n_cells):
            return _stencil_from_groups(tm, lat, groups, dtype, diag)
    return _bonds_from_terms(tm, dtype, diag)


def _stencil_from_groups(tm, lat, groups, dtype, diag):
    # one group per (shift, hermitize), its orbital pairs in a fixed order
    by_shift: dict = {}
    for (shift, herm, a, b), parts in sorted(groups.items()):
        by_shift.setdefault((shift, herm), []).append(((a, b), parts))
    structs, values = [], []
    vals = [jnp.asarray(v).astype(dtype) for v in tm.vals]
    for (shift, herm), pairs in by_shift.items():
        for _, parts in pairs:
            grid = jnp.zeros((lat.n_cells,), dtype)
            for f, sel, src in parts:
                grid = grid.at[np.asarray(src, np.int32)].add(vals[f][np.asarray(sel, np.int32)])
            values.append(grid.reshape(lat.dims))
        structs.append(_Group(shift, herm, tuple(p for p, _ in pairs)))
    if diag is not None:
        values.append(diag)
    s = _Structure("stencil", lat.n_sites, tuple(lat.dims), lat.n_orb, tuple(structs), None, diag is not None)
    return Operator(s, tuple(values))


def _bonds_operator(n, rows, cols, vals, diag):
    order = np.argsort(rows, kind="stable")
    rows, cols = rows[order].astype(np.int32), cols[order].astype(np.int32)
    vals = vals[np.asarray(order, np.int32)] if order.size else vals
    s = _Structure("bonds", n, bonds=_Static(rows, cols), has_diag=diag is not None)
    return Operator(s, (vals,) if diag is None else (vals, diag))


def _bonds_from_terms(tm, dtype, diag):
    rows, cols, vals = [], [], []
    for r, c, v, herm in zip(tm.rows, tm.cols, tm.vals, tm.hermitize):
        v = jnp.asarray(v).astype(dtype)
        rows.append(np.asarray(r))
        cols.append(np.asarray(c))
        vals.append(v)
        if herm:
            rows.append(np.asarray(c))
            cols.append(np.asarray(r))
            vals.append(jnp.conj(v))
    if not rows:
        rows, cols, vals = [np.zeros(0, np.int64)], [np.zeros(0, np.int64)], [jnp.zeros((0,), dtype)]
    return _bonds_operator(int(tm.n), np.concatenate(rows), np.concatenate(cols), jnp.concatenate(vals), diag)


def as_operator(H) -> Operator:
    r"""Wrap a user's Hamiltonian as an :class:`Operator`.

    Args:
      H: an :class:`Operator` (returned unchanged); a ``scipy.sparse`` matrix or array ``(N, N)``;
        a ``jax.experimental.sparse.BCOO`` ``(N, N)`` with concrete indices (its values may be traced);
        or a dense ``(N, N)`` NumPy/JAX array (engine ``"dense"``).

    Returns:
      :class:`Operator`; sparse input gets the ``"bonds"`` engine (duplicates summed, as in the matrix).
    """
    if isinstance(H, Operator):
        return H
    sp = sys.modules.get("scipy.sparse")
    if sp is not None and sp.issparse(H):
        if H.ndim != 2 or H.shape[0] != H.shape[1]:
            raise ValueError(f"Argument `H` must have shape (N, N), but has shape {tuple(H.shape)}.")
        coo = sp.coo_matrix(H)
        coo.sum_duplicates()
        return _bonds_operator(int(H.shape[0]), np.asarray(coo.row, np.int64), np.asarray(coo.col, np.int64),
                               jnp.asarray(coo.data), None)
    bcoo = _bcoo_type()
    if bcoo is not None and isinstance(H, bcoo):
        if H.ndim != 2 or H.shape[0] != H.shape[1] or H.n_batch or H.n_dense:
            raise ValueError(f"Argument `H` must be a 2D BCOO of shape (N, N) without batch or dense dimensions, "
                             f"got shape {tuple(H.shape)}.")
        idx = _checks.concrete_value(H.indices)
        if idx is None:
            raise ValueError("Argument `H` is a BCOO with traced indices: its pattern must be concrete (build the "
                             "matrix outside jit, or use tnn.hamiltonians.operator).")
        return _bonds_operator(int(H.shape[0]), np.asarray(idx[:, 0], np.int64), np.asarray(idx[:, 1], np.int64),
                               H.data, None)
    arr = _checks.square_matrix("H", H)
    return Operator(_Structure("dense", int(arr.shape[0])), (arr,))


def _bcoo_type():
    mod = sys.modules.get("jax.experimental.sparse")
    return None if mod is None else mod.BCOO
