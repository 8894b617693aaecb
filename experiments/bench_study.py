"""Wall time and peak memory of ``tnn study`` per profile, each in a fresh folder (a benchmark, not a test).

Each profile runs as its own process (``tnn study --profile P --no-progress --out <tmp>/P``) with
JAX's persistent compilation cache in a new empty folder (``TNN_COMPILE_CACHE``: what a fresh machine
sees); then a second run in the same folder measures the resume path (every unit reused), and a third
in a new folder the same study again with the compiled programs on disk (a new seed or another study
on the same machine: everything computed, little compiled). Memory: the study runs two processes
(``--jobs 2``), so its peak is the largest *sum over the process tree*, sampled every 0.25 s from
``/proc``: resident (RSS, shared library pages counted in each process) and proportional (PSS,
shared pages split between the processes that map them: the memory the run really holds). Where
``/proc`` is missing both are ``None``. Writes a table to stdout and JSON to
``results/bench_study.json`` (``--out``). The machine is usually shared: the load average before
and after each run is recorded next to its time, and each row says which of the profile's limits
(:data:`LIMITS`, memory against the summed PSS) it meets. Nothing asserts.

Run: ``OPENBLAS_NUM_THREADS=1 .venv/bin/python experiments/bench_study.py [--profiles quick default]``.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path


#: the limits of issue 19 per profile: wall seconds on the 2-core machine, peak memory, results folder
LIMITS = {"quick": {"wall_s": 120.0, "peak_pss_gb": 3.0, "folder_mb": 300.0},
          "default": {"wall_s": 720.0, "peak_pss_gb": 3.0, "folder_mb": 300.0}}


def _within(row: dict) -> dict:
    """``{measure: True/False}`` against the profile's :data:`LIMITS` (empty for a profile without)."""
    return {k: row[k] is not None and row[k] <= lim for k, lim in LIMITS.get(row["profile"], {}).items()}


def _tree(pid: int) -> list[int]:
    out = [pid]
    try:
        for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split():
            out += _tree(int(child))
    except OSError:
        pass
    return out


def _tree_memory(pid: int) -> tuple[float, float] | None:
    """Summed RSS and PSS (GB) of ``pid`` and its descendants now, from ``/proc/*/smaps_rollup``."""
    rss = pss = 0
    for q in _tree(pid):
        try:
            for line in Path(f"/proc/{q}/smaps_rollup").read_text().splitlines():
                if line.startswith("Rss:"):
                    rss += int(line.split()[1]) * 1024
                elif line.startswith("Pss:"):
                    pss += int(line.split()[1]) * 1024
        except OSError:
            if q == pid:
                return None
    return rss / 1e9, pss / 1e9


def _run(cmd: list[str], cache: Path) -> tuple[float, float | None, float | None, int]:
    """``(wall s, peak summed RSS GB, peak summed PSS GB, return code)`` of ``cmd``."""
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "TNN_COMPILE_CACHE": str(cache)}
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env)
    peak_rss = peak_pss = None
    while p.poll() is None:
        mem = _tree_memory(p.pid)
        if mem is not None:
            peak_rss, peak_pss = max(peak_rss or 0.0, mem[0]), max(peak_pss or 0.0, mem[1])
        time.sleep(0.25)
    wall = time.perf_counter() - t0
    err = p.stderr.read()
    if p.returncode != 0:
        sys.stderr.write(err[-3000:])
    return wall, peak_rss, peak_pss, p.returncode


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--profiles", nargs="+", default=["quick", "default"])
    ap.add_argument("--out", default="results/bench_study.json")
    args = ap.parse_args()
    tnn_bin = str(Path(sys.executable).with_name("tnn"))
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-study-") as tmp:
        for prof in args.profiles:
            folder = Path(tmp) / prof
            load0 = os.getloadavg()[0]
            cache = Path(tmp) / f"jax-cache-{prof}"  # empty: every program compiled, as on a fresh machine
            study = [tnn_bin, "study", "--profile", prof, "--no-progress", "--out"]
            wall, rss, pss, rc = _run(study + [str(folder)], cache)
            load1 = os.getloadavg()[0]
            size = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
            again, _, _, rc2 = _run(study + [str(folder)], cache)
            warm, _, warm_pss, rc3 = _run(study + [str(Path(tmp) / f"{prof}-warm")], cache)
            shutil.rmtree(Path(tmp) / f"{prof}-warm", ignore_errors=True)
            cache_mb = sum(p.stat().st_size for p in cache.rglob("*") if p.is_file()) / 1e6 if cache.exists() else 0.0
            rows.append({"profile": prof, "wall_s": wall, "peak_pss_gb": pss, "peak_rss_gb": rss, "rerun_s": again, "returncode": rc,
                         "rerun_returncode": rc2, "warm_cache_s": warm, "warm_cache_peak_pss_gb": warm_pss,
                         "warm_returncode": rc3, "compile_cache_mb": cache_mb, "folder_mb": size / 1e6,
                         "load_before": load0, "load_after": load1})
            rows[-1]["within_limits"] = _within(rows[-1])
            print(f"{prof:8s} {wall:7.1f} s  (rerun, all reused: {again:5.1f} s; new folder, programs in the compile "
                  f"cache: {warm:5.1f} s, cache {cache_mb:.0f} MB)  peak memory "
                  f"{'n/a' if pss is None else f'{pss:.2f} GB (PSS; RSS {rss:.2f})'}  folder {size / 1e6:.0f} MB  load {load0:.1f} -> {load1:.1f}"
                  f"  rc {rc}/{rc2}/{rc3}  within limits: "
                  f"{', '.join(f'{k} {ok}' for k, ok in rows[-1]['within_limits'].items()) or '-'}", flush=True)
    from tnn import results as io

    io.write_json(args.out, {"rows": rows, "cpus": os.cpu_count(), "platform": platform.platform()})
    print(f"-> {args.out}")


if __name__ == "__main__":
    main()
