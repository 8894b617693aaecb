r"""The localizer certificate of the Chern marker and the Kitaev formula (:func:`tnn.validity.certify`,
``localizer=``; docs/conventions.md, "Certificates").

A value is certified when the spectral localizer's half signature (``tnn.localizer``) is defined, the
projector tail is at most ``LOCALIZER_TAIL_MAX`` and the value lies within ``bound = 4 tail`` of the
index. Checked against k space (QWZ: ``C = +1`` for ``-2 < m < 0``, ``-1`` for ``0 < m < 2``, 0 for
``|m| > 2``; Haldane from :func:`tnn.kspace.chern_number`): a certified class is never wrong on a grid
of clean open samples that crosses every transition, the stated bound holds on every certified one,
and both classes are certified on open 10 x 10 samples (the tail test alone certifies no C != 0 sample
there). Under ``jit``/``vmap`` (a host callback) the numbers equal the eager call's.
"""

import numpy as np
import jax
import jax.numpy as jnp
import pytest

from tnn import hamiltonians, invariants, kspace, lattice, validity


def _qwz_grid(n, method, certificate="localizer", ms=np.linspace(-2.9, 2.9, 30)):
    lat = lattice.square(n, n, pbc=False)
    f = jax.jit(jax.vmap(lambda m: invariants.chern_number(hamiltonians.qwz(m, lat), lat, method=method,
                                                           return_certificate=True, certificate=certificate)))
    v, c = f(jnp.asarray(ms))
    ck = np.where(np.abs(ms) > 2, 0, -np.sign(ms))
    return ms, np.asarray(v), c, ck


@pytest.mark.parametrize("n,method", [(8, "marker"), (10, "marker"), (10, "kitaev")])
def test_certified_classes_are_kspace_and_the_bound_holds(n, method):
    ms, v, c, ck = _qwz_grid(n, method)
    ok = np.asarray(c.reason) == validity.VALID
    assert np.array_equal(np.isfinite(v), ok)
    assert np.all(np.rint(v[ok]) == ck[ok])
    assert np.all(np.abs(v[ok] - ck[ok]) <= np.asarray(c.bound)[ok])
    assert np.all(np.asarray(c.localizer_index)[ok] == ck[ok])
    # Both classes certified on these small open samples; the tail test alone certifies no C != 0 one.
    assert ok[ck != 0].sum() >= 4 and ok[ck == 0].sum() >= 4
    if method == "marker":
        _, vt, ct, _ = _qwz_grid(n, method, "tail")
        assert not np.any(np.isfinite(vt[ck != 0]))


def test_haldane_open_grid_never_certifies_a_wrong_class():
    lat = lattice.honeycomb(10, 10, pbc=False)
    Ms = np.linspace(-1.9, 1.9, 20)
    f = jax.jit(jax.vmap(lambda M: invariants.chern_number(hamiltonians.haldane(1.0, 0.3, np.pi / 2, M, lat), lat,
                                                           return_certificate=True)))
    v, c = f(jnp.asarray(Ms))
    ck = np.array([kspace.chern_number("haldane", dict(t1=1.0, t2=0.3, phi=np.pi / 2, M=M)) for M in Ms])
    ok = np.asarray(c.reason) == validity.VALID
    assert ok[ck != 0].any() and ok[ck == 0].any()
    assert np.all(np.rint(np.asarray(v)[ok]) == ck[ok])
    assert np.all(np.abs(np.asarray(v)[ok] - ck[ok]) <= np.asarray(c.bound)[ok])


def test_near_a_transition_the_marker_is_refused_where_the_localizer_is_wrong():
    # 10 x 10, m = -1.9 (k space C = 1, xi ~ 10 cells): the localizer index is 0 and the marker 0.20,
    # within 0.25 of 0; the tail (0.14) refuses it, and tells its bound could not hold.
    lat = lattice.square(10, 10, pbc=False)
    v, c = invariants.chern_number(hamiltonians.qwz(-1.9, lat), lat, return_certificate=True)
    assert np.isnan(v) and int(c.reason) == validity.DELOCALIZED
    assert float(c.localizer_index) == 0.0 and float(c.tail) > validity.LOCALIZER_TAIL_MAX


def test_eager_equals_traced_and_the_map_and_eigh_routes_agree():
    lat = lattice.square(8, 8, pbc=False)
    H = hamiltonians.qwz(-1.2, lat)
    v, c = invariants.chern_number(np.asarray(H), lat, return_certificate=True)
    vj, cj = jax.jit(lambda H: invariants.chern_number(H, lat, return_certificate=True))(H)
    assert float(v) == float(vj) and int(c.reason) == int(cj.reason) == validity.VALID
    assert float(c.localizer_gap) == float(cj.localizer_gap) and float(c.localizer_index) == 1.0
    m, cm = invariants.local_chern_marker(H, lat, return_certificate=True)
    E, V = jnp.linalg.eigh(H)
    ve, ce = invariants.chern_number_from_eigh(E, V, lat, return_certificate=True)
    assert int(cm.reason) == int(ce.reason) == validity.VALID
    assert float(ce.localizer_index) == float(cm.localizer_index) == 1.0
    np.testing.assert_allclose(float(ve), float(v), atol=1e-12)


def test_gradient_through_the_localizer_certificate():
    lat = lattice.square(8, 8, pbc=False)

    def f(m, cert):
        return invariants.chern_number(hamiltonians.qwz(m, lat), lat, certificate=cert)

    g_loc = jax.grad(f)(-1.2, "localizer")
    g_tail = jax.grad(lambda m: invariants.chern_number(hamiltonians.qwz(m, lat), lat, validity="raw"))(-1.2)
    assert np.isfinite(g_loc) and float(g_loc) == pytest.approx(float(g_tail), rel=1e-10)
    assert np.isnan(jax.grad(f)(-1.9, "localizer"))  # refused value: NaN derivative
    eps = 1e-4
    fd = (f(-1.2 + eps, "localizer") - f(-1.2 - eps, "localizer")) / (2 * eps)
    assert float(g_loc) == pytest.approx(float(fd), rel=1e-4, abs=1e-8)


def test_certificate_argument_is_checked():
    lat = lattice.square(8, 8, pbc=False)
    H = hamiltonians.qwz(-1.0, lat)
    for fn in (invariants.chern_number, invariants.local_chern_marker, invariants.kitaev_chern_number):
        with pytest.raises(ValueError, match="`certificate`"):
            fn(H, lat, certificate="proof")
    # The tail test keeps no localizer fields.
    _, c = invariants.chern_number(H, lat, return_certificate=True, certificate="tail")
    assert np.isnan(float(c.localizer_index)) and np.isnan(float(c.bound))


def test_rebuilt_h_with_rounding_noise_keeps_its_index():
    """An H rebuilt from its eigensystem (the *_from_eigh routes) has rounding noise in every entry;
    the sparse route drops it (``DROP_RTOL``) and states the bound: the same index, a gap lower by at
    most the dropped norm, and a perturbation above the rule is kept (the matrix is not changed)."""
    from tnn.invariants import localizer_index

    lat = lattice.square(12, 12, pbc=False)
    assert lat.n_sites >= localizer_index.SPARSE_FROM
    H = np.asarray(hamiltonians.qwz(-1.0, lat))
    E, V = np.linalg.eigh(H)
    Hr = (V * E) @ V.conj().T
    assert np.count_nonzero(Hr) > 10 * np.count_nonzero(H)  # the noise fills the matrix
    i0, g0 = (float(x) for x in localizer_index.chern_index(H, lat))
    i1, g1 = (float(x) for x in localizer_index.chern_index(Hr, lat))
    assert i0 == i1 == 1.0 and g0 - 1e-9 <= g1 <= g0 + 1e-12
    # a real perturbation (1e-3 on every hopping of one site) is no noise: not dropped
    P = np.zeros_like(H)
    P[0, :] = P[:, 0] = 1e-3
    P[0, 0] = 0
    i2, g2 = (float(x) for x in localizer_index.chern_index(H + P, lat))
    assert i2 == 1.0 and abs(g2 - g0) <= np.linalg.norm(P, 2) + 1e-12
