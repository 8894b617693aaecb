r"""``tnn study``: the quick end-to-end learnability study (SSH winding numbers), on the local CPU.

What it does, with the library only (:mod:`tnn.data`, :mod:`tnn.models`, :mod:`tnn.train`):

1. Generates three datasets under ``<out>/data/`` (:func:`tnn.data.generate`: resumable,
   bit-identical for equal specs), all from the ``ssh`` presets (open chains, hoppings of ranges
   ``(-1, 0, 1, 2)`` uniform in ``[-1, 1]``, windings ``{-1, 0, 1, 2}`` balanced, labels = the
   rounded real-space winding number):

   * ``ssh``: ``size`` cells, ``n`` samples split train/val/test by ``splits`` (test split =
     the **test** set, same length as training);
   * ``transfer``: the same distribution at ``transfer_size`` cells (the **transfer** set);
   * ``disorder``: the ``ssh-bond`` preset (chiral bond disorder ``W`` in {0.5, 1.0}) at ``size``
     cells (the **disorder** set).

   Samples flagged ``ill_defined`` (gapless at that size, see :mod:`tnn.data`) are left out of
   training and of every metric; the counts are reported.
2. Trains every model of ``models`` the same way (:func:`tnn.train.fit`, one ensemble member per
   seed of ``seeds``, same optimizer, epochs, batch size and validation split), each in its own
   results folder ``<out>/runs/<model>/`` (resumable after a kill).
3. Evaluates each member on each test set (:func:`tnn.train.evaluate`): accuracy and per-class
   accuracy over the gapped samples. A model whose parameters do not fit the transfer lattice (the
   MLP: fixed input size) gets ``n/a`` there. The exact topo model is also evaluated untrained
   (``stage = "init"``): it computes the labelling invariant itself, so its accuracy must be 1 on
   every gapped sample -- the study's built-in sanity check.

Results folder (``out``, default ``results/study``)::

    config.json     the StudyConfig, the dataset specs, versions
    metrics.csv     one row per (model, stage, seed, split): n, acc, acc_<class>, loss, mae, ece, epochs
    report.md       tables of the results, dataset sizes, seeds, runtime; what was measured
    accuracy.png    accuracy per model and test set (mean over seeds, min-max bars, one marker per
                    seed, chance line), and the validation accuracy per epoch, one line per seed
    data/<name>/    the datasets (tnn.data folders; most of the folder's size, deleted at the end
                    with ``keep_datasets=False`` / ``tnn study --no-keep-datasets``)
    runs/<model>/   tnn.train results folders (config, metrics per epoch, checkpoint, params,
                    learning curves) + eval.json (this model's test metrics, reused on a rerun)

A rerun with the same config reuses finished datasets, trainings and evaluations and writes the
same ``metrics.csv``; a rerun after a kill finishes what was missing. A different config in an
existing folder is refused (``ValueError`` naming ``out``).
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import sys
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np

from tnn._checks import is_int as _is_int, seed_tuple

__all__ = ["StudyConfig", "STUDY_MODELS", "SPLITS", "run_study", "results_table", "sanity", "register_cli"]

#: study model name -> (tnn.models name, init)
STUDY_MODELS = {
    "topo-exact": ("topo", "exact"),
    "topo-random": ("topo", "random"),
    "mlp": ("mlp", "default"),
    "cnn": ("cnn", "default"),
    "resnet": ("resnet", "default"),
    "symmetric": ("symmetric", "default"),
}
#: test sets: name -> (dataset, split of that dataset)
SPLITS = {"test": ("ssh", "test"), "transfer": ("transfer", "test"), "disorder": ("disorder", "test")}
#: features stored in the datasets: topo reads the eigensystem, the baselines the Hamiltonian
_FEATURES = ("wavefunctions", "hamiltonian")
#: the study's fields that do not change its results (ignored when a folder is reused)
_NOT_RESULTS = ("out",)


def _err(field: str, msg: str, value) -> ValueError:
    return ValueError(f"StudyConfig field `{field}` {msg}, got {value!r}.")


@dataclasses.dataclass(frozen=True)
class StudyConfig:
    """What a study runs (saved as ``config.json``). :meth:`validate` raises ``ValueError`` naming
    the field.

    Fields:
      seeds: training seeds, one ensemble member per seed (init and data order of every model).
      data_seed: seed of the datasets (``ssh``: ``data_seed``, ``transfer``: ``+1``,
        ``disorder``: ``+2``).
      size: chain length (cells) of the training, validation and test samples.
      transfer_size: chain length of the size-transfer test set.
      n: samples of the ``ssh`` dataset, split train/val/test by ``splits``.
      splits: fractions (train, val, test) of ``n``.
      n_transfer: samples of the transfer set (0: no transfer set).
      n_disorder: samples of the bond-disorder set (0: no disorder set).
      models: study model names, keys of :data:`STUDY_MODELS`.
      epochs: training epochs (no early stopping: every model sees the same number of steps).
      batch_size: training batch size.
      learning_rate: Adam learning rate (constant).
      width, depth: hidden channels/units and layers of the baselines (mlp, cnn, resnet, symmetric).
      channels: K, the tensor-network channels of topo.
      out: the results folder.
    """

    seeds: tuple[int, ...] = (0, 1)
    data_seed: int = 0
    size: int = 32
    transfer_size: int = 64
    n: int = 1500
    splits: tuple[float, float, float] = (0.7, 0.1, 0.2)
    n_transfer: int = 400
    n_disorder: int = 600
    models: tuple[str, ...] = tuple(STUDY_MODELS)
    epochs: int = 20
    batch_size: int = 32
    learning_rate: float = 3e-3
    width: int = 16
    depth: int = 2
    channels: int = 2
    out: str = "results/study"

    @classmethod
    def quick(cls, **overrides) -> "StudyConfig":
        """A smaller study (``tnn study --quick``): shorter chains, fewer samples and epochs."""
        kw = dict(size=16, transfer_size=32, n=600, n_transfer=200, n_disorder=300, epochs=6, width=8)
        kw.update(overrides)
        return cls(**kw)

    def validate(self) -> "StudyConfig":
        """Check every field; return the config with tuples and plain Python numbers."""
        seeds = seed_tuple(self.seeds, _err)
        if not _is_int(self.data_seed) or not 0 <= self.data_seed < 2**62:
            raise _err("data_seed", "must be a non-negative int", self.data_seed)
        # the largest hopping range is 2: an open chain needs 3 cells, the bulk trace a few more
        for f in ("size", "transfer_size"):
            v = getattr(self, f)
            if not _is_int(v) or v < 8:
                raise _err(f, "must be an int >= 8 (cells)", v)
        try:
            splits = tuple(float(s) for s in self.splits)
        except (TypeError, ValueError):
            raise _err("splits", "must be three fractions (train, val, test)", self.splits) from None
        if len(splits) != 3 or not all(0 < s < 1 for s in splits) or abs(sum(splits) - 1) > 1e-9:
            raise _err("splits", "must be three fractions in (0, 1) summing to 1", self.splits)
        if not _is_int(self.batch_size) or self.batch_size < 1:
            raise _err("batch_size", "must be a positive int", self.batch_size)
        if not _is_int(self.n) or self.n < 1:
            raise _err("n", "must be a positive int", self.n)
        if int(round(splits[0] * self.n)) < self.batch_size or int(round(splits[2] * self.n)) < 1:
            raise _err("n", f"must give at least batch_size={self.batch_size} training and one test sample "
                       f"with splits={splits}", self.n)
        for f in ("n_transfer", "n_disorder"):
            v = getattr(self, f)
            if not _is_int(v) or v < 0:
                raise _err(f, "must be an int >= 0 (0: no such test set)", v)
        try:
            models = (self.models,) if isinstance(self.models, str) else tuple(self.models)
        except TypeError:
            raise _err("models", f"must be a tuple of names from {tuple(STUDY_MODELS)}", self.models) from None
        if not models or len(set(models)) != len(models) or any(m not in STUDY_MODELS for m in models):
            raise _err("models", f"must be a non-empty tuple of distinct names from {tuple(STUDY_MODELS)}", self.models)
        if not _is_int(self.epochs) or self.epochs < 1:
            raise _err("epochs", "must be a positive int", self.epochs)
        lr = self.learning_rate
        if not isinstance(lr, (int, float, np.integer, np.floating)) or isinstance(lr, bool) or not math.isfinite(lr) or lr <= 0:
            raise _err("learning_rate", "must be a finite number > 0", lr)
        if not _is_int(self.width) or self.width < 1:
            raise _err("width", "must be a positive int", self.width)
        if not _is_int(self.depth) or self.depth < 0:
            raise _err("depth", "must be an int >= 0", self.depth)
        if not _is_int(self.channels) or self.channels < 1:
            raise _err("channels", "must be a positive int", self.channels)
        if not isinstance(self.out, (str, Path)) or not str(self.out):
            raise _err("out", "must be a non-empty path", self.out)
        return dataclasses.replace(
            self, seeds=tuple(int(s) for s in seeds), data_seed=int(self.data_seed), splits=splits, models=models,
            learning_rate=float(lr), out=str(self.out),
        )

    # ------------------------------------------------------------------ derived
    def dataset_specs(self) -> dict:
        """``{name: tnn.data.DatasetSpec}`` of the study's datasets (see the module docstring)."""
        from tnn import data

        common = dict(features=_FEATURES)
        specs = {"ssh": data.preset("ssh", size=self.size, n=self.n, seed=self.data_seed, splits=self.splits, **common)}
        if self.n_transfer:
            specs["transfer"] = data.preset("ssh", size=self.transfer_size, n=self.n_transfer, seed=self.data_seed + 1,
                                            splits=(0.0, 0.0, 1.0), **common)
        if self.n_disorder:
            specs["disorder"] = data.preset("ssh-bond", size=self.size, n=self.n_disorder, seed=self.data_seed + 2,
                                            splits=(0.0, 0.0, 1.0), **common)
        return specs

    def model_config(self, name: str, classes: tuple[int, ...]):
        """The :class:`tnn.models.ModelConfig` of study model ``name``."""
        from tnn.models import ModelConfig

        arch, init = STUDY_MODELS[name]
        if arch == "topo":
            return ModelConfig("topo", classes=classes, init=init, channels=self.channels).validate()
        return ModelConfig(arch, classes=classes, width=self.width, depth=self.depth).validate()

    def train_config(self):
        """The :class:`tnn.train.TrainConfig` shared by every model."""
        from tnn.train import TrainConfig

        return TrainConfig(seeds=self.seeds, epochs=self.epochs, batch_size=self.batch_size,
                           learning_rate=self.learning_rate, eval_train=False, val_fraction=0.0).validate()


# ------------------------------------------------------------------------------------ running
def _check_folder(out: Path, config: StudyConfig) -> None:
    """Refuse a folder that holds a study of a different config (the runs there would not match)."""
    from tnn import results as io

    path = out / "config.json"
    if not path.exists():
        return
    saved = io.read_json(path).get("study", {})
    now = io.to_jsonable(config)
    diff = [k for k in now if k not in _NOT_RESULTS and saved.get(k) != now[k]]
    if diff:
        raise ValueError(
            f"StudyConfig field `out`: {out} holds a study with a different config (fields {diff}); "
            "choose another folder or delete that one."
        )


def _eval_key(mcfg, tcfg, digests: dict) -> dict:
    from tnn import results as io

    return io.to_jsonable({"model": mcfg, "train": tcfg, "datasets": digests})


def _fits_lattice(model, params, other, x_other) -> bool:
    """Whether ``params`` (one member of ``model``) have the shapes ``other`` (same config, another
    lattice) expects: size-agnostic models do, the MLP (fixed input size) does not."""
    import jax

    # a real init on one sample (cheap; topo's init is NumPy code that eval_shape cannot trace)
    want = other.init(jax.random.key(0), jax.tree_util.tree_map(lambda a: a[:1], other.prepare(x_other)))
    return jax.tree_util.tree_structure(want) == jax.tree_util.tree_structure(params) and all(
        np.shape(w) == np.shape(h) for w, h in zip(jax.tree_util.tree_leaves(want), jax.tree_util.tree_leaves(params))
    )


def run_study(config: StudyConfig, *, log: Callable[[str], None] | None = None, progress: bool = False,
              keep_datasets: bool = True) -> dict:
    """Run (or resume) the study ``config``; write the results folder; return a summary.

    ``log`` receives one line per step (datasets, models; "resumed" when a step continues a killed
    run); ``progress`` shows tqdm bars inside the long steps (shards of each dataset, epochs of each
    training). ``keep_datasets=False`` deletes ``<out>/data/`` (most of the folder's size) once
    every model is evaluated; a rerun then regenerates the datasets (bit-identical) and reuses the
    trained models.

    Returns a dict with ``rows`` (the rows of ``metrics.csv``), ``datasets`` (name -> sizes),
    ``runs`` (model -> training info), ``reused`` (models whose training and evaluation were
    reused from an earlier run), ``sizes`` (bytes of ``data/``, ``runs/`` and the whole folder),
    ``seconds`` and ``out``.
    """
    import jax

    import tnn
    from tnn import data, results as io
    from tnn.models import count_params, make_model
    from tnn.train import dataset_classes, evaluate, fit, load_dataset

    t_start = time.perf_counter()
    if not isinstance(config, StudyConfig):
        raise ValueError(f"Argument `config` must be a tnn.study.StudyConfig, got {type(config).__name__}.")
    config = config.validate()
    log = log or (lambda s: None)
    tnn.enable_x64()  # the labels and topo's exact contraction are float64 (docs/conventions.md, DESIGN.md)
    out = Path(config.out)
    if out.exists() and not out.is_dir():
        raise ValueError(f"StudyConfig field `out`: {out} exists and is not a folder.")
    _check_folder(out, config)
    specs = config.dataset_specs()
    tcfg = config.train_config()
    io.write_json(out / "config.json", {
        "study": config,
        "train": tcfg,
        "datasets": {k: s.to_dict() for k, s in specs.items()},
        "versions": {"tnn": tnn.__version__, "jax": jax.__version__},
    })

    # ---- datasets
    sets, ds_info = {}, {}
    for name, spec in specs.items():
        t0 = time.perf_counter()
        ds = data.generate(spec, out / "data" / name, progress=progress)
        sets[name] = ds
        ds_report = getattr(ds, "report", None) or {}
        written, kept = len(ds_report.get("written", ())), len(ds_report.get("kept", ()))
        ill = {s: int(ds.load(s, ("ill_defined",))["ill_defined"].astype(bool).sum()) for s in ("train", "val", "test")}
        quality = label_quality(ds)
        ds_info[name] = {"preset": spec.name, "L": spec.size[0], "pbc": spec.pbc, "disorder": spec.disorder,
                         "W": list(spec.strength.args) if spec.disorder != "none" else [0.0], "seed": spec.seed,
                         "n": spec.n, "digest": spec.digest(),
                         **{f"n_{s}": ds.n_split(s) for s in ("train", "val", "test")},
                         **{f"ill_defined_{s}": ill[s] for s in ("train", "val", "test")}, **quality}
        state = (f"resumed: {kept} shards kept, {written} computed" if written and kept
                 else "new" if written else "reused")
        log(f"data {name:9s} L={spec.size[0]:<4d} n={spec.n:<5d} ({state}, {time.perf_counter() - t0:.1f} s)")
    classes = dataset_classes(sets["ssh"])
    digests = {k: v["digest"] for k, v in ds_info.items()}
    splits = {k: v for k, v in SPLITS.items() if v[0] in sets}

    cache: dict = {}

    def load(ds_name: str, split: str, mcfg):
        k = (ds_name, split, mcfg.resolved_input())
        if k not in cache:
            cache[k] = load_dataset(sets[ds_name], mcfg, split)
        return cache[k]

    # ---- models: train (or resume), evaluate (or reuse)
    runs, reused, rows = {}, [], []
    for mname in config.models:
        mcfg = config.model_config(mname, classes)
        run_dir = out / "runs" / mname
        key = _eval_key(mcfg, tcfg, digests)
        ev_path = run_dir / "eval.json"
        ev = io.read_json(ev_path) if ev_path.exists() else None
        if ev is not None and ev.get("key") == key:
            reused.append(mname)
            log(f"model {mname:11s} reused ({run_dir})")
        else:
            t0 = time.perf_counter()
            x, y, lat, info = load("ssh", "train", mcfg)
            vx, vy, _, _ = load("ssh", "val", mcfg)
            model = make_model(mcfg, lat)
            if (run_dir / "checkpoint.npz").exists():
                log(f"model {mname:11s} resumed from the checkpoint of an earlier run ({run_dir})")
            res = fit(model, tcfg, (x, y), (vx, vy), results_dir=run_dir, resume=True,
                      progress=f"train {mname}" if progress else False,
                      extra_config={"data": info, "study": str(out)})
            members = [res.member(i) for i in range(len(res.seeds))]
            stages = [("trained", members)]
            if mname == "topo-exact":  # the sanity check: the exact tensors, untrained
                x1 = jax.tree_util.tree_map(lambda a: a[:1], model.prepare(x))
                stages.append(("init", [model.init(jax.random.key(s), x1) for s in res.seeds]))
            ev_rows = []
            for split, (ds_name, ds_split) in splits.items():
                tx, ty, tlat, tinfo = load(ds_name, ds_split, mcfg)
                tmodel = model if tlat == lat else make_model(mcfg, tlat)
                fits = tmodel is model or _fits_lattice(model, members[0], tmodel, tx)
                for stage, plist in stages:
                    for s, p in zip(res.seeds, plist):
                        row: dict[str, Any] = {"model": mname, "stage": stage, "seed": s, "split": split,
                                               "L": tinfo["size"][0], "n": tinfo["n"],
                                               "n_ill_defined": tinfo["dropped_ill_defined"],
                                               "epochs": res.epochs_run if stage == "trained" else 0}
                        if fits and tinfo["n"] > 0:
                            m = evaluate(tmodel, p, (tx, ty))
                            row.update({"acc": m["acc"], **{f"acc_{c}": m[f"acc_{c}"] for c in classes},
                                        "loss": m["loss"], "mae": m["mae"], "ece": m.get("ece")})
                        else:
                            row["note"] = "n/a: parameters depend on the input size" if not fits else "n/a: no gapped sample"
                        ev_rows.append(row)
            hist = res.history
            train_s = sum(max(r["time_s"] for r in hist if r["epoch"] == e) for e in sorted({r["epoch"] for r in hist}))
            ev = {"key": key, "rows": ev_rows, "n_params": count_params(members[0]), "epochs": res.epochs_run,
                  "train_seconds": train_s, "input": mcfg.resolved_input(),
                  "encoding": "-" if mcfg.name == "topo" else mcfg.resolved_encoding(lat),
                  "val_acc": {str(s): [r.get("val_acc") for r in hist if r["seed"] == s] for s in res.seeds}}
            io.write_json(ev_path, ev)
            log(f"model {mname:11s} {res.epochs_run} epochs x {len(res.seeds)} seeds, {count_params(members[0])} "
                f"params, {time.perf_counter() - t0:.1f} s")
        runs[mname] = {k: ev[k] for k in ("n_params", "epochs", "train_seconds", "input", "encoding", "val_acc")}
        rows.extend(ev["rows"])

    columns = ["model", "stage", "seed", "split", "L", "n", "n_ill_defined", "epochs", "acc",
               *[f"acc_{c}" for c in classes], "loss", "mae", "ece", "note"]
    io.write_csv(out / "metrics.csv", rows, columns=columns)
    summary = {"rows": rows, "datasets": ds_info, "runs": runs, "reused": reused, "classes": list(classes),
               "splits": list(splits), "seconds": time.perf_counter() - t_start, "out": str(out)}
    _plot(out / "accuracy.png", summary, config)
    if not keep_datasets:
        import shutil

        shutil.rmtree(out / "data", ignore_errors=True)
    summary["sizes"] = {"data": _folder_bytes(out / "data"), "runs": _folder_bytes(out / "runs")}
    summary["sizes"]["total"] = _folder_bytes(out)  # report.md (a few kB) comes after
    summary["keep_datasets"] = keep_datasets
    io.atomic_write_text(out / "report.md", _report(summary, config, tcfg))
    return summary


def _folder_bytes(path: Path) -> int:
    """Bytes of the files under ``path`` (0 if it does not exist)."""
    return sum(p.stat().st_size for p in Path(path).rglob("*") if p.is_file()) if Path(path).exists() else 0


def _mb(n: int) -> str:
    return f"{n / 1e6:.1f} MB"


# ------------------------------------------------------------------------------------ summaries
def label_quality(ds) -> dict:
    """Label quality of a dataset: ``valid_fraction`` (certified samples, all splits) and
    ``clean_agree`` (the share of valid clean samples whose label equals the k-space class; None
    when there is no clean valid sample)."""
    d = ds.load("all", ("invalid", "strength", "class", "kspace_class", "kspace_gapless"))
    invalid = d["invalid"].astype(bool)
    clean = (d["strength"] == 0) & ~invalid & ~d["kspace_gapless"].astype(bool)
    agree = float(np.mean(d["class"][clean] == d["kspace_class"][clean])) if clean.any() else None
    return {"valid_fraction": float(1.0 - invalid.mean()), "clean_agree": agree, "n_clean_valid": int(clean.sum())}


def _quality_cell(d) -> str:
    agree = "n/a" if d.get("clean_agree") is None else f"{100 * d['clean_agree']:.1f}% of {d['n_clean_valid']}"
    return f"{100 * d['valid_fraction']:.1f}% / {agree}"


def _cells(rows, model: str, split: str, stage: str = "trained", key: str = "acc") -> list[float] | None:
    """The values of ``key`` over seeds; None if the model has no number there (n/a)."""
    sel = [r for r in rows if r["model"] == model and r["split"] == split and r["stage"] == stage]
    vals = [r.get(key) for r in sel]
    if not sel or any(v is None for v in vals):
        return None
    return [float(v) for v in vals]


def _fmt(vals: list[float] | None) -> str:
    """``mean [min, max]`` over seeds, or ``n/a``."""
    if vals is None:
        return "n/a"
    if any(math.isnan(v) for v in vals):
        return "--"
    if len(vals) == 1:
        return f"{vals[0]:.3f}"
    return f"{np.mean(vals):.3f} [{min(vals):.3f}, {max(vals):.3f}]"


def sanity(summary: dict) -> tuple[bool, list[tuple[str, list[float] | None]]]:
    """The exact topo model untrained: accuracy per split (all seeds); passes iff every one is 1."""
    per = [(sp, _cells(summary["rows"], "topo-exact", sp, "init")) for sp in summary["splits"]]
    ok = all(v is not None and all(a == 1.0 for a in v) for _, v in per)
    return ok, per


def results_table(summary: dict) -> str:
    """The compact table printed at the end: accuracy per model and test set."""
    ds = summary["datasets"]
    heads = [f"{sp} (L={ds[SPLITS[sp][0]]['L']})" for sp in summary["splits"]]
    models = list(dict.fromkeys(r["model"] for r in summary["rows"]))
    w = max(len(m) for m in models + ["model"])
    lines = [f"{'model':{w}s}  " + "  ".join(f"{h:25s}" for h in heads)]
    for m in models:
        lines.append(f"{m:{w}s}  " + "  ".join(f"{_fmt(_cells(summary['rows'], m, sp)):25s}" for sp in summary["splits"]))
    return "\n".join(line.rstrip() for line in lines)


def _report(summary: dict, config: StudyConfig, tcfg) -> str:
    rows, ds, runs, classes = summary["rows"], summary["datasets"], summary["runs"], summary["classes"]
    seeds = ", ".join(str(s) for s in config.seeds)
    L = []
    L.append("# tnn study: learning the SSH winding number\n")
    L.append(
        "What was measured: each model below was trained with `tnn.train.fit` on the training split of the "
        f"`ssh` dataset (open chains of {config.size} cells, windings {{{', '.join(map(str, classes))}}}, label = the "
        "rounded real-space winding number), with the same optimizer, epochs and batch size, once per seed "
        f"({seeds}). Each trained model was then scored on every test set: "
        + ", ".join(
            {"test": "the test split of the same dataset",
             "transfer": f"a size-transfer set of the same distribution at {config.transfer_size} cells",
             "disorder": "a set with chiral bond disorder (W in {0.5, 1}) at the training length"}[sp]
            for sp in summary["splits"])
        + ". Only gapped samples count (samples flagged `ill_defined` by `tnn.data`: gapless at that size, or with "
        "an undefined invariant, are left out "
        "of training and testing; their numbers are in the dataset table). Accuracy is the fraction of "
        "correctly classified samples; the tables give the "
        "mean over seeds and, in brackets, the smallest and largest seed. `n/a`: the model's parameters have a "
        "shape fixed by the input size, so it cannot be applied to the other length. Nothing beyond these "
        "numbers is claimed here.\n"
    )
    ok, per = sanity(summary)
    if "topo-exact" in runs:
        detail = ", ".join(f"{sp} {_fmt(v)}" for sp, v in per)
        L.append(
            f"**Sanity check: {'PASS' if ok else 'FAIL'}.** The exact topo model, untrained (its tensors are those of "
            "the winding-number contraction), must classify every gapped sample correctly, since it computes the "
            f"labelling invariant itself. Accuracy untrained: {detail}.\n"
        )
    L.append("## Accuracy\n")
    heads = [f"{sp} (L={ds[SPLITS[sp][0]]['L']})" for sp in summary["splits"]]
    L.append("| model | " + " | ".join(heads) + " |")
    L.append("|---|" + "---|" * len(heads))
    models = list(dict.fromkeys(r["model"] for r in rows))
    for m in models:
        L.append(f"| {m} | " + " | ".join(_fmt(_cells(rows, m, sp)) for sp in summary["splits"]) + " |")
    L.append("")
    L.append("Per-class accuracy on the test set (mean over seeds):\n")
    L.append("| model | " + " | ".join(f"W = {c}" for c in classes) + " |")
    L.append("|---|" + "---|" * len(classes))
    for m in models:
        cells = []
        for c in classes:
            v = _cells(rows, m, "test", key=f"acc_{c}")
            cells.append("n/a" if v is None else ("--" if any(math.isnan(a) for a in v) else f"{np.mean(v):.3f}"))
        L.append(f"| {m} | " + " | ".join(cells) + " |")
    L.append("")
    L.append("## Datasets\n")
    L.append("| name | preset | L | disorder W | seed | train | val | test | ill-defined (train/val/test, left out) "
             "| label quality: valid / clean valid = k space |")
    L.append("|---|---|---|---|---|---|---|---|---|---|")
    for name, d in ds.items():
        w = "none" if d["disorder"] == "none" else "bond " + "/".join(f"{x:g}" for x in d["W"])
        L.append(f"| {name} | {d['preset']} | {d['L']} | {w} | {d['seed']} | {d['n_train']} | {d['n_val']} | {d['n_test']} "
                 f"| {d['ill_defined_train']}/{d['ill_defined_val']}/{d['ill_defined_test']} "
                 f"| {_quality_cell(d)} |")
    L.append("\nAll chains are open; hoppings of ranges (-1, 0, 1, 2) drawn uniformly in [-1, 1], windings balanced "
             "(`tnn.data` presets `ssh`, `ssh-bond`). Labels are the real-space winding numbers; a sample counts only "
             "when its value is certified (`tnn.validity`: the ground-state correlations are localized well inside "
             "the chain, the value within 0.25 of an integer), disordered samples included. *Label quality*: the "
             "valid fraction, and for clean samples the share of valid labels equal to the k-space winding (every "
             "accuracy above is measured against these labels).\n")
    L.append("## Models and training\n")
    L.append("| model | input | encoding | parameters | epochs | training time incl. validation (s) |")
    L.append("|---|---|---|---|---|---|")
    for m, r in runs.items():
        L.append(f"| {m} | {r['input']} | {r['encoding']} | {r['n_params']} | {r['epochs']} | {r['train_seconds']:.1f} |")
    L.append(
        f"\nTraining (`tnn.train.TrainConfig`): {tcfg.optimizer}, learning rate {tcfg.learning_rate:g} ({tcfg.schedule}), "
        f"batch size {tcfg.batch_size}, {tcfg.epochs} epochs, no early stopping, validation = the dataset's val "
        f"split; seeds {seeds} (one ensemble member each: initialization and data order). Baselines: width "
        f"{config.width}, depth {config.depth}; topo: {config.channels} channels. float64 throughout.\n"
    )
    L.append("## Runtime\n")
    reused = summary["reused"]
    L.append(f"This invocation: {summary['seconds']:.1f} s"
             + (f" (training and evaluation reused from an earlier run for: {', '.join(reused)})" if reused else "")
             + ". Training times above are those of the run that trained each model (both seeds together).\n")
    L.append("## Files\n")
    sz = summary.get("sizes", {})
    data_note = (f"`data/<name>/` (the datasets, {_mb(sz.get('data', 0))}; `tnn study --no-keep-datasets` deletes "
                 "them at the end, and a rerun regenerates them bit-identically)" if summary.get("keep_datasets", True)
                 else "no `data/` (deleted at the end: `--no-keep-datasets`; a rerun regenerates it bit-identically)")
    L.append("`config.json` (the study config and dataset specs), `metrics.csv` (one row per model, stage, seed and "
             "test set; `stage = init` rows are the untrained exact topo model), `accuracy.png`, " + data_note
             + f", `runs/<model>/` (training folders: per-epoch metrics, checkpoint, parameters, learning "
             f"curves; {_mb(sz.get('runs', 0))}). The folder holds {_mb(sz.get('total', 0))} in all.\n")
    return "\n".join(L)


_SEED_MARKERS = ("o", "s", "^", "D", "v")


def _plot(path: Path, summary: dict, config: StudyConfig) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    rows, ds = summary["rows"], summary["datasets"]
    models = list(dict.fromkeys(r["model"] for r in rows))
    splits = summary["splits"]
    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(13, 4.2), gridspec_kw={"width_ratios": [3, 2]})
    bw = 0.8 / len(splits)
    for j, sp in enumerate(splits):
        label = f"{sp} (L={ds[SPLITS[sp][0]]['L']})"
        for i, m in enumerate(models):
            xpos = i + (j - (len(splits) - 1) / 2) * bw
            vals = _cells(rows, m, sp)
            if vals is None:
                ax.text(xpos, 0.02, "n/a", ha="center", va="bottom", fontsize=7, rotation=90)
                continue
            mean = float(np.mean(vals))
            ax.bar(xpos, mean, bw * 0.95, color=f"C{j}", label=label if i == 0 or label not in ax.get_legend_handles_labels()[1] else None,
                   yerr=[[mean - min(vals)], [max(vals) - mean]], capsize=2, error_kw={"lw": 0.8})
            for k, v in enumerate(vals):
                ax.plot([xpos], [v], _SEED_MARKERS[k % len(_SEED_MARKERS)], color="k", ms=4, mfc="none")
    chance = 1.0 / max(1, len(summary["classes"]))
    ax.set_xticks(range(len(models)), models, rotation=15)
    ax.set_ylabel("accuracy (gapped samples)")
    ax.set_ylim(0, 1.05)
    ax.axhline(1.0, color="k", lw=0.5)
    ax.axhline(chance, color="0.3", ls=":", lw=1.2, label=f"chance (1/{len(summary['classes'])})")
    ax.set_title("bars: mean over seeds, whiskers: min-max; " + ", ".join(
        f"{_SEED_MARKERS[k % len(_SEED_MARKERS)]} seed {s}" for k, s in enumerate(config.seeds)), fontsize=9)
    ax.legend(fontsize=7, loc="lower left")
    # one line per seed: seeds that disagree (one learns, one does not) must not be averaged away
    styles = ["-", "--", ":", "-."]
    for i, (m, r) in enumerate(summary["runs"].items()):
        for k, (seed, c) in enumerate(r["val_acc"].items()):
            if c and all(a is not None for a in c):
                ax2.plot(np.arange(1, len(c) + 1), c, styles[k % len(styles)],
                         marker=_SEED_MARKERS[k % len(_SEED_MARKERS)], ms=3, color=f"C{i}", label=m if k == 0 else None)
    ax2.axhline(chance, color="0.3", ls=":", lw=1.2)
    ax2.set(xlabel="epoch", ylabel="validation accuracy", ylim=(0, 1.05),
            title="learning curves, one line per seed (" + ", ".join(
                f"{styles[k % len(styles)]} seed {s}" for k, s in enumerate(config.seeds)) + ")")
    ax2.title.set_fontsize(9)
    ax2.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax2.grid(alpha=0.3)
    ax2.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    tmp = path.with_name(".tmp-" + path.name)
    fig.savefig(tmp, dpi=110, format="png")
    plt.close(fig)
    tmp.replace(path)


# ------------------------------------------------------------------------------------ CLI
def register_cli(sub) -> None:
    """Add ``tnn study`` to the ``tnn`` command (see :mod:`tnn.cli`)."""
    d = StudyConfig()
    p = sub.add_parser(
        "study", help="the quick learnability study: SSH datasets, six models, test/transfer/disorder accuracy",
        description="Generate SSH datasets, train topo (exact and random init), MLP, CNN, ResNet and the symmetric "
                    "net over seeds, and score them on a test set, a size-transfer set and a disorder set. "
                    "Writes config.json, metrics.csv, report.md and accuracy.png to --out; rerunning resumes.",
    )
    p.add_argument("--out", default=None, help=f"results folder (default {d.out}; {d.out}-quick with --quick)")
    p.add_argument("--quick", action="store_true", help="a smaller study (shorter chains, fewer samples and epochs)")
    p.add_argument("--seeds", type=int, nargs="+", default=None, help=f"training seeds (default {' '.join(map(str, d.seeds))})")
    p.add_argument("--data-seed", type=int, default=None, help=f"dataset seed (default {d.data_seed})")
    p.add_argument("--models", nargs="+", default=None, choices=tuple(STUDY_MODELS), metavar="MODEL",
                   help=f"models, from {', '.join(STUDY_MODELS)} (default: all)")
    p.add_argument("--size", type=int, default=None, help=f"training chain length in cells (default {d.size})")
    p.add_argument("--transfer-size", type=int, default=None, help=f"transfer chain length (default {d.transfer_size})")
    p.add_argument("--n", type=int, default=None, help=f"samples of the training dataset (default {d.n})")
    p.add_argument("--epochs", type=int, default=None, help=f"training epochs (default {d.epochs})")
    p.add_argument("--no-progress", action="store_true", help="no per-step lines or progress bars while running")
    p.add_argument("--keep-datasets", action=argparse.BooleanOptionalAction, default=True,
                   help="keep the datasets in <out>/data/ (most of the folder's size: about 245 MB of 256 MB for "
                        "the default study). --no-keep-datasets deletes them at the end; a rerun regenerates them "
                        "(bit-identical) and reuses the trained models")
    p.set_defaults(func=_main)


def _main(args: argparse.Namespace) -> int:
    over = {k: v for k, v in {
        "seeds": tuple(args.seeds) if args.seeds else None, "data_seed": args.data_seed,
        "models": tuple(args.models) if args.models else None, "size": args.size,
        "transfer_size": args.transfer_size, "n": args.n, "epochs": args.epochs,
    }.items() if v is not None}
    over["out"] = args.out or ("results/study-quick" if args.quick else StudyConfig.out)
    config = StudyConfig.quick(**over) if args.quick else StudyConfig(**over)
    log = None if args.no_progress else (lambda s: print(s, file=sys.stderr, flush=True))
    summary = run_study(config, log=log, progress=not args.no_progress, keep_datasets=args.keep_datasets)
    print(results_table(summary))
    ok, _ = sanity(summary)
    if "topo-exact" in summary["runs"]:
        print(f"sanity check (exact topo, untrained, = 1 on every gapped sample): {'PASS' if ok else 'FAIL'}")
    out = summary["out"]
    print(f"done in {summary['seconds']:.1f} s -> {out}/report.md, {out}/metrics.csv, {out}/accuracy.png")
    sz = summary["sizes"]
    print(f"{out} holds {_mb(sz['total'])}: datasets {_mb(sz['data'])}"
          + (" (--no-keep-datasets deletes them at the end)" if args.keep_datasets else " (deleted: --no-keep-datasets)")
          + f", training runs {_mb(sz['runs'])}")
    return 0 if ok or "topo-exact" not in summary["runs"] else 1
