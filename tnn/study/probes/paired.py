r"""Paired comparisons of probed against unprobed accuracy, and the verdict "relies on edge proxies".

Every probe set holds the *same* samples as the unprobed test set (its ``index``), changed at the
edges only, with the same labels. Per set:

* the paired drop ``acc(unprobed) - acc(probed)`` on those samples with its interval
  (:func:`tnn.intervals.difference_interval`: a bootstrap that resamples the samples once for both,
  and the seeds when several members are given);
* the exact McNemar test of the discordant pairs (:func:`tnn.intervals.paired_counts`,
  :func:`tnn.intervals.mcnemar`; with several seeds, on the per-sample majority vote);
* :func:`tnn.intervals.verdict` of "the drop is above ``threshold``": ``supported`` only when the
  whole interval is above it, ``contradicted`` when the whole interval is below, else
  ``inconclusive``.

:func:`probe_table` runs every probe of :mod:`tnn.study.probes.widths` and :mod:`tnn.study.probes.edges` for one
model and its input, and gives the verdict "relies on edge proxies" of the model x input: the
verdict of the **disagreeing set** (the one set where an edge proxy and the label point different
ways); the verdicts of the other sets are reported beside it.
"""

from __future__ import annotations

import math
import time
from typing import Any, Mapping

import numpy as np

from tnn import _checks, intervals
from tnn.study.probes.common import check_chain, correct, input_features
from tnn.study.probes.edges import STRENGTHS, ZERO_TOL, disagreeing_set, edge_potential_sweep
from tnn.study.probes.saliency import params_fit
from tnn.study.probes.widths import FRACTIONS, cut_sweep, mask_sweep

__all__ = ["THRESHOLD", "paired_comparison", "member_correct", "probe_table"]

#: default threshold of the drop that counts as "relies on edge proxies"
THRESHOLD = 0.1


def paired_comparison(correct_base, correct_probe, threshold: float = THRESHOLD, level: float = intervals.LEVEL,
                      seed: int = 0) -> dict[str, Any]:
    r"""Paired drop of accuracy from ``correct_base`` to ``correct_probe`` (0/1, ``(n,)`` or
    ``(seeds, n)``, the same samples in the same order).

    Returns ``{"n", "acc_base", "acc_probe", "drop", "lo", "hi", "b", "c", "p_mcnemar", "verdict"}``:
    ``b`` samples right before and wrong after, ``c`` the reverse; ``verdict`` of "drop > threshold"
    (``inconclusive`` with NaNs for an empty set).
    """
    threshold = _checks.check_real("threshold", threshold)
    a = np.atleast_2d(np.asarray(correct_base, dtype=np.float64))
    b = np.atleast_2d(np.asarray(correct_probe, dtype=np.float64))
    if a.shape != b.shape or a.ndim != 2:
        raise ValueError(f"Arguments `correct_base`, `correct_probe` must have one shape (n,) or (seeds, n), "
                         f"got {np.shape(correct_base)} and {np.shape(correct_probe)}.")
    n = a.shape[1]
    if n == 0:
        nan = math.nan
        return {"n": 0, "acc_base": nan, "acc_probe": nan, "drop": nan, "lo": nan, "hi": nan, "b": 0, "c": 0,
                "p_mcnemar": 1.0, "verdict": intervals.INCONCLUSIVE}
    d = intervals.difference_interval(a, b, level=level, seed=seed)
    kb, kc = intervals.paired_counts(a.mean(axis=0) > 0.5, b.mean(axis=0) > 0.5)
    return {"n": n, "acc_base": float(a.mean()), "acc_probe": float(b.mean()), "drop": d["diff"], "lo": d["lo"],
            "hi": d["hi"], "b": kb, "c": kc, "p_mcnemar": intervals.mcnemar(kb, kc),
            "verdict": intervals.verdict(d["lo"], d["hi"], threshold, above=True)}


def member_correct(model_config, members, x, y, lat, models: dict | None = None) -> np.ndarray | None:
    """Correctness ``(seeds, n)`` of every member (a list of params) on ``(x, y)`` of lattice ``lat``;
    None when the members' parameters do not fit that lattice (the MLP on another chain length).
    ``models``: a dict that caches the model (and the fit) per lattice across calls (one compilation)."""
    from tnn.models import make_model

    models = {} if models is None else models
    if lat not in models:
        model = make_model(model_config, lat)
        models[lat] = (model, None)
    model, fits = models[lat]
    if len(y) == 0:
        return np.zeros((len(members), 0), bool)
    if fits is None:
        # parameters that depend on the lattice size: the MLP's (a fixed input size), and every model's
        # on the inputs with one channel per state (density, projector) of a cut chain
        fits = params_fit(model, members[0], x)
        models[lat] = (model, fits)
    if not fits:
        return None
    return np.stack([correct(model, p, x, y) for p in members])


def probe_table(model_config, members, test: Mapping[str, Any], *, fractions=FRACTIONS, strengths=STRENGTHS,
                mu: float = 1.0, edge_cells: int = 1, threshold: float = THRESHOLD, min_cells: int = 8,
                zero_tol: float = ZERO_TOL, certify_cuts: bool = True, cut_step: int = 1) -> dict[str, Any]:
    r"""Every edge probe of one model x input, compared pair by pair with the unprobed set.

    Args:
      model_config: the :class:`tnn.models.ModelConfig` (its ``input`` says what to recompute).
      members: one member's params, or a list of them (seeds).
      test: ``{"H": (n, 2L, 2L) open chains, "y": labels (n,), "xi": (n,) cells, "lat": the open
        chain, "ranges": (for hoppings), "x": the model's features (optional; recomputed from H)}``.
      fractions: mask/cut widths in units of ``xi``. strengths: the edge-potential grid.
      mu, edge_cells: the potential of the disagreeing set (and the cells of the sweep).
      threshold: the drop that counts as reliance.
      certify_cuts: :func:`tnn.study.probes.cut_sweep`'s ``certify`` (False saves a compilation per cut length).
      cut_step: :func:`tnn.study.probes.cut_sweep`'s ``step`` (cut widths rounded up to a multiple of it).

    Returns ``{"model", "input", "n", "acc", "rows", "verdict", "seconds"}``: ``rows`` one dict per probe
    set (``probe``, ``param`` (width in xi, or mu), :func:`paired_comparison` fields, and the set's
    diagnostics), ``verdict`` the disagreeing set's verdict of "relies on edge proxies", ``seconds``
    the time to build each kind of probe set.
    """
    from tnn.train.loaders import feature_fields

    lat = check_chain(test["lat"], "test")
    members = list(members) if isinstance(members, (list, tuple)) else [members]
    names = feature_fields(model_config)
    H, y, ranges = np.asarray(test["H"]), np.asarray(test["y"], dtype=np.float64), test.get("ranges")
    secs: dict[str, float] = {}

    def timed(key, fn, *a, **k):
        t0 = time.perf_counter()
        r = fn(*a, **k)
        secs[key] = secs.get(key, 0.0) + time.perf_counter() - t0
        return r

    cache: dict = {}

    def run(xs, ys, la):
        return member_correct(model_config, members, xs, ys, la, cache)

    x = test.get("x")
    x = {k: np.asarray(x[k]) for k in names} if x is not None else timed("inputs", input_features, H, lat, names, ranges)
    base = run(x, y, lat)
    rows = []

    def add(probe, param, s_correct, idx, **diag):
        if s_correct is None:
            rows.append({"probe": probe, "param": param, "n": int(len(idx)), "verdict": "n/a", **diag})
            return
        rows.append({"probe": probe, "param": param, **paired_comparison(base[:, idx], s_correct, threshold), **diag})

    for f, s in timed("mask", mask_sweep, x, y, lat, test["xi"], fractions, min_cells).items():
        add("mask", f, run(s["x"], s["y"], lat), s["index"], capped=s["capped"])
    for f, s in timed("cut", cut_sweep, H, y, lat, test["xi"], names, fractions, ranges, min_cells,
                      certify_cuts, cut_step).items():
        parts = [run(g["x"], g["y"], g["lat"]) for g in s["groups"]]
        ok = all(p is not None for p in parts)
        idx = np.concatenate([g["index"] for g in s["groups"]]) if s["groups"] else np.zeros(0, int)
        got = (np.concatenate(parts, axis=1) if parts else np.zeros((len(members), 0), bool)) if ok else None
        add("cut", f, got, idx, capped=s["capped"], changed=s["changed"])
    for m, s in timed("edge_potential", edge_potential_sweep, H, y, lat, names, strengths, edge_cells, ranges,
                      zero_tol).items():
        topo = y != 0
        add("edge_potential", m, run(s["x"], s["y"], lat), s["index"],
            changed=s["changed"], edge_energy=float(np.mean(s["edge_energy"][topo])) if topo.any() else None,
            zero_modes=float(np.mean(s["zero_modes"])))
    d = timed("disagreeing", disagreeing_set, H, y, lat, names, mu, edge_cells, ranges, zero_tol)
    add("disagreeing", mu, run(d["x"], d["y"], lat), d["index"],
        changed=d["changed"], agreeing=d["agreeing"], potential=int(np.sum(d["kind"] == "potential")),
        dangling=int(np.sum(d["kind"] == "dangling")))
    return {"model": model_config.name, "input": model_config.resolved_input(), "n": int(len(y)),
            "acc": float(base.mean()), "rows": rows, "verdict": rows[-1]["verdict"], "seconds": secs}
