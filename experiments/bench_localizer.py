"""Benchmark of the spectral localizer against PyBott, and of the validity certificate's cost.

Companion of ``experiments/bench_invariants.py`` (same conventions: every figure is a ratio of two
timings taken in the same run, interleaved repeats, minimum of each; absolute seconds for context).
Writes a table to stdout and JSON to ``results/bench_localizer.json`` (``--out``). ``--quick`` for
smaller sizes. Not a test: nothing here asserts. Run with one BLAS thread on both sides:
``OPENBLAS_NUM_THREADS=1 .venv/bin/python experiments/bench_localizer.py [--quick] [--only ...]``
(the table records the thread settings it ran with).

Samples (targets from the project's issue) and rows:

* ``periodic``: disordered QWZ ``n x n`` (default 40 x 40, N = 3200), ``m = -1``, Anderson ``W = 1``,
  periodic. ``tnn.localizer.chern_number`` on the ``scipy.sparse`` CSR matrix (route ``"ldl"``, kappa
  rule ``"radius"`` with the seam) against PyBott's ``bott(positions, H, fermi_energy=0)`` (optional
  peer: ``.venv/bin/pip install pybott``; skipped and ``null`` when absent); target: localizer <= 1/3
  of PyBott. Context: the dense localizer route (one round: ``eigvalsh`` of the ``2N x 2N`` matrix;
  ``--no-dense`` skips it) and ``tnn.invariants`` Bott (jitted). Values are reported raw: PyBott's
  ``+(1/2 pi) Im Tr log(U V U^-1 V^-1)`` is minus ``tnn``'s Bott (``docs/conventions.md``), so it
  reads ``-C``; PyBott's period is ``max(x) - min(x)`` = ``n - 1`` cells, not ``n``.
* ``open``: the same model, open ``n x n``: the sparse localizer against the marker (context).
* ``chain``: the sparse localizer winding number against ``tnn.invariants.winding_number`` (context).
* certificate, ``tnn.invariants`` (jitted): the certified call (``validity="certificate"``,
  ``return_certificate=True``) against the same call with ``validity="raw"`` returning the value only
  (under ``jit`` XLA drops the certificate's tail moment and participation numbers, which that value
  does not depend on; eagerly both calls compute the certificate). Marker on the open sample, Bott on
  the periodic one, winding number on a chain of ``N / 2`` cells (SSH ``(0.5, 1.5)``, bond disorder
  0.5; ``N = 3200`` sites). Target <= 1.3. Also the ``*_from_eigh`` / ``*_from_svd`` variants (the
  certificate's own cost next to the shared decomposition).
* ``marker_sizes``: the marker's two certificates on open clean QWZ ``n x n`` (``m = -1``, n = 8, 12, 20,
  40; quick 8, 12), jitted: ``certificate="localizer"`` (the default: the localizer's index through a
  host callback, with the tail as the error bound) and ``"tail"``, each over the raw value
  (``validity="raw"``). Target (localizer) <= 1.3.
"""

from __future__ import annotations

import argparse
import functools
import os
import platform
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import scipy.sparse
import jax
import jax.numpy as jnp

import tnn
from tnn import hamiltonians, invariants, lattice
from tnn import results as tio
from tnn import localizer as loc

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_invariants import _block, _row  # noqa: E402

try:  # optional peer, never a dependency of tnn
    import pybott
except ImportError:
    pybott = None

PYBOTT_SKIP = "PyBott not installed: PyBott rows skipped (install it with `.venv/bin/pip install pybott`)"


def timeit_rounds(fns: dict, rounds: dict, warm=(), seed: int = 0) -> dict:
    """Interleaved timing for calls of seconds to minutes: a warm-up call only for the functions in
    ``warm`` (the jitted ones: compilation); then round ``r`` runs, in a shuffled order, every function
    with ``rounds[k] > r``; minimum per function."""
    for k in warm:
        _block(fns[k]())
    best = {k: float("inf") for k in fns}
    rng = np.random.default_rng(seed)
    keys = list(fns)
    for r in range(max(rounds.values())):
        for i in rng.permutation(len(keys)):
            k = keys[i]
            if rounds[k] > r:
                t0 = time.perf_counter()
                _block(fns[k]())
                best[k] = min(best[k], time.perf_counter() - t0)
    return best


def _cert_fns(prefix, lat, H, call, call_from, decomp):
    """Certified / raw (value only) jitted calls, and the same from a precomputed decomposition."""
    cert = jax.jit(lambda H: call(H, lat, return_certificate=True))
    raw = jax.jit(lambda H: call(H, lat, validity="raw"))
    D = _block(jax.jit(decomp)(H))
    cert_d = jax.jit(lambda *D: call_from(*D, lat, return_certificate=True))
    raw_d = jax.jit(lambda *D: call_from(*D, lat, validity="raw"))
    fns = {f"{prefix}_certified": lambda: cert(H), f"{prefix}_raw": lambda: raw(H),
           f"{prefix}_certified_from_decomp": lambda: cert_d(*D), f"{prefix}_raw_from_decomp": lambda: raw_d(*D)}
    value, c = cert(H)  # compiles (and warms) all four: no warm-up call needed in the timing
    _block((cert_d(*D), raw_d(*D)))
    return fns, {"value": float(value), "raw_value": float(raw(H)), "reason": int(c.reason), "tail": float(c.tail)}


def _cert_ratios(t, prefix):
    """``ratio``: the whole calls; ``certificate_extra_over_raw``: the certificate's own cost (difference
    of the ``from_decomp`` calls, which share no decomposition noise) over the whole raw call."""
    return {"ratio": t[f"{prefix}_certified"] / t[f"{prefix}_raw"],
            "ratio_from_decomp": t[f"{prefix}_certified_from_decomp"] / t[f"{prefix}_raw_from_decomp"],
            "certificate_extra_over_raw": (t[f"{prefix}_certified_from_decomp"] - t[f"{prefix}_raw_from_decomp"])
            / t[f"{prefix}_raw"]}


def _localizer(H, lat, **kw):
    with warnings.catch_warnings():  # a dense fallback is reported in the certificate's note
        warnings.simplefilter("ignore", loc.LocalizerWarning)
        return loc.chern_number(H, lat, return_certificate=True, **kw)


def _cert_json(c):
    keys = ("index", "gap", "norm", "kappa", "kappa_rule", "h_gap", "velocity", "radius", "method", "ok", "reason", "note")
    return {k: getattr(c, k) for k in keys}


# ----------------------------------------------------------------------------- samples
def _kept(store: dict, key: str, f):
    """``f`` that also keeps its last result in ``store[key]`` (no second call of a minutes-long function)."""
    def g():
        store[key] = f()
        return store[key]
    return g


def bench_periodic(n: int, repeats: int, dense: bool) -> dict:
    lat = lattice.square(n, n, pbc=True)
    H = _block(hamiltonians.qwz(-1.0, lat, onsite_disorder=1.0, key=jax.random.key(0)))
    Hn = np.asarray(H)
    Hs = scipy.sparse.csr_matrix(Hn)
    fns, vals = _cert_fns("bott", lat, H, lambda H, lat, **kw: invariants.chern_number(H, lat, method="bott", **kw),
                          lambda E, V, lat, **kw: invariants.chern_number_from_eigh(E, V, lat, method="bott", **kw),
                          jnp.linalg.eigh)
    kept = {}
    fns["localizer_sparse"] = lambda: loc.chern_number(Hs, lat)
    rounds = {k: repeats for k in fns}
    if dense:
        fns["localizer_dense"] = _kept(kept, "dense", lambda: _localizer(Hn, lat))
        rounds["localizer_dense"] = 1  # minutes per call: one round
    if pybott is not None:
        fns["pybott"] = _kept(kept, "pybott", lambda: pybott.bott(lat.positions, Hn, fermi_energy=0.0))
        rounds["pybott"] = repeats
    t = timeit_rounds(fns, rounds, ["localizer_sparse"])
    v_sparse, c_sparse = _localizer(Hs, lat)
    out = {"lattice": f"{n}x{n}", "N": lat.n_sites, "m": -1.0, "onsite_disorder": 1.0, "seconds": t,
           "localizer_sparse": v_sparse, "localizer_sparse_certificate": _cert_json(c_sparse),
           "bott_tnn": vals, "pybott": None, "pybott_version": None,
           "ratio_localizer_sparse_vs_pybott": None, "target": "localizer sparse <= 1/3 x PyBott",
           "ratio_localizer_sparse_vs_bott_tnn": t["localizer_sparse"] / t["bott_certified"]}
    if dense:
        v_dense, c_dense = kept["dense"]
        out.update(localizer_dense=v_dense, localizer_dense_certificate=_cert_json(c_dense))
    if pybott is not None:
        from importlib.metadata import version

        out["pybott"], out["pybott_version"] = float(kept["pybott"]), version("pybott")
        out["ratio_localizer_sparse_vs_pybott"] = t["localizer_sparse"] / t["pybott"]
        out["ratio_bott_tnn_vs_pybott"] = t["bott_certified"] / t["pybott"]
    out["certificate"] = _cert_ratios(t, "bott")
    return out


def bench_open(n: int, repeats: int) -> dict:
    lat = lattice.square(n, n)
    H = _block(hamiltonians.qwz(-1.0, lat, onsite_disorder=1.0, key=jax.random.key(0)))
    Hs = scipy.sparse.csr_matrix(np.asarray(H))
    fns, vals = _cert_fns("marker", lat, H, lambda H, lat, **kw: invariants.chern_number(H, lat, method="marker", **kw),
                          lambda E, V, lat, **kw: invariants.chern_number_from_eigh(E, V, lat, method="marker", **kw),
                          jnp.linalg.eigh)
    fns["localizer_sparse"] = lambda: loc.chern_number(Hs, lat)
    t = timeit_rounds(fns, {k: repeats for k in fns}, ["localizer_sparse"])
    v, c = _localizer(Hs, lat)
    return {"lattice": f"{n}x{n}", "N": lat.n_sites, "seconds": t, "localizer_sparse": v,
            "localizer_sparse_certificate": _cert_json(c), "marker": vals,
            "ratio_localizer_sparse_vs_marker": t["localizer_sparse"] / t["marker_certified"],
            "certificate": _cert_ratios(t, "marker")}


def bench_chain(L: int, repeats: int) -> dict:
    lat = lattice.chain(L)
    H = _block(hamiltonians.ssh(jnp.array([0.5, 1.5]), lat, bond_disorder=0.5, key=jax.random.key(0)))
    Hs = scipy.sparse.csr_matrix(np.asarray(H))
    fns, vals = _cert_fns("winding", lat, H, invariants.winding_number, invariants.winding_number_from_svd,
                          lambda H: jnp.linalg.svd(H[0::2, 1::2]))
    fns["localizer_sparse"] = lambda: loc.winding_number(Hs, lat)
    t = timeit_rounds(fns, {k: max(repeats, 5) for k in fns}, ["localizer_sparse"])  # seconds per call: more rounds
    v, c = loc.winding_number(Hs, lat, return_certificate=True)
    return {"L": L, "N": lat.n_sites, "seconds": t, "localizer_sparse": v, "localizer_sparse_certificate": _cert_json(c),
            "winding": vals, "ratio_localizer_sparse_vs_winding": t["localizer_sparse"] / t["winding_certified"],
            "certificate": _cert_ratios(t, "winding")}


def bench_marker_sizes(sizes, repeats: int) -> list[dict]:
    rows = []
    for n in sizes:
        lat = lattice.square(n, n)
        H = _block(hamiltonians.qwz(-1.0, lat))
        call = functools.partial(invariants.chern_number, lat=lat, method="marker")
        fns = {"localizer": jax.jit(lambda H: call(H, return_certificate=True)),
               "tail": jax.jit(lambda H: call(H, return_certificate=True, certificate="tail")),
               "raw": jax.jit(lambda H: call(H, validity="raw"))}
        t = timeit_rounds({k: functools.partial(f, H) for k, f in fns.items()}, {k: max(repeats, 5) for k in fns}, list(fns))
        v, c = fns["localizer"](H)
        rows.append({"lattice": f"{n}x{n}", "N": lat.n_sites, "seconds": t, "value": float(v), "reason": int(c.reason),
                     "localizer_index": float(c.localizer_index), "bound": float(c.bound),
                     "ratio_localizer": t["localizer"] / t["raw"], "ratio_tail": t["tail"] / t["raw"]})
    return rows


# ----------------------------------------------------------------------------- main
SECTIONS = ("periodic", "open", "chain", "marker_sizes")


def _table(res) -> list[str]:
    lines = [_row("measurement", "ratio", "target")]
    p, o, c = res.get("periodic"), res.get("open"), res.get("chain")
    if p is not None:
        s, lab = p["seconds"], f"{p['lattice']} periodic (N={p['N']})"
        if p["pybott"] is None:
            lines.append(_row(f"localizer sparse / PyBott, {lab}", "skipped", "<= 0.33"))
        else:
            lines.append(_row(f"localizer sparse / PyBott, {lab}", f"{p['ratio_localizer_sparse_vs_pybott']:.3f}", "<= 0.33"))
            lines.append(_row("tnn Bott (jit, certified) / PyBott", f"{p['ratio_bott_tnn_vs_pybott']:.2f}", ""))
        lines.append(_row("localizer sparse / tnn Bott (jit, certified)", f"{p['ratio_localizer_sparse_vs_bott_tnn']:.3f}", ""))
        if "localizer_dense" in s:
            lines.append(_row("localizer dense (eigvalsh 2N, 1 round) / localizer sparse",
                              f"{s['localizer_dense'] / s['localizer_sparse']:.1f}", ""))
        lines.append(_row(f"values: localizer sparse / dense / tnn Bott / PyBott (raw)",
                          " ".join(f"{v:+.0f}" if v is not None and np.isfinite(v) else str(v) for v in
                                   (p["localizer_sparse"], p.get("localizer_dense"), p["bott_tnn"]["value"], p["pybott"])),
                          "PyBott = -C"))
    if c is not None:
        lines.append(_row(f"localizer sparse / tnn winding (jit), chain L={c['L']}", f"{c['ratio_localizer_sparse_vs_winding']:.3f}", ""))
        lines.append(_row("values: localizer sparse / tnn winding", f"{c['localizer_sparse']:+.0f} {c['winding']['value']:+.3f}", ""))
    if o is not None:
        lines.append(_row(f"localizer sparse / tnn marker (jit), {o['lattice']} open", f"{o['ratio_localizer_sparse_vs_marker']:.3f}", ""))
        lines.append(_row("values: localizer sparse / marker (window mean)",
                          f"{o['localizer_sparse']:+.0f} {o['marker']['value']:+.3f}", ""))
    for r in res.get("marker_sizes", []):
        lines.append(_row(f"marker certificate {r['lattice']} open (N={r['N']}): localizer / raw, tail / raw",
                          f"{r['ratio_localizer']:.2f} {r['ratio_tail']:.2f}", "<= 1.3"))
    for name, r, lab in (("marker", o, "open"), ("Bott", p, "periodic"), ("winding", c, "chain")):
        if r is None:
            continue
        size = r.get("lattice", f"L={r.get('L')}")
        cr = r["certificate"]
        lines.append(_row(f"certificate: {name} {size} {lab} (N={r['N']}), certified / raw", f"{cr['ratio']:.3f}", "<= 1.3"))
        lines.append(_row(f"  certificate's own cost (from {'svd' if name == 'winding' else 'eigh'}) / raw call",
                          f"{cr['certificate_extra_over_raw']:.3f}", ""))
    return lines


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="smaller sizes (a smoke run)")
    ap.add_argument("--out", default="results/bench_localizer.json", help="JSON output path")
    ap.add_argument("--repeats", type=int, default=None, help="timing rounds (default 3, quick 2)")
    ap.add_argument("--only", default=",".join(SECTIONS), help=f"comma-separated subset of {SECTIONS}")
    ap.add_argument("--no-dense", action="store_true", help="skip the dense localizer (minutes at N = 3200)")
    args = ap.parse_args(argv)
    only = [s.strip() for s in args.only.split(",") if s.strip()]
    if set(only) - set(SECTIONS):
        ap.error(f"--only takes a subset of {SECTIONS}, got {args.only!r}")
    tnn.enable_x64()
    q = args.quick
    reps = args.repeats or (2 if q else 3)
    n = 16 if q else 40
    t0 = time.perf_counter()
    res = {"quick": q, "repeats": reps, "n": n, "chain_L": n * n,
           "machine": {"platform": platform.platform(), "cpus": os.cpu_count(), "jax": jax.__version__,
                       "backend": jax.default_backend(),
                       "env": {k: os.environ.get(k) for k in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "XLA_FLAGS")}}}
    if pybott is None:
        print(PYBOTT_SKIP)
    if "periodic" in only:
        res["periodic"] = bench_periodic(n, reps, not args.no_dense)
    if "open" in only:
        res["open"] = bench_open(n, reps)
    if "chain" in only:
        res["chain"] = bench_chain(n * n, reps)
    if "marker_sizes" in only:
        res["marker_sizes"] = bench_marker_sizes((8, 12) if q else (8, 12, 20, 40), reps)
    res["seconds_total"] = time.perf_counter() - t0
    lines = _table(res)
    print("\n".join(lines))
    if "periodic" in res:
        s = res["periodic"]["seconds"]
        print("(seconds, periodic: " + ", ".join(f"{k} {v:.2f}" for k, v in s.items()) + ")")
    print(f"(threads: {res['machine']['env']}; total {res['seconds_total']:.0f} s)")
    res["table"] = lines
    print(f"wrote {tio.write_json(args.out, res)}")  # atomic
    return res


if __name__ == "__main__":
    main()
