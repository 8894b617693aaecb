"""The expected wall time of a study, printed before it starts (``tnn study``).

A cost model with one measured constant per kind of work, each from the ``default`` profile run on the
2-core reference CPU (``experiments/bench_study.py``; README, "The study"); a config's time is the sum
of each kind's measured seconds scaled by that config's amount of the same work relative to the
default. It is a linear extrapolation: compilation is counted as if it scaled too (it does not), so
small configs are overestimated a little and large ones underestimated; on an accelerator the
training and eigensystem terms shrink by an amount this machine could not measure.
"""

from __future__ import annotations

__all__ = ["expected_seconds", "REFERENCE", "FIXED", "JOBS_SPEEDUP"]

#: seconds of each kind of work in the default profile on the reference machine (measured)
REFERENCE = {
    "data": 109.0,        # every dataset: draws, eigensystems, labels (14 specs; compact: features on loading)
    "train_1d": 343.0,    # the 13 1D runs (model x input) and the 5 unseen-windings runs, 10 seeds each
    "train_2d": 122.0,    # the 2D exact model (untrained) and the 2D CNN and ResNet, 10 seeds each
    "parts": 282.0,       # the 10 analysis parts (255 s), the report with its figures and start-up (27 s)
}


def _work(c) -> dict[str, float]:
    """The amount of each kind of work of config ``c`` (arbitrary units, compared with the default's)."""
    tr = c.splits[0] * c.n
    data = (c.n + c.n_test * (len(c.transfer_factors) + 2)) * c.size ** 2 \
        + sum(c.n_test * (f * c.size) ** 2 for f in c.transfer_factors) \
        + c.n_test_disorder * c.size ** 2 * (len(c.disorder) + len(c.onsite)) \
        + (c.n_2d + 2 * c.n_test_2d) * (2 * c.size_2d ** 2) ** 2 / 100
    runs_1d = len(c.runs_1d()) + len(c.runs_unseen())
    train_1d = runs_1d * len(c.seeds) * c.epochs * tr * (c.size / 32) * (c.width / 16)
    train_2d = len(c.models_2d) * len(c.seeds) * c.epochs_2d * c.n_2d * c.size_2d ** 2
    members = c.phase_seeds * len(c.phase_lrs) * len(c.phase_optimizers) * len(c.phase_losses) * len(c.phase_taus)
    parts = members * max(c.phase_steps) + c.phase_seeds * 4 * len(c.block_sigmas) * max(c.phase_steps) \
        + c.minima_inits * c.minima_steps + 30 * len(c.runs_1d()) * c.probe_n
    return {"data": data, "train_1d": train_1d, "train_2d": train_2d, "parts": parts}


#: wall-time speed-up of ``jobs = 2`` (a helper process, :mod:`tnn.study.jobs`) over one process on the
#: reference machine, measured on the default profile from an empty compilation cache: 800 s with one
#: process (the machine shared in its second half), 571 s with two (idle)
JOBS_SPEEDUP = {1: 1.0, 2: 1.4}

#: seconds that do not scale with the amount of work (mostly compilation), per unit of each kind
FIXED = {"data": 4.0, "train_1d": 6.0, "train_2d": 6.0, "parts": 8.0}


def _units(c) -> dict[str, int]:
    from tnn.study.analyses import parts
    from tnn.study.sets import dataset_specs

    return {"data": len(dataset_specs(c)), "train_1d": len(c.runs_1d()) + len(c.runs_unseen()),
            "train_2d": len(c.models_2d) if "2d" in c.sections else 0, "parts": len(parts(c))}


def expected_seconds(config) -> dict[str, float]:
    """``{"data", "train_1d", "train_2d", "parts", "total"}``: the expected seconds of each kind of work
    of ``config`` (a validated :class:`~tnn.study.config.StudyConfig`) on the reference 2-core CPU: a
    fixed cost per unit (dataset, run, part: compilation) plus the rest of the reference time scaled
    by the amount of work, all divided by the measured speed-up of ``config.jobs`` processes."""
    from tnn.study.config import StudyConfig

    default = StudyConfig().validate()
    ref, mine = _work(default), _work(config)
    ur, um = _units(default), _units(config)
    out = {}
    for k in REFERENCE:
        var = max(REFERENCE[k] - FIXED[k] * ur[k], 0.0)
        out[k] = FIXED[k] * um[k] + (var * mine[k] / ref[k] if ref[k] else 0.0)
    speedup = JOBS_SPEEDUP.get(config.jobs, 1.0)
    out = {k: v / speedup for k, v in out.items()}
    out["total"] = sum(out.values())
    return out
