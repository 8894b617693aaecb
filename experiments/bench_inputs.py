"""Cost of the inputs and the edge probes of issue 19 (items 2 and 3), and a smoke run of the pipeline.

On a small in-memory set of open SSH chains (nearest neighbour, ``t = (v, w)`` uniform in
``[0.1, 1.5]``, classes {0, 1} balanced, k-space labels, ``L = 32`` by default):

1. the cost of building each input kind from the Hamiltonians (:func:`tnn.study.probes.input_features`:
   one ``eigh`` per sample plus the feature), first call (with compilation) and steady state;
2. the cost of each probe set (:mod:`tnn.study.probes.widths`, :mod:`tnn.study.probes.edges`) for every input;
3. a CNN trained quickly on ``edge_modes`` and on ``hamiltonian`` (``--train`` samples, a few epochs)
   and its probe table (:func:`tnn.study.probes.probe_table`): paired drops, McNemar, verdicts. Only a
   smoke check of the pipeline: one seed, a small budget.

Writes a table to stdout and JSON to ``results/bench_inputs.json``. Not a test: nothing asserts.
Run: ``OPENBLAS_NUM_THREADS=1 .venv/bin/python experiments/bench_inputs.py [--n 200] [--L 32]``.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

import tnn
from tnn import data, results as tio
from tnn.study import probes
from tnn.data import spec as spec_mod
from tnn.models import ModelConfig, make_model
from tnn.train import TrainConfig, fit

KINDS = ("hamiltonian", "projector", "density", "edge_modes", "wavefunctions", "hoppings")


def chains(n: int, L: int, seed: int) -> dict:
    spec = data.preset("ssh", size=L, ranges=(0, 1), params=(spec_mod.uniform("t[0]", 0.1, 1.5),
                                                             spec_mod.uniform("t[1]", 0.1, 1.5)),
                       classes=(0, 1), balance=True, label="kspace", features=("hamiltonian",), n=n, seed=seed,
                       chunk_size=50, shard_size=50)
    out = data.compute_samples(spec, 0, n)
    return {"H": out["hamiltonian"], "y": out["label"].astype(float), "xi": probes.ssh_xi(out["params"], (0, 1)),
            "lat": spec.lattice(), "ranges": (0, 1)}


def timed(fn, *a, **k):
    t0 = time.perf_counter()
    r = fn(*a, **k)
    return r, time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=200)
    ap.add_argument("--L", type=int, default=32)
    ap.add_argument("--train", type=int, default=600)
    ap.add_argument("--epochs", type=int, default=15)
    ap.add_argument("--out", default="results/bench_inputs.json")
    args = ap.parse_args()
    tnn.enable_x64()
    test = chains(args.n, args.L, seed=1)
    lat, n = test["lat"], args.n
    rep: dict = {"n": n, "L": args.L, "inputs": {}, "probes": {}, "tables": {}}
    print(f"{n} open SSH chains, L = {args.L}; xi median {np.median(test['xi']):.2f}, max {np.max(test['xi']):.1f}")
    print("\n1. inputs (ms per sample): first call (compile), steady")
    for k in KINDS:
        _, t1 = timed(probes.input_features, test["H"], lat, (k,), (0, 1))
        _, t2 = timed(probes.input_features, test["H"], lat, (k,), (0, 1))
        rep["inputs"][k] = {"first_ms": 1e3 * t1 / n, "steady_ms": 1e3 * t2 / n}
        print(f"   {k:14s} {1e3 * t1 / n:8.3f} {1e3 * t2 / n:8.3f}")
    print("\n2. probe sets (s for the whole set; steady = second call)")
    for k in ("hamiltonian", "edge_modes"):
        x = probes.input_features(test["H"], lat, (k,), (0, 1))
        sets = {
            "mask (5 widths)": lambda: probes.mask_sweep(x, test["y"], lat, test["xi"]),
            "cut (5 widths)": lambda: probes.cut_sweep(test["H"], test["y"], lat, test["xi"], (k,)),
            "edge_potential (5 mu)": lambda: probes.edge_potential_sweep(test["H"], test["y"], lat, (k,)),
            "disagreeing": lambda: probes.disagreeing_set(test["H"], test["y"], lat, (k,)),
        }
        for name, fn in sets.items():
            r, t1 = timed(fn)
            _, t2 = timed(fn)
            rep["probes"][f"{k}/{name}"] = {"first_s": t1, "steady_s": t2}
            extra = f" kept {len(r['index'])}/{n}" if name == "disagreeing" else ""
            print(f"   {k:12s} {name:24s} {t1:7.2f} {t2:7.2f}{extra}")
    train = chains(args.train, args.L, seed=2)
    print(f"\n3. CNN, {args.train} training chains, {args.epochs} epochs, one seed")
    for k in ("edge_modes", "hamiltonian"):
        cfg = ModelConfig("cnn", input=k, width=16, depth=2)
        model = make_model(cfg, lat)
        xt = probes.input_features(train["H"], lat, (k,), (0, 1))
        res, t_fit = timed(fit, model, TrainConfig(seeds=(0,), epochs=args.epochs, learning_rate=3e-3,
                                                   eval_train=False), (xt, train["y"]))
        params = res.member(0)
        table, t_tab = timed(probes.probe_table, cfg, [params], test)
        rep["tables"][k] = {**table, "fit_s": t_fit, "table_s": t_tab}
        print(f"\n   cnn on {k}: test acc {table['acc']:.3f}  (fit {t_fit:.0f} s, probes {t_tab:.0f} s); "
              f"verdict 'relies on edge proxies': {table['verdict']}")
        print(f"   {'probe':15s} {'param':>5s} {'n':>4s} {'acc':>6s} {'probed':>6s} {'drop':>6s} {'95% CI':>16s} "
              f"{'b':>3s} {'c':>3s} {'p':>8s}  verdict")
        for r in table["rows"]:
            if r["verdict"] == "n/a":
                print(f"   {r['probe']:15s} {r['param']:5.2f}  n/a")
                continue
            print(f"   {r['probe']:15s} {r['param']:5.2f} {r['n']:4d} {r['acc_base']:6.3f} {r['acc_probe']:6.3f} "
                  f"{r['drop']:6.3f} [{r['lo']:6.3f}, {r['hi']:6.3f}] {r['b']:3d} {r['c']:3d} {r['p_mcnemar']:8.2g}  "
                  f"{r['verdict']}")
    out = Path(args.out)
    tio.write_json(out, rep)
    print(f"\nwrote {out}")


if __name__ == "__main__":
    main()
