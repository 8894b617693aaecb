"""Benchmark of training: ensembles under ``vmap`` against a loop over members, per model.

Every figure is a ratio of two timings taken in the same run (interleaved repeats, minimum of each),
so it is meaningful on a shared, noisy machine; absolute seconds are printed for context. Writes a
table to stdout and JSON to ``results/bench_train.json`` (``--out``). Not a test: nothing asserts.

Rows: for each model (MLP, CNN, ResNet, symmetric, topo) on the SSH problem (periodic chains of
``L`` cells, ``n`` samples), the time of one training epoch of an ensemble of ``S`` members, with
``ensemble="loop"`` (members one after the other, each epoch one jitted scan) and ``"vmap"`` (all
members in one vmapped scan), after compilation; and the compile-inclusive time of the first epoch.
Ratio = loop / vmap (> 1: vmap is faster).

Run: ``.venv/bin/python experiments/bench_train.py [--quick] [--members S] [--out PATH]``.
"""

from __future__ import annotations

import argparse
import platform
import time
from pathlib import Path

import numpy as np
import jax
import jax.numpy as jnp

import tnn
from tnn import hamiltonians, results as tres, lattice
from tnn.models import ModelConfig, make_model
from tnn.train import TrainConfig, fit

MODELS = {
    "mlp": dict(width=32, depth=2),
    "cnn": dict(width=16, depth=2, radius=1),
    "resnet": dict(width=16, depth=2, radius=1),
    "symmetric": dict(width=16, depth=2, radius=1),
    "topo": dict(init="exact_noise", noise=0.1, channels=2, head_width=8),
}


def ssh_data(n: int, L: int, seed: int = 0):
    lat = lattice.chain(L, pbc=True)
    rng = np.random.default_rng(seed)
    r = np.exp(rng.choice([-1.0, 1.0], n) * rng.uniform(0.3, 1.5, n))
    t = np.stack([r, np.ones(n)], -1)
    t = t / t.max(axis=1, keepdims=True)
    H = jax.vmap(lambda tt: hamiltonians.ssh(tt, lat))(jnp.asarray(t))
    E, V = jnp.linalg.eigh(H)
    return lat, {"hamiltonian": H, "energies": E, "eigenvectors": V}, (r < 1).astype(int)


def time_fit(model, cfg, data, repeats: int) -> tuple[float, float]:
    """(first call incl. compilation, min per-epoch time of later calls)."""
    t0 = time.perf_counter()
    fit(model, cfg, data)
    first = time.perf_counter() - t0
    best = np.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        fit(model, cfg, data)
        best = min(best, (time.perf_counter() - t0) / cfg.epochs)
    return first, best


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--members", type=int, default=4)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--out", default="results/bench_train.json")
    args = ap.parse_args(argv)
    tnn.enable_x64()
    n, L, epochs = (256, 16, 2) if args.quick else (1024, 32, 3)
    lat, feats, y = ssh_data(n, L)
    rows = []
    print(f"SSH, L={L}, n={n}, S={args.members} members, {epochs} epochs, batch 32; seconds per epoch")
    print(f"{'model':10s} {'loop s/ep':>10s} {'vmap s/ep':>10s} {'loop/vmap':>10s} {'1st loop':>9s} {'1st vmap':>9s}")
    for name, kw in MODELS.items():
        model = make_model(ModelConfig(name, **kw), lat)
        res = {}
        for mode in ("loop", "vmap"):
            cfg = TrainConfig(seeds=tuple(range(args.members)), epochs=epochs, ensemble=mode, eval_train=False)
            res[mode] = time_fit(model, cfg, (feats, y), args.repeats)
        ratio = res["loop"][1] / res["vmap"][1]
        rows.append({"model": name, "loop_s_per_epoch": res["loop"][1], "vmap_s_per_epoch": res["vmap"][1],
                     "loop_over_vmap": ratio, "first_loop_s": res["loop"][0], "first_vmap_s": res["vmap"][0]})
        print(f"{name:10s} {res['loop'][1]:10.3f} {res['vmap'][1]:10.3f} {ratio:10.2f} {res['loop'][0]:9.2f} {res['vmap'][0]:9.2f}")
    out = {"rows": rows, "n": n, "L": L, "members": args.members, "epochs": epochs,
           "machine": {"platform": platform.platform(), "cpus": jax.local_device_count(), "backend": jax.default_backend()}}
    tres.write_json(Path(args.out), out)
    print(f"wrote {args.out}")
    return out


if __name__ == "__main__":
    main()
