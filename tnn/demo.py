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

import time
from pathlib import Path


__all__ = ["run_demo"]


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
    from tnn import results as tres

    plt = tres.pyplot()
    widths = [p.width for p in panels.values() for _ in range(p.n_axes)]
    fig, ax = plt.subplots(1, len(widths), figsize=(4.6 * sum(widths) + 1.5, 4.4),
                           gridspec_kw={"width_ratios": widths})
    i = 0
    for name, panel in panels.items():
        panel.plot(list(ax[i : i + panel.n_axes]), rep[name], extras[name])
        i += panel.n_axes
    fig.tight_layout()
    tres.save_figure(fig, path)
