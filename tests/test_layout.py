"""The house rules of issue 12 that a script can check: files stay short and modules meet at public seams.

* No Python file under ``tnn/`` is longer than :data:`MAX_LINES` lines (one job per file).
* No module of ``tnn/`` or ``experiments/`` uses another module's private name (``_name``): neither
  ``from tnn.x import _name`` nor ``x._name`` on an imported tnn module. Private *modules* (``tnn._checks``)
  are fine: they are the package's own shared helpers with public names.
"""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MAX_LINES = 520
SOURCES = sorted((ROOT / "tnn").rglob("*.py")) + sorted((ROOT / "experiments").rglob("*.py"))


def _is_module(dotted: str) -> bool:
    path = ROOT.joinpath(*dotted.split("."))
    return path.with_suffix(".py").exists() or (path / "__init__.py").exists()


def _package_of(file: Path) -> str:
    rel = file.relative_to(ROOT).with_suffix("")
    parts = rel.parts[:-1] if rel.name != "__init__" else rel.parts[:-1]
    return ".".join(parts)


def _absolute(file: Path, node: ast.ImportFrom) -> str | None:
    if node.level == 0:
        return node.module
    base = _package_of(file).split(".")
    if node.level > 1:
        base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _violations(file: Path) -> list[str]:
    tree = ast.parse(file.read_text(), filename=str(file))
    aliases: dict[str, str] = {}
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                if a.name.startswith("tnn"):
                    aliases[a.asname or a.name.split(".")[0]] = a.name if a.asname else a.name.split(".")[0]
        elif isinstance(node, ast.ImportFrom):
            mod = _absolute(file, node)
            if not mod or not mod.startswith("tnn"):
                continue
            for a in node.names:
                if _is_module(f"{mod}.{a.name}"):
                    aliases[a.asname or a.name] = f"{mod}.{a.name}"
                elif _private(a.name):
                    out.append(f"{file.relative_to(ROOT)}:{node.lineno} imports {mod}.{a.name}")
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and _private(node.attr):
            base = node.value
            chain = []
            while isinstance(base, ast.Attribute):
                chain.append(base.attr)
                base = base.value
            if isinstance(base, ast.Name) and base.id in aliases:
                target = ".".join([aliases[base.id], *reversed(chain)])
                if _is_module(target):
                    out.append(f"{file.relative_to(ROOT)}:{node.lineno} uses {target}.{node.attr}")
    return out


def test_sources_found():
    assert len(SOURCES) > 40


@pytest.mark.parametrize("file", [f for f in SOURCES if f.is_relative_to(ROOT / "tnn")],
                         ids=lambda f: str(f.relative_to(ROOT)))
def test_file_is_short(file):
    n = len(file.read_text().splitlines())
    assert n <= MAX_LINES, f"{file.relative_to(ROOT)} has {n} lines (at most {MAX_LINES}: split it by job)"


def test_no_private_names_across_modules():
    found = [v for f in SOURCES for v in _violations(f)]
    assert not found, "private names used across modules:\n" + "\n".join(found)


def _tnn_imports(file: Path):
    tree = ast.parse(file.read_text(), filename=str(file))
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            mod = _absolute(file, node)
            if mod and mod.split(".")[0] == "tnn":
                for a in node.names:
                    yield node.lineno, mod, a.name
        elif isinstance(node, ast.Import):
            for a in node.names:
                if a.name.split(".")[0] == "tnn":
                    yield node.lineno, a.name, None


def test_every_tnn_import_resolves():
    """Scripts in ``experiments/`` are not imported by the suite; a name moved or renamed in the
    library must not leave one of them failing at import."""
    missing = []
    for file in SOURCES:
        for lineno, mod, name in _tnn_imports(file):
            where = f"{file.relative_to(ROOT)}:{lineno}"
            try:
                module = importlib.import_module(mod)
            except ImportError as err:
                missing.append(f"{where} {mod}: {err}")
                continue
            if name and name != "*" and not hasattr(module, name) and not _is_module(f"{mod}.{name}"):
                missing.append(f"{where} {mod} has no {name}")
    assert not missing, "\n".join(missing)


def test_checker_sees_a_violation(tmp_path):
    """The scan is not vacuous: a private import and a private attribute are both caught."""
    global ROOT
    fake = tmp_path / "tnn"
    fake.mkdir()
    (fake / "__init__.py").write_text("")
    (fake / "a.py").write_text("def _secret():\n    return 1\n")
    (fake / "b.py").write_text("from tnn.a import _secret\nfrom tnn import a\nx = a._secret()\n")
    old, ROOT = ROOT, tmp_path
    try:
        found = _violations(fake / "b.py")
    finally:
        ROOT = old
    assert len(found) == 2
