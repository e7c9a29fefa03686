"""The packages are layers that import one way (pyproject.toml, [tool.importlinter]):

    models <- extensions <- security <- orchestration <- services <- blueprints / cli / templating

the features (blueprint packages) do not import each other, and no module imports itself back
through others, nor hides an import inside a function."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parents[2]


def test_layers_point_one_way():
    lint = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run([str(lint), "--no-cache"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Contracts: 3 kept, 0 broken." in result.stdout  # layers, independent features, no cycles


def test_no_module_imports_itself_back():
    graph = grimp.build_graph("portal", cache_dir=None)
    cycles = sorted(
        f"{importer} -> {imported}"
        for importer in graph.modules
        for imported in graph.find_modules_directly_imported_by(importer)
        if graph.chain_exists(importer=imported, imported=importer)
    )
    assert cycles == [], "imports in a cycle: " + ", ".join(cycles)


def test_no_import_hides_in_a_function():
    """Imports stand at the top level of a module: not in a function, a class or a block."""
    hidden = []
    for path in sorted((ROOT / "portal").rglob("*.py")):
        tree = ast.parse(path.read_text(), str(path))
        top_level = {id(node) for node in tree.body}
        hidden += [
            f"{path.relative_to(ROOT)}:{node.lineno}"
            for node in ast.walk(tree)
            if isinstance(node, ast.Import | ast.ImportFrom) and id(node) not in top_level
        ]
    assert hidden == [], f"imports below the top level: {hidden}"
