r"""The minima of topo's 1D loss modulo its symmetries: endpoints, clusters, curvature, barriers.

Moved from ``tnn.landscape.minima`` and ``tnn.landscape.endpoints`` (issue 21: it trains, draws and
writes); the pure pieces it calls (symmetries, clustering, block spectra, NEB) stay in :mod:`tnn.landscape`.

:func:`minima_analysis` runs the whole chain of issue 19, item 5, on one training set:

1. ``n_inits`` random initializations trained together (:func:`train_endpoints`)
   on the first ``n_fit`` training chains (full batch; that loss is "the landscape" below);
2. each endpoint canonicalized (:func:`tnn.landscape.symmetry.canonicalize`) and scored: training
   loss and accuracy (float64), test accuracy, agreement of its predicted class with the exact
   network's on the test chains, the RMS distance of its head value ``f`` to the exact invariant on
   the probe batch (the first ``n_probe`` test chains), and its distance to the exact set in the
   canonical chart (:func:`tnn.landscape.symmetry.exact_distance`);
3. endpoints clustered by function (:func:`tnn.landscape.endpoints.cluster_endpoints`); a cluster
   *reaches the invariant* when its representative (lowest loss) agrees with the exact network on
   at least ``threshold`` of the test chains; the others are spurious;
4. the Hessian of the landscape at the (canonical) representatives of the ``max_hessians`` largest clusters
   (:func:`tnn.landscape.block_hessian`): eigenvalues of each diagonal block (:data:`tnn.landscape.chain.BLOCKS`)
   and the extremes of the full spectrum;
5. the nudged elastic band (:func:`tnn.landscape.neb.neb`) from the largest spurious cluster's
   representative (canonical form) to its nearest exact point
   (:func:`tnn.landscape.symmetry.nearest_exact`), beside the straight line. The exact set holds
   every ``tau`` (the argmax does not depend on it), so the end point takes the ``log_tau`` of
   :data:`LOG_TAU_GRID` (or its own) of lowest loss.

The exact network's own landscape loss is reported too: the exact point is not a minimum of the
cross-entropy (a larger ``tau`` lowers it where every chain is classified right, and finite-size
chains near a transition are not), so the NEB end point may lie above nearby minima.

:func:`train_endpoints` trains ``n_inits`` members from ``ModelConfig(init="random")`` draws
(member ``i`` initialized by ``jax.random.key(seed + i)``, the convention of :func:`tnn.train.fit`)
as one ``jit(vmap(scan))`` over full-batch Adam steps (``optax.adam`` with a cosine decay of the
rate to ``final_fraction`` of its peak, so the endpoints settle into their basins), on the loss of
:func:`tnn.study.topo_chain.make_chain_loss`. Training runs in ``train_dtype`` (float32 by default:
half the cost of float64 on CPU; the endpoints are returned in the parameters' float64 for the
curvature that follows).
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import numpy as np
import jax
import jax.numpy as jnp
import optax

from tnn import _checks
from tnn.lattice import Lattice, check_lattice
from tnn.landscape.chain import BLOCKS, block_masks
from tnn.landscape.curvature import hessian
from tnn.landscape.endpoints import cluster_endpoints
from tnn.landscape.minima import block_spectra
from tnn.landscape.neb import neb
from tnn.landscape.symmetry import canonicalize, exact_distance, nearest_exact
from tnn.models import make_model, topo
from tnn.models.base import ModelConfig
from tnn.study.topo_chain import invariant_values, make_chain_loss, outputs
from tnn.train import optim
from tnn.train.loss import encode_labels

__all__ = ["init_ensemble", "train_endpoints", "LOG_TAU_GRID", "minima_analysis", "plot_neb", "write_minima"]


def init_ensemble(model_config: ModelConfig, lat: Lattice, n_inits: int, seed: int = 0):
    """Stacked parameters (every leaf ``(n_inits, ...)``) of ``n_inits`` topo members, member ``i``
    from ``jax.random.key(seed + i)`` and ``model_config.init``."""
    members = [topo.init_params(jax.random.key(seed + i), model_config, lat) for i in range(n_inits)]
    return jax.tree_util.tree_map(lambda *a: jnp.stack(a), *members)


def train_endpoints(model_config: ModelConfig, lat: Lattice, E, V, t, *, n_inits: int = 64, steps: int = 300,
                    learning_rate: float = 3e-2, final_fraction: float = 0.01, seed: int = 0,
                    train_dtype: str = "float32") -> dict:
    """Train ``n_inits`` random initializations together (module docstring).

    Args:
      model_config: a chain topo :class:`~tnn.models.ModelConfig` (its ``init`` is used, e.g. "random").
      lat: the chain. E: ``(B, N)`` energies; V: ``(B, N, N)`` eigenvectors; t: ``(B,)`` class
        indices (classify) or values (regress), as :func:`tnn.train.encode_labels` gives them.
      n_inits: members. steps: full-batch Adam steps. learning_rate: peak rate.
      final_fraction: the cosine decay's final rate as a fraction of the peak.
      seed: member ``i`` uses ``jax.random.key(seed + i)``.
      train_dtype: ``"float32"`` or ``"float64"``.

    Returns:
      dict: ``params`` (stacked, float64 leaves ``(n_inits, ...)``), ``loss_history``
      ``(n_inits, steps)`` (NumPy, in ``train_dtype``), ``seeds`` (list).
    """
    n_inits = _checks.check_int("n_inits", n_inits, 1)
    steps = _checks.check_int("steps", steps, 1)
    learning_rate = _checks.check_real("learning_rate", learning_rate, 0, lo_open=True)
    final_fraction = _checks.check_real("final_fraction", final_fraction, 0, 1)
    train_dtype = _checks.check_choice("train_dtype", train_dtype, ("float32", "float64"))
    dt = jnp.float32 if train_dtype == "float32" else jnp.float64
    params = init_ensemble(model_config, lat, n_inits, seed)
    loss = make_chain_loss(model_config, lat, jnp.asarray(E, dt), jnp.asarray(V, dt), jnp.asarray(t))
    sched = optax.cosine_decay_schedule(learning_rate, steps, alpha=final_fraction)
    tx = optax.adam(sched)

    def run(p):
        def body(carry, _):
            p, s = carry
            val, g = jax.value_and_grad(loss)(p)
            upd, s = optim.update(tx, g, s, p)
            return (optax.apply_updates(p, upd), s), val

        (p, _), hist = jax.lax.scan(body, (p, optim.init(tx, p)), None, length=steps)
        return p, hist

    p0 = jax.tree_util.tree_map(lambda a: a.astype(dt), params)
    p_end, hist = jax.jit(jax.vmap(run))(p0)
    p_end = jax.tree_util.tree_map(lambda a, ref: a.astype(ref.dtype), p_end, params)
    return {"params": p_end, "loss_history": np.asarray(hist), "seeds": [seed + i for i in range(n_inits)]}


def _member(tree, i):
    return jax.tree_util.tree_map(lambda a: a[i], tree)


#: log tau values tried at the NEB end point (the exact set holds every tau; the best is kept)
LOG_TAU_GRID = np.linspace(np.log(0.1), np.log(1000.0), 37)


def _best_tau(loss, params):
    """``params`` with the ``log_tau`` of :data:`LOG_TAU_GRID` (or its own) of lowest ``loss``."""
    grid = jnp.concatenate([jnp.asarray(LOG_TAU_GRID, params["head"]["log_tau"].dtype), params["head"]["log_tau"][None]])
    at = lambda lt: {**params, "head": {**params["head"], "log_tau": lt}}  # noqa: E731
    vals = jax.jit(jax.vmap(lambda lt: loss(at(lt))))(grid)
    return at(grid[jnp.argmin(vals)])


def minima_analysis(model_config: ModelConfig, lat: Lattice, train, test, *, n_inits: int = 64, n_fit: int = 64,
                    steps: int = 300, learning_rate: float = 3e-2, n_probe: int = 64, tol_f: float = 0.05,
                    tol_p: float = 0.05, threshold: float = 0.99, max_hessians: int = 4, n_images: int = 24,
                    neb_steps: int = 150, spring: float = 1.0, seed: int = 0, train_dtype: str = "float32") -> dict:
    """Minima of topo's 1D loss from random inits (module docstring). JSON-able result.

    Args:
      model_config: a chain topo ``ModelConfig`` with ``task="classify"`` (its ``init`` is replaced
        by ``"random"`` for the members and ``"exact"`` for the reference).
      lat: the chain of the data.
      train, test: ``(features, y)``; features ``{"energies": (n, N), "wavefunctions": (n, N, N)}``
        (the :mod:`tnn.data` layout) or the encoded ``{"energies", "eigenvectors"}``; ``y`` ``(n,)``
        invariant values in ``model_config.classes``.
      n_inits: random initializations (one vmap ensemble). n_fit: training chains in the landscape
        loss (the first ones). steps, learning_rate, train_dtype: :func:`train_endpoints`.
      n_probe: test chains of the function-space distance. tol_f, tol_p: clustering cuts.
      threshold: agreement with the exact network that counts as reaching the invariant.
      max_hessians: clusters (largest first) whose representative gets a Hessian.
      n_images, neb_steps, spring: the NEB (a FIRE step of ``dt = 0.01``, ``max_step = 0.1``).
      seed: member ``i`` starts from ``jax.random.key(seed + i)``.

    Returns:
      dict with ``config`` (the arguments), ``exact`` (the exact network's losses and accuracies),
      ``endpoints`` (per member: seed, loss, train/test accuracy, agreement, ``f_rms``,
      ``exact_distance``, cluster), ``clusters`` (per cluster: size, members, representative, loss
      min/mean, accuracies, agreement, ``reaches_invariant``, exact distance, ``hessian``
      (:func:`tnn.landscape.block_hessian` without the full eigenvalue list) for the largest ones), ``n_clusters``,
      ``n_reaching``, ``members_reaching``, ``n_param_clusters``, ``n_clusters_by_tol_f`` (the count at
      ``tol_f / 10, tol_f, 4 tol_f, 10 tol_f``), ``neb`` (energies, arc, barrier, straight-line energies
      and barrier, end losses, steps, convergence; None when no cluster is spurious) and ``seconds``
      per stage.
    """
    if not isinstance(model_config, ModelConfig) or model_config.name != "topo" or model_config.task != "classify":
        raise ValueError("Argument `model_config` must be a topo ModelConfig with task='classify', got "
                         f"{model_config!r}.")
    lat = check_lattice(lat, ("chain",), "minima_analysis")
    n_inits = _checks.check_int("n_inits", n_inits, 2)
    n_fit = _checks.check_int("n_fit", n_fit, 1)
    n_probe = _checks.check_int("n_probe", n_probe, 1)
    threshold = _checks.check_real("threshold", threshold, 0, 1)
    max_hessians = _checks.check_int("max_hessians", max_hessians, 0)
    secs: dict[str, float] = {}
    t0 = time.perf_counter()
    rand_cfg = dataclasses.replace(model_config, init="random").validate()
    exact_cfg = dataclasses.replace(model_config, init="exact").validate()
    prep = make_model(rand_cfg, lat).prepare
    sets = {}
    for name, data in (("train", train), ("test", test)):
        if not isinstance(data, (tuple, list)) or len(data) != 2:
            raise ValueError(f"Argument `{name}` must be a pair (features, y), got {type(data).__name__}.")
        x = prep(data[0])
        E, V = jnp.asarray(x["energies"], jnp.float64), jnp.asarray(x["eigenvectors"], jnp.float64)
        if E.ndim != 2 or V.shape != E.shape + E.shape[-1:] or E.shape[1] != lat.n_sites:
            raise ValueError(f"Argument `{name}` must hold energies (n, {lat.n_sites}) and eigenvectors "
                             f"(n, {lat.n_sites}, {lat.n_sites}), got {E.shape} and {V.shape}.")
        sets[name] = (E, V, jnp.asarray(encode_labels(rand_cfg, np.asarray(data[1]))))
    E, V, t = (a[:n_fit] for a in sets["train"])
    Et, Vt, tt = sets["test"]
    Ep, Vp = Et[:n_probe], Vt[:n_probe]
    loss = make_chain_loss(rand_cfg, lat, E, V, t)

    # 1. endpoints
    tr = train_endpoints(rand_cfg, lat, E, V, t, n_inits=n_inits, steps=steps, learning_rate=learning_rate, seed=seed,
                         train_dtype=train_dtype)
    secs["train"] = time.perf_counter() - t0
    t1 = time.perf_counter()

    # 2. scores (float64), canonical forms
    pe = topo.init_params(jax.random.key(seed), exact_cfg, lat)
    ps = tr["params"]

    @jax.jit
    def score(p):
        return (loss(p), outputs(p, E, V, lat, rand_cfg), outputs(p, Et, Vt, lat, rand_cfg),
                invariant_values(p, Ep, Vp, lat, rand_cfg), canonicalize(p), exact_distance(p))

    # the exact network (same parameter structure) rides along as member n_inits: one compilation
    both = jax.tree_util.tree_map(lambda a, b: jnp.concatenate([a, b[None]]), ps, pe)
    l_all, o_tr, o_te, f_all, canon, d_ex = jax.vmap(score)(both)
    l_all, f_all, o_tr, o_te = np.asarray(l_all), np.asarray(f_all), np.asarray(o_tr), np.asarray(o_te)
    pe_loss, f_exact, pred_exact = float(l_all[-1]), f_all[-1], o_te[-1].argmax(-1)
    exact_train_acc = float(np.mean(o_tr[-1].argmax(-1) == np.asarray(t)))
    l_end, f_pr, o_tr, o_te = l_all[:-1], f_all[:-1], o_tr[:-1], o_te[:-1]
    canon = jax.tree_util.tree_map(lambda a: a[:-1], canon)
    d_ex = np.asarray(d_ex)[:-1]
    acc_tr = np.mean(o_tr.argmax(-1) == np.asarray(t)[None], axis=1)
    pred_te = o_te.argmax(-1)
    acc_te = np.mean(pred_te == np.asarray(tt)[None], axis=1)
    agree = np.mean(pred_te == pred_exact[None], axis=1)
    f_rms = np.sqrt(np.mean((f_pr - f_exact[None]) ** 2, axis=1))
    l_safe = np.where(np.isfinite(l_end), l_end, np.inf)
    cl = cluster_endpoints(f_pr, canon, l_safe, tol_f=tol_f, tol_p=tol_p)
    by_tol = {f"{tf:g}": len(cluster_endpoints(f_pr, canon, l_safe, tol_f=tf, tol_p=tol_p)["clusters"])
              for tf in sorted({tol_f / 10, tol_f, 4 * tol_f, 10 * tol_f})}
    secs["score_cluster"] = time.perf_counter() - t1
    t1 = time.perf_counter()

    clusters = []
    for c in cl["clusters"]:
        m, r = np.asarray(c["members"]), c["representative"]
        clusters.append({"size": int(len(m)), "members": c["members"], "representative": r,
                         "seed": tr["seeds"][r], "loss_min": float(l_end[r]), "loss_mean": float(np.mean(l_end[m])),
                         "train_acc": float(acc_tr[r]), "test_acc": float(acc_te[r]),
                         "test_acc_mean": float(np.mean(acc_te[m])), "agreement": float(agree[r]),
                         "f_rms": float(f_rms[r]), "reaches_invariant": bool(agree[r] >= threshold),
                         "exact_distance": float(d_ex[r]), "exact_distance_mean": float(np.mean(d_ex[m])),
                         "param_clusters": c["param_clusters"], "param_spread": c["param_spread"]})

    # 3. per-block Hessians at the largest clusters' representatives
    top = clusters[:max_hessians]
    if top:
        reps = jax.tree_util.tree_map(lambda a: a[np.asarray([c["representative"] for c in top])], canon)
        Hs = np.asarray(jax.jit(jax.vmap(lambda p: hessian(loss, p)))(reps))
        masks = block_masks(_member(canon, 0))
    for k, c in enumerate(top):
        h = block_spectra(Hs[k], masks)
        tol = 1e-8 * max(abs(h["full"]["min"]), abs(h["full"]["max"]))
        c["hessian"] = {"blocks": {b: {"min": v[0], "max": v[-1], "n_negative": int(np.sum(np.asarray(v) < -tol)),
                                       "eigenvalues": v} for b, v in h["blocks"].items()},
                        "full": {k2: v for k2, v in h["full"].items() if k2 != "eigenvalues"},
                        "full_lowest": h["full"]["eigenvalues"][:5], "full_highest": h["full"]["eigenvalues"][-5:]}
    secs["hessian"] = time.perf_counter() - t1
    t1 = time.perf_counter()

    # 4. the barrier from the largest spurious cluster to the exact set
    spurious = [i for i, c in enumerate(clusters) if not c["reaches_invariant"]]
    band = None
    if spurious:
        i = spurious[0]
        start, end = jax.jit(nearest_exact)(_member(ps, clusters[i]["representative"]))
        end = _best_tau(loss, end)
        r = neb(loss, start, end, n_images=n_images, steps=neb_steps, spring=spring, climbing=True)
        band = {"cluster": i, "energies": r["energies"].tolist(), "arc": r["arc"].tolist(), "barrier": r["barrier"],
                "saddle_index": r["saddle_index"], "line_alphas": r["line_alphas"].tolist(),
                "line_energies": r["line_energies"].tolist(), "line_barrier": r["line_barrier"],
                "line_length": r["line_length"], "start_loss": float(r["energies"][0]),
                "end_loss": float(r["energies"][-1]), "max_force": r["max_force"], "steps_run": r["steps_run"],
                "converged": r["converged"], "n_images": n_images}
    secs["neb"] = time.perf_counter() - t1
    secs["total"] = time.perf_counter() - t0

    endpoints = [{"seed": tr["seeds"][k], "loss": float(l_end[k]), "train_acc": float(acc_tr[k]),
                  "test_acc": float(acc_te[k]), "agreement": float(agree[k]), "f_rms": float(f_rms[k]),
                  "exact_distance": float(d_ex[k]), "cluster": int(cl["labels"][k])} for k in range(n_inits)]
    return {
        "config": {"model": dataclasses.asdict(rand_cfg), "lattice": {"kind": lat.kind, "dims": list(lat.dims),
                                                                       "pbc": bool(lat.pbc)},
                   "n_inits": n_inits, "n_fit": int(E.shape[0]), "n_test": int(Et.shape[0]), "n_probe": int(Ep.shape[0]),
                   "steps": steps, "learning_rate": learning_rate, "tol_f": tol_f, "tol_p": tol_p,
                   "threshold": threshold, "n_images": n_images, "neb_steps": neb_steps, "spring": spring, "seed": seed,
                   "train_dtype": train_dtype, "blocks": list(BLOCKS)},
        "exact": {"loss": pe_loss, "train_acc": exact_train_acc,
                  "test_acc": float(np.mean(pred_exact == np.asarray(tt)))},
        "endpoints": endpoints,
        "clusters": clusters,
        "n_clusters": len(clusters),
        "n_reaching": int(sum(c["reaches_invariant"] for c in clusters)),
        "members_reaching": int(sum(c["size"] for c in clusters if c["reaches_invariant"])),
        "n_param_clusters": cl["n_param_clusters"],
        "n_clusters_by_tol_f": by_tol,
        "neb": band,
        "seconds": secs,
    }


def plot_neb(result: dict, path: str | Path) -> Path | None:
    """Figure of the NEB path's loss against the fraction of its length, beside the straight line
    (``result``: :func:`minima_analysis`'s dict, or its ``"neb"`` entry); written atomically to
    ``path`` (PNG). None (nothing written) when there was no band."""
    from tnn.results import pyplot, save_figure

    band = result.get("neb", result) if isinstance(result, dict) else None
    if not band or "energies" not in band:
        return None
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(5.5, 3.6))
    arc = np.asarray(band["arc"])
    ax.plot(arc / max(arc[-1], 1e-300), band["energies"], "o-", ms=3, label=f"NEB (barrier {band['barrier']:.3g})")
    ax.plot(band["line_alphas"], band["line_energies"], "--", label=f"straight line (barrier {band['line_barrier']:.3g})")
    ax.set_xlabel("fraction of path length (spurious minimum -> exact point)")
    ax.set_ylabel("training loss")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return save_figure(fig, path)


def write_minima(result: dict, folder: str | Path, name: str = "minima") -> dict[str, Path]:
    """Write ``<folder>/<name>.json`` and the NEB figure ``<folder>/<name>_neb.png`` (atomic)."""
    from tnn import results as tres

    folder = Path(folder)
    out = {"json": tres.write_json(folder / f"{name}.json", result)}
    fig = plot_neb(result, folder / f"{name}_neb.png")
    if fig is not None:
        out["figure"] = fig
    return out
