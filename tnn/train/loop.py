r"""The training loop: :func:`fit`, evaluation and prediction.

One loop serves every combination of data (in memory: each member's epoch is one ``lax.scan``
over its permuted batches; streamed: one jitted step per batch) and ensemble mode (``vmap``: the
members' stacked state in one call; ``loop``: one call per active member). The data side produces
the epoch's *chunks* -- ``(fn, shared args, per-member args)`` -- and :func:`_train_epoch` runs
each chunk for the members; nothing else differs between the four cases.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import time
from pathlib import Path
from typing import Any, Callable, Mapping

import numpy as np
import jax
import jax.numpy as jnp
import optax

from tnn import results as tres
from tnn.models import Model
from tnn.train.checkpoints import config_json, load_checkpoint, plot_learning_curves, save_checkpoint
from tnn.train.config import TrainConfig
from tnn.train.loaders import Memory, is_stream, memory_data, n_samples, split_xy, stream_batches, take
from tnn.train.loss import encode_labels, make_loss, metrics_from_outputs
from tnn.train import optim
from tnn.train.optim import OPT_FIELDS, make_optimizer, opt_key, rate_at

__all__ = ["fit", "FitResult", "evaluate", "predict"]


# The ensemble's tree helpers are compiled whole (one program per tree layout, the member index traced):
# eager, every leaf's shape and every index was a program of its own (about 170 compilations in a
# cold tnn study --quick).
@jax.jit
def _stack_jit(trees):
    return jax.tree_util.tree_map(lambda *a: jnp.stack(a), *trees)


def _stack(trees):
    return _stack_jit(list(trees))


@jax.jit
def _member(tree, i):
    return jax.tree_util.tree_map(lambda a: a[i], tree)


@jax.jit
def _set_member(tree, i, sub):
    return jax.tree_util.tree_map(lambda a, b: a.at[i].set(b), tree, sub)


@jax.jit
def _where_tree(mask, new, old):
    def sel(a, b):
        m = mask.reshape(mask.shape + (1,) * (a.ndim - 1))
        return jnp.where(m, a, b)

    return jax.tree_util.tree_map(sel, new, old)


def _where(mask, new, old):
    """``new`` for the members where ``mask`` (a bool list) holds, else ``old``: one compiled call
    per tree (eager, one dispatch per leaf and op made it most of a small model's training time)."""
    mask = np.asarray(mask, dtype=bool)
    if mask.all():
        return new
    return _where_tree(jnp.asarray(mask), new, old)


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
#: bytes of input per evaluation batch when no batch size is given: large per-sample inputs (the 2D
#: marker network's eigenvectors, 1.3 MB a 12x12 sample) get small batches, so that the model's
#: N x N intermediates stay bounded (with 256 of them the default study peaked at 4.2 GB, 3.4 GB with this)
EVAL_BATCH_BYTES = 2 ** 25


def eval_batch_size(x, n: int, batch_size: int | None = None) -> int:
    """``batch_size``, or (``None``) the largest of at most 256 samples whose input fits in
    :data:`EVAL_BATCH_BYTES`."""
    if batch_size is not None:
        return int(batch_size)
    per = sum(int(getattr(a, "nbytes", 0)) for a in jax.tree_util.tree_leaves(x)) / max(n, 1)
    return int(max(1, min(256, EVAL_BATCH_BYTES // max(per, 1))))


def _eval_outputs(apply_batch, params, x, n: int, batch: int | None):
    """Outputs ``(n, n_out)`` (or ``(S, n, n_out)``) evaluated in padded batches of a fixed size."""
    b = min(eval_batch_size(x, n, batch), n)
    outs = []
    for start in range(0, n, b):
        idx = np.arange(start, start + b)
        valid = idx < n
        idx = np.where(valid, idx, 0)  # pad the last batch: one compilation for every batch
        o = np.asarray(apply_batch(params, take(x, idx)))
        outs.append(o[..., : int(valid.sum()), :])
    return np.concatenate(outs, axis=-2)


def predict(model: Model, params, x, batch_size: int | None = None) -> np.ndarray:
    """``model.apply`` over ``x`` (features or encoded, leading axis ``n``) in jitted batches
    (``batch_size``, default :func:`eval_batch_size`); returns NumPy ``(n, n_out)``. ``params`` of
    one member."""
    x = model.prepare(x)
    return _eval_outputs(jax.jit(model.apply), params, x, n_samples(x), batch_size)


def evaluate(model: Model, params, data, batch_size: int | None = None, bins: int = 10) -> dict[str, float]:
    """Metrics (:func:`metrics_from_outputs`) of one member's ``params`` on ``data`` = ``(x, y)``."""
    mem = memory_data(model, data, "data")
    out = _eval_outputs(jax.jit(model.apply), params, mem.x, mem.n, batch_size)
    return metrics_from_outputs(model.config, out, mem.values, bins)


# ------------------------------------------------------------------------------------ compiled
@functools.lru_cache(maxsize=16)
def _functions(model: Model, key: tuple, steps_per_epoch: int, use_vmap: bool):
    """Jitted ``(epoch_fn, step_fn, apply_eval)`` for a model and optimizer.

    ``epoch_fn(params, opt_state, x, t, perm)`` runs a whole in-memory epoch as one scan over the
    rows of ``perm`` ``(n_steps, batch)``; ``step_fn(params, opt_state, x, t)`` one streamed batch.
    Both return ``(params, opt_state, mean loss)``. Cached so
    that repeated fits of one model (runs, resume, sweeps over seeds) do not recompile; ``model``
    is hashed by identity.
    """
    tx = make_optimizer(TrainConfig(seeds=(0,), **dict(zip(OPT_FIELDS, key))), steps_per_epoch)
    grad_fn = jax.value_and_grad(make_loss(model))

    def step(params, opt_state, xb, tb):
        loss, g = grad_fn(params, xb, tb)
        upd, opt_state = optim.update(tx, g, opt_state, params)
        return optax.apply_updates(params, upd), opt_state, loss

    def epoch_mem(params, opt_state, x, t, perm):
        def body(carry, idx):
            p, s, loss = step(*carry, take(x, idx), t[idx])
            return (p, s), loss

        (params, opt_state), losses = jax.lax.scan(body, (params, opt_state), perm)
        return params, opt_state, losses.mean()

    if use_vmap:
        return (jax.jit(jax.vmap(epoch_mem, in_axes=(0, 0, None, None, 0))),
                jax.jit(jax.vmap(step, in_axes=(0, 0, None, None))),
                jax.jit(jax.vmap(model.apply, in_axes=(0, None))))
    return jax.jit(epoch_mem), jax.jit(step), jax.jit(model.apply)


# ------------------------------------------------------------------------------------ one epoch
def _chunks(model: Model, config: TrainConfig, train, fns, epoch: int, seeds):
    """The epoch's work as ``(fn, shared args, per-member args or None)``: one scan per member
    in memory (each member its own permutation of ``(seed, epoch)``), one step per streamed batch."""
    epoch_fn, step_fn, _ = fns
    if isinstance(train, Memory):
        spe = train.n // config.batch_size
        perms = np.stack([np.random.default_rng([s, epoch]).permutation(train.n)[: spe * config.batch_size]
                          .reshape(spe, -1) for s in seeds])
        yield epoch_fn, (train.x, jnp.asarray(train.y)), jnp.asarray(perms)
        return
    for xb, yb in stream_batches(train, epoch - 1):
        yield step_fn, (model.prepare(xb), jnp.asarray(encode_labels(model.config, np.asarray(yb)))), None


def _train_epoch(chunks, params, opt_state, active: list, use_vmap: bool):
    """Run the chunks for the active members: ``(params, opt_state, train_loss (S,))``, the loss the
    mean over the chunks (NaN for inactive members in loop mode)."""
    S = len(active)
    losses = []
    for fn, shared, per in chunks:
        if use_vmap:
            new_p, new_s, loss = fn(params, opt_state, *shared, *(() if per is None else (per,)))
            params, opt_state = _where(active, new_p, params), _where(active, new_s, opt_state)
            loss = np.asarray(loss)
        else:
            loss = np.full(S, np.nan)
            for i in (i for i in range(S) if active[i]):
                p_i, s_i, loss[i] = fn(_member(params, i), _member(opt_state, i), *shared,
                                       *(() if per is None else (per[i],)))
                params, opt_state = _set_member(params, i, p_i), _set_member(opt_state, i, s_i)
        losses.append(loss)
    return params, opt_state, np.mean(np.stack(losses), axis=0)


def _outputs(apply_eval, params, mem: Memory, S: int, batch: int, use_vmap: bool):
    if use_vmap:
        return _eval_outputs(apply_eval, params, mem.x, mem.n, batch)
    return np.stack([_eval_outputs(apply_eval, _member(params, i), mem.x, mem.n, batch) for i in range(S)])


@dataclasses.dataclass
class _Progress:
    """Early-stopping state per member, and the metric rows so far (checkpointed together)."""

    best_value: list
    best_epoch: list
    bad: list
    active: list
    history: list

    @classmethod
    def start(cls, S: int) -> "_Progress":
        return cls([math.inf] * S, [0] * S, [0] * S, [True] * S, [])

    def meta(self, epoch: int) -> dict:
        return {"epoch": epoch, "best_value": [None if math.isinf(v) else v for v in self.best_value],
                "best_epoch": self.best_epoch, "bad": self.bad, "active": self.active, "history": self.history}

    @classmethod
    def from_meta(cls, meta: dict) -> "_Progress":
        return cls([math.inf if v is None else float(v) for v in meta["best_value"]], meta["best_epoch"], meta["bad"],
                   meta["active"], meta["history"])

    def record(self, config: TrainConfig, model: Model, epoch: int, seeds, train_loss, lr, outputs: dict, t0: float):
        """Append the epoch's rows; returns ``(rows, improved per member)``."""
        rows, improved = [], [False] * len(seeds)
        for i, s in enumerate(seeds):
            if not self.active[i]:
                continue
            row: dict[str, Any] = {"seed": s, "epoch": epoch, "lr": lr, "train_loss": float(train_loss[i])}
            for prefix, (out, mem) in outputs.items():
                for k, v in metrics_from_outputs(model.config, out[i], mem.values, config.ece_bins).items():
                    row[f"{prefix}_{k}"] = v
            mon = row.get(config.monitor, row["train_loss"])
            score = -mon if config.monitor == "val_acc" else mon
            if score < self.best_value[i] - config.min_delta:
                self.best_value[i], self.best_epoch[i], self.bad[i], improved[i] = score, epoch, 0, True
            else:
                self.bad[i] += 1
                if config.early_stopping and self.bad[i] >= config.early_stopping:
                    self.active[i] = False
            row["best"] = self.best_epoch[i]
            row["time_s"] = time.perf_counter() - t0
            rows.append(row)
        self.history.extend(rows)
        return rows, improved


# ------------------------------------------------------------------------------------ setup
def _data(model: Model, config: TrainConfig, train_data, val_data):
    """``(train, val, steps_per_epoch, one sample)``: ``train`` a :class:`Memory` or the loader."""
    if is_stream(train_data):
        if val_data is None and config.monitor != "train_loss" and config.early_stopping:
            raise ValueError("Argument `val_data` must be given for a streamed `train_data` when early stopping monitors validation.")
        fx, fy = split_xy(next(iter(stream_batches(train_data, 0))), "train_data")
        encode_labels(model.config, np.asarray(fy))
        spe = len(train_data) if hasattr(train_data, "__len__") else sum(1 for _ in stream_batches(train_data, 0))
        train, val, sample_x = train_data, None, take(model.prepare(fx), np.arange(1))
    else:
        train, val = memory_data(model, train_data, "train_data"), None
        if val_data is None and config.val_fraction > 0:
            n_val = int(round(config.val_fraction * train.n))
            if n_val < 1 or train.n - n_val < config.batch_size:
                raise ValueError(f"Argument `train_data` has {train.n} samples: too few for val_fraction="
                                 f"{config.val_fraction} and batch_size={config.batch_size}.")
            perm = np.random.default_rng(config.split_seed).permutation(train.n)
            val, train = (Memory(take(train.x, ix), train.y[ix], train.values[ix]) for ix in (perm[:n_val], perm[n_val:]))
        if train.n < config.batch_size:
            raise ValueError(f"TrainConfig field `batch_size` ({config.batch_size}) exceeds the {train.n} training samples.")
        spe, sample_x = train.n // config.batch_size, take(train.x, np.arange(1))
    if val_data is not None:
        val = memory_data(model, val_data, "val_data")
    if val is None and config.monitor != "train_loss" and config.early_stopping:
        raise ValueError("TrainConfig field `monitor` needs validation data; use monitor='train_loss' or give val_data.")
    return train, val, spe, sample_x


#: models whose ``vmap`` over members is a batched-kernel (grouped) convolution
CONV_MODELS = ("cnn", "resnet")


def _use_vmap(config: TrainConfig, S: int, sample_x, model: Model | None = None) -> bool:
    if config.ensemble != "auto":
        return config.ensemble == "vmap"
    if (model is not None and model.config.name in CONV_MODELS and model.lattice is not None
            and len(model.lattice.dims) > 1 and jax.default_backend() == "cpu"):
        # XLA:CPU runs a vmapped 2D convolution (one kernel per member: a grouped convolution) about
        # 10x slower than the members one after the other (measured: QWZ 10x10 CNN, 10 members, 5.4 s
        # against 0.5 s per epoch); 1D convolutions are as fast either way.
        return False
    nbytes = sum(np.asarray(a).nbytes for a in jax.tree_util.tree_leaves(sample_x)) * config.batch_size
    return S > 1 and S * nbytes * 8 < config.vmap_memory_mb * 2**20


def _open_results(out_dir: Path | None, resume: bool, cfg_json: dict, state):
    """Start ``out_dir`` (write config.json), or restore its checkpoint: ``(state, progress, epoch)``."""
    if out_dir is None or not (out_dir / "checkpoint.npz").exists():
        if out_dir is not None:
            tres.results_dir(out_dir)
            tres.write_json(out_dir / "config.json", cfg_json)
        return state, None, 0
    if not resume:
        raise ValueError(f"Argument `results_dir` ({out_dir}) already holds a checkpoint; pass resume=True or a new folder.")
    saved = tres.read_json(out_dir / "config.json")
    for key in ("model", "train", "lattice"):
        want = tres.to_jsonable(cfg_json[key])
        if saved.get(key) != want:
            diff = [k for k in (saved.get(key) or {}) if (saved.get(key) or {}).get(k) != (want or {}).get(k)]
            raise ValueError(f"Argument `resume`: the {key} config differs from the saved run in {out_dir} (fields {diff}).")
    params, best, opt_state, meta = load_checkpoint(out_dir / "checkpoint.npz", state[2])
    return (params, best, opt_state), _Progress.from_meta(meta), int(meta["epoch"])


def _progress_bar(progress, model: Model, config: TrainConfig, start: int):
    if not progress:
        return None
    from tqdm.auto import tqdm  # noqa: PLC0415

    desc = progress if isinstance(progress, str) else f"train {model.name}"
    desc += f" (resumed at epoch {start})" if start else ""
    return tqdm(total=config.epochs, initial=start, desc=desc, unit="epoch")


def _finish(out_dir: Path | None, final, history: list, seeds) -> None:
    if out_dir is None:
        return
    for i, s in enumerate(seeds):
        tres.save_params(out_dir / "params" / f"seed{s}.npz", jax.device_get(_member(final, i)))
    tres.write_csv(out_dir / "metrics.csv", history)
    if history:
        plot_learning_curves(out_dir / "figures" / "learning_curves.png", history, seeds)


# ------------------------------------------------------------------------------------ fit
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
    """Train one model per seed of ``config.seeds`` on ``train_data``; see :mod:`tnn.train`.

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
      progress: show a tqdm progress bar over epochs (a string: its label).
      extra_config: more JSON-able entries for ``config.json`` (e.g. the dataset description).

    Returns:
      :class:`FitResult`.
    """
    if not isinstance(model, Model):
        raise ValueError(f"Argument `model` must be a tnn.models.Model, got {type(model).__name__}.")
    if not isinstance(config, TrainConfig):
        raise ValueError(f"Argument `config` must be a tnn.train.TrainConfig, got {type(config).__name__}.")
    config = config.validate()
    seeds, S = config.seeds, len(config.seeds)
    train, val, spe, sample_x = _data(model, config, train_data, val_data)
    use_vmap = _use_vmap(config, S, sample_x, model)
    fns = _functions(model, opt_key(config), spe, use_vmap)
    tx = make_optimizer(config, spe)
    params = _stack([model.init(jax.random.key(s), sample_x) for s in seeds])
    state = (params, params, _stack([optim.init(tx, _member(params, i)) for i in range(S)]))  # params, best, opt_state
    out_dir = None if results_dir is None else Path(results_dir)
    cfg_json = config_json(model, config, {
        "n_train": train.n if isinstance(train, Memory) else None, "n_val": None if val is None else val.n,
        "steps_per_epoch": spe, "ensemble_mode": "vmap" if use_vmap else "loop", **dict(extra_config or {})})
    (params, best, opt_state), prog, start = _open_results(out_dir, resume, cfg_json, state)
    prog = prog or _Progress.start(S)
    bar, epoch = _progress_bar(progress, model, config, start), start
    try:
        for epoch in range(start + 1, config.epochs + 1):
            if not any(prog.active):  # a resumed run that had already stopped early
                epoch -= 1
                break
            t0 = time.perf_counter()
            chunks = _chunks(model, config, train, fns, epoch, seeds)
            params, opt_state, train_loss = _train_epoch(chunks, params, opt_state, prog.active, use_vmap)
            lr = rate_at(config, spe, (epoch - 1) * spe)
            evals = {"train": train if config.eval_train and isinstance(train, Memory) else None, "val": val}
            outputs = {k: (_outputs(fns[2], params, m, S, config.eval_batch_size, use_vmap), m)
                       for k, m in evals.items() if m is not None}
            rows, improved = prog.record(config, model, epoch, seeds, train_loss, lr, outputs, t0)
            best = _where(improved, params, best) if any(improved) else best
            if bar is not None:
                last = rows[0] if rows else {}
                bar.set_postfix({k: f"{last[k]:.3g}" for k in ("train_loss", "val_loss", "val_acc") if last.get(k) is not None})
                bar.update(1)
            if out_dir is not None and (epoch % config.checkpoint_every == 0 or epoch == config.epochs or not any(prog.active)):
                tres.write_csv(out_dir / "metrics.csv", prog.history)
                save_checkpoint(out_dir / "checkpoint.npz", params, best, opt_state, prog.meta(epoch))
            if callback is not None:
                callback(epoch, rows)
            if not any(prog.active):
                break
    finally:
        if bar is not None:
            bar.close()
    final = best if config.early_stopping else params
    _finish(out_dir, final, prog.history, seeds)
    return FitResult(model, final, seeds, prog.history, epoch if prog.history else start, list(prog.best_epoch), out_dir)
