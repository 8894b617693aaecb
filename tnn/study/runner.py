"""Running (or resuming) a study: datasets, trainings, evaluations and the analysis parts.

Every unit of work leaves a file that a rerun trusts: a dataset (``tnn.data``, resumable), a
training folder (``tnn.train.fit``, resumable from its checkpoint) with ``eval.json`` (its test
metrics, keyed by the model, training and dataset digests), and one ``parts/<name>.json`` per
analysis (keyed by the study config). A rerun after a kill recomputes only what has no such file.
The units themselves are in :mod:`tnn.study.units`, the dataset specs in :mod:`tnn.study.sets`.
"""

from __future__ import annotations

import dataclasses
import os
import time
from pathlib import Path
from typing import Callable

import numpy as np

from tnn.study.config import NOT_RESULTS, SETS_2D, StudyConfig
from tnn.study.jobs import HELPER, MAIN, Claims
from tnn.study.sets import GAP_BINS, MAIN_SET, dataset_specs, eval_sets_1d, label_quality
from tnn.study.units import Study, member_fits, peak_gb, prune_stage, score_member, train_and_score

__all__ = ["run_study", "label_quality", "eval_sets_1d", "GAP_BINS", "score_member", "member_fits", "peak_gb"]

#: 2D models: study name -> (tnn.models name, init)
MODELS_2D = {"topo-exact": ("topo", "exact"), "cnn": ("cnn", "default"), "resnet": ("resnet", "default")}


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


def _folder_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in Path(path).rglob("*") if p.is_file()) if Path(path).exists() else 0


def _start_helper(config: StudyConfig, helper_of: int | None):
    """``(claims, process)``: this process's :class:`tnn.study.jobs.Claims` and the helper process it
    started (None: one job, or this is the helper)."""
    out = Path(config.out)
    if helper_of is not None:
        return Claims(out, HELPER, lambda: os.getppid() == helper_of), None
    if config.jobs < 2:
        return Claims(out, MAIN, None), None
    import multiprocessing

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
    st = Study(config, log, progress, claims)
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
            units.append((tag, (tag, m, mcfg, "ssh", tests, tcfg, prune_stage if m == "shallow" else None, True)))
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
            return train_and_score(st, tag, m, mcfg, train_ds, tsets, tc, extra, train=train)

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
