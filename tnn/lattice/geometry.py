r"""The :class:`Lattice` and its builders (:mod:`tnn.lattice`; conventions in its docstring and docs/conventions.md)."""


from __future__ import annotations

import dataclasses
import functools

import jax
import numpy as np

from tnn import _checks

__all__ = ["Lattice", "chain", "square", "honeycomb", "bravais", "check_lattice", "CHAINS", "PLANES", "ANY_KIND",
           "BRAVAIS", "KIND_VECTORS", "KIND_BASIS", "float_rows"]

_SQRT3 = float(np.sqrt(3.0))

#: Bravais vectors (rows) and orbital offsets inside the cell of the library's kinds.
KIND_VECTORS = {
    "chain": np.array([[1.0]]),
    "square": np.eye(2),
    "honeycomb": np.array([[1.0, 0.0], [0.5, _SQRT3 / 2.0]]),
}
KIND_BASIS = {
    "chain": np.zeros((2, 1)),
    "square": np.zeros((2, 2)),
    "honeycomb": np.array([[0.0, 0.0], [0.5, _SQRT3 / 6.0]]),
}
_ORBITAL_NAMES = {"chain": ("A", "B"), "square": ("s0", "s1"), "honeycomb": ("A", "B")}
#: kinds whose cell may hold another number of orbitals than two (all at the cell's position)
_FREE_ORBITALS = ("square",)
#: the kind of a user's lattice: Bravais vectors and orbital offsets of its own (:func:`bravais`)
BRAVAIS = "bravais"
_KIND_NDIM = {"chain": 1, "square": 2, "honeycomb": 2}
#: what the invariants read (:func:`check_lattice`): a chain, a plane, or any, each with a user's own
CHAINS = ("chain", BRAVAIS)
PLANES = ("square", "honeycomb", BRAVAIS)
ANY_KIND = ("chain", "square", "honeycomb", BRAVAIS)
#: decimals kept of a user's vectors and offsets, so that equal geometries hash equal
_DECIMALS = 12


def _basis(kind: str, n_orb: int) -> np.ndarray:
    """Orbital offsets ``(n_orb, d)`` inside the cell."""
    return KIND_BASIS[kind] if n_orb == 2 else np.zeros((n_orb, KIND_VECTORS[kind].shape[0]))


def float_rows(name: str, value, shape: tuple[int | None, int | None]) -> tuple[tuple[float, ...], ...]:
    """``value`` as a tuple of rows of Python floats (rounded to ``_DECIMALS``), shape checked."""
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise ValueError(f"Argument `{name}` must be a real array, got {value!r}.") from err
    if arr.ndim == 1 and shape[1] == 1:
        arr = arr[:, None]
    if arr.ndim != 2 or any(want is not None and got != want for got, want in zip(arr.shape, shape)) or arr.size == 0:
        want = "x".join("n" if w is None else str(w) for w in shape)
        raise ValueError(f"Argument `{name}` must have shape ({want}), got shape {arr.shape}.")
    _checks.check_finite(name, arr)
    arr = np.round(arr, _DECIMALS) + 0.0  # + 0.0: no negative zeros in the hash
    return tuple(tuple(float(x) for x in row) for row in arr)


@dataclasses.dataclass(frozen=True, eq=True)
class Lattice:
    """A finite lattice sample. Build it with :func:`chain`, :func:`square` or :func:`honeycomb`.

    Attributes:
      kind: ``"chain"``, ``"square"`` or ``"honeycomb"``.
      dims: number of cells along each Bravais direction, ``(L,)`` or ``(lx, ly)``.
      pbc: periodic (True) or open (False) boundary conditions in every direction.
      order: None (matrices are in the library's site order, below), or the site order of a
        user's own matrices (:func:`from_sites`): ``order[i]`` is the user's index of library site
        ``i``, so ``H_library = H[np.ix_(order, order)]``. The invariants apply it to their ``H`` /
        ``V`` inputs; the geometry below is always in the library's order.
      n_orb: orbitals per cell, site ``i = n_orb * cell + orbital``. 2 for every kind; a square
        lattice may have any number ``>= 1`` (all orbitals at the cell's position), a ``"bravais"``
        one has ``len(offsets)``.
      vectors, offsets: a ``"bravais"`` lattice's own Bravais vectors ``(d, d)`` (rows) and orbital
        offsets ``(n_orb, d)``, as tuples of float rows (:func:`bravais`); None for the library's kinds.

    Derived (NumPy, cached): ``n_cells``, ``n_orb``, ``n_sites``, ``ndim``, ``cell_coords``
    ``(n_cells, d)`` int, ``site_cell`` ``(N,)``, ``sublattice`` ``(N,)``, ``site_coords``
    ``(N, d)`` int (the cell coordinate of each site), ``positions`` ``(N, d)`` Cartesian,
    ``bravais`` ``(d, d)``, ``basis`` ``(n_orb, d)``, ``cell_area``, ``bonds`` ``(n_bonds, 2)``.
    """

    kind: str
    dims: tuple[int, ...]
    pbc: bool
    order: tuple[int, ...] | None = None
    n_orb: int = 2
    vectors: tuple[tuple[float, ...], ...] | None = None
    offsets: tuple[tuple[float, ...], ...] | None = None

    def __post_init__(self):
        # Direct construction gets the same checks as the builders, and dims become a tuple of
        # Python ints so that equal samples hash equal however they were spelled.
        if self.kind not in KIND_VECTORS and self.kind != BRAVAIS:
            raise ValueError(f"Argument `kind` must be one of {sorted(KIND_VECTORS) + [BRAVAIS]}, got {self.kind!r}.")
        try:
            dims = tuple(self.dims)
        except TypeError as err:
            raise ValueError(f"Argument `dims` must be a tuple of ints, got {self.dims!r}.") from err
        if self.kind == BRAVAIS:
            self._check_geometry(len(dims))
        elif self.vectors is not None or self.offsets is not None:
            raise ValueError(f"Arguments `vectors` and `offsets` belong to a {BRAVAIS!r} lattice; a {self.kind} has "
                             "the library's own.")
        want = self.bravais.shape[0]
        if len(dims) != want:
            raise ValueError(f"Argument `dims` must have length {want} for a {self.kind}, got {self.dims!r}.")
        object.__setattr__(self, "dims", tuple(_checks.check_int("dims", d, 1) for d in dims))
        object.__setattr__(self, "pbc", _checks.check_bool("pbc", self.pbc))
        n_orb = _checks.check_int("n_orb", self.n_orb, 1)
        if self.kind == BRAVAIS and n_orb != len(self.offsets):
            raise ValueError(f"Argument `n_orb` must equal the number of `offsets` ({len(self.offsets)}), got {self.n_orb!r}.")
        if n_orb != 2 and self.kind not in _FREE_ORBITALS + (BRAVAIS,):
            raise ValueError(f"Argument `n_orb` must be 2 for a {self.kind} lattice (only {_FREE_ORBITALS} take another "
                             f"number of orbitals per cell), got {self.n_orb!r}.")
        object.__setattr__(self, "n_orb", n_orb)
        if self.order is not None:
            order = tuple(int(i) for i in self.order)
            if sorted(order) != list(range(self.n_sites)):
                raise ValueError(f"Argument `order` must be a permutation of range({self.n_sites}).")
            object.__setattr__(self, "order", None if order == tuple(range(self.n_sites)) else order)

    def _check_geometry(self, d: int):
        if d not in (1, 2):
            raise ValueError(f"Argument `dims` must have length 1 or 2 for a {BRAVAIS!r} lattice, got {self.dims!r}.")
        if self.vectors is None or self.offsets is None:
            raise ValueError(f"Arguments `vectors` and `offsets` are required for a {BRAVAIS!r} lattice.")
        vectors = float_rows("vectors", self.vectors, (d, d))
        if abs(np.linalg.det(np.asarray(vectors))) <= 1e-9 * max(1.0, float(np.max(np.abs(vectors))) ** d):
            raise ValueError(f"Argument `vectors` must be linearly independent Bravais vectors, got {vectors!r}.")
        object.__setattr__(self, "vectors", vectors)
        object.__setattr__(self, "offsets", float_rows("offsets", self.offsets, (None, d)))

    # ----------------------------------------------------------------------------- sizes
    @property
    def ndim(self) -> int:
        return len(self.dims)

    @property
    def n_cells(self) -> int:
        return int(np.prod(self.dims))

    @property
    def n_sites(self) -> int:
        return self.n_cells * self.n_orb

    @property
    def shape(self) -> tuple[int, ...]:
        """Shape of a per-cell map, e.g. ``(lx, ly)`` for the local Chern marker."""
        return tuple(self.dims)

    @property
    def orbital_names(self) -> tuple[str, ...]:
        if self.n_orb == 2 and self.kind in _ORBITAL_NAMES:
            return _ORBITAL_NAMES[self.kind]
        return tuple(f"s{o}" for o in range(self.n_orb))

    @property
    def bravais(self) -> np.ndarray:
        """Bravais vectors ``(d, d)``, one per row."""
        return np.array(self.vectors) if self.kind == BRAVAIS else KIND_VECTORS[self.kind].copy()

    @property
    def basis(self) -> np.ndarray:
        """Orbital offsets ``(n_orb, d)`` inside the cell."""
        return np.array(self.offsets) if self.kind == BRAVAIS else _basis(self.kind, self.n_orb).copy()

    @property
    def cell_area(self) -> float:
        """Length (1D) or area (2D) of the unit cell."""
        return float(abs(np.linalg.det(self.bravais)))

    # ----------------------------------------------------------------------------- geometry
    @functools.cached_property
    def cell_coords(self) -> np.ndarray:
        """Integer cell coordinates ``(n_cells, d)`` in C order (last direction fastest)."""
        grids = np.meshgrid(*[np.arange(n) for n in self.dims], indexing="ij")
        return _readonly(np.stack([g.ravel() for g in grids], axis=-1).astype(np.int64))

    @functools.cached_property
    def site_cell(self) -> np.ndarray:
        """Cell index ``(N,)`` of each site."""
        return _readonly(np.repeat(np.arange(self.n_cells), self.n_orb))

    @functools.cached_property
    def sublattice(self) -> np.ndarray:
        """Orbital / sublattice label ``(N,)`` in ``0..n_orb-1`` (0 is A, 1 is B)."""
        return _readonly(np.tile(np.arange(self.n_orb), self.n_cells))

    @functools.cached_property
    def site_coords(self) -> np.ndarray:
        """Integer cell coordinates of each site ``(N, d)``."""
        return _readonly(self.cell_coords[self.site_cell])

    @functools.cached_property
    def positions(self) -> np.ndarray:
        """Cartesian site positions ``(N, d)``: ``R_cell @ bravais + basis[orbital]``."""
        pos = self.site_coords @ self.bravais + self.basis[self.sublattice]
        return _readonly(pos.astype(np.float64))

    def site_index(self, cell: np.ndarray, orb: int | np.ndarray) -> np.ndarray:
        """Site index of orbital ``orb`` in the cell with integer coordinates ``cell`` ``(..., d)``."""
        cell = np.asarray(cell)
        flat = np.ravel_multi_index(tuple(np.moveaxis(cell, -1, 0)), self.dims)
        return flat * self.n_orb + np.asarray(orb)

    def hop(self, offset: tuple[int, ...], orb_to: int, orb_from: int) -> tuple[np.ndarray, ...]:
        """Index arrays of a translation-invariant hopping family.

        For every cell ``R`` whose image ``R + offset`` exists (open boundaries drop bonds that leave
        the sample; periodic ones wrap), returns ``(rows, cols, wrap)``: ``rows`` the sites
        ``(R + offset, orb_to)``, ``cols`` the sites ``(R, orb_from)`` and ``wrap`` ``(n, d)`` the
        number of times each bond crosses the periodic boundary along each direction. A Hamiltonian
        term ``t c^dag_{R+offset, orb_to} c_{R, orb_from}`` is the matrix entry ``H[rows, cols]``.
        The arrays are read-only and cached per ``(lattice, offset, orb_to, orb_from)``.
        """
        off = _checks.check_ints("offset", offset, length=self.ndim)
        orb_to = _checks.check_int("orb_to", orb_to, 0, self.n_orb - 1)
        orb_from = _checks.check_int("orb_from", orb_from, 0, self.n_orb - 1)
        return _hop(self, off, orb_to, orb_from)

    def _hop_uncached(self, offset: tuple[int, ...], orb_to: int, orb_from: int) -> tuple[np.ndarray, ...]:
        target = self.cell_coords + np.asarray(offset, dtype=np.int64)
        dims = np.asarray(self.dims)
        if self.pbc:
            wrap = np.floor_divide(target, dims)
            target = np.mod(target, dims)
            keep = np.ones(self.n_cells, dtype=bool)
        else:
            keep = np.all((target >= 0) & (target < dims), axis=-1)
            wrap = np.zeros_like(target)
        src = np.arange(self.n_cells)[keep]
        rows = self.site_index(target[keep], orb_to)
        cols = src * self.n_orb + orb_from
        return _readonly(rows), _readonly(cols), _readonly(wrap[keep])

    @functools.cached_property
    def bonds(self) -> np.ndarray:
        """Nearest-neighbour bonds ``(n_bonds, 2)`` as site-index pairs ``(i, j)``, each bond once.

        chain: intracell A_n-B_n and intercell B_n-A_{n+1}; square: cell-to-cell bonds along x and y
        (every orbital to itself); honeycomb: the three A-B bonds of each A site; a ``"bravais"``
        lattice: the pairs of distinct sites at the shortest distance between them (cells up to one
        apart). Periodic samples include the wrapped bonds. For a Hamiltonian's own hopping pattern
        use the builders, which call :meth:`hop`.
        """
        pairs = []
        families = _nearest_families(self) if self.kind == BRAVAIS else _nn_families(self.kind, self.n_orb)
        for off, o_to, o_from in families:
            r, c, _ = self.hop(off, o_to, o_from)
            pairs.append(np.stack([r, c], axis=-1))
        out = np.concatenate(pairs, axis=0)
        # Tiny periodic samples (size 1 or 2 along a direction) can produce self- or repeated bonds.
        out = out[out[:, 0] != out[:, 1]]
        out = np.unique(np.sort(out, axis=-1), axis=0)
        return _readonly(out)

    def to_library_order(self, H=None, V=None):
        """``H[order][:, order]`` / ``V[order]`` (rows of eigenvectors): a user's matrices in the
        library's site order; unchanged when ``order`` is None. NumPy or JAX arrays, jit-safe."""
        if self.order is None:
            return H if V is None else (H, V)
        o = np.asarray(self.order)
        H = None if H is None else H[o][:, o]
        return H if V is None else (H, None if V is None else V[o])

    def __repr__(self) -> str:
        extra = "" if self.order is None else ", order=<from_sites>"
        extra += "" if self.n_orb == 2 else f", n_orb={self.n_orb}"
        extra += "" if self.kind != BRAVAIS else f", vectors={self.vectors}, offsets={self.offsets}"
        return f"Lattice(kind={self.kind!r}, dims={self.dims}, pbc={self.pbc}{extra})"

    # cached_property stores into __dict__; keep pickling and copying working with the cache.
    # (A state pickled before ``n_orb`` / ``vectors`` existed has none: the class defaults apply.)
    def __getstate__(self):
        return {"kind": self.kind, "dims": self.dims, "pbc": self.pbc, "order": self.order, "n_orb": self.n_orb,
                "vectors": self.vectors, "offsets": self.offsets}

    def __setstate__(self, state):
        for k, v in state.items():
            object.__setattr__(self, k, v)


# A lattice is a pytree with no leaves: the whole geometry is static aux data (the instance itself,
# hashed and compared by ``(kind, dims, pbc, order, n_orb)``), so ``jax.jit(f)(H, lat)`` works without
# ``static_argnames``, compiles once per distinct lattice, and ``jax.vmap`` passes it through
# untouched. Returning the same instance from unflatten keeps its cached geometry.
jax.tree_util.register_pytree_node(Lattice, lambda lat: ((), lat), lambda lat, _: lat)


@functools.lru_cache(maxsize=None)
def _hop(lat: Lattice, offset: tuple[int, ...], orb_to: int, orb_from: int) -> tuple[np.ndarray, ...]:
    return lat._hop_uncached(offset, orb_to, orb_from)


def _nn_families(kind: str, n_orb: int = 2):
    if kind == "chain":
        return [((0,), 0, 1), ((1,), 0, 1)]
    if kind == "square":
        return [((1, 0), o, o) for o in range(n_orb)] + [((0, 1), o, o) for o in range(n_orb)]
    if kind == "honeycomb":
        # A at R bonds to B at R, R - a1, R - a2: written as B(R') -> A(R' + offset).
        return [((0, 0), 0, 1), ((1, 0), 0, 1), ((0, 1), 0, 1)]
    raise ValueError(f"unknown lattice kind {kind!r}")


def _nearest_families(lat: Lattice):
    """Hopping families ``(offset, orb_to, orb_from)`` of the nearest pairs of a ``"bravais"``
    lattice: over cell offsets in ``{-1, 0, 1}^d`` and orbital pairs, those at the smallest nonzero
    distance (relative tolerance 1e-6), each unordered pair once."""
    a, basis = lat.bravais, lat.basis
    cand = []
    for off in np.ndindex(*(3,) * lat.ndim):
        off = tuple(int(o) - 1 for o in off)
        for o_to in range(lat.n_orb):
            for o_from in range(lat.n_orb):
                dist = float(np.linalg.norm(np.asarray(off) @ a + basis[o_to] - basis[o_from]))
                if dist > 1e-9 * max(1.0, float(np.max(np.abs(a)))):
                    cand.append((dist, off, o_to, o_from))
    if not cand:  # every orbital at one point and a single cell: no bond
        return []
    dmin = min(c[0] for c in cand)
    fams, seen = [], set()
    for dist, off, o_to, o_from in cand:
        mirror = (tuple(-o for o in off), o_from, o_to)
        if dist <= dmin * (1 + 1e-6) and mirror not in seen:
            seen.add((off, o_to, o_from))
            fams.append((off, o_to, o_from))
    return fams


def _readonly(a: np.ndarray) -> np.ndarray:
    a = np.asarray(a)
    a.setflags(write=False)
    return a


def chain(n_cells: int, pbc: bool = False) -> Lattice:
    """A 1D chain of ``n_cells`` two-site (A, B) cells; ``N = 2 * n_cells`` sites."""
    return Lattice("chain", (_checks.check_int("n_cells", n_cells, 1),), _checks.check_bool("pbc", pbc))


def square(lx: int, ly: int, pbc: bool = False, n_orb: int = 2) -> Lattice:
    """A square lattice of ``lx * ly`` cells with ``n_orb`` orbitals each (2: QWZ; 4: two spins of two), all at
    the cell's position; ``N = n_orb lx ly``."""
    return Lattice("square", (_checks.check_int("lx", lx, 1), _checks.check_int("ly", ly, 1)), _checks.check_bool("pbc", pbc),
                   None, _checks.check_int("n_orb", n_orb, 1))


def honeycomb(lx: int, ly: int, pbc: bool = False) -> Lattice:
    """A honeycomb lattice of ``lx * ly`` rhombic cells (sites A, B each); ``N = 2 lx ly``."""
    return Lattice("honeycomb", (_checks.check_int("lx", lx, 1), _checks.check_int("ly", ly, 1)), _checks.check_bool("pbc", pbc))


def bravais(vectors, basis, dims, pbc: bool = False) -> Lattice:
    """Any Bravais lattice in 1D or 2D: ``vectors`` ``(d, d)`` the Bravais vectors (rows; ``(1,)`` or
    ``(1, 1)`` for a chain of cell length ``a``), ``basis`` ``(n_orb, d)`` the offsets of the cell's
    ``n_orb`` orbitals (any number, anywhere; several may sit at one point), ``dims`` the number of
    cells along each vector, ``pbc`` periodic along every vector. Site ``i = n_orb * cell + orbital``.

    Its kind is ``"bravais"``: the real-space Chern invariants read any 2D one, the winding number any
    1D one (A = orbital 0, B = orbital 1 for two orbitals; else its ``chiral`` argument); the builders of :mod:`tnn.hamiltonians`
    write the library's three kinds only. Equal arguments give equal, hash-equal lattices.
    """
    try:
        d = len(dims)
    except TypeError as err:
        raise ValueError(f"Argument `dims` must be a tuple of ints, got {dims!r}.") from err
    if d not in (1, 2):
        raise ValueError(f"Argument `dims` must have length 1 or 2, got {dims!r}.")
    vec = float_rows("vectors", np.reshape(np.asarray(vectors, dtype=np.float64), (1, 1)) if d == 1 and np.size(vectors) == 1
                   else vectors, (d, d))
    off = float_rows("basis", basis, (None, d))
    return Lattice(BRAVAIS, tuple(dims), _checks.check_bool("pbc", pbc), None, len(off), vec, off)


def _kind_allowed(lat: Lattice, kinds: tuple[str, ...]) -> bool:
    """``lat.kind`` in ``kinds``; a ``"bravais"`` lattice where ``kinds`` names it and a library kind of
    its dimension (``("chain", "bravais")``: a 1D one)."""
    if lat.kind != BRAVAIS:
        return lat.kind in kinds
    return BRAVAIS in kinds and any(_KIND_NDIM.get(k) == lat.ndim for k in kinds)


def check_lattice(lat, kinds: tuple[str, ...], what: str, builder: bool = False, name: str = "lat",
                  n_orb: int | None = None) -> Lattice:
    """``lat`` must be a :class:`Lattice` of one of ``kinds``, for ``what`` (e.g. "the SSH model",
    "the winding number"); errors name the argument ``name``. ``kinds`` may name ``"bravais"``: then
    a user's lattice of the dimension of the other kinds is welcome too. A builder (``builder=True``) also
    refuses a lattice with a site order of its own (:func:`tnn.lattice.from_sites`): it writes the
    library's order. ``n_orb``: the number of orbitals per cell it must have (None: any)."""
    if not isinstance(lat, Lattice):
        raise ValueError(f"Argument `{name}` must be a tnn.lattice.Lattice, got {type(lat).__name__}.")
    if not _kind_allowed(lat, kinds):
        shown = [k for k in kinds if k != BRAVAIS]
        extra = f" (or a {_KIND_NDIM[shown[0]]}D tnn.lattice.bravais one)" if BRAVAIS in kinds and shown else ""
        got = f"a {lat.ndim}D {lat.kind}" if lat.kind == BRAVAIS else f"a {lat.kind}"
        raise ValueError(f"Argument `{name}` must be a {' or '.join(shown)} lattice{extra} for {what}, got {got} lattice.")
    if builder and lat.order is not None:
        extra = "" if lat.n_orb == 2 else f", n_orb={lat.n_orb}"
        raise ValueError(
            f"Argument `{name}` has a site order of its own (tnn.lattice.from_sites), but {what} is built in the "
            f"library's order: build it on tnn.lattice.{lat.kind}(*{lat.dims}, pbc={lat.pbc}{extra}) instead."
        )
    if n_orb is not None and lat.n_orb != n_orb:
        raise ValueError(f"Argument `{name}` must have {n_orb} orbitals per cell for {what}, got n_orb={lat.n_orb}.")
    return lat
