"""The tnn command: datasets, training, the learnability study and phase-diagram demos.

Argument parsing lives in this package only: ``tnn.cli.demo``, ``tnn.cli.data``, ``tnn.cli.train``,
``tnn.cli.study``, ``tnn.cli.sweep``. Each defines ``register_cli(subparsers)``, which adds its
parser(s) and sets ``func`` on them; the library modules they call (``tnn.demo``,
``tnn.sweeps.presets``, ``tnn.data``, ``tnn.train``, ``tnn.study``) hold no argparse.

Every command runs BLAS/LAPACK single-threaded unless told otherwise (:mod:`tnn.threads`:
``--blas-threads``, ``TNN_BLAS_THREADS``, or a user-set ``OPENBLAS_NUM_THREADS``) and keeps its compiled
programs in JAX's persistent compilation cache (:mod:`tnn.compile_cache`: ``--compile-cache``,
``TNN_COMPILE_CACHE``, default ``~/.cache/tnn/jax``). Bad input is a
``ValueError`` and a file-system failure (an unwritable ``--out``) an ``OSError``; both end as one
``tnn COMMAND: error: ...`` line on stderr with exit status 2 and 1, never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys

_COMMAND_MODULES = ("tnn.cli.demo", "tnn.cli.data", "tnn.cli.train", "tnn.cli.study", "tnn.cli.sweep")

_EPILOG = (
    "BLAS threads: every command runs LAPACK with one thread (threads of OpenBLAS busy-wait and slow "
    "everything down on a loaded machine); --blas-threads N or TNN_BLAS_THREADS=N change that, and a "
    "user-set OPENBLAS_NUM_THREADS / OMP_NUM_THREADS is respected. Compiled programs are kept in JAX's "
    "persistent cache (--compile-cache DIR, TNN_COMPILE_CACHE, a user-set JAX_COMPILATION_CACHE_DIR, else "
    "~/.cache/tnn/jax; 'off' for none): a rerun compiles almost nothing."
)


def _positive_int(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a positive int, got {text!r}") from None
    if n < 1:
        raise argparse.ArgumentTypeError(f"must be a positive int, got {text!r}")
    return n


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tnn", description=__doc__.splitlines()[0], epilog=_EPILOG)
    parser.add_argument("--blas-threads", type=_positive_int, default=None, metavar="N",
                        help="threads of BLAS/LAPACK (default: TNN_BLAS_THREADS, else a user-set "
                             "OPENBLAS_NUM_THREADS / OMP_NUM_THREADS, else 1)")
    parser.add_argument("--compile-cache", default=None, metavar="DIR",
                        help="folder of JAX's persistent compilation cache ('off': none; default: TNN_COMPILE_CACHE, "
                             "else a user-set JAX_COMPILATION_CACHE_DIR, else ~/.cache/tnn/jax)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in _COMMAND_MODULES:
        try:
            mod = importlib.import_module(name)
        except ModuleNotFoundError as err:
            if err.name == name:  # that subcommand is not part of this version
                continue
            raise
        mod.register_cli(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    from tnn import compile_cache, threads

    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "func", None) is None:
        parser.print_help()
        return 2
    name = " ".join(c for c in (args.command, getattr(args, "data_command", None)) if c)
    try:
        n = args.blas_threads if args.blas_threads is not None else threads.default_blas_threads()
        cache = args.compile_cache if args.compile_cache is not None else compile_cache.default_cache_dir()
        compile_cache.enable(None if str(cache).strip().lower() in compile_cache.OFF else cache)
        with threads.blas_threads(n):
            return int(args.func(args) or 0)
    except ValueError as err:
        print(f"tnn {name}: error: {err}", file=sys.stderr)
        return 2
    except OSError as err:
        if err.filename is None:  # not a file-system problem the user can fix: keep the traceback
            raise
        what = err.strerror or type(err).__name__
        print(f"tnn {name}: error: cannot write or read {err.filename}: {what}. "
              "Choose another --out (a writable folder) or fix the permissions.", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
