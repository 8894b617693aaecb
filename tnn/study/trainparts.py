"""The study's trainability parts: topo's success rate as a phase diagram over the training budget
(:func:`tnn.study.trainability.phase_diagram`), noise on one parameter block at a time
(:func:`tnn.study.trainability.block_noise`), and the minima of its loss modulo the network's symmetries
(:func:`tnn.study.minima.minima_analysis`).

All three train on the study's ``phase`` dataset (open chains of ``phase_size`` cells) and call a
member successful when it reaches the real-space invariant: the chains are those whose real-space
value the certificate of :mod:`tnn.validity` certifies (an integer to within its tail), labelled by that
value (what the exact network computes, so the exact tensors score 1 by construction), and success is
test accuracy >= 0.99 on held-out chains of the same set. (On uncertified chains the value sits
anywhere between integers and a member would have to match the exact function to within the rounding
of each such chain: no perturbation of the exact tensors, however small, passes that test.)
"""

from __future__ import annotations

import numpy as np

__all__ = ["phase", "blocks", "minima", "phase_cells", "PHASE_SET"]

#: the dataset of the trainability parts
PHASE_SET = "phase"


def _data(st, summary):
    c = st.c
    mcfg = c.model_config("topo-random", tuple(summary["classes"]))
    x, y, lat = st.load_invariant(PHASE_SET, "train", mcfg, certified=True)
    tx, ty, _ = st.load_invariant(PHASE_SET, "test", mcfg, certified=True)
    return mcfg, lat, (x, y), (tx, ty)


def phase(st, summary) -> dict:
    """The phase diagram over ``phase_optimizers`` x loss x ``phase_taus`` x ``phase_lrs`` x
    ``phase_steps`` with ``phase_seeds`` members per cell, plus ``cells`` (:func:`phase_cells`)."""
    import dataclasses

    from tnn.study import trainability as tr
    from tnn.study.trainability.report import jsonable

    c = st.c
    mcfg, lat, train, test = _data(st, summary)
    mcfg = dataclasses.replace(mcfg, dtype="float32")
    res = tr.phase_diagram(mcfg, lat, train, test, learning_rates=c.phase_lrs, steps=c.phase_steps,
                           optimizers=c.phase_optimizers, taus=c.phase_taus, losses=c.phase_losses,
                           seeds=tuple(range(c.phase_seeds)), batch_size=min(c.phase_batch, len(train[1])))
    out = jsonable(res)
    out["cells"] = phase_cells(out, c)
    out["n_seeds"] = c.phase_seeds
    return out


def phase_cells(res: dict, c) -> list[dict]:
    """One entry per distinct cell (an optimizer, loss, tau and learning rate that the run does not
    ignore) at the last checkpoint: ``label``, ``k`` of ``n`` successes, Clopper--Pearson ``lo``/``hi``,
    ``median_steps``, and ``is_default`` (Adam, cross-entropy, the study's tau and learning rate)."""
    out = []
    steps = np.asarray(res["step"])
    for io, opt in enumerate(res["optimizer"]):
        for il, loss in enumerate(res["loss"]):
            taus = res["tau"] if res["applies"]["tau"][loss] else res["tau"][:1]
            lrs = res["lr"] if res["applies"]["lr"][opt] else res["lr"][:1]
            for it, tau in enumerate(taus):
                for ir, lr in enumerate(lrs):
                    k = int(np.asarray(res["success"])[io, il, it, ir][-1])
                    med = res["median_steps_to_solution"][io][il][it][ir]
                    label = (f"{opt} {loss}" + (f" tau={tau:g}" if res["applies"]["tau"][loss] else "")
                             + (f" lr={lr:g}" if res["applies"]["lr"][opt] else "") + f" {int(steps[io][-1])} steps")
                    out.append({"label": label, "optimizer": opt, "loss": loss, "tau": tau, "lr": lr, "k": k,
                                "n": len(res["seeds"]), "rate": k / len(res["seeds"]),
                                "lo": float(np.asarray(res["ci_lo"])[io, il, it, ir][-1]),
                                "hi": float(np.asarray(res["ci_hi"])[io, il, it, ir][-1]), "median_steps": med,
                                "is_default": opt == "adam" and loss == "ce" and np.isclose(tau, c.tau)
                                and np.isclose(lr, c.learning_rate)})
    return out


def blocks(st, summary) -> dict:
    """Success from the exact tensors with noise on one parameter block at a time (``block_sigmas``)."""
    import dataclasses

    from tnn.study import trainability as tr
    from tnn.study.trainability.report import jsonable

    c = st.c
    mcfg, lat, train, test = _data(st, summary)
    mcfg = dataclasses.replace(mcfg, dtype="float32")
    res = tr.block_noise(mcfg, lat, train, test, sigmas=c.block_sigmas, learning_rate=c.block_lr,
                         steps=c.block_steps, seeds=tuple(range(c.phase_seeds)),
                         batch_size=min(c.phase_batch, len(train[1])))
    return jsonable(res)


def minima(st, summary) -> dict:
    """The endpoints of ``minima_inits`` random inits, clustered modulo topo's symmetries, their
    per-block Hessians, and the nudged-elastic-band barrier to the exact manifold."""
    from tnn.study.minima import minima_analysis, plot_neb
    from tnn.study.trainability.report import jsonable

    c = st.c
    mcfg, lat, train, test = _data(st, summary)
    res = minima_analysis(mcfg, lat, train, test, n_inits=c.minima_inits, steps=c.minima_steps, seed=c.data_seed)
    plot_neb(res, st.out / "neb.png")
    return jsonable(res)
