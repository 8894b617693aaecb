"""Benchmark of the curvature tools: one HVP against one gradient, and Lanczos against its HVPs.

Every figure is a ratio of two timings taken in the same run (interleaved repeats, minimum of each,
after compilation), so it is meaningful on a shared, noisy machine; absolute milliseconds are
printed for context. Writes a table to stdout and JSON to ``results/bench_landscape.json``
(``--out``). Not a test: nothing asserts; the targets are printed next to the ratios.

Rows, for each model of the study (its widths: ``tnn.study.StudyConfig``), on a batch of ``B`` SSH
chains of ``L`` cells, float64, the model's training loss (:func:`tnn.train.make_loss`):

* ``hvp/grad``: one :func:`tnn.landscape.hvp` (forward-over-reverse) against one ``jax.grad``;
  target <= 4.
* ``eigs/(m*hvp)`` (the CNN, or every model with ``--all-eigs``): the 10 largest eigenvalues by
  :func:`tnn.landscape.hessian_eigs` (``m`` Lanczos steps, matfree, full reorthogonalization)
  against ``m`` times one HVP; target <= 1.5.

Run: ``OPENBLAS_NUM_THREADS=1 .venv/bin/python experiments/bench_landscape.py [--quick] [--out PATH]``.
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse  # noqa: E402
import platform  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
from jax.flatten_util import ravel_pytree  # noqa: E402

import tnn  # noqa: E402
from tnn import hamiltonians, results as tres, landscape, lattice  # noqa: E402
from tnn.models import ModelConfig, make_model  # noqa: E402
from tnn.study import StudyConfig  # noqa: E402
from tnn.train import encode_labels, make_loss  # noqa: E402


def ssh_data(n: int, L: int, seed: int = 0):
    """Open SSH chains with ranges (-1, 0, 1, 2) (the study's family), their eigensystems, windings."""
    lat = lattice.chain(L)
    rng = np.random.default_rng(seed)
    t = rng.uniform(-1, 1, size=(n, 4))
    H = jax.vmap(lambda tt: hamiltonians.ssh(tt, lat, ranges=(-1, 0, 1, 2)))(jnp.asarray(t))
    E, V = jnp.linalg.eigh(H)
    w = np.asarray(jax.vmap(lambda h: tnn.invariants.winding_number(h, lat))(H))
    w = np.clip(np.round(np.nan_to_num(w)), -1, 2)
    return lat, {"hamiltonian": H, "energies": E, "wavefunctions": V}, w


def timeit(fns: dict, repeats: int) -> dict:
    """Minimum wall time of each zero-argument function, repeats interleaved (compiled first)."""
    for f in fns.values():
        jax.block_until_ready(f())
    best = {k: np.inf for k in fns}
    for _ in range(repeats):
        for k, f in fns.items():
            t0 = time.perf_counter()
            jax.block_until_ready(f())
            best[k] = min(best[k], time.perf_counter() - t0)
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="smaller batch, fewer repeats")
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--k", type=int, default=10, help="top eigenvalues")
    ap.add_argument("--steps", type=int, default=None, help="Lanczos steps (default: hessian_eigs' default)")
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--all-eigs", action="store_true", help="time the eigenvalues on every model, not only the CNN")
    ap.add_argument("--out", default="results/bench_landscape.json")
    args = ap.parse_args()
    tnn.enable_x64()
    study = StudyConfig()
    B = 16 if args.quick else args.batch
    reps = 3 if args.quick else args.repeats
    lat, feats, w = ssh_data(B, study.size)
    classes = (-1, 0, 1, 2)
    rows = []
    print(f"landscape benchmark: B={B} chains of L={study.size} cells, float64, "
          f"OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS')}, {jax.devices()[0].platform}")
    print(f"{'model':10s} {'P':>6s} {'grad ms':>9s} {'hvp ms':>9s} {'hvp/grad':>9s} {'m':>4s} {'eigs ms':>9s} "
          f"{'eigs/(m*hvp)':>13s}")
    for name in ("mlp", "cnn", "resnet", "symmetric", "topo"):
        if name == "topo":
            cfg = study.model_config("topo-random", classes)
        else:
            cfg = study.model_config(name, classes)
        model = make_model(cfg, lat)
        x = model.prepare(feats)
        t = jnp.asarray(encode_labels(cfg, w))
        params = model.init(jax.random.key(0), jax.tree_util.tree_map(lambda a: a[:1], x))
        base = make_loss(model)
        P = int(ravel_pytree(params)[0].size)
        v = jax.tree_util.tree_map(lambda a: jnp.ones_like(a) / np.sqrt(P), params)
        grad = jax.jit(jax.grad(base))
        hvp = jax.jit(lambda p, u, xx, tt: landscape.hvp(lambda q: base(q, xx, tt), p, u))
        fns = {"grad": lambda: grad(params, x, t), "hvp": lambda: hvp(params, v, x, t)}
        k = min(args.k, P)
        m = args.steps or min(P, max(4 * k, 40))
        do_eigs = name == "cnn" or args.all_eigs
        if do_eigs:
            eigs = jax.jit(lambda p, key, xx, tt: landscape.hessian_eigs(lambda q: base(q, xx, tt), p, k, key, num_steps=m))
            fns["eigs"] = lambda: eigs(params, jax.random.key(1), x, t)
        best = timeit(fns, reps)
        row = {"model": name, "P": P, "grad_s": best["grad"], "hvp_s": best["hvp"], "hvp_over_grad": best["hvp"] / best["grad"],
               "lanczos_steps": m if do_eigs else None, "eigs_s": best.get("eigs"),
               "eigs_over_steps_hvp": best["eigs"] / (m * best["hvp"]) if do_eigs else None}
        rows.append(row)
        e = f"{1e3 * row['eigs_s']:9.2f} {row['eigs_over_steps_hvp']:13.2f}" if do_eigs else f"{'-':>9s} {'-':>13s}"
        print(f"{name:10s} {P:6d} {1e3 * row['grad_s']:9.2f} {1e3 * row['hvp_s']:9.2f} {row['hvp_over_grad']:9.2f} "
              f"{(m if do_eigs else '-')!s:>4s} {e}")
    worst_hvp = max(r["hvp_over_grad"] for r in rows)
    eig_rows = [r for r in rows if r["eigs_over_steps_hvp"] is not None]
    print(f"targets: hvp/grad <= 4 (worst {worst_hvp:.2f}: {'met' if worst_hvp <= 4 else 'MISSED'}); "
          + "; ".join(f"{r['model']} eigs/(m*hvp) <= 1.5 ({r['eigs_over_steps_hvp']:.2f}: "
                      f"{'met' if r['eigs_over_steps_hvp'] <= 1.5 else 'MISSED'})" for r in eig_rows))
    out = {"batch": B, "L": study.size, "k": args.k, "repeats": reps, "rows": rows,
           "machine": {"platform": platform.platform(), "processor": platform.processor(), "device": str(jax.devices()[0]),
                       "jax": jax.__version__, "openblas_threads": os.environ.get("OPENBLAS_NUM_THREADS")}}
    tres.write_json(Path(args.out), out)
    print(f"written {args.out}")


if __name__ == "__main__":
    main()
