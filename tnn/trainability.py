r"""Sensitivity to initialization and gradient variance at initialization.

:func:`init_sensitivity` trains an ensemble (one member per seed, :func:`tnn.train.fit`, members
under ``vmap``) from each initialization condition:

* topo: ``init="exact"`` (sigma = 0), ``init="exact_noise"`` with noise ``sigma`` on every
  parameter for each sigma of a grid (default ``1e-3 .. 1``, log-spaced), and ``init="random"``;
* baselines (mlp, cnn, resnet, symmetric): their default (Flax) initialization, for comparison.

A member *ends at the invariant* when its accuracy is at least ``threshold`` (0.99) on every
out-of-distribution set given (e.g. a held-out chain length and bond disorder). Per condition:
the success rate, each member's final training loss and OOD accuracies, and the steps to reach
``threshold`` validation accuracy (first epoch where it is reached times the steps per epoch;
None if never).

:func:`gradient_variance` measures, for chains of each length ``L``, the variance over random
initializations of each loss-gradient component, averaged over components (the quantity of the
barren-plateau analysis of McClean et al., Nat. Commun. 9, 4812 (2018)), and fits
``Var ~ L^(-alpha)`` (and ``Var ~ exp(-L / xi)``) by least squares in log space.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import jax
import jax.numpy as jnp

from tnn import _checks

__all__ = ["DEFAULT_SIGMAS", "init_conditions", "init_sensitivity", "gradient_variance", "write_sensitivity",
           "write_gradient_variance"]

#: the default init-noise grid around topo's exact solution
DEFAULT_SIGMAS = (1e-3, 3e-3, 1e-2, 3e-2, 1e-1, 3e-1, 1.0)


def _check_sigmas(sigmas) -> tuple[float, ...]:
    return _checks.check_reals("sigmas", sigmas, 0.0)


def init_conditions(model_config, sigmas=DEFAULT_SIGMAS, random: bool = True) -> list[tuple[str, Any]]:
    """``[(label, ModelConfig)]``: topo -> exact-plus-noise for each sigma (sigma = 0: exact) and
    random; baselines -> their default init."""
    from tnn.models import ModelConfig

    if not isinstance(model_config, ModelConfig):
        raise ValueError(f"Argument `model_config` must be a tnn.models.ModelConfig, got {type(model_config).__name__}.")
    sig = _check_sigmas(sigmas)
    if model_config.name != "topo":
        return [("default", dataclasses.replace(model_config, init="default").validate())]
    out = []
    for s in sig:
        if s == 0:
            out.append(("sigma=0", dataclasses.replace(model_config, init="exact", noise=0.0).validate()))
        else:
            out.append((f"sigma={s:g}", dataclasses.replace(model_config, init="exact_noise", noise=s).validate()))
    if random:
        out.append(("random", dataclasses.replace(model_config, init="random").validate()))
    return out


def init_sensitivity(model_config, lat, train_data, val_data, ood: Mapping[str, tuple], train_config, *,
                     sigmas: Sequence[float] = DEFAULT_SIGMAS, random: bool = True, threshold: float = 0.99,
                     progress: bool = False) -> dict[str, Any]:
    """Train one ensemble per init condition and measure how often it ends at the invariant.

    Args:
      model_config: the model (its ``init`` is replaced per condition).
      lat: the training lattice.
      train_data, val_data: ``(x, y)`` in memory (features, invariant values).
      ood: ``{name: (x, y, lat)}`` out-of-distribution test sets (each on its own lattice).
      train_config: a :class:`tnn.train.TrainConfig`; one member per seed of ``seeds``.
      sigmas: init-noise scales around the exact solution (topo; each ``>= 0``).
      random: also the fully random init (topo).
      threshold: accuracy counted as "at the invariant" (every OOD set) and for the steps.

    Returns:
      ``{"conditions": [...], "threshold", "seeds", "steps_per_epoch"}``; each condition a dict
      ``label``, ``sigma`` (None for random/default), ``success_rate``, ``success`` (per seed),
      ``final_loss``, ``final_val_acc``, ``steps_to_threshold``, ``ood_acc`` (name -> per seed).
    """
    from tqdm.auto import tqdm

    from tnn.models import make_model
    from tnn.probes import params_fit
    from tnn.train import evaluate, fit

    threshold = _checks.check_real("threshold", threshold, 0, 1, lo_open=True)
    conds = init_conditions(model_config, sigmas, random)
    tcfg = train_config.validate()
    out: dict[str, Any] = {"model": model_config.name, "threshold": threshold, "seeds": list(tcfg.seeds),
                           "conditions": []}
    for label, mcfg in tqdm(conds, desc=f"init sensitivity {model_config.name}", disable=not progress):
        model = make_model(mcfg, lat)
        res = fit(model, tcfg, train_data, val_data)
        spe = None
        n_train = len(np.asarray(train_data[1]))
        spe = n_train // tcfg.batch_size
        rows = res.history
        cond: dict[str, Any] = {"label": label, "sigma": None if mcfg.init in ("random", "default") else float(mcfg.noise),
                                "init": mcfg.init, "final_loss": [], "final_val_acc": [], "steps_to_threshold": [],
                                "ood_acc": {k: [] for k in ood}, "success": []}
        for i, s in enumerate(res.seeds):
            mine = [r for r in rows if r["seed"] == s]
            cond["final_loss"].append(mine[-1]["train_loss"] if mine else float("nan"))
            cond["final_val_acc"].append(mine[-1].get("val_acc") if mine else None)
            hit = [r["epoch"] for r in mine if (r.get("val_acc") or 0.0) >= threshold]
            cond["steps_to_threshold"].append(hit[0] * spe if hit else None)
            p = res.member(i)
            ok = True
            for name, (ox, oy, olat) in ood.items():
                om = model if olat == lat else make_model(mcfg, olat)
                # parameters tied to the input size (the MLP on another chain length): no accuracy
                acc = evaluate(om, p, (ox, oy))["acc"] if om is model or params_fit(om, p, ox) else None
                cond["ood_acc"][name].append(acc)
                ok = ok and acc is not None and acc >= threshold
            cond["success"].append(bool(ok))
        cond["success_rate"] = float(np.mean(cond["success"]))
        out["conditions"].append(cond)
    out["steps_per_epoch"] = spe
    return out


def _fit_line(x, y):
    A = np.stack([x, np.ones_like(x)], axis=1)
    coef, *_ = np.linalg.lstsq(A, y, rcond=None)
    pred = A @ coef
    ss = np.sum((y - y.mean()) ** 2)
    return float(coef[0]), float(coef[1]), float(1 - np.sum((y - pred) ** 2) / ss) if ss > 0 else float("nan")


def gradient_variance(model_config, lengths: Sequence[int], *, n_inits: int = 16, n_samples: int = 64, seed: int = 0,
                      progress: bool = False) -> dict[str, Any]:
    r"""Variance of the loss gradient at initialization against chain length ``L``.

    For each ``L``: ``n_samples`` SSH chains (:func:`tnn.data.preset` ``"ssh"`` restricted to
    ``model_config.classes``, seed ``seed``; samples without a certified label dropped, and
    ``ValueError`` if fewer than two remain at some ``L``), ``n_inits`` initializations
    (keys ``0 .. n_inits - 1``; topo: its ``init`` as configured, use ``"random"``), the gradient of
    the training loss on the whole batch for each, and ``Var_init[dL/dtheta_k]`` averaged over ``k``.

    Returns:
      dict: ``lengths``, ``variance`` ``(n_L,)``, ``grad_norm`` (mean squared norm), ``n_certified``
      (the samples used at each ``L``), and the fits
      ``alpha`` (``Var ~ L^-alpha``), ``alpha_r2``, ``xi`` (``Var ~ exp(-L/xi)``, inf if it grows),
      ``xi_r2``.
    """
    from tqdm.auto import tqdm

    from tnn import data
    from tnn.lattice import chain
    from tnn.models import make_model
    from tnn.train import encode_labels, make_loss
    from tnn.train.loaders import feature_fields

    Ls = list(_checks.check_ints("lengths", lengths, 8, min_length=2))
    n_inits = _checks.check_int("n_inits", n_inits, 2)
    n_samples = _checks.check_int("n_samples", n_samples, 2)
    feature = model_config.resolved_input()
    fields = feature_fields(model_config)
    var, gn, n_cert = [], [], []
    for L in tqdm(Ls, desc=f"grad variance {model_config.name}", disable=not progress):
        spec = data.preset("ssh", size=L, n=n_samples, seed=seed, classes=tuple(model_config.classes),
                           features=("wavefunctions", "hamiltonian") if feature in ("wavefunctions", "hamiltonian") else (feature,),
                           chunk_size=n_samples, shard_size=n_samples)
        arr = data.compute_samples(spec, 0, n_samples)
        keep = ~arr["ill_defined"].astype(bool)
        if keep.sum() < 2:
            # Short chains rarely carry a certified label (tnn.validity: their correlations reach the
            # boundary); a gradient over fewer than two samples would be meaningless (or 0 for none).
            raise ValueError(f"Argument `lengths`: only {int(keep.sum())} of {n_samples} SSH chains of {L} cells have a "
                             "certified label (tnn.validity); use longer chains or more samples (`n_samples`).")
        n_cert.append(int(keep.sum()))
        feats = {f: arr[f][keep] for f in fields}
        model = make_model(model_config, chain(L))
        x = model.prepare(feats)
        t = jnp.asarray(encode_labels(model.config, arr["label"][keep]))
        x1 = jax.tree_util.tree_map(lambda a: a[:1], x)
        stacked = jax.tree_util.tree_map(lambda *a: jnp.stack(a), *[model.init(jax.random.key(s), x1) for s in range(n_inits)])
        g = jax.jit(jax.vmap(jax.grad(make_loss(model)), in_axes=(0, None, None)))(stacked, x, t)
        flat = jnp.concatenate([a.reshape(n_inits, -1) for a in jax.tree_util.tree_leaves(g)], axis=1)
        flat = np.asarray(flat)
        var.append(float(flat.var(axis=0, ddof=1).mean()))
        gn.append(float((flat**2).sum(axis=1).mean()))
    Ls_a, v = np.asarray(Ls, float), np.asarray(var)
    slope, _, r2 = _fit_line(np.log(Ls_a), np.log(v))
    eslope, _, er2 = _fit_line(Ls_a, np.log(v))
    return {"model": model_config.name, "init": model_config.init, "lengths": Ls, "variance": v, "grad_norm": np.asarray(gn),
            "alpha": -slope, "alpha_r2": r2, "xi": float(-1 / eslope) if eslope < 0 else float("inf"), "xi_r2": er2,
            "n_inits": int(n_inits), "n_samples": int(n_samples), "n_certified": n_cert, "seed": int(seed)}


def write_sensitivity(results: Mapping[str, dict], folder: str | Path, name: str = "init_sensitivity") -> dict[str, Path]:
    """Write ``<folder>/<name>.json`` and the success-rate-vs-sigma figure ``<folder>/<name>.png``
    for ``results``: model -> :func:`init_sensitivity`."""
    from tnn import results as tres
    from tnn._plots import pyplot, save_figure

    plt = pyplot()
    folder = Path(folder)
    jpath = tres.write_json(folder / f"{name}.json", dict(results))
    fig, ax = plt.subplots(1, 2, figsize=(11, 3.8))
    for m, r in results.items():
        sig = [(c["sigma"], c) for c in r["conditions"] if c["sigma"] is not None]
        if sig:
            xs = [max(s, 1e-4) for s, _ in sig]
            ax[0].semilogx(xs, [c["success_rate"] for _, c in sig], "o-", label=f"{m} (exact + noise)")
            ax[1].loglog(xs, [np.nanmean(np.asarray(c["final_loss"], float)) for _, c in sig], "o-", label=m)
        for c in r["conditions"]:
            if c["sigma"] is None:
                ax[0].axhline(c["success_rate"], ls="--", lw=1, label=f"{m} ({c['label']} init)", color=None)
    ax[0].set_xlabel("init noise sigma (0 plotted at 1e-4)")
    ax[0].set_ylabel(f"fraction at the invariant (OOD acc >= {next(iter(results.values()))['threshold'] if results else 0.99})")
    ax[0].set_ylim(-0.05, 1.05)
    ax[0].legend(fontsize=7)
    ax[1].set_xlabel("init noise sigma")
    ax[1].set_ylabel("final training loss (mean over seeds)")
    fig.tight_layout()
    return {"json": jpath, "figure": save_figure(fig, folder / f"{name}.png")}


def write_gradient_variance(results: Mapping[str, dict], folder: str | Path, name: str = "gradient_variance") -> dict[str, Path]:
    """Write ``<folder>/<name>.json`` and ``<folder>/<name>.png`` (variance against L, log-log, with
    the fitted power law) for ``results``: model -> :func:`gradient_variance`."""
    from tnn import results as tres
    from tnn._plots import pyplot, save_figure

    plt = pyplot()
    folder = Path(folder)
    jpath = tres.write_json(folder / f"{name}.json", dict(results))
    fig, ax = plt.subplots(figsize=(5.5, 3.8))
    for m, r in results.items():
        L = np.asarray(r["lengths"], float)
        line = ax.loglog(L, r["variance"], "o", label=f"{m}: alpha = {r['alpha']:.2f} (R2 {r['alpha_r2']:.2f})")
        c = np.exp(np.mean(np.log(r["variance"]) + r["alpha"] * np.log(L)))
        ax.loglog(L, c * L ** (-r["alpha"]), "-", lw=0.8, color=line[0].get_color())
    ax.set_xlabel("chain length L (cells)")
    ax.set_ylabel("Var_init[dL/dtheta] (mean over parameters)")
    ax.legend(fontsize=7)
    fig.tight_layout()
    return {"json": jpath, "figure": save_figure(fig, folder / f"{name}.png")}
