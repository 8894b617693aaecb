"""tnn.intervals against scipy.stats, and the verdict rule on hand-made intervals."""

import math

import numpy as np
import pytest
from scipy import stats

from tnn import intervals as iv


@pytest.mark.parametrize("k,n", [(0, 10), (3, 10), (10, 10), (57, 99), (1, 500), (480, 500)])
@pytest.mark.parametrize("level", [0.9, 0.95])
def test_wilson_and_clopper_pearson_equal_scipy(k, n, level):
    ci = stats.binomtest(k, n).proportion_ci(confidence_level=level, method="wilson")
    assert iv.wilson(k, n, level) == pytest.approx((ci.low, ci.high), abs=1e-12)
    ci = stats.binomtest(k, n).proportion_ci(confidence_level=level, method="exact")
    assert iv.clopper_pearson(k, n, level) == pytest.approx((ci.low, ci.high), abs=1e-12)


def test_intervals_of_nothing_are_nan_and_bad_counts_are_refused():
    assert all(math.isnan(x) for x in iv.wilson(0, 0)) and all(math.isnan(x) for x in iv.clopper_pearson(0, 0))
    for k, n in [(5, 4), (-1, 3), (1.5, 3)]:
        with pytest.raises(ValueError, match="`k`, `n`"):
            iv.wilson(k, n)
    with pytest.raises(ValueError, match="`level`"):
        iv.clopper_pearson(1, 2, level=1.0)


@pytest.mark.parametrize("b,c", [(0, 0), (3, 0), (10, 4), (25, 40), (7, 7)])
def test_mcnemar_is_the_exact_binomial_test_of_discordant_pairs(b, c):
    want = 1.0 if b + c == 0 else stats.binomtest(b, b + c, 0.5).pvalue
    assert iv.mcnemar(b, c) == pytest.approx(want, abs=1e-12)
    # the exact conditional test: two-sided tail of Binomial(b + c, 1/2) at min(b, c)
    if b + c:
        m = min(b, c)
        tail = sum(math.comb(b + c, j) for j in range(m + 1)) / 2 ** (b + c)
        assert iv.mcnemar(b, c) == pytest.approx(min(1.0, 2 * tail), abs=1e-12)


def test_paired_counts_and_balanced_accuracy():
    a = np.array([1, 1, 0, 0, 1], bool)
    b = np.array([1, 0, 1, 0, 0], bool)
    assert iv.paired_counts(a, b) == (2, 1)
    y = np.array([0, 0, 0, 0, 1])
    pred = np.array([0, 0, 0, 0, 0])
    assert iv.balanced_accuracy(y, pred) == pytest.approx(0.5)  # majority guessing: chance level
    assert iv.balanced_accuracy(y, y) == 1.0


def test_ensemble_interval_one_seed_is_wilson_and_several_seeds_cover_the_seed_spread():
    rng = np.random.default_rng(0)
    one = rng.random(400) < 0.8
    r = iv.ensemble_interval(one)
    assert (r["lo"], r["hi"]) == pytest.approx(iv.wilson(int(one.sum()), 400)) and r["method"] == "wilson"
    # seeds that disagree (0.5 and 1.0 on the same samples): the interval must hold both seeds' spread
    two = np.stack([rng.random(400) < 0.5, np.ones(400, bool)])
    r2 = iv.ensemble_interval(two)
    assert r2["lo"] < 0.7 < 0.8 < r2["hi"] and r2["mean"] == pytest.approx(two.mean())
    assert iv.ensemble_interval(two) == r2  # deterministic


def test_difference_interval_is_paired():
    rng = np.random.default_rng(1)
    a = rng.random(500) < 0.7
    b = a.copy()
    b[:50] = ~b[:50]  # b differs from a on 50 samples only: the paired interval is narrow
    d = iv.difference_interval(a, b)
    assert d["diff"] == pytest.approx(a.mean() - b.mean())
    assert d["hi"] - d["lo"] < 0.07
    with pytest.raises(ValueError, match="same samples"):
        iv.difference_interval(a, b[:10])


def test_verdict_rule_on_hand_made_intervals():
    assert iv.verdict(0.2, 0.3, 0.15) == iv.SUPPORTED
    assert iv.verdict(0.0, 0.1, 0.15) == iv.CONTRADICTED
    assert iv.verdict(0.1, 0.2, 0.15) == iv.INCONCLUSIVE  # straddles the threshold
    assert iv.verdict(0.1, 0.2, 0.15, above=False) == iv.INCONCLUSIVE
    assert iv.verdict(0.01, 0.05, 0.10, above=False) == iv.SUPPORTED
    assert iv.verdict(float("nan"), 0.2, 0.1) == iv.INCONCLUSIVE
