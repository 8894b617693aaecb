r"""k-space references of :mod:`tnn.kspace` (docs/conventions.md, "Checks that any implementation must pass").

* SSH family: ``q(k) = sum_i t_i e^{i r_i k}``, W = counter-clockwise turns of q as k: 0 -> 2 pi.
* QWZ: ``C = +1`` for ``-2 < m < 0``, ``-1`` for ``0 < m < 2``, ``0`` for ``|m| > 2``.
* Haldane: ``C = -sign(t2 sin phi)`` for ``|M| < 3 sqrt3 |t2 sin phi|``, else 0.

The sign of the Fukui-Hatsugai-Suzuki number is checked independently against the Kubo form of
the Berry curvature of the occupied band n (the definition ``A = i<u|d u>``, ``F = dx Ay - dy Ax``):

    F_n(k) = -2 Im sum_{m != n} <n|dx H|m><m|dy H|n> / (E_n - E_m)^2,   C = (1/2 pi) int_BZ F d^2k,

and the real-space rule of docs/conventions.md (real-space invariant of a clean system = k-space invariant)
against a plain NumPy Bianco-Resta marker in the centre of a small open flake.
"""

import collections
import functools

import numpy as np
import jax
import jax.numpy as jnp
import pytest

from tnn import bloch, hamiltonians, kspace, lattice, systems

SQRT3 = np.sqrt(3.0)
SX = np.array([[0, 1], [1, 0]], dtype=complex)
SY = np.array([[0, -1j], [1j, 0]])
SZ = np.diag([1.0, -1.0]).astype(complex)

TRACES = collections.Counter()


@functools.partial(jax.jit, static_argnames=("ranges",))
def winding_jit(t, ranges):
    TRACES["winding", ranges] += 1
    return kspace.winding_number_and_gap(t, ranges)


@functools.partial(jax.jit, static_argnames=("model",))
def chern_jit(params, model):
    TRACES["chern", model] += 1
    return kspace.chern_number_and_gap(model, params, nk=48)


# ------------------------------------------------------------------------------- SSH winding
WINDINGS = [
    ((1.0, 0.5), (0, 1), 0),
    ((0.5, 1.0), (0, 1), 1),
    ((-0.5, 1.0), (0, 1), 1),
    ((0.5, -1.0), (0, 1), 1),
    ((-1.0, 0.3), (0, 1), 0),
    ((0.4, 1.0), (0, -1), -1),
    ((1.0, 0.4), (0, -1), 0),
    ((0.3, 0.5, 1.5), (0, 1, 2), 2),
    ((0.3, 1.5, 0.5), (0, 1, 2), 1),
    ((2.0, 0.5, 0.3), (0, 1, 2), 0),
    ((0.2, 1.0, 0.3), (-1, 1, 2), 1),
    ((1.0,), (3,), 3),
    ((-0.7,), (-2,), -2),
    ((0.1, 1.0), (1, 2), 2),
]


def _brute_winding(t, ranges, nk=20000):
    """Winding of q(k) by unwrapping its phase on a fine grid (NumPy, independent of tnn)."""
    k = np.linspace(0, 2 * np.pi, nk + 1)
    q = sum(ti * np.exp(1j * r * k) for ti, r in zip(t, ranges))
    return (np.unwrap(np.angle(q))[-1] - np.angle(q[0])) / (2 * np.pi), 2 * np.abs(q[:-1]).min()


@pytest.mark.parametrize("t, ranges, W", WINDINGS)
def test_ssh_winding_exact_and_jittable(t, ranges, W):
    assert kspace.winding_number(t, ranges) == W
    assert type(kspace.winding_number(np.array(t), ranges)) is int
    w, gap = winding_jit(jnp.asarray(t), ranges)
    brute_w, _ = _brute_winding(t, ranges)
    assert abs(float(w) - W) < 1e-9 and abs(brute_w - W) < 1e-6
    # gap: 2 min |q| on the 512-point grid, compared with the same grid in NumPy
    k = np.arange(512) * 2 * np.pi / 512
    q = sum(ti * np.exp(1j * r * k) for ti, r in zip(t, ranges))
    np.testing.assert_allclose(float(gap), 2 * np.abs(q).min(), rtol=1e-12)


def test_winding_jit_compiles_once_and_vmaps():
    ts = jnp.array([[1.0, 0.5], [0.5, 1.0], [0.2, 2.0], [3.0, -1.0]])
    before = TRACES["winding", (0, 1)]
    for t in ts:
        winding_jit(t, (0, 1))
    assert TRACES["winding", (0, 1)] - before <= 1  # 0 if an earlier test compiled it
    w, gap = jax.vmap(lambda t: kspace.winding_number_and_gap(t, (0, 1)))(ts)
    np.testing.assert_allclose(w, [0, 1, 1, 0], atol=1e-9)
    np.testing.assert_allclose(gap, [1.0, 1.0, 3.6, 4.0], atol=1e-9)
    assert w.dtype == gap.dtype == jnp.float64


@pytest.mark.parametrize(
    "t, ranges",
    [
        ((1.0, 1.0), (0, 1)),  # v = w
        ((0.7, -0.7), (0, 1)),  # v = -w: closes at k = 0
        ((1.0, 1.0), (0, -1)),
        ((1.0, -2.0, 1.0), (0, 1, 2)),  # (1 - e^{ik})^2: a double zero at k = 0
        ((-1.0, 3.0, -3.0, 1.0), (0, 1, 2, 3)),  # a triple zero
        ((0.0, 0.0), (0, 1)),
    ],
)
def test_winding_gapless_raises(t, ranges):
    with pytest.raises(kspace.GaplessError):
        kspace.winding_number(t, ranges)
    assert issubclass(kspace.GaplessError, ValueError)
    _, gap = kspace.winding_number_and_gap(jnp.asarray(t), ranges)
    assert float(gap) < 1e-12  # all these close at k = 0 or pi, which are on the 512-point grid


# ------------------------------------------------------------------------------- Chern numbers
def qwz_closed_form(m, k):
    kx, ky = k
    return np.sin(kx) * SX + np.sin(ky) * SY + (m + np.cos(kx) + np.cos(ky)) * SZ


def haldane_closed_form(p, k):
    """Haldane H(k) written out: graphene part t1 f(k), f = sum over the B(R) -> A(R + d) offsets
    d in {0, a1, a2}; NNN 2 t2 sum_{b in {a1, a2 - a1, -a2}} cos(k.b +- phi) on A/B (for A the hop
    along these b turns clockwise, nu = -1). ``k`` (..., 2) -> (..., 2, 2)."""
    a1, a2 = np.array([1.0, 0.0]), np.array([0.5, SQRT3 / 2])
    f = 1 + np.exp(-1j * k @ a1) + np.exp(-1j * k @ a2)
    bs = (a1, a2 - a1, -a2)
    hA = p["M"] + 2 * p["t2"] * sum(np.cos(k @ b + p["phi"]) for b in bs)
    hB = -p["M"] + 2 * p["t2"] * sum(np.cos(k @ b - p["phi"]) for b in bs)
    return np.stack([np.stack([hA + 0j, p["t1"] * f], -1), np.stack([p["t1"] * np.conj(f), hB + 0j], -1)], -2)


def _band_gaps(model, params, nk):
    """``(direct, indirect)`` gap on the nk x nk grid and the band-touching points (TRIM / K, K'):
    ``2 min |d(k)|`` and ``min E_+ - max E_-`` with ``E_+- = d0 +- |d|`` (NumPy closed forms)."""
    b = kspace.reciprocal_vectors(model)
    fr = np.stack(np.meshgrid(np.arange(nk), np.arange(nk), indexing="ij"), -1).reshape(-1, 2) / nk
    if model == "qwz":
        extra = np.array([[0, 0], [np.pi, 0], [0, np.pi], [np.pi, np.pi]])
        k = np.concatenate([fr @ b, extra])
        d = np.linalg.norm([np.sin(k[:, 0]), np.sin(k[:, 1]), params["m"] + np.cos(k[:, 0]) + np.cos(k[:, 1])], axis=0)
        d0 = 0.0 * d
    else:
        extra = np.array([[4 * np.pi / 3, 0], [-4 * np.pi / 3, 0]])
        H = haldane_closed_form(params, np.concatenate([fr @ b, extra]))
        d = np.sqrt(np.abs(H[:, 0, 1]) ** 2 + ((H[:, 0, 0] - H[:, 1, 1]).real / 2) ** 2)
        d0 = (H[:, 0, 0] + H[:, 1, 1]).real / 2
    return 2 * d.min(), (d0 + d).min() - (d0 - d).max()


QWZ_C = {-3.0: 0, -1.5: 1, -0.5: 1, 0.5: -1, 1.5: -1, 3.0: 0}


@pytest.mark.parametrize("m", sorted(QWZ_C))
def test_qwz_chern_number(m):
    assert kspace.chern_number("qwz", {"m": m}) == QWZ_C[m]
    c, gap = chern_jit({"m": jnp.float64(m)}, "qwz")
    assert abs(float(c) - QWZ_C[m]) < 1e-8
    direct, indirect = _band_gaps("qwz", {"m": m}, 48)
    # particle-hole symmetric spectrum +-|d|: the band gap at E = 0 is the direct gap 2 min |d|
    np.testing.assert_allclose([float(gap), indirect], direct, rtol=1e-10)


def test_qwz_chern_vmap_and_single_compile():
    ms = jnp.array(sorted(QWZ_C))
    c, gap = jax.vmap(lambda m: kspace.chern_number_and_gap("qwz", {"m": m}, nk=24))(ms)
    np.testing.assert_allclose(c, [QWZ_C[float(m)] for m in ms], atol=1e-8)
    before = TRACES["chern", "qwz"]
    for m in (-1.25, 0.75, 2.5):
        chern_jit({"m": jnp.float64(m)}, "qwz")
    assert TRACES["chern", "qwz"] - before <= 1


def test_public_invariants_under_jit_and_vmap_return_floats_with_nan_when_gapless():
    # concrete numbers: ints, and GaplessError at a transition (tested above); traced: float arrays
    ms = jnp.array([-3.0, -1.0, 0.0, 1.0, 3.0])
    c = jax.vmap(lambda m: kspace.chern_number("qwz", {"m": m}, nk=24))(ms)
    assert c.dtype == jnp.float64
    np.testing.assert_array_equal(c, [0.0, 1.0, np.nan, -1.0, 0.0])
    assert not np.signbit(c[0])  # a rounded -1e-17 comes back as +0
    assert float(jax.jit(lambda m: kspace.chern_number("qwz", {"m": m}))(-1.0)) == 1.0
    ts = jnp.array([[0.5, 1.0], [1.0, 1.0], [1.5, 1.0]])
    np.testing.assert_array_equal(jax.vmap(kspace.winding_number)(ts), [1.0, np.nan, 0.0])
    t4 = jnp.array([[0.1, 0.2, 0.3, 1.0], [1.0, 0.0, 0.0, 0.0], [0.0, 1.0, -2.0, 1.0]])
    w = jax.vmap(lambda t: kspace.winding_number(t, ranges=(-1, 0, 1, 2)))(t4)
    want = [kspace.winding_number(tuple(map(float, t)), ranges=(-1, 0, 1, 2)) for t in t4[:2]]
    np.testing.assert_array_equal(w, [*want, np.nan])  # the last: (1 - e^{ik})^2 e^{ik}, gapless


def _haldane_cases():
    cases = []
    for t2 in (0.2, -0.15):
        for phi in (np.pi / 2, -np.pi / 2, np.pi / 3, -2 * np.pi / 3):
            mc = 3 * SQRT3 * abs(t2 * np.sin(phi))
            for frac in (0.0, 0.6, -0.6, 1.4, -1.4):
                C = -int(np.sign(t2 * np.sin(phi))) if abs(frac) < 1 else 0
                cases.append((dict(t1=1.0, t2=t2, phi=phi, M=frac * mc), C))
    return cases


HALDANE_CASES = _haldane_cases()


@pytest.mark.parametrize("params, C", HALDANE_CASES, ids=[f"{i}" for i in range(len(HALDANE_CASES))])
def test_haldane_chern_number(params, C):
    assert kspace.chern_number("haldane", params) == C
    c, gap = chern_jit({k: jnp.float64(v) for k, v in params.items()}, "haldane")
    assert abs(float(c) - C) < 1e-8
    direct, indirect = _band_gaps("haldane", params, 48)
    np.testing.assert_allclose(float(gap), indirect, rtol=1e-10)
    if abs(np.cos(params["phi"])) < 1e-12:  # d0 = 2 t2 cos(phi) sum cos(k.b) = 0: indirect = direct
        np.testing.assert_allclose(float(gap), direct, rtol=1e-10)


def test_haldane_phi_half_pi_positive_t2_is_minus_one():
    """The sign docs/conventions.md fixes: phi = +pi/2, t2 > 0 gives C = -1."""
    assert kspace.chern_number("haldane", dict(t1=1.0, t2=0.1, phi=np.pi / 2, M=0.0)) == -1


@pytest.mark.parametrize(
    "model, params",
    [
        ("qwz", {"m": 0.0}),
        ("qwz", {"m": 2.0}),
        ("qwz", {"m": -2.0}),
        ("haldane", dict(t1=1.0, t2=0.2, phi=np.pi / 2, M=3 * SQRT3 * 0.2)),
        ("haldane", dict(t1=1.0, t2=0.2, phi=-np.pi / 3, M=-3 * SQRT3 * 0.2 * np.sin(np.pi / 3))),
        ("haldane", dict(t1=1.0, t2=0.0, phi=0.3, M=0.0)),  # graphene
    ],
)
@pytest.mark.parametrize("nk", [48, 25])  # 25: neither the K points nor pi lie on the grid
def test_chern_gapless_raises(model, params, nk):
    with pytest.raises(kspace.GaplessError):
        kspace.chern_number(model, params, nk=nk)
    _, gap = kspace.chern_number_and_gap(model, params, nk=nk)
    assert float(gap) < 1e-10


# ------------------------------------------------------------------------------- grids and band gaps
COARSE = dict(t1=1.0, t2=0.2, phi=np.pi / 2, M=0.9)  # C = -1 (|M| < 3 sqrt3 t2 = 1.04), band gap 0.28


def test_coarse_fhs_grid_is_refined_or_nan():
    """On 4 x 4 and 5 x 5 grids FHS sums this gapped C = -1 model to 0 (a plaquette's flux wraps):
    the eager value refines the grid or raises naming `nk`; the jittable one is NaN on a grid too
    coarse for the gap and the integer on a fine one."""
    hal = systems.get("haldane")
    p = {n: jnp.asarray(v) for n, v in COARSE.items()}
    c4, _, flux4 = bloch.fhs(hal.bloch, p, 4, reciprocal=hal.reciprocal, critical_k=hal.critical_k)
    assert round(float(c4)) == 0 and float(flux4) > kspace.FHS_FLUX_MAX  # what nk = 4 used to return
    with pytest.raises(kspace.GridTooCoarseError, match="`nk`"):
        kspace.chern_number("haldane", COARSE, nk=4, max_nk=8)
    assert issubclass(kspace.GridTooCoarseError, kspace.GaplessError)
    assert kspace.chern_number("haldane", COARSE, nk=12) == -1  # 12 -> 24
    for nk, want in ((4, np.nan), (8, np.nan), (24, -1.0)):
        c, gap = kspace.chern_number_and_gap("haldane", COARSE, nk=nk)
        # phi = pi/2: symmetric bands, gap 2 |M - 3 sqrt3 t2| at K, K' (evaluated whatever nk is)
        np.testing.assert_allclose([float(c), float(gap)], [want, 2 * (3 * SQRT3 * 0.2 - 0.9)], rtol=1e-10)
    traced = jax.vmap(lambda m: kspace.chern_number("haldane", dict(COARSE, M=m), nk=8))(jnp.array([0.9, 0.0]))
    np.testing.assert_array_equal(traced, [np.nan, -1.0])


METAL = dict(t1=1.0, t2=0.6, phi=np.pi / 6, M=0.5)  # direct gap 1.86 everywhere, but the bands overlap


def test_overlapping_bands_are_gapless():
    direct, indirect = _band_gaps("haldane", METAL, 48)
    assert direct > 1.8 and indirect < -0.5  # the old code reported the direct gap and C = -1
    c, gap = kspace.chern_number_and_gap("haldane", {k: jnp.float64(v) for k, v in METAL.items()})
    assert np.isnan(float(c))
    np.testing.assert_allclose(float(gap), indirect, rtol=1e-10)
    with pytest.raises(kspace.GaplessError, match="gapless"):
        kspace.chern_number("haldane", METAL)
    assert np.isnan(float(jax.jit(lambda m: kspace.chern_number("haldane", dict(METAL, M=m)))(0.5)))


@pytest.mark.parametrize("t, ranges, W", WINDINGS[::3])
def test_ssh_gap_is_the_band_gap_at_zero(t, ranges, W):
    """Chiral spectrum +-|q(k)|: the indirect gap min E_+ - max E_- is the direct one, 2 min |q|."""
    k = np.arange(512) * 2 * np.pi / 512
    H = np.stack([kspace.bloch_hamiltonian("ssh", {"t": t}, kk, ranges=ranges) for kk in k[::8]])
    E = np.linalg.eigvalsh(H)
    q = np.abs(sum(ti * np.exp(1j * r * k) for ti, r in zip(t, ranges)))
    _, gap = kspace.winding_number_and_gap(jnp.asarray(t), ranges)
    np.testing.assert_allclose(E[:, 1].min() - E[:, 0].max(), 2 * q[::8].min(), rtol=1e-10)
    np.testing.assert_allclose(float(gap), 2 * q.min(), rtol=1e-12)


# ------------------------------------------------------------------------------- independent signs
def _kubo_chern(model, params, nk):
    """C of the lower band from the Kubo form of F (midpoint rule; jacfwd for dH/dk)."""
    b = kspace.reciprocal_vectors(model)
    fr = (np.stack(np.meshgrid(np.arange(nk), np.arange(nk), indexing="ij"), -1).reshape(-1, 2) + 0.5) / nk
    ks = jnp.asarray(fr @ b)

    def H(k):
        return kspace.bloch_hamiltonian(model, params, k)

    def F(k):
        E, V = jnp.linalg.eigh(H(k))
        dH = jax.jacfwd(H, holomorphic=False)(k)  # (2, 2, 2): last axis d/dkx, d/dky
        n, m = V[:, 0], V[:, 1]
        x = n.conj() @ dH[..., 0] @ m
        y = m.conj() @ dH[..., 1] @ n
        return -2 * jnp.imag(x * y) / (E[0] - E[1]) ** 2

    area = abs(np.linalg.det(b))
    return float(jnp.sum(jax.jit(jax.vmap(F))(ks))) * area / nk**2 / (2 * np.pi)


@pytest.mark.parametrize(
    "model, params, C",
    [
        ("qwz", {"m": -1.0}, 1),
        ("qwz", {"m": 1.0}, -1),
        ("haldane", dict(t1=1.0, t2=0.3, phi=np.pi / 2, M=0.2), -1),
        ("haldane", dict(t1=1.0, t2=0.3, phi=-np.pi / 2, M=0.2), 1),
    ],
)
def test_fhs_sign_matches_kubo_berry_curvature(model, params, C):
    kubo = _kubo_chern(model, params, nk=40)
    assert abs(kubo - C) < 1e-3
    assert kspace.chern_number(model, params) == C


def _marker_centre(H, lat):
    """Bianco-Resta marker C(r) = -(4 pi / A_cell) Im sum_orb <r|P X Q Y P|r> at the centre cell."""
    E, V = np.linalg.eigh(np.asarray(H))
    W = V[:, E < 0]
    X, Y = lat.positions[:, 0], lat.positions[:, 1]
    # P X Q Y P = P X Y P - P X P Y P, row by row (no dense X, Y)
    PX = W @ (W.conj().T * X[None, :])  # P X
    PY = W @ (W.conj().T * Y[None, :])  # P Y
    P = W @ W.conj().T
    PXQYP = (PX * Y[None, :]) @ P - PX @ PY @ P
    c = -4 * np.pi / lat.cell_area * np.imag(np.diag(PXQYP))
    cells = c.reshape(lat.n_cells, 2).sum(axis=1).reshape(lat.dims)
    return cells[lat.dims[0] // 2, lat.dims[1] // 2]


@pytest.mark.parametrize(
    "model, params, lat",
    [
        ("qwz", {"m": -1.0}, lattice.square(10, 10)),
        ("qwz", {"m": 1.2}, lattice.square(10, 10)),
        ("haldane", dict(t1=1.0, t2=0.25, phi=np.pi / 2, M=0.0), lattice.honeycomb(10, 10)),
        ("haldane", dict(t1=1.0, t2=0.25, phi=-np.pi / 2, M=0.3), lattice.honeycomb(10, 10)),
    ],
)
def test_real_space_marker_equals_kspace_chern(model, params, lat):
    """The rule of docs/conventions.md: the real-space invariant of the clean model equals the k-space one."""
    H = hamiltonians.qwz(params["m"], lat) if model == "qwz" else hamiltonians.haldane(**params, lat=lat)
    C = kspace.chern_number(model, params)
    assert C != 0
    assert abs(_marker_centre(H, lat) - C) < 0.05


# ------------------------------------------------------------------------------- Bloch matrices
def test_bloch_matrices_closed_forms():
    rng = np.random.default_rng(0)
    for _ in range(5):
        k2 = rng.uniform(-np.pi, np.pi, 2)
        m = rng.uniform(-3, 3)
        np.testing.assert_allclose(kspace.bloch_hamiltonian("qwz", {"m": m}, k2), qwz_closed_form(m, k2), atol=1e-14)
        np.testing.assert_allclose(kspace.qwz_bloch(m, k2), qwz_closed_form(m, k2), atol=1e-14)
        t, ranges, k = rng.normal(size=3), (0, 2, -1), k2[0]
        q = sum(ti * np.exp(1j * r * k) for ti, r in zip(t, ranges))
        np.testing.assert_allclose(
            kspace.bloch_hamiltonian("ssh", {"t": t}, k, ranges=ranges), [[0, np.conj(q)], [q, 0]], atol=1e-14
        )
        p = dict(t1=rng.normal(), t2=rng.normal(), phi=rng.uniform(-np.pi, np.pi), M=rng.normal())
        want = haldane_closed_form(p, k2)
        np.testing.assert_allclose(kspace.bloch_hamiltonian("haldane", p, k2), want, atol=1e-13)
        np.testing.assert_allclose(kspace.haldane_bloch(**p, k=k2), want, atol=1e-13)


def test_reciprocal_vectors_match_lattice():
    for model, lat in (("ssh", lattice.chain(3)), ("qwz", lattice.square(3, 3)), ("haldane", lattice.honeycomb(3, 3))):
        b = kspace.reciprocal_vectors(model)
        np.testing.assert_allclose(lat.bravais @ b.T, 2 * np.pi * np.eye(lat.ndim), atol=1e-14)


def test_kspace_float64_and_strict_promotion():
    with jax.numpy_dtype_promotion("strict"), jax.numpy_rank_promotion("raise"):
        c, gap = jax.jit(lambda m: kspace.chern_number_and_gap("qwz", {"m": m}, nk=8))(jnp.float64(-1.0))
        w, g = jax.jit(lambda t: kspace.winding_number_and_gap(t, (0, 1), nk=16))(jnp.array([0.5, 1.0]))
        p = {k: jnp.float64(v) for k, v in dict(t1=1.0, t2=0.2, phi=0.3, M=0.1).items()}
        H = kspace.bloch_hamiltonian("haldane", p, jnp.array([0.1, 0.2]))
    assert c.dtype == gap.dtype == w.dtype == g.dtype == jnp.float64
    assert H.dtype == jnp.complex128


# ------------------------------------------------------------------------------- validation
NAN = float("nan")


@pytest.mark.parametrize(
    "call, arg",
    [
        (lambda: kspace.winding_number((0.5, 1.0, 2.0)), "t"),
        (lambda: kspace.winding_number((0.5, NAN)), "t"),
        (lambda: kspace.winding_number((0.5, 1.0), ranges=(0, 0)), "ranges"),
        (lambda: kspace.winding_number((0.5, 1.0), ranges=(0, 0.5)), "ranges"),
        (lambda: kspace.winding_number_and_gap((0.5, 1.0), ranges=()), "ranges"),
        (lambda: kspace.winding_number_and_gap((0.5,), ranges=(0, 1)), "t"),
        (lambda: kspace.winding_number_and_gap((0.5, 1.0), nk=2), "nk"),
        (lambda: kspace.winding_number_and_gap((0.5, 1.0), nk=64.0), "nk"),
        (lambda: kspace.chern_number("kitaev", {"m": 1.0}), "model"),
        (lambda: kspace.chern_number("ssh", {"t": (0.5, 1.0)}), "model"),
        (lambda: kspace.chern_number("qwz", {"mass": 1.0}), "params"),
        (lambda: kspace.chern_number("qwz", {"m": 1.0, "t": 1.0}), "params"),
        (lambda: kspace.chern_number("qwz", [1.0]), "params"),
        (lambda: kspace.chern_number("haldane", {"t1": 1.0, "t2": 0.1, "phi": 0.3}), "params"),
        (lambda: kspace.chern_number("qwz", {"m": NAN}), "params['m']"),
        (lambda: kspace.chern_number("qwz", {"m": [1.0, 2.0]}), "params['m']"),
        (lambda: kspace.chern_number("qwz", {"m": 1.0}, nk=3), "nk"),
        (lambda: kspace.chern_number("qwz", {"m": 1.0}, nk=True), "nk"),
        (lambda: kspace.chern_number_and_gap("qwz", {"m": 1.0}, nk="48"), "nk"),
        (lambda: kspace.bloch_hamiltonian("honeycomb", {"m": 1.0}, (0.0, 0.0)), "model"),
        (lambda: kspace.bloch_hamiltonian("ssh", {"t": (0.5, 1.0, 2.0)}, 0.3), "params['t']"),
        (lambda: kspace.bloch_hamiltonian("ssh", {"t": (0.5, 1.0)}, 0.3, ranges=(1, 1)), "ranges"),
        (lambda: kspace.bloch_hamiltonian("qwz", {"m": 1.0}, 0.3), "k"),
        (lambda: kspace.reciprocal_vectors("kagome"), "model"),
    ],
)
def test_validation_errors_name_the_argument(call, arg):
    with pytest.raises(ValueError, match=f"`{arg}`".replace("[", r"\[").replace("]", r"\]")):
        call()
