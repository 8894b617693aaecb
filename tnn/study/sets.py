"""The study's datasets: their specs (one per training, transfer, periodic, unseen, disorder and 2D
set), the 1D evaluation sets, and the label quality recorded for each."""

from __future__ import annotations

import numpy as np

from tnn.study.config import FEATURES, TRANSFER_FEATURES, StudyConfig

__all__ = ["MAIN_SET", "GAP_BINS", "label_quality", "test_offset", "dataset_specs", "eval_sets_1d"]

#: the study's main dataset (clean SSH chains at the training size): what the analyses read
MAIN_SET = "ssh"
#: k-space gap bins of "accuracy against the distance to the nearest phase boundary"
GAP_BINS = (0.0, 0.05, 0.1, 0.2, 0.4, np.inf)


def label_quality(ds) -> dict:
    """Label quality of a dataset (all splits): ``valid_fraction`` (samples with a label, not
    ill-defined), ``certified_fraction`` (real-space value certified by :mod:`tnn.validity`),
    ``realspace_agree`` (share of labelled samples whose rounded real-space value equals the label:
    the ceiling of any model that computes the real-space invariant at this size), ``clean_agree``
    (the same on clean certified samples against k space; None without any), ``sources`` (label
    source name -> count) and ``xi_median`` (median correlation length of the labelled samples, cells)."""
    have = set(ds.arrays)
    fields = ("invalid", "strength", "class", "kspace_class", "kspace_gapless", "ill_defined", "label")
    extra = tuple(f for f in ("label_source", "xi") if f in have)
    d = ds.load("all", fields + extra)
    invalid = d["invalid"].astype(bool)
    ok = ~d["ill_defined"].astype(bool)
    clean = (d["strength"] == 0) & ~invalid & ~d["kspace_gapless"].astype(bool)
    agree = float(np.mean(d["class"][clean] == d["kspace_class"][clean])) if clean.any() else None
    out = {"valid_fraction": float(ok.mean()), "certified_fraction": float(1.0 - invalid.mean()), "clean_agree": agree,
           "n_clean_valid": int(clean.sum()),
           "realspace_agree": float(np.mean(d["class"][ok] == d["label"][ok])) if ok.any() else None}
    if "label_source" in d:
        from tnn.data.exact import LABEL_SOURCES

        src = d["label_source"][ok]
        out["sources"] = {name: int(np.sum(src == code)) for code, name in LABEL_SOURCES.items() if np.any(src == code)}
    if "xi" in d:
        xi = d["xi"][ok]
        xi = xi[np.isfinite(xi)]
        out["xi_median"] = float(np.median(xi)) if xi.size else None
    return out


def _wname(prefix: str, w: float) -> str:
    return f"{prefix}-W{w:g}"


def test_offset(c: StudyConfig) -> int:
    """The first sample index of the test split of the study's main dataset: the transfer, periodic
    sets start there, so they hold the *same* parameter draws (the same clean Hamiltonians) at other
    sizes and boundary conditions (``DatasetSpec.index_offset``)."""
    from tnn import data

    return data.preset("ssh", size=c.size, n=c.n, seed=c.data_seed, splits=c.splits).split_ranges()["test"][0]


def dataset_specs(c: StudyConfig) -> dict:
    """``{name: tnn.data.DatasetSpec}`` of every dataset of the study.

    Labels are the presets' default: the exact reference of each sample (k space for clean chains,
    the zero-energy Lyapunov winding for chiral-disordered ones), every sample kept whatever its
    real-space certificate. The size-transfer and periodic sets rebuild the main test split's
    parameter draws (:func:`test_offset`), so accuracy against L compares the same Hamiltonians.
    """
    from tnn import data
    from tnn.data.spec import fixed

    s, L = c.data_seed, c.size
    # compact: the shards hold the labels and parameters only, features are rebuilt on loading
    # (results <= 300 MB with the datasets kept; a chain's rebuild is one SVD)
    f32 = dict(dtype="float32", compact=True)
    off = test_offset(c)
    same = dict(seed=s, index_offset=off, splits=(0.0, 0.0, 1.0), n=c.n_test, **f32)
    test = dict(splits=(0.0, 0.0, 1.0), n=c.n_test, features=FEATURES, **f32)
    dis = dict(test, n=c.n_test_disorder)
    specs = {"ssh": data.preset("ssh", size=L, n=c.n, seed=s, splits=c.splits, features=FEATURES, **f32)}
    for f in c.transfer_factors:
        specs[f"ssh-L{f * L}"] = data.preset("ssh", size=f * L, features=TRANSFER_FEATURES, **same)
    for i, w in enumerate(c.disorder):
        if w > 0:
            specs[_wname("bond", w)] = data.preset("ssh-bond", size=L, strength=fixed("W", w), seed=s + 30 + i, **dis)
    if "trainability" in c.sections:
        specs["phase"] = data.preset("ssh", size=c.phase_size, n=c.phase_n, seed=s + 60, splits=(0.5, 0.0, 0.5),
                                     features=("wavefunctions",), **f32)
    if "generalization" in c.sections:
        specs["periodic"] = data.preset("ssh-pbc", size=L, features=FEATURES, **same)
        # the unseen-windings runs read the eigensystem (topo) and the Hamiltonian (baselines) only
        f01 = ("wavefunctions", "hamiltonian")
        specs["ssh01"] = data.preset("ssh01", size=L, n=c.n, seed=s + 21, splits=c.splits, features=f01, **f32)
        specs["unseen"] = data.preset("ssh", size=L, classes=(-1, 2), seed=s + 22, **dict(test, features=f01))
        for i, w in enumerate(c.onsite):
            specs[_wname("onsite", w)] = data.preset("ssh-onsite", size=L, strength=fixed("W", w), seed=s + 40 + i, **dis)
    if "2d" in c.sections:
        # training: QWZ with Anderson disorder W in {0, 1, 2} (its labelled samples); tests: clean samples
        f2 = ("wavefunctions", "hamiltonian")
        common = dict(features=f2, dtype="float32", compact=True, shard_size=64, chunk_size=8)
        clean = dict(common, disorder="none", strength=fixed("W", 0.0), n=c.n_test_2d, splits=(0.0, 0.0, 1.0))
        specs["qwz"] = data.preset("qwz", size=c.size_2d, n=c.n_2d, seed=s + 50, splits=c.splits, **common)
        specs["qwz-test"] = data.preset("qwz", size=c.size_2d, seed=s + 53, **clean)
        specs["qwz-large"] = data.preset("qwz", size=c.test_size_2d, seed=s + 51, **clean)
        specs["haldane"] = data.preset("haldane", size=c.size_2d, seed=s + 52, **clean)
    return specs


def eval_sets_1d(c: StudyConfig) -> dict:
    """``{split name: (dataset, split)}`` the 1D models are scored on (clean test, sizes, disorder, periodic)."""
    out = {"test": ("ssh", "test")}
    for f in c.transfer_factors:
        out[f"L{f * c.size}"] = (f"ssh-L{f * c.size}", "test")
    for w in c.disorder:
        if w > 0:
            out[_wname("bond", w)] = (_wname("bond", w), "test")
    if "generalization" in c.sections:
        out["periodic"] = ("periodic", "test")
    return out

