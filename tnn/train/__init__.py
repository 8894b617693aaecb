r"""Training: optax, a jitted step, batched evaluation, metrics, early stopping, ensembles, resume.

A package with one job per module: :mod:`~tnn.train.config` (:class:`TrainConfig`),
:mod:`~tnn.train.optim` (the optax transformation; ``inject_hyperparams`` keeps the learning rate
in the optimizer state), :mod:`~tnn.train.loss` (labels, loss, metrics), :mod:`~tnn.train.loaders`
(in-memory, streamed and :mod:`tnn.data` inputs), :mod:`~tnn.train.checkpoints` (the results
folder, resume), :mod:`~tnn.train.loop` (:func:`fit`, one step loop for every data and ensemble
mode); ``tnn train``'s parser is :mod:`tnn.cli.train`.

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


from tnn.train.checkpoints import load_run
from tnn.train.config import ENSEMBLES, MONITORS, OPTIMIZERS, SCHEDULES, Interrupted, TrainConfig
from tnn.train.loaders import DatasetLoader, dataset_classes, load_dataset
from tnn.train.loop import FitResult, evaluate, fit, predict
from tnn.train.loss import encode_labels, make_loss, metrics_from_outputs
from tnn.train.optim import learning_rate, make_optimizer, schedule

__all__ = [
    "TrainConfig",
    "FitResult",
    "fit",
    "make_optimizer",
    "schedule",
    "learning_rate",
    "make_loss",
    "encode_labels",
    "evaluate",
    "predict",
    "metrics_from_outputs",
    "load_run",
    "load_dataset",
    "dataset_classes",
    "DatasetLoader",
    "Interrupted",
    "OPTIMIZERS",
    "SCHEDULES",
    "ENSEMBLES",
    "MONITORS",
]
