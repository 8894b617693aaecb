"""The study's analysis parts, each cached as ``parts/<name>.json`` (see :mod:`tnn.study.runner`).

* ``drift``: exact topo trained against untrained, and why training moves it;
* ``onsite``: the on-site (chiral-breaking) control sets: how often each trained model claims the
  clean k-space class where the invariant is not protected;
* ``landscape``: Hessian spectra at init and at the end of training (:mod:`tnn.landscape`), and the
  straight line from topo's random init to the exact solution;
* ``sensitivity``: topo's success rate against init noise sigma (:mod:`tnn.study.trainability`);
* ``gradvar``: the variance of the gradient at init against the chain length;
* ``pruning``: accuracy against SVD rank (:mod:`tnn.prune`);
* ``probes``: every run probed at the edges (:mod:`tnn.study.proxies`).

Each function takes the running study and the summary so far and returns plain JSON-able data.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

__all__ = ["parts", "extra_rows"]


def parts(c) -> dict:
    """``{name: fn(study, summary) -> dict}`` of the parts config ``c`` computes, in order.

    The longest parts come last: a two-process study's helper takes units from the back
    (:mod:`tnn.study.jobs`), so it starts on them while the main process works through the short
    ones (``--quick``: the two processes finished their parts 6 s apart with ``minima`` in the
    middle of the list, where the helper reached it last). No part reads another part."""
    from tnn.study.ceiling import ceiling

    out = {"ceiling": ceiling}
    if "topo-exact" in c.models:
        out["drift"] = drift
    if "generalization" in c.sections:
        out["onsite"] = onsite
    if "proxies" in c.sections:
        from tnn.study.proxies import probes

        out["pruning"] = pruning
        out["probes"] = probes
    if "trainability" in c.sections:
        from tnn.study.trainparts import blocks, minima, phase

        if c.sens_seeds > 0:
            out["sensitivity"] = sensitivity
        out["gradvar"] = gradvar
        out["landscape"] = landscape
        out["blocks"] = blocks
        out["phase"] = phase
        out["minima"] = minima
    return out


def _run(st, tag: str):
    from tnn.train import load_run

    return load_run(st.out / "runs" / tag)


def _loss_fn(model, x, y):
    import jax.numpy as jnp

    from tnn.train import encode_labels, make_loss

    xe = model.prepare(x)
    t = jnp.asarray(encode_labels(model.config, np.asarray(y)))
    base = make_loss(model)
    return lambda p: base(p, xe, t)


def _flat(p):
    from jax.flatten_util import ravel_pytree

    return np.asarray(ravel_pytree(p)[0])


# ------------------------------------------------------------------------------------ drift
def drift(st, summary) -> dict:
    r"""Exact topo, trained against untrained, and the cause of the drift.

    At the exact initialization topo's logits are ``-tau (f - v_c)^2`` with ``f`` the invariant, so
    the true class has probability ``1 / (1 + sum_{c' != c} e^{-tau (v_c - v_c')^2})`` < 1: the
    cross-entropy is positive and its gradient is not zero (it points to sharper logits), so the
    exact solution is not a stationary point at finite ``tau``. Adam divides each gradient
    component by its running RMS, so even a gradient of 1e-5 moves every parameter by about the
    learning rate per step; the parameters leave the exact tensors and samples near a phase boundary
    (small k-space gap) flip. Measured here: the loss and gradient norm at the exact solution for
    several ``tau``, the distance travelled by training, and the k-space gap of the flipped samples.
    """
    import jax

    from tnn.models import make_model
    from tnn.train import predict

    model, params, _, cfg = _run(st, "topo-exact")
    mcfg = model.config
    # the loss at the exact tensors on certified chains, labelled by the value the tensors compute
    # (integers there): what is left is the finite-tau effect alone. On uncertified chains the value
    # is not near an integer and the gradient grows with tau instead; against the exact labels the
    # exact point is not a minimum for a second reason, the ceiling.
    x, y, lat = st.load_invariant("ssh", "train", mcfg, certified=True)
    tx, ty, _, _, tgap, _ = st.load("ssh", "test", mcfg)
    x1 = jax.tree_util.tree_map(lambda a: a[:1], model.prepare(x))
    out: dict[str, Any] = {"tau": mcfg.tau, "lr": st.c.learning_rate, "seeds": [], "tau_scan": []}
    for tau in sorted({mcfg.tau, 2 * mcfg.tau, 4 * mcfg.tau}):
        m = make_model(dataclasses.replace(mcfg, tau=tau), lat)
        p0 = m.init(jax.random.key(0), x1)
        loss = _loss_fn(m, x, y)
        g = _flat(jax.grad(loss)(p0))
        out["tau_scan"].append({"tau": tau, "loss": float(loss(p0)), "grad_norm": float(np.linalg.norm(g)),
                                "grad_max": float(np.abs(g).max())})
    loss = _loss_fn(model, x, y)
    for s in cfg["seeds"]:
        p0 = model.init(jax.random.key(s), x1)
        p1 = params[s]
        g0 = jax.grad(loss)(p0)
        leaves = jax.tree_util.tree_flatten_with_path(g0)[0]
        top = sorted(((jax.tree_util.keystr(k), float(np.linalg.norm(np.asarray(v)))) for k, v in leaves),
                     key=lambda kv: -kv[1])[:3]
        a0, a1 = np.asarray(predict(model, p0, tx)).argmax(1), np.asarray(predict(model, p1, tx)).argmax(1)
        flip = a0 != a1
        d = _flat(p1) - _flat(p0)
        out["seeds"].append({
            "seed": s, "loss_exact": float(loss(p0)), "loss_trained": float(loss(p1)),
            "grad_norm_exact": float(np.linalg.norm(_flat(g0))), "top_grad_leaves": top,
            "displacement": float(np.linalg.norm(d)), "displacement_max": float(np.abs(d).max()),
            "n_flipped": int(flip.sum()), "n_test": int(flip.size),
            "gap_flipped_median": float(np.median(tgap[flip])) if flip.any() else None,
            "gap_all_median": float(np.median(tgap)),
        })
    return out


# ------------------------------------------------------------------------------------ onsite control
def onsite(st, summary) -> dict:
    """Trained 1D models on on-site-disordered chains (chiral symmetry broken: no protected winding)."""
    from tnn.models import make_model
    from tnn.study.units import member_fits, score_member

    c = st.c
    out: dict[str, Any] = {"sets": {}, "rows": []}
    names = [n for n in st.sets if n.startswith("onsite-")]
    for n in names:
        d = st.sets[n].load("test", ("ill_defined", "kspace_gapless"))
        out["sets"][n] = {"certified_fraction": float(1 - d["ill_defined"].astype(bool).mean()),
                          "kspace_gapped": float(1 - d["kspace_gapless"].astype(bool).mean())}
    for m in c.models:
        model, params, _, cfg = _run(st, m)
        mcfg = model.config
        for n in names:
            x, y, lat, info, gap, kcls = st.load(n, "test", mcfg, drop=False)
            ok = np.isin(kcls, np.asarray(mcfg.classes))  # clean class defined
            xs = {k: v[ok] for k, v in x.items()}
            tm = model if lat == model.lattice else make_model(mcfg, lat)
            for s in cfg["seeds"]:
                row = {"model": m, "stage": "trained", "seed": s, "split": n, "L": lat.n_cells, "n": int(ok.sum()),
                       "n_ill_defined": int(info["dropped_ill_defined"])}
                if ok.any() and member_fits(model, params[s], tm, xs):
                    r = score_member(tm, mcfg, params[s], xs, kcls[ok], gap[ok], kclass=kcls[ok])
                    row["claims_clean"] = r["claims_clean"]
                else:
                    row["note"] = "n/a"
                out["rows"].append(row)
    return out


# ------------------------------------------------------------------------------------ trainability
def _batch(st, mcfg, n: int):
    x, y, _, _, _, _ = st.load("ssh", "test", mcfg)
    b = min(n, len(y))
    return {k: v[:b] for k, v in x.items()}, y[:b]


def _curvature(loss, p, key, exact_max: int = 400) -> dict:
    """Top eigenvalues, density and summary of the Hessian of ``loss`` at ``p``: the full Hessian's
    eigenvalues for small models, else Lanczos extremes and an SLQ density (:mod:`tnn.landscape`)."""
    import jax

    from tnn import landscape as ls

    P = _flat(p).size
    if P <= exact_max:
        ev = np.linalg.eigvalsh(np.asarray(jax.jit(lambda q: ls.hessian(loss, q))(p)))
        lo, hi = ev.min(), ev.max()
        s = 0.02 * max(hi - lo, 1e-12)
        grid = np.linspace(lo - 6 * s, hi + 6 * s, 96)
        dens = np.exp(-0.5 * ((grid[:, None] - ev[None, :]) / s) ** 2).sum(1) / (len(ev) * s * np.sqrt(2 * np.pi))
        return {"n_params": P, "method": "exact", "eigs_high": ev[-4:], "summary": ls.curvature_summary(ev),
                "density_grid": grid, "density": dens}
    k1, k2 = jax.random.split(key)
    _, hi = jax.jit(lambda q, kk: ls.hessian_eigs(loss, q, 4, kk, 24))(p, k1)
    grid, dens = jax.jit(lambda q, kk: ls.spectral_density(loss, q, kk, num_steps=24, num_probes=4, grid_size=96))(p, k2)
    grid, dens = np.asarray(grid), np.asarray(dens)
    w = dens / dens.sum()
    summ = ls.curvature_summary(grid, w)
    summ["top"] = float(np.max(hi))  # the Lanczos extreme, not the broadened grid's edge
    return {"n_params": P, "method": "lanczos+slq", "eigs_high": np.asarray(hi), "summary": summ,
            "density_grid": grid, "density": dens}


def landscape(st, summary) -> dict:
    """Hessian at init and at the end of training (first seed of each model), on a test batch; for
    topo also the straight line from its initialization to the exact solution."""
    import jax

    from tnn import landscape as ls
    from tnn.models import make_model

    c = st.c
    out: dict[str, Any] = {}
    for m in [m for m in c.landscape_models if m in c.models]:
        model, params, _, cfg = _run(st, m)
        s = cfg["seeds"][0]
        xb, yb = _batch(st, model.config, c.landscape_batch)
        x1 = jax.tree_util.tree_map(lambda a: a[:1], model.prepare(xb))
        loss = _loss_fn(model, xb, yb)
        p0 = model.init(jax.random.key(s), x1)
        res = {}
        for stage, p in (("init", p0), ("end", params[s])):
            res[stage] = _curvature(loss, p, jax.random.key(7))
            res[stage]["loss"] = float(loss(p))
        if model.config.name == "topo":
            exact = make_model(dataclasses.replace(model.config, init="exact", noise=0.0), model.lattice).init(
                jax.random.key(s), x1)
            ln = ls.line_barrier(loss, p0, exact, n=21)
            res["line"] = {k: ln[k] for k in ("alphas", "losses", "barrier", "start_loss", "end_loss")}
        out[m] = res
    return out


def sensitivity(st, summary) -> dict:
    """topo's success rate against init noise sigma around the exact solution (and random inits)."""
    from tnn.study import trainability

    c = st.c
    if not any(m.startswith("topo") for m in c.models):
        return {}
    classes = tuple(summary["classes"])
    mcfg = c.model_config("topo-random", classes)
    # success = reaching the real-space invariant (labels: its rounded value; ceiling 1 by construction)
    x, y, lat = st.load_invariant("ssh", "train", mcfg)
    vx, vy, _ = st.load_invariant("ssh", "val", mcfg)
    ood = {}
    for split in summary["splits"]:
        if split.startswith("L") or split.startswith("bond-"):
            ds_name = split if split.startswith("bond-") else f"ssh-{split}"
            ood[split] = st.load_invariant(ds_name, "test", mcfg)
    tcfg = dataclasses.replace(c.train_config(c.sens_epochs), seeds=tuple(range(c.sens_seeds))).validate()
    return trainability.init_sensitivity(mcfg, lat, (x, y), (vx, vy), ood, tcfg, sigmas=c.sigmas, random=True)


def gradvar(st, summary) -> dict:
    """Variance of the gradient at init against L (topo random init, and the baselines of ``landscape_models``)."""
    from tnn.study import trainability

    c = st.c
    classes = tuple(summary["classes"])
    out = {}
    for m in ["topo-random"] + [m for m in c.landscape_models if not m.startswith("topo")]:
        n = 16 if c.profile != "quick" else 8
        out[m] = trainability.gradient_variance(c.model_config(m, classes), c.grad_lengths, n_inits=n,
                                                n_samples=8 * n, seed=c.data_seed)
    return out


# ------------------------------------------------------------------------------------ pruning and proxies
def _probe_set(st, n: int):
    """The ``ssh`` test split's valid chains rebuilt from their hoppings (all features at hand)."""
    import jax
    import jax.numpy as jnp

    import tnn
    from tnn.study import probes as pr

    ds = st.sets["ssh"]
    spec = ds.spec
    arr = ds.load("test", ("params", "label", "ill_defined"))
    keep = ~arr["ill_defined"].astype(bool)
    t, y = arr["params"][keep][:n], arr["label"][keep][:n].astype(np.float64)
    lat = spec.lattice()
    H = jax.vmap(lambda ti: tnn.hamiltonians.ssh(ti, lat, ranges=spec.ranges))(jnp.asarray(t))
    return {"x": pr.chain_features(H, spec.gauge), "y": y, "t": t, "ranges": spec.ranges, "lat": lat}


def _each_member(st, one, n_seeds: int | None = None) -> dict:
    """``{model: [one(model, params, seed, test), ...]}`` over every model of the study and its seeds
    (the first ``n_seeds``; all when None) on the probe set (:func:`_probe_set`); seeds for which
    ``one`` returns None are left out."""
    c = st.c
    test = _probe_set(st, c.probe_n)
    out = {}
    for m in c.models:
        model, params, _, cfg = _run(st, m)
        per = (one(model, params[s], s, test) for s in cfg["seeds"][:n_seeds])
        out[m] = [r for r in per if r is not None]
    return out


def pruning(st, summary) -> dict:
    """Accuracy against SVD rank per model and seed; first-layer cell weights of the baselines."""
    return _each_member(st, _pruning_curve)


def _pruning_curve(model, p, s, test) -> dict | None:
    """Accuracy of member ``p`` (seed ``s``) against SVD rank on ``test``; None without a matrix to prune."""
    from tnn import prune
    from tnn.study.pruning import accuracy_vs_rank
    from tnn.train.loaders import feature_fields

    mr = max(prune.matrix_ranks(p).values(), default=0)
    ranks = sorted({k for k in (1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64) if k < mr} | {mr}) if mr else []
    if not ranks:
        return None
    x = {k: test["x"][k] for k in feature_fields(model.config)}
    curve = accuracy_vs_rank(model, p, (x, test["y"]), ranks)
    try:
        sites = prune.input_site_weights(model, p)
        ef = sites.get("edge_fraction"), sites.get("edge_share")
    except ValueError:
        ef = (None, None)
    return {"seed": s, "ranks": curve["ranks"], "acc": curve["acc"], "full_acc": curve["full_acc"],
            "max_rank": curve["max_rank"], "smallest_rank_95": curve["smallest_rank_95"],
            "edge_fraction": ef[0], "edge_share": ef[1]}


def extra_rows(summary) -> list[dict]:
    """Rows of ``metrics.csv`` from the parts: on-site control and probe accuracies."""
    rows = list(summary["parts"].get("onsite", {}).get("rows", []))
    for tag, r in summary["parts"].get("probes", {}).get("runs", {}).items():
        for row in r["rows"]:
            ok = row.get("verdict") != "n/a" and row.get("n", 0) > 0
            rows.append({"model": tag, "stage": "trained", "seed": "all", "split": f"probe-{row['probe']}-{row['param']:g}",
                         "n": row.get("n"), "acc": row.get("acc_probe") if ok else None, "note": None if ok else "n/a"})
    return rows
