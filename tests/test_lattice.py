r"""Static geometry of :mod:`tnn.lattice` against the conventions of docs/conventions.md.

* chain(L): site ``2n`` is A_n, ``2n+1`` is B_n; the position of both is the cell index ``n``.
* square(lx, ly), honeycomb(lx, ly): site index ``2*(x*ly + y) + s``.
* honeycomb: ``a1 = (1, 0)``, ``a2 = (1/2, sqrt 3/2)``, A at ``(0, 0)``, B at ``(1/2, sqrt 3/6)``;
  every nearest-neighbour bond has length ``1/sqrt 3`` and every A site has three B neighbours
  (all of them with PBC, in the bulk with OBC).
* A lattice is hashable, equal lattices hash equal, and it is a valid static ``jax.jit`` argument.
"""

import copy
import functools
import itertools
import pickle

import numpy as np
import jax
import jax.numpy as jnp
import pytest

from tnn import lattice

SQRT3 = np.sqrt(3.0)
BUILDERS = {
    "chain": lambda pbc: lattice.chain(5, pbc=pbc),
    "square": lambda pbc: lattice.square(3, 4, pbc=pbc),
    "honeycomb": lambda pbc: lattice.honeycomb(4, 3, pbc=pbc),
}


# ------------------------------------------------------------------------------- hashing, pickling
@pytest.mark.parametrize("kind", sorted(BUILDERS))
@pytest.mark.parametrize("pbc", [False, True])
def test_equal_lattices_hash_equal(kind, pbc):
    a, b = BUILDERS[kind](pbc), BUILDERS[kind](pbc)
    assert a is not b
    assert a == b and hash(a) == hash(b)
    assert a != BUILDERS[kind](not pbc)
    # Derived arrays (cached on the instance) must not change equality or hashing.
    _ = a.positions, a.bonds, a.hop(tuple([1] * a.ndim), 0, 1)
    assert a == b and hash(a) == hash(b)
    assert len({a, b, BUILDERS[kind](not pbc)}) == 2


def test_different_sizes_and_kinds_differ():
    assert lattice.chain(4) != lattice.chain(5)
    assert lattice.square(3, 4) != lattice.square(4, 3)
    assert lattice.square(3, 3) != lattice.honeycomb(3, 3)
    # numpy ints are accepted and normalised, so they give the same (hashable) lattice
    assert lattice.square(np.int64(3), 4) == lattice.square(3, 4)
    assert type(lattice.square(np.int64(3), 4).dims[0]) is int


def test_lattice_is_a_static_jit_argument_compiled_once_per_geometry():
    traces = []

    @functools.partial(jax.jit, static_argnames="lat")
    def f(x, lat):
        traces.append(lat)
        return x * lat.n_sites

    assert float(f(jnp.float64(1.0), lat=lattice.square(3, 3))) == 18.0
    assert float(f(jnp.float64(2.0), lat=lattice.square(3, 3))) == 36.0  # new, equal object
    assert len(traces) == 1
    assert float(f(jnp.float64(1.0), lat=lattice.square(3, 3, pbc=True))) == 18.0
    assert len(traces) == 2


def test_lattice_is_a_pytree_without_leaves_so_plain_jit_and_vmap_accept_it():
    lat = lattice.square(3, 3)
    assert jax.tree_util.tree_leaves(lat) == []
    leaves, tree = jax.tree_util.tree_flatten(lat)
    assert jax.tree_util.tree_unflatten(tree, leaves) is lat  # the cached geometry survives
    # equal lattices give equal treedefs (one compilation), different ones do not
    assert tree == jax.tree_util.tree_structure(lattice.square(3, 3))
    assert tree != jax.tree_util.tree_structure(lattice.square(3, 3, pbc=True))
    traces = []

    @jax.jit
    def f(x, lat):
        traces.append(lat)
        return x * lat.n_sites

    assert float(f(jnp.float64(1.0), lattice.square(3, 3))) == 18.0
    assert float(f(jnp.float64(2.0), lattice.square(3, 3))) == 36.0
    assert len(traces) == 1
    assert float(f(jnp.float64(1.0), lattice.chain(4))) == 8.0
    assert len(traces) == 2
    out = jax.vmap(f, in_axes=(0, None))(jnp.arange(3.0), lat)
    np.testing.assert_array_equal(out, [0.0, 18.0, 36.0])


def test_jit_of_a_public_invariant_takes_the_lattice_as_a_plain_argument():
    from tnn import hamiltonians, invariants

    lat = lattice.chain(24, pbc=True)
    H = hamiltonians.ssh(jnp.array([0.5, 1.0]), lat)
    w = jax.jit(invariants.winding_number)(H, lat)
    np.testing.assert_allclose(float(w), float(invariants.winding_number(H, lat)), atol=1e-12)
    assert abs(float(w) - 1.0) < 1e-6


@pytest.mark.parametrize("kind", sorted(BUILDERS))
def test_pickle_and_copy_round_trip(kind):
    lat = BUILDERS[kind](True)
    pos, bonds = lat.positions.copy(), lat.bonds.copy()  # populate the caches first
    for other in (pickle.loads(pickle.dumps(lat)), copy.deepcopy(lat), copy.copy(lat)):
        assert other == lat and hash(other) == hash(lat)
        np.testing.assert_array_equal(other.positions, pos)
        np.testing.assert_array_equal(other.bonds, bonds)


def test_lattice_is_frozen_and_arrays_read_only():
    lat = lattice.square(3, 3)
    with pytest.raises(AttributeError):
        lat.pbc = True
    for arr in (lat.positions, lat.sublattice, lat.site_cell, lat.cell_coords, lat.bonds, *lat.hop((1, 0), 0, 0)):
        with pytest.raises(ValueError):
            arr[0] = arr[0]


# ------------------------------------------------------------------------------- site conventions
def test_chain_sites_and_positions():
    L = 6
    lat = lattice.chain(L)
    assert (lat.n_cells, lat.n_orb, lat.n_sites, lat.ndim) == (L, 2, 2 * L, 1)
    np.testing.assert_array_equal(lat.sublattice, np.tile([0, 1], L))
    np.testing.assert_array_equal(lat.site_cell, np.repeat(np.arange(L), 2))
    # The invariants use the cell index n as position, for A_n and B_n alike.
    np.testing.assert_array_equal(lat.positions[:, 0], np.repeat(np.arange(L), 2).astype(float))
    for n in range(L):
        assert lat.site_index(np.array([n]), 0) == 2 * n
        assert lat.site_index(np.array([n]), 1) == 2 * n + 1
    assert lat.cell_area == 1.0 and lat.shape == (L,)


@pytest.mark.parametrize("kind", ["square", "honeycomb"])
def test_2d_site_index_convention(kind):
    lx, ly = 3, 4
    lat = getattr(lattice, kind)(lx, ly)
    assert lat.shape == (lx, ly) and lat.n_sites == 2 * lx * ly
    for x, y, s in itertools.product(range(lx), range(ly), range(2)):
        i = 2 * (x * ly + y) + s
        assert lat.site_index(np.array([x, y]), s) == i
        assert tuple(lat.site_coords[i]) == (x, y)
        assert lat.sublattice[i] == s
        assert lat.site_cell[i] == x * ly + y
    # vectorised form
    cells = np.array([[0, 1], [2, 3]])
    np.testing.assert_array_equal(lat.site_index(cells, 1), [2 * 1 + 1, 2 * (2 * ly + 3) + 1])


def test_square_positions_and_area():
    lat = lattice.square(3, 2)
    np.testing.assert_array_equal(lat.positions, lat.site_coords.astype(float))
    assert lat.cell_area == 1.0


def test_honeycomb_positions_and_area():
    lx, ly = 3, 4
    lat = lattice.honeycomb(lx, ly)
    a1, a2 = np.array([1.0, 0.0]), np.array([0.5, SQRT3 / 2])
    for x, y in itertools.product(range(lx), range(ly)):
        iA = 2 * (x * ly + y)
        np.testing.assert_allclose(lat.positions[iA], x * a1 + y * a2, atol=1e-15)
        np.testing.assert_allclose(lat.positions[iA + 1], x * a1 + y * a2 + [0.5, SQRT3 / 6], atol=1e-15)
    np.testing.assert_allclose(lat.cell_area, SQRT3 / 2, rtol=1e-15)
    np.testing.assert_allclose(lat.bravais, [a1, a2])
    np.testing.assert_allclose(lat.basis, [[0, 0], [0.5, SQRT3 / 6]])


# ------------------------------------------------------------------------------- bonds
def _min_image(lat, d):
    """Shortest image of Cartesian displacements ``d`` (n, 2) under the periodic supercell."""
    if not lat.pbc:
        return d
    sup = np.asarray(lat.dims)[:, None] * lat.bravais  # supercell vectors (rows)
    shifts = np.array([i * sup[0] + j * sup[1] for i in (-1, 0, 1) for j in (-1, 0, 1)])
    cand = d[:, None, :] + shifts[None]
    best = np.argmin(np.linalg.norm(cand, axis=-1), axis=1)
    return cand[np.arange(len(d)), best]


@pytest.mark.parametrize("pbc", [False, True])
def test_honeycomb_bonds_nearest_neighbours(pbc):
    lx, ly = 4, 5
    lat = lattice.honeycomb(lx, ly, pbc=pbc)
    b = lat.bonds
    d = _min_image(lat, lat.positions[b[:, 0]] - lat.positions[b[:, 1]])
    np.testing.assert_allclose(np.linalg.norm(d, axis=-1), 1 / SQRT3, rtol=1e-12)
    # every bond joins A and B
    np.testing.assert_array_equal(np.sort(lat.sublattice[b], axis=1), np.tile([0, 1], (len(b), 1)))
    # the full list of A-B pairs at distance 1/sqrt(3) is exactly `bonds`
    A = np.where(lat.sublattice == 0)[0]
    B = np.where(lat.sublattice == 1)[0]
    pairs = np.array(list(itertools.product(A, B)))
    dist = np.linalg.norm(_min_image(lat, lat.positions[pairs[:, 0]] - lat.positions[pairs[:, 1]]), axis=-1)
    expected = {tuple(sorted(p)) for p in pairs[np.abs(dist - 1 / SQRT3) < 1e-9]}
    assert expected == {tuple(p) for p in b}
    deg = np.bincount(b.ravel(), minlength=lat.n_sites)
    if pbc:
        assert len(b) == 3 * lx * ly
        np.testing.assert_array_equal(deg, 3)
    else:
        assert len(b) == lx * ly + (lx - 1) * ly + lx * (ly - 1)
        bulk = np.all((lat.site_coords > 0) & (lat.site_coords < np.array([lx, ly]) - 1), axis=1)
        np.testing.assert_array_equal(deg[bulk], 3)
        assert np.all(deg <= 3) and np.any(deg < 3)


@pytest.mark.parametrize("pbc", [False, True])
def test_chain_and_square_bond_counts(pbc):
    L = 6
    ch = lattice.chain(L, pbc=pbc)
    assert len(ch.bonds) == (2 * L if pbc else 2 * L - 1)
    # the chain bonds are A_n-B_n and B_n-A_{n+1}: consecutive site indices (plus the wrap)
    expected = {(i, i + 1) for i in range(2 * L - 1)} | ({(0, 2 * L - 1)} if pbc else set())
    assert {tuple(p) for p in ch.bonds} == expected
    lx, ly = 3, 4
    sq = lattice.square(lx, ly, pbc=pbc)
    n_cell_bonds = 2 * lx * ly if pbc else (lx - 1) * ly + lx * (ly - 1)
    assert len(sq.bonds) == 2 * n_cell_bonds  # both orbitals
    d = _min_image(sq, sq.positions[sq.bonds[:, 0]] - sq.positions[sq.bonds[:, 1]])
    np.testing.assert_allclose(np.linalg.norm(d, axis=-1), 1.0)
    np.testing.assert_array_equal(sq.sublattice[sq.bonds[:, 0]], sq.sublattice[sq.bonds[:, 1]])


# ------------------------------------------------------------------------------- hop families
def test_hop_open_drops_and_periodic_wraps():
    L = 5
    obc, pbc = lattice.chain(L), lattice.chain(L, pbc=True)
    r, c, w = obc.hop((2,), 0, 1)  # B_n -> A_{n+2}
    np.testing.assert_array_equal(c, 2 * np.arange(L - 2) + 1)
    np.testing.assert_array_equal(r, 2 * (np.arange(L - 2) + 2))
    assert not np.any(w)
    r, c, w = pbc.hop((2,), 0, 1)
    np.testing.assert_array_equal(c, 2 * np.arange(L) + 1)
    np.testing.assert_array_equal(r, 2 * ((np.arange(L) + 2) % L))
    np.testing.assert_array_equal(w[:, 0], (np.arange(L) + 2) // L)
    r, c, w = pbc.hop((-1,), 0, 1)
    np.testing.assert_array_equal(r, 2 * ((np.arange(L) - 1) % L))
    np.testing.assert_array_equal(w[:, 0], np.where(np.arange(L) == 0, -1, 0))


def test_hop_2d_wraps_each_direction():
    lat = lattice.honeycomb(3, 4, pbc=True)
    r, c, w = lat.hop((1, -1), 1, 0)
    src = lat.site_coords[c]
    dst = lat.site_coords[r]
    np.testing.assert_array_equal(dst, np.mod(src + [1, -1], [3, 4]))
    np.testing.assert_array_equal(w, np.floor_divide(src + [1, -1], [3, 4]))
    np.testing.assert_array_equal(lat.sublattice[r], 1)
    np.testing.assert_array_equal(lat.sublattice[c], 0)
    r, c, w = lattice.honeycomb(3, 4).hop((1, -1), 1, 0)
    assert len(r) == 2 * 3 and not np.any(w)
    # a list offset is accepted and gives the same (cached) arrays
    np.testing.assert_array_equal(lat.hop([1, -1], 1, 0)[0], lat.hop((1, -1), 1, 0)[0])


# ------------------------------------------------------------------------------- validation
@pytest.mark.parametrize(
    "call, arg",
    [
        (lambda: lattice.chain(0), "n_cells"),
        (lambda: lattice.chain(-3), "n_cells"),
        (lambda: lattice.chain(4.0), "n_cells"),
        (lambda: lattice.chain("4"), "n_cells"),
        (lambda: lattice.chain(True), "n_cells"),
        (lambda: lattice.chain(None), "n_cells"),
        (lambda: lattice.square(0, 3), "lx"),
        (lambda: lattice.square(3, 0), "ly"),
        (lambda: lattice.square(3, 2.5), "ly"),
        (lambda: lattice.honeycomb(np.float64(3), 3), "lx"),
        (lambda: lattice.honeycomb(3, -1), "ly"),
        (lambda: lattice.chain(4, pbc="yes"), "pbc"),
        (lambda: lattice.square(3, 3, pbc=1), "pbc"),
        (lambda: lattice.chain(4).hop((1, 0), 0, 1), "offset"),
        (lambda: lattice.square(3, 3).hop((1.5, 0), 0, 1), "offset"),
        (lambda: lattice.square(3, 3).hop((1, 0), 2, 1), "orb_to"),
        (lambda: lattice.square(3, 3).hop((1, 0), 0, -1), "orb_from"),
    ],
)
def test_validation_errors_name_the_argument(call, arg):
    with pytest.raises(ValueError, match=f"`{arg}`"):
        call()


def test_direct_construction_is_checked_and_normalised():
    assert lattice.Lattice("square", [3, np.int32(4)], np.bool_(False)) == lattice.square(3, 4)
    with pytest.raises(ValueError, match="`kind`"):
        lattice.Lattice("kagome", (3, 3), False)
    with pytest.raises(ValueError, match="`dims`"):
        lattice.Lattice("square", (3,), False)
    with pytest.raises(ValueError, match="`dims`"):
        lattice.Lattice("chain", (0,), False)
