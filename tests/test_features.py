"""One feature registry (issue 21, items 2 and 4): tnn.data.features holds every dataset feature as a
record; a system contributes its own through ``System.features``; every other list is derived from the
registry or checked against it.

* Single source: ``tnn.data.FEATURES``, the models' ``INPUTS`` / ``SITE_INPUTS`` / ``MATRIX_INPUTS`` /
  ``CELL_INPUTS``, the probes' ``INPUT_KINDS``, ``EIGEN_FEATURES`` and the study's choices equal (or
  are drawn from) the registry, with the values and order they had before it; and no module of ``tnn``
  spells a list of three or more feature names as a constant or an ``in`` test (a constant checked by
  ``check_names`` is a call, not a list).
* Each record's shape kind and dtype rule hold on generated samples (a real chain, the complex Kitaev
  chain): ``eigenvectors`` ``(N, N)``, ``sites`` ``(N, k)``, ``matrix`` ``(N, N)`` (a chiral chain's
  ``(L, L)`` block), ``cells`` ``(C, L)``; ``real`` stays real, ``hamiltonian`` follows ``H``.
* SSH's ``hoppings`` is its system's (``tnn.systems.ssh``); ``tnn.data`` code names no feature of a
  system, no system and no lattice kind, and imports no system's module (its public
  ``hoppings_from_hamiltonian`` is found through the registry).
* A toy system registered in a test, with two features of its own (one of ``H``, one of the
  eigensystem), has them in a generated dataset, stored and compact alike (to 1 ulp: XLA may fuse a
  reduction of the generation graph otherwise than the rebuild's), without any change to
  ``tnn.data``; its features are unknown to the other systems and the other way round.
  Math: ``bond_weight[s, n] = sum_j |H[2n + s, j]|^2``; ``filling[i] = P_ii`` with
  ``P = sum_{E_n < 0} |psi_n><psi_n|`` (gauge invariant), checked against NumPy's ``eigh`` of the
  stored ``H``.
* Unknown feature names raise ``ValueError`` naming the argument, at every entry point.
"""

from __future__ import annotations

import ast
import dataclasses
from pathlib import Path

import jax.numpy as jnp
import numpy as np
import pytest

import tnn
from tnn import data, lattice, models, systems
from tnn.study import probes
from tnn.data import features
from tnn.models import ModelConfig
from tnn.models import base as model_base
from tnn.study import config as study_config
from tnn.systems import ssh

ROOT = Path(__file__).resolve().parents[1]


# ------------------------------------------------------------------------------------ single source
def test_every_list_is_the_registrys():
    reg = features.registry()
    assert tuple(reg) == features.names() == ("wavefunctions", "density", "edge_modes", "hamiltonian", "projector",
                                              "hoppings")
    assert features.COMMON_NAMES == tuple(f.name for f in features.COMMON_FEATURES) == features.names()[:5]
    # tnn.data.FEATURES: name -> the systems that provide it
    assert data.FEATURES == {n: features.providers(n) for n in reg}
    assert data.FEATURES["hoppings"] == ("ssh",) and data.FEATURES["projector"] == tuple(systems.SYSTEMS)
    assert features.EIGEN_FEATURES == ("density", "edge_modes", "projector")
    assert all(reg[n].source == "eigensystem" for n in features.EIGEN_FEATURES)
    # the models' inputs: grouped by shape kind, the values and order they always had
    assert model_base.SITE_INPUTS == models.SITE_INPUTS == features.names(kind="sites") == ("density", "edge_modes")
    assert model_base.MATRIX_INPUTS == features.names(kind="matrix") == ("hamiltonian", "projector")
    assert model_base.CELL_INPUTS == features.names(kind="cells") == ("hoppings",)
    assert models.INPUTS == ("auto", "hamiltonian", "projector", "density", "edge_modes", "hoppings", "wavefunctions")
    assert set(models.INPUTS) == {"auto"} | set(reg)
    # the probes: every chain feature a Hamiltonian determines, and the energies
    assert probes.INPUT_KINDS == ("hamiltonian", "energies", "wavefunctions", "density", "edge_modes", "projector",
                                  "hoppings")
    assert set(probes.INPUT_KINDS) == {"energies"} | {n for n in reg if "chain" in features.lattices(n)}
    # the study's choices are features of its ssh datasets, and its baseline inputs model inputs
    for chosen in (study_config.FEATURES, study_config.TRANSFER_FEATURES, study_config.BASELINE_INPUTS):
        assert set(chosen) <= set(features.registry("ssh"))
    assert set(study_config.BASELINE_INPUTS) <= set(models.INPUTS)


def _feature_lists(path: Path):
    """Lines of ``path`` that spell a list of three or more feature names: a module-level constant
    or the right side of ``in`` (a choice passed as an argument or set as a default is a choice, checked
    where it is used)."""
    known = set(features.names())
    tree = ast.parse(path.read_text())
    lists = [n.value for n in tree.body if isinstance(n, (ast.Assign, ast.AnnAssign))]
    lists += [c for n in ast.walk(tree) if isinstance(n, ast.Compare) and isinstance(n.ops[0], (ast.In, ast.NotIn))
              for c in n.comparators]
    for node in lists:
        if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
            names = {e.value for e in node.elts if isinstance(e, ast.Constant) and e.value in known}
            if len(names) >= 3:
                yield node.lineno


def test_no_other_list_of_feature_names():
    hits = [f"{p.relative_to(ROOT)}:{line}" for p in sorted((ROOT / "tnn").rglob("*.py"))
            if p.name != "features.py" for line in _feature_lists(p)]
    assert not hits, "lists of feature names outside the registry (derive them, or check them with check_names):\n" + \
        "\n".join(hits)


def _code_strings(path: Path) -> set[str]:
    """String constants of the code of ``path`` (docstrings left out)."""
    tree = ast.parse(path.read_text())
    docs = {id(n.body[0].value) for n in ast.walk(tree)
            if isinstance(n, (ast.Module, ast.FunctionDef, ast.ClassDef)) and n.body and isinstance(n.body[0], ast.Expr)}
    return {n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str) and id(n) not in docs}


def test_ssh_brings_its_hoppings_and_tnn_data_names_no_system():
    assert systems.get("ssh").features == (ssh.HOPPINGS,) and ssh.HOPPINGS.kind == "cells"
    assert features.hoppings_from_hamiltonian is ssh.hoppings_from_hamiltonian
    assert all(s.features == () for n, s in systems.SYSTEMS.items() if n != "ssh")
    own = {f.name for s in systems.SYSTEMS.values() for f in s.features}
    lattice_kinds = {s.lattice for s in systems.SYSTEMS.values()}
    methods = {m for s in systems.SYSTEMS.values() for m in s.methods}  # "kitaev" is also a 2D Chern method
    for path in sorted((ROOT / "tnn" / "data").glob("*.py")):
        bad = _code_strings(path) & (own | (set(systems.SYSTEMS) - methods) | lattice_kinds)
        assert not bad, f"{path.relative_to(ROOT)} names {sorted(bad)}"
        imported = {f"{n.module}.{a.name}" for n in ast.walk(ast.parse(path.read_text())) if isinstance(n, ast.ImportFrom)
                    for a in n.names}
        bad = {m for m in imported if m.split(".")[:2] == ["tnn", "systems"] and set(m.split(".")) & set(systems.SYSTEMS)}
        assert not bad, f"{path.relative_to(ROOT)} imports a system's module: {sorted(bad)}"


# ------------------------------------------------------------------------------------ records hold
@pytest.mark.parametrize("preset", ["ssh", "kitaev"])
def test_shape_kinds_and_dtype_rules_hold(preset):
    tnn.enable_x64()
    spec = data.preset(preset, size=6, n=4, seed=2, shard_size=4, chunk_size=4, lyapunov_cells=200,
                       features=features.names(model=data.preset(preset).model))
    out = data.compute_samples(spec, 0, 4)
    lat, reg = spec.lattice(), features.registry(spec.model)
    complex_h = np.iscomplexobj(out["hamiltonian"])
    assert complex_h == (preset == "kitaev")
    N, L = lat.n_sites, lat.n_cells
    for name in spec.features:
        f, a = reg[name], out[name]
        assert np.iscomplexobj(a) == (f.dtype == "hamiltonian" and complex_h), name
        shape = a.shape[1:]
        if f.kind in ("eigenvectors",):
            assert shape == (N, N), name
        elif f.kind == "sites":
            assert shape[0] == N and len(shape) == 2, name
        elif f.kind == "matrix":
            assert shape in ((N, N), (L, L)), name
        else:
            assert shape[-1] == L and len(shape) == 2, name


# ------------------------------------------------------------------------------------ a toy system
def _bond_weight(s: features.Sample):
    return jnp.sum(jnp.abs(s.H) ** 2, axis=1).reshape(-1, 2).T  # (2, L): A and B of each cell


def _filling(s: features.Sample):
    occ = (s.E < 0).astype(s.E.dtype)
    return jnp.sum((jnp.real(s.V) ** 2 + jnp.imag(s.V) ** 2) * occ[None, :], axis=1)[:, None]  # (N, 1): P_ii


TOY_FEATURES = (
    features.Feature("bond_weight", "hamiltonian", "cells", "real", _bond_weight, "(2, L): sum_j |H[2n + s, j]|^2"),
    features.Feature("filling", "eigensystem", "sites", "real", _filling, "(N, 1): the ground state's P_ii"),
)


@pytest.fixture
def toy(monkeypatch):
    """A chain system of its own, registered for one test: SSH's physics, its own two features."""
    system = dataclasses.replace(systems.get("ssh"), name="toy", features=TOY_FEATURES, presets={}, sweep_presets=())
    monkeypatch.setitem(systems.SYSTEMS, "toy", system)
    return system


def _toy_spec(**kw):
    ps = (data.uniform("t[0]", 0.2, 1.0), data.uniform("t[1]", 0.2, 1.0))
    return data.DatasetSpec(model="toy", size=(8,), pbc=True, ranges=(0, 1), params=ps, label="kspace", n=8, seed=4,
                            shard_size=8, chunk_size=8, **kw)


def test_a_registered_system_stores_its_own_features(toy, tmp_path):
    tnn.enable_x64()
    assert features.registry("toy") == {**{f.name: f for f in features.COMMON_FEATURES}, "bond_weight": TOY_FEATURES[0],
                                        "filling": TOY_FEATURES[1]}
    assert features.providers("bond_weight") == ("toy",) and features.lattices("filling") == ("chain",)
    spec = _toy_spec(features=("filling", "bond_weight", "hamiltonian"))
    ds = data.generate(spec, tmp_path / "stored")
    d = ds.load()
    assert d["bond_weight"].shape == (8, 2, 8) and d["filling"].shape == (8, 16, 1)
    assert d["bond_weight"].dtype == d["filling"].dtype == np.float64
    for H, bw, fill in zip(d["hamiltonian"], d["bond_weight"], d["filling"]):
        np.testing.assert_allclose(bw, (np.abs(H) ** 2).sum(axis=1).reshape(-1, 2).T, rtol=1e-14)
        E, V = np.linalg.eigh(H)
        np.testing.assert_allclose(fill[:, 0], (np.abs(V[:, E < 0]) ** 2).sum(axis=1), atol=1e-10)
    # a compact twin recomputes them on loading (the same function of the same eigensystem; XLA may fuse
    # a reduction of the generation graph otherwise than the rebuild's alone: 1 ulp of ``filling`` apart)
    compact = data.generate(spec.replace(compact=True), tmp_path / "compact").load()
    for k in spec.features:
        np.testing.assert_allclose(compact[k], d[k], rtol=0, atol=1e-15, err_msg=k)
    assert np.array_equal(compact["bond_weight"], d["bond_weight"])
    # the toy's features are its own, SSH's hoppings SSH's
    with pytest.raises(ValueError, match="`features`.*not available for the toy"):
        _toy_spec(features=("hoppings",))
    with pytest.raises(ValueError, match="`features`.*not available for the ssh"):
        data.preset("ssh", features=("bond_weight",))


def test_a_system_feature_may_not_shadow_another(monkeypatch):
    shadow = features.Feature("density", "hamiltonian", "sites", "real", lambda s: s.H)
    monkeypatch.setitem(systems.SYSTEMS, "shadow", dataclasses.replace(systems.get("ssh"), name="shadow",
                                                                       features=(shadow,), presets={}))
    with pytest.raises(ValueError, match="'density'"):
        features.registry()
    with pytest.raises(ValueError, match="`features`"):
        dataclasses.replace(systems.get("ssh"), features=(ssh.HOPPINGS, ssh.HOPPINGS))
    with pytest.raises(ValueError, match="`features`"):
        dataclasses.replace(systems.get("ssh"), features=("hoppings",))


# ------------------------------------------------------------------------------------ unknown names
def test_unknown_feature_names_raise_naming_the_argument():
    tnn.enable_x64()
    lat = lattice.chain(6)
    H = jnp.zeros((1, 12, 12))
    spec = data.preset("ssh", size=6, n=4, seed=0, features=("hamiltonian",))
    arrays = {"params": np.zeros((1, 4)), "strength": np.zeros(1), "index": np.zeros(1, np.int64)}
    cases = [
        (lambda: data.preset("ssh", features=("spectrum",)), "`features`"),
        (lambda: data.preset("ssh", features="spectrum"), "`features`"),
        (lambda: features.feature("spectrum"), "`feature`"),
        (lambda: features.feature("hoppings", "qwz"), "`feature`"),
        (lambda: features.check_names(("density", "spectrum"), argument="names"), "`names`"),
        (lambda: features.check_names(("density", "density")), "`features`"),
        (lambda: features.names(kind="tensor"), "`kind`"),
        (lambda: features.names(source="magic"), "`source`"),
        (lambda: data.rebuild_features(spec, arrays, ("spectrum",)), "`names`"),
        (lambda: probes.input_features(H, lat, ("spectrum",)), "`names`"),
        (lambda: ModelConfig("mlp", input="spectrum").validate(), "`input`"),
        (lambda: features.Feature("x", "magic", "cells", "real", len), "`source`"),
        (lambda: features.Feature("x", "terms", "tensor", "real", len), "`kind`"),
        (lambda: features.Feature("x", "terms", "cells", "int", len), "`dtype`"),
        (lambda: features.Feature("no name", "terms", "cells", "real", len), "`name`"),
    ]
    for fn, name in cases:
        with pytest.raises(ValueError, match=name):
            fn()
