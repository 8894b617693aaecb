r"""Compact datasets (``DatasetSpec.compact``): features recomputed on loading, never stored.

What must hold (issue 19, "store what can be recomputed compactly"):

* every feature is a deterministic function of the spec and the stored ``params``, ``strength`` and
  ``index`` of a sample, so ``load``/``shard``/``batches`` of a compact dataset return the arrays a
  stored dataset of the same spec holds, **bit for bit** (the same jitted computation, float64 and
  single-threaded LAPACK; a vmapped LAPACK call treats each matrix on its own, so neither the chunk
  a sample lands in nor the padding of the last chunk changes its bits);
* the labels of a compact dataset equal those of the stored one bit for bit, although a chiral chain
  with eigenvector features takes the SVD-eigensystem route and its compact twin the polar route
  (both are the same ``svd`` of the chiral block, the same ``U = X_k Yh_k``);
* the shards hold no feature array (much smaller files); corruption is still caught by the
  checksum; an unknown field is still refused.

Cases: ``ssh`` (clean, all six features), ``ssh-bond`` (bond disorder: the disorder key of the
sample's index matters), ``ssh-onsite`` (the ``eigh`` route) and ``qwz`` with Anderson disorder (2D,
complex, float32 features -> complex64). Sizes are tiny; physics is tested elsewhere.
"""

import json

import numpy as np
import jax
import pytest

from tnn import data
from tnn.cli import main as cli_main
from tnn.data import samples, store

SIX = ("wavefunctions", "density", "edge_modes", "hamiltonian", "hoppings", "projector")
SPECS = {
    "ssh": data.preset("ssh", size=10, n=20, shard_size=16, chunk_size=8, seed=3, features=SIX),
    "ssh-bond": data.preset("ssh-bond", size=10, n=12, shard_size=8, chunk_size=4, seed=5, lyapunov_cells=400,
                            features=("wavefunctions", "hoppings", "projector")),
    "ssh-onsite": data.preset("ssh-onsite", size=10, n=12, shard_size=8, chunk_size=4, seed=7, lyapunov_cells=400,
                              features=("wavefunctions", "hamiltonian", "edge_modes", "density")),
    "qwz": data.preset("qwz", size=4, n=10, shard_size=8, chunk_size=4, seed=1, dtype="float32",
                       features=("wavefunctions", "hamiltonian", "projector", "density")),
}


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    """``pair(name)``: the spec, its stored dataset and its compact twin (generated once per module)."""
    made = {}

    def get(name):
        if name not in made:
            spec, root = SPECS[name], tmp_path_factory.mktemp(name)
            made[name] = (spec, data.generate(spec, root / "stored"), data.generate(spec.replace(compact=True), root / "compact"))
        return made[name]

    return get


def _same(a: dict, b: dict):
    assert sorted(a) == sorted(b)
    for k in a:
        assert a[k].dtype == b[k].dtype and a[k].shape == b[k].shape, k
        assert np.array_equal(a[k], b[k], equal_nan=True), k


# ----------------------------------------------------------------------------- the spec field
def test_compact_is_a_validated_spec_field():
    s = SPECS["ssh"]
    c = s.replace(compact=True)
    assert "compact" not in s.to_dict()  # left out at its default: older manifests keep their digests
    back = data.DatasetSpec.from_dict(json.loads(json.dumps(c.to_dict())))
    assert back == c and back.compact is True and back.digest() == c.digest() != s.digest()
    for bad in (1, "yes", None):
        with pytest.raises(ValueError, match="`compact`"):
            s.replace(compact=bad)


# ----------------------------------------------------------------------------- load, shard, batches
#: the on-site chain (the ``eigh`` route) runs with ``-m slow``; the other three stay in the default suite
SLOW_SPECS = ("ssh-onsite", "qwz", "ssh-bond")


@pytest.mark.parametrize("name", [pytest.param(n, marks=pytest.mark.slow) if n in SLOW_SPECS else n for n in SPECS])
def test_compact_loads_what_a_stored_dataset_holds(name, pair):
    spec, stored, compact = pair(name)
    # Same names, shapes and dtypes for the loaders; the features are derived, the labels stored.
    assert compact.arrays == stored.arrays and compact.derived == set(spec.features) and not stored.derived
    assert set(compact.arrays) == set(samples.LABEL_ARRAYS) | set(spec.features)
    if spec.dtype == "float32":
        assert compact.arrays["wavefunctions"][1] == np.complex64 and compact.arrays["hamiltonian"][1] == np.complex64
    # Every array (features and labels), every split, bit for bit; a split that starts inside a
    # shard rebuilds only its own rows.
    for split in ("all", "train", "test"):
        _same(stored.load(split), compact.load(split))
    _same(stored.shard(1), compact.shard(1))
    # Streaming in seeded shuffled batches: the same batches. (Every field, as above: one compilation
    # of the rebuild per set of asked features.)
    kw = dict(batch_size=3, seed=2, epoch=1, buffer_shards=1)
    for b1, b2 in zip(stored.batches("all", **kw), compact.batches("all", **kw), strict=True):
        _same(b1, b2)
    # The shards hold no feature; they are far smaller.
    with np.load(compact.path / compact.shards[0]["file"]) as z:
        assert set(f.removesuffix(".npy") for f in z.files) == set(samples.LABEL_ARRAYS)
    size = lambda ds: sum(e["bytes"] for e in ds.shards)  # noqa: E731
    payload = spec.n * sum(int(np.prod(shape)) * dt.itemsize for f, (shape, dt) in stored.arrays.items() if f in spec.features)
    assert size(stored) - size(compact) >= payload and size(compact) < size(stored) / 3
    assert compact.manifest["format_version"] == 2 and stored.manifest["format_version"] == 1


@pytest.mark.slow
def test_the_disorder_key_of_the_index_matters(pair):
    """A bond-disordered chain is rebuilt from its own index: the same parameters and strength with
    another index give another disorder realization (another H), the stored index the stored one."""
    spec, stored, _ = pair("ssh-bond")
    d = stored.load("all")
    assert np.all(d["strength"] > 0)
    again = data.rebuild_features(spec, d)
    assert all(np.array_equal(again[f], d[f]) for f in spec.features)
    other = data.rebuild_features(spec, {**d, "index": d["index"] + 1})["hoppings"]
    assert not np.any(np.all(other == d["hoppings"], axis=(1, 2)))
    # Without disorder the index plays no part: the clean chain of the same parameters.
    clean = spec.replace(disorder="none", strength=data.fixed("W", 0.0), label="kspace")
    z = {**d, "strength": np.zeros_like(d["strength"])}
    assert np.array_equal(data.rebuild_features(clean, z, ("hoppings",))["hoppings"],
                          data.rebuild_features(clean, {**z, "index": d["index"] + 1}, ("hoppings",))["hoppings"])


def test_only_the_asked_features_are_computed():
    """``hamiltonian``/``hoppings`` need no diagonalization: the compiled rebuild holds no eigh and
    no SVD; an eigenvector feature brings the route of the spec (SVD for chiral chains, eigh else)."""

    def primitives(spec, names):
        fn = samples._rebuild_fn(samples._compute_key(spec), names)
        c, p = spec.chunk_size, len(spec.params)
        with jax.enable_x64(True):
            jaxpr = jax.make_jaxpr(fn)(jax.random.key(0), np.zeros(c, np.int64), np.zeros((c, p)), np.zeros(c))
        return str(jaxpr)

    ssh, onsite = SPECS["ssh"], SPECS["ssh-onsite"]
    text = primitives(ssh, ("hamiltonian", "hoppings"))
    assert "eigh" not in text and "svd" not in text
    assert "svd" in primitives(ssh, ("density",)) and "eigh" not in primitives(ssh, ("density",))
    assert "eigh" in primitives(onsite, ("wavefunctions",)) and "eigh" not in primitives(onsite, ("hamiltonian",))


# ----------------------------------------------------------------------------- errors
def test_corrupted_shard_and_bad_fields_are_refused(tmp_path):
    spec = SPECS["ssh"].replace(compact=True)
    ds = data.generate(spec, tmp_path / "c")
    with pytest.raises(ValueError, match="`fields`"):
        ds.load("train", ("spectrum",))
    with pytest.raises(ValueError, match="`fields`"):
        ds.shard(0, ("wavefunctions", "spectrum"))
    with pytest.raises(ValueError, match="`names`"):
        data.rebuild_features(spec, ds.shard(0, ("params", "strength", "index")), ("spectrum",))
    with pytest.raises(ValueError, match="`arrays`"):
        data.rebuild_features(spec, ds.shard(0, ("params", "index")))
    f = ds.path / ds.shards[0]["file"]
    raw = bytearray(f.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    f.write_bytes(bytes(raw))
    for fields in (("wavefunctions",), ("label",)):
        with pytest.raises(store.ShardError, match="corrupted"):
            ds.load("all", fields)
    assert ds.verify()


def test_cli_generate_compact_and_info(tmp_path, capsys):
    out = tmp_path / "cli"
    argv = ["data", "generate", "--preset", "ssh", "--size", "10", "--n", "20", "--shard-size", "16", "--chunk-size", "8",
            "--seed", "3", "--features", ",".join(SIX), "--compact", "--out", str(out), "--quiet"]
    assert cli_main(argv) == 0
    ds = data.open_dataset(out)
    assert ds.spec == SPECS["ssh"].replace(compact=True)
    capsys.readouterr()
    assert cli_main(["data", "info", str(out)]) == 0
    assert "compact: none stored, recomputed" in capsys.readouterr().out
    info = data.dataset_info(out)
    assert info["compact"] is True and info["derived"] == sorted(SIX)
    # The same folder refuses the stored twin (another digest).
    assert cli_main(argv[:-4] + ["--out", str(out), "--quiet"]) == 2


def test_training_loaders_read_a_compact_dataset(pair):
    """``tnn.train.load_dataset`` and ``DatasetLoader`` see the same arrays in a compact dataset."""
    from tnn.models import ModelConfig
    from tnn.train import DatasetLoader, load_dataset

    _, stored, compact = pair("ssh")
    for mcfg in (ModelConfig("topo").validate(), ModelConfig("mlp", input="hoppings", width=4, depth=1).validate()):
        xs, ys, _, _ = load_dataset(stored, mcfg, "train")
        xc, yc, _, info = load_dataset(compact, mcfg, "train")
        assert np.array_equal(ys, yc) and info["n"] == len(yc)
        _same(xs, xc)
        a, b = DatasetLoader(stored, mcfg, batch_size=4, seed=1), DatasetLoader(compact, mcfg, batch_size=4, seed=1)
        for (x1, y1), (x2, y2) in zip(a.batches(0), b.batches(0), strict=True):
            assert np.array_equal(y1, y2)
            _same(x1, x2)
