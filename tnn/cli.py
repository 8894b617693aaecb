"""The ``tnn`` command.

Subcommands are registered by the modules that implement them: each module listed in
``_COMMAND_MODULES`` defines ``register_cli(subparsers)``, which adds its parser(s) and sets
``func`` on them. Modules are imported lazily so ``tnn --help`` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import sys

_COMMAND_MODULES = ("tnn.demo", "tnn.data", "tnn.train", "tnn.study", "tnn.sweep_presets")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tnn", description=__doc__.splitlines()[0])
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
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "func", None) is None:
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except ValueError as err:
        print(f"tnn {args.command}: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
