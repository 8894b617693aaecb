r"""Any lattice a user brings: tnn.lattice.bravais (Bravais vectors and a basis) and from_sites with any
number of orbitals per cell, read by every real-space invariant.

* An oblique lattice is a linear map of the square one: the QWZ Hamiltonian written on it (the same
  hoppings along a1 and a2) has the same local Chern marker map (the marker's 4 pi / cell area absorbs
  the map's determinant), the same Bott index and Kitaev value, and the localizer and KPM read it too.
* A cell of four orbitals at four places (two QWZ copies, weakly mixed) gives the sum of the copies'
  Chern numbers, through every route; shuffled and read back with from_sites, the same numbers.
* The library's honeycomb written as a Bravais lattice gives the Haldane model's values exactly.
* A chain of any cell length, A and B anywhere in the cell, gives the library chain's W; swapping A and
  B in the chiral operator gives -W. A cell of four orbitals with the user's chiral operator (two SSH
  chains, mixed) gives the sum of the chains' k-space windings, by both routes and from its
  eigensystem, shuffled through from_sites too; a cell without its operator is refused naming it.
* Bad geometry is refused with a ValueError naming the argument; equal geometries are equal and
  hash-equal, pickle, and pass through jit as leafless pytrees.
"""

import pickle

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from tnn import hamiltonians, invariants, kpm, kspace, lattice, localizer

SQ3 = float(np.sqrt(3.0))


def oblique(lx, ly, pbc=False, n_orb=2, basis=None):
    return lattice.bravais([[1.0, 0.0], [0.4, 0.9]], np.zeros((n_orb, 2)) if basis is None else basis, (lx, ly), pbc)


@pytest.mark.parametrize("m", [-1.0, 2.6])
def test_qwz_on_an_oblique_lattice_has_the_square_lattice_invariants(m):
    sq_o, sq_p = lattice.square(10, 10), lattice.square(8, 8, pbc=True)
    ob_o, ob_p = oblique(10, 10), oblique(8, 8, pbc=True)
    Ho, Hp = hamiltonians.qwz(m, sq_o), hamiltonians.qwz(m, sq_p)  # same site order: n_orb * cell + orbital
    c_k = kspace.chern_number("qwz", {"m": m})
    marker_sq = invariants.local_chern_marker(Ho, sq_o, validity="raw")
    marker_ob = invariants.local_chern_marker(Ho, ob_o, validity="raw")
    np.testing.assert_allclose(np.asarray(marker_ob), np.asarray(marker_sq), atol=1e-10)
    bott_ob = float(invariants.chern_number(Hp, ob_p, method="bott"))
    assert bott_ob == pytest.approx(float(invariants.chern_number(Hp, sq_p, method="bott")), abs=1e-10)
    assert round(bott_ob) == c_k


@pytest.mark.slow
def test_the_kitaev_formula_and_the_localizer_read_an_oblique_lattice():
    sq, ob = lattice.square(10, 10), oblique(10, 10)
    H = hamiltonians.qwz(-1.0, sq)
    c_k = kspace.chern_number("qwz", {"m": -1.0})
    assert float(invariants.chern_number(H, ob, method="marker")) == pytest.approx(c_k, abs=0.05)
    assert float(invariants.chern_number(H, ob, method="kitaev")) == pytest.approx(c_k, abs=0.05)
    assert localizer.chern_number(np.asarray(H), ob) == c_k


def test_kpm_marker_reads_a_bravais_lattice():
    sq, ob = lattice.square(12, 12), oblique(12, 12)
    H = hamiltonians.qwz(-1.0, sq)
    sites = np.array([[6, 6], [5, 7]])
    a = kpm.local_chern_marker(H, sq, sites, num_moments=200)
    b = kpm.local_chern_marker(H, ob, sites, num_moments=200)
    np.testing.assert_allclose(np.asarray(b[0] if isinstance(b, tuple) else b),
                               np.asarray(a[0] if isinstance(a, tuple) else a), atol=1e-9)


def two_copies(m1, m2, lx, ly, pbc, mix=0.15):
    """Two QWZ copies in a cell of four orbitals (copy 1 on orbitals 0, 1; copy 2 on 2, 3), mixed by a
    weak onsite coupling: ``H`` in the order ``4 * cell + orbital``."""
    lat2 = lattice.square(lx, ly, pbc=pbc)
    h1, h2 = np.asarray(hamiltonians.qwz(m1, lat2)), np.asarray(hamiltonians.qwz(m2, lat2))
    n = lat2.n_cells
    H = np.zeros((4 * n, 4 * n), complex)
    a = (4 * np.arange(n)[:, None] + np.array([0, 1])).ravel()
    b = a + 2
    H[np.ix_(a, a)], H[np.ix_(b, b)] = h1, h2
    H[a, b] = H[b, a] = mix
    return H


@pytest.mark.parametrize("m1,m2", [(1.0, 1.0), (-1.0, 3.0)])
def test_a_four_orbital_cell_at_four_places_adds_the_copies_chern_numbers(m1, m2):
    basis = np.array([[0.0, 0.0], [0.5, 0.0], [0.0, 0.5], [0.5, 0.5]])
    want = kspace.chern_number("qwz", {"m": m1}) + kspace.chern_number("qwz", {"m": m2})
    Hp, Ho = two_copies(m1, m2, 8, 8, True), two_copies(m1, m2, 12, 12, False)
    lat_p, lat_o = lattice.bravais(np.eye(2), basis, (8, 8), pbc=True), lattice.bravais(np.eye(2), basis, (12, 12))
    assert lat_p.n_orb == 4 and lat_p.n_sites == Hp.shape[0]
    assert float(invariants.chern_number(Hp, lat_p, method="bott")) == pytest.approx(want, abs=1e-6)
    assert float(invariants.chern_number(Ho, lat_o, method="marker")) == pytest.approx(want, abs=0.05)
    assert localizer.chern_number(Ho, lat_o) == want
    # shuffled, read back from per-site arrays: the same lattice geometry and values
    perm = np.random.default_rng(4).permutation(lat_p.n_sites)
    user = lattice.from_sites(lat_p.positions[perm] + 2.0, lat_p.site_coords[perm] + 3, lat_p.sublattice[perm],
                              box=(8.0, 8.0))
    assert user.kind == "bravais" and user.n_orb == 4 and user.dims == (8, 8) and user.pbc
    np.testing.assert_allclose(user.basis, basis, atol=1e-9)
    Hu = Hp[np.ix_(perm, perm)]
    assert float(invariants.chern_number(Hu, user, method="bott")) == pytest.approx(
        float(invariants.chern_number(Hp, lat_p, method="bott")), abs=1e-9)


@pytest.mark.slow  # the oblique lattice test reads the marker and Bott index by default
@pytest.mark.parametrize("pbc,method", [(True, "bott"), (False, "marker")])
def test_the_honeycomb_as_a_bravais_lattice_gives_the_haldane_values(pbc, method):
    lib = lattice.honeycomb(8, 8, pbc=pbc)
    mine = lattice.bravais([[1.0, 0.0], [0.5, SQ3 / 2]], [[0.0, 0.0], [0.5, SQ3 / 6]], (8, 8), pbc=pbc)
    assert mine.kind == "bravais" and mine != lib
    np.testing.assert_allclose(mine.positions, lib.positions, atol=1e-12)
    H = hamiltonians.haldane(1.0, 0.3, np.pi / 2, 0.0, lib)
    ref = float(invariants.chern_number(H, lib, method=method, validity="raw"))
    assert float(invariants.chern_number(H, mine, method=method, validity="raw")) == pytest.approx(ref, abs=1e-10)
    assert abs(ref - kspace.chern_number("haldane", {"t1": 1.0, "t2": 0.3, "phi": np.pi / 2, "M": 0.0})) < 0.1


@pytest.mark.parametrize("pbc", [False, True])
def test_a_bravais_chain_gives_the_library_chain_winding(pbc):
    L = 20
    ref = lattice.chain(L, pbc=pbc)
    H = hamiltonians.ssh(np.array([0.5, 1.0]), ref)
    mine = lattice.bravais([2.5], [[0.0], [1.2]], (L,), pbc=pbc)
    assert mine.kind == "bravais" and mine.ndim == 1
    np.testing.assert_allclose(mine.positions[:4, 0], [0.0, 1.2, 2.5, 3.7])
    assert float(invariants.winding_number(H, mine)) == pytest.approx(float(invariants.winding_number(H, ref)), abs=1e-12)
    # the user's chiral operator: B as orbital 0 is the mirror image, -W
    # (the same chain read from B: -W; finite-size values differ in the 6th digit on a ring)
    assert float(invariants.winding_number(H, mine, chiral=(-1, 1))) == pytest.approx(
        -float(invariants.winding_number(H, ref)), abs=1e-5)
    with pytest.raises(ValueError, match=r"`lat` must be a square or honeycomb lattice \(or a 2D tnn.lattice.bravais"):
        invariants.chern_number(H, mine)


def test_bravais_lattices_are_values_and_pytrees():
    a = oblique(4, 5, pbc=True, basis=[[0.0, 0.0], [0.25, 0.1]])
    b = lattice.bravais(np.array([[1.0, 0.0], [0.4, 0.9]]), np.array([[0.0, 0.0], [0.25, 0.1]]), [4, 5], True)
    assert a == b and hash(a) == hash(b) and a != oblique(4, 5, pbc=True)
    assert pickle.loads(pickle.dumps(a)) == a
    assert jax.tree_util.tree_leaves(a) == []
    assert a.cell_area == pytest.approx(0.9)
    np.testing.assert_allclose(a.positions[3], [0.4 + 0.25, 0.9 + 0.1])  # cell (0, 1), orbital 1
    f = jax.jit(lambda x, lat: x * lat.n_sites)
    assert float(f(jnp.asarray(1.0), a)) == 40.0
    # nearest pairs: every site of a one-orbital triangular lattice has six
    tri = lattice.bravais([[1.0, 0.0], [0.5, SQ3 / 2]], [[0.0, 0.0]], (6, 6), pbc=True)
    assert np.all(np.bincount(tri.bonds.ravel(), minlength=tri.n_sites) == 6)
    assert "bravais" in repr(a) and a.orbital_names == ("s0", "s1")


def test_bad_geometry_is_refused_naming_the_argument():
    with pytest.raises(ValueError, match="`vectors`.*linearly independent"):
        lattice.bravais([[1.0, 0.0], [2.0, 0.0]], [[0.0, 0.0]], (3, 3))
    with pytest.raises(ValueError, match="`vectors`.*shape"):
        lattice.bravais([[1.0, 0.0]], [[0.0, 0.0]], (3, 3))
    with pytest.raises(ValueError, match="`basis`.*shape"):
        lattice.bravais(np.eye(2), [[0.0, 0.0, 0.0]], (3, 3))
    with pytest.raises(ValueError, match="`basis`"):
        lattice.bravais(np.eye(2), [[np.nan, 0.0]], (3, 3))
    with pytest.raises(ValueError, match="`dims`"):
        lattice.bravais(np.eye(3), [[0.0, 0.0, 0.0]], (3, 3, 3))
    with pytest.raises(ValueError, match="`dims`"):
        lattice.bravais(np.eye(2), [[0.0, 0.0]], (3, 0))
    with pytest.raises(ValueError, match="`vectors` and `offsets` belong"):
        lattice.Lattice("square", (3, 3), False, vectors=((1.0, 0.0), (0.0, 1.0)))
    lat = oblique(4, 4)
    with pytest.raises(ValueError, match="site order of its own|must be a square"):
        hamiltonians.qwz(1.0, lat)
    # from_sites: a periodic box that is not dims x the fitted vectors
    with pytest.raises(ValueError, match="`box`"):
        lattice.from_sites(lat.positions, lat.site_coords, lat.sublattice, box=(4.0, 4.0))


def ladder(L, chains, mix, pbc):
    """Two SSH chains ``chains = ((v1, w1), (v2, w2))`` in a cell of four orbitals (A1, A2, B1, B2): the
    chiral operator (+1, +1, -1, -1); ``mix`` an intracell A1-B2 hopping (keeps chirality)."""
    lat2 = lattice.chain(L, pbc=pbc)
    H = np.zeros((4 * L, 4 * L))
    for c, (v, w) in enumerate(chains):
        idx = (4 * np.arange(L)[:, None] + np.array([c, 2 + c])).ravel()
        H[np.ix_(idx, idx)] = np.asarray(hamiltonians.ssh(np.array([v, w]), lat2))
    H[4 * np.arange(L), 4 * np.arange(L) + 3] = H[4 * np.arange(L) + 3, 4 * np.arange(L)] = mix
    return H


@pytest.mark.parametrize("pbc", [False, True])
@pytest.mark.parametrize("chains", [((0.5, 1.0), (0.4, 1.0)), ((0.5, 1.0), (1.0, 0.6)), ((1.0, 0.5), (1.0, 0.4))])
def test_a_four_orbital_chain_with_its_chiral_operator_adds_the_chains_windings(pbc, chains):
    L, chiral = 32, (1, 1, -1, -1)
    lat = lattice.bravais([1.0], np.zeros((4, 1)), (L,), pbc=pbc)
    want = sum(kspace.winding_number(np.array(t)) for t in chains)
    H = ladder(L, chains, 0.2, pbc)
    w, cert = invariants.winding_number(H, lat, chiral=chiral, return_certificate=True)
    assert float(w) == pytest.approx(want, abs=1e-3) and int(cert.reason) == 0
    raw = float(invariants.winding_number(H, lat, chiral=chiral, validity="raw"))
    E, V = np.linalg.eigh(H)
    assert float(invariants.winding_number(H, lat, chiral=chiral, method="eigh", validity="raw")) == pytest.approx(raw, abs=1e-10)
    assert float(invariants.winding_number_from_eigh(E, V, lat, chiral=chiral, validity="raw")) == pytest.approx(raw, abs=1e-10)
    dens = invariants.winding_density(H, lat, chiral=chiral, validity="raw")
    assert dens.shape == (L,) and float(dens.sum()) == pytest.approx(raw, abs=1e-10)
    assert float(jax.jit(lambda h: invariants.winding_number(h, lat, chiral=chiral, validity="raw"))(H)) == pytest.approx(raw, abs=1e-12)
    if not pbc:
        perm = np.random.default_rng(5).permutation(4 * L)
        offsets = np.array([0.0, 0.25, 0.5, 0.75])[lat.sublattice]  # the four orbitals drawn apart
        user = lattice.from_sites((lat.positions[:, 0] + offsets)[perm], lat.site_coords[perm], lat.sublattice[perm])
        assert user.n_orb == 4 and user.kind == "bravais"
        assert float(invariants.winding_number(H[np.ix_(perm, perm)], user, chiral=chiral, validity="raw")) == pytest.approx(raw, abs=1e-10)


def test_the_chiral_operator_is_checked_naming_it():
    L = 12
    lat = lattice.bravais([1.0], np.zeros((4, 1)), (L,))
    H = ladder(L, ((0.5, 1.0), (0.5, 1.0)), 0.0, False)
    for bad in (None, (1, -1), (1, 1, 1, -1), (1, 2, -1, -2), "ab"):
        with pytest.raises(ValueError, match="`chiral`"):
            invariants.winding_number(H, lat, chiral=bad)
    with pytest.raises(ValueError, match="`ranges`"):
        invariants.winding_number(H, lat, chiral=(1, 1, -1, -1), ranges=(0, 1))
    broken = H.copy()
    broken[0, 1] = broken[1, 0] = 0.3  # an A1-A2 hopping
    with pytest.raises(ValueError, match="breaks chiral symmetry"):
        invariants.winding_number(broken, lat, chiral=(1, 1, -1, -1))
