r"""The localization-length certificate of chiral chains (:mod:`tnn.invariants.localization`): the
sample's own zero-energy Lyapunov exponents from its transfer matrices, against the distance from the
bulk window to the boundary (docs/conventions.md, "Validity of real-space values").

* clean chains: the sample's ``xi`` is the k-space one, ``1 / min_k |log |z_k||`` over the roots of
  ``q(z) = sum_r t_r z^(r - min r)``;
* certified values equal k space on clean multi-range chains, including conjugate root pairs (equal
  moduli) that a short transfer-matrix product does not resolve (a sample that the first version of
  this certificate passed with value 0.18 for W = 1);
* the strong-disorder transition of the SSH chain (intracell width W, intercell W / 2, v = 0.5, w = 1):
  at most 5% certified, where the tail test passed 15-35%; deep in the phase every sample certified,
  a strongly bond-disordered periodic chain included (the tail test refused it).
"""

import numpy as np
import jax
import jax.numpy as jnp
import pytest

from tnn import hamiltonians, invariants, kspace, lattice, validity
from tnn.invariants import localization as loc


def _xi_kspace(t, ranges):
    """``1 / min |log |z||`` over the roots of ``q``: coefficients of ``z^(r - min r)``."""
    c = np.zeros(ranges[-1] - ranges[0] + 1)
    for tr, r in zip(t, ranges):
        c[r - ranges[0]] = tr
    return 1.0 / np.min(np.abs(np.log(np.abs(np.roots(c[::-1])))))


def _bond_disordered(L, pbc, W, n, seed):
    """Chiral chains with intracell bonds ``0.5 + W u`` and intercell bonds ``1 + (W / 2) u'``."""
    rng = np.random.default_rng(seed)
    v = 0.5 + W * (rng.random((n, L)) - 0.5)
    w = 1.0 + 0.5 * W * (rng.random((n, L)) - 0.5)
    i = np.arange(L)
    h = np.zeros((n, L, L))
    h[:, i, i] = v
    if pbc:
        h[:, (i + 1) % L, i] = w
    else:
        h[:, i[1:], i[:-1]] = w[:, :-1]
    H = np.zeros((n, 2 * L, 2 * L))
    H[:, 0::2, 1::2] = h
    H[:, 1::2, 0::2] = np.swapaxes(h, 1, 2)
    return jnp.asarray(H)


@pytest.mark.parametrize("ranges,ts", [((0, 1), ((0.5, 1.0), (1.0, 0.3))),
                                       ((-1, 0, 1, 2), ((0.3, -0.2, 1.0, 0.1), (0.1, 0.2, 1.0, 0.4)))])
def test_clean_sample_xi_is_the_kspace_xi(ranges, ts):
    lat = lattice.chain(64, pbc=True)
    f = jax.jit(jax.vmap(lambda t: loc.sample_xi(hamiltonians.ssh(t, lat, ranges)[0::2, 1::2], ranges, True)))
    # A conjugate pair of roots (the first multi-range case) counts by its cluster mean: exact too.
    np.testing.assert_allclose(np.asarray(f(jnp.asarray(ts))), [_xi_kspace(t, ranges) for t in ts], rtol=1e-6)
    h = np.asarray(hamiltonians.ssh(jnp.asarray(ts[0]), lat, ranges))[0::2, 1::2]
    assert loc.chain_ranges(h, True) == ranges


@pytest.mark.parametrize("L,pbc", [pytest.param(32, False, marks=pytest.mark.slow), pytest.param(24, True, marks=pytest.mark.slow)])
def test_certified_values_equal_kspace_on_clean_multirange_chains(L, pbc):
    ranges = (-1, 0, 1, 2)
    lat = lattice.chain(L, pbc=pbc)
    T = jnp.asarray(np.random.default_rng(7).uniform(-1.0, 1.0, size=(300, 4)))
    f = jax.jit(jax.vmap(lambda t: invariants.winding_number(hamiltonians.ssh(t, lat, ranges), lat, ranges=ranges,
                                                             validity="raw", return_certificate=True)))
    g = jax.jit(jax.vmap(lambda t: invariants.winding_number(hamiltonians.ssh(t, lat, ranges), lat, ranges=ranges)))
    raw, cert = f(T)
    value = np.asarray(g(T))
    ok = np.asarray(cert.reason) == validity.VALID
    assert np.array_equal(np.isfinite(value), ok)
    ks = np.array([kspace.winding_number_and_gap(t, ranges)[0] for t in T])
    assert ok.sum() >= 30
    np.testing.assert_array_equal(np.rint(value[ok]), ks[ok])
    assert np.max(np.abs(value[ok] - ks[ok])) < 0.05
    # Every chain whose k-space xi is at most a sixth of the limit is certified (clean: no statistics).
    D = loc.xi_boundary(lat, None if pbc else (L // 4,))
    xi = np.array([_xi_kspace(np.asarray(t), ranges) for t in T])
    assert np.all(ok[xi <= D / (2 * loc.XI_FACTOR)])


def test_unresolved_conjugate_pair_is_not_certified():
    """Roots of modulus 0.940, 0.940 and 58.7 (xi = 16 cells) on 32 open cells: a short product splits
    the pair into exponents +0.46 and -0.58; the cluster's mean (-0.06) is what counts."""
    ranges = (-1, 0, 1, 2)
    t = jnp.array([-0.37894062, 0.79545272, -0.41496901, -0.00729955])
    lat = lattice.chain(32)
    w, cert = invariants.winding_number(hamiltonians.ssh(t, lat, ranges), lat, ranges=ranges, return_certificate=True)
    assert np.isnan(float(w)) and int(cert.reason) == validity.DELOCALIZED and float(cert.xi) > 8


def test_strong_disorder_transition_is_refused_and_the_phase_certified():
    Wc = validity.ssh_bond_transition(0.5, 1.0, ratio=0.5)
    assert Wc == pytest.approx(3.959, abs=1e-3)
    for L, pbc in ((100, False), (100, True)):
        lat = lattice.chain(L, pbc=pbc)
        f = jax.jit(jax.vmap(lambda H: invariants.winding_number(H, lat, ranges=(0, 1), return_certificate=True)))
        w, cert = f(_bond_disordered(L, pbc, Wc, 80, seed=L + pbc))
        assert np.mean(np.asarray(cert.reason) == validity.VALID) <= 0.05
        w, cert = f(_bond_disordered(L, pbc, 1.0, 40, seed=3))
        assert np.all(np.asarray(w) == pytest.approx(1.0, abs=0.05))
    # Zero-energy xi about 2 cells, periodic, 100 cells: certified (the tail test refused such chains).
    lat = lattice.chain(100, pbc=True)
    H = hamiltonians.ssh(jnp.array([0.5, 1.0]), lat, bond_disorder=2.0, key=jax.random.key(0))
    w, cert = invariants.winding_number(H, lat, ranges=(0, 1), return_certificate=True)
    assert float(w) == pytest.approx(1.0, abs=1e-6) and float(cert.xi) < 100 / 2 / loc.XI_FACTOR


def test_eager_equals_traced_and_bad_ranges_raise():
    lat = lattice.chain(40)
    H = hamiltonians.ssh(jnp.array([0.6, 1.0]), lat, bond_disorder=0.4, key=jax.random.key(2))
    a, ca = invariants.winding_number(H, lat, ranges=(0, 1), return_certificate=True)
    b, cb = jax.jit(lambda H: invariants.winding_density(H, lat, ranges=(0, 1), return_certificate=True))(H)
    assert float(a) == pytest.approx(float(jnp.sum(b)), abs=1e-12)
    assert float(ca.xi) == pytest.approx(float(cb.xi), rel=1e-12)
    X, s, Yh = jnp.linalg.svd(H[0::2, 1::2])
    w = invariants.winding_number_from_svd(X, s, Yh, lat, ranges=(0, 1), return_certificate=True)[1]
    assert float(w.xi) == pytest.approx(float(ca.xi), rel=1e-9)
    # Without ranges: the tail test (xi reported as NaN).
    assert np.isnan(float(invariants.winding_number(H, lat, return_certificate=True)[1].xi))
    for bad in ((0,), (0, 39), "ab", (0, 1.5)):
        with pytest.raises(ValueError, match="`ranges`"):
            invariants.winding_number(H, lat, ranges=bad)


def test_bott_index_certified_by_the_commutator_of_its_unitaries():
    """The Bott index is certified by ``||[U_x, U_y]||`` of its projected unitaries (Loring-Hastings), not
    by the projector tail: clean QWZ at m = +-0.5 on a 12 x 12 torus (tail 0.034, refused by the tail
    test) is certified; the wrong integers of a 7 x 5 torus (commutator 0.78-0.90) are refused."""
    lat = lattice.square(12, 12, pbc=True)
    for m, c in ((0.5, -1), (-0.5, 1)):
        v, cert = invariants.bott_index(hamiltonians.qwz(m, lat), lat, return_certificate=True)
        assert float(v) == pytest.approx(c, abs=1e-9) and float(cert.tail) > validity.TAIL_MAX[2]
        assert float(cert.commutator) < validity.BOTT_COMMUTATOR_MAX
    small = lattice.square(7, 5, pbc=True)
    for m in (1.895, -0.085, 1.996):
        raw = float(invariants.bott_index(hamiltonians.qwz(m, small), small, validity="raw"))
        assert round(raw) != kspace.chern_number("qwz", {"m": m})
        v, cert = invariants.bott_index(hamiltonians.qwz(m, small), small, return_certificate=True)
        assert np.isnan(float(v)) and int(cert.reason) == validity.DELOCALIZED


@pytest.mark.slow
def test_certified_bott_equals_kspace_on_grids():
    """On grids of clean periodic QWZ (10 x 10) and Haldane (8 x 8) samples a certified Bott index is the
    k-space class (measured over more samples and sizes: experiments/bench_labels.py)."""
    for lat, build, ref in (
            (lattice.square(10, 10, pbc=True), lambda p: hamiltonians.qwz(p, lattice.square(10, 10, pbc=True)),
             lambda p: kspace.chern_number("qwz", {"m": float(p)})),
            (lattice.honeycomb(8, 8, pbc=True), lambda p: hamiltonians.haldane(1.0, 0.2, p, 0.3, lattice.honeycomb(8, 8, pbc=True)),
             lambda p: kspace.chern_number("haldane", {"t1": 1.0, "t2": 0.2, "phi": float(p), "M": 0.3}))):
        grid = np.linspace(-2.9, 2.9, 59)
        v, cert = jax.jit(jax.vmap(lambda p: invariants.bott_index(build(p), lat, return_certificate=True)))(jnp.asarray(grid))
        ok = np.asarray(cert.reason) == validity.VALID
        assert ok.mean() > 0.3
        for p, val in zip(grid[ok], np.asarray(v)[ok]):
            assert round(float(val)) == ref(p)
