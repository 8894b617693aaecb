r"""Your own Hamiltonian in: tnn.lattice.from_sites builds a Lattice from per-site arrays in any order.

* An SSH chain written by hand in NumPy, its sites shuffled, gives the built-in winding number
  (open and periodic, polar and eigh routes, and from its eigensystem), equal to k space.
* A shuffled QWZ sample gives the built-in Bott index and bulk Chern marker.
* The library's own order gives a lattice equal (and hash-equal) to the built-in one; a shuffled one
  is a hashable, leafless pytree that jit takes as an argument.
* A SciPy sparse H gives the same values as the dense one (every real-space invariant), and the
  data path (winding_polar_energies, chiral_block with the lattice) reads the user's order too.
* Bad input is refused with a ValueError naming the argument (shapes, labels, cells, geometry, box,
  Hermiticity, chiral structure in the user's order, builders on a user-ordered lattice).
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from tnn import hamiltonians, invariants, kspace, lattice


def hand_ssh(v, w, L, pbc, perm):
    """The SSH chain by hand: sites (cell n, sublattice s) at position n, listed in the order `perm`."""
    cells = np.repeat(np.arange(L), 2)
    sub = np.tile([0, 1], L)
    H = np.zeros((2 * L, 2 * L))
    for n in range(L):
        H[2 * n, 2 * n + 1] = H[2 * n + 1, 2 * n] = v
        if n + 1 < L or pbc:
            a = 2 * ((n + 1) % L)
            H[a, 2 * n + 1] = H[2 * n + 1, a] = w
    return H[np.ix_(perm, perm)], cells[perm].astype(float), cells[perm], sub[perm]


@pytest.mark.parametrize("pbc", [False, True])
@pytest.mark.parametrize("v,w", [(0.4, 1.0), (1.0, 0.5)])
def test_hand_written_ssh_in_any_order_equals_the_builtin(pbc, v, w):
    L = 24
    perm = np.random.default_rng(1).permutation(2 * L)
    H, pos, cells, sub = hand_ssh(v, w, L, pbc, perm)
    lat = lattice.from_sites(pos, cells, sub, box=(L,) if pbc else None)
    assert lat.kind == "chain" and lat.dims == (L,) and lat.pbc == pbc and lat.order is not None
    ref_lat = lattice.chain(L, pbc=pbc)
    ref = float(invariants.winding_number(hamiltonians.ssh(np.array([v, w]), ref_lat), ref_lat))
    assert abs(ref - kspace.winding_number((v, w))) < 1e-4  # open: bulk trace of 12 cells
    assert float(invariants.winding_number(H, lat)) == pytest.approx(ref, abs=1e-10)
    assert float(invariants.winding_number(H, lat, method="eigh")) == pytest.approx(ref, abs=1e-8)
    E, V = np.linalg.eigh(H)
    assert float(invariants.winding_number_from_eigh(E, V, lat)) == pytest.approx(ref, abs=1e-8)
    # a leafless pytree: a jit argument, compiled for this lattice
    assert float(jax.jit(invariants.winding_number)(jnp.asarray(H), lat)) == pytest.approx(ref, abs=1e-10)


@pytest.mark.parametrize("pbc", [False, True])
@pytest.mark.parametrize("a,offsets", [(1.0, (0.0, 0.5)), (2.5, (0.3, 1.8)), (0.7, (0.5, 0.0))])
def test_a_chain_drawn_with_any_cell_length_and_offsets_gives_the_same_winding(pbc, a, offsets):
    """B at n + 1/2 (the usual drawing), a longer cell, B left of A: the same lattice, the same W as
    the library's chain (the winding number reads cell coordinates)."""
    L = 20
    perm = np.random.default_rng(3).permutation(2 * L)
    H, _, cells, sub = hand_ssh(0.5, 1.0, L, pbc, perm)
    pos = a * cells + np.asarray(offsets)[sub] - 4.0
    lat = lattice.from_sites(pos, cells, sub, box=(L * a,) if pbc else None)
    assert lat == lattice.from_sites(cells.astype(float), cells, sub, box=(L,) if pbc else None)
    ref_lat = lattice.chain(L, pbc=pbc)
    ref = float(invariants.winding_number(hamiltonians.ssh(np.array([0.5, 1.0]), ref_lat), ref_lat))
    assert float(invariants.winding_number(H, lat)) == pytest.approx(ref, abs=1e-10)
    assert abs(round(ref) - kspace.winding_number((0.5, 1.0))) == 0
    if pbc:
        with pytest.raises(ValueError, match="`box`"):
            lattice.from_sites(pos, cells, sub, box=(L,) if a != 1.0 else (2 * L,))


def test_shuffled_qwz_gives_the_builtin_chern_numbers():
    lx = ly = 6
    for pbc, method in ((True, "bott"), (False, "marker")):
        ref_lat = lattice.square(lx, ly, pbc=pbc)
        Href = np.asarray(hamiltonians.qwz(-1.0, ref_lat))
        perm = np.random.default_rng(2).permutation(ref_lat.n_sites)
        lat = lattice.from_sites(ref_lat.positions[perm] + 3.5, ref_lat.site_coords[perm] - 2,
                                 ref_lat.sublattice[perm], box=(lx, ly) if pbc else None)
        assert (lat.kind, lat.dims, lat.pbc) == ("square", (lx, ly), pbc)
        mine = float(invariants.chern_number(Href[np.ix_(perm, perm)], lat, method=method, validity="raw"))
        assert mine == pytest.approx(float(invariants.chern_number(Href, ref_lat, method=method, validity="raw")), abs=1e-10)


def test_library_order_is_the_builtin_lattice_and_honeycomb_is_recognised():
    ref = lattice.honeycomb(3, 4, pbc=True)
    lat = lattice.from_sites(ref.positions, ref.site_coords, ref.sublattice, box=np.array([[3.0, 0.0], [2.0, 2 * np.sqrt(3)]]))
    assert lat == ref and hash(lat) == hash(ref) and lat.order is None
    perm = np.arange(ref.n_sites)[::-1]
    shuffled = lattice.from_sites(ref.positions[perm], ref.site_coords[perm], ref.sublattice[perm], box=(3, 4))
    assert shuffled != ref and shuffled == lattice.from_sites(ref.positions[perm], ref.site_coords[perm],
                                                             ref.sublattice[perm], box=(3, 4))
    assert jax.tree_util.tree_leaves(shuffled) == []


def test_bad_input_is_refused_naming_the_argument():
    L = 6
    H, pos, cells, sub = hand_ssh(0.5, 1.0, L, False, np.arange(2 * L))
    with pytest.raises(ValueError, match="`positions`"):
        lattice.from_sites(np.zeros((2 * L, 3)), cells, sub)
    with pytest.raises(ValueError, match="`cells`"):
        lattice.from_sites(pos, cells[:-1], sub)
    with pytest.raises(ValueError, match="`sublattice`"):
        lattice.from_sites(pos, cells, sub + 1)
    with pytest.raises(ValueError, match="`cells`"):
        lattice.from_sites(pos[:-2], cells[:-2] * 2, sub[:-2])  # holes in the block
    with pytest.raises(ValueError, match="`positions` does not fit"):
        lattice.from_sites(pos + 0.3 * (np.arange(2 * L) == 5), cells, sub)  # one site out of its place
    with pytest.raises(ValueError, match="`sublattice` must use every orbital"):
        lattice.from_sites(pos, cells, sub * 2)  # no orbital 1
    with pytest.raises(ValueError, match="`vectors`"):
        lattice.from_sites(np.c_[np.arange(3.0), np.zeros(3)], np.c_[np.arange(3), np.zeros(3, int)],
                           np.zeros(3, int))  # one row of cells: no second Bravais vector to read
    row = lattice.from_sites(np.c_[np.arange(3.0), np.zeros(3)], np.c_[np.arange(3), np.zeros(3, int)],
                             np.zeros(3, int), vectors=[[1.0, 0.0], [0.3, 1.0]])
    assert row.kind == "bravais" and row.dims == (3, 1) and row.n_orb == 1
    # cells numbered against +x: a Bravais chain with a = -1, the same W as the library's chain
    rev = lattice.from_sites(-pos, cells, sub)
    assert rev.kind == "bravais" and rev.bravais.tolist() == [[-1.0]]
    assert float(invariants.winding_number(H, rev, validity="raw")) == pytest.approx(
        float(invariants.winding_number(H, lattice.chain(L), validity="raw")), abs=1e-12)
    with pytest.raises(ValueError, match="`box`"):
        lattice.from_sites(pos, cells, sub, box=(L + 1,))
    with pytest.raises(ValueError, match="exactly once"):
        lattice.from_sites(pos, cells, np.r_[0, 0, sub[2:]])
    perm = np.random.default_rng(0).permutation(2 * L)
    lat = lattice.from_sites(pos[perm], cells[perm], sub[perm])
    bad = H[np.ix_(perm, perm)].copy()
    bad[0, 1] += 0.3
    with pytest.raises(ValueError, match="Hermitian"):
        invariants.winding_number(bad, lat)
    onsite = H[np.ix_(perm, perm)] + np.diag(np.linspace(0.1, 0.2, 2 * L))
    with pytest.raises(ValueError, match="chiral"):
        invariants.winding_number(onsite, lat)
    with pytest.raises(ValueError, match="shape"):
        invariants.winding_number(H[:-1, :-1], lat)
    with pytest.raises(ValueError, match="site order of its own"):
        hamiltonians.ssh(np.array([0.5, 1.0]), lat)


def shuffled_ssh(v, w, L, pbc, seed):
    """A hand-written SSH chain with shuffled sites on its from_sites lattice, and the built-in
    chain and H it must agree with: ``(H, lat, Href, ref_lat)``."""
    perm = np.random.default_rng(seed).permutation(2 * L)
    H, pos, cells, sub = hand_ssh(v, w, L, pbc, perm)
    lat = lattice.from_sites(pos, cells, sub, box=(L,) if pbc else None)
    ref_lat = lattice.chain(L, pbc=pbc)
    return H, lat, hamiltonians.ssh(np.array([v, w]), ref_lat), ref_lat


def test_scipy_sparse_hamiltonians_in_any_order():
    """A SciPy sparse H (as from another package) on a from_sites lattice, sites shuffled, gives the
    built-in values: the SSH winding number and density, the QWZ marker map, its bulk Chern number,
    the Kitaev number and the Bott index."""
    sparse = pytest.importorskip("scipy.sparse")
    for pbc in (False, True):
        H, lat, Href, ref_lat = shuffled_ssh(0.4, 1.0, 24, pbc, seed=3)
        ref = float(invariants.winding_number(Href, ref_lat))
        for Hs in (sparse.csr_matrix(H), sparse.coo_array(H)):
            assert float(invariants.winding_number(Hs, lat)) == pytest.approx(ref, abs=1e-10)
            assert float(invariants.winding_number(Hs, lat, method="eigh")) == pytest.approx(ref, abs=1e-8)
        np.testing.assert_allclose(np.asarray(invariants.winding_density(sparse.csr_matrix(H), lat)),
                                   np.asarray(invariants.winding_density(Href, ref_lat)), atol=1e-10)
    lx = ly = 8
    for pbc in (False, True):
        ref_lat = lattice.square(lx, ly, pbc=pbc)
        Href = np.asarray(hamiltonians.qwz(-1.0, ref_lat))
        p = np.random.default_rng(4).permutation(ref_lat.n_sites)
        lat = lattice.from_sites(ref_lat.positions[p], ref_lat.site_coords[p], ref_lat.sublattice[p],
                                 box=(lx, ly) if pbc else None)
        Hs = sparse.csr_matrix(Href[np.ix_(p, p)])
        assert float(invariants.kitaev_chern_number(Hs, lat, validity="raw")) == pytest.approx(
            float(invariants.kitaev_chern_number(Href, ref_lat, validity="raw")), abs=1e-10)
        if pbc:
            assert float(invariants.bott_index(Hs, lat, validity="raw")) == pytest.approx(
                float(invariants.bott_index(Href, ref_lat, validity="raw")), abs=1e-10)
            continue
        np.testing.assert_allclose(np.asarray(invariants.local_chern_marker(Hs, lat, validity="raw")),
                                   np.asarray(invariants.local_chern_marker(Href, ref_lat, validity="raw")), atol=1e-10)
        assert float(invariants.chern_number(Hs, lat, validity="raw")) == pytest.approx(
            float(invariants.chern_number(Href, ref_lat, validity="raw")), abs=1e-10)
    bad = sparse.csr_matrix(np.triu(Href))
    with pytest.raises(ValueError, match="Hermitian"):
        invariants.bott_index(bad, ref_lat, validity="raw")


def test_data_routes_read_a_from_sites_order():
    """winding_polar_energies (the data path's labels and energies) and chiral_block(H, lat) (the SVD
    route of winding_number_from_svd) read H in a from_sites lattice's order, as winding_number does."""
    for pbc in (False, True):
        H, lat, Href, ref_lat = shuffled_ssh(0.5, 1.0, 20, pbc, seed=5)
        v, cert, E = invariants.winding_polar_energies(H, lat)
        rv, rcert, rE = invariants.winding_polar_energies(Href, ref_lat)
        assert float(v) == pytest.approx(float(rv), abs=1e-10) and float(cert.tail) == pytest.approx(float(rcert.tail), abs=1e-12)
        np.testing.assert_allclose(np.asarray(E), np.linalg.eigvalsh(H), atol=1e-12)
        X, s, Yh = jnp.linalg.svd(invariants.chiral_block(H, lat))
        got = float(invariants.winding_number_from_svd(X, s, Yh, lat, validity="raw"))
        assert got == pytest.approx(float(invariants.winding_number(H, lat, validity="raw")), abs=1e-10)
        assert float(jax.jit(invariants.winding_polar_energies, static_argnames="lat")(jnp.asarray(H), lat)[0]) == pytest.approx(float(rv), abs=1e-10)
