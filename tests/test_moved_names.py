"""Old names of what moved to the study (issue 21, item 4) keep working for one version, with a warning.

``tnn.trainability`` -> ``tnn.study.trainability`` and ``tnn.probes`` -> ``tnn.study.probes`` (whole
packages, submodules included); the names of ``tnn.landscape`` and ``tnn.prune`` that train, draw or
write -> ``tnn.study.minima``, ``tnn.study.topo_chain``, ``tnn.study.landscape_runs``,
``tnn.study.pruning``. Each old name warns (``DeprecationWarning`` naming the new place) and gives the
same object; tnn itself never uses an old name (the suite runs with warnings as errors).
"""

import importlib
import sys

import pytest

import tnn

PACKAGES = [
    ("trainability", ("ensemble", "gradvar", "phase", "report", "sensitivity", "targets")),
    ("probes", ("common", "edges", "paired", "run", "saliency", "sets", "widths")),
]


def _forget(monkeypatch, old: str) -> None:
    """Drop ``tnn.<old>`` and its aliased submodules, so that the next import runs the shim again."""
    for name in [m for m in sys.modules if m == f"tnn.{old}" or m.startswith(f"tnn.{old}.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.delitem(vars(tnn), old, raising=False)  # not delattr: its hasattr would import the shim


@pytest.mark.parametrize("old,subs", PACKAGES)
def test_old_package_warns_and_gives_the_same_objects(monkeypatch, old, subs):
    new = importlib.import_module(f"tnn.study.{old}")
    _forget(monkeypatch, old)
    with pytest.warns(DeprecationWarning, match=f"tnn.{old} moved to tnn.study.{old}"):
        mod = importlib.import_module(f"tnn.{old}")
    assert mod.__all__ == new.__all__
    assert all(getattr(mod, n) is getattr(new, n) for n in new.__all__)
    for s in subs:  # import tnn.<old>.<s> and from tnn.<old> import <s>: the new submodule
        assert importlib.import_module(f"tnn.{old}.{s}") is importlib.import_module(f"tnn.study.{old}.{s}")
        assert getattr(mod, s) is getattr(new, s)  # the package attribute (probes.saliency: the function)


def test_old_submodule_imports_warn_through_the_package(monkeypatch):
    from tnn.study.trainability.report import jsonable
    from tnn.study.probes.sets import mask_edges

    _forget(monkeypatch, "trainability")
    _forget(monkeypatch, "probes")
    with pytest.warns(DeprecationWarning, match="moved to tnn.study.trainability"):
        from tnn.trainability.report import jsonable as old_jsonable
    with pytest.warns(DeprecationWarning, match="moved to tnn.study.probes"):
        import tnn.probes.sets
    assert old_jsonable is jsonable and tnn.probes.sets.mask_edges is mask_edges


def test_old_package_through_the_tnn_attribute(monkeypatch):
    _forget(monkeypatch, "probes")
    with pytest.warns(DeprecationWarning, match="moved to tnn.study.probes"):
        assert tnn.probes.probe_table is importlib.import_module("tnn.study.probes").probe_table
    assert "probes" not in tnn.__all__ and "trainability" not in tnn.__all__ and "study" in tnn.__all__


MOVED = [
    ("tnn.landscape", "analyze", "tnn.study.landscape_runs"),
    ("tnn.landscape", "write_analysis", "tnn.study.landscape_runs"),
    ("tnn.landscape", "invariant_values", "tnn.study.topo_chain"),
    ("tnn.landscape", "make_chain_loss", "tnn.study.topo_chain"),
    ("tnn.landscape", "train_endpoints", "tnn.study.minima"),
    ("tnn.landscape", "minima_analysis", "tnn.study.minima"),
    ("tnn.landscape", "plot_neb", "tnn.study.minima"),
    ("tnn.landscape", "write_minima", "tnn.study.minima"),
    ("tnn.landscape.analysis", "analyze", "tnn.study.landscape_runs"),
    ("tnn.landscape.analysis", "write_analysis", "tnn.study.landscape_runs"),
    ("tnn.landscape.chain", "outputs", "tnn.study.topo_chain"),
    ("tnn.landscape.chain", "invariant_values", "tnn.study.topo_chain"),
    ("tnn.landscape.chain", "make_chain_loss", "tnn.study.topo_chain"),
    ("tnn.landscape.endpoints", "init_ensemble", "tnn.study.minima"),
    ("tnn.landscape.endpoints", "train_endpoints", "tnn.study.minima"),
    ("tnn.landscape.minima", "LOG_TAU_GRID", "tnn.study.minima"),
    ("tnn.landscape.minima", "minima_analysis", "tnn.study.minima"),
    ("tnn.landscape.minima", "plot_neb", "tnn.study.minima"),
    ("tnn.landscape.minima", "write_minima", "tnn.study.minima"),
    ("tnn.prune", "accuracy_vs_rank", "tnn.study.pruning"),
    ("tnn.prune", "write_pruning", "tnn.study.pruning"),
]


@pytest.mark.parametrize("old,name,new", MOVED)
def test_moved_names_warn_and_give_the_same_object(old, name, new):
    mod = importlib.import_module(old)
    assert name not in getattr(mod, "__all__", ())
    with pytest.warns(DeprecationWarning, match=f"{old}.{name} moved to {new}.{name}"):
        obj = getattr(mod, name)
    assert obj is getattr(importlib.import_module(new), name)
    with pytest.warns(DeprecationWarning, match=f"moved to {new}"):
        exec(f"from {old} import {name}", {})


def test_unknown_names_still_raise():
    for old in ("tnn.landscape", "tnn.landscape.chain", "tnn.landscape.minima", "tnn.prune"):
        with pytest.raises(AttributeError, match="no_such_name"):
            getattr(importlib.import_module(old), "no_such_name")
    with pytest.raises(ImportError):
        exec("from tnn.landscape import no_such_name", {})
