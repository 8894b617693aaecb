"""The package's layers (issue 21): no import cycle and no arrow up, imports inside functions counted.

Each module of ``tnn`` belongs to one layer of :data:`LAYERS` (bottom first); a module may import
modules of its own layer or of layers below it, never above, and the graph of modules has no cycle.
A lazy import inside a function hides a cycle from Python, not from a reader: it counts the same.
A new top-level module or subpackage must be given a layer here (the test names it).
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PKG = ROOT / "tnn"

#: bottom first; a name is a top-level module (``lattice``) or subpackage (``data``) of ``tnn``
LAYERS = (
    ("_checks", "precision", "threads", "results", "compile_cache", "intervals", "lyapunov", "_moved"),
    ("lattice",),
    ("operators", "assembly", "bloch", "dists", "chebyshev", "localizer_linalg"),  # the operator engine (Chebyshev loops, the localizer's linear algebra) and the parameter distributions
    ("contractions", "invariants", "validity", "localizer", "kpm"),
    ("systems",),
    ("hamiltonians", "kspace", "__init__"),  # facades that keep the public names
    ("data", "models", "train"),
    ("landscape", "prune", "sweeps"),  # pure instruments: functions of losses and parameter pytrees
    # the study holds what trains and draws (its trainability, probes, minima runs); trainability, probes and
    # sweep_presets: deprecated names of study.trainability, study.probes and sweeps.presets
    ("study", "trainability", "probes", "demo", "sweep_presets"),
    ("cli",),
)
LAYER = {name: i for i, names in enumerate(LAYERS) for name in names}


def _module(file: Path) -> str:
    parts = file.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _unit(module: str) -> str:
    """The layer unit of a dotted module: its top-level module or subpackage (``__init__`` for ``tnn``)."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def _graph() -> dict[str, set[str]]:
    files = sorted(PKG.rglob("*.py"))
    modules = {_module(f): f for f in files}

    def resolve(name: str) -> str | None:
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name or None

    graph: dict[str, set[str]] = {m: set() for m in modules}
    for mod, file in modules.items():
        for node in ast.walk(ast.parse(file.read_text(), filename=str(file))):
            targets = []
            if isinstance(node, ast.ImportFrom):
                if node.level:
                    base = mod.split(".")
                    base = base[: len(base) - node.level + (1 if file.name == "__init__.py" else 0)]
                    src = ".".join(base + ([node.module] if node.module else []))
                else:
                    src = node.module or ""
                if src.split(".")[0] == "tnn":
                    targets = [f"{src}.{a.name}" if f"{src}.{a.name}" in modules else src for a in node.names]
            elif isinstance(node, ast.Import):
                targets = [a.name for a in node.names if a.name.split(".")[0] == "tnn"]
            for t in targets:
                r = resolve(t)
                if r is not None and r != mod:
                    graph[mod].add(r)
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on, out = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_every_module_has_a_layer():
    missing = sorted({_unit(m) for m in _graph()} - set(LAYER))
    assert not missing, f"give these a layer in tests/test_layers.py LAYERS: {missing}"


def test_no_import_cycle():
    cycles = _cycles(_graph())
    assert not cycles, "import cycles (imports inside functions counted):\n" + "\n".join(" <-> ".join(c) for c in cycles)


def _arrows_up(graph: dict[str, set[str]]) -> list[str]:
    return [f"{a} -> {b} ({_unit(a)}: layer {LAYER[_unit(a)]}, {_unit(b)}: layer {LAYER[_unit(b)]})"
            for a, targets in sorted(graph.items()) for b in sorted(targets)
            if _unit(a) in LAYER and _unit(b) in LAYER and LAYER[_unit(b)] > LAYER[_unit(a)]]


def test_no_arrow_up():
    up = _arrows_up(_graph())
    assert not up, "imports that run up a layer:\n" + "\n".join(up)


def test_sweeps_core_never_reaches_the_presets():
    """``import tnn.sweeps`` loads no preset runner (systems, matplotlib): only the CLI and the old name reach it."""
    graph = _graph()
    seen, todo = set(), ["tnn.sweeps"]
    while todo:
        m = todo.pop()
        if m not in seen:
            seen.add(m)
            todo.extend(graph[m])
    assert "tnn.sweeps.presets" in graph and "tnn.sweeps.presets" not in seen
    assert "tnn.sweeps.presets" in graph["tnn.cli.sweep"] and "tnn.sweeps.presets" in graph["tnn.sweep_presets"]


def _reach(graph: dict[str, set[str]], start: list[str]) -> set[str]:
    seen, todo = set(), list(start)
    while todo:
        m = todo.pop()
        if m not in seen:
            seen.add(m)
            todo.extend(graph[m])
    return seen


#: what the pure instruments never load: models, training, the study, results writers, figures
NOT_BELOW_STUDY = ("tnn.models", "tnn.train", "tnn.study", "tnn.results", "tnn.data")
NOT_THIRD_PARTY = ("matplotlib", "optax", "flax")


def test_landscape_and_prune_are_pure():
    """``tnn.landscape`` and ``tnn.prune`` are functions of losses and parameter pytrees (issue 21): none
    of their modules imports (imports inside functions counted) a model, the trainer, the study, the
    results writers or a plotting library; what trains or draws moved to ``tnn.study``, and the old
    names there (``moved_names``) find it by ``importlib`` only when asked for."""
    graph = _graph()
    mods = [m for m in graph if m == "tnn.prune" or m == "tnn.landscape" or m.startswith("tnn.landscape.")]
    reached = _reach(graph, mods)
    bad = sorted(m for m in reached if m.startswith(NOT_BELOW_STUDY))
    assert not bad, f"tnn.landscape / tnn.prune reach {bad}"
    third = []
    for m in mods:
        f = PKG.joinpath(*m.split(".")[1:])
        f = f / "__init__.py" if f.is_dir() else f.with_suffix(".py")
        for n in ast.walk(ast.parse(f.read_text())):
            names = ([a.name for a in n.names] if isinstance(n, ast.Import)
                     else [n.module or ""] if isinstance(n, ast.ImportFrom) else [])
            third += [f"{m}: {x}" for x in names if x.split(".")[0] in NOT_THIRD_PARTY]
    assert not third, f"tnn.landscape / tnn.prune import {third}"


def test_importing_landscape_and_prune_loads_nothing_above_them():
    """The same at run time, in a fresh interpreter (module ``__getattr__`` shims included)."""
    import subprocess
    import sys

    code = ("import sys, tnn.landscape, tnn.prune, tnn.landscape.minima, tnn.landscape.endpoints; "
            f"print(sorted(m for m in sys.modules if m.startswith({NOT_BELOW_STUDY + NOT_THIRD_PARTY!r})))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip() == "[]", out.stdout


def test_the_checker_sees_cycles_and_arrows_up():
    """The checks on hand-made graphs, and a function-level import in the real one."""
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []
    assert _arrows_up({"tnn.lattice": {"tnn.systems.ssh"}, "tnn.systems.ssh": {"tnn.lattice"}}) == [
        "tnn.lattice -> tnn.systems.ssh (lattice: layer 1, systems: layer 4)"]
    assert "tnn.landscape" in _graph()["tnn.study.analyses"]  # imported inside a function there


def test_argument_parsing_lives_in_the_cli_package():
    """Every argparse parser is in ``tnn/cli/`` (the library modules the commands call hold none)."""
    found = [str(f.relative_to(ROOT)) for f in sorted(PKG.rglob("*.py"))
             if not f.is_relative_to(PKG / "cli")
             and any(isinstance(n, (ast.Import, ast.ImportFrom))
                     and "argparse" in ([a.name for a in n.names] if isinstance(n, ast.Import) else [n.module or ""])
                     for n in ast.walk(ast.parse(f.read_text())))]
    assert not found, f"argparse imported outside tnn/cli: {found}"


def test_float64_is_one_explicit_switch():
    """No ``jax.enable_x64`` context and no other ``config.update("jax_enable_x64", ...)`` in the library:
    the one switch is ``tnn.enable_x64()`` (tnn.precision); code that needs float64 asks with
    ``require_x64`` (a context is thread-local: host callbacks under it ran in float32)."""
    found = []
    for f in sorted(PKG.rglob("*.py")):
        if f == PKG / "precision.py":
            continue
        for n in ast.walk(ast.parse(f.read_text())):
            if isinstance(n, ast.Attribute) and n.attr == "enable_x64" and ast.unparse(n.value) == "jax":
                found.append(f"{f.relative_to(ROOT)}:{n.lineno} jax.enable_x64")
            if (isinstance(n, ast.Call) and ast.unparse(n.func).endswith("config.update") and n.args
                    and isinstance(n.args[0], ast.Constant) and n.args[0].value == "jax_enable_x64"):
                found.append(f"{f.relative_to(ROOT)}:{n.lineno} config.update('jax_enable_x64')")
    assert not found, f"float64 switched outside tnn.precision: {found}"
