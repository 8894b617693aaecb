"""The study's edge-proxy part: every trained 1D run (model x input) probed at the edges, pair by pair
against the unprobed test chains (:func:`tnn.study.probes.probe_table`).

The probe chains are the main test split's first ``probe_n`` labelled chains, rebuilt from their
hoppings; their exact labels and correlation lengths ``xi`` come from the dataset. Per run: masks and
cuts of the end cells over widths in units of ``xi`` (``probe_fractions``), an edge-potential sweep
that moves the edge modes while the bulk winding stays (``probe_strengths``), and the disagreeing set
(the number of zero modes differs from the winding). Each probed set is compared with the same
chains unprobed: the paired drop with its 95% interval and the exact McNemar test. The verdict "relies
on edge proxies" of a run is the disagreeing set's; a run counts as having *learned* when the lower
bound of its test accuracy is above the majority level plus ``THRESHOLDS["learned"]``.
"""

from __future__ import annotations

import numpy as np

__all__ = ["probes", "probe_test_set"]


def probe_test_set(st, n: int) -> dict:
    """``{"H", "y", "xi", "lat", "ranges", "t"}`` of the first ``n`` labelled test chains of the study's
    main dataset, rebuilt from their hoppings (clean chains: the stored Hamiltonians exactly)."""
    import jax
    import jax.numpy as jnp

    import tnn

    ds = st.sets["ssh"]
    spec = ds.spec
    arr = ds.load("test", ("params", "label", "ill_defined", "xi"))
    keep = ~arr["ill_defined"].astype(bool)
    t = arr["params"][keep][:n]
    lat = spec.lattice()
    tnn.precision.require_x64("the study's proxies")
    H = np.asarray(jax.vmap(lambda ti: tnn.hamiltonians.ssh(ti, lat, ranges=spec.ranges))(jnp.asarray(t)))
    return {"H": H, "y": arr["label"][keep][:n].astype(np.float64), "xi": arr["xi"][keep][:n], "lat": lat,
            "ranges": spec.ranges, "t": t}


def probes(st, summary) -> dict:
    """``{"runs": {tag: probe_table result}, "verdicts": [...]}`` for every 1D run but the exact topo
    ones (which compute the bulk invariant by construction) on :func:`probe_test_set`."""
    from tnn.study import probes as pr
    from tnn.study import evidence as ev
    from tnn.study.claims import THRESHOLDS
    from tnn.study.config import split_tag
    from tnn.train import load_run

    c = st.c
    test = probe_test_set(st, c.probe_n)
    majority = st.ds_info["ssh"].get("majority") or 0.0
    out: dict = {"n": int(len(test["y"])), "xi_median": float(np.median(test["xi"])), "runs": {}, "verdicts": [],
                 "fractions": list(c.probe_fractions), "strengths": list(c.probe_strengths),
                 "threshold": THRESHOLDS["proxy_drop"]}
    for tag, m, inp in c.runs_1d():
        if m in ("topo-exact", "topo-noise"):
            continue
        model, params, _, cfg = load_run(st.out / "runs" / tag)
        members = [params[s] for s in cfg["seeds"]]
        r = pr.probe_table(model.config, members, test, fractions=c.probe_fractions, strengths=c.probe_strengths,
                           threshold=THRESHOLDS["proxy_drop"], certify_cuts=False, cut_step=c.probe_cut_step)
        out["runs"][tag] = r
        acc = ev.accuracy(summary, tag, "test")
        learned = acc is not None and acc["lo"] > majority + THRESHOLDS["learned"]
        dis = [row for row in r["rows"] if row["probe"] == "disagreeing"]
        scored = [row for row in r["rows"] if row.get("verdict") != "n/a" and row.get("n", 0) > 0]
        worst = max(scored, key=lambda row: row["lo"], default=None)
        d = dis[0] if dis else worst
        if d is None or d.get("verdict") == "n/a":
            continue
        base, _ = split_tag(tag)
        out["verdicts"].append({
            "tag": tag, "model": base, "input": inp, "learned": bool(learned), "verdict": d["verdict"],
            "drop": d["drop"], "lo": d["lo"], "hi": d["hi"], "p": d["p_mcnemar"], "probe": d["probe"],
            "largest": None if worst is None else {"probe": worst["probe"], "param": worst["param"], "drop": worst["drop"],
                                                   "lo": worst["lo"], "hi": worst["hi"]}})
    return out
