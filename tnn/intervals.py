r"""Confidence intervals, paired tests and the verdict rule of the study (NumPy and SciPy, no JAX).

Accuracies are proportions of independent test samples, so the classical binomial intervals apply
to one trained model on one test set:

* :func:`wilson` -- the Wilson score interval (good coverage from small ``n``);
* :func:`clopper_pearson` -- the exact (conservative) interval from Beta quantiles; used for
  success rates over seeds (``k`` of ``n`` members reach the solution).

An accuracy of an **ensemble** (``S`` seeds scored on the same ``n`` samples) has two sources of
spread: the samples and the seeds. :func:`ensemble_interval` resamples both (a two-way bootstrap:
seeds with replacement, samples with replacement, the same sample indices for every seed), which
reduces to the sample bootstrap for one seed. :func:`difference_interval` does the same for the
difference of two models scored on the *same* samples (paired: one sample draw for both), the
interval behind claims such as "A beats B by more than 0.15".

:func:`mcnemar` is the exact McNemar test of a paired drop (the same samples with and without a
probe): only the discordant pairs count, ``b`` correct -> wrong and ``c`` wrong -> correct, and
under the null each is a fair coin.

:func:`verdict` is the rule every finding of the study follows: ``supported`` only when the whole
interval clears the threshold, ``contradicted`` only when the whole interval lies on the other
side, ``inconclusive`` otherwise (docs/conventions.md, "Statistics of a verdict").
"""

from __future__ import annotations

import math

import numpy as np

__all__ = [
    "wilson",
    "clopper_pearson",
    "mcnemar",
    "paired_counts",
    "balanced_accuracy",
    "ensemble_interval",
    "difference_interval",
    "verdict",
    "SUPPORTED",
    "CONTRADICTED",
    "INCONCLUSIVE",
    "LEVEL",
]

SUPPORTED, CONTRADICTED, INCONCLUSIVE = "supported", "contradicted", "inconclusive"
#: the confidence level of every interval in the study
LEVEL = 0.95
#: bootstrap resamples of the ensemble intervals
N_BOOT = 2000


def _kn(k, n) -> tuple[int, int]:
    if isinstance(k, bool) or isinstance(n, bool):
        raise ValueError(f"Arguments `k`, `n` must be integers, got {k!r}, {n!r}.")
    try:
        ki, ni = int(k), int(n)
    except (TypeError, ValueError):
        raise ValueError(f"Arguments `k`, `n` must be integers, got {k!r}, {n!r}.") from None
    if ki != k or ni != n or ni < 0 or not 0 <= ki <= ni:
        raise ValueError(f"Arguments `k`, `n` must be integers with 0 <= k <= n, got {k!r}, {n!r}.")
    return ki, ni


def _level(level) -> float:
    if not (isinstance(level, (int, float)) and 0.0 < float(level) < 1.0):
        raise ValueError(f"Argument `level` must be in (0, 1), got {level!r}.")
    return float(level)


def wilson(k, n, level: float = LEVEL) -> tuple[float, float]:
    r"""Wilson score interval of a proportion ``k / n``: ``(lo, hi)``; ``(nan, nan)`` for ``n = 0``.

    ``(p + z^2/2n -+ z sqrt(p(1-p)/n + z^2/4n^2)) / (1 + z^2/n)`` with ``z`` the two-sided normal
    quantile of ``level`` (equal to ``scipy.stats.binomtest(k, n).proportion_ci(level, "wilson")``)."""
    from scipy.stats import norm

    k, n = _kn(k, n)
    level = _level(level)
    if n == 0:
        return (math.nan, math.nan)
    z = float(norm.ppf(0.5 + level / 2))
    p = k / n
    den = 1 + z * z / n
    mid = (p + z * z / (2 * n)) / den
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / den
    return (max(0.0, mid - half), min(1.0, mid + half))


def clopper_pearson(k, n, level: float = LEVEL) -> tuple[float, float]:
    """Exact (Clopper--Pearson) interval of ``k / n``: Beta quantiles; ``(nan, nan)`` for ``n = 0``."""
    from scipy.stats import beta

    k, n = _kn(k, n)
    level = _level(level)
    if n == 0:
        return (math.nan, math.nan)
    a = (1 - level) / 2
    lo = 0.0 if k == 0 else float(beta.ppf(a, k, n - k + 1))
    hi = 1.0 if k == n else float(beta.ppf(1 - a, k + 1, n - k))
    return (lo, hi)


def paired_counts(correct_a, correct_b) -> tuple[int, int]:
    """Discordant pairs of two 0/1 vectors on the same samples: ``b`` = a right and b wrong,
    ``c`` = a wrong and b right."""
    a = np.asarray(correct_a, dtype=bool)
    b = np.asarray(correct_b, dtype=bool)
    if a.shape != b.shape or a.ndim != 1:
        raise ValueError(f"Arguments `correct_a`, `correct_b` must be 1-D of one shape, got {a.shape} and {b.shape}.")
    return int(np.sum(a & ~b)), int(np.sum(~a & b))


def mcnemar(b, c) -> float:
    """Two-sided exact McNemar p-value of ``b`` and ``c`` discordant pairs (binomial, ``p = 1/2``);
    1.0 when there is no discordant pair."""
    from scipy.stats import binomtest

    b, c = int(b), int(c)
    if b < 0 or c < 0:
        raise ValueError(f"Arguments `b`, `c` must be counts >= 0, got {b}, {c}.")
    if b + c == 0:
        return 1.0
    return float(binomtest(b, b + c, 0.5).pvalue)


def balanced_accuracy(y, pred, classes=None) -> float:
    """Mean over the classes present in ``y`` (or ``classes``) of the per-class accuracy; NaN when
    no class is present. Chance level is ``1 / n_classes`` whatever the class balance."""
    y = np.asarray(y).ravel()
    pred = np.asarray(pred).ravel()
    if y.shape != pred.shape:
        raise ValueError(f"Arguments `y`, `pred` must have one shape, got {y.shape} and {pred.shape}.")
    cls = np.unique(y) if classes is None else np.asarray(classes)
    accs = [float(np.mean(pred[y == c] == c)) for c in cls if np.any(y == c)]
    return float(np.mean(accs)) if accs else math.nan


def _correct(correct, name: str) -> np.ndarray:
    a = np.asarray(correct, dtype=np.float64)
    if a.ndim == 1:
        a = a[None, :]
    if a.ndim != 2 or a.shape[1] == 0 or a.shape[0] == 0:
        raise ValueError(f"Argument `{name}` must have shape (n,) or (seeds, n) with n >= 1, got {np.shape(correct)}.")
    return a


def _boot_means(a, idx_s, idx_n):
    # mean over the resampled seeds of the mean over the resampled samples, per bootstrap draw
    return np.stack([a[s][:, i].mean() for s, i in zip(idx_s, idx_n)])


def ensemble_interval(correct, level: float = LEVEL, n_boot: int = N_BOOT, seed: int = 0) -> dict:
    """Mean accuracy of an ensemble and its ``level`` interval.

    Args:
      correct: 0/1 (or scores in [0, 1]) of shape ``(seeds, n)`` (or ``(n,)``: one seed), every
        seed scored on the same ``n`` samples.
    Returns ``{"mean", "lo", "hi", "n", "seeds", "method"}``: with one seed the Wilson interval of
    ``k / n``; with several a two-way percentile bootstrap (seeds and samples resampled), never
    narrower than the Wilson interval of the pooled mean at ``n`` samples.
    """
    a = _correct(correct, "correct")
    level = _level(level)
    S, n = a.shape
    m = float(a.mean())
    wlo, whi = wilson(int(round(m * n)), n, level)
    if S == 1:
        return {"mean": m, "lo": wlo, "hi": whi, "n": n, "seeds": 1, "method": "wilson"}
    rng = np.random.default_rng(seed)
    idx_s = rng.integers(0, S, (n_boot, S))
    idx_n = rng.integers(0, n, (n_boot, n))
    boots = _boot_means(a, idx_s, idx_n)
    q = (1 - level) / 2
    lo, hi = np.quantile(boots, [q, 1 - q])
    return {"mean": m, "lo": float(min(lo, wlo)), "hi": float(max(hi, whi)), "n": n, "seeds": S,
            "method": "bootstrap(seeds x samples)"}


def difference_interval(correct_a, correct_b, level: float = LEVEL, n_boot: int = N_BOOT, seed: int = 0) -> dict:
    """``mean(a) - mean(b)`` of two ensembles scored on the same ``n`` samples, with its interval.

    A paired two-way bootstrap: each draw resamples the samples once (the same indices for both
    models) and the seeds of each model independently. Returns ``{"diff", "lo", "hi", "n"}``.
    """
    a = _correct(correct_a, "correct_a")
    b = _correct(correct_b, "correct_b")
    level = _level(level)
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"Arguments `correct_a`, `correct_b` must score the same samples, got n = {a.shape[1]} and {b.shape[1]}.")
    n = a.shape[1]
    rng = np.random.default_rng(seed)
    idx_n = rng.integers(0, n, (n_boot, n))
    ia = rng.integers(0, a.shape[0], (n_boot, a.shape[0]))
    ib = rng.integers(0, b.shape[0], (n_boot, b.shape[0]))
    d = _boot_means(a, ia, idx_n) - _boot_means(b, ib, idx_n)
    q = (1 - level) / 2
    lo, hi = np.quantile(d, [q, 1 - q])
    return {"diff": float(a.mean() - b.mean()), "lo": float(lo), "hi": float(hi), "n": n}


def verdict(lo, hi, threshold, above: bool = True) -> str:
    """The verdict of a claim "the quantity is above ``threshold``" (``above=True``) or "below"
    from its interval ``[lo, hi]``: supported only when the whole interval is on the claimed side,
    contradicted only when the whole interval is on the other side, inconclusive otherwise (an
    interval that holds the threshold, or a NaN bound)."""
    lo, hi, t = float(lo), float(hi), float(threshold)
    if math.isnan(lo) or math.isnan(hi) or math.isnan(t):
        return INCONCLUSIVE
    if lo > hi:
        raise ValueError(f"Arguments `lo`, `hi` must satisfy lo <= hi, got {lo}, {hi}.")
    if above:
        return SUPPORTED if lo > t else CONTRADICTED if hi < t else INCONCLUSIVE
    return SUPPORTED if hi < t else CONTRADICTED if lo > t else INCONCLUSIVE
