r"""Real-space invariants of :mod:`tnn.invariants` against docs/conventions.md and :mod:`tnn.kspace`.

Every sign is fixed by one rule: a clean system's real-space invariant equals its k-space one.

* SSH family: ``W = (1/L') sum_{i in A} sum_{j in B} (x_i - x_j) |U_ij|^2``, ``U = P_A sign(H) P_B``;
  open chains use the bulk trace (cells ``[L/4, 3L/4)``), periodic chains minimum-image distances.
  Both converge exponentially in ``L / xi`` deep in a phase.
* QWZ: ``C = +1`` for ``-2 < m < 0``, ``-1`` for ``0 < m < 2``, 0 for ``|m| > 2``. Haldane:
  ``C = -sign(t2 sin phi)`` inside the topological region.
* Local marker ``C(r) = (4 pi/A) Im sum_o <r|P X P Y P|r>``: equals ``C`` in the bulk of an open
  sample, and sums to 0 over it (``sum_r <r|P X P Y P|r> = Tr(P X P Y P)`` is real, the trace of a
  product of two Hermitian operators ``PXP`` and ``PYP``).
* Bott index: ``det(U_x U_y U_x^dag U_y^dag) = |det U_x|^2 |det U_y|^2 > 0``, so the sum of the
  eigenvalue phases is a multiple of ``2 pi``: an integer to rounding, equal to ``C``.
* Gauge: every invariant depends on the eigenvectors only through projectors onto whole eigenspaces,
  so a random unitary inside a degenerate eigenspace and random phases leave it unchanged.
"""

import functools

import numpy as np
import jax
import jax.numpy as jnp
import pytest

from tnn import contractions as tc
from tnn import hamiltonians, invariants, kspace, lattice, validity

SQ20 = lattice.square(20, 20)
SQ8 = lattice.square(8, 8)
SQ8P = lattice.square(8, 8, pbc=True)
HON_O = lattice.honeycomb(15, 15)
HON_P = lattice.honeycomb(9, 9, pbc=True)
HALDANE = dict(t1=1.0, t2=0.2, M=0.1)


# ------------------------------------------------------------------ shared jitted builders + caches
@functools.partial(jax.jit, static_argnames=("lat", "ranges"))
def ssh_jit(t, wb, wo, key, lat, ranges=(0, 1)):
    return hamiltonians.ssh(t, lat, ranges, bond_disorder=wb, onsite_disorder=wo, key=key)


def ssh(t, lat, ranges=(0, 1), wb=0.0, wo=0.0, key=None):
    if key is None:
        return hamiltonians.ssh(jnp.asarray(t, dtype=jnp.float64), lat, ranges)
    return ssh_jit(jnp.asarray(t, dtype=jnp.float64), wb, wo, key, lat, ranges)


def A(x):
    """Results as NumPy arrays: assertions do their arithmetic in NumPy, so the tests trigger no
    eager JAX op (each would compile once per shape, ~0.1 s apiece)."""
    return np.asarray(x)


@jax.jit
def _eigh(H):
    return jnp.linalg.eigh(H.astype(jnp.complex128))


def eigh(H):
    """Eigensystem ``(E, V)`` as NumPy arrays (one jitted LAPACK call per shape; NumPy's own eigh is
    3x slower on the shared 2-core CI machine)."""
    E, V = _eigh(H)
    return A(E), A(V)


@functools.lru_cache(maxsize=None)
def qwz_eigh(m, lat, w=0.0, seed=0):
    """(H, E, V) of a QWZ sample; cached so each size/mass is diagonalized once per session."""
    key = jax.random.key(seed) if w else None
    H = hamiltonians.qwz(m, lat, onsite_disorder=w, key=key)
    return (H, *eigh(H))


@functools.lru_cache(maxsize=None)
def haldane_eigh(phi, lat):
    H = hamiltonians.haldane(HALDANE["t1"], HALDANE["t2"], phi, HALDANE["M"], lat)
    return (H, *eigh(H))


def qwz_chern(m):
    """docs/conventions.md (pinned against the FHS number by tests/test_kspace.py)."""
    return 0 if abs(m) > 2 else (1 if m < 0 else -1)


# ------------------------------------------------------------------ winding number
SSH_CASES = [
    ((0.5, 1.5), (0, 1)),
    ((1.5, 0.5), (0, 1)),
    ((0.3, -0.2, 1.2), (0, 1, 2)),
    ((0.4, 1.1), (0, -1)),
]


@pytest.mark.parametrize("pbc", [False, True])
@pytest.mark.parametrize("t,ranges", SSH_CASES)
def test_winding_equals_kspace(t, ranges, pbc):
    """Clean chains, L = 60: real space (polar, eigh and eigensystem routes) = k space to 1e-6.

    (The W = 2 chain has the longest correlation length; at L = 40 its open-chain eigensystem route,
    whose four edge zero modes are split arbitrarily between occupied and empty, is off by 7e-6.)"""
    lat = lattice.chain(60, pbc=pbc)
    H = ssh(t, lat, ranges)
    wk = kspace.winding_number(t, ranges)
    w, cert = invariants.winding_number(H, lat, return_certificate=True)
    w2, cert2 = invariants.winding_number_from_eigh(*eigh(H), lat, return_certificate=True)
    gap, gap2 = cert.gap, cert2.gap
    w3 = invariants.winding_number(H, lat, method="eigh")
    assert w.dtype == jnp.float64 and gap.dtype == jnp.float64
    w, gap, w2, gap2, w3 = (float(x) for x in (w, gap, w2, gap2, w3))
    assert abs(w - wk) < 1e-6 and abs(w2 - wk) < 1e-6 and abs(w3 - w2) < 1e-10
    # Same (bulk) gap from the singular values of the chiral block and from the eigenvalues.
    assert abs(gap - gap2) < 1e-8 and gap > 1.0
    dens = A(invariants.winding_density(H, lat))
    assert dens.shape == (60,) and abs(dens.sum() - w) < 1e-12
    if not pbc:
        assert np.all(dens[:15] == 0) and np.all(dens[45:] == 0)


def test_winding_bond_disorder():
    """Chiral bond disorder Wb = 1 on v = 0.5, w = 1.5, L = 100: OBC within 0.01 of 1, PBC 1 to 1e-6."""
    keys = jax.random.split(jax.random.key(3), 3)
    for pbc, tol in ((False, 0.01), (True, 1e-6)):
        lat = lattice.chain(100, pbc=pbc)
        Hs = jax.vmap(lambda k: ssh_jit(jnp.array([0.5, 1.5]), 1.0, 0.0, k, lat))(keys)
        for H in Hs:
            w = float(invariants.winding_number(H, lat))
            assert abs(w - 1.0) < tol, (pbc, w)


def test_winding_trim_and_onsite_disorder():
    """The trim is honoured (a larger trim still gives an integer), and Hamiltonians that break
    chiral symmetry need method='eigh' (the polar route would silently ignore the A-A/B-B blocks)."""
    lat = lattice.chain(60)
    H = ssh((0.5, 1.5), lat)
    for trim in (5, 20, 29):
        assert abs(float(invariants.winding_number(H, lat, trim=trim)) - 1.0) < 1e-6
    Hd = ssh((0.5, 1.5), lat, wo=0.3, key=jax.random.key(1))
    with pytest.raises(ValueError, match="`H`.*chiral"):
        invariants.winding_number(Hd, lat)
    w = float(invariants.winding_number(Hd, lat, method="eigh"))
    assert abs(w - float(invariants.winding_number_from_eigh(*eigh(Hd), lat))) < 1e-10
    assert abs(w - 1.0) < 0.05  # weak onsite disorder: not protected, but still close


def test_winding_gap_flag():
    """At v = w the finite-size bulk gap (open: ~ pi w / L; periodic, even L: 0) is below the default
    tolerance (2 s_max / L open, s_max / L periodic): NaN.
    Deep in either phase (and near it, v/w = 0.8 at L = 40) the value is returned."""
    for pbc in (False, True):
        lat = lattice.chain(40, pbc=pbc)
        Hc = ssh((1.0, 1.0), lat)
        w, cert = invariants.winding_number(Hc, lat, return_certificate=True)
        assert np.isnan(float(w)) and float(cert.gap) < invariants.default_gap_tol(lat, 2.0)
        assert np.isfinite(float(invariants.winding_number(Hc, lat, validity="raw")))
        assert np.isnan(float(invariants.winding_number_from_eigh(*eigh(Hc), lat)))
        for t in ((0.5, 1.5), (1.5, 0.5), (0.8, 1.0)):
            w, cert = invariants.winding_number(ssh(t, lat), lat, return_certificate=True)
            assert np.isfinite(float(w)) and bool(invariants.is_gapped(float(cert.gap), invariants.default_gap_tol(lat, 2.0)))
    # The spectral test with a tolerance above the gap refuses a certified value.
    assert np.isnan(float(invariants.winding_number(ssh((0.5, 1.5), lat), lat, validity="spectral", gap_tol=5.0)))


def _fd(f, x, h=1e-5):
    x = np.asarray(x, dtype=np.float64)
    e = np.eye(len(x))
    return np.array([(float(f(x + h * e[k])) - float(f(x - h * e[k]))) / (2 * h) for k in range(len(x))])


@pytest.mark.parametrize(
    "pbc,t",
    [
        (True, (0.9, 1.0)),  # degenerate singular values s(k) = s(-k): jax's SVD gradient is wrong here
        (False, (0.9, 1.0)),
        (False, (0.5, 1.0)),  # open topological chain, edge zero modes at |E| ~ 7e-13
    ],
)
def test_winding_gradients(pbc, t):
    """Gradients (L = 40) of the winding number and of its density at the first bulk cell (open) or
    the centre (periodic) against central finite differences (h = 1e-5), through the polar route
    (custom JVP) and the eigensystem route (masked eigh JVP); all finite."""
    L = 40
    lat = lattice.chain(L, pbc=pbc)
    i = L // 2 if pbc else L // 4

    def dens(t):
        return invariants.winding_density(hamiltonians.ssh(t, lat), lat, validity="raw")[i]

    def wind(t):
        return invariants.winding_number(hamiltonians.ssh(t, lat), lat, validity="raw")

    def wind_eigh(t):
        E, V = invariants.eigh(hamiltonians.ssh(t, lat))
        return invariants.winding_number_from_eigh(E, V, lat, validity="raw")

    @jax.jit
    def all3(t):
        return jnp.stack([dens(t), wind(t), wind_eigh(t)])

    t = np.asarray(t)
    g = A(jax.jit(jax.jacfwd(all3))(t))  # (3, 2)
    assert np.all(np.isfinite(g))
    fd = np.stack([_fd(lambda x, k=k: A(all3(x))[k], t) for k in range(3)])
    np.testing.assert_allclose(g, fd, atol=1e-8, rtol=1e-5)
    # Not trivially zero: the first bulk cell still feels the edge-mode tails (xi = 1.4 cells).
    assert np.max(np.abs(g[0])) > 1e-6


def test_polar_factor_jvp_degenerate():
    """The polar factor's JVP at exactly degenerate singular values (a random unitary times a
    diagonal with repeated entries) against finite differences, also with a complex tangent."""
    rng = np.random.default_rng(0)
    Q, _ = np.linalg.qr(rng.normal(size=(6, 6)) + 1j * rng.normal(size=(6, 6)))
    R, _ = np.linalg.qr(rng.normal(size=(6, 6)) + 1j * rng.normal(size=(6, 6)))
    h = Q @ np.diag([0.5, 0.5, 1.0, 1.0, 1.0, 2.0]) @ R
    dh = rng.normal(size=(6, 6)) + 1j * rng.normal(size=(6, 6))
    polar = jax.jit(invariants.polar_factor)
    _, dU = jax.jit(lambda h, dh: jax.jvp(invariants.polar_factor, (h,), (dh,)))(h, dh)
    eps = 1e-6
    fd = (A(polar(h + eps * dh)) - A(polar(h - eps * dh))) / (2 * eps)
    np.testing.assert_allclose(A(dU), fd, atol=1e-8)
    np.testing.assert_allclose(A(polar(h)), Q @ R, atol=1e-12)


# ------------------------------------------------------------------ Chern marker, Bott, Kitaev
@pytest.mark.parametrize("m", [-1.5, -0.5, 0.5, 1.5])
def test_qwz_marker_centre_and_sum(m):
    """20 x 20 open QWZ: centre-cell marker within 1e-3 of C; the map sums to 0 to 1e-10; the
    bulk-window average and the Kitaev sum within 1e-2 and 1e-3; eigensystem entry point agrees."""
    H, E, V = qwz_eigh(m, SQ20)
    c = qwz_chern(m)
    cm, cert = invariants.local_chern_marker_from_eigh(E, V, SQ20, return_certificate=True)
    gap = cert.gap
    assert cm.shape == (20, 20) and cm.dtype == jnp.float64
    cm = A(cm)
    assert abs(cm[10, 10] - c) < 1e-3
    assert abs(cm.sum()) < 1e-10
    if m == -1.5:  # the Hamiltonian entry point (its own eigh) agrees with the eigensystem one
        assert np.max(np.abs(cm - A(invariants.local_chern_marker(H, SQ20)))) < 1e-10
    assert abs(float(invariants.chern_number_from_eigh(E, V, SQ20, method="marker")) - c) < 1e-2
    assert abs(float(invariants.chern_number_from_eigh(E, V, SQ20, method="kitaev")) - c) < 1e-3
    # Bulk gap: the chiral edge modes inside the gap are ignored (the k-space gap is 2 min(|m|, 2-|m|) = 1).
    assert 0.9 < float(gap) < 1.2


@pytest.mark.parametrize("m", [-3.0, -1.5, -0.5, 0.5, 1.5, 3.0])
def test_qwz_bott_integer_equals_kspace(m):
    """Periodic 8 x 8 QWZ: Bott index an integer to 1e-8 and equal to the FHS Chern number."""
    H, E, V = qwz_eigh(m, SQ8P)
    c = kspace.chern_number("qwz", {"m": m}, nk=16)
    # 8 x 8 is at the edge of certifiability for |m| = 0.5, 1.5 (tail ~0.09, see test_certificate_*):
    # the formula's raw value is checked here.
    b = float(invariants.bott_index(H, SQ8P, validity="raw"))
    assert abs(b - c) < 1e-8
    assert abs(float(invariants.bott_index_from_eigh(E, V, SQ8P, validity="raw")) - b) < 1e-10
    assert abs(float(invariants.chern_number(H, SQ8P, method="bott", validity="raw")) - b) < 1e-10


def test_qwz_anderson_disorder():
    """QWZ m = -1, W = 2 Anderson disorder, 20 x 20: bulk-window marker within 0.01 of +1 (open),
    Bott index +1 (periodic, same disorder realisation of the onsite terms)."""
    H, E, V = qwz_eigh(-1.0, SQ20, w=2.0, seed=7)
    c = float(invariants.chern_number_from_eigh(E, V, SQ20))
    assert abs(c - 1.0) < 0.01, c
    lp = lattice.square(20, 20, pbc=True)
    Hp = hamiltonians.qwz(-1.0, lp, onsite_disorder=2.0, key=jax.random.key(7))
    assert abs(float(invariants.bott_index(Hp, lp)) - 1.0) < 1e-8


@pytest.mark.parametrize("phi", [np.pi / 2, -np.pi / 2])
def test_haldane_marker_bott_kitaev(phi):
    """Haldane t1 = 1, t2 = 0.2, M = 0.1: C = -sign(sin phi) from the marker (open 15 x 15, Cartesian
    positions, A_cell = sqrt(3)/2), the Bott index (periodic 9 x 9, fractional coordinates) and the
    Kitaev sum (open), all equal to the k-space value."""
    c = kspace.chern_number("haldane", {"phi": phi, **HALDANE}, nk=18)
    assert c == -int(np.sign(np.sin(phi)))
    H, E, V = haldane_eigh(phi, HON_O)
    cm = A(invariants.local_chern_marker_from_eigh(E, V, HON_O))
    assert abs(cm[7, 7] - c) < 1e-3
    assert abs(cm.sum()) < 1e-10
    assert abs(float(invariants.chern_number_from_eigh(E, V, HON_O, method="marker")) - c) < 1e-2
    assert abs(float(invariants.chern_number_from_eigh(E, V, HON_O, method="kitaev")) - c) < 1e-2
    Hp, Ep, Vp = haldane_eigh(phi, HON_P)
    assert abs(float(invariants.bott_index_from_eigh(Ep, Vp, HON_P)) - c) < 1e-8


def test_chern_gap_flag():
    """At QWZ m = 0, +-2 (open 20 x 20 marker; periodic 8 x 8 Bott, where the gap closes on the grid)
    no value is certified: the correlations decay as a power law (delocalized) or a state sits at the
    Fermi level; with validity="raw" the raw numbers come back (the periodic ones are integers: the
    certificate is what tells). Deep in a phase at 20 x 20 the value is certified, with the bulk gap
    (the chiral edge modes are ignored)."""
    bad = (validity.DELOCALIZED, validity.FERMI_LEVEL_ON_STATE)
    for m in (0.0, 2.0, -2.0):
        H, E, V = qwz_eigh(m, SQ20)
        c, cert = invariants.chern_number_from_eigh(E, V, SQ20, return_certificate=True)
        cm = A(invariants.local_chern_marker_from_eigh(E, V, SQ20))
        assert np.isnan(float(c)) and np.all(np.isnan(cm)) and int(cert.reason) in bad
        Hp, Ep, Vp = qwz_eigh(m, SQ8P)
        b, cb = invariants.bott_index_from_eigh(Ep, Vp, SQ8P, return_certificate=True)
        assert np.isnan(float(b)) and float(cb.gap) < 1e-12 and int(cb.reason) in bad
        raw = float(invariants.bott_index_from_eigh(Ep, Vp, SQ8P, validity="raw"))
        assert abs(raw - round(raw)) < 1e-8
        assert np.isnan(float(invariants.chern_number_from_eigh(Ep, Vp, SQ8P, method="kitaev")))
    for m in (-3.0, 3.0):  # deep trivial phase: certified even on 8 x 8
        Hp, Ep, Vp = qwz_eigh(m, SQ8P)
        assert abs(float(invariants.bott_index_from_eigh(Ep, Vp, SQ8P))) < 1e-8
    for m in (-1.0, 1.0):
        H, E, V = qwz_eigh(m, SQ20)
        c, cert = invariants.chern_number_from_eigh(E, V, SQ20, return_certificate=True)
        gap = cert.gap
        assert np.isfinite(float(c)) and float(gap) > 0.9
        # spectral_gap is the same number as the functions report.
        assert abs(float(invariants.spectral_gap(E, V, SQ20)) - float(gap)) < 1e-12
    assert abs(float(invariants.spectral_gap(E)) - (E[400] - E[399])) < 1e-12


def test_marker_gradient_finite_differences():
    """d C(r) / d m at a corner and a centre cell of an open 8 x 8 QWZ sample (through the masked
    eigh JVP, forward mode) against central finite differences; and on an exactly degenerate
    spectrum (clean periodic QWZ), where jnp.linalg.eigh's gradient is NaN, finite and correct."""
    lat = SQ8

    @jax.jit
    def marker(m):
        cm = invariants.local_chern_marker(hamiltonians.qwz(m, lat), lat, validity="raw")
        return jnp.stack([cm[0, 0], cm[4, 4]])

    g = A(jax.jit(jax.jacfwd(marker))(-1.2))
    fd = (A(marker(-1.2 + 1e-5)) - A(marker(-1.2 - 1e-5))) / 2e-5
    assert np.all(np.isfinite(g)) and np.all(np.abs(g) > 1e-3)
    np.testing.assert_allclose(g, fd, atol=1e-7, rtol=1e-6)
    lp = SQ8P
    x, y = (jnp.asarray(c) for c in tc.exact_coordinates(lp))

    def site_marker(m, eigh):
        E, V = eigh(hamiltonians.qwz(m, lp))
        return invariants.chern.marker_sites(V[:, : lp.n_sites // 2], x, y)[3]

    assert np.isnan(float(jax.jit(jax.grad(site_marker), static_argnums=1)(-1.2, jnp.linalg.eigh)))
    f = jax.jit(functools.partial(site_marker, eigh=invariants.eigh))
    g = float(jax.jit(jax.grad(f))(-1.2))
    assert np.isfinite(g) and abs(g) > 1e-3 and abs(g - (float(f(-1.2 + 1e-5)) - float(f(-1.2 - 1e-5))) / 2e-5) < 1e-7


# ------------------------------------------------------------------ gauge invariance
def _regauge(E, V, rng, n_occ):
    """Random phases on every eigenvector and a random unitary inside each degenerate group (groups
    never straddle the half-filling split in a gapped system)."""
    E, V = np.asarray(E), np.array(V, dtype=complex)
    V = V * np.exp(2j * np.pi * rng.random(V.shape[1]))[None, :]
    start, n_groups = 0, 0
    for k in range(1, len(E) + 1):
        if k == len(E) or E[k] - E[k - 1] > 1e-9:
            if k - start > 1:
                assert not (start < n_occ < k)
                d = k - start
                Q, _ = np.linalg.qr(rng.normal(size=(d, d)) + 1j * rng.normal(size=(d, d)))
                V[:, start:k] = V[:, start:k] @ Q
                n_groups += 1
            start = k
    return E, V, n_groups


def test_gauge_invariance():
    rng = np.random.default_rng(1)
    # Periodic chain: s(k) = s(-k) pairs.
    lat = lattice.chain(40, pbc=True)
    E, V = eigh(ssh((0.6, 1.0), lat))
    E2, V2, ng = _regauge(E, V, rng, 40)
    assert ng > 10
    w1 = float(invariants.winding_number_from_eigh(E, V, lat))
    assert abs(float(invariants.winding_number_from_eigh(E2, V2, lat)) - w1) < 1e-12
    # Periodic QWZ (degenerate) for Bott and Kitaev; open QWZ (phases, and any degeneracy) for the marker.
    _, E, V = qwz_eigh(-1.5, SQ8P)
    E2, V2, ng = _regauge(E, V, rng, SQ8P.n_sites // 2)
    assert ng > 5
    for f in (functools.partial(invariants.bott_index_from_eigh, validity="raw"),
              functools.partial(invariants.chern_number_from_eigh, method="kitaev", radius=3.0, validity="raw")):
        assert abs(float(f(E2, V2, SQ8P)) - float(f(E, V, SQ8P))) < 1e-10
    _, E, V = qwz_eigh(0.5, SQ20)
    E2, V2, _ = _regauge(E, V, rng, SQ20.n_sites // 2)
    d = A(invariants.local_chern_marker_from_eigh(E2, V2, SQ20)) - A(invariants.local_chern_marker_from_eigh(E, V, SQ20))
    assert np.max(np.abs(d)) < 1e-10


# ------------------------------------------------------------------ networks = fast paths
def _both(net, *args, **kw):
    """A network through ncon and through einsum, each under one jit (as models use them)."""
    return [A(jax.jit(functools.partial(net, engine=e, **kw))(*args)) for e in ("ncon", "einsum")]


def test_networks_ncon_einsum_and_fast_paths():
    """Each network through tensornetwork.ncon equals jnp.einsum on the same opt_einsum path to
    1e-12, and with the exact tensors equals the public fast path."""
    # 24 cells: the edge modes (|E| ~ 6e-8) are resolved, so eigh's sign weights are well defined
    # (at 40 cells they sit at the zero-mode floor, where both invariant routes drop them).
    lat = lattice.chain(24)
    H = ssh((0.5, 1.0), lat)
    E, V = eigh(H)
    K = tc.exact_winding_kernel(lat)
    s = tc.exact_winding_weights(48)
    M = tc.exact_mixing(2)
    a, b = _both(tc.winding_network, V, s, K, M)
    assert abs(a - b) < 1e-12
    ref = float(invariants.winding_number_from_eigh(E, V, lat, validity="raw"))
    assert abs(a - ref) < 1e-12
    U = invariants.polar_factor(invariants.chiral_block(H))
    KK = np.stack([K, 2 * K])
    p, q = _both(tc.winding_from_polar, U, KK)
    assert p.shape == (2,) and np.max(np.abs(p - q)) < 1e-12
    assert abs(p[0] - float(invariants.winding_number(H, lat, validity="raw"))) < 1e-12
    # The two routes differ only by how the edge zero modes enter (dropped / split): 1e-6 at xi = 1.4.
    assert abs(p[0] - ref) < 1e-5
    # Channels by vmap: two kernels, weights, mixings.
    chan = A(jax.jit(jax.vmap(tc.winding_network, in_axes=(None, 0, 0, 0)))(V, np.stack([s, s]), KK, np.stack([M, M])))
    assert np.max(np.abs(chan - np.array([a, 2 * a]))) < 1e-12

    lat = SQ8
    H = hamiltonians.qwz(-1.0, lat)
    E, V = eigh(H)
    f = tc.exact_occupation(128)
    x, y = tc.exact_coordinates(lat)
    psi = V.reshape(64, 2, 128)
    assert np.array_equal(A(tc.as_cell_orbital(V, 2)), psi)
    maps = _both(tc.marker_network, psi, f, x, y, tc.exact_marker_scale(lat))
    assert np.max(np.abs(maps[0] - maps[1])) < 1e-12
    fast = A(invariants.local_chern_marker_from_eigh(E, V, lat, validity="raw")).reshape(-1)
    assert np.max(np.abs(maps[0] - fast)) < 1e-10
    win = tc.bulk_window(lat).reshape(-1)
    avg = float(jax.jit(tc.window_average)(maps[0], win))
    assert abs(avg - float(invariants.chern_number_from_eigh(E, V, lat, validity="raw"))) < 1e-10
    sec = tc.exact_kitaev_sectors(lat)
    ks = _both(tc.kitaev_network, V, f, *sec)
    assert abs(ks[0] - ks[1]) < 1e-12
    assert abs(ks[0] - float(invariants.chern_number_from_eigh(E, V, lat, method="kitaev", validity="raw"))) < 1e-10

    lp = HON_P
    _, E, V = haldane_eigh(np.pi / 2, lp)
    px, py = tc.exact_bott_phases(lp)
    u = [[A(x) for x in jax.jit(functools.partial(tc.bott_unitaries, engine=e))(V[:, :81], px, py)] for e in ("ncon", "einsum")]
    assert max(np.max(np.abs(u[0][k] - u[1][k])) for k in range(2)) < 1e-12
    assert abs(float(tc.bott_from_unitaries(*u[0])) - float(invariants.bott_index_from_eigh(E, V, lp))) < 1e-10


def test_winding_from_svd_equals_polar_route():
    """winding_number_from_svd (an SVD of the chiral block) = the polar route of winding_number,
    zero modes of open topological chains included; bad shapes raise naming the arguments."""
    for pbc in (False, True):
        lat = lattice.chain(30, pbc=pbc)
        for i, (t, ranges) in enumerate((((0.3, 1.0), (0, 1)), ((1.0, 0.3), (0, 1)), ((0.2, 1.0, 0.6), (0, 1, 2)),
                                         ((0.4, 0.2, 1.1), (-1, 0, 1)))):
            H = hamiltonians.ssh(jnp.asarray(t), lat, ranges, bond_disorder=0.5, key=jax.random.key(i))
            w, c = invariants.winding_number(H, lat, return_certificate=True, validity="raw")
            ref = [float(w), float(c.gap)]
            X, s, Yh = jnp.linalg.svd(invariants.chiral_block(H))
            w, c = invariants.winding_number_from_svd(X, s, Yh, lat, return_certificate=True, validity="raw")
            got = [float(w), float(c.gap)]
            # Both routes give exact zero modes (s <= ZERO_MODE_FLOOR s_max) sign 0: the open
            # topological chains here have s_min / s_max ~ 1e-16 and agree to rounding.
            np.testing.assert_allclose(got, ref, rtol=0, atol=1e-10)
    with pytest.raises(ValueError, match="`X`, `s`, `Yh`"):
        invariants.winding_number_from_svd(X[:5], s, Yh, lat)


def test_marker_chern_number_is_the_window_mean_of_the_map():
    """chern_number(method="marker") takes the window sum without the per-site map; it equals the
    mean of local_chern_marker over the window (disordered square and honeycomb, several windows)."""
    for lat, H in ((SQ8, hamiltonians.qwz(-1.2, SQ8, onsite_disorder=2.0, key=jax.random.key(3))),
                   (HON_O, hamiltonians.haldane(1.0, 0.2, 0.9, 0.3, HON_O, onsite_disorder=1.0, key=jax.random.key(4)))):
        E, V = eigh(H)
        cm = A(invariants.local_chern_marker_from_eigh(E, V, lat, validity="raw"))
        for window in (None, 0, 1, (1, 2)):
            win = tc.bulk_window(lat, window)
            ref = float(np.sum(cm * win) / np.sum(win))
            c = float(invariants.chern_number_from_eigh(E, V, lat, window=window, validity="raw"))
            assert abs(c - ref) < 1e-11, (lat.kind, window, c, ref)


def test_contract_generic_and_path():
    """contract() on a random network with a hyperedge, a free batch index and a channel axis."""
    rng = np.random.default_rng(2)
    ops = [rng.normal(size=s) for s in ((3, 4, 5), (5, 4), (4, 6), (3, 6, 2), (4,))]
    sub = "abc,cb,bd,adk,b->ak"
    ref = np.einsum(sub, *ops)
    for e in ("ncon", "einsum"):
        out = jax.jit(lambda *o: tc.contract(sub, *o, engine=e))(*ops)
        np.testing.assert_allclose(A(out), ref, atol=1e-12)
    path, info = tc.contraction_path(sub, tuple(o.shape for o in ops))
    assert len(path) == len(ops) - 1 and info.opt_cost <= info.naive_cost
    with pytest.raises(ValueError, match="`operands\\[1\\]`"):
        tc.contract(sub, ops[0], ops[0], *ops[2:])
    with pytest.raises(ValueError, match="`engine`"):
        tc.contract(sub, *ops, engine="numpy")


# ------------------------------------------------------------------ jit / vmap / dtype
def test_vmap_equals_loop_and_no_recompile():
    lat = lattice.chain(40)
    ts = np.stack([[0.3, 0.6, 1.4, 1.7], np.ones(4)], axis=-1)
    Hs = jax.jit(jax.vmap(lambda t: hamiltonians.ssh(t, lat)))(ts)
    vm = A(jax.jit(jax.vmap(invariants.winding_number, in_axes=(0, None)), static_argnums=1)(Hs, lat))
    loop = np.array([float(invariants.winding_number(ssh(t, lat), lat)) for t in ts])
    np.testing.assert_allclose(vm, loop, atol=1e-12)
    np.testing.assert_allclose(loop, [1, 1, 0, 0], atol=1e-3)
    # vmap over parameters and keys that build the Hamiltonian, inside jit, with the gap.
    keys = jax.random.split(jax.random.key(0), 4)

    @jax.jit
    def point(t, k):
        return invariants.winding_number(hamiltonians.ssh(t, lat, bond_disorder=0.5, key=k), lat, return_certificate=True)

    w, cert = jax.jit(jax.vmap(point))(ts, keys)
    loop = [invariants.winding_number(ssh(t, lat, wb=0.5, key=keys[k]), lat, return_certificate=True)
            for k, t in enumerate(ts)]
    np.testing.assert_allclose(A(w), [float(a) for a, _ in loop], atol=1e-12)
    np.testing.assert_allclose(A(cert.gap), [float(c.gap) for _, c in loop], atol=1e-12)
    # 2D: marker over a stack.
    lo = SQ8
    Hq = [hamiltonians.qwz(m, lo) for m in (-1.0, 1.0)]
    vm = A(jax.jit(jax.vmap(lambda H: invariants.local_chern_marker(H, lo, validity="raw")))(np.stack(Hq)))
    for k in range(2):
        np.testing.assert_allclose(vm[k], A(invariants.local_chern_marker(Hq[k], lo, validity="raw")), atol=1e-12)
    # New values (Hamiltonian, tolerance) and another validity mode do not recompile the cores.
    # Counted through JAX's public monitoring events (one per backend compilation), after one call
    # of each kind.
    def calls(a):
        invariants.winding_number(ssh((0.4 + a, 1.2), lat), lat)
        invariants.winding_number(ssh((0.5 + a, 1.1), lat), lat, validity="spectral", gap_tol=0.1 + a)
        invariants.winding_number(ssh((0.7 + a, 1.3), lat), lat, validity="raw", return_certificate=True)

    calls(0.0)
    compiled = []

    def listener(event, _secs, **_kw):
        if event.endswith("backend_compile_duration"):
            compiled.append(event)

    jax.monitoring.register_event_duration_secs_listener(listener)
    try:
        calls(0.05)
    finally:
        jax.monitoring.unregister_event_duration_listener(listener)
    assert compiled == []


def test_strict_promotion_and_float64():
    """No implicit dtype or rank promotion inside the invariants (STYLE.md, strict JAX)."""
    with jax.numpy_dtype_promotion("strict"), jax.numpy_rank_promotion("raise"):
        lat = lattice.chain(40)
        H = ssh((0.5, 1.5), lat)
        for m in ("polar", "eigh"):
            w, c = invariants.winding_number(H, lat, return_certificate=True, method=m)
            assert w.dtype == jnp.float64 and c.gap.dtype == jnp.float64
        gw = jax.jit(jax.grad(lambda t: invariants.winding_number(hamiltonians.ssh(t, lat), lat)))(np.array([0.5, 1.5]))
        assert gw.dtype == jnp.float64
        for method, lt in (("marker", SQ8), ("bott", SQ8P), ("kitaev", SQ8)):
            c, ct = invariants.chern_number(hamiltonians.qwz(-1.0, lt), lt, method=method, return_certificate=True,
                                            validity="raw")
            assert c.dtype == jnp.float64 and ct.gap.dtype == jnp.float64


# ------------------------------------------------------------------ bad input
def test_bad_inputs_raise_naming_the_argument():
    ch, chp = lattice.chain(40), lattice.chain(40, pbc=True)
    H = A(ssh((0.5, 1.0), ch))
    lo, lp = SQ8, SQ8P
    Hq = A(hamiltonians.qwz(-1.0, lo))
    E, V = eigh(Hq)
    cases = [
        ("`H`.*Hermitian", lambda: invariants.winding_number(H + np.triu(np.ones_like(H), 1), ch)),
        ("`H`.*Hermitian", lambda: invariants.local_chern_marker(Hq + 1j * np.eye(128), lo)),
        ("`H`.*shape", lambda: invariants.winding_number(H[:10, :10], ch)),
        ("`H`.*shape", lambda: invariants.bott_index(Hq[:8, :8], lp)),
        ("`H`.*given", lambda: invariants.winding_number(None, ch)),
        ("`lat`.*open", lambda: invariants.local_chern_marker(Hq, lp)),
        ("`lat`.*open", lambda: invariants.chern_number(Hq, lp, method="marker")),
        ("`lat`.*periodic", lambda: invariants.bott_index(Hq, lo)),
        ("`lat`.*periodic", lambda: invariants.chern_number(Hq, lo, method="bott")),
        ("`lat`.*chain", lambda: invariants.winding_number(Hq, lo)),
        ("`lat`.*square or honeycomb", lambda: invariants.local_chern_marker(H, ch)),
        ("`lat`.*Lattice", lambda: invariants.winding_number(H, "chain")),
        ("`trim`", lambda: invariants.winding_number(H, ch, trim=20)),
        ("`trim`", lambda: invariants.winding_number(H, ch, trim=-1)),
        ("`trim`", lambda: invariants.winding_number(H, chp, trim=2)),
        ("`trim`", lambda: invariants.chern_number(Hq, lo, window=4)),
        ("`trim`", lambda: invariants.local_chern_marker(Hq, lo, window=(1, 4))),
        ("`radius`", lambda: invariants.chern_number(Hq, lo, method="kitaev", radius=10.0)),
        ("`radius`", lambda: invariants.chern_number(Hq, lo, method="marker", radius=1.0)),
        ("`window`", lambda: invariants.chern_number(Hq, lp, method="bott", window=1)),
        ("`method`", lambda: invariants.chern_number(Hq, lo, method="fhs")),
        ("`method`", lambda: invariants.winding_number(H, ch, method="svd")),
        ("`E`.*sorted", lambda: invariants.local_chern_marker_from_eigh(E[::-1], V, lo)),
        ("`E`.*shape", lambda: invariants.local_chern_marker_from_eigh(E[:4], V, lo)),
        ("`V`.*shape", lambda: invariants.local_chern_marker_from_eigh(E, V[:, :4], lo)),
        ("`gap_tol`", lambda: invariants.winding_number(H, ch, validity="spectral", gap_tol=-1.0)),
        ("`return_gap`", lambda: invariants.winding_number(H, ch, return_gap=1)),
        ("`V`", lambda: invariants.spectral_gap(E, None, lo)),
    ]
    for pattern, call in cases:
        with pytest.raises(ValueError, match=pattern):
            call()


# ------------------------------------------------------------------ benchmark smoke test
@pytest.mark.slow
def test_bench_invariants_quick(tmp_path):
    """experiments/bench_invariants.py --quick runs end to end and writes its JSON (no timing asserts)."""
    import importlib.util
    import json
    import pathlib

    path = pathlib.Path(__file__).resolve().parents[1] / "experiments" / "bench_invariants.py"
    spec = importlib.util.spec_from_file_location("bench_invariants", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    out = tmp_path / "bench.json"
    res = mod.main(["--quick", "--repeats", "1", "--out", str(out)])
    data = json.loads(out.read_text())
    assert data["winding_single"]["ratio_vs_svd_jax"] > 0 and len(data["table"]) == len(res["table"])
    assert abs(data["marker_bott"]["bott"] - data["marker_bott"]["bott_numpy"]) < 1e-8
    assert data["winding_batch"]["max_abs_diff_vs_numpy"] < 1e-6


# ------------------------------------------------------------------------------ certificates (validity)
def _cert(f, *a, **k):
    v, c = f(*a, return_certificate=True, **k)
    return float(v), c


def test_certificate_multirange_transition_is_invalid():
    """A held-out-style transition of an open multi-range chain: t = (0.2, 0.3, 0.5, -1.0), ranges 0..3,
    sits exactly on a k-space transition; its finite-size gap (0.087) is above the old spectral
    tolerance (0.046) and the raw value is 2.098. The certificate flags it (delocalized)."""
    lat = lattice.chain(61)
    H = hamiltonians.ssh(jnp.array([0.2, 0.3, 0.5, -1.0]), lat, (0, 1, 2, 3))
    with pytest.raises(kspace.GaplessError):
        kspace.winding_number((0.2, 0.3, 0.5, -1.0), (0, 1, 2, 3))
    w, c = _cert(invariants.winding_number, H, lat)
    assert np.isnan(w) and int(c.reason) == validity.DELOCALIZED and float(c.tail) > 0.1
    assert float(c.gap) > 0.08  # above the old spectral tolerance 2 s_max / L = 0.046: it passed


@pytest.mark.parametrize("L", [37, 41])
def test_certificate_odd_periodic_transition_is_invalid(L):
    """SSH at v = w on an odd periodic ring: no k point closes the gap (gap ~ pi w / L), the raw value
    is ~0.49; the correlations decay as a power law, so the certificate flags it."""
    lat = lattice.chain(L, pbc=True)
    w, c = _cert(invariants.winding_number, ssh((1.0, 1.0), lat), lat)
    assert np.isnan(w) and int(c.reason) == validity.DELOCALIZED and float(c.gap) > 0.05
    raw = float(invariants.winding_number(ssh((1.0, 1.0), lat), lat, validity="raw"))
    assert 0.3 < raw < 0.7


def test_certificate_odd_periodic_qwz_bott():
    """QWZ on a 7 x 5 torus: the Bott index is an integer for every gapped sample, a wrong one near a
    transition; whatever it is, a *valid* value equals k space."""
    lat = lattice.square(7, 5, pbc=True)
    for m in np.linspace(-2.9, 2.9, 59):
        b, c = _cert(invariants.bott_index, hamiltonians.qwz(float(m), lat), lat)
        if np.isfinite(b):
            assert b == pytest.approx(kspace.chern_number("qwz", {"m": float(m)}, nk=64), abs=1e-8), m
    with pytest.raises(ValueError, match="`lat`.*too small"):
        invariants.bott_index(hamiltonians.qwz(-1.0, lattice.square(3, 5, pbc=True)), lattice.square(3, 5, pbc=True))


@pytest.mark.parametrize("pbc", [False, True])
def test_certificate_valid_clean_samples_equal_kspace(pbc):
    """Randomized: over 400 random clean multi-range chains (ranges -1..2, t uniform in [-1, 1]; open
    32 cells, periodic 33), every valid value equals the k-space winding to 0.05 and its rounding
    equals it exactly; and a sizeable share is valid."""
    lat = lattice.chain(33 if pbc else 32, pbc=pbc)
    ranges = (-1, 0, 1, 2)
    ts = np.random.default_rng(10 + pbc).uniform(-1, 1, (400, 4))
    f = jax.jit(jax.vmap(lambda t: invariants.winding_number(hamiltonians.ssh(t, lat, ranges), lat,
                                                              return_certificate=True)))
    w, c = f(jnp.asarray(ts))
    w, reason = np.asarray(w), np.asarray(c.reason)
    valid = reason == validity.VALID
    assert np.array_equal(valid, np.isfinite(w))
    assert valid.mean() > 0.3
    for t, v in zip(ts[valid], w[valid]):
        k = kspace.winding_number(tuple(t), ranges)
        assert abs(v - k) < 0.05 and round(v) == k


def test_certificate_strong_bond_disorder_periodic_is_valid():
    """Bond disorder W = 2 on v = 0.5, w = 1.5 (periodic, 100 cells): the spectral gap nearly closes
    (the old test dropped these), but the zero-energy states stay localized
    (validity.ssh_bond_lyapunov < 0): the value is certified and quantized."""
    lat = lattice.chain(100, pbc=True)
    assert float(validity.ssh_bond_lyapunov(0.5, 1.5, 2.0)) < -0.1
    keys = jax.random.split(jax.random.key(11), 6)
    Hs = jax.vmap(lambda k: ssh_jit(jnp.array([0.5, 1.5]), 2.0, 0.0, k, lat))(keys)
    for H in Hs:
        w, c = _cert(invariants.winding_number, H, lat)
        assert int(c.reason) == validity.VALID and abs(w - 1.0) < 1e-6


def test_default_route_equals_eigh_route_on_disordered_open_chains():
    """Disordered open multi-range chains with near-zero modes: the default (SVD polar) route equals
    the eigensystem route to 1e-8 on every valid sample (and on the issue's example, whose raw
    values the old 1e-6 cut-off moved by 0.09), with finite gradients."""
    lat = lattice.chain(61)
    ranges = (0, 1, 2, 3)
    t = jnp.array([0.1, 0.15, -0.12, 1.2])
    H = hamiltonians.ssh(t, lat, ranges, bond_disorder=1.5, key=jax.random.key(505))
    a = float(invariants.winding_number(H, lat, validity="raw"))
    b = float(invariants.winding_number(H, lat, method="eigh", validity="raw"))
    assert abs(a - b) < 1e-7 and abs(a - 2.90285) < 1e-4
    keys = jax.random.split(jax.random.key(7), 24)
    Hs = jax.vmap(lambda k: hamiltonians.ssh(t, lat, ranges, bond_disorder=1.0, key=k))(keys)
    n_valid = 0
    for H in Hs:
        wp, cp = _cert(invariants.winding_number, H, lat)
        we, ce = _cert(invariants.winding_number, H, lat, method="eigh")
        assert int(cp.reason) == int(ce.reason)
        if int(cp.reason) == validity.VALID:
            n_valid += 1
            assert abs(wp - we) < 1e-8
    assert n_valid >= 8
    g = jax.grad(lambda tt: invariants.winding_density(
        hamiltonians.ssh(tt, lat, ranges, bond_disorder=1.0, key=keys[0]), lat, validity="raw")[30])(t)
    assert np.all(np.isfinite(np.asarray(g)))


def test_nan_input_under_jit_is_reported():
    """A NaN parameter under jit: NaN value with reason nan_input (never 'gapless' or a gap of 0
    that looks like a transition); concrete NaN input raises."""
    lat = lattice.chain(20)
    f = jax.jit(lambda t: invariants.winding_number(hamiltonians.ssh(t, lat), lat, return_certificate=True))
    w, c = f(jnp.array([jnp.nan, 1.0]))
    assert np.isnan(float(w)) and int(c.reason) == validity.NAN_INPUT
    w, c = f(jnp.array([0.5, 1.0]))
    assert int(c.reason) == validity.VALID and abs(float(w) - 1) < 0.01
    sq = lattice.square(8, 8)
    g = jax.jit(lambda m: invariants.chern_number(hamiltonians.qwz(m, sq), sq, return_certificate=True))
    assert int(g(jnp.nan)[1].reason) == validity.NAN_INPUT
    with pytest.raises(ValueError, match="`H`"):
        invariants.winding_number(np.full((40, 40), np.nan), lat)


def test_tiny_samples_raise_or_flag():
    """Samples too small for a bulk window one cell from the boundary raise (never an integer-looking
    0); validity="raw" still gives the raw number."""
    for lat, f in ((lattice.square(1, 1), invariants.local_chern_marker),
                   (lattice.square(1, 1, pbc=True), invariants.bott_index),
                   (lattice.square(1, 5, pbc=True), invariants.bott_index),
                   (lattice.square(2, 2, pbc=True), invariants.bott_index),
                   (lattice.chain(3), invariants.winding_number)):
        H = (hamiltonians.qwz(-1.0, lat) if lat.kind == "square" else ssh((0.5, 1.0), lat))
        with pytest.raises(ValueError, match="`lat`.*too small"):
            f(H, lat)
        assert np.all(np.isfinite(np.asarray(f(H, lat, validity="raw"))))


def test_bott_gradient_is_zero_and_polar_needs_square():
    lat = lattice.square(6, 6, pbc=True)
    g = jax.grad(lambda m: invariants.bott_index(hamiltonians.qwz(m, lat), lat, validity="raw"))(-1.0)
    assert float(g) == 0.0
    with pytest.raises(ValueError, match="`h`.*square"):
        invariants.polar_factor(np.ones((3, 4)))


def test_block_site_order_is_refused_with_a_fix():
    """A chain written with all A sites first, then all B: the message must not lead to a wrong
    number (method='eigh' is refused too), and the suggested permutation gives the right one."""
    L = 30
    lat = lattice.chain(L)
    H = np.asarray(ssh((0.5, 1.0), lat))
    perm_to_block = np.concatenate([np.arange(0, 2 * L, 2), np.arange(1, 2 * L, 2)])
    Hb = H[np.ix_(perm_to_block, perm_to_block)]
    for method in ("polar", "eigh"):
        with pytest.raises(ValueError, match="site order"):
            invariants.winding_number(Hb, lat, method=method)
    perm = np.arange(2 * L).reshape(2, L).T.reshape(-1)
    assert abs(float(invariants.winding_number(Hb[np.ix_(perm, perm)], lat)) - 1.0) < 1e-3


def test_lyapunov_references():
    """Zero-energy Lyapunov exponents: clean chains give log|z_k| of the roots of q(z) and the winding
    min(ranges) + #negative; nearest-neighbour bond disorder matches the closed form."""
    t, ranges = (0.3, -0.4, 1.0, 0.2), (-1, 0, 1, 2)
    lat = lattice.chain(400, pbc=True)
    h = np.asarray(invariants.chiral_block(hamiltonians.ssh(jnp.asarray(t), lat, ranges)))
    g = validity.zero_energy_lyapunov(h, ranges, pbc=True)
    roots = np.roots(np.array(t)[::-1])
    np.testing.assert_allclose(np.sort(g), np.sort(np.log(np.abs(roots))), atol=1e-2)
    assert -1 + int(np.sum(g < 0)) == kspace.winding_number(t, ranges)
    lat = lattice.chain(4000, pbc=True)
    H = ssh_jit(jnp.array([0.8, 1.0]), 1.5, 0.0, jax.random.key(0), lat)
    g = validity.zero_energy_lyapunov(np.asarray(invariants.chiral_block(H)), (0, 1), pbc=True)
    assert abs(float(g[0]) - float(validity.ssh_bond_lyapunov(0.8, 1.0, 1.5))) < 0.03
    assert np.isnan(validity.ssh_bond_transition(0.5, 1.0))  # equal widths: no finite transition
    wc = validity.ssh_bond_transition(0.5, 1.0, ratio=0.0)  # intracell disorder only
    assert abs(float(validity.ssh_bond_lyapunov(0.5, 1.0, wc, 0.0))) < 1e-9 and 1.0 < wc < 10.0
