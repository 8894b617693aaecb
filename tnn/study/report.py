"""``report.md`` of a study: the sections in order, their tables and figures, and the findings.

The table builders are in :mod:`tnn.study.tables`; the findings (claims, verdicts and
:data:`THRESHOLDS`) in :mod:`tnn.study.claims`, whose names stay importable from here.
"""

from __future__ import annotations

import numpy as np

from tnn.study.claims import THRESHOLDS, findings
from tnn.study.config import SETS_2D
from tnn.study.stats import cells, fmt, num
from tnn.study.ceiling import ceiling_lines
from tnn.study.tables import (
    accuracy_table,
    ci_table,
    confusion_lines,
    dataset_of,
    edge_cell,
    figure,
    gap_table,
    models_1d,
    quality_table,
    quality_text,
)

__all__ = ["write", "findings", "THRESHOLDS", "SECTION_TITLES"]

#: the report's section titles, in order (tests check that each is present)
SECTION_TITLES = ("Accuracy", "Generalization", "Trainability", "Pruning and proxies", "2D (Chern)", "Findings")


def write(summary) -> str:
    """The text of ``report.md`` for ``summary`` (what :func:`tnn.study.run_study` returns)."""
    c = summary["config"]
    L = _intro(summary)
    L.append("## Accuracy\n")
    L += _accuracy(summary)
    for title, section, lines in _GATED:
        L.append(f"## {title}\n")
        if section not in c.sections:
            L.append("Not computed in this run (`sections`).\n")
        else:
            L += lines(summary)
    L.append("## Findings\n")
    L.append("Each claim is checked against the numbers above with the threshold written next to it.\n")
    for i, f in enumerate(findings(summary), 1):
        L.append(f"{i}. **{f['verdict'].upper()}**: {f['claim']} Evidence: {f['evidence']}. Threshold: {f['threshold']}.")
    L.append("")
    L += _appendix(summary)
    return "\n".join(L)


def _intro(summary) -> list[str]:
    c, rows, classes = summary["config"], summary["rows"], summary["classes"]
    L = [f"# tnn study ({c.profile}): why is topology hard to learn?\n"]
    L.append(
        f"Every model below was trained with `tnn.train.fit` on open SSH-family chains of {c.size} cells (hoppings of "
        f"ranges -1..2 uniform in [-1, 1], windings {{{', '.join(map(str, classes))}}} balanced), same optimizer "
        f"(Adam, learning rate {c.learning_rate:g}), {c.epochs} epochs, batch size {c.batch_size}, once per seed "
        f"({len(c.seeds)} seeds: {', '.join(map(str, c.seeds))}; one vmap ensemble per run). **Labels are exact**: the "
        "k-space winding of the clean chain, the zero-energy Lyapunov winding of the disordered ensemble (thermodynamic "
        "limit), and the certified real-space value only where no exact reference exists (disordered 2D). Every sample "
        "with a label is scored, certified or not; the real-space invariant itself is scored against the same labels "
        "(its ceiling at this size). The baselines read the Hamiltonian and, as separate runs `model:input`, the "
        "eigenvector amplitudes |psi_n(i)|^2 ordered by energy (`density`), the states nearest zero energy "
        "(`edge_modes`) and the flattened projector sign(H) (`projector`). Every accuracy is `mean [95% interval]` of "
        "the ensemble over seeds and samples (a two-way bootstrap; Wilson for one seed), with the balanced accuracy "
        "(`bal`, chance = 1/classes whatever the class mix). `n/a`: the model cannot read that input size.\n")
    r = [x for x in rows if x["stage"] == "init" and x["model"] == "topo-exact" and x["split"] == "test"]
    ceil = summary["parts"].get("ceiling", {})
    agree = ceil.get("test", {}).get("topo_equals_realspace")
    ok = agree is not None and agree == 1.0
    L.append(f"**Sanity check: {'PASS' if ok else 'FAIL' if agree is not None else 'not run'}.** The untrained exact "
             "topo model computes the real-space invariant: its predictions equal the rounded real-space value on "
             f"{'--' if agree is None else f'{100 * agree:.2f}%'} of the clean test chains"
             + (f" (accuracy against the exact labels: {num(r[0].get('acc'))}, the ceiling at L = {c.size})" if r else "")
             + ".\n")
    return L


def _runs_1d(summary) -> list[str]:
    return [t for t in summary.get("preds", {}) if "@" not in t and not t.startswith("2d-")]


def _accuracy(summary) -> list[str]:
    rows, parts, classes, splits = summary["rows"], summary["parts"], summary["classes"], summary["splits"]
    dsmap = lambda sp: dataset_of(summary, sp)  # noqa: E731
    tags = _runs_1d(summary)
    L = []
    L += ci_table(summary, tags, splits, ("trained", "init", "pruned"))
    L.append("")
    L.append("Label quality of each test set (every accuracy above is measured against these labels), chance "
             "(uniform guess) and majority-class levels:\n")
    L += quality_table(summary, splits, dsmap, classes)
    L.append("")
    L += ceiling_lines(summary)
    L += confusion_lines(summary, models_1d(rows), "test")
    L.append(figure("accuracy.png", "accuracy per model and test set; bars = mean over seeds, whiskers = min–max, one "
                                    "marker per seed; chance and majority lines; right: validation accuracy per epoch, one "
                                    "line per seed."))
    L.append("Accuracy against the distance to the nearest phase boundary (the clean k-space gap of each test sample), "
             "trained models, mean over seeds:\n")
    L += gap_table(summary, models_1d(rows))
    L.append("")
    L.append(figure("gap.png", "accuracy against the k-space gap (test set), one line per model and seed."))
    dr = parts.get("drift")
    if dr:
        L += _drift(summary, dr, splits)
    return L


def _drift(summary, dr, splits) -> list[str]:
    rows = summary["rows"]
    L = ["### Exact topo: trained against untrained\n"]
    L += accuracy_table(rows, ["topo-exact"], splits, ("init", "trained"))
    L.append("")
    L.append("| seed | loss at exact | loss trained | grad norm at exact | largest gradient leaves | "
             "parameter displacement (L2 / max) | test predictions flipped | median k-space gap: flipped / all |")
    L.append("|---|---|---|---|---|---|---|---|")
    for s in dr["seeds"]:
        L.append(f"| {s['seed']} | {num(s['loss_exact'])} | {num(s['loss_trained'])} | {num(s['grad_norm_exact'])} "
                 f"| {', '.join(f'`{k}` {v:.1e}' for k, v in s['top_grad_leaves'])} "
                 f"| {s['displacement']:.3f} / {s['displacement_max']:.3f} | {s['n_flipped']} / {s['n_test']} "
                 f"| {num(s['gap_flipped_median'])} / {num(s['gap_all_median'])} |")
    L.append("\nCause: at the exact initialization the logits are `-tau (f - v_c)^2` with `f` the invariant; at "
             "finite tau the true class has probability below 1, so the cross-entropy is positive and its gradient "
             "is not zero. Gradient norm at the exact solution against tau: "
             + ", ".join(f"tau = {x['tau']:g}: loss {x['loss']:.2e}, |grad| {x['grad_norm']:.2e}" for x in dr["tau_scan"])
             + f". Adam divides each component by its running RMS, so this small gradient still moves every "
             f"parameter by about the learning rate ({dr['lr']:g}) per step, and the tensors leave the exact solution "
             "(displacement column). A regression loss on the invariant has the exact point as a true minimum "
             "(Trainability: the loss axis of the phase diagram).\n")
    return L


def _generalization(summary) -> list[str]:
    c, ds, parts, splits = summary["config"], summary["datasets"], summary["parts"], summary["splits"]
    dsmap = lambda sp: dataset_of(summary, sp)  # noqa: E731
    tags = _runs_1d(summary)
    L = []
    size_sp = [sp for sp in splits if sp == "test" or sp.startswith("L")]
    L.append(f"**Size**: trained at L = {c.size}, tested at " + ", ".join(f"{sp}" for sp in size_sp[1:])
             + " on **the same Hamiltonians** (the test split's parameter draws rebuilt at each length and on rings: "
               "differences between columns are differences of size, not of sample mix).\n")
    L += ci_table(summary, tags, size_sp + (["periodic"] if "periodic" in splits else []), ("trained", "init"))
    L.append("\n**Open → periodic** (`periodic`: the same chains closed into rings, no edge states).\n")
    un = [t for t in summary.get("preds", {}) if "@01" in t]
    L.append("**Unseen windings**: trained on windings {0, 1} only (preset `ssh01`), tested on {-1, 2} (`unseen`) and "
             "on the {0, 1} test split (`test01`). Two heads per model: `@01` a softmax over every class (-1 and 2 "
             "never trained: it cannot be expected to answer them) and `@01-reg` one real output rounded to the "
             "nearest class (a head that *can* answer an unseen integer).\n")
    L += ci_table(summary, un, ["test01", "unseen"], ("trained", "init"))
    L.append("")
    L.append(figure("generalization.png", "accuracy against chain length (open), on periodic rings, and on unseen windings."))
    bond = [sp for sp in splits if sp.startswith("bond-")]
    L.append("**Chiral (bond) disorder**: accuracy against the disorder strength W; labels are the zero-energy "
             "Lyapunov windings of each disordered ensemble, and the real-space invariant's certified fraction and its "
             "agreement with the label are given beside.\n")
    heads = ["test"] + bond
    L.append("| | " + " | ".join(f"W = {0 if sp == 'test' else sp.split('W')[1]}" for sp in heads) + " |")
    L.append("|---|" + "---|" * len(heads))
    L.append("| labelled / real space = label / certified | " + " | ".join(
        f"{quality_text(ds[dsmap(sp)])} (n = {ds[dsmap(sp)]['n_test'] - ds[dsmap(sp)]['ill_defined_test']})"
        for sp in heads) + " |")
    from tnn.study.evidence import ci_cell

    for t in tags:
        L.append(f"| {t} | " + " | ".join(ci_cell(summary, t, sp) for sp in heads) + " |")
        if t == "topo-exact":
            L.append("| topo-exact (untrained) | " + " | ".join(ci_cell(summary, t, sp, "init") for sp in heads) + " |")
    L.append("")
    L.append(figure("disorder.png", "accuracy against chiral disorder strength W (left axis, per model) and the "
                                    "invariant's certified fraction (dashed, right axis)."))
    on = parts.get("onsite", {})
    if on.get("rows"):
        L.append("**On-site disorder (control)**: chiral symmetry is broken, the winding number is not protected "
                 "and no label exists. The column gives how often each trained model still *claims* the "
                 "clean chain's k-space class (a model that read a protected invariant would have no basis for it).\n")
        sets = list(on["sets"])
        L.append("| model | " + " | ".join(s for s in sets) + " |")
        L.append("|---|" + "---|" * len(sets))
        orow = on["rows"]
        for m in dict.fromkeys(r["model"] for r in orow):
            L.append(f"| {m} | " + " | ".join(fmt(cells(orow, m, s, key="claims_clean")) for s in sets) + " |")
        L.append("")
    return L


def _trainability(summary) -> list[str]:
    c, parts = summary["config"], summary["parts"]
    L = _phase_lines(summary)
    land = parts.get("landscape", {})
    L.append("Hessian of the training loss (cross-entropy) on a test batch of "
             f"{c.landscape_batch} samples, seed {c.seeds[0]}, at initialization and at the end of training "
             "(`tnn.landscape`: the full Hessian's eigenvalues for models with at most 400 parameters, else "
             "Lanczos extremes and a stochastic Lanczos quadrature density).\n")
    L.append("| model | stage | parameters | method | loss | top eigenvalue | condition number | negative fraction |")
    L.append("|---|---|---|---|---|---|---|---|")
    for m, res in land.items():
        for stage in ("init", "end"):
            a = res[stage]
            s = a["summary"]
            L.append(f"| {m} | {stage} | {a['n_params']} | {a['method']} | {num(a['loss'])} | {num(s['top'])} "
                     f"| {num(s['condition'])} | {num(s['negative_fraction'])} |")
    for m, res in land.items():
        if "line" in res:
            ln = res["line"]
            L.append(f"\nLandscape slice {m}: the straight line from its initialization to the exact solution has "
                     f"loss {num(ln['start_loss'])} at the start, {num(ln['end_loss'])} at the exact end, and a "
                     f"barrier of {num(ln['barrier'])} above the higher end.")
    L.append("")
    L.append(figure("hessian.png", "Hessian eigenvalue density at init and at the end (per model), and the loss "
                                   "along the line from topo's random init to the exact solution."))
    sens = parts.get("sensitivity", {})
    if sens.get("conditions"):
        L.append(f"**Sensitivity to initialization** (topo, {len(sens['seeds'])} members per condition, "
                 f"{c.sens_epochs} epochs): success = accuracy >= {sens['threshold']} on every out-of-distribution "
                 f"set ({', '.join(sens['conditions'][0]['ood_acc'])}).\n")
        L.append("| init | success rate | final training loss | final val accuracy | OOD accuracy per member |")
        L.append("|---|---|---|---|---|")
        for cnd in sens["conditions"]:
            ood = "; ".join(f"{k}: " + "/".join(num(v, 2) for v in vs) for k, vs in cnd["ood_acc"].items())
            L.append(f"| {cnd['label']} | {cnd['success_rate']:.2f} | {fmt(cnd['final_loss'])} "
                     f"| {fmt(cnd['final_val_acc'])} | {ood} |")
        L.append("")
    gv = parts.get("gradvar", {})
    if gv:
        L.append("**Gradient variance at initialization against L** (variance over inits of each gradient "
                 "component, averaged; fit `Var ~ L^-alpha`):\n")
        L.append("| model | " + " | ".join(f"L = {x}" for x in next(iter(gv.values()))["lengths"]) + " | alpha (R²) |")
        L.append("|---|" + "---|" * (len(next(iter(gv.values()))["lengths"]) + 1))
        for m, g in gv.items():
            L.append(f"| {m} | " + " | ".join(num(float(v)) for v in g["variance"]) + f" | {g['alpha']:.2f} ({g['alpha_r2']:.2f}) |")
        L.append("")
    L.append(figure("sensitivity.png", "left: topo's success rate against init noise sigma (random init at the right); "
                                       "right: gradient variance at init against chain length."))
    return L


def _phase_lines(summary) -> list[str]:
    """The phase diagram, the block noise and the minima of topo (:mod:`tnn.study.trainparts`)."""
    from tnn.study.trainability import block_table

    c, parts = summary["config"], summary["parts"]
    L = []
    ph = parts.get("phase")
    if ph:
        L.append(f"**Trainability as a phase diagram** (`tnn.study.trainability.phase_diagram`): topo from a random init on "
                 f"{ph['n_train']} open chains of {c.phase_size} cells, labels = the rounded real-space invariant (the "
                 f"function the exact tensors compute), {ph['n_seeds']} seeds per cell as one vmap ensemble; success = "
                 f"test accuracy >= {ph['threshold']} on {ph['n_test']} held-out chains; `k/n [95% Clopper-Pearson]` "
                 "at the last checkpoint, median steps-to-solution among the members that succeed, success count at "
                 "every checkpoint. L-BFGS is full batch (its iterations: the same number of per-sample gradients).\n")
        L.append("| cell | successes at the checkpoints | success at the end | median steps to solution |")
        L.append("|---|---|---|---|")
        succ = np.asarray(ph["success"])
        for cell in ph["cells"]:
            io, il = ph["optimizer"].index(cell["optimizer"]), ph["loss"].index(cell["loss"])
            it, ir = ph["tau"].index(cell["tau"]), ph["lr"].index(cell["lr"])
            steps = ph["step"][io]
            trail = ", ".join(f"{int(k)}@{int(t)}" for k, t in zip(succ[io, il, it, ir], steps))
            med = cell["median_steps"]
            L.append(f"| {cell['label']}{' (the study default)' if cell['is_default'] else ''} | {trail} "
                     f"| {cell['k']}/{cell['n']} [{cell['lo']:.2f}, {cell['hi']:.2f}] | {'--' if med is None else f'{med:g}'} |")
        L.append("")
    bl = parts.get("blocks")
    if bl:
        L.append("**Noise on one parameter block at a time** (`tnn.study.trainability.block_noise`): the exact tensors plus "
                 "N(0, sigma^2) on one block, then trained; which block is ill-conditioned:\n")
        L.append("```\n" + block_table(bl) + "\n```\n")
    mi = parts.get("minima")
    if mi:
        L.append(f"**Minima modulo symmetries** (`tnn.study.minima.minima_analysis`): {mi['config']['n_inits']} random "
                 f"inits trained {mi['config']['steps']} Adam steps, endpoints canonicalized by topo's exact symmetries "
                 f"(channel permutations, signs, scales) and clustered in function space: {mi['n_clusters']} minima, "
                 f"{mi['n_reaching']} of them at the invariant ({mi['members_reaching']} members). Per cluster:\n")
        L.append("| cluster | members | loss (min) | test accuracy | agreement with the exact network | distance to the "
                 "exact manifold | Hessian per block: [min, max] eigenvalue |")
        L.append("|---|---|---|---|---|---|---|")
        for i, cl in enumerate(mi["clusters"][:8]):
            h = cl.get("hessian", {}).get("blocks", {})
            hs = "; ".join(f"{b} [{v['min']:.2g}, {v['max']:.2g}]" for b, v in h.items()) or "--"
            L.append(f"| {i} | {cl['size']} | {cl['loss_min']:.3g} | {cl['test_acc']:.3f} | {cl['agreement']:.3f} "
                     f"| {cl['exact_distance']:.3g} | {hs} |")
        band = mi.get("neb")
        if band:
            L.append(f"\nNudged elastic band ({band['n_images']} images, climbing image) from the largest spurious "
                     f"minimum to the nearest exact point: loss {band['start_loss']:.3g} -> {band['end_loss']:.3g}, "
                     f"barrier {band['barrier']:.3g} above the start (the straight line: {band['line_barrier']:.3g}); "
                     f"converged: {band['converged']}.\n")
            L.append(figure("neb.png", "loss along the nudged elastic band and along the straight line."))
        L.append("")
    return L


def _proxies(summary) -> list[str]:
    c, runs, parts = summary["config"], summary["runs"], summary["parts"]
    L = []
    pr, pp = parts.get("pruning", {}), parts.get("probes", {})
    L.append(f"SVD pruning (`tnn.prune.svd_prune`: every dense layer and flattened kernel truncated to rank k), on "
             f"{c.probe_n} test chains:\n")
    L.append("| model | full accuracy | smallest rank keeping 95% (per seed) | max rank | first-layer weight on the edge cells (uniform share) |")
    L.append("|---|---|---|---|---|")
    for m, per in pr.items():
        if not per:
            continue
        ef = [p["edge_fraction"] for p in per if p["edge_fraction"] is not None]
        L.append(f"| {m} | {fmt([p['full_acc'] for p in per])} | {', '.join(str(p['smallest_rank_95']) for p in per)} "
                 f"| {per[0]['max_rank']} | {edge_cell(ef, per[0]['edge_share'] if ef else None)} |")
    info = runs.get("shallow")
    if info and "pruned_rank" in info:
        L.append(f"\nThe pruned shallow network of the Accuracy table: the one-hidden-layer MLP truncated to ranks "
                 f"{info['pruned_rank']} (per seed; of {info['max_rank']}), the smallest keeping 95% of its validation "
                 "accuracy.\n")
    L.append(figure("pruning.png", "accuracy against SVD rank, one line per model and seed."))
    L += _probe_lines(pp)
    return L


def _probe_lines(pp) -> list[str]:
    """The edge-proxy table: per run, the paired drop of each probe set with its 95% interval."""
    if not pp.get("runs"):
        return []
    L = [f"Edge-proxy probes (`tnn.study.probes.probe_table`) on {pp['n']} test chains (median xi {pp['xi_median']:.2f} "
         "cells), every seed of every run. `mask`/`cut`: the end cells zeroed / removed over a width of f xi; "
         "`edge_potential`: a local potential of strength mu on the end cells moves the edge modes away from zero "
         "energy while the bulk winding (and the label) stays; `disagreeing`: chains whose number of zero modes "
         "differs from their winding (the one set where an edge proxy and the label point different ways). Each cell: "
         "paired drop of accuracy against the same chains unprobed `drop [95% interval]`, McNemar p; verdict of "
         f"\"relies on edge proxies\" (disagreeing set): drop interval above {pp['threshold']}.\n"]
    first = next(iter(pp["runs"].values()))
    heads = [f"{r['probe']} {r['param']:g}" for r in first["rows"]]
    L.append("| run | test acc | " + " | ".join(heads) + " | verdict |")
    L.append("|---|---|" + "---|" * len(heads) + "---|")
    verdicts = {v["tag"]: v for v in pp.get("verdicts", [])}
    for tag, r in pp["runs"].items():
        cells = []
        for row in r["rows"]:
            if row.get("verdict") == "n/a" or not row.get("n"):
                cells.append("n/a")
            else:
                cells.append(f"{row['drop']:+.3f} [{row['lo']:.2f}, {row['hi']:.2f}] p={row['p_mcnemar']:.1g}")
        v = verdicts.get(tag, {})
        L.append(f"| {tag} | {r['acc']:.3f} | " + " | ".join(cells) + f" | {v.get('verdict', '--')}"
                 + ("" if v.get("learned", True) else " (not learned)") + " |")
    L.append("")
    L.append(figure("probes.png", "paired accuracy drop per probe set and run (95% intervals)."))
    return L


def _chern(summary) -> list[str]:
    c, rows = summary["config"], summary["rows"]
    L = []
    sp2 = ["qwz", "qwz-large", "haldane"]
    m2 = [m for m in dict.fromkeys(r["model"] for r in rows if r["model"].startswith("2d-"))]
    L.append(f"CNN and ResNet trained {c.epochs_2d} epochs on QWZ, open {c.size_2d}x{c.size_2d} lattices with Anderson "
             "disorder W in {0, 1, 2} (the labelled samples: k space for the clean ones, the certified real-space "
             "value for the disordered ones, which at this size are few and mostly trivial). Tested on clean "
             f"samples, every one labelled by its k-space Chern number: QWZ at the training size (`qwz`, {c.n_test_2d}), "
             f"at {c.test_size_2d}x{c.test_size_2d} (`qwz-large`) and the honeycomb Haldane model (`haldane`, "
             f"{c.size_2d}x{c.size_2d}). Exact topo = the marker network, untrained (open samples only: it refuses "
             "periodic lattices); its accuracy is the real-space ceiling at that size. Disordered 2D test sets "
             "wait for certificates that label them without selection (the spectral localizer).\n")
    L += accuracy_table(rows, m2, sp2, ("init", "trained"))
    L.append("")
    L += quality_table(summary, sp2, lambda sp: SETS_2D[sp][0], [-1, 0, 1])
    L.append("")
    L += confusion_lines(summary, m2, "qwz-large", [-1, 0, 1], "Chern number")
    L += confusion_lines(summary, m2, "haldane", [-1, 0, 1], "Chern number")
    L.append(figure("chern.png", "2D accuracy per model on the training size, the larger size and the Haldane "
                                 "lattice; one marker per seed."))
    return L


#: the sections after Accuracy that ``sections`` can leave out: (title, section name, lines)
_GATED = (
    ("Generalization", "generalization", _generalization),
    ("Trainability", "trainability", _trainability),
    ("Pruning and proxies", "proxies", _proxies),
    ("2D (Chern)", "2d", _chern),
)


def _appendix(summary) -> list[str]:
    c, ds, runs = summary["config"], summary["datasets"], summary["runs"]
    L = []
    L.append("## Datasets\n")
    L.append("| name | preset | size | periodic | disorder W | seed | train | val | test | ill-defined (train/val/test) "
             "| label quality: valid / clean = k space |")
    L.append("|---|---|---|---|---|---|---|---|---|---|---|")
    for name, d in ds.items():
        w = "none" if d["disorder"] == "none" else d["disorder"] + " " + "/".join(f"{x:g}" for x in d["W"])
        L.append(f"| {name} | {d['preset']} | {'x'.join(map(str, d['size']))} | {d['pbc']} | {w} | {d['seed']} | {d['n_train']} "
                 f"| {d['n_val']} | {d['n_test']} | {d['ill_defined_train']}/{d['ill_defined_val']}/{d['ill_defined_test']} "
                 f"| {quality_text(d)} |")
    L.append("")
    L.append("## Models and training\n")
    L.append("| model | input | encoding | parameters | epochs | training time (s) |")
    L.append("|---|---|---|---|---|---|")
    for m, r in runs.items():
        L.append(f"| {m} | {r['input']} | {r['encoding']} | {r['n_params']} | {r['epochs']} | {r['train_seconds']:.1f} |")
    L.append(f"\nBaselines: width {c.width}, depth {c.depth} (`shallow`: depth 1); topo: {c.channels} channels, tau "
             f"{c.tau:g}; topo-noise: exact + N(0, {c.noise:g}²). float64 throughout.\n")
    L.append("## Runtime and files\n")
    secs = summary.get("part_seconds", {})
    L.append(f"This invocation: {summary['seconds']:.1f} s"
             + (f" (reused from an earlier run: {', '.join(summary['reused'])})" if summary["reused"] else "")
             + ". Analysis parts (s, when first computed): " + ", ".join(f"{k} {v:.1f}" for k, v in secs.items() if v) + ".\n")
    sz = summary.get("sizes", {})
    L.append("`config.json` (config, dataset specs, versions), `metrics.csv` (one row per model, stage, seed and test "
             "set; `stage`: trained / init (untrained exact topo) / pruned), `report.md`, the figures named above, "
             "`parts/<name>.json` (each analysis), `runs/<model>/` (training folders with `eval.json`; "
             f"{sz.get('runs', 0) / 1e6:.1f} MB), "
             + (f"`data/<name>/` (datasets, {sz.get('data', 0) / 1e6:.1f} MB; `--no-keep-datasets` deletes them at the end)"
                if summary.get("keep_datasets", True) else "no `data/` (deleted at the end: `--no-keep-datasets`)")
             + f". {sz.get('total', 0) / 1e6:.1f} MB in all.\n")
    return L
