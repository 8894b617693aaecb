r"""Training: optax, a jitted step, batched evaluation, metrics, early stopping, ensembles, resume.

The library entry point is :func:`fit`::

    model = tnn.models.make_model(ModelConfig("cnn", classes=(0, 1)), lat)
    result = tnn.train.fit(model, TrainConfig(seeds=(0, 1, 2), epochs=10), (features, labels),
                           results_dir="results/cnn")
    result.params          # stacked over seeds: every leaf has a leading axis len(seeds)
    result.member(0)       # the parameters of the first seed
    result.history         # one dict per (seed, epoch), the rows of metrics.csv

Data
----
``train_data`` / ``val_data`` are either **in memory** -- a pair ``(x, y)`` or a mapping with keys
``"x"`` and ``"y"``; ``x`` the dataset features (a mapping such as ``{"hamiltonian": H}``, encoded by
``model.prepare``) or an already encoded input, every leaf with a leading sample axis ``n``; ``y``
``(n,)`` the invariant values -- or **streamed**: a callable ``epoch -> iterable of (x, y)`` batches
(or an object with such a ``batches(epoch)`` method, e.g. a loader over shards on disk). In-memory
data is shuffled per epoch with ``numpy.random.default_rng([seed, epoch])`` (the last incomplete
batch is dropped), so the order depends only on ``(seed, epoch)``; a streamed loader must be
deterministic in ``epoch`` for resume to reproduce a run (:class:`DatasetLoader` streams a
:mod:`tnn.data` dataset from disk; :func:`load_dataset` reads a split into memory). Without
``val_data`` a fraction
``val_fraction`` of in-memory training data is held out (split with ``split_seed``).

Labels are invariant values. ``task="classify"`` maps them to indices of ``model.config.classes``
(a value outside raises ``ValueError`` naming ``y``) and uses softmax cross-entropy;
``task="regress"`` uses the mean squared error to the value.

Ensembles and determinism
-------------------------
Every seed trains one ensemble member: ``jax.random.key(seed)`` initializes it and ``(seed,
epoch)`` orders its data. Members are trained together under ``jax.vmap`` (``ensemble="vmap"``) or
one after the other inside each epoch (``"loop"``); ``"auto"`` picks ``vmap`` when the stacked
batches stay under ``vmap_memory_mb``. State is kept stacked (leading axis = member) either way.

Results folder (``results_dir``, layout in :mod:`tnn.results`) -- written as the run goes:
``config.json`` at the start; ``metrics.csv`` and ``checkpoint.npz`` after every
``checkpoint_every`` epochs (atomic writes); ``params/seed<S>.npz`` and
``figures/learning_curves.png`` at the end. ``fit(..., resume=True)`` on a folder holding a
checkpoint restores parameters, optimizer state, early-stopping state and history and continues
with the next epoch; because the data order depends only on ``(seed, epoch)`` and the same jitted
functions run on the same values, a run killed after any checkpoint and resumed ends with the
same parameters (bitwise) as one that was never interrupted.

Metrics per epoch and member (``metrics.csv`` columns): ``train_loss`` (mean over the epoch's
steps), and for the train and validation sets ``loss``, ``acc``, ``acc_<v>`` per class value ``v``,
``mae`` / ``bias`` / ``rmse`` of the regressed invariant (classification: the expectation
``sum_c p_c v_c``; regression: the output), ``ece`` (expected calibration error of the top-class
confidence, classification only), plus ``lr``, ``time_s`` and ``best`` (the member's best epoch so
far under ``monitor``).
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import json
import math
import time
from pathlib import Path
from typing import Any, Callable, Mapping

import numpy as np
import jax
import jax.numpy as jnp
import optax

from tnn import results as tres
from tnn._checks import is_int as _is_int, seed_tuple
from tnn.models import MODEL_NAMES, Model, ModelConfig, make_model

__all__ = [
    "TrainConfig",
    "FitResult",
    "fit",
    "make_optimizer",
    "make_loss",
    "encode_labels",
    "evaluate",
    "predict",
    "metrics_from_outputs",
    "load_run",
    "load_dataset",
    "dataset_classes",
    "DatasetLoader",
    "register_cli",
    "Interrupted",
]

OPTIMIZERS = ("adam", "adamw", "sgd")
SCHEDULES = ("constant", "cosine", "warmup_cosine", "exponential")
ENSEMBLES = ("auto", "vmap", "loop")
MONITORS = ("val_loss", "val_acc", "train_loss")


def _field_error(field: str, msg: str, value) -> ValueError:
    return ValueError(f"TrainConfig field `{field}` {msg}, got {value!r}.")


def _is_num(v) -> bool:
    return isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, (bool, np.bool_)) and math.isfinite(v)


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """How to train (saved in ``config.json``). :meth:`validate` raises ``ValueError`` naming the field.

    Fields:
      seeds: ensemble seeds, explicit and required (one member per seed; recorded).
      epochs: maximum number of epochs.
      batch_size: training batch size (in-memory data: the last incomplete batch is dropped).
      eval_batch_size: batch size of the (jitted, padded) evaluation.
      optimizer: ``"adam"`` (default), ``"adamw"`` or ``"sgd"`` (with ``momentum``).
      learning_rate: peak learning rate.
      schedule: ``"constant"``, ``"cosine"`` (to 0 at the last step), ``"warmup_cosine"``
        (``warmup_epochs`` linear, then cosine) or ``"exponential"`` (``decay_rate`` over the run).
      warmup_epochs, decay_rate: schedule shape.
      weight_decay: AdamW decoupled weight decay.
      momentum: SGD momentum (0 for plain SGD).
      clip_norm: global gradient-norm clipping threshold (0: no clipping).
      early_stopping: patience in epochs without improvement of ``monitor`` by more than
        ``min_delta`` (0: off). With early stopping the returned params are each member's best.
      min_delta: minimum improvement.
      monitor: ``"val_loss"``, ``"val_acc"`` or ``"train_loss"``.
      val_fraction: held-out fraction of in-memory training data when no ``val_data`` is given.
      split_seed: seed of that split (shared by all members).
      eval_train: also evaluate the full training set each epoch (train_acc etc.).
      checkpoint_every: epochs between checkpoints (the last epoch is always checkpointed).
      ensemble: ``"auto"``, ``"vmap"`` or ``"loop"``.
      vmap_memory_mb: ``"auto"`` uses vmap while (members x one batch of inputs) stays below this.
      ece_bins: bins of the expected calibration error.
    """

    seeds: tuple
    epochs: int = 20
    batch_size: int = 32
    eval_batch_size: int = 256
    optimizer: str = "adam"
    learning_rate: float = 1e-3
    schedule: str = "constant"
    warmup_epochs: int = 0
    decay_rate: float = 0.1
    weight_decay: float = 0.0
    momentum: float = 0.9
    clip_norm: float = 0.0
    early_stopping: int = 0
    min_delta: float = 0.0
    monitor: str = "val_loss"
    val_fraction: float = 0.2
    split_seed: int = 0
    eval_train: bool = True
    checkpoint_every: int = 1
    ensemble: str = "auto"
    vmap_memory_mb: float = 512.0
    ece_bins: int = 10

    def validate(self) -> "TrainConfig":
        seeds = seed_tuple(self.seeds, _field_error)
        for name in ("epochs", "batch_size", "eval_batch_size", "checkpoint_every", "ece_bins"):
            v = getattr(self, name)
            if not _is_int(v) or v < 1:
                raise _field_error(name, "must be an int >= 1", v)
        for name in ("warmup_epochs", "early_stopping", "split_seed"):
            v = getattr(self, name)
            if not _is_int(v) or v < 0:
                raise _field_error(name, "must be an int >= 0", v)
        if self.optimizer not in OPTIMIZERS:
            raise _field_error("optimizer", f"must be one of {OPTIMIZERS}", self.optimizer)
        if self.schedule not in SCHEDULES:
            raise _field_error("schedule", f"must be one of {SCHEDULES}", self.schedule)
        if self.ensemble not in ENSEMBLES:
            raise _field_error("ensemble", f"must be one of {ENSEMBLES}", self.ensemble)
        if self.monitor not in MONITORS:
            raise _field_error("monitor", f"must be one of {MONITORS}", self.monitor)
        if not _is_num(self.learning_rate) or self.learning_rate <= 0:
            raise _field_error("learning_rate", "must be a finite number > 0", self.learning_rate)
        if not _is_num(self.decay_rate) or not 0 < self.decay_rate <= 1:
            raise _field_error("decay_rate", "must be a number in (0, 1]", self.decay_rate)
        for name in ("weight_decay", "clip_norm", "min_delta"):
            v = getattr(self, name)
            if not _is_num(v) or v < 0:
                raise _field_error(name, "must be a finite number >= 0", v)
        if not _is_num(self.momentum) or not 0 <= self.momentum < 1:
            raise _field_error("momentum", "must be a number in [0, 1)", self.momentum)
        if not _is_num(self.val_fraction) or not 0 <= self.val_fraction < 1:
            raise _field_error("val_fraction", "must be a number in [0, 1)", self.val_fraction)
        if not _is_num(self.vmap_memory_mb) or self.vmap_memory_mb <= 0:
            raise _field_error("vmap_memory_mb", "must be a number > 0", self.vmap_memory_mb)
        if not isinstance(self.eval_train, (bool, np.bool_)):
            raise _field_error("eval_train", "must be a bool", self.eval_train)
        if self.schedule == "warmup_cosine" and self.warmup_epochs >= self.epochs:
            raise _field_error("warmup_epochs", f"must be < epochs ({self.epochs}) for warmup_cosine", self.warmup_epochs)
        if self.weight_decay > 0 and self.optimizer != "adamw":
            raise _field_error("weight_decay", "needs optimizer='adamw'", self.weight_decay)
        return dataclasses.replace(self, seeds=tuple(int(s) for s in seeds))

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "TrainConfig":
        names = {f.name for f in dataclasses.fields(cls)}
        bad = sorted(set(d) - names)
        if bad:
            raise ValueError(f"TrainConfig field `{bad[0]}` is not a TrainConfig field (known: {sorted(names)}).")
        return cls(**{k: (tuple(v) if isinstance(v, list) else v) for k, v in d.items()}).validate()


class Interrupted(Exception):
    """Raised by a ``fit`` callback to stop a run after a checkpoint (tests use it as a 'kill')."""


# ------------------------------------------------------------------------------------ optimizer
def make_optimizer(config: TrainConfig, steps_per_epoch: int) -> optax.GradientTransformation:
    """The optax transformation of ``config`` (schedules are functions of the global step)."""
    total = max(1, config.epochs * steps_per_epoch)
    lr = config.learning_rate
    if config.schedule == "constant":
        sched = lr
    elif config.schedule == "cosine":
        sched = optax.cosine_decay_schedule(lr, total)
    elif config.schedule == "warmup_cosine":
        sched = optax.warmup_cosine_decay_schedule(0.0, lr, max(1, config.warmup_epochs * steps_per_epoch), total)
    else:
        sched = optax.exponential_decay(lr, total, config.decay_rate)
    if config.optimizer == "adam":
        opt = optax.adam(sched)
    elif config.optimizer == "adamw":
        opt = optax.adamw(sched, weight_decay=config.weight_decay)
    else:
        opt = optax.sgd(sched, momentum=config.momentum or None)
    if config.clip_norm > 0:
        opt = optax.chain(optax.clip_by_global_norm(config.clip_norm), opt)
    return opt


def _lr_at(config: TrainConfig, steps_per_epoch: int, step: int) -> float:
    total = max(1, config.epochs * steps_per_epoch)
    lr = config.learning_rate
    if config.schedule == "constant":
        return lr
    if config.schedule == "cosine":
        return float(optax.cosine_decay_schedule(lr, total)(step))
    if config.schedule == "warmup_cosine":
        return float(optax.warmup_cosine_decay_schedule(0.0, lr, max(1, config.warmup_epochs * steps_per_epoch), total)(step))
    return float(optax.exponential_decay(lr, total, config.decay_rate)(step))


# ------------------------------------------------------------------------------------ loss
def encode_labels(model_config: ModelConfig, y) -> np.ndarray:
    """Invariant values ``y`` ``(n,)`` -> class indices (classify, int32) or floats (regress).

    Values within 1e-6 of a class value count as that class (labels rounded from real-space
    invariants); anything else raises ``ValueError`` naming ``y``."""
    y = np.asarray(y)
    if y.ndim != 1:
        raise ValueError(f"Argument `y` must have shape (n,), but has shape {y.shape}.")
    if not np.all(np.isfinite(y)):
        raise ValueError("Argument `y` must be finite.")
    if model_config.task == "regress":
        return y.astype(np.float64)
    classes = np.asarray(model_config.classes, dtype=np.float64)
    diff = np.abs(y.astype(np.float64)[:, None] - classes[None, :])
    idx = diff.argmin(axis=1)
    bad = diff[np.arange(len(y)), idx] > 1e-6
    if np.any(bad):
        raise ValueError(
            f"Argument `y` holds values {sorted(set(np.unique(y[bad]).tolist()))} outside the model's classes "
            f"{tuple(model_config.classes)} (ModelConfig field `classes`)."
        )
    return idx.astype(np.int32)


def make_loss(model: Model) -> Callable:
    """``loss(params, x, t) -> scalar``: mean cross-entropy (classify; ``t`` class indices) or mean
    squared error (regress; ``t`` values) of ``model.apply(params, x)``. ``x`` encoded, batched."""
    task = model.config.task

    def loss(params, x, t):
        out = model.apply(params, x)
        if task == "classify":
            return optax.softmax_cross_entropy_with_integer_labels(out, t).mean()
        return jnp.mean((out[:, 0] - t.astype(out.dtype)) ** 2)

    return loss


# ------------------------------------------------------------------------------------ data
@dataclasses.dataclass
class _Memory:
    x: Any  # encoded, leading axis n
    y: np.ndarray  # encoded labels (n,)
    values: np.ndarray  # invariant values (n,)

    @property
    def n(self) -> int:
        return int(self.y.shape[0])


def _take(x, idx):
    return jax.tree_util.tree_map(lambda a: a[idx], x)


def _n_of(x) -> int:
    leaves = jax.tree_util.tree_leaves(x)
    if not leaves:
        raise ValueError("Argument `x` must hold at least one array.")
    n = {int(np.shape(a)[0]) if np.ndim(a) else -1 for a in leaves}
    if len(n) != 1 or -1 in n:
        raise ValueError(f"Argument `x` must have one leading sample axis shared by every array, got sizes {sorted(n)}.")
    return n.pop()


def _split_xy(data, name: str):
    if isinstance(data, Mapping) and "x" in data and "y" in data:
        return data["x"], data["y"]
    if isinstance(data, (tuple, list)) and len(data) == 2:
        return data[0], data[1]
    raise ValueError(f"Argument `{name}` must be (x, y), a mapping with 'x' and 'y', or a batch loader.")


def _is_stream(data) -> bool:
    return callable(data) or hasattr(data, "batches")


def _stream_batches(data, epoch: int):
    return data.batches(epoch) if hasattr(data, "batches") else data(epoch)


def _memory(model: Model, data, name: str) -> _Memory:
    x, y = _split_xy(data, name)
    x = model.prepare(x)
    n = _n_of(x)
    values = np.asarray(y)
    if values.shape != (n,):
        raise ValueError(f"Argument `{name}` labels must have shape ({n},), but have shape {values.shape}.")
    return _Memory(x, encode_labels(model.config, values), values.astype(np.float64))


# ------------------------------------------------------------------------------------ metrics
def _softmax(z):
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def metrics_from_outputs(model_config: ModelConfig, outputs, values, bins: int = 10) -> dict[str, float]:
    """Metrics of outputs ``(n, n_out)`` against invariant values ``(n,)`` (NumPy, float64).

    Keys: ``loss``, ``acc``, ``acc_<v>`` per class value (NaN where the class is absent), ``mae``,
    ``bias``, ``rmse`` of the regressed invariant, and ``ece`` (classification)."""
    out = np.asarray(outputs, dtype=np.float64)
    values = np.asarray(values, dtype=np.float64)
    classes = np.asarray(model_config.classes, dtype=np.float64)
    res: dict[str, float] = {}
    if model_config.task == "classify":
        t = encode_labels(model_config, values)
        p = _softmax(out)
        logp = np.log(np.clip(p, 1e-300, None))
        res["loss"] = float(-logp[np.arange(len(t)), t].mean())
        pred = p.argmax(axis=1)
        reg = p @ classes
        conf = p.max(axis=1)
        correct = pred == t
        edges = np.linspace(0.0, 1.0, bins + 1)
        which = np.clip(np.digitize(conf, edges[1:-1]), 0, bins - 1)
        ece = 0.0
        for b in range(bins):
            sel = which == b
            if sel.any():
                ece += sel.mean() * abs(correct[sel].mean() - conf[sel].mean())
        res["ece"] = float(ece)
    else:
        reg = out[:, 0]
        res["loss"] = float(np.mean((reg - values) ** 2))
        pred = np.abs(reg[:, None] - classes[None, :]).argmin(axis=1)
        t = np.abs(values[:, None] - classes[None, :]).argmin(axis=1)
        correct = pred == t
    res["acc"] = float(correct.mean())
    for k, v in enumerate(model_config.classes):
        sel = t == k
        res[f"acc_{v}"] = float(correct[sel].mean()) if sel.any() else float("nan")
    err = reg - values
    res["mae"] = float(np.abs(err).mean())
    res["bias"] = float(err.mean())
    res["rmse"] = float(np.sqrt((err**2).mean()))
    return res


# ------------------------------------------------------------------------------------ state
def _stack(trees):
    return jax.tree_util.tree_map(lambda *a: jnp.stack(a), *trees)


def _member(tree, i: int):
    return jax.tree_util.tree_map(lambda a: a[i], tree)


def _set_member(tree, i: int, sub):
    return jax.tree_util.tree_map(lambda a, b: a.at[i].set(b), tree, sub)


def _where(mask, new, old):
    def sel(a, b):
        m = mask.reshape(mask.shape + (1,) * (a.ndim - 1))
        return jnp.where(m, a, b)

    return jax.tree_util.tree_map(sel, new, old)


@dataclasses.dataclass
class FitResult:
    """What :func:`fit` returns.

    Attributes:
      model: the model.
      params: stacked parameters, every leaf ``(n_members, ...)`` (each member's best under
        ``monitor`` when early stopping is on, else the last).
      seeds: the member seeds, in order.
      history: list of metric rows (dicts), one per (seed, epoch): the rows of ``metrics.csv``.
      epochs_run: number of completed epochs.
      best_epoch: per member, the epoch of its best ``monitor`` value.
      results_dir: the results folder, or None.
    """

    model: Model
    params: Any
    seeds: tuple
    history: list
    epochs_run: int
    best_epoch: list
    results_dir: Path | None

    def member(self, i: int):
        """Parameters of member ``i`` (unstacked)."""
        return _member(self.params, i)

    def final(self, seed: int | None = None) -> dict:
        """The last metric row of ``seed`` (default: the first member)."""
        seed = self.seeds[0] if seed is None else seed
        rows = [r for r in self.history if r["seed"] == seed]
        return rows[-1] if rows else {}


# ------------------------------------------------------------------------------------ evaluation
def _eval_outputs(apply_batch, params, x, n: int, batch: int):
    """Outputs ``(n, n_out)`` (or ``(S, n, n_out)``) evaluated in padded batches of a fixed size."""
    b = min(batch, n)
    outs = []
    for start in range(0, n, b):
        idx = np.arange(start, start + b)
        valid = idx < n
        idx = np.where(valid, idx, 0)  # pad the last batch: one compilation for every batch
        o = np.asarray(apply_batch(params, _take(x, idx)))
        outs.append(o[..., : int(valid.sum()), :])
    return np.concatenate(outs, axis=-2)


def predict(model: Model, params, x, batch_size: int = 256) -> np.ndarray:
    """``model.apply`` over ``x`` (features or encoded, leading axis ``n``) in jitted batches;
    returns NumPy ``(n, n_out)``. ``params`` of one member."""
    x = model.prepare(x)
    return _eval_outputs(jax.jit(model.apply), params, x, _n_of(x), batch_size)


def evaluate(model: Model, params, data, batch_size: int = 256, bins: int = 10) -> dict[str, float]:
    """Metrics (:func:`metrics_from_outputs`) of one member's ``params`` on ``data`` = ``(x, y)``."""
    mem = _memory(model, data, "data")
    out = _eval_outputs(jax.jit(model.apply), params, mem.x, mem.n, batch_size)
    return metrics_from_outputs(model.config, out, mem.values, bins)


# ------------------------------------------------------------------------------------ fit
def _config_json(model: Model, config: TrainConfig, extra: dict) -> dict:
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


def _save_checkpoint(path: Path, params, best, opt_state, meta: dict):
    arrays = {}
    for prefix, tree in (("params", params), ("best", best)):
        for k, v in tres.flatten_params(jax.device_get(tree)).items():
            arrays[f"{prefix}/{k}"] = v
    for i, leaf in enumerate(jax.tree_util.tree_leaves(jax.device_get(opt_state))):
        arrays[f"opt/{i:05d}"] = np.asarray(leaf)
    arrays["meta"] = np.frombuffer(json.dumps(tres.to_jsonable(meta)).encode("utf-8"), dtype=np.uint8)
    tres.save_arrays(path, arrays)


def _load_checkpoint(path: Path, opt_template):
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


def _plot_learning_curves(path: Path, history: list, seeds) -> None:
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
    buf = __import__("io").BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    tres.atomic_write_bytes(path, buf.getvalue())


_OPT_FIELDS = ("optimizer", "learning_rate", "schedule", "warmup_epochs", "decay_rate", "weight_decay",
               "momentum", "clip_norm", "epochs")


def _opt_key(config: TrainConfig) -> tuple:
    """The fields of ``config`` that the optimizer (hence the compiled step) depends on; fields
    that the chosen optimizer and schedule ignore are normalized so they do not force a recompile."""
    defaults = TrainConfig(seeds=(0,))
    used = {"optimizer", "learning_rate", "schedule", "clip_norm"}
    if config.schedule != "constant":
        used.add("epochs")
    if config.schedule == "warmup_cosine":
        used.add("warmup_epochs")
    if config.schedule == "exponential":
        used.add("decay_rate")
    if config.optimizer == "adamw":
        used.add("weight_decay")
    if config.optimizer == "sgd":
        used.add("momentum")
    return tuple(getattr(config if f in used else defaults, f) for f in _OPT_FIELDS)


@functools.lru_cache(maxsize=16)
def _functions(model: Model, opt_key: tuple, steps_per_epoch: int, use_vmap: bool):
    """Jitted ``(epoch_fn, step_fn, apply_eval)`` for a model and optimizer.

    Cached so that repeated fits of one model (ensembles of runs, resume, sweeps over seeds) do not
    recompile; ``model`` is hashed by identity.
    """
    cfg = TrainConfig(seeds=(0,), **dict(zip(_OPT_FIELDS, opt_key)))
    tx = make_optimizer(cfg, steps_per_epoch)
    grad_fn = jax.value_and_grad(make_loss(model))

    def step(params, opt_state, xb, tb):
        loss, g = grad_fn(params, xb, tb)
        upd, opt_state = tx.update(g, opt_state, params)
        return optax.apply_updates(params, upd), opt_state, loss

    def epoch_mem(params, opt_state, x, t, perm):
        # perm (n_steps, batch): the whole epoch is one scan -> one dispatch per epoch.
        def body(carry, idx):
            p, s = carry
            p, s, loss = step(p, s, _take(x, idx), t[idx])
            return (p, s), loss

        (params, opt_state), losses = jax.lax.scan(body, (params, opt_state), perm)
        return params, opt_state, losses.mean()

    if use_vmap:
        return (
            jax.jit(jax.vmap(epoch_mem, in_axes=(0, 0, None, None, 0))),
            jax.jit(jax.vmap(step, in_axes=(0, 0, None, None))),
            jax.jit(jax.vmap(model.apply, in_axes=(0, None))),
        )
    return jax.jit(epoch_mem), jax.jit(step), jax.jit(model.apply)


def fit(
    model: Model,
    config: TrainConfig,
    train_data,
    val_data=None,
    *,
    results_dir: str | Path | None = None,
    resume: bool = False,
    callback: Callable[[int, list], None] | None = None,
    progress: bool | str = False,
    extra_config: Mapping[str, Any] | None = None,
) -> FitResult:
    """Train one model per seed of ``config.seeds`` on ``train_data``; see the module docstring.

    Args:
      model: a :class:`tnn.models.Model`.
      config: a :class:`TrainConfig` (validated here).
      train_data: in-memory ``(x, y)`` / ``{"x", "y"}``, or a loader ``epoch -> batches``.
      val_data: same forms (in memory), or None (hold out ``val_fraction`` of in-memory data).
      results_dir: folder for config, metrics, checkpoints, params and figures (None: nothing is
        written and resuming is impossible).
      resume: continue from ``results_dir/checkpoint.npz`` if present (the saved configs must equal
        these; otherwise ``ValueError``). Without it an existing checkpoint raises ``ValueError``.
      callback: called as ``callback(epoch, new_rows)`` after each epoch's checkpoint; raising
        :class:`Interrupted` there stops the run cleanly (the checkpoint is on disk).
      progress: show a tqdm progress bar over epochs (a string: its label; it says "resumed at
        epoch k" when a checkpoint was restored).
      extra_config: more JSON-able entries for ``config.json`` (e.g. the dataset description).

    Returns:
      :class:`FitResult`.
    """
    if not isinstance(model, Model):
        raise ValueError(f"Argument `model` must be a tnn.models.Model, got {type(model).__name__}.")
    if not isinstance(config, TrainConfig):
        raise ValueError(f"Argument `config` must be a tnn.train.TrainConfig, got {type(config).__name__}.")
    config = config.validate()
    seeds = config.seeds
    S = len(seeds)

    # ---- data
    stream = _is_stream(train_data)
    if stream:
        if val_data is None and config.monitor != "train_loss" and config.early_stopping:
            raise ValueError("Argument `val_data` must be given for a streamed `train_data` when early stopping monitors validation.")
        first = next(iter(_stream_batches(train_data, 0)))
        fx, fy = _split_xy(first, "train_data")
        sample_x = _take(model.prepare(fx), np.arange(1))
        encode_labels(model.config, np.asarray(fy))
        steps_per_epoch = len(train_data) if hasattr(train_data, "__len__") else None
        if steps_per_epoch is None:
            steps_per_epoch = sum(1 for _ in _stream_batches(train_data, 0))
        train_mem = None
    else:
        train_mem = _memory(model, train_data, "train_data")
        if val_data is None and config.val_fraction > 0:
            n_val = int(round(config.val_fraction * train_mem.n))
            if n_val < 1 or train_mem.n - n_val < config.batch_size:
                raise ValueError(
                    f"Argument `train_data` has {train_mem.n} samples: too few for val_fraction="
                    f"{config.val_fraction} and batch_size={config.batch_size}."
                )
            perm = np.random.default_rng(config.split_seed).permutation(train_mem.n)
            vi, ti = perm[:n_val], perm[n_val:]
            val_mem = _Memory(_take(train_mem.x, vi), train_mem.y[vi], train_mem.values[vi])
            train_mem = _Memory(_take(train_mem.x, ti), train_mem.y[ti], train_mem.values[ti])
        else:
            val_mem = None
        if train_mem.n < config.batch_size:
            raise ValueError(f"TrainConfig field `batch_size` ({config.batch_size}) exceeds the {train_mem.n} training samples.")
        steps_per_epoch = train_mem.n // config.batch_size
        sample_x = _take(train_mem.x, np.arange(1))
    if stream or val_data is not None:
        val_mem = _memory(model, val_data, "val_data") if val_data is not None else None
    if val_mem is None and config.monitor != "train_loss" and config.early_stopping:
        raise ValueError("TrainConfig field `monitor` needs validation data; use monitor='train_loss' or give val_data.")

    # ---- optimizer, functions (compiled once per model and optimizer, reused by later fits)
    tx = make_optimizer(config, steps_per_epoch)
    if config.ensemble == "auto":
        nbytes = sum(np.asarray(a).nbytes for a in jax.tree_util.tree_leaves(sample_x)) * config.batch_size
        use_vmap = S > 1 and S * nbytes * 8 < config.vmap_memory_mb * 2**20
    else:
        use_vmap = config.ensemble == "vmap"
    epoch_fn, step_fn, apply_eval = _functions(model, _opt_key(config), steps_per_epoch, use_vmap)

    # ---- state
    params = _stack([model.init(jax.random.key(s), sample_x) for s in seeds])
    opt_state = _stack([tx.init(_member(params, i)) for i in range(S)])
    best = params
    best_value = [math.inf] * S
    best_epoch = [0] * S
    bad = [0] * S
    active = [True] * S
    history: list[dict] = []
    start_epoch = 0

    out_dir = None
    cfg_json = _config_json(
        model, config, {"n_train": None if stream else train_mem.n, "n_val": None if val_mem is None else val_mem.n,
                        "steps_per_epoch": steps_per_epoch, "ensemble_mode": "vmap" if use_vmap else "loop",
                        **(dict(extra_config) if extra_config else {})}
    )
    if results_dir is not None:
        out_dir = Path(results_dir)
        ckpt = out_dir / "checkpoint.npz"
        if ckpt.exists():
            if not resume:
                raise ValueError(f"Argument `results_dir` ({out_dir}) already holds a checkpoint; pass resume=True or a new folder.")
            saved = tres.read_json(out_dir / "config.json")
            for key in ("model", "train", "lattice"):
                if saved.get(key) != tres.to_jsonable(cfg_json[key]):
                    diff = [k for k in (saved.get(key) or {}) if (saved.get(key) or {}).get(k) != tres.to_jsonable(cfg_json[key] or {}).get(k)]
                    raise ValueError(f"Argument `resume`: the {key} config differs from the saved run in {out_dir} (fields {diff}).")
            params, best, opt_state, meta = _load_checkpoint(ckpt, opt_state)
            start_epoch = int(meta["epoch"])
            best_value = [math.inf if v is None else float(v) for v in meta["best_value"]]
            best_epoch, bad, active, history = meta["best_epoch"], meta["bad"], meta["active"], meta["history"]
        else:
            tres.results_dir(out_dir)
            tres.write_json(out_dir / "config.json", cfg_json)

    # ---- loop
    bar = None
    if progress:
        from tqdm.auto import tqdm

        desc = progress if isinstance(progress, str) else f"train {model.name}"
        if start_epoch:
            desc += f" (resumed at epoch {start_epoch})"
        bar = tqdm(total=config.epochs, initial=start_epoch, desc=desc, unit="epoch")
    epoch = start_epoch
    try:
        for epoch in range(start_epoch + 1, config.epochs + 1):
            if not any(active):  # a resumed run that had already stopped early
                epoch -= 1
                break
            t0 = time.perf_counter()
            act = jnp.asarray(np.array(active))
            if stream:
                losses = []
                for xb, yb in _stream_batches(train_data, epoch - 1):
                    xb = model.prepare(xb)
                    tb = jnp.asarray(encode_labels(model.config, np.asarray(yb)))
                    if use_vmap:
                        new_p, new_s, l_ = step_fn(params, opt_state, xb, tb)
                        params, opt_state = _where(act, new_p, params), _where(act, new_s, opt_state)
                        losses.append(np.asarray(l_))
                    else:
                        ls = []
                        for i in range(S):
                            if active[i]:
                                p_i, s_i, l_ = step_fn(_member(params, i), _member(opt_state, i), xb, tb)
                                params, opt_state = _set_member(params, i, p_i), _set_member(opt_state, i, s_i)
                                ls.append(float(l_))
                            else:
                                ls.append(float("nan"))
                        losses.append(np.asarray(ls))
                train_loss = np.mean(np.stack(losses), axis=0)
            else:
                n_use = steps_per_epoch * config.batch_size
                perms = np.stack(
                    [np.random.default_rng([s, epoch]).permutation(train_mem.n)[:n_use].reshape(steps_per_epoch, -1) for s in seeds]
                )
                y_dev = jnp.asarray(train_mem.y)
                if use_vmap:
                    new_p, new_s, l_ = epoch_fn(params, opt_state, train_mem.x, y_dev, jnp.asarray(perms))
                    params, opt_state = _where(act, new_p, params), _where(act, new_s, opt_state)
                    train_loss = np.asarray(l_)
                else:
                    train_loss = np.full(S, np.nan)
                    for i in range(S):
                        if active[i]:
                            p_i, s_i, l_ = epoch_fn(_member(params, i), _member(opt_state, i), train_mem.x, y_dev, jnp.asarray(perms[i]))
                            params, opt_state = _set_member(params, i, p_i), _set_member(opt_state, i, s_i)
                            train_loss[i] = float(l_)

            # ---- evaluation
            def outputs_of(mem):
                if use_vmap:
                    return _eval_outputs(apply_eval, params, mem.x, mem.n, config.eval_batch_size)
                return np.stack([_eval_outputs(apply_eval, _member(params, i), mem.x, mem.n, config.eval_batch_size) for i in range(S)])

            val_out = outputs_of(val_mem) if val_mem is not None else None
            tr_out = outputs_of(train_mem) if (config.eval_train and train_mem is not None) else None
            lr = _lr_at(config, steps_per_epoch, (epoch - 1) * steps_per_epoch)
            new_rows = []
            improved = [False] * S
            for i, s in enumerate(seeds):
                if not active[i]:
                    continue
                row: dict[str, Any] = {"seed": s, "epoch": epoch, "lr": lr, "train_loss": float(train_loss[i])}
                if tr_out is not None:
                    for k, v in metrics_from_outputs(model.config, tr_out[i], train_mem.values, config.ece_bins).items():
                        row[f"train_{k}"] = v
                if val_out is not None:
                    for k, v in metrics_from_outputs(model.config, val_out[i], val_mem.values, config.ece_bins).items():
                        row[f"val_{k}"] = v
                mon = row.get(config.monitor if config.monitor != "train_loss" else "train_loss")
                if mon is None:
                    mon = row["train_loss"]
                score = -mon if config.monitor == "val_acc" else mon
                if score < best_value[i] - config.min_delta:
                    best_value[i], best_epoch[i], bad[i] = score, epoch, 0
                    improved[i] = True
                else:
                    bad[i] += 1
                    if config.early_stopping and bad[i] >= config.early_stopping:
                        active[i] = False
                row["best"] = best_epoch[i]
                row["time_s"] = time.perf_counter() - t0
                new_rows.append(row)
            if any(improved):
                best = _where(jnp.asarray(np.array(improved)), params, best)
            history.extend(new_rows)

            if bar is not None:
                last = new_rows[0] if new_rows else {}
                bar.set_postfix({k: f"{last[k]:.3g}" for k in ("train_loss", "val_loss", "val_acc") if last.get(k) is not None})
                bar.update(1)
            if out_dir is not None and (epoch % config.checkpoint_every == 0 or epoch == config.epochs or not any(active)):
                tres.write_csv(out_dir / "metrics.csv", history)
                meta = {"epoch": epoch, "best_value": [None if math.isinf(v) else v for v in best_value],
                        "best_epoch": best_epoch, "bad": bad, "active": active, "history": history}
                _save_checkpoint(out_dir / "checkpoint.npz", params, best, opt_state, meta)
            if callback is not None:
                callback(epoch, new_rows)
            if not any(active):
                break
    finally:
        if bar is not None:
            bar.close()

    final = best if config.early_stopping else params
    if out_dir is not None:
        for i, s in enumerate(seeds):
            tres.save_params(out_dir / "params" / f"seed{s}.npz", jax.device_get(_member(final, i)))
        tres.write_csv(out_dir / "metrics.csv", history)
        if history:
            _plot_learning_curves(out_dir / "figures" / "learning_curves.png", history, seeds)
    return FitResult(model, final, seeds, history, epoch if history else start_epoch, list(best_epoch), out_dir)


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


# ------------------------------------------------------------------------------------ CLI
def register_cli(subparsers) -> None:
    """Add ``tnn train`` to the ``tnn`` command (see :mod:`tnn.cli`)."""
    p = subparsers.add_parser(
        "train",
        help="train a model (ensemble over seeds) on a dataset",
        description="Train a model on a dataset written by `tnn data`; results go to --out.",
    )
    p.add_argument("--model", required=True, choices=MODEL_NAMES, help="architecture (topo: the exact tensor-neural "
                   "invariant; the others are baselines)")
    p.add_argument("--data", required=True, help="dataset folder written by `tnn data generate`: trains on its train "
                   "split, validates on its val split, reports its test split")
    p.add_argument("--val-data", default=None, help="validation dataset folder, all of it (default: the dataset's val split)")
    p.add_argument("--seeds", type=int, nargs="+", required=True, help="one ensemble member per seed (init and data order)")
    p.add_argument("--out", default=None, help="results folder (default results/train/<model>)")
    p.add_argument("--resume", action="store_true", help="continue from the checkpoint in --out (same configs)")
    p.add_argument("--epochs", type=int, default=20, help="training epochs (default 20)")
    p.add_argument("--batch-size", type=int, default=32, help="samples per step (default 32)")
    p.add_argument("--lr", type=float, default=1e-3, help="learning rate, peak for the schedules (default 1e-3)")
    p.add_argument("--optimizer", default="adam", choices=OPTIMIZERS, help="optax optimizer (default adam)")
    p.add_argument("--schedule", default="constant", choices=SCHEDULES, help="learning-rate schedule (default constant)")
    p.add_argument("--clip-norm", type=float, default=0.0, help="clip gradients to this global norm (0: off)")
    p.add_argument("--early-stopping", type=int, default=0, help="patience in epochs on val_loss (0: off)")
    p.add_argument("--val-fraction", type=float, default=0.2, help="held out of train when there is no val split")
    p.add_argument("--task", default="classify", choices=("classify", "regress"),
                   help="classify the invariant's value (cross-entropy) or regress it (squared error)")
    p.add_argument("--classes", type=int, nargs="+", default=None, help="invariant values (default: the dataset's)")
    p.add_argument("--input", default="auto", help="dataset feature the model reads: hamiltonian, projector, density, "
                   "hoppings, wavefunctions (default auto: wavefunctions for topo, hamiltonian otherwise)")
    p.add_argument("--encoding", default="auto", help="how a baseline sees its input: flat, cells or chiral "
                   "(default auto: flat for mlp, chiral for symmetric on chains, cells otherwise)")
    p.add_argument("--width", type=int, default=32, help="baselines: hidden units / channels (default 32)")
    p.add_argument("--depth", type=int, default=2, help="baselines: hidden layers / blocks (default 2)")
    p.add_argument("--channels", type=int, default=2, help="topo: tensor-network channels K (default 2)")
    p.add_argument("--init", default="default", help="topo: exact (the invariant's tensors) | random | exact_noise")
    p.add_argument("--init-scale", type=float, default=1.0, help="topo random: standard deviation of the initial tensors (default 1)")
    p.add_argument("--noise", type=float, default=0.0, help="topo exact_noise: standard deviation of the noise added to every exact parameter")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=_cli_train)


def _feature_fields(model_config: ModelConfig) -> tuple[str, ...]:
    src = model_config.resolved_input()
    return ("wavefunctions", "energies") if src == "wavefunctions" else (src,)


def load_dataset(path, model_config: ModelConfig, split: str = "train", drop_ill_defined: bool = True):
    """Read split ``split`` of a :mod:`tnn.data` dataset for a model: ``(x, y, lat, info)``.

    ``x`` holds the arrays of the model's input feature (``wavefunctions`` with ``energies`` for
    topo), ``y`` the ``label`` array (invariant values). Samples flagged ``ill_defined`` (gapless,
    NaN invariant, broken chiral symmetry, or an invalid class; see :mod:`tnn.data`) are dropped
    unless ``drop_ill_defined=False``; ``info`` records the dataset, its spec digest and the counts.
    ``path`` may also be an open :class:`tnn.data.Dataset`.
    """
    from tnn import data as data_mod

    ds = path if isinstance(path, data_mod.Dataset) else data_mod.open_dataset(path)
    fields = _feature_fields(model_config)
    missing = [f for f in fields if f not in ds.arrays]
    if missing:
        raise ValueError(
            f"Argument `path`: dataset {ds.path} stores no {missing[0]!r} (it has {sorted(ds.arrays)}); "
            f"ModelConfig field `input` is {model_config.resolved_input()!r}."
        )
    arrs = ds.load(split, fields + ("label", "ill_defined"))
    keep = ~arrs["ill_defined"].astype(bool) if drop_ill_defined else np.ones(len(arrs["label"]), bool)
    x = {f: arrs[f][keep] for f in fields}
    y = arrs["label"][keep]
    info = {"path": str(ds.path), "split": split, "spec": ds.spec.name, "model": ds.spec.model,
            "size": list(ds.spec.size), "pbc": ds.spec.pbc, "digest": ds.spec.digest(),
            "n": int(keep.sum()), "dropped_ill_defined": int((~keep).sum())}
    return x, y, ds.spec.lattice(), info


class DatasetLoader:
    """Stream a :mod:`tnn.data` split into :func:`fit` without loading it into memory.

    ``batches(epoch)`` yields ``(x, y)``: ``x`` the model's input feature(s), ``y`` the labels, in
    the order of ``Dataset.batches(split, batch_size, seed, epoch)`` (a function of ``(seed,
    epoch)`` only, so resume reproduces it). Samples flagged ``ill_defined`` are dropped and the
    rest re-batched, so every batch has exactly ``batch_size`` samples (one compilation); the last
    incomplete batch is dropped. ``len(loader)`` is the number of batches per epoch.
    """

    def __init__(self, path, model_config: ModelConfig, split: str = "train", batch_size: int = 32, seed: int = 0,
                 drop_ill_defined: bool = True):
        from tnn import data as data_mod

        self.ds = path if isinstance(path, data_mod.Dataset) else data_mod.open_dataset(path)
        self.fields = _feature_fields(model_config)
        missing = [f for f in self.fields if f not in self.ds.arrays]
        if missing:
            raise ValueError(f"Argument `path`: dataset {self.ds.path} stores no {missing[0]!r}.")
        if not _is_int(batch_size) or batch_size < 1:
            raise ValueError(f"Argument `batch_size` must be a positive int, got {batch_size!r}.")
        self.split, self.batch_size, self.seed, self.drop = split, int(batch_size), int(seed), drop_ill_defined
        self.lattice = self.ds.spec.lattice()
        n = self.ds.n_split(split)
        if drop_ill_defined:
            n -= int(self.ds.load(split, ("ill_defined",))["ill_defined"].astype(bool).sum())
        self.n_valid = n

    def __len__(self) -> int:
        return self.n_valid // self.batch_size

    def batches(self, epoch: int):
        names = self.fields + ("label",)
        buf: dict[str, list] = {f: [] for f in names}
        have = 0
        for b in self.ds.batches(self.split, self.batch_size, seed=self.seed, epoch=epoch,
                                 fields=names + ("ill_defined",)):
            keep = ~b["ill_defined"].astype(bool) if self.drop else np.ones(len(b["label"]), bool)
            for f in names:
                buf[f].append(b[f][keep])
            have += int(keep.sum())
            while have >= self.batch_size:
                cat = {f: np.concatenate(v) for f, v in buf.items()}
                out = {f: a[: self.batch_size] for f, a in cat.items()}
                buf = {f: [a[self.batch_size :]] for f, a in cat.items()}
                have -= self.batch_size
                yield {f: out[f] for f in self.fields}, out["label"]


def dataset_classes(path) -> tuple[int, ...]:
    """The class values of a dataset: its spec's ``classes``, else every class the model can have."""
    from tnn import data as data_mod

    ds = path if isinstance(path, data_mod.Dataset) else data_mod.open_dataset(path)
    if ds.spec.classes is not None:
        return tuple(int(c) for c in ds.spec.classes)
    return tuple(data_mod.spec.default_classes(ds.spec.model, ds.spec.ranges))


def _cli_train(args: argparse.Namespace) -> int:
    import tnn
    from tnn import data as data_mod

    tnn.enable_x64()
    ds = data_mod.open_dataset(args.data)
    classes = tuple(args.classes) if args.classes else dataset_classes(ds)
    mcfg = ModelConfig(
        args.model, task=args.task, classes=classes, input=args.input, encoding=args.encoding,
        width=args.width, depth=args.depth, channels=args.channels, init=args.init,
        init_scale=args.init_scale, noise=args.noise,
    ).validate()
    src = mcfg.resolved_input()
    if src not in ds.arrays:
        raise ValueError(
            f"dataset {ds.path} stores no {src!r} feature, which --model {args.model} reads (it stores "
            f"{', '.join(ds.spec.features) or 'none'}); pass --input with "
            f"a stored feature or generate the dataset with --features including {src}."
        )
    x, y, lat, info = load_dataset(ds, mcfg, "train")
    val = None
    if args.val_data or ds.n_split("val") > 0:
        vx, vy, _, vinfo = load_dataset(args.val_data or ds, mcfg, "val" if not args.val_data else "all")
        val = (vx, vy) if len(vy) else None
    tcfg = TrainConfig(
        seeds=tuple(args.seeds), epochs=args.epochs, batch_size=args.batch_size, learning_rate=args.lr,
        optimizer=args.optimizer, schedule=args.schedule, clip_norm=args.clip_norm,
        early_stopping=args.early_stopping, val_fraction=0.0 if val is not None else args.val_fraction,
    )
    model = make_model(mcfg, lat)
    out = args.out or f"results/train/{args.model}"
    res = fit(model, tcfg, (x, y), val, results_dir=out, resume=args.resume, progress=not args.no_progress,
              extra_config={"data": info})
    test = None
    if ds.n_split("test") > 0:
        tx, ty, _, tinfo = load_dataset(ds, mcfg, "test")
        if len(ty):
            test = {"n": tinfo["n"], "dropped_ill_defined": tinfo["dropped_ill_defined"],
                    "seeds": {str(s): evaluate(model, res.member(i), (tx, ty)) for i, s in enumerate(res.seeds)}}
            tres.write_json(Path(out) / "test.json", test)
    for i, s in enumerate(res.seeds):
        r = res.final(s)
        acc = r.get("val_acc", r.get("train_acc"))
        line = (f"seed {s}: {r.get('epoch')} epochs, train_loss {r.get('train_loss'):.4g}, "
                f"{'val' if 'val_acc' in r else 'train'}_acc {'n/a' if acc is None else f'{acc:.4f}'}")
        if test is not None:
            m = test["seeds"][str(s)]
            line += f", test_acc {m['acc']:.4f}" if "acc" in m else f", test_mae {m['mae']:.4g}"
        print(line)
    if test is not None:
        print(f"test split: {test['n']} gapped samples ({test['dropped_ill_defined']} ill-defined left out) "
              f"-> {Path(out) / 'test.json'}")
    else:
        print("test split: empty (no test metrics)")
    print(f"results in {res.results_dir}")
    return 0
