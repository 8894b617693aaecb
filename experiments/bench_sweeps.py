"""Benchmark of :func:`tnn.sweeps.sweep` against a Python loop of the same jitted function.

All ratios come from one process and one run (interleaved repeats, minimum of each), so they mean
something on a shared, noisy machine. The process starts with 4 forced host devices
(``XLA_FLAGS=--xla_force_host_platform_device_count=4``) and ``OPENBLAS_NUM_THREADS=1`` (both set
here before JAX starts, unless already set), so the loop and every sweep see the same LAPACK
threading; the loop and the 1-device sweep run on device 0.

Rows, per case (SSH winding number, periodic chain of 64 cells, over a (v, w) grid; QWZ Bott index,
periodic 16 x 16, over (m, W) with Anderson disorder and keys):

* ``loop``: ``[float(jax.jit(fn)(*point)) for point in grid]`` (compiled before timing).
* ``sweep, n devices``: :func:`tnn.sweeps.sweep` on the first n devices (chunk from the memory
  estimate, runner compiled before timing). Ratio = loop time / sweep time; targets (issue 15):
  >= 3x for SSH, >= 1.5x for QWZ. Forced host devices share the machine's cores: on 2 cores, 4
  devices cannot beat 2.
* memory per chunk: the estimate the chunk was sized by (trial compile of one point, times the items
  per device) against the compiled chunk program's own ``memory_analysis()`` (arguments + outputs +
  temporaries, per device).

Writes a table to stdout and JSON to ``results/bench_sweeps.json`` (``--out``). Not a test.
Run: ``.venv/bin/python experiments/bench_sweeps.py [--quick] [--repeats R] [--out PATH]``.
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
if "xla_force_host_platform_device_count" not in os.environ.get("XLA_FLAGS", ""):
    os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") + " --xla_force_host_platform_device_count=4").strip()

import argparse  # noqa: E402
import platform  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402

import tnn  # noqa: E402
from tnn import hamiltonians, invariants, lattice, sweeps  # noqa: E402


def ssh_case(quick: bool):
    lat = lattice.chain(64, pbc=True)

    def ssh_winding(v, w):
        return invariants.winding_number(hamiltonians.ssh(jnp.stack([v, w]), lat), lat)

    n = 16 if quick else 32
    return "SSH winding, L=64 periodic", ssh_winding, {"v": np.linspace(0.05, 2, n), "w": np.linspace(0.05, 2, n)}, 0


def qwz_case(quick: bool):
    lat = lattice.square(16, 16, pbc=True)

    def qwz_bott(m, W, key):
        return invariants.bott_index(hamiltonians.qwz(m, lat, onsite_disorder=W, key=key), lat)

    n = 4 if quick else 8
    return "QWZ Bott, 16x16 periodic", qwz_bott, {"m": np.linspace(-2.5, 2.5, n), "W": np.array([0.0, 2.0])}, 2


def _loop(fn, grid, n_keys, seed):
    f = jax.jit(fn)
    names = list(grid)
    pts = np.stack(np.meshgrid(*grid.values(), indexing="ij"), -1).reshape(-1, len(names))
    keys = [jax.random.fold_in(jax.random.key(seed), s) for s in range(n_keys)]

    def run():
        out = []
        for p in pts:
            kw = dict(zip(names, p))
            if n_keys:
                out.extend(float(f(**kw, key=k)) for k in keys)
            else:
                out.append(float(f(**kw)))
        return np.asarray(out)

    return run


def bench_case(name, fn, grid, n_keys, repeats):
    devs = jax.local_devices()
    counts = [c for c in (1, 2, 4) if c <= len(devs)]
    runs = {"loop": _loop(fn, grid, n_keys, 0)}
    for c in counts:
        runs[f"sweep, {c} device{'s' if c > 1 else ''}"] = (
            lambda c=c: sweeps.sweep(fn, grid, n_keys=n_keys, seed=0, devices=devs[:c]).values.ravel()
        )
    ref = None
    for label, run in runs.items():  # compile everything, check the values agree
        v = run()
        ref = v if ref is None else ref
        assert np.allclose(v, ref, rtol=0, atol=1e-8, equal_nan=True), label
    times = {k: [] for k in runs}
    for _ in range(repeats):  # interleaved
        for label, run in runs.items():
            t = time.perf_counter()
            run()
            times[label].append(time.perf_counter() - t)
    best = {k: min(v) for k, v in times.items()}
    n_items = int(np.prod([len(a) for a in grid.values()])) * max(n_keys, 1)
    mem = {}
    for c in counts:
        pl = sweeps.plan(fn, grid, n_keys=n_keys, devices=devs[:c], measure_chunk=True)
        mem[c] = {"chunk": pl.chunk, "bytes_per_point": pl.bytes_per_point,
                  "estimate_per_device": pl.chunk_bytes_estimate, "compiled_per_device": pl.chunk_bytes_compiled}
    return {"case": name, "n_items": n_items, "seconds": best, "all_seconds": times,
            "speedup_vs_loop": {k: best["loop"] / v for k, v in best.items() if k != "loop"}, "memory": mem}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="smaller grids")
    ap.add_argument("--repeats", type=int, default=3, help="interleaved repeats; the minimum counts")
    ap.add_argument("--out", default="results/bench_sweeps.json", help="JSON output path")
    args = ap.parse_args(argv)
    tnn.enable_x64()
    res = {"machine": {"cpu_count": os.cpu_count(), "platform": platform.platform(), "jax": jax.__version__,
                       "devices": [str(d) for d in jax.local_devices()], "XLA_FLAGS": os.environ.get("XLA_FLAGS"),
                       "OPENBLAS_NUM_THREADS": os.environ.get("OPENBLAS_NUM_THREADS"),
                       "loadavg_start": os.getloadavg()}, "cases": []}
    targets = {"SSH": 3.0, "QWZ": 1.5}
    print(f"{'case':28s} {'run':18s} {'items':>6s} {'seconds':>8s} {'items/s':>8s} {'vs loop':>8s}  target")
    for make in (ssh_case, qwz_case):
        name, fn, grid, n_keys = make(args.quick)
        r = bench_case(name, fn, grid, n_keys, args.repeats)
        res["cases"].append(r)
        target = targets[name.split()[0]]
        for label, sec in r["seconds"].items():
            sp = r["speedup_vs_loop"].get(label)
            verdict = "" if sp is None else (f">= {target}x: {'met' if sp >= target else 'NOT met'}")
            print(f"{name:28s} {label:18s} {r['n_items']:6d} {sec:8.3f} {r['n_items'] / sec:8.0f} "
                  f"{'' if sp is None else f'{sp:7.2f}x':>8s}  {verdict}")
        for c, m in r["memory"].items():
            ratio = m["compiled_per_device"] / m["estimate_per_device"] if m["estimate_per_device"] else float("nan")
            print(f"{name:28s} memory, {c} device(s): chunk {m['chunk']}, estimate {m['estimate_per_device'] / 2**20:.2f} MiB"
                  f" per device, compiled {m['compiled_per_device'] / 2**20:.2f} MiB (compiled / estimate {ratio:.2f})")
    res["machine"]["loadavg_end"] = os.getloadavg()
    print(f"load average at start {res['machine']['loadavg_start'][0]:.2f}, end {res['machine']['loadavg_end'][0]:.2f}"
          f" on {os.cpu_count()} cores (other jobs share them)")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tnn.results.write_json(out, res)
    print(f"-> {out}")


if __name__ == "__main__":
    main()
