"""The study's configuration: :class:`StudyConfig`, its profiles and the models it compares."""

from __future__ import annotations

import dataclasses
import functools
from pathlib import Path

from tnn import _checks
from tnn.data import features as _features

__all__ = ["StudyConfig", "SETS_2D", "STUDY_MODELS", "PROFILES", "SECTIONS", "BASELINE_INPUTS", "HEADS", "profile", "run_tag",
           "split_tag"]

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
#: what a baseline can read (docs/conventions.md, "Inputs"): the Hamiltonian, the eigenvector amplitudes
#: |psi_n(i)|^2 ordered by energy, the few states nearest zero energy (the edge modes, when there are
#: any), and the flattened projector sign(H) (chains: its chiral block)
BASELINE_INPUTS = _features.check_names(("hamiltonian", "density", "edge_modes", "projector"), "ssh", "BASELINE_INPUTS")
#: output heads of the unseen-windings test: softmax over the training classes, or one real output rounded
#: to the nearest integer (a head that can answer a class it never saw)
HEADS = ("classify", "regress")
#: the report's sections after "Accuracy" (each one can be switched off with ``sections``)
SECTIONS = ("generalization", "trainability", "proxies", "2d")
#: features stored in the 1D datasets: topo reads the eigensystem, the baselines the Hamiltonian;
#: the hoppings let the probes rebuild each chain (periodic, with an edge potential)
#: (the study's choices, checked against the registry of tnn.data.features: features of its ssh datasets)
FEATURES = _features.check_names(("wavefunctions", "hamiltonian", "hoppings", "density", "edge_modes", "projector"), "ssh",
                                 "FEATURES")
#: features of the test sets at other sizes: the size-agnostic inputs only (topo, the cell encodings)
TRANSFER_FEATURES = _features.check_names(("wavefunctions", "hamiltonian", "hoppings", "edge_modes"), "ssh",
                                          "TRANSFER_FEATURES")
#: the 2D test sets, split name -> (dataset, split): the training size, a larger size, another lattice;
#: clean samples, every one labelled by its k-space Chern number (a disordered 2D sample has a label only
#: where its real-space value is certified: few at these sizes, and a biased few)
SETS_2D = {"qwz": ("qwz-test", "test"), "qwz-large": ("qwz-large", "test"), "haldane": ("haldane", "test")}
#: the study's fields that do not change its results (ignored when a folder is reused)
NOT_RESULTS = ("out", "profile", "jobs")


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
      inputs: the inputs besides the Hamiltonian that every model of ``input_models`` is also trained on
        (from :data:`BASELINE_INPUTS`); run ``m:input`` in the results (``m`` alone reads the Hamiltonian).
      input_models: the baselines trained on every input of ``inputs``.
      n_test_disorder: samples of each disordered 1D test set (chiral and on-site disorder).
      unseen_models: models also trained on windings {0, 1} only (preset ``ssh01``), tested on -1, 2
        (``topo-exact``: scored untrained, :meth:`runs_unseen`).
      unseen_heads: the output heads of those models (:data:`HEADS`): ``classify`` (softmax over every
        class, the unseen ones included but never trained) and ``regress`` (one real output, rounded).
      sections: the sections after Accuracy to compute, from :data:`SECTIONS`.
      sigmas: init-noise grid of the topo success-rate curve (Trainability).
      sens_seeds, sens_epochs: members and epochs per init condition of that curve (``sens_seeds = 0``:
        not computed; the block-noise part and the phase diagram measure the same question per block).
      grad_lengths: chain lengths of the gradient-variance measurement.
      landscape_models: models whose Hessian is analysed at init and at the end of training.
      landscape_batch: samples of the loss the Hessian is taken of.
      probe_n: test samples of the pruning curves and proxy probes.
      probe_seeds: the first this many seeds get the pruning curves (every seed is pruned and probed).
      probe_fractions: widths of the edge masks and cuts in units of each chain's xi.
      probe_strengths: edge-potential strengths of the sweep that moves the edge modes.
      probe_cut_step: cut widths rounded up to a multiple of this many cells (each distinct cut length
        is one lattice, compiled once per model: ``1`` cuts exactly ``ceil(f xi)`` cells).
      phase_size, phase_n: chain length and samples (half train, half test) of the ``phase`` dataset the
        trainability grid, the block noise and the minima train on (labels: the rounded real-space value).
      phase_optimizers, phase_losses, phase_taus, phase_lrs, phase_steps: the grid of
        :func:`tnn.study.trainability.phase_diagram` (steps: checkpoints along one trajectory).
      phase_seeds: members per cell (one vmap ensemble). phase_batch: minibatch size of Adam/SGD.
      block_sigmas, block_lr, block_steps: noise scales, Adam learning rate and step checkpoints of
        :func:`tnn.study.trainability.block_noise` (started next to the exact tensors: fewer steps than the grid).
      minima_inits, minima_steps: random inits and Adam steps of :func:`tnn.study.minima.minima_analysis`.
      size_2d, test_size_2d: QWZ training and larger-test lattice sides (open, Anderson disorder).
      n_2d, n_test_2d: samples of the QWZ training set and of each 2D test set.
      models_2d: 2D models, from ``topo-exact`` (the marker network), ``cnn``, ``resnet``.
      train_2d_topo: also train the 2D marker network (else it is scored untrained only: the exact tensors).
      epochs_2d: training epochs in 2D (batch size ``min(batch_size, 8)``: few small samples are certified).
      out: the results folder.
      jobs: processes working on the study: 1, or 2 (a helper process takes units from the back of
        each phase, :mod:`tnn.study.jobs`; the same results; both processes together peaked at 1.6 GB
        with ``--quick`` and 3.0-3.1 GB with the default profile). ``full`` uses 1: two processes would
        each claim most of an accelerator's memory.
    """

    profile: str = "default"
    seeds: tuple[int, ...] = tuple(range(10))
    data_seed: int = 0
    size: int = 32
    transfer_factors: tuple[int, ...] = (2, 4)
    n: int = 1250
    splits: tuple[float, float, float] = (0.55, 0.05, 0.4)
    n_test: int = 500
    #: 280 drawn: at W = 3 a quarter of the chains lie too near the transition to be labelled, and
    #: every disordered set must keep >= 200 labelled samples (250 drawn kept 188)
    n_test_disorder: int = 280
    inputs: tuple[str, ...] = ("density", "edge_modes", "projector")
    input_models: tuple[str, ...] = ("mlp", "cnn")
    disorder: tuple[float, ...] = (0.0, 1.0, 3.0)
    onsite: tuple[float, ...] = (1.0,)
    #: topo-noise (exact + noise on every block) only in ``full``: the block-noise part asks it block by block
    models: tuple[str, ...] = tuple(m for m in STUDY_MODELS if m != "topo-noise")
    noise: float = 0.1
    epochs: int = 8
    batch_size: int = 32
    learning_rate: float = 3e-3
    width: int = 16
    depth: int = 2
    channels: int = 2
    tau: float = 10.0
    unseen_models: tuple[str, ...] = ("topo-exact", "topo-random", "cnn")
    unseen_heads: tuple[str, ...] = HEADS
    sections: tuple[str, ...] = SECTIONS
    sigmas: tuple[float, ...] = (0.01, 0.1, 0.3, 1.0)
    sens_seeds: int = 0
    sens_epochs: int = 4
    grad_lengths: tuple[int, ...] = (16, 32)
    landscape_models: tuple[str, ...] = ("topo-random", "cnn")
    landscape_batch: int = 64
    probe_n: int = 300
    probe_seeds: int = 2
    probe_fractions: tuple[float, ...] = (1.0, 3.0)
    probe_strengths: tuple[float, ...] = (0.5, 1.0, 2.0)
    probe_cut_step: int = 4
    phase_size: int = 16
    phase_n: int = 2048
    phase_optimizers: tuple[str, ...] = ("adam", "sgd")
    phase_losses: tuple[str, ...] = ("ce", "mse")
    phase_taus: tuple[float, ...] = (10.0,)
    phase_lrs: tuple[float, ...] = (3e-3, 3e-2)
    phase_steps: tuple[int, ...] = (100, 300, 1000)
    phase_seeds: int = 16
    phase_batch: int = 16
    block_sigmas: tuple[float, ...] = (0.3, 3.0)
    block_lr: float = 3e-2
    block_steps: tuple[int, ...] = (0, 100, 300)
    minima_inits: int = 64
    minima_steps: int = 300
    models_2d: tuple[str, ...] = ("topo-exact", "cnn", "resnet")
    size_2d: int = 10
    test_size_2d: int = 12
    n_2d: int = 600
    n_test_2d: int = 500
    epochs_2d: int = 10
    train_2d_topo: bool = False
    out: str = "results/study"
    #: two processes: 571 s against about 800 s with one on the 2-core machine (cold compilation cache);
    #: peak memory of both together 3.0-3.1 GB against about 2.3 GB
    jobs: int = 2

    @classmethod
    def quick(cls, **overrides) -> "StudyConfig":
        """The ``quick`` profile (``tnn study --quick``)."""
        return profile("quick", **overrides)

    def validate(self) -> "StudyConfig":
        """Check every field; return the config with tuples and plain Python numbers."""
        if not isinstance(self.profile, str) or not self.profile:
            raise _err("profile", "must be a non-empty name", self.profile)
        seeds = _checks.seed_tuple(self.seeds, _err)
        c = _checks.check_fields(self, _RULES, _err)
        if int(round(c["splits"][0] * c["n"])) < c["batch_size"] or int(round(c["splits"][2] * c["n"])) < 1:
            raise _err("n", f"must give at least batch_size={c['batch_size']} training and one test sample "
                       f"with splits={c['splits']}", self.n)
        if "trainability" in c["sections"] and len(c["grad_lengths"]) < 2:
            raise _err("grad_lengths", "must hold at least two chain lengths (a fit against L)", self.grad_lengths)
        if not isinstance(self.out, (str, Path)) or not str(self.out):
            raise _err("out", "must be a non-empty path", self.out)
        return dataclasses.replace(self, seeds=seeds, **c, out=str(self.out))

    # ------------------------------------------------------------------ derived
    def model_config(self, name: str, classes: tuple[int, ...], input: str = "hamiltonian", task: str = "classify"):
        """The :class:`tnn.models.ModelConfig` of study model ``name`` reading ``input`` (baselines;
        topo always reads the eigensystem) with a ``task`` head (``regress``: one real output,
        rounded to the nearest of ``classes``)."""
        from tnn.models import ModelConfig

        arch, init, extra = STUDY_MODELS[name]
        if arch == "topo":
            return ModelConfig("topo", task=task, classes=tuple(classes), init=init, channels=self.channels, tau=self.tau,
                               noise=self.noise if init == "exact_noise" else 0.0).validate()
        # baselines in float32, the usual precision of such networks (25% faster on CPU than float64,
        # measured); topo keeps float64 for its exact contraction
        kw = dict(width=self.width, depth=self.depth, dtype="float32")
        kw.update(extra)
        return ModelConfig(arch, task=task, classes=tuple(classes), input=input, **kw).validate()

    def runs_1d(self) -> list[tuple[str, str, str]]:
        """``[(tag, model, input), ...]``: every 1D training of the study, in order (:func:`run_tag`)."""
        out = [(name, name, "hamiltonian") for name in self.models]
        for inp in self.inputs:
            out += [(run_tag(m, inp), m, inp) for m in self.input_models if m in self.models]
        return out

    def runs_unseen(self) -> list[tuple[str, str, str, bool]]:
        """``[(tag, model, head, train), ...]``: the unseen-windings runs (trained on {0, 1}). The exact
        topo network is scored untrained, once (``topo-exact@01``): its tensors compute the invariant
        whatever the head, and the question is whether *training* reaches the unseen windings."""
        out = []
        for m in self.unseen_models:
            if STUDY_MODELS[m][:2] == ("topo", "exact"):
                out.append((f"{m}@01", m, "classify", False))
                continue
            out += [(f"{m}@01" + ("" if h == "classify" else "-reg"), m, h, True) for h in self.unseen_heads]
        return out

    def train_config(self, epochs: int | None = None):
        """The :class:`tnn.train.TrainConfig` shared by every model."""
        from tnn.train import TrainConfig

        return TrainConfig(seeds=self.seeds, epochs=epochs or self.epochs, batch_size=self.batch_size,
                           learning_rate=self.learning_rate, eval_train=False, val_fraction=0.0).validate()


def _names(valid, empty=True):
    """A rule of :func:`tnn._checks.check_fields`: a tuple of distinct names from ``valid``
    (non-empty unless ``empty``); a single name becomes a 1-tuple."""
    def rule(field, value, error):
        try:
            v = (value,) if isinstance(value, str) else tuple(value)
        except TypeError:
            raise error(field, f"must be a tuple of names from {tuple(valid)}", value) from None
        bad = [m for m in v if m not in valid]
        if bad or (not v and not empty) or len(set(v)) != len(v):
            what = f"unknown name(s) {bad}; valid: {', '.join(valid)}" if bad else \
                f"must be a {'' if empty else 'non-empty '}tuple of distinct names from {', '.join(valid)}"
            raise error(field, what, value)
        return v
    return rule


#: the checks of StudyConfig.validate after profile and seeds, field by field (then the checks
#: between fields)
_RULES = {
    "data_seed": _checks.integer(0, 2**40 - 1),
    "size": _checks.integer(8),
    "transfer_factors": _checks.integers(2, min_length=1, distinct=True),
    "splits": functools.partial(_checks.check_splits, strict=True),
    ("batch_size", "epochs", "width", "channels", "sens_epochs", "epochs_2d", "landscape_batch", "probe_cut_step",
     "probe_n", "probe_seeds", "n", "n_test", "n_test_2d", "n_test_disorder"): _checks.integer(1),
    "n_2d": _checks.integer(32),
    "models_2d": _names(("topo-exact", "cnn", "resnet")),
    "disorder": _checks.reals(0.0, min_length=1, distinct=True),
    "onsite": _checks.reals(0.0, lo_open=True, min_length=1, distinct=True),
    "models": _names(STUDY_MODELS, empty=False),
    "unseen_models": _names(STUDY_MODELS),
    "unseen_heads": _names(HEADS, empty=False),
    "inputs": _names(BASELINE_INPUTS[1:]),
    "input_models": _names(tuple(m for m, v in STUDY_MODELS.items() if v[0] != "topo")),
    "sections": _names(SECTIONS),
    "landscape_models": _names(STUDY_MODELS),
    "sigmas": _checks.reals(0.0, lo_open=True, min_length=1, distinct=True),
    "probe_fractions": _checks.reals(0.0, min_length=1, distinct=True),
    "phase_optimizers": _names(("adam", "sgd", "lbfgs"), empty=False),
    "phase_losses": _names(("ce", "mse"), empty=False),
    ("phase_taus", "phase_lrs", "block_sigmas"): _checks.reals(0.0, lo_open=True, min_length=1, distinct=True),
    "phase_steps": _checks.integers(1, min_length=1, distinct=True),
    "block_steps": _checks.integers(0, min_length=1, distinct=True),
    ("phase_size", "phase_n"): _checks.integer(8),
    ("phase_seeds", "phase_batch", "minima_steps"): _checks.integer(1),
    "minima_inits": _checks.integer(2),
    "block_lr": _checks.real(0, lo_open=True),
    "probe_strengths": _checks.reals(0.0, lo_open=True, min_length=1, distinct=True),
    "grad_lengths": _checks.integers(8, min_length=1, distinct=True),
    ("noise", "learning_rate", "tau"): _checks.real(0, lo_open=True),
    ("depth", "sens_seeds"): _checks.integer(0),
    "train_2d_topo": _checks.boolean(),
    "jobs": _checks.integer(1, 2),
    ("size_2d", "test_size_2d"): _checks.integer(4),
}


#: profile name -> field overrides of :class:`StudyConfig` (``default``: the dataclass defaults)
PROFILES = {
    # a smoke-size study: every section, every figure (111-113 s on 2 cores from an empty compilation cache, mostly compiling)
    "quick": dict(seeds=(0, 1, 2), size=16, transfer_factors=(2,), n=600, splits=(0.6, 0.2, 0.2), n_test=60,
                  n_test_disorder=40, batch_size=16, inputs=("edge_modes",), input_models=("cnn",),
                  disorder=(0.0, 1.0), onsite=(1.0,), models=("topo-exact", "topo-random", "shallow", "cnn"),
                  epochs=3, width=8, depth=1, unseen_models=("topo-exact", "cnn"), sigmas=(0.1, 1.0), sens_seeds=0,
                  sens_epochs=1, grad_lengths=(16, 24), landscape_models=("topo-random",), landscape_batch=24,
                  probe_n=48, probe_seeds=1, probe_fractions=(1.0,), probe_strengths=(1.0,), phase_n=512,
                  phase_optimizers=("adam",), phase_lrs=(3e-2,), phase_steps=(10, 40), phase_seeds=4,
                  block_sigmas=(1.0,), block_steps=(0, 40), minima_inits=8, minima_steps=40, models_2d=("topo-exact", "cnn"), size_2d=8, test_size_2d=10, n_2d=160, n_test_2d=40,
                  epochs_2d=2),
    "default": {},
    # publication scale, sized for one GPU (see README: expected time and memory)
    "full": dict(jobs=1, seeds=tuple(range(16)), models=tuple(STUDY_MODELS), block_steps=(0, 100, 300, 1000, 3000), phase_optimizers=("adam", "sgd", "lbfgs"), size=32, n=6000, n_test=2000, n_test_disorder=1000,
                 inputs=("density", "edge_modes", "projector"), input_models=("mlp", "cnn", "resnet", "symmetric"), disorder=(0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0),
                 onsite=(0.5, 1.0, 2.0), epochs=40, width=32, unseen_models=tuple(STUDY_MODELS),
                 sigmas=(1e-3, 3e-3, 1e-2, 3e-2, 0.1, 0.3, 1.0), sens_seeds=16, sens_epochs=10,
                 grad_lengths=(16, 32, 64, 128), probe_seeds=5, landscape_models=tuple(STUDY_MODELS), landscape_batch=256,
                 phase_n=4096, phase_taus=(1.0, 10.0), phase_lrs=(1e-3, 3e-3, 1e-2, 3e-2, 1e-1, 3e-1),
                 phase_steps=(30, 100, 300, 1000, 3000), phase_seeds=32, block_sigmas=(1e-2, 3e-2, 0.1, 0.3, 1.0, 3.0),
                 minima_inits=256, minima_steps=1000, probe_n=1000, probe_fractions=(0.5, 1.0, 2.0, 3.0), probe_strengths=(0.25, 0.5, 1.0, 2.0), size_2d=12, test_size_2d=20, n_2d=3000, n_test_2d=1000, epochs_2d=30),
}


def run_tag(model: str, input: str) -> str:
    """The name of a 1D run: ``model`` for the Hamiltonian (and topo), ``model:input`` otherwise."""
    return model if input == "hamiltonian" else f"{model}:{input}"


def split_tag(tag: str) -> tuple[str, str]:
    """``(model, input)`` of a run name of :func:`run_tag` (``@01``/head suffixes stay on the model)."""
    m, _, inp = tag.partition(":")
    return m, inp or "hamiltonian"


def profile(name: str, **overrides) -> StudyConfig:
    """The :class:`StudyConfig` of profile ``name`` (a key of :data:`PROFILES`) with ``overrides``."""
    if name not in PROFILES:
        raise ValueError(f"Unknown study profile {name!r}; valid profiles: {', '.join(PROFILES)}.")
    kw = dict(PROFILES[name], profile=name)
    kw.update(overrides)
    return StudyConfig(**kw)
