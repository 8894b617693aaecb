"""The units of a study run: its state (folders, datasets, cached splits, the bar, the claims of a
two-process run), one model trained and scored on every test set, and one analysis part; each
leaves a file a rerun trusts (:mod:`tnn.study.runner`)."""

from __future__ import annotations

import dataclasses
import gc
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np

from tnn.study.config import NOT_RESULTS, StudyConfig
from tnn.study.jobs import MAIN, Claims
from tnn.study.sets import GAP_BINS

__all__ = ["Study", "peak_gb", "current_gb", "CLEAR_ABOVE_GB", "CACHE_MAX_BYTES", "score_member", "member_fits", "train_and_score", "prune_stage"]


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


#: resident memory (GB) above which a unit's end drops JAX's compiled executables (:meth:`Study.step`)
CLEAR_ABOVE_GB = 0.6
#: a loaded split whose input is larger than this (bytes) is not kept in :class:`Study`'s cache
CACHE_MAX_BYTES = 2**26


def _nbytes(x) -> int:
    import jax

    return sum(int(getattr(a, "nbytes", 0)) for a in jax.tree_util.tree_leaves(x))


def current_gb() -> float:
    """Resident memory of this process now, GB (``/proc/self/statm``; ``inf`` where unavailable, so
    that callers that free memory above a threshold always do)."""
    try:
        import os

        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**30
    except (OSError, ValueError, IndexError):
        return float("inf")


class Study:
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
        """One unit done: advance the bar; once the process holds more than :data:`CLEAR_ABOVE_GB`,
        drop every compiled executable (later units run other programs; ``--quick`` peaked at 2.9 GB
        when they were all kept; with JAX's persistent cache on, as in ``tnn study``, a program
        needed again is read from disk). Below that they stay: dropping them after every unit cost
        ``--quick`` 6.5 s of its 76 s on a warm cache, and the retracing of every small operation."""
        if current_gb() > CLEAR_ABOVE_GB:
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

    def load(self, ds_name: str, split: str, mcfg, drop: bool = True, encoded: bool = False):
        """``(x, y, lat, info, gap, kspace_class)``: :func:`tnn.train.load_dataset` plus the k-space gap
        and class of each sample. ``encoded``: ``x`` is the model's input already encoded
        (``make_model(mcfg, lat).prepare(x)``, cached apart). Arrays larger than :data:`CACHE_MAX_BYTES`
        are returned but not cached: the raw 2D Hamiltonians and eigenvectors (complex ``N x N`` per
        sample, 330 MB for 500 12x12 samples) held four test sets at once and took the helper
        process past 2 GB, while their cell encodings are a sixteenth of that."""
        from tnn.models import make_model
        from tnn.train import load_dataset

        raw_key = (ds_name, split, mcfg.resolved_input(), drop)
        key = raw_key
        if encoded:
            lat = self.sets[ds_name].spec.lattice()
            key = raw_key + (("topo",) if mcfg.name == "topo" else (mcfg.resolved_encoding(lat), mcfg.radius),)
        if key in self._cache:
            return self._cache[key]
        if raw_key in self._cache:
            entry = self._cache[raw_key]
        else:
            ds = self.sets[ds_name]
            x, y, lat, info = load_dataset(ds, mcfg, split, drop_ill_defined=drop)
            d = ds.load(split, ("kspace_gap", "ill_defined", "kspace_class"))
            keep = ~d["ill_defined"].astype(bool) if drop else np.ones(len(d["kspace_gap"]), bool)
            entry = (x, y, lat, info, d["kspace_gap"][keep], d["kspace_class"][keep])
            if _nbytes(x) <= CACHE_MAX_BYTES:
                self._cache[raw_key] = entry
        if encoded:
            x, y, lat, *rest = entry
            entry = (make_model(mcfg, lat).prepare(x), y, lat, *rest)
            if _nbytes(entry[0]) <= CACHE_MAX_BYTES:
                self._cache[key] = entry
        return entry

    def load_invariant(self, ds_name: str, split: str, mcfg, certified: bool = False):
        """``(x, y_rs, lat)``: like :meth:`load`, labelled by the rounded real-space invariant of each
        sample (:func:`tnn.study.trainability.invariant_targets`: what the exact topo network computes at
        this size; ``certified``: only the values the certificate certifies)."""
        from tnn.study.trainability import invariant_targets

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
    from tnn.study.probes import params_fit

    return other is model or params_fit(other, params, x_other)


def train_and_score(st: Study, tag: str, mname: str, mcfg, train_ds: str, tests: dict, tcfg, extra_stages=None,
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
    x, y, lat, info, _, _ = st.load(train_ds, "train", mcfg, encoded=True)
    vx, vy, _, _, _, _ = st.load(train_ds, "val", mcfg, encoded=True)
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
        tx, ty, tlat, tinfo, gap, _ = st.load(ds_name, ds_split, mcfg, encoded=True)
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


def prune_stage(model, members, val):
    """The pruned shallow network: every member SVD-truncated to the smallest rank that keeps 95%
    of its validation accuracy (:func:`tnn.study.pruning.accuracy_vs_rank`)."""
    from tnn import prune
    from tnn.study.pruning import accuracy_vs_rank

    out, ranks = [], []
    for p in members:
        curve = accuracy_vs_rank(model, p, val)
        k = curve["smallest_rank_95"] or curve["max_rank"]
        ranks.append(int(k))
        out.append(prune.svd_prune(p, int(k)))
    return [("pruned", out)], {"pruned_rank": ranks, "max_rank": int(curve["max_rank"])}

