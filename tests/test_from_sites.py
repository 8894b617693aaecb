r"""Your own Hamiltonian in: tnn.lattice.from_sites builds a Lattice from per-site arrays in any order.

* An SSH chain written by hand in NumPy, its sites shuffled, gives the built-in winding number
  (open and periodic, polar and eigh routes, and from its eigensystem), equal to k space.
* A shuffled QWZ sample gives the built-in Bott index and bulk Chern marker.
* The library's own order gives a lattice equal (and hash-equal) to the built-in one; a shuffled one
  is a hashable, leafless pytree that jit takes as an argument.
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


def test_shuffled_qwz_gives_the_builtin_chern_numbers():
    lx = ly = 6
    for pbc, method in ((True, "bott"), (False, "marker")):
        ref_lat = lattice.square(lx, ly, pbc=pbc)
        Href = np.asarray(hamiltonians.qwz(-1.0, ref_lat))
        perm = np.random.default_rng(2).permutation(ref_lat.n_sites)
        lat = lattice.from_sites(ref_lat.positions[perm] + 3.5, ref_lat.site_coords[perm] - 2,
                                 ref_lat.sublattice[perm], box=(lx, ly) if pbc else None)
        assert (lat.kind, lat.dims, lat.pbc) == ("square", (lx, ly), pbc)
        mine = float(invariants.chern_number(Href[np.ix_(perm, perm)], lat, method=method, gap_tol=0.0))
        assert mine == pytest.approx(float(invariants.chern_number(Href, ref_lat, method=method, gap_tol=0.0)), abs=1e-10)


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
    with pytest.raises(ValueError, match="`positions` does not match"):
        lattice.from_sites(pos * 1.5, cells, sub)
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
