"""Why is it hard to train? Curvature, slices, SVD pruning and proxy probes of one trained run.

Input: a results folder written by ``tnn train`` or by ``tnn study`` (``<study>/runs/<model>``):
``config.json`` (the model, the seeds and the dataset it was trained on, ``data.path``) and
``params/seed<S>.npz``. The test split of that SSH dataset (gapped samples) is the probe set; its
chains are rebuilt from the stored hoppings (``params``), so the Hamiltonian and the eigensystem
are both at hand whatever features the dataset stored (clean datasets only: the probes need the
hoppings to rebuild each chain periodic and with an edge potential).

For the member of ``--seed`` (default: the first) it writes into ``<run>/analysis/``:

* ``landscape.json/.png`` -- :func:`tnn.study.landscape_runs.analyze` on ``--batch`` test samples: Lanczos
  extremes, SLQ density, Hutchinson trace, curvature summary (exact eigenvalues when the model is
  small), filter-normalized 1D/2D slices; topo also the straight line to the exact solution;
* ``pruning.json/.png`` -- :func:`tnn.study.pruning.accuracy_vs_rank` and the first-layer cell weights;
* ``probes.json/.png`` -- :func:`tnn.study.probes.run_probes`: edge-masked, edge-cut, periodic and
  edge-potential sets, per-cell saliency per class;
* ``summary.json`` -- the headline numbers of the three.

Run: ``OPENBLAS_NUM_THREADS=1 .venv/bin/python experiments/analyze_run.py results/study/runs/cnn [--seed S]``.
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse  # noqa: E402
import dataclasses  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402

import tnn  # noqa: E402
from tnn import data, results as tres, prune  # noqa: E402
from tnn.study import landscape_runs, probes, pruning  # noqa: E402
from tnn.models.topo import init_params  # noqa: E402
from tnn.train import load_run  # noqa: E402


def probe_set(path, split: str, n_max: int | None):
    """``{"x", "y", "t", "ranges", "lat"}`` of a clean SSH dataset split, chains rebuilt from hoppings."""
    ds = data.open_dataset(path)
    spec = ds.spec
    if spec.model != "ssh" or spec.disorder != "none":
        raise ValueError(f"Argument `run`: its dataset {ds.path} is {spec.model} with disorder {spec.disorder!r}; "
                         "the probes need clean SSH chains.")
    arr = ds.load(split, ("params", "label", "ill_defined"))
    keep = ~arr["ill_defined"].astype(bool)
    t, y = arr["params"][keep], arr["label"][keep].astype(np.float64)
    if n_max is not None:
        t, y = t[:n_max], y[:n_max]
    lat = spec.lattice()
    H = jax.vmap(lambda ti: tnn.hamiltonians.ssh(ti, lat, ranges=spec.ranges))(jnp.asarray(t))
    return {"x": probes.chain_features(H, spec.gauge), "y": y, "t": t, "ranges": spec.ranges, "lat": lat}


def model_input(model, feats):
    if model.config.resolved_input() == "wavefunctions":
        return {"energies": feats["energies"], "wavefunctions": feats["wavefunctions"]}
    return {"hamiltonian": feats["hamiltonian"]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("run", help="a results folder of tnn train / tnn study (runs/<model>)")
    ap.add_argument("--seed", type=int, default=None, help="ensemble member (default: the first seed)")
    ap.add_argument("--split", default="test")
    ap.add_argument("--n", type=int, default=400, help="at most this many samples for pruning and probes")
    ap.add_argument("--batch", type=int, default=64, help="samples of the loss for the landscape")
    ap.add_argument("--key", type=int, default=0, help="PRNG seed of the landscape's random vectors")
    ap.add_argument("--edge-cells", type=int, default=1)
    ap.add_argument("--mu", type=float, default=1.0, help="edge potential of the proxy-disagreeing set")
    ap.add_argument("--no-progress", action="store_true")
    args = ap.parse_args()
    tnn.enable_x64()
    t0 = time.perf_counter()
    run = Path(args.run)
    model, params_by_seed, _, cfg = load_run(run)
    seed = args.seed if args.seed is not None else cfg["seeds"][0]
    if seed not in params_by_seed:
        raise SystemExit(f"seed {seed} not in this run (seeds {sorted(params_by_seed)})")
    params = params_by_seed[seed]
    test = probe_set(cfg["data"]["path"], args.split, args.n)
    x_all = model_input(model, test["x"])
    out_dir = run / "analysis"
    progress = not args.no_progress

    end = None
    if model.config.name == "topo":  # the straight line from this member to the exact solution
        exact_cfg = dataclasses.replace(model.config, init="exact", noise=0.0)
        end = init_params(jax.random.key(seed), exact_cfg, model.lattice)
    b = min(args.batch, len(test["y"]))
    xb = jax.tree_util.tree_map(lambda a: a[:b], x_all)
    land = landscape_runs.analyze(model, params, (xb, test["y"][:b]), jax.random.key(args.key), end=end, progress=progress)
    land["seed"] = seed
    landscape_runs.write_analysis(land, out_dir)

    curve = pruning.accuracy_vs_rank(model, params, (x_all, test["y"]), progress=progress)
    try:
        sites = prune.input_site_weights(model, params, edge_cells=args.edge_cells)
    except ValueError:  # topo: no Flax kernel
        sites = {}
    pruning.write_pruning({model.name: curve}, {model.name: sites} if sites else {}, out_dir)

    pr = probes.run_probes(model.config, params, {**test, "x": test["x"]}, edge_cells=args.edge_cells, mu=args.mu,
                           progress=progress)
    probes.write_probes({model.name: pr}, out_dir)

    summary = {"run": str(run), "model": model.name, "seed": seed, "n_params": land["n_params"],
               "curvature": land["summary"], "trace": land["trace"], "line_barrier": (land.get("line") or {}).get("barrier"),
               "full_acc": curve["full_acc"], "smallest_rank_95": curve["smallest_rank_95"], "max_rank": curve["max_rank"],
               "edge_fraction_first_layer": sites.get("edge_fraction"), "probe_acc": pr["acc"],
               "saliency_edge_fraction": pr["saliency"]["edge_fraction"], "saliency_edge_share": pr["saliency"]["edge_share"],
               "seconds": time.perf_counter() - t0}
    tres.write_json(out_dir / "summary.json", summary)
    print(f"{model.name} seed {seed}: P={land['n_params']}, top eig {land['summary']['top']:.3g}, "
          f"condition {land['summary']['condition']:.3g}, negative fraction {land['summary']['negative_fraction']:.3g}"
          + (f", barrier to exact {summary['line_barrier']:.3g}" if end is not None else ""))
    print(f"  pruning: full acc {curve['full_acc']:.3f}, smallest rank keeping 95%: {curve['smallest_rank_95']} of {curve['max_rank']}")
    print("  probes: " + ", ".join(f"{k} {'n/a' if v is None else f'{v:.3f}'}" for k, v in pr["acc"].items()))
    print(f"written {out_dir} ({summary['seconds']:.0f} s)")


if __name__ == "__main__":
    main()
