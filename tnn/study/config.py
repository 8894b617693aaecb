"""The study's configuration: :class:`StudyConfig`, its profiles and the models it compares."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import numpy as np

from tnn._checks import is_int as _is_int, seed_tuple

__all__ = ["StudyConfig", "STUDY_MODELS", "PROFILES", "SECTIONS", "profile"]

#: study model name -> (tnn.models name, init, extra ModelConfig fields)
STUDY_MODELS = {
    "topo-exact": ("topo", "exact", {}),
    "topo-noise": ("topo", "exact_noise", {}),
    "topo-random": ("topo", "random", {}),
    "mlp": ("mlp", "default", {}),
    "shallow": ("mlp", "default", {"depth": 1}),
    "cnn": ("cnn", "default", {}),
    "resnet": ("resnet", "default", {}),
    "symmetric": ("symmetric", "default", {}),
}
#: the report's sections after "Accuracy" (each one can be switched off with ``sections``)
SECTIONS = ("generalization", "trainability", "proxies", "2d")
#: features stored in the 1D datasets: topo reads the eigensystem, the baselines the Hamiltonian;
#: the hoppings let the probes rebuild each chain (periodic, with an edge potential)
FEATURES = ("wavefunctions", "hamiltonian", "hoppings")
#: the study's fields that do not change its results (ignored when a folder is reused)
NOT_RESULTS = ("out", "profile")


def _err(field: str, msg: str, value) -> ValueError:
    return ValueError(f"StudyConfig field `{field}` {msg}, got {value!r}.")


@dataclasses.dataclass(frozen=True)
class StudyConfig:
    """What a study runs (saved as ``config.json``). :meth:`validate` raises ``ValueError`` naming
    the field. The defaults are the ``default`` profile (:data:`PROFILES`).

    Fields (1D: open SSH-family chains of the ``ssh`` preset, windings -1..2):
      profile: the profile's name (a label; recorded, does not change results by itself).
      seeds: training seeds, one ensemble member per seed (init and data order of every model).
      data_seed: base seed of the datasets (each dataset adds its own offset).
      size: chain length L (cells) of training, validation and test samples.
      transfer_factors: test sets at ``f * size`` cells for each factor (size generalization).
      n: samples of the training dataset, split train/val/test by ``splits``.
      splits: fractions (train, val, test) of ``n``.
      n_test: samples of each further 1D test set (transfer, periodic, unseen windings, disorder).
      disorder: chiral (bond) disorder strengths W of the disorder sweep (0 = the clean test set).
      onsite: on-site (chiral-breaking) disorder strengths of the control sets.
      models: study model names, keys of :data:`STUDY_MODELS`.
      noise: init noise sigma of ``topo-noise`` (exact + N(0, sigma^2)).
      epochs, batch_size, learning_rate: training (Adam, constant rate, no early stopping).
      width, depth: hidden channels/units and layers of the baselines (``shallow``: depth 1).
      channels: K, the tensor-network channels of topo.
      tau: sharpness of topo's class logits at the exact initialization.
      unseen_models: models also trained on windings {0, 1} only (preset ``ssh01``), tested on -1, 2.
      sections: the sections after Accuracy to compute, from :data:`SECTIONS`.
      sigmas: init-noise grid of the topo success-rate curve (Trainability).
      sens_seeds, sens_epochs: members and epochs per init condition of that curve.
      grad_lengths: chain lengths of the gradient-variance measurement.
      landscape_models: models whose Hessian is analysed at init and at the end of training.
      landscape_batch: samples of the loss the Hessian is taken of.
      probe_n: test samples of the pruning curves and proxy probes.
      probe_seeds: the first this many seeds are probed (every seed is pruned).
      size_2d, test_size_2d: QWZ training and larger-test lattice sides (open, Anderson disorder).
      n_2d, n_test_2d: samples of the QWZ training set and of each 2D test set.
      models_2d: 2D models, from ``topo-exact`` (the marker network), ``cnn``, ``resnet``.
      epochs_2d: training epochs in 2D (batch size ``min(batch_size, 8)``: few small samples are certified).
      out: the results folder.
    """

    profile: str = "default"
    seeds: tuple[int, ...] = (0, 1)
    data_seed: int = 0
    size: int = 32
    transfer_factors: tuple[int, ...] = (2, 4)
    n: int = 1500
    splits: tuple[float, float, float] = (0.7, 0.1, 0.2)
    n_test: int = 300
    disorder: tuple[float, ...] = (0.0, 0.5, 1.0, 2.0, 3.0)
    onsite: tuple[float, ...] = (0.5, 1.0)
    models: tuple[str, ...] = tuple(STUDY_MODELS)
    noise: float = 0.1
    epochs: int = 10
    batch_size: int = 32
    learning_rate: float = 3e-3
    width: int = 16
    depth: int = 2
    channels: int = 2
    tau: float = 10.0
    unseen_models: tuple[str, ...] = ("topo-exact", "topo-random", "cnn")
    sections: tuple[str, ...] = SECTIONS
    sigmas: tuple[float, ...] = (0.01, 0.1, 0.3, 1.0)
    sens_seeds: int = 4
    sens_epochs: int = 4
    grad_lengths: tuple[int, ...] = (16, 24, 32)
    landscape_models: tuple[str, ...] = ("topo-exact", "topo-random", "shallow", "cnn")
    landscape_batch: int = 64
    probe_n: int = 160
    probe_seeds: int = 2
    models_2d: tuple[str, ...] = ("topo-exact", "cnn", "resnet")
    size_2d: int = 12
    test_size_2d: int = 14
    n_2d: int = 300
    n_test_2d: int = 80
    epochs_2d: int = 10
    out: str = "results/study"

    @classmethod
    def quick(cls, **overrides) -> "StudyConfig":
        """The ``quick`` profile (``tnn study --quick``)."""
        return profile("quick", **overrides)

    def validate(self) -> "StudyConfig":
        """Check every field; return the config with tuples and plain Python numbers."""
        if not isinstance(self.profile, str) or not self.profile:
            raise _err("profile", "must be a non-empty name", self.profile)
        seeds = seed_tuple(self.seeds, _err)
        if not _is_int(self.data_seed) or not 0 <= self.data_seed < 2**40:
            raise _err("data_seed", "must be a non-negative int", self.data_seed)
        if not _is_int(self.size) or self.size < 8:
            raise _err("size", "must be an int >= 8 (cells)", self.size)
        tf = _ints("transfer_factors", self.transfer_factors, 2)
        try:
            splits = tuple(float(s) for s in self.splits)
        except (TypeError, ValueError):
            raise _err("splits", "must be three fractions (train, val, test)", self.splits) from None
        if len(splits) != 3 or not all(0 < s < 1 for s in splits) or abs(sum(splits) - 1) > 1e-9:
            raise _err("splits", "must be three fractions in (0, 1) summing to 1", self.splits)
        for f in ("batch_size", "epochs", "width", "channels", "sens_seeds", "sens_epochs", "epochs_2d",
                  "landscape_batch", "probe_n", "probe_seeds"):
            v = getattr(self, f)
            if not _is_int(v) or v < 1:
                raise _err(f, "must be a positive int", v)
        if not _is_int(self.n) or self.n < 1:
            raise _err("n", "must be a positive int", self.n)
        if int(round(splits[0] * self.n)) < self.batch_size or int(round(splits[2] * self.n)) < 1:
            raise _err("n", f"must give at least batch_size={self.batch_size} training and one test sample "
                       f"with splits={splits}", self.n)
        for f in ("n_test", "n_test_2d"):
            v = getattr(self, f)
            if not _is_int(v) or v < 1:
                raise _err(f, "must be a positive int", v)
        if not _is_int(self.n_2d) or self.n_2d < 32:
            raise _err("n_2d", "must be an int >= 32", self.n_2d)
        models_2d = _names("models_2d", self.models_2d, ("topo-exact", "cnn", "resnet"))
        dis = _floats("disorder", self.disorder, 0.0, allow_zero=True)
        ons = _floats("onsite", self.onsite, 0.0, allow_zero=False)
        models = _names("models", self.models, STUDY_MODELS, empty=False)
        unseen = _names("unseen_models", self.unseen_models, STUDY_MODELS)
        sections = _names("sections", self.sections, SECTIONS)
        lmodels = _names("landscape_models", self.landscape_models, STUDY_MODELS)
        sig = _floats("sigmas", self.sigmas, 0.0, allow_zero=False)
        gl = _ints("grad_lengths", self.grad_lengths, 8)
        if "trainability" in sections and len(gl) < 2:
            raise _err("grad_lengths", "must hold at least two chain lengths (a fit against L)", self.grad_lengths)
        for f in ("noise", "learning_rate", "tau"):
            v = getattr(self, f)
            if not isinstance(v, (int, float, np.integer, np.floating)) or isinstance(v, bool) or not math.isfinite(v) or v <= 0:
                raise _err(f, "must be a finite number > 0", v)
        if not _is_int(self.depth) or self.depth < 0:
            raise _err("depth", "must be an int >= 0", self.depth)
        for f in ("size_2d", "test_size_2d"):
            v = getattr(self, f)
            if not _is_int(v) or v < 4:
                raise _err(f, "must be an int >= 4 (cells per side)", v)
        if not isinstance(self.out, (str, Path)) or not str(self.out):
            raise _err("out", "must be a non-empty path", self.out)
        return dataclasses.replace(
            self, seeds=tuple(int(s) for s in seeds), data_seed=int(self.data_seed), splits=splits, models=models,
            transfer_factors=tf, disorder=dis, onsite=ons, unseen_models=unseen, sections=sections,
            landscape_models=lmodels, models_2d=models_2d, sigmas=sig, grad_lengths=gl, noise=float(self.noise),
            learning_rate=float(self.learning_rate), tau=float(self.tau), out=str(self.out),
        )

    # ------------------------------------------------------------------ derived
    def model_config(self, name: str, classes: tuple[int, ...]):
        """The :class:`tnn.models.ModelConfig` of study model ``name``."""
        from tnn.models import ModelConfig

        arch, init, extra = STUDY_MODELS[name]
        if arch == "topo":
            return ModelConfig("topo", classes=tuple(classes), init=init, channels=self.channels, tau=self.tau,
                               noise=self.noise if init == "exact_noise" else 0.0).validate()
        kw = dict(width=self.width, depth=self.depth)
        kw.update(extra)
        return ModelConfig(arch, classes=tuple(classes), **kw).validate()

    def train_config(self, epochs: int | None = None):
        """The :class:`tnn.train.TrainConfig` shared by every model."""
        from tnn.train import TrainConfig

        return TrainConfig(seeds=self.seeds, epochs=epochs or self.epochs, batch_size=self.batch_size,
                           learning_rate=self.learning_rate, eval_train=False, val_fraction=0.0).validate()


def _ints(field, value, lo):
    try:
        v = tuple(value)
    except TypeError:
        raise _err(field, f"must be a tuple of ints >= {lo}", value) from None
    if not v or not all(_is_int(x) and x >= lo for x in v) or len(set(v)) != len(v):
        raise _err(field, f"must be a non-empty tuple of distinct ints >= {lo}", value)
    return tuple(int(x) for x in v)


def _floats(field, value, lo, allow_zero):
    try:
        v = tuple(float(x) for x in value)
    except (TypeError, ValueError):
        raise _err(field, "must be a tuple of numbers", value) from None
    ok = all(math.isfinite(x) and (x >= lo if allow_zero else x > lo) for x in v)
    if not v or not ok or len(set(v)) != len(v):
        raise _err(field, f"must be a non-empty tuple of distinct finite numbers {'>=' if allow_zero else '>'} {lo}", value)
    return v


def _names(field, value, valid, empty=True):
    try:
        v = (value,) if isinstance(value, str) else tuple(value)
    except TypeError:
        raise _err(field, f"must be a tuple of names from {tuple(valid)}", value) from None
    bad = [m for m in v if m not in valid]
    if bad or (not v and not empty) or len(set(v)) != len(v):
        what = f"unknown name(s) {bad}; valid: {', '.join(valid)}" if bad else \
            f"must be a {'' if empty else 'non-empty '}tuple of distinct names from {', '.join(valid)}"
        raise _err(field, what, value)
    return v


#: profile name -> field overrides of :class:`StudyConfig` (``default``: the dataclass defaults)
PROFILES = {
    # a smoke-size study: every section, every figure, in about a minute and a half on 2 cores
    "quick": dict(size=16, transfer_factors=(2,), n=600, splits=(0.6, 0.2, 0.2), n_test=60, batch_size=16,
                  disorder=(0.0, 1.0), onsite=(1.0,), models=("topo-exact", "topo-random", "shallow", "cnn"),
                  epochs=3, width=8, depth=1, unseen_models=("topo-exact", "cnn"), sigmas=(0.1, 1.0), sens_seeds=2,
                  sens_epochs=1, grad_lengths=(16, 24), landscape_models=("topo-random",), landscape_batch=24,
                  probe_n=48, probe_seeds=1, models_2d=("topo-exact", "cnn"), size_2d=8, test_size_2d=10, n_2d=160, n_test_2d=40,
                  epochs_2d=2),
    "default": {},
    # publication scale, sized for one GPU (see README: expected time and memory)
    "full": dict(seeds=(0, 1, 2, 3, 4), size=32, n=6000, n_test=1000, disorder=(0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0),
                 onsite=(0.5, 1.0, 2.0), epochs=40, width=32, unseen_models=tuple(STUDY_MODELS),
                 sigmas=(1e-3, 3e-3, 1e-2, 3e-2, 0.1, 0.3, 1.0), sens_seeds=16, sens_epochs=10,
                 grad_lengths=(16, 32, 64, 128), probe_seeds=5, landscape_models=tuple(STUDY_MODELS), landscape_batch=256,
                 probe_n=1000, size_2d=12, test_size_2d=20, n_2d=3000, n_test_2d=400, epochs_2d=30),
}


def profile(name: str, **overrides) -> StudyConfig:
    """The :class:`StudyConfig` of profile ``name`` (a key of :data:`PROFILES`) with ``overrides``."""
    if name not in PROFILES:
        raise ValueError(f"Unknown study profile {name!r}; valid profiles: {', '.join(PROFILES)}.")
    kw = dict(PROFILES[name], profile=name)
    kw.update(overrides)
    return StudyConfig(**kw)
