"""The results folder of a fit: ``config.json``, checkpoints (resume), learning curves, reading a run back."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import jax
import jax.numpy as jnp
import optax

from tnn import results as tres
from tnn.models import Model, ModelConfig, make_model
from tnn.train.config import TrainConfig

__all__ = ["config_json", "save_checkpoint", "load_checkpoint", "plot_learning_curves", "load_run"]


def config_json(model: Model, config: TrainConfig, extra: dict) -> dict:
    import tnn

    lat = model.lattice
    return {
        "model": tres.to_jsonable(model.config),
        "train": tres.to_jsonable(config),
        "lattice": None if lat is None else {"kind": lat.kind, "dims": list(lat.dims), "pbc": lat.pbc},
        "seeds": list(config.seeds),
        "versions": {"tnn": tnn.__version__, "jax": jax.__version__, "optax": optax.__version__},
        "x64": bool(jax.config.read("jax_enable_x64")),
        **extra,
    }


def save_checkpoint(path: Path, params, best, opt_state, meta: dict):
    arrays = {}
    for prefix, tree in (("params", params), ("best", best)):
        for k, v in tres.flatten_params(jax.device_get(tree)).items():
            arrays[f"{prefix}/{k}"] = v
    for i, leaf in enumerate(jax.tree_util.tree_leaves(jax.device_get(opt_state))):
        arrays[f"opt/{i:05d}"] = np.asarray(leaf)
    arrays["meta"] = np.frombuffer(json.dumps(tres.to_jsonable(meta)).encode("utf-8"), dtype=np.uint8)
    tres.save_arrays(path, arrays)


def load_checkpoint(path: Path, opt_template):
    arrays = tres.load_arrays(path)
    meta = json.loads(arrays.pop("meta").tobytes().decode("utf-8"))
    params = tres.unflatten_params({k[7:]: v for k, v in arrays.items() if k.startswith("params/")})
    best = tres.unflatten_params({k[5:]: v for k, v in arrays.items() if k.startswith("best/")})
    opt_leaves = [arrays[k] for k in sorted(k for k in arrays if k.startswith("opt/"))]
    tmpl_leaves, treedef = jax.tree_util.tree_flatten(opt_template)
    if len(opt_leaves) != len(tmpl_leaves):
        raise ValueError(f"Argument `resume`: the checkpoint {path} does not match this optimizer.")
    opt_state = jax.tree_util.tree_unflatten(treedef, [jnp.asarray(v) for v in opt_leaves])
    to_j = lambda t: jax.tree_util.tree_map(jnp.asarray, t)  # noqa: E731
    return to_j(params), to_j(best), opt_state, meta


def plot_learning_curves(path: Path, history: list, seeds) -> None:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(9, 3.5))
    FigureCanvasAgg(fig)
    ax_l, ax_a = fig.subplots(1, 2)
    for k, s in enumerate(seeds):
        c = f"C{k % 10}"  # one colour per member; train solid, validation dashed
        rows = [r for r in history if r["seed"] == s]
        ep = [r["epoch"] for r in rows]
        ax_l.plot(ep, [r["train_loss"] for r in rows], "-", color=c, label=f"train (seed {s})")
        if rows and rows[0].get("val_loss") is not None:
            ax_l.plot(ep, [r["val_loss"] for r in rows], "--", color=c, label=f"val (seed {s})")
            ax_a.plot(ep, [r["val_acc"] for r in rows], "--", color=c, label=f"val (seed {s})")
        if rows and rows[0].get("train_acc") is not None:
            ax_a.plot(ep, [r["train_acc"] for r in rows], "-", color=c, label=f"train (seed {s})")
    ax_l.set_xlabel("epoch")
    ax_l.set_ylabel("loss")
    ax_l.set_yscale("log")
    ax_a.set_xlabel("epoch")
    ax_a.set_ylabel("accuracy")
    ax_a.set_ylim(-0.02, 1.02)
    for ax in (ax_l, ax_a):
        ax.grid(alpha=0.3)
        ax.legend(fontsize=6)
    fig.tight_layout()
    tres.save_figure(fig, path)


def load_run(results_dir: str | Path, lat=None):
    """Read a results folder: ``(model, {seed: params}, metrics rows, config dict)``.

    The model is rebuilt from ``config.json`` (on ``lat``, default the saved lattice)."""
    from tnn import lattice as lattice_mod

    d = Path(results_dir)
    cfg = tres.read_json(d / "config.json")
    mcfg = ModelConfig.from_dict(cfg["model"])
    if lat is None and cfg.get("lattice"):
        L = cfg["lattice"]
        lat = getattr(lattice_mod, L["kind"])(*L["dims"], pbc=L["pbc"])
    model = make_model(mcfg, lat)
    params = {s: jax.tree_util.tree_map(jnp.asarray, tres.load_params(d / "params" / f"seed{s}.npz")) for s in cfg["seeds"]}
    return model, params, tres.read_csv(d / "metrics.csv"), cfg
