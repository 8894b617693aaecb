"""The training configuration (:class:`TrainConfig`), validated field by field."""

from __future__ import annotations

import dataclasses
from typing import Any, Mapping

from tnn import _checks

__all__ = ["TrainConfig", "Interrupted", "OPTIMIZERS", "SCHEDULES", "ENSEMBLES", "MONITORS"]

OPTIMIZERS = ("adam", "adamw", "sgd")
SCHEDULES = ("constant", "cosine", "warmup_cosine", "exponential")
ENSEMBLES = ("auto", "vmap", "loop")
MONITORS = ("val_loss", "val_acc", "train_loss")


def _field_error(field: str, msg: str, value) -> ValueError:
    return ValueError(f"TrainConfig field `{field}` {msg}, got {value!r}.")


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
      ensemble: ``"auto"``, ``"vmap"`` or ``"loop"`` (``"auto"``: vmap within ``vmap_memory_mb``, but
        one member after the other for 2D convolutions on CPU, where a vmapped one is ~10x slower).
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
        seeds = _checks.seed_tuple(self.seeds, _field_error)
        _checks.check_fields(self, _RULES, _field_error)
        if self.schedule == "warmup_cosine" and self.warmup_epochs >= self.epochs:
            raise _field_error("warmup_epochs", f"must be < epochs ({self.epochs}) for warmup_cosine", self.warmup_epochs)
        if self.weight_decay > 0 and self.optimizer != "adamw":
            raise _field_error("weight_decay", "needs optimizer='adamw'", self.weight_decay)
        return dataclasses.replace(self, seeds=tuple(int(s) for s in seeds))

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "TrainConfig":
        """Rebuild a config from its JSON form (lists back to tuples); unknown keys raise."""
        return _checks.config_from_dict(cls, d)


#: the checks of TrainConfig.validate, field by field (then the checks between fields)
_RULES = {
    ("epochs", "batch_size", "eval_batch_size", "checkpoint_every", "ece_bins"): _checks.integer(1),
    ("warmup_epochs", "early_stopping", "split_seed"): _checks.integer(0),
    "optimizer": _checks.choice(OPTIMIZERS),
    "schedule": _checks.choice(SCHEDULES),
    "ensemble": _checks.choice(ENSEMBLES),
    "monitor": _checks.choice(MONITORS),
    "learning_rate": _checks.real(0, lo_open=True),
    "decay_rate": _checks.real(0, 1, lo_open=True),
    ("weight_decay", "clip_norm", "min_delta"): _checks.real(0),
    ("momentum", "val_fraction"): _checks.real(0, 1, hi_open=True),
    "vmap_memory_mb": _checks.real(0, lo_open=True),
    "eval_train": _checks.boolean(),
}


class Interrupted(Exception):
    """Raised by a ``fit`` callback to stop a run after a checkpoint (tests use it as a 'kill')."""
