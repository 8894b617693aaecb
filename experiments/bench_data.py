r"""Dataset generation throughput: tnn.data (jitted, vmapped, sharded) against a per-sample NumPy loop.

Two datasets of the issue: the SSH preset (open chain of 50 cells, ranges (-1, 0, 1, 2), windings
{-1, 0, 1, 2} balanced) and the QWZ preset (open 12 x 12 square, Anderson disorder, Chern classes
balanced). The NumPy loop computes, one sample at a time, the same things a dataset sample holds:
the balanced parameter draw (rejection on the clean k-space class), the Hamiltonian, its
eigensystem with the same eigenvector gauge, the real-space invariant (open chain: bulk-trace
winding number; QWZ: bulk-averaged local Chern marker), the bulk gap and the gapless flag, and the
k-space invariant with its gap (SSH: 512-point winding; QWZ: 48 x 48 Fukui-Hatsugai-Suzuki). It is
written the way a careful NumPy user would write it (index arrays built once, vectorized k grids,
the one-term marker with ``n_occ``-sized products), and checked against tnn.invariants / tnn.kspace
on a few Hamiltonians before timing.

Measured, in one run:

* ``numpy``: samples/s of the NumPy loop, with NumPy's default BLAS threads and with one thread
  (the faster of the two is the baseline);
* ``tnn steady``: samples/s of :func:`tnn.data.compute_samples` in this process after compilation
  (one process, one BLAS thread);
* ``tnn generate``: :func:`tnn.data.generate` end to end into a temporary folder, in this process
  and with ``--workers`` subprocesses (default 2): start-up, compilation, preflight, shard writing
  and checksums included (the worker run of the ``running`` rows at twice the listed ``n``);
* ``running``: the workers' marginal rate, from ``generate`` at ``n`` and at ``2 n`` (the extra
  ``n`` samples over the extra seconds): their throughput once started, which is what a large
  dataset sees. Each worker pays about 1 s of imports and 2-4 s of XLA compilation first.

The SSH path of tnn diagonalizes the chiral block (one ``L x L`` SVD, :func:`tnn.data.chiral_eigh`)
where the NumPy loop diagonalizes ``H`` (``2L x 2L``), the textbook route; both give the same
eigensystem.

Prints a table and writes JSON (``--out``, default ``results/bench_data/bench_data.json``).
Targets (issue 4, 2 cores): tnn generate >= 5x the NumPy loop for SSH, >= 2x for QWZ.

    .venv/bin/python experiments/bench_data.py [--quick] [--workers 2]
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

import jax

import tnn
from tnn import data, hamiltonians, invariants, kspace
from tnn.threads import blas_threads


# ------------------------------------------------------------------------------------ NumPy loop
def gauge_np(V: np.ndarray) -> np.ndarray:
    c = data.gauge_reference(V.shape[0]) @ V
    a = np.abs(c)
    ph = np.where(a > 0, c / np.where(a > 0, a, 1), 1)
    return V * np.conj(ph)[None, :]


def bulk_gap_np(E, V, site_mask):
    n = len(E)
    w = np.sum(np.abs(V[site_mask]) ** 2, axis=0)
    bulk = w >= 0.5 * site_mask.mean()
    occ = np.arange(n) < n // 2
    hi = np.min(E[bulk & ~occ], initial=np.inf)
    lo = np.max(E[bulk & occ], initial=-np.inf)
    gap = hi - lo
    return gap if np.isfinite(gap) else 0.0


class SSHNumpy:
    """SSH family on an open chain: everything one dataset sample holds, in NumPy."""

    def __init__(self, spec: data.DatasetSpec):
        self.spec = spec
        self.lat = spec.lattice()
        L = self.lat.dims[0]
        self.fams = [self.lat.hop((r,), 0, 1)[:2] for r in spec.ranges]
        trim = L // 4 if spec.trim is None else spec.trim
        self.cell_mask = (np.arange(L) >= trim) & (np.arange(L) < L - trim)
        self.site_mask = np.repeat(self.cell_mask, 2)
        x = np.arange(L, dtype=float)
        self.K = self.cell_mask[:, None] * (x[:, None] - x[None, :]) / self.cell_mask.sum()
        ks = np.linspace(0, 2 * np.pi, spec.kspace_nk, endpoint=False)
        self.phases = np.exp(1j * np.outer(ks, spec.ranges))  # (nk, R)
        self.sign = np.where(np.arange(2 * L) < L, -1.0, 1.0)

    def kspace(self, t):
        q = self.phases @ t
        w = np.sum(np.angle(np.roll(q, -1) / q)) / (2 * np.pi)
        return w, 2 * np.min(np.abs(q))

    def hamiltonian(self, t, rng):
        n = self.lat.n_sites
        H = np.zeros((n, n))
        W = rng.choice(self.spec.strength.args) if self.spec.disorder != "none" else 0.0
        for (r, c), ti in zip(self.fams, t):
            v = ti + (W * rng.uniform(-0.5, 0.5, len(r)) if self.spec.disorder == "bond" else 0.0)
            H[r, c] = v
            H[c, r] = v
        return H

    def labels(self, H):
        E, V = np.linalg.eigh(H)
        U = (V[0::2] * self.sign) @ V[1::2].T
        w = np.sum(self.K * U**2)
        gap = bulk_gap_np(E, V, self.site_mask)
        tol = 2 * np.max(np.abs(E)) / self.lat.dims[0]
        return E, gauge_np(V), w, gap, gap < tol

    def sample(self, rng, target):
        lo, hi = np.array([p.args for p in self.spec.params]).T
        while True:
            t = rng.uniform(lo, hi)
            kw, kg = self.kspace(t)
            if kg > 1e-8 and round(kw) == target:
                break
        H = self.hamiltonian(t, rng)
        return (t, kw, kg, *self.labels(H))


class QWZNumpy:
    """QWZ on an open square: everything one dataset sample holds, in NumPy."""

    def __init__(self, spec: data.DatasetSpec):
        self.spec = spec
        self.lat = lat = spec.lattice()
        rows, cols, vals = [], [], []
        for off, T in (((1, 0), hamiltonians.QWZ_TX), ((0, 1), hamiltonians.QWZ_TY)):
            for a in range(2):
                for b in range(2):
                    if T[a, b] != 0:
                        r, c, _ = lat.hop(off, a, b)
                        rows.append(r)
                        cols.append(c)
                        vals.append(np.full(len(r), T[a, b]))
        self.rows, self.cols, self.vals = map(np.concatenate, (rows, cols, vals))
        self.sz = np.where(lat.sublattice == 0, 1.0, -1.0)
        self.x, self.y = lat.positions[:, 0], lat.positions[:, 1]
        trim = tuple(d // 4 for d in lat.dims) if spec.trim is None else (spec.trim,) * 2
        cc = lat.cell_coords
        self.cell_mask = np.all((cc >= np.array(trim)) & (cc < np.array(lat.dims) - np.array(trim)), axis=1)
        self.site_mask = np.repeat(self.cell_mask, 2)
        nk = spec.kspace_nk
        kap = np.arange(nk) / nk * 2 * np.pi
        self.kx, self.ky = np.meshgrid(kap, kap, indexing="ij")
        self.crit = np.array([[0.0, 0.0], [np.pi, 0.0], [0.0, np.pi], [np.pi, np.pi]])
        sx = np.array([[0, 1], [1, 0]], complex)
        sy = np.array([[0, -1j], [1j, 0]])
        szm = np.diag([1.0, -1.0]).astype(complex)
        self.pauli = (sx, sy, szm)

    def bloch(self, m, kx, ky):
        sx, sy, sz = self.pauli
        return (np.sin(kx)[..., None, None] * sx + np.sin(ky)[..., None, None] * sy
                + (m + np.cos(kx) + np.cos(ky))[..., None, None] * sz)

    def kspace(self, m):
        E, V = np.linalg.eigh(self.bloch(m, self.kx, self.ky))
        Ec = np.linalg.eigvalsh(self.bloch(m, self.crit[:, 0], self.crit[:, 1]))
        gap = min(np.min(E[..., 1] - E[..., 0]), np.min(Ec[..., 1] - Ec[..., 0]))
        u = V[..., 0]
        U1 = np.sum(u.conj() * np.roll(u, -1, axis=0), axis=-1)
        U2 = np.sum(u.conj() * np.roll(u, -1, axis=1), axis=-1)
        plaq = U1 * np.roll(U2, -1, axis=0) * np.conj(np.roll(U1, -1, axis=1)) * np.conj(U2)
        return -np.sum(np.angle(plaq)) / (2 * np.pi), gap

    def hamiltonian(self, m, W, rng):
        n = self.lat.n_sites
        H = np.zeros((n, n), complex)
        H[self.rows, self.cols] = self.vals
        H = H + H.conj().T
        H[np.arange(n), np.arange(n)] = m * self.sz + W * rng.uniform(-0.5, 0.5, n)
        return H

    def labels(self, H):
        E, V = np.linalg.eigh(H)
        n = len(E)
        Wo = V[:, : n // 2]
        Xw = Wo.conj().T @ (self.x[:, None] * Wo)
        Yw = Wo.conj().T @ (self.y[:, None] * Wo)
        per_site = np.sum((Wo @ (Xw @ Yw)) * Wo.conj(), axis=1).imag
        cmap = 4 * np.pi / self.lat.cell_area * per_site.reshape(-1, 2).sum(axis=1)
        c = cmap[self.cell_mask].mean()
        gap = bulk_gap_np(E, V, self.site_mask)
        tol = 2 * np.max(np.abs(E)) / min(self.lat.dims)
        return E, gauge_np(V), c, gap, gap < tol

    def sample(self, rng, target):
        lo, hi = self.spec.params[0].args
        while True:
            m = rng.uniform(lo, hi)
            c, g = self.kspace(m)
            if g > 1e-8 and round(c) == target:
                break
        W = rng.choice(self.spec.strength.args)
        return (m, c, g, *self.labels(self.hamiltonian(m, W, rng)))


def numpy_loop(ref, n: int, seed: int = 0) -> float:
    """Samples/s of the per-sample NumPy loop (balanced targets cycling through the classes)."""
    rng = np.random.default_rng(seed)
    classes = ref.spec.classes
    t0 = time.perf_counter()
    for i in range(n):
        ref.sample(rng, classes[i % len(classes)])
    return n / (time.perf_counter() - t0)


def check_numpy_labels(model: str, ref) -> float:
    """Largest difference between the NumPy labels and tnn's on a few Hamiltonians."""
    rng = np.random.default_rng(1)
    lat = ref.lat
    worst = 0.0
    for _ in range(4):
        if model == "ssh":
            t = rng.uniform(-1, 1, len(ref.spec.ranges))
            H = np.asarray(hamiltonians.ssh(t, lat, ref.spec.ranges))
            _, _, w, gap, _ = ref.labels(H)
            wj, cj = invariants.winding_number(H, lat, return_certificate=True, validity="raw")
            kw, kg = ref.kspace(t)
            kj, kgj = kspace.winding_number_and_gap(t, ref.spec.ranges, ref.spec.kspace_nk)
        else:
            m = rng.uniform(-3, 3)
            H = ref.hamiltonian(m, 1.0, rng)
            _, _, w, gap, _ = ref.labels(H)
            wj, cj = invariants.chern_number(H, lat, method="marker", return_certificate=True, validity="raw")
            kw, kg = ref.kspace(m)
            kj, kgj = kspace.chern_number_and_gap("qwz", {"m": m}, ref.spec.kspace_nk)
        worst = max(worst, abs(w - float(wj)), abs(gap - float(cj.gap)), abs(kw - float(kj)), abs(kg - float(kgj)))
    return worst


# ------------------------------------------------------------------------------------ tnn
def tnn_steady(spec: data.DatasetSpec, n: int) -> float:
    data.compute_samples(spec, 0, spec.chunk_size)  # compile
    t0 = time.perf_counter()
    for s0 in range(0, n, spec.shard_size):
        data.compute_samples(spec, s0, min(s0 + spec.shard_size, n))
    return n / (time.perf_counter() - t0)


def tnn_generate(spec: data.DatasetSpec, workers: int) -> tuple[float, float, float]:
    """End-to-end samples/s, MiB on disk and seconds of one :func:`tnn.data.generate` run."""
    tmp = Path(tempfile.mkdtemp(prefix="bench_data-"))
    try:
        t0 = time.perf_counter()
        ds = data.generate(spec, tmp / "ds", workers=workers)
        dt = time.perf_counter() - t0
        mib = sum(e["bytes"] for e in ds.manifest["shards"]) / 2**20
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return spec.n / dt, mib, dt


def tnn_generate_marginal(spec: data.DatasetSpec, workers: int) -> tuple[float, float]:
    """Workers' throughput once running: ``generate`` at ``n`` and at ``2 n``; the extra ``n``
    samples over the extra seconds (start-up, compilation and preflight cancel out). Returns the
    end-to-end samples/s of the ``2 n`` run and the marginal samples/s."""
    _, _, t1 = tnn_generate(spec, workers)
    big = dataclasses.replace(spec, n=2 * spec.n)
    rate2, _, t2 = tnn_generate(big, workers)
    return rate2, spec.n / max(t2 - t1, 1e-9)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer samples (a smoke run)")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--out", default="results/bench_data/bench_data.json")
    args = ap.parse_args(argv)
    tnn.enable_x64()
    q = args.quick
    # "labels": the preset with only the light per-cell features, so the run measures the labels
    # (and the eigensystem they need); "preset": the preset's own features (eigenvectors on disk).
    cases = {
        "ssh-labels": dict(spec=data.preset("ssh", n=2048 if q else 32768, seed=0, features=("hoppings",)),
                           ref=SSHNumpy, n_np=200 if q else 1500, n_steady=512 if q else 4096, target=5.0,
                           marginal=True),
        "ssh-preset": dict(spec=data.preset("ssh", n=1024 if q else 4096, seed=0), ref=SSHNumpy,
                           n_np=200 if q else 1500, n_steady=512 if q else 2048, target=None),
        "qwz-preset": dict(spec=data.preset("qwz", n=128 if q else 1536, seed=0), ref=QWZNumpy, n_np=12 if q else 60,
                           n_steady=32 if q else 128, target=2.0, marginal=True),
    }
    rows, baseline = [], {}
    for name, c in cases.items():
        spec = c["spec"]
        ref = c["ref"](spec)
        if spec.model not in baseline:  # the NumPy loop computes the same per-sample work for both SSH cases
            err = check_numpy_labels(spec.model, ref)
            assert err < 1e-8, f"{name}: the NumPy loop's labels differ from tnn's by {err:.2e}"
            np_default = numpy_loop(ref, c["n_np"])
            with blas_threads(1):
                np_single = numpy_loop(ref, c["n_np"])
            baseline[spec.model] = (err, np_default, np_single)
        err, np_default, np_single = baseline[spec.model]
        base = max(np_default, np_single)
        steady = tnn_steady(spec, c["n_steady"])
        gen1, mib, _ = tnn_generate(spec, 1)
        if args.workers > 1 and c.get("marginal"):
            genw, marginal = tnn_generate_marginal(spec, args.workers)
        else:
            genw = tnn_generate(spec, args.workers)[0] if args.workers > 1 else gen1
            marginal = float("nan")
        best = max(gen1, genw)
        rows.append({
            "dataset": name, "size": list(spec.size), "n_generate": spec.n, "features": list(spec.features),
            "dtype": spec.dtype, "numpy_default_threads": np_default, "numpy_one_thread": np_single,
            "numpy_baseline": base, "tnn_steady_1proc": steady, "tnn_generate_1": gen1, "tnn_generate_w": genw,
            "workers": args.workers, "disk_MiB": mib, "ratio_steady": steady / base, "ratio_generate": best / base,
            "ratio_generate_vs_numpy_default_threads": best / np_default,
            "tnn_generate_w_marginal": marginal, "ratio_generate_w_marginal": marginal / base,
            "n_generate_w": 2 * spec.n if c.get("marginal") and args.workers > 1 else spec.n,
            "target": c["target"], "labels_max_abs_diff": err,
        })
        print(f"{name}: numpy {base:.1f}/s, tnn steady {steady:.1f}/s, generate {gen1:.1f}/s (1 process), "
              f"{genw:.1f}/s ({args.workers} workers"
              + (f"; {marginal:.1f}/s once running)" if marginal == marginal else "; rate once running not measured)"),
              flush=True)

    print()
    hdr = (f"{'dataset':11} {'numpy/s':>8} {'(1 thr)':>8} {'steady/s':>9} {'gen 1p/s':>9} {f'gen {args.workers}w/s':>9} "
           f"{'ratio steady':>12} {'ratio gen':>9} {'(vs dflt)':>9} {'running':>8} {'target':>6}  verdict (gen / running)")
    print(hdr)
    print("-" * len(hdr))
    for r in rows:
        if r["target"] is None:
            ok = "- (writes float64 eigenvectors, 160 KB a sample: disk-bound, no target)"
        else:
            ok = " / ".join("ok" if v >= r["target"] else ("missed" if v == v else "-")
                            for v in (r["ratio_generate"], r["ratio_generate_w_marginal"]))
        m = r["ratio_generate_w_marginal"]
        running = f"{m:7.2f}x" if m == m else "-"
        print(f"{r['dataset']:11} {r['numpy_default_threads']:8.1f} {r['numpy_one_thread']:8.1f} {r['tnn_steady_1proc']:9.1f} "
              f"{r['tnn_generate_1']:9.1f} {r['tnn_generate_w']:9.1f} {r['ratio_steady']:11.2f}x {r['ratio_generate']:8.2f}x "
              f"{r['ratio_generate_vs_numpy_default_threads']:8.2f}x {running:>8} "
              f"{'-' if r['target'] is None else format(r['target'], '4.1f') + 'x':>5} {ok}")
    print("numpy/s: the loop with NumPy's default BLAS threads, (1 thr) with one; ratios use the faster. steady: "
          "tnn.data.compute_samples in one process, compiled; gen: tnn.data.generate end to end (start-up, compile, "
          "preflight, shards written and hashed; the worker runs at twice the listed n where 'running' is "
          "shown); ratio gen uses the faster of 1 process and the workers, (vs dflt) the same against the "
          "NumPy loop with default threads; running: the workers' marginal rate (generate at n and 2n: extra "
          "samples over extra seconds, start-up cancels) against the NumPy loop. Verdicts: ratio gen, running >= target.")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    meta = {"machine": platform.platform(), "cpus": os.cpu_count(), "python": sys.version.split()[0],
            "jax": jax.__version__, "numpy": np.__version__, "tnn": tnn.__version__, "quick": q,
            "load_average_at_end": os.getloadavg()}
    tnn.results.write_json(out, {"meta": meta, "rows": rows})
    print(f"\nwrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
