"""tnn.compile_cache: which folder the commands use, bad input, and the same numbers from a cached program."""

import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from tnn import compile_cache


def test_default_folder_rules(monkeypatch, tmp_path):
    for var in ("TNN_COMPILE_CACHE", "JAX_COMPILATION_CACHE_DIR", "XDG_CACHE_HOME"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert compile_cache.default_cache_dir() == str(tmp_path / ".cache" / "tnn" / "jax")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert compile_cache.default_cache_dir() == str(tmp_path / "xdg" / "tnn" / "jax")
    monkeypatch.setenv("JAX_COMPILATION_CACHE_DIR", str(tmp_path / "jax"))  # the user's own: left to JAX
    assert compile_cache.default_cache_dir() is None
    monkeypatch.setenv("TNN_COMPILE_CACHE", str(tmp_path / "mine"))  # tnn's own variable wins
    assert compile_cache.default_cache_dir() == str(tmp_path / "mine")
    monkeypatch.setenv("TNN_COMPILE_CACHE", "off")
    assert compile_cache.default_cache_dir() is None


def test_bad_folder_raises_before_changing_anything(tmp_path):
    before = compile_cache.cache_dir()
    f = tmp_path / "a-file"
    f.write_text("x")
    with pytest.raises(ValueError, match="`path`"):
        compile_cache.enable(f)
    with pytest.raises(ValueError, match="`path`"):
        compile_cache.enable("  ")
    assert compile_cache.cache_dir() == before
    assert compile_cache.enable(None) == before  # None: JAX's setting as it is


def test_cached_program_gives_the_same_numbers():
    # the session's cache folder (tests/conftest.py): the second call after clear_caches is served
    # from disk, and returns the same bits as the first (compiled) one
    import jax.monitoring

    folder = compile_cache.enable(compile_cache.cache_dir())
    assert folder is not None
    served = []  # stays registered for the session: a list append per event, harmless
    jax.monitoring.register_event_duration_secs_listener(
        lambda event, secs, **kw: served.append(event) if event.endswith("cache_retrieval_time_sec") else None)
    f = jax.jit(lambda a: jnp.linalg.eigvalsh(a @ a.T + jnp.sin(a)) * 1.000001)
    a = jnp.asarray(np.random.default_rng(3).normal(size=(24, 24)))
    first = np.asarray(f(a))
    jax.clear_caches()
    n = len(served)
    second = np.asarray(f(a))
    assert len(served) > n  # served from the folder, not compiled
    assert np.array_equal(first, second)


def test_cli_flag_off_and_folder(tmp_path, capsys):
    from tnn.cli import build_parser

    args = build_parser().parse_args(["--compile-cache", "off", "study", "--quick"])
    assert args.compile_cache == "off"
    args = build_parser().parse_args(["--compile-cache", str(tmp_path), "study", "--quick"])
    assert args.compile_cache == str(tmp_path)


def test_trim_removes_the_oldest_programs_first(tmp_path):
    # four programs of 100 bytes written at t = 1, 2, 3, 4 (with JAX's atime companions), cap 250 bytes
    for t in range(1, 5):
        f = tmp_path / f"p{t}-cache"
        f.write_bytes(b"x" * 100)
        (tmp_path / f"p{t}-atime").write_bytes(b"0")
        os.utime(f, (t, t))
    (tmp_path / "other").write_bytes(b"y" * 1000)  # not a program: never counted nor removed
    assert compile_cache.trim(tmp_path, 250) == 200
    assert sorted(p.name for p in tmp_path.iterdir()) == ["other", "p3-atime", "p3-cache", "p4-atime", "p4-cache"]
    assert compile_cache.trim(tmp_path, 250) == 0  # fits: nothing more
