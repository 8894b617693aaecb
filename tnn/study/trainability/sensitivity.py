r"""Sensitivity to initialization: success rate of trained ensembles against init noise around the exact solution.

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
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from tnn import _checks

__all__ = ["DEFAULT_SIGMAS", "init_conditions", "init_sensitivity", "write_sensitivity"]

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
    from tnn.study.probes import params_fit
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


def write_sensitivity(results: Mapping[str, dict], folder: str | Path, name: str = "init_sensitivity") -> dict[str, Path]:
    """Write ``<folder>/<name>.json`` and the success-rate-vs-sigma figure ``<folder>/<name>.png``
    for ``results``: model -> :func:`init_sensitivity`."""
    from tnn import results as tres
    from tnn.results import pyplot, save_figure

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
