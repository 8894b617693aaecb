"""The training configuration (:class:`TrainConfig`), validated field by field."""

from __future__ import annotations

import dataclasses
import math
from typing import Any, Mapping

import numpy as np

from tnn._checks import is_int as _is_int, seed_tuple

__all__ = ["TrainConfig", "Interrupted", "OPTIMIZERS", "SCHEDULES", "ENSEMBLES", "MONITORS"]

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
