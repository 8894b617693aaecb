"""The shared argument checks (tnn._checks): one message style, the argument or field named."""

import math

import numpy as np
import pytest

from tnn import _checks


def test_int_and_real_checks_name_the_argument_and_normalise():
    assert _checks.check_int("n", np.int64(3), 1) == 3 and type(_checks.check_int("n", np.int64(3), 1)) is int
    assert _checks.check_real("x", np.float32(0.5), 0, 1) == 0.5
    assert _checks.check_real("x", 2, 0) == 2.0
    for bad in (0, 1.0, True, "1", None):
        with pytest.raises(ValueError, match=r"^Argument `n` must be an int >= 1, got .*\.$"):
            _checks.check_int("n", bad, 1)
    with pytest.raises(ValueError, match=r"`seed` must be an int in \[0, 2\*\*63 - 1\]"):
        _checks.check_int("seed", 2**63, 0, 2**63 - 1)
    for bad in (math.nan, math.inf, 10**400, True, "0.5", -0.1, 1.0):
        with pytest.raises(ValueError, match=r"`x` must be a finite number in \[0, 1\), got"):
            _checks.check_real("x", bad, 0, 1, hi_open=True)
    with pytest.raises(ValueError, match=r"`x` must be a finite number > 0, got 0"):
        _checks.check_real("x", 0, 0, lo_open=True)


def test_finite_bool_choice_and_tuples():
    _checks.check_finite("a", np.ones((2, 2)))
    _checks.check_finite("a", np.arange(3))
    with pytest.raises(ValueError, match=r"`a` must be finite \(1 of 4 entries are not\), got an array of shape"):
        _checks.check_finite("a", np.array([[1.0, np.nan], [0.0, 1.0]]))
    assert _checks.check_bool("pbc", np.bool_(True)) is True
    with pytest.raises(ValueError, match="`pbc` must be a bool, got 1"):
        _checks.check_bool("pbc", 1)
    with pytest.raises(ValueError, match=r"`mode` must be one of \('a', 'b'\), got 'c'"):
        _checks.check_choice("mode", "c", ("a", "b"))
    assert _checks.check_ints("r", np.arange(3), min_length=1, distinct=True) == (0, 1, 2)
    with pytest.raises(ValueError, match="`r` must be a non-empty tuple of distinct ints"):
        _checks.check_ints("r", (1, 1), min_length=1, distinct=True)
    with pytest.raises(ValueError, match="`off` must be a tuple of 2 ints"):
        _checks.check_ints("off", (1,), length=2)
    with pytest.raises(ValueError, match="`r` must be a tuple of at least 2 ints >= 8"):
        _checks.check_ints("r", 16, 8, min_length=2)
    assert _checks.check_reals("s", [0, 0.5], 0.0) == (0.0, 0.5)
    with pytest.raises(ValueError, match="`s` must be a tuple of finite numbers > 0"):
        _checks.check_reals("s", (0.1, 0.0), 0.0, lo_open=True)
    assert _checks.check_splits("splits", (0.8, 0.2, 0)) == (0.8, 0.2, 0.0)
    with pytest.raises(ValueError, match=r"`splits` must be three fractions \(train, val, test\) in \(0, 1\)"):
        _checks.check_splits("splits", (0.8, 0.2, 0), strict=True)


def test_check_fields_raises_the_config_error_naming_the_field():
    class Cfg:
        a, b, c, d = 1, (0.5,), "x", 0.0

    def error(field, msg, value):
        return TypeError(f"Cfg field `{field}` {msg}, got {value!r}.")

    rules = {("a",): _checks.integer(1), "b": _checks.reals(0.0, min_length=1), "c": _checks.choice("xy"),
             "d": _checks.real(0)}
    assert _checks.check_fields(Cfg, rules, error) == {"a": 1, "b": (0.5,), "c": "x", "d": 0.0}
    Cfg.d = -1.0
    with pytest.raises(TypeError, match=r"^Cfg field `d` must be a finite number >= 0, got -1.0.$"):
        _checks.check_fields(Cfg, rules, error)
