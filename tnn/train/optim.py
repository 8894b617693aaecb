"""Optimizer and learning-rate schedules: one optax transformation whose state carries the rate.

:func:`make_optimizer` wraps the chosen optimizer (and gradient clipping) in
``optax.inject_hyperparams``: the learning rate is a hyperparameter in the optimizer state,
``opt_state.hyperparams["learning_rate"]`` (:func:`learning_rate`), evaluated from the schedule at
every step, checkpointed and restored with the rest of the state. ``metrics.csv`` records, per
epoch, the rate of the epoch's first step (:func:`rate_at`, from the same :func:`schedule`).
"""

from __future__ import annotations

import jax
import optax

from tnn.train.config import TrainConfig

__all__ = ["make_optimizer", "schedule", "learning_rate", "rate_at", "opt_key", "OPT_FIELDS", "init", "update"]


def schedule(config: TrainConfig, steps_per_epoch: int):
    """The learning rate of ``config`` as a function of the global step (a float when constant)."""
    total = max(1, config.epochs * steps_per_epoch)
    lr = config.learning_rate
    if config.schedule == "constant":
        return lr
    if config.schedule == "cosine":
        return optax.cosine_decay_schedule(lr, total)
    if config.schedule == "warmup_cosine":
        return optax.warmup_cosine_decay_schedule(0.0, lr, max(1, config.warmup_epochs * steps_per_epoch), total)
    return optax.exponential_decay(lr, total, config.decay_rate)


def make_optimizer(config: TrainConfig, steps_per_epoch: int) -> optax.GradientTransformation:
    """The optax transformation of ``config``; its state holds the current learning rate."""

    def build(learning_rate):
        if config.optimizer == "adam":
            opt = optax.adam(learning_rate)
        elif config.optimizer == "adamw":
            opt = optax.adamw(learning_rate, weight_decay=config.weight_decay)
        else:
            opt = optax.sgd(learning_rate, momentum=config.momentum or None)
        if config.clip_norm > 0:
            opt = optax.chain(optax.clip_by_global_norm(config.clip_norm), opt)
        return opt

    # The injected rate takes the parameters' dtype, as optax's own schedules do when they scale an
    # update: the steps are bit for bit those of optax.adam(schedule) & co.
    return optax.inject_hyperparams(build)(learning_rate=schedule(config, steps_per_epoch))


def learning_rate(opt_state):
    """The learning rate of the last step taken with ``opt_state`` (of the first step after init),
    in the parameters' dtype."""
    return opt_state.hyperparams["learning_rate"]


def rate_at(config: TrainConfig, steps_per_epoch: int, step: int) -> float:
    """The schedule's rate at global ``step`` as a Python float (the ``lr`` column of metrics.csv:
    the rate of each epoch's first step, evaluated in full precision, where the optimizer state
    holds it rounded to the parameters' dtype)."""
    s = schedule(config, steps_per_epoch)
    return float(s(step)) if callable(s) else float(s)


#: the TrainConfig fields the optimizer (hence the compiled step) depends on
OPT_FIELDS = ("optimizer", "learning_rate", "schedule", "warmup_epochs", "decay_rate", "weight_decay",
              "momentum", "clip_norm", "epochs")


def opt_key(config: TrainConfig) -> tuple:
    """The fields of ``config`` that the optimizer depends on; fields that the chosen optimizer and
    schedule ignore are normalized so they do not force a recompile."""
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
    return tuple(getattr(config if f in used else defaults, f) for f in OPT_FIELDS)


def init(tx, params):
    """``tx.init(params)`` under JAX's standard dtype promotion (see :func:`update`: optax's
    ``inject_hyperparams`` evaluates its schedules there)."""
    with jax.numpy_dtype_promotion("standard"):
        return tx.init(params)


def update(tx, grads, state, params, **extra):
    """``tx.update(grads, state, params, **extra)``, traced under JAX's standard dtype promotion.

    optax's Adam raises its decay rates to an ``int32`` step count (``b ** count`` in its bias
    correction), an implicit promotion that ``jax_numpy_dtype_promotion="strict"`` refuses; every
    optimizer step of the library goes through here, so the rest of a training (model, loss, data)
    runs under the caller's rule, strict included. In the standard mode (JAX's default) this is
    ``tx.update`` itself.
    """
    with jax.numpy_dtype_promotion("standard"):
        return tx.update(grads, state, params, **extra)
