"""Running (or resuming) a study: datasets, trainings, evaluations and the analysis parts.

Every unit of work leaves a file that a rerun trusts: a dataset (``tnn.data``, resumable), a
training folder (``tnn.train.fit``, resumable from its checkpoint) with ``eval.json`` (its test
metrics, keyed by the model, training and dataset digests), and one ``parts/<name>.json`` per
analysis (keyed by the study config). A rerun after a kill recomputes only what has no such file.
"""

from __future__ import annotations

import dataclasses
import gc
import os
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np

from tnn.study.config import FEATURES, NOT_RESULTS, SETS_2D, STUDY_MODELS, TRANSFER_FEATURES, StudyConfig, run_tag
from tnn.study.jobs import HELPER, MAIN, Claims

__all__ = ["run_study", "label_quality", "eval_sets_1d", "GAP_BINS", "score_member", "member_fits", "peak_gb"]

#: the study's main dataset (clean SSH chains at the training size): what the analyses read
MAIN_SET = "ssh"
#: k-space gap bins of "accuracy against the distance to the nearest phase boundary"
GAP_BINS = (0.0, 0.05, 0.1, 0.2, 0.4, np.inf)
#: 2D models: study name -> (tnn.models name, init)
MODELS_2D = {"topo-exact": ("topo", "exact"), "cnn": ("cnn", "default"), "resnet": ("resnet", "default")}


def label_quality(ds) -> dict:
    """Label quality of a dataset (all splits): ``valid_fraction`` (samples with a label, not
    ill-defined), ``certified_fraction`` (real-space value certified by :mod:`tnn.validity`),
    ``realspace_agree`` (share of labelled samples whose rounded real-space value equals the label:
    the ceiling of any model that computes the real-space invariant at this size), ``clean_agree``
    (the same on clean certified samples against k space; None without any), ``sources`` (label
    source name -> count) and ``xi_median`` (median correlation length of the labelled samples, cells)."""
    have = set(ds.arrays)
    fields = ("invalid", "strength", "class", "kspace_class", "kspace_gapless", "ill_defined", "label")
    extra = tuple(f for f in ("label_source", "xi") if f in have)
    d = ds.load("all", fields + extra)
    invalid = d["invalid"].astype(bool)
    ok = ~d["ill_defined"].astype(bool)
    clean = (d["strength"] == 0) & ~invalid & ~d["kspace_gapless"].astype(bool)
    agree = float(np.mean(d["class"][clean] == d["kspace_class"][clean])) if clean.any() else None
    out = {"valid_fraction": float(ok.mean()), "certified_fraction": float(1.0 - invalid.mean()), "clean_agree": agree,
           "n_clean_valid": int(clean.sum()),
           "realspace_agree": float(np.mean(d["class"][ok] == d["label"][ok])) if ok.any() else None}
    if "label_source" in d:
        from tnn.data.exact import LABEL_SOURCES

        src = d["label_source"][ok]
        out["sources"] = {name: int(np.sum(src == code)) for code, name in LABEL_SOURCES.items() if np.any(src == code)}
    if "xi" in d:
        xi = d["xi"][ok]
        xi = xi[np.isfinite(xi)]
        out["xi_median"] = float(np.median(xi)) if xi.size else None
    return out


def _wname(prefix: str, w: float) -> str:
    return f"{prefix}-W{w:g}"


def test_offset(c: StudyConfig) -> int:
    """The first sample index of the test split of the study's main dataset: the transfer, periodic
    sets start there, so they hold the *same* parameter draws (the same clean Hamiltonians) at other
    sizes and boundary conditions (``DatasetSpec.index_offset``)."""
    from tnn import data

    return data.preset("ssh", size=c.size, n=c.n, seed=c.data_seed, splits=c.splits).split_ranges()["test"][0]


def dataset_specs(c: StudyConfig) -> dict:
    """``{name: tnn.data.DatasetSpec}`` of every dataset of the study.

    Labels are the presets' default: the exact reference of each sample (k space for clean chains,
    the zero-energy Lyapunov winding for chiral-disordered ones), every sample kept whatever its
    real-space certificate. The size-transfer and periodic sets rebuild the main test split's
    parameter draws (:func:`test_offset`), so accuracy against L compares the same Hamiltonians.
    """
    from tnn import data
    from tnn.data.spec import fixed

    s, L = c.data_seed, c.size
    # compact: the shards hold the labels and parameters only, features are rebuilt on loading
    # (results <= 300 MB with the datasets kept; a chain's rebuild is one SVD)
    f32 = dict(dtype="float32", compact=True)
    off = test_offset(c)
    same = dict(seed=s, index_offset=off, splits=(0.0, 0.0, 1.0), n=c.n_test, **f32)
    test = dict(splits=(0.0, 0.0, 1.0), n=c.n_test, features=FEATURES, **f32)
    dis = dict(test, n=c.n_test_disorder)
    specs = {"ssh": data.preset("ssh", size=L, n=c.n, seed=s, splits=c.splits, features=FEATURES, **f32)}
    for f in c.transfer_factors:
        specs[f"ssh-L{f * L}"] = data.preset("ssh", size=f * L, features=TRANSFER_FEATURES, **same)
    for i, w in enumerate(c.disorder):
        if w > 0:
            specs[_wname("bond", w)] = data.preset("ssh-bond", size=L, strength=fixed("W", w), seed=s + 30 + i, **dis)
    if "trainability" in c.sections:
        specs["phase"] = data.preset("ssh", size=c.phase_size, n=c.phase_n, seed=s + 60, splits=(0.5, 0.0, 0.5),
                                     features=("wavefunctions",), **f32)
    if "generalization" in c.sections:
        specs["periodic"] = data.preset("ssh-pbc", size=L, features=FEATURES, **same)
        # the unseen-windings runs read the eigensystem (topo) and the Hamiltonian (baselines) only
        f01 = ("wavefunctions", "hamiltonian")
        specs["ssh01"] = data.preset("ssh01", size=L, n=c.n, seed=s + 21, splits=c.splits, features=f01, **f32)
        specs["unseen"] = data.preset("ssh", size=L, classes=(-1, 2), seed=s + 22, **dict(test, features=f01))
        for i, w in enumerate(c.onsite):
            specs[_wname("onsite", w)] = data.preset("ssh-onsite", size=L, strength=fixed("W", w), seed=s + 40 + i, **dis)
    if "2d" in c.sections:
        # training: QWZ with Anderson disorder W in {0, 1, 2} (its labelled samples); tests: clean samples
        f2 = ("wavefunctions", "hamiltonian")
        common = dict(features=f2, dtype="float32", compact=True, shard_size=64, chunk_size=8)
        clean = dict(common, disorder="none", strength=fixed("W", 0.0), n=c.n_test_2d, splits=(0.0, 0.0, 1.0))
        specs["qwz"] = data.preset("qwz", size=c.size_2d, n=c.n_2d, seed=s + 50, splits=c.splits, **common)
        specs["qwz-test"] = data.preset("qwz", size=c.size_2d, seed=s + 53, **clean)
        specs["qwz-large"] = data.preset("qwz", size=c.test_size_2d, seed=s + 51, **clean)
        specs["haldane"] = data.preset("haldane", size=c.size_2d, seed=s + 52, **clean)
    return specs


def eval_sets_1d(c: StudyConfig) -> dict:
    """``{split name: (dataset, split)}`` the 1D models are scored on (clean test, sizes, disorder, periodic)."""
    out = {"test": ("ssh", "test")}
    for f in c.transfer_factors:
        out[f"L{f * c.size}"] = (f"ssh-L{f * c.size}", "test")
    for w in c.disorder:
        if w > 0:
            out[_wname("bond", w)] = (_wname("bond", w), "test")
    if "generalization" in c.sections:
        out["periodic"] = ("periodic", "test")
    return out


def _check_folder(out: Path, config: StudyConfig) -> None:
    from tnn import results as io

    path = out / "config.json"
    if not path.exists():
        return
    saved = io.read_json(path).get("study", {})
    now = io.to_jsonable(config)
    diff = [k for k in now if k not in NOT_RESULTS and saved.get(k) != now[k]]
    if diff:
        raise ValueError(
            f"StudyConfig field `out`: {out} holds a study with a different config (fields {diff}); "
            "choose another folder or delete that one."
        )


def peak_gb(children: bool = False) -> float:
    """Peak resident memory of this process so far, GB (``getrusage``; 0 where unavailable);
    ``children``: the largest of its finished child processes (the helper of a two-job study)."""
    try:
        import resource
        import sys

        kb = resource.getrusage(resource.RUSAGE_CHILDREN if children else resource.RUSAGE_SELF).ru_maxrss
        return kb / 2**30 if sys.platform == "darwin" else kb / 2**20  # bytes on macOS, KiB on Linux
    except (ImportError, OSError):
        return 0.0


def _folder_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in Path(path).rglob("*") if p.is_file()) if Path(path).exists() else 0


class _Study:
    """The state of one invocation: folders, open datasets, a cache of loaded splits, the bar."""

    def __init__(self, config: StudyConfig, log, progress: bool, claims: Claims):
        from tnn import results as io

        self.c, self.log, self.progress, self.claims = config, log, progress, claims
        self.from_helper = False  # the unit being read was computed by the helper process (not "reused")
        self.out = Path(config.out)
        self.key = io.to_jsonable({k: v for k, v in dataclasses.asdict(config).items() if k not in NOT_RESULTS})
        self.sets: dict = {}
        self.ds_info: dict = {}
        self._cache: dict = {}
        self.reused: list[str] = []
        self.seconds: dict[str, float] = {}
        self.bar = None

    # -------------------------------------------------------------- helpers
    def step(self, what: str) -> None:
        """One unit done: advance the bar, drop every compiled executable (later units run other
        programs; ``--quick`` peaked at 2.9 GB without this, 1.4 GB with it, for 4% more time; with
        JAX's persistent cache on, as in ``tnn study``, a program needed again is read from disk)."""
        import jax
        jax.clear_caches()
        gc.collect()
        if self.bar is not None:
            self.bar.set_postfix_str(what[:40], refresh=False)
            self.bar.update(1)

    def note_reused(self, name: str, what: str, where: str = "") -> None:
        """Log a finished unit read from disk: done by the helper process now, or by an earlier run."""
        if self.from_helper:
            self.log(f"{what} done by the helper process")
        else:
            self.reused.append(name)
            self.log(f"{what} reused{where}")

    def phase(self, units: list, run_one: Callable, need_all: bool = True) -> dict:
        """``{unit: run_one(item)}`` for ``units = [(unit, item), ...]`` (forward order), this
        process's share of a phase (:mod:`tnn.study.jobs`). The main process walks forward and reads
        a unit the helper holds once it is done; the helper walks backward, skips the main process's
        units and, with ``need_all``, reads them afterwards (the next phase needs them). The result
        is in the forward order."""
        cl = self.claims
        res: dict = {}
        if cl.role == MAIN:
            for unit, item in units:
                self.from_helper = not cl.take(unit) and cl.wait(unit)
                try:
                    res[unit] = run_one(item)
                finally:
                    self.from_helper = False
                cl.done(unit)
            return res
        for unit, item in reversed(units):
            if cl.take(unit):
                res[unit] = run_one(item)
                cl.done(unit)
        if need_all:
            for unit, item in units:
                if unit not in res:
                    if not cl.wait(unit):
                        raise SystemExit(0)  # the main process is gone: nothing to help with
                    res[unit] = run_one(item)
        return {u: res[u] for u, _ in units if u in res}

    def release(self, keep: str) -> None:
        """Free the cached arrays of every dataset but ``keep`` (a dataset name of the study)."""
        self.keep_sets({keep})

    def keep_sets(self, keep: set) -> None:
        """Free the cached arrays of every dataset not in ``keep``."""
        self._cache = {k: v for k, v in self._cache.items() if k[0] in keep}

    def keep_input(self, input: str) -> None:
        """Free the cached splits of every input but ``input``."""
        self._cache = {k: v for k, v in self._cache.items() if k[2] == input}

    def load(self, ds_name: str, split: str, mcfg, drop: bool = True):
        """``(x, y, lat, info, gap)``: :func:`tnn.train.load_dataset` plus the k-space gap of each sample."""
        from tnn.train import load_dataset

        k = (ds_name, split, mcfg.resolved_input(), drop)
        if k not in self._cache:
            ds = self.sets[ds_name]
            x, y, lat, info = load_dataset(ds, mcfg, split, drop_ill_defined=drop)
            d = ds.load(split, ("kspace_gap", "ill_defined", "kspace_class"))
            keep = ~d["ill_defined"].astype(bool) if drop else np.ones(len(d["kspace_gap"]), bool)
            self._cache[k] = (x, y, lat, info, d["kspace_gap"][keep], d["kspace_class"][keep])
        return self._cache[k]

    def load_invariant(self, ds_name: str, split: str, mcfg, certified: bool = False):
        """``(x, y_rs, lat)``: like :meth:`load`, labelled by the rounded real-space invariant of each
        sample (:func:`tnn.trainability.invariant_targets`: what the exact topo network computes at
        this size; ``certified``: only the values the certificate certifies)."""
        from tnn.trainability import invariant_targets

        x, _, lat, _, _, _ = self.load(ds_name, split, mcfg)
        d = self.sets[ds_name].load(split, ("class", "ill_defined", "invalid"))
        return (*invariant_targets(x, d, mcfg.classes, certified), lat)

    def part(self, name: str, fn: Callable[[], dict]) -> dict:
        """The cached result of analysis ``name`` (``parts/<name>.json``), computed if missing."""
        from tnn import results as io

        path = self.out / "parts" / f"{name}.json"
        if path.exists():
            saved = io.read_json(path)
            if saved.get("key") == self.key:
                self.seconds[name] = saved["seconds"]
                self.note_reused(name, f"part  {name:14s}")
                self.step(name)
                return saved["result"]
        t0 = time.perf_counter()
        res = io.to_jsonable(fn())
        self.seconds[name] = time.perf_counter() - t0
        io.write_json(path, {"key": self.key, "result": res, "seconds": self.seconds[name]})
        self.log(f"part  {name:14s} {self.seconds[name]:.1f} s (peak memory so far {peak_gb():.2f} GB)")
        self.step(name)
        return io.read_json(path)["result"]  # the same JSON a rerun reads (NaN, tuples -> lists)


def score_member(model, mcfg, params, x, y, gap, kclass=None) -> dict:
    """Accuracy, balanced accuracy, per-class accuracy, loss, confusion matrix, accuracy per k-space gap
    bin, and ``pred``: the predicted class value of every sample ``(n,)`` (int8; a regression head's
    output rounded to the nearest of ``mcfg.classes``)."""
    from tnn.intervals import balanced_accuracy
    from tnn.train import metrics_from_outputs, predict

    out = predict(model, params, x)
    m = metrics_from_outputs(mcfg, out, y)
    classes = np.asarray(mcfg.classes)
    pred = classes[np.asarray(out).argmax(axis=1)] if mcfg.task == "classify" else \
        classes[np.abs(np.asarray(out)[:, :1] - classes[None, :]).argmin(axis=1)]
    yt = np.asarray(y).astype(int)
    conf = [[int(np.sum((yt == a) & (pred == b))) for b in classes] for a in classes]
    bins = []
    for lo, hi in zip(GAP_BINS[:-1], GAP_BINS[1:]):
        sel = (gap >= lo) & (gap < hi)
        bins.append([int(sel.sum()), float(np.mean(pred[sel] == yt[sel])) if sel.any() else None])
    res = {"acc": m["acc"], "bal_acc": balanced_accuracy(yt, pred),
           **{f"acc_{c}": m[f"acc_{c}"] for c in mcfg.classes}, "loss": m["loss"], "mae": m["mae"],
           "ece": m.get("ece"), "confusion": conf, "gap_bins": bins, "pred": pred.astype(np.int8)}
    if kclass is not None:  # control sets: how often the prediction claims the clean k-space class
        res["claims_clean"] = float(np.mean(pred == np.asarray(kclass).astype(int)))
    return res


def member_fits(model, params, other, x_other) -> bool:
    """Whether ``params`` of ``model`` can run ``other`` (the same model on another lattice) on ``x_other``."""
    from tnn.probes import params_fit

    return other is model or params_fit(other, params, x_other)


def _train_and_score(st: _Study, tag: str, mname: str, mcfg, train_ds: str, tests: dict, tcfg, extra_stages=None,
                     train: bool = True):
    """Train ``mname`` on ``train_ds`` (resumable) and score every member on ``tests``; cached in
    ``runs/<tag>/eval.json`` and ``runs/<tag>/preds.npz``. Exact topo is also scored untrained (stage
    ``init``, one member: the exact tensors do not depend on the seed); ``train=False`` scores only that.
    Returns ``(rows, info, preds)``."""
    import jax

    from tnn import results as io
    from tnn.models import count_params, make_model
    from tnn.train import fit

    run_dir = st.out / "runs" / tag
    digests = {k: st.ds_info[v[0]]["digest"] for k, v in tests.items()}
    digests["train"] = st.ds_info[train_ds]["digest"]
    key = io.to_jsonable({"model": mcfg, "train": tcfg, "datasets": digests, "study": st.key})
    ev_path = run_dir / "eval.json"
    ev = io.read_json(ev_path) if ev_path.exists() else None
    if ev is not None and ev.get("key") == key and (run_dir / "preds.npz").exists():
        st.note_reused(tag, f"model {tag:14s}", f" ({run_dir})")
        st.step(tag)
        return ev["rows"], ev["info"], io.load_arrays(run_dir / "preds.npz")
    t0 = time.perf_counter()
    # the runs come grouped by input: splits loaded for another input are not read again (memory)
    st.keep_input(mcfg.resolved_input())
    x, y, lat, info, _, _ = st.load(train_ds, "train", mcfg)
    vx, vy, _, _, _, _ = st.load(train_ds, "val", mcfg)
    model = make_model(mcfg, lat)
    x1 = jax.tree_util.tree_map(lambda a: a[:1], model.prepare(x))
    if train:
        if (run_dir / "checkpoint.npz").exists():
            st.log(f"model {tag:14s} resumed from the checkpoint of an earlier run ({run_dir})")
        res = fit(model, tcfg, (x, y), (vx, vy), results_dir=run_dir, resume=True, progress=False,
                  extra_config={"data": info, "study": str(st.out)})
        members, seeds, epochs_run, hist = [res.member(i) for i in range(len(res.seeds))], res.seeds, res.epochs_run, res.history
        stages = [("trained", list(zip(seeds, members)))]
    else:
        members, seeds, epochs_run, hist = [model.init(jax.random.key(tcfg.seeds[0]), x1)], tcfg.seeds[:1], 0, []
        stages = []
    if mcfg.name == "topo" and mcfg.init == "exact":  # the exact tensors, untrained (independent of the seed)
        stages.append(("init", [(seeds[0], model.init(jax.random.key(seeds[0]), x1))]))
    extra_info = {}
    if extra_stages is not None:
        more, extra_info = extra_stages(model, members, (vx, vy))
        stages += [(name, list(zip(seeds, plist))) for name, plist in more]
    from tnn.train.loaders import feature_fields

    rows, preds = [], {}
    for split, (ds_name, ds_split) in tests.items():
        if not set(feature_fields(mcfg)) <= set(st.sets[ds_name].arrays):
            # an input that is not size-agnostic (density, projector: one channel per state) is not
            # stored at the other sizes: no model trained on it can read them
            spec = st.sets[ds_name].spec
            rows += [{"model": tag, "stage": stage, "seed": s, "split": split, "L": spec.size[0], "n": 0,
                      "note": f"n/a: {mcfg.resolved_input()} is not stored at this size (not size-agnostic)"}
                     for stage, plist in stages for s, _ in plist]
            continue
        tx, ty, tlat, tinfo, gap, _ = st.load(ds_name, ds_split, mcfg)
        tmodel = model if tlat == lat else make_model(mcfg, tlat)
        fits = tinfo["n"] > 0 and member_fits(model, members[0], tmodel, tx)
        preds[f"y/{split}"] = np.asarray(ty).astype(np.int8)
        for stage, plist in stages:
            got = []
            for s, p in plist:
                row: dict[str, Any] = {"model": tag, "stage": stage, "seed": s, "split": split, "L": tinfo["size"][0],
                                       "n": tinfo["n"], "n_ill_defined": tinfo["dropped_ill_defined"],
                                       "epochs": epochs_run if stage == "trained" else 0}
                if fits:
                    sc = score_member(tmodel, mcfg, p, tx, ty, gap)
                    got.append(sc.pop("pred"))
                    row.update(sc)
                else:
                    row["note"] = "n/a: parameters depend on the input size" if tinfo["n"] > 0 else "n/a: no valid sample"
                rows.append(row)
            if got:
                preds[f"{stage}/{split}"] = np.stack(got)
    train_s = sum(max(r["time_s"] for r in hist if r["epoch"] == e) for e in sorted({r["epoch"] for r in hist}))
    info = {"n_params": count_params(members[0]), "epochs": epochs_run, "train_seconds": train_s, "seeds": list(seeds),
            "input": mcfg.resolved_input(), "encoding": "-" if mcfg.name == "topo" else mcfg.resolved_encoding(lat),
            "task": mcfg.task,
            "val_acc": {str(s): [r.get("val_acc") for r in hist if r["seed"] == s] for s in seeds},
            "train_loss": {str(s): [r.get("train_loss") for r in hist if r["seed"] == s] for s in seeds},
            **extra_info}
    io.save_arrays(run_dir / "preds.npz", preds)  # before eval.json: a rerun trusts eval.json only
    io.write_json(ev_path, {"key": key, "rows": rows, "info": info})
    # the optimizer state only resumed a training now done (params/ keeps the result): 3/4 of an MLP's folder
    (run_dir / "checkpoint.npz").unlink(missing_ok=True)
    st.log(f"model {tag:14s} {epochs_run} epochs x {len(seeds)} seeds, {info['n_params']} params, peak {peak_gb():.2f} GB, "
           f"{time.perf_counter() - t0:.1f} s")
    st.step(tag)
    return io.read_json(ev_path)["rows"], info, preds


def _prune_stage(model, members, val):
    """The pruned shallow network: every member SVD-truncated to the smallest rank that keeps 95%
    of its validation accuracy (:func:`tnn.prune.accuracy_vs_rank`)."""
    from tnn import prune

    out, ranks = [], []
    for p in members:
        curve = prune.accuracy_vs_rank(model, p, val)
        k = curve["smallest_rank_95"] or curve["max_rank"]
        ranks.append(int(k))
        out.append(prune.svd_prune(p, int(k)))
    return [("pruned", out)], {"pruned_rank": ranks, "max_rank": int(curve["max_rank"])}


def _start_helper(config: StudyConfig, helper_of: int | None):
    """``(claims, process)``: this process's :class:`tnn.study.jobs.Claims` and the helper process it
    started (None: one job, or this is the helper)."""
    out = Path(config.out)
    if helper_of is not None:
        return Claims(out, HELPER, lambda: os.getppid() == helper_of), None
    if config.jobs < 2:
        return Claims(out, MAIN, None), None
    import multiprocessing

    import jax

    from tnn import compile_cache, threads

    Claims.reset(out)
    # spawn: a fresh interpreter (forking a process that has started XLA's threads is unsafe)
    proc = multiprocessing.get_context("spawn").Process(
        target=_helper_main, args=(config, os.getpid(), compile_cache.cache_dir(), threads.current_blas_threads()),
        name="tnn-study-helper", daemon=True)
    proc.start()
    return Claims(out, MAIN, proc.is_alive), proc


def _helper_main(config: StudyConfig, parent: int, cache: str | None, blas: int | None) -> None:
    """The helper process of a two-job study: the parent's compilation cache and BLAS threads."""
    from tnn import compile_cache, threads

    compile_cache.enable(cache)
    with threads.blas_threads(blas):
        run_study(config, _helper_of=parent)


def run_study(config: StudyConfig, *, log: Callable[[str], None] | None = None, progress: bool = False,
              keep_datasets: bool = True, _helper_of: int | None = None) -> dict | None:
    """Run (or resume) the study ``config``; write the results folder; return a summary.

    With ``config.jobs == 2`` a helper process computes units from the back of each phase
    (:mod:`tnn.study.jobs`; the same results; ``_helper_of`` is the main process's id in that
    helper, which returns None).

    ``log`` receives one line per unit of work (dataset, training, analysis part; "reused" or
    "resumed" on a rerun); ``progress`` shows one tqdm bar with ETA over the whole study.
    ``keep_datasets=False`` deletes ``<out>/data/`` at the end (a rerun regenerates it
    bit-identically and reuses everything else). ``tnn study`` turns JAX's persistent compilation
    cache on first (:mod:`tnn.compile_cache`; ``--quick`` 208 -> 177 s with an empty cache, the same
    numbers); from Python, call ``tnn.compile_cache.enable(tnn.compile_cache.default_cache_dir())``
    before the first computation for the same.

    Returns a dict: ``rows`` (the rows of ``metrics.csv``), ``datasets`` (name -> sizes, label
    quality), ``runs`` (model -> training info), ``parts`` (analysis -> result), ``reused`` (units
    reused from an earlier run), ``splits``, ``classes``, ``sizes``, ``seconds``, ``out``, ``peak_gb``
    (peak resident memory of each process, GB).
    """
    import jax
    from tqdm.auto import tqdm

    import tnn
    from tnn import data, results as io
    from tnn.study import analyses, plots, report

    from tnn import threads

    t_start = time.perf_counter()
    threads.cap_malloc_arenas(2)  # resident memory: see tnn.threads.cap_malloc_arenas
    if not isinstance(config, StudyConfig):
        raise ValueError(f"Argument `config` must be a tnn.study.StudyConfig, got {type(config).__name__}.")
    config = config.validate()
    log = log or (lambda s: None)
    tnn.enable_x64()  # labels and topo's exact contraction are float64 (docs/conventions.md)
    out = Path(config.out)
    if out.exists() and not out.is_dir():
        raise ValueError(f"StudyConfig field `out`: {out} exists and is not a folder.")
    _check_folder(out, config)
    specs = dataset_specs(config)
    tcfg = config.train_config()
    if _helper_of is None:
        io.write_json(out / "config.json", {"study": config, "train": tcfg, "datasets": {k: s.to_dict() for k, s in specs.items()},
                                            "versions": {"tnn": tnn.__version__, "jax": jax.__version__}})
    c = config
    claims, helper = _start_helper(config, _helper_of)
    st = _Study(config, log, progress, claims)
    gen, has2d = "generalization" in c.sections, "2d" in c.sections
    n_parts = len(analyses.parts(c))
    total = len(specs) + len(c.runs_1d()) + (len(c.runs_unseen()) if gen else 0) + (len(c.models_2d) if has2d else 0) + n_parts
    st.bar = tqdm(total=total, desc="tnn study", unit="step", disable=not progress or claims.role == HELPER,
                  smoothing=0.1)
    try:
        # ---- datasets
        def dataset(item):
            name, spec = item
            t0 = time.perf_counter()
            ds = data.generate(spec, out / "data" / name, progress=False)
            st.sets[name] = ds
            rep = getattr(ds, "report", None) or {}
            written, kept = len(rep.get("written", ())), len(rep.get("kept", ()))
            ill = {s: int(ds.load(s, ("ill_defined",))["ill_defined"].astype(bool).sum()) for s in ("train", "val", "test")}
            lbl = ds.load("test", ("label", "ill_defined"))
            yv = lbl["label"][~lbl["ill_defined"].astype(bool)]
            vals, counts = np.unique(yv, return_counts=True)
            st.ds_info[name] = {"preset": spec.name, "model": spec.model, "size": list(spec.size), "L": spec.size[0],
                                "pbc": spec.pbc, "disorder": spec.disorder,
                                "W": list(spec.strength.args) if spec.disorder != "none" else [0.0], "seed": spec.seed,
                                "n": spec.n, "digest": spec.digest(),
                                **{f"n_{s}": ds.n_split(s) for s in ("train", "val", "test")},
                                **{f"ill_defined_{s}": ill[s] for s in ("train", "val", "test")},
                                "majority": float(counts.max() / counts.sum()) if counts.size else None,
                                "test_classes": {str(int(v)): int(n) for v, n in zip(vals, counts)},
                                **label_quality(ds)}
            state = ("done by the helper process" if st.from_helper else
                     f"resumed: {kept} shards kept, {written} computed" if written and kept else "new" if written else "reused")
            log(f"data  {name:14s} {'x'.join(map(str, spec.size)):<6s} n={spec.n:<5d} ({state}, {time.perf_counter() - t0:.1f} s, peak {peak_gb():.2f} GB)")
            st.step(f"data {name}")

        st.phase([(f"data/{name}", (name, spec)) for name, spec in specs.items()], dataset)
        # the same order in both processes (the helper read its sets backward)
        st.sets, st.ds_info = ({k: d[k] for k in specs} for d in (st.sets, st.ds_info))
        from tnn.train import dataset_classes

        classes = tuple(dataset_classes(st.sets["ssh"]))
        tests = eval_sets_1d(c)
        sets_2d = {MAIN_SET, "qwz", *(v[0] for v in SETS_2D.values())}
        units = []
        # ---- 1D models, every baseline on every input
        for tag, m, inp in c.runs_1d():
            mcfg = c.model_config(m, classes, input=inp)
            units.append((tag, (tag, m, mcfg, "ssh", tests, tcfg, _prune_stage if m == "shallow" else None, True)))
        # ---- unseen windings: trained on {0, 1}; a softmax head over every class (-1 and 2 never seen
        # in training) and a regression head (one real output, rounded: it can answer -1 and 2)
        for tag, m, head, train in (c.runs_unseen() if gen else ()):
            mcfg = c.model_config(m, classes, task=head)
            units.append((tag, (tag, m, mcfg, "ssh01", {"unseen": ("unseen", "test"), "test01": ("ssh01", "test")},
                                tcfg, None, train)))
        # ---- 2D: QWZ (Anderson disorder) -> larger QWZ, honeycomb Haldane
        if has2d:
            cls2 = tuple(dataset_classes(st.sets["qwz"]))
            tcfg2 = dataclasses.replace(c.train_config(c.epochs_2d), batch_size=min(c.batch_size, 8)).validate()
            for m in c.models_2d:
                arch, init = MODELS_2D[m]
                from tnn.models import ModelConfig

                if arch == "topo":
                    mcfg = ModelConfig("topo", classes=cls2, init=init, channels=1, tau=c.tau).validate()
                else:
                    # radius 1: the cell encoding then holds every hopping of QWZ and Haldane (nearest cells only)
                    # with a third of radius 2's channels (the first convolution's cost)
                    mcfg = ModelConfig(arch, classes=cls2, width=c.width, depth=c.depth, radius=1,
                                       dtype="float32").validate()
                units.append((f"2d-{m}", (f"2d-{m}", m, mcfg, "qwz", dict(SETS_2D), tcfg2, None,
                                          arch != "topo" or c.train_2d_topo)))

        def model(item):
            tag, m, mcfg, train_ds, tsets, tc, extra, train = item
            # memory: keep only the cached splits this group of runs reads (the main set stays for the analyses)
            st.keep_sets(sets_2d if tag.startswith("2d-") else set(specs) - sets_2d | {MAIN_SET})
            return _train_and_score(st, tag, m, mcfg, train_ds, tsets, tc, extra, train=train)

        done = st.phase([(f"run/{tag}", item) for tag, item in units], model)
        # the analysis parts read only the training set and the test sets of ``ssh``: free the rest
        st.release(MAIN_SET)
        runs, rows, preds = {}, [], {}
        for tag, _ in units:
            r, runs[tag], preds[tag] = done[f"run/{tag}"]
            rows += r
        summary = {"rows": rows, "datasets": st.ds_info, "runs": runs, "classes": list(classes), "splits": list(tests),
                   "out": str(out), "config": c, "preds": preds}
        # ---- analysis parts
        parts = analyses.parts(c)
        got = st.phase([(f"part/{name}", (name, fn)) for name, fn in parts.items()],
                       lambda item: st.part(item[0], lambda: item[1](st, summary)), need_all=False)
        if claims.role == HELPER:
            return None
        summary["parts"] = {name: got[f"part/{name}"] for name in parts}
        rows += analyses.extra_rows(summary)
    except BaseException:
        if helper is not None:
            helper.terminate()  # the helper's claims go with the run; a rerun resumes its units
        raise
    finally:
        st.bar.close()
        if helper is not None:
            helper.join()
            Claims.reset(out)
    columns = ["model", "stage", "seed", "split", "L", "n", "n_ill_defined", "epochs", "acc",
               *[f"acc_{k}" for k in classes], "loss", "mae", "ece", "claims_clean", "note"]
    io.write_csv(out / "metrics.csv", [{k: r.get(k) for k in columns} for r in rows], columns=columns)
    summary["reused"] = st.reused
    summary["peak_gb"] = {"main": peak_gb(), **({"helper": peak_gb(children=True)} if helper is not None else {})}
    summary["part_seconds"] = st.seconds
    summary["seconds"] = time.perf_counter() - t_start
    summary["figures"] = plots.write_all(out, summary)
    if not keep_datasets:
        import shutil

        shutil.rmtree(out / "data", ignore_errors=True)
    summary["sizes"] = {"data": _folder_bytes(out / "data"), "runs": _folder_bytes(out / "runs")}
    summary["sizes"]["total"] = _folder_bytes(out)
    summary["keep_datasets"] = keep_datasets
    io.atomic_write_text(out / "report.md", report.write(summary))
    return summary
