"""tnn.study.trainability: init sensitivity (ensembles via tnn.train.fit) and gradient variance vs L."""

import numpy as np
import jax.numpy as jnp
import pytest

import tnn
import tnn.study.probes
from tnn.study import trainability
from tnn.models import ModelConfig
from tnn.study.probes import chain_features


def _set(L, n, seed, bond=0.0):
    rng = np.random.default_rng(seed)
    lat = tnn.lattice.chain(L)
    t = rng.uniform(0.2, 1.0, size=(n, 2))
    t[: n // 2, 1] += 0.8
    H = np.stack([np.asarray(tnn.hamiltonians.ssh(jnp.asarray(ti), lat, ranges=(0, 1), bond_disorder=bond,
                                                  key=None if bond == 0 else __import__("jax").random.key(i)))
                  for i, ti in enumerate(t)])
    w = np.asarray(tnn.study.probes.winding_labels(H, lat))
    ok = np.isfinite(w)  # drop the chains that are gapless at this size
    f = chain_features(H[ok])
    return {"energies": f["energies"], "wavefunctions": f["wavefunctions"]}, np.round(w[ok]), lat


def test_invalid_sigma_raises():
    cfg = ModelConfig("topo", channels=1)
    with pytest.raises(ValueError, match="`sigmas`"):
        trainability.init_conditions(cfg, sigmas=(0.1, -0.01))
    labels = [c[0] for c in trainability.init_conditions(cfg, sigmas=(0.0, 0.1))]
    assert labels == ["sigma=0", "sigma=0.1", "random"]
    assert [c[1].init for c in trainability.init_conditions(ModelConfig("cnn"))] == ["default"]
    with pytest.raises(ValueError, match="`lengths`"):
        trainability.gradient_variance(ModelConfig("mlp"), [8])


@pytest.mark.slow
def test_exact_init_ends_at_the_invariant_and_gradient_variance():
    from tnn.train import TrainConfig

    x, y, lat = _set(12, 40, 0)
    vx, vy, _ = _set(12, 16, 1)
    ox, oy, olat = _set(20, 16, 2)
    dx, dy, _ = _set(12, 16, 3, bond=0.5)
    cfg = ModelConfig("topo", channels=1, fn_width=2, head_width=0)
    res = trainability.init_sensitivity(cfg, lat, (x, y), (vx, vy), {"size": (ox, oy, olat), "disorder": (dx, dy, lat)},
                                        TrainConfig(seeds=(0, 1), epochs=1, batch_size=8, learning_rate=1e-3),
                                        sigmas=(0.0, 1.0))
    by = {c["label"]: c for c in res["conditions"]}
    assert set(by) == {"sigma=0", "sigma=1", "random"}
    assert by["sigma=0"]["success_rate"] == 1.0 and by["sigma=0"]["steps_to_threshold"] == [len(y) // 8] * 2
    assert len(by["random"]["final_loss"]) == 2
    topo = ModelConfig("topo", channels=1, fn_width=2, head_width=0, init="random")
    # At L = 8 no chain of this draw carries a certified label (tnn.validity): a clear error, not log(0).
    with pytest.raises(ValueError, match="`lengths`: only 0 of 8 SSH chains of 8 cells"):
        trainability.gradient_variance(topo, [8, 16], n_inits=3, n_samples=8)
    gv = trainability.gradient_variance(topo, [16, 24], n_inits=3, n_samples=16)
    assert gv["variance"].shape == (2,) and np.all(gv["variance"] > 0) and np.isfinite(gv["alpha"])
    assert all(2 <= k <= 16 for k in gv["n_certified"])


def test_invariant_targets_relabel_and_select():
    """Ill-defined samples are already out of ``x``; a rounded value outside the classes (no finite
    value) is dropped; ``certified`` drops the uncertified ones; ``y`` is the rounded value."""
    from tnn.study.trainability import invariant_targets

    d = {"class": np.array([1, 5, 0, -1, 2]), "ill_defined": np.array([0, 0, 1, 0, 0]),
         "invalid": np.array([0, 0, 0, 1, 0])}
    x = {"f": np.arange(4) * 10}  # samples 0, 1, 3, 4 (sample 2 is ill-defined)
    xs, y = invariant_targets(x, d, (-1, 0, 1, 2))
    assert xs["f"].tolist() == [0, 20, 30] and y.tolist() == [1.0, -1.0, 2.0] and y.dtype == np.float64
    xs, y = invariant_targets(x, d, (-1, 0, 1, 2), certified=True)
    assert xs["f"].tolist() == [0, 30] and y.tolist() == [1.0, 2.0]
