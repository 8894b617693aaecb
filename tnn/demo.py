"""``tnn demo``: phase diagrams of the invariants, real space against k space.

A short, real end-to-end run of the physics stack on the CPU: one panel per system of
:data:`tnn.systems.SYSTEMS` (the recipe lives in the system's module): the SSH ratio v/w (open chain
with bulk trace, and periodic chain), the QWZ mass m (Bott index and bulk local Chern marker), the
Haldane (phi, M) plane (Bott index) and the Kitaev chain's mu / t (winding number, both signs of
delta), each computed with one jitted, vmapped call and compared with the k-space reference. Output in ``results/demo/``
(override with ``--out``): ``demo.json`` (all numbers, seeds, agreement) and
``phase_diagrams.png``.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path


__all__ = ["run_demo", "register_cli"]


def run_demo(out: str | Path = "results/demo", quick: bool = False, seed: int = 0) -> dict:
    """Run the demo and write ``demo.json`` and ``phase_diagrams.png`` under ``out``.

    One panel per system of :data:`tnn.systems.SYSTEMS` that has a demo (its ``DemoPanel``);
    ``demo.json`` holds each system's numbers under its name.
    """
    import jax

    import tnn
    from tnn import results as tres, systems

    tnn.enable_x64()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    key = jax.random.key(seed)
    report: dict = {"seed": seed, "quick": quick, "version": tnn.__version__}
    panels = {name: s.demo for name, s in systems.SYSTEMS.items() if s.demo is not None}
    extras = {}
    for name, panel in panels.items():
        report[name], extras[name] = panel.run(quick, key)
    report["seconds"] = time.perf_counter() - t0

    _plot(out / "phase_diagrams.png", report, panels, extras)
    tres.write_json(out / "demo.json", report)
    return report


def _plot(path: Path, rep: dict, panels: dict, extras: dict) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    widths = [p.width for p in panels.values() for _ in range(p.n_axes)]
    fig, ax = plt.subplots(1, len(widths), figsize=(4.6 * sum(widths) + 1.5, 4.4),
                           gridspec_kw={"width_ratios": widths})
    i = 0
    for name, panel in panels.items():
        panel.plot(list(ax[i : i + panel.n_axes]), rep[name], extras[name])
        i += panel.n_axes
    fig.tight_layout()
    tmp = path.with_suffix(".tmp.png")
    fig.savefig(tmp, dpi=110)
    plt.close(fig)
    tmp.replace(path)


def register_cli(sub) -> None:
    p = sub.add_parser(
        "demo", help="phase diagrams of the invariants, real space against k space",
        description="Sweep the SSH ratio v/w (open and periodic chains, clean and with bond disorder), the QWZ "
                    "mass m (Bott index and bulk Chern marker), the Haldane (phi, M) plane (Bott index) and the "
                    "Kitaev chain's mu / t (winding number), each with one jitted, vmapped call, and compare every clean point with the k-space invariant. "
                    "Writes demo.json and phase_diagrams.png to --out. Gapless points are NaN (grey in the plot).",
    )
    p.add_argument("--out", default="results/demo", help="output folder (default: results/demo)")
    p.add_argument("--quick", action="store_true", help="smaller sizes and grids (about 20 s)")
    p.add_argument("--seed", type=int, default=0, help="PRNG seed of the disorder draws (default 0)")
    p.set_defaults(func=_main)


def _main(args: argparse.Namespace) -> int:
    from tnn import systems

    rep = run_demo(args.out, quick=args.quick, seed=args.seed)
    for name, s in systems.SYSTEMS.items():
        if s.demo is not None:
            for line in s.demo.summary(rep[name]):
                print(line)
    print(f"done in {rep['seconds']:.1f} s -> {args.out}/demo.json, {args.out}/phase_diagrams.png")
    return 0
