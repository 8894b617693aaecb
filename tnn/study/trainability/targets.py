"""The targets of the trainability analyses: the rounded real-space invariant of each sample.

Success in the trainability analyses means reaching the function the exact topo tensors compute at
this size (the rounded real-space invariant, stored as the dataset's ``class``), whose ceiling is 1 by
construction, not the exact label (whose ceiling at finite size is lower).
"""

from __future__ import annotations

import numpy as np

__all__ = ["invariant_targets", "load_invariant_split"]


def invariant_targets(x: dict, d: dict, classes, certified: bool = False) -> tuple[dict, np.ndarray]:
    """``(x, y)``: the samples of one split relabelled by their rounded real-space invariant.

    ``x``: the split's features with its ill-defined samples already left out (as
    :func:`tnn.train.load_dataset` with ``drop_ill_defined=True`` returns them); ``d``: the split's
    ``class``, ``ill_defined`` and ``invalid`` arrays (every sample). Samples whose rounded value is
    not one of ``classes`` (no finite value) are left out and, with ``certified``, those whose value
    the certificate of :mod:`tnn.validity` does not certify. ``y`` is float64.
    """
    keep = ~np.asarray(d["ill_defined"]).astype(bool)
    rs = np.asarray(d["class"])[keep]
    ok = np.isin(rs, np.asarray(classes))
    if certified:
        ok &= ~np.asarray(d["invalid"])[keep].astype(bool)
    return {k: v[ok] for k, v in x.items()}, rs[ok].astype(np.float64)


def load_invariant_split(ds, model_config, split: str, certified: bool = False):
    """``(x, y, lat)``: split ``split`` of dataset ``ds`` read for ``model_config``
    (:func:`tnn.train.load_dataset`) with :func:`invariant_targets` as labels."""
    from tnn.train import load_dataset

    x, _, lat, _ = load_dataset(ds, model_config, split, drop_ill_defined=True)
    d = ds.load(split, ("class", "ill_defined", "invalid"))
    return (*invariant_targets(x, d, model_config.classes, certified), lat)
