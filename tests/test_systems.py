r"""Physical systems as plug-ins (tnn.systems) and the fourth system, the Kitaev chain.

* The registry is the only place that knows system names: no ``== "ssh"``-style comparison in the
  library outside ``tnn/systems/`` (a source scan), and every registered system is reachable from
  hamiltonians, kspace, data presets, the demo and ``tnn sweep`` (each sweep preset is declared in
  its system's module; the runner ``tnn.sweeps.presets`` only asks the registry).
* Kitaev chain (Majorana basis, docs/conventions.md): ``H`` is Hermitian, purely imaginary
  (``H = iA``, ``A`` real antisymmetric) and chiral (no a-a or b-b entries); the spectrum of a
  periodic chain is ``+-|q(k)|`` with ``|q|^2 = (mu + 2t cos k)^2 + 4 delta^2 sin^2 k`` at
  ``k = 2 pi j / L`` (closed form); the Bloch matrix is the plane-wave projection of the real-space
  matrix; the k-space winding is ``sign(delta t)`` inside ``|mu| < 2|t|`` and 0 outside; the
  real-space winding number (chiral-block polar route, certified) equals it on open and periodic
  chains deep in each phase, and the exact topo model on a generated ``kitaev`` dataset predicts
  every certified label; its ``kitaev-mu-delta`` sweep preset (periodic chain, t = 1) equals the
  k-space winding at every certified cell, is NaN where k space is gapless (``delta = 0`` inside
  ``|mu| < 2|t|``) and is certified deep in each phase.
"""

import re
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from tnn import data, hamiltonians, invariants, kspace, lattice, systems
from tnn.systems import kitaev

ROOT = Path(__file__).resolve().parents[1]


def test_no_system_name_comparisons_outside_the_registry():
    names = "|".join(systems.SYSTEMS)
    pattern = re.compile(rf"""(==|!=)\s*["']({names})["']|["']({names})["']\s*(==|!=)|in \(["']({names})["']""")
    hits = []
    for path in (ROOT / "tnn").rglob("*.py"):
        rel = path.relative_to(ROOT).as_posix()
        if rel.startswith("tnn/systems/") or rel == "tnn/study.py":  # study.py: another issue's file
            continue
        for i, line in enumerate(path.read_text().splitlines(), 1):
            # "kitaev" is also the name of a 2D Chern method (Kitaev's formula): not a system name there
            if pattern.search(line) and "method" not in line:
                hits.append(f"{rel}:{i}: {line.strip()}")
    assert not hits, "\n".join(hits)


def test_registry_reaches_every_layer():
    assert list(systems.SYSTEMS) == ["ssh", "qwz", "haldane", "kitaev", "bhz"]
    with pytest.raises(ValueError, match="must be one of"):
        systems.get("kitaev2d")
    assert hamiltonians.kitaev_chain is kitaev.kitaev_chain and hamiltonians.ssh is systems.ssh.ssh
    assert kspace.kitaev_bloch is kitaev.kitaev_bloch
    assert hamiltonians.MODEL_PARAMS["kitaev"] == ("mu", "t", "delta")
    for name, s in systems.SYSTEMS.items():
        assert data.MODELS[name] == s.lattice and s.demo is not None
        for p in s.presets:
            assert data.preset(p, n=8, seed=1).model == name
    with pytest.raises(AttributeError):
        hamiltonians.no_such_builder  # noqa: B018


def test_kitaev_matrix_is_majorana_chiral_and_has_the_bdg_spectrum():
    L, mu, t, d = 12, 0.7, 1.0, 0.4
    lat = lattice.chain(L, pbc=True)
    H = np.asarray(hamiltonians.kitaev_chain(mu, t, d, lat))
    np.testing.assert_allclose(H, H.conj().T, atol=0)
    np.testing.assert_allclose(H.real, 0.0, atol=0)  # H = iA, A real antisymmetric
    assert np.all(H[0::2, 0::2] == 0) and np.all(H[1::2, 1::2] == 0)
    k = 2 * np.pi * np.arange(L) / L
    e = np.sqrt((mu + 2 * t * np.cos(k)) ** 2 + 4 * d**2 * np.sin(k) ** 2)
    np.testing.assert_allclose(np.linalg.eigvalsh(H), np.sort(np.concatenate([-e, e])), atol=1e-12)
    # Bloch convention: H(k) = sum_d e^{ikd} H[R, R + d] (cells R, R + d)
    p = {"mu": mu, "t": t, "delta": d}
    for kk in (0.3, 2.1):
        blk = sum(np.exp(1j * kk * dd) * H[0:2, 2 * (dd % L) : 2 * (dd % L) + 2] for dd in (-1, 0, 1))
        np.testing.assert_allclose(np.asarray(kspace.bloch_hamiltonian("kitaev", p, kk)), blk, atol=1e-12)


@pytest.mark.parametrize(
    "mu,t,delta,w",
    [(0.0, 1.0, 1.0, 1), (0.5, 1.0, 0.6, 1), (0.5, 1.0, -0.6, -1), (-1.0, -1.0, 0.5, -1),
     (1.0, -1.0, -0.5, 1), (2.8, 1.0, 0.5, 0), (-3.0, 1.0, -0.8, 0)],
)
def test_kitaev_winding_real_space_equals_k_space(mu, t, delta, w):
    assert kitaev.kspace_winding(mu, t, delta) == w  # sign(delta t) for |mu| < 2|t|
    wk, gap = kitaev.SYSTEM.kspace({"mu": mu, "t": t, "delta": delta}, (), 512)
    assert float(wk) == w and float(gap) > 0
    for pbc in (False, True):
        lat = lattice.chain(40, pbc=pbc)
        H = hamiltonians.kitaev_chain(mu, t, delta, lat)
        val, cert = invariants.winding_number(H, lat, return_certificate=True)
        assert int(cert.reason) == 0
        assert abs(float(val) - w) < (1e-3 if not pbc else 1e-6)  # open: the bulk trace, L' = 20 cells


def test_kitaev_gapless_and_disorder():
    with pytest.raises(kspace.GaplessError):
        kitaev.kspace_winding(2.0, 1.0, 0.5)  # |mu| = 2|t|
    with pytest.raises(kspace.GaplessError):
        kitaev.kspace_winding(0.5, 1.0, 0.0)  # delta = 0 inside the band
    lat = lattice.chain(40, pbc=True)
    H = hamiltonians.kitaev_chain(0.0, 1.0, 0.5, lat, mu_disorder=1.0, key=jax.random.key(3))
    assert np.all(np.asarray(H)[0::2, 0::2] == 0)  # mu disorder keeps chiral symmetry (BDI)
    assert abs(float(invariants.winding_number(H, lat)) - 1) < 1e-6
    with pytest.raises(ValueError, match="`key`"):
        hamiltonians.kitaev_chain(0.0, 1.0, 0.5, lat, mu_disorder=1.0)
    with pytest.raises(ValueError, match="chain lattice"):
        hamiltonians.kitaev_chain(0.0, 1.0, 0.5, lattice.square(3, 3))


def test_kitaev_dataset_and_exact_topo_model(tmp_path):
    from tnn.models import ModelConfig, make_model

    # The certified real-space labels (what the exact topo model computes); the preset's default
    # exact labels also count samples whose correlations reach past L = 32 (tests/test_labels.py).
    spec = data.preset("kitaev", size=32, n=48, shard_size=48, chunk_size=16, seed=3, label="realspace")
    arrays = data.compute_samples(spec, 0, spec.n)
    ok = ~arrays["ill_defined"]  # certified labels (the others sit near a transition or at small delta)
    assert ok.sum() >= spec.n // 2
    np.testing.assert_array_equal(arrays["label"][ok], arrays["kspace_class"][ok])
    assert set(arrays["label"][ok]) == {-1, 0, 1}
    lat = spec.lattice()
    model = make_model(ModelConfig("topo", init="exact", classes=(-1, 0, 1), width=4, depth=1, radius=1,
                                   channels=2, head_width=3, fn_width=3), lat)
    feats = {"energies": jnp.asarray(arrays["energies"][ok]), "eigenvectors": jnp.asarray(arrays["wavefunctions"][ok])}
    x = model.prepare(feats)
    pred = np.asarray(model.apply(model.init(jax.random.key(0), x), x)).argmax(axis=1) - 1
    np.testing.assert_array_equal(pred, arrays["label"][ok])


def test_kitaev_demo_panel(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panel = kitaev.SYSTEM.demo
    rep, fine = panel.run(True, jax.random.key(0))
    # real space (open bulk trace, periodic, and periodic with delta -> -delta) = k space away from |mu| = 2t
    assert rep["max_dev_from_kspace_away_from_transition"] < 1e-3
    assert set(w for w in rep["kspace"] if w is not None) == {0, 1}
    inside = np.abs(np.asarray(rep["mu"])) < 1.5
    np.testing.assert_allclose(np.asarray(rep["pbc_negative_delta"])[inside], -1.0, atol=1e-6)
    fig, ax = plt.subplots(1, panel.n_axes)
    panel.plot([ax], rep, fine)
    plt.close(fig)
    assert panel.summary(rep)[0].startswith("Kitaev")


def test_sweep_presets_live_in_their_system_modules():
    from tnn.sweeps import presets

    owners = {p.name: name for name, s in systems.SYSTEMS.items() for p in s.sweep_presets}
    assert list(presets.PRESETS) == list(systems.sweep_presets()) == list(owners)
    assert owners == {"ssh-vw": "ssh", "ssh-disorder": "ssh", "qwz-disorder": "qwz", "haldane": "haldane",
                      "kitaev-mu-delta": "kitaev", "ssh-kpm-scaling": "ssh", "qwz-kpm-tai": "qwz"}
    for preset, owner in owners.items():
        p = presets.PRESETS[preset]
        assert p.make.__module__ == p.boundaries.__module__ == systems.SYSTEMS[owner].dataset_terms.__module__
    assert systems.ssh.SSH_INTER_RATIO == 0.5


def test_old_sweep_presets_name_warns_and_gives_the_same_objects(monkeypatch):
    import importlib
    import sys

    import tnn
    from tnn.sweeps import presets

    monkeypatch.delitem(sys.modules, "tnn.sweep_presets", raising=False)
    monkeypatch.delattr(tnn, "sweep_presets", raising=False)
    with pytest.warns(DeprecationWarning, match="moved to tnn.sweeps.presets"):
        old = importlib.import_module("tnn.sweep_presets")
    assert old.__all__ == presets.__all__
    assert all(getattr(old, name) is getattr(presets, name) for name in presets.__all__)


@pytest.mark.slow  # 3 s; physics: test_kitaev_winding_real_space_equals_k_space, runner: test_sweeps' tnn sweep tests
def test_kitaev_sweep_preset_matches_kspace(tmp_path):
    from tnn import cli, sweeps

    out = tmp_path / "kitaev"
    argv = ["sweep", "kitaev-mu-delta", "--size", "24", "--points", "5", "--out", str(out), "--no-progress"]
    assert cli.main(argv) == 0
    da = sweeps.load(out / "sweep.nc")
    assert da.dims == ("mu", "delta") and da.shape == (5, 5)
    n_valid = 0
    for mu in da.coords["mu"].values:
        for delta in da.coords["delta"].values:
            val = da.sel(mu=mu, delta=delta).item()
            try:
                want = kitaev.kspace_winding(float(mu), 1.0, float(delta))
            except kspace.GaplessError:
                assert np.isnan(val), (mu, delta, val)
                continue
            if np.isfinite(val):
                assert val == pytest.approx(want, abs=1e-3), (mu, delta)
                n_valid += 1
    assert n_valid >= 15
    # deep in each phase (localization length of a few cells at most) the value is certified
    for mu, delta, w in [(0.0, 1.5, 1), (0.0, -0.75, -1), (3.0, 0.75, 0), (-3.0, -0.75, 0)]:
        assert da.sel(mu=mu, delta=delta).item() == pytest.approx(w, abs=1e-3), (mu, delta)
    assert (out / "phase_diagram.png").stat().st_size > 0


def test_one_class_rounding_for_numpy_and_jax():
    """systems.nearest_class: the nearest integer (halves to even), INVALID_CLASS where not finite or not
    defined; NumPy in, NumPy out; JAX in (traced too), JAX out; the same classes either way."""
    v = np.array([0.4, 0.5, 1.5, -0.6, 2.0000001, np.nan, np.inf, 1.0])
    defined = np.array([True] * 7 + [False])
    cls, ok = systems.nearest_class(v, defined)
    assert isinstance(cls, np.ndarray) and cls.dtype == np.int32
    np.testing.assert_array_equal(cls, [0, 0, 2, -1, 2, systems.INVALID_CLASS, systems.INVALID_CLASS, systems.INVALID_CLASS])
    np.testing.assert_array_equal(ok, [True] * 5 + [False] * 3)
    jcls, jok = jax.jit(systems.nearest_class)(jnp.asarray(v), jnp.asarray(defined))
    assert isinstance(jcls, jax.Array)
    np.testing.assert_array_equal(jcls, cls)
    np.testing.assert_array_equal(jok, ok)
