"""The edges' packages say what they hold, and import only what their layer may."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

OTA = Path(__file__).resolve().parent.parent / "ota"


def _imports(package: str) -> set[str]:
    """Every module the package's files import (absolute names), lazily imported ones included."""
    found: set[str] = set()
    for path in (OTA / package).glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found.add(node.module)
            elif isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names)
    return found


@pytest.mark.parametrize("package", ["store", "fetch", "web"])
def test_each_package_docstring_names_every_module(package: str) -> None:
    """A newcomer reads the package's docstring first: it lists every module of the package."""
    doc = importlib.import_module(f"ota.{package}").__doc__ or ""
    modules = [path.name for path in sorted((OTA / package).glob("*.py")) if path.name != "__init__.py"]
    assert modules and [name for name in modules if name not in doc] == []


def test_the_git_edge_takes_no_policy_and_readers_share_its_formats() -> None:
    """Whether a text is suspect is the orchestrator's decision; the export reads records through
    the store's parsers, not through the viewer."""
    assert not [
        name for name in _imports("store") if name.startswith(("ota.extract.suspicion", "ota.tracking.track"))
    ]
    assert not [name for name in _imports("dataset") if name.startswith("ota.web")]


def _layers() -> dict[str, str]:
    """The README's diagram of layers: each top-level module or package of `ota/`, by its layer."""
    readme = (OTA.parent / "README.md").read_text(encoding="utf-8")
    block = readme.split("### Layers", 1)[1].split("```", 2)[1]
    layers: dict[str, str] = {}
    layer = ""
    lines = block.splitlines()
    for number, line in enumerate(lines):
        label = line[:16].strip()
        previous = lines[number - 1][:16].strip() if number else ""
        if label and not line.startswith(" ") and not previous.endswith(" and"):
            layer = label
            if label.endswith(" and"):  # "values and" / "pure core": one label on two lines
                layer = f"{label} {lines[number + 1][:16].strip()}"
        for word in line[16:].split():
            name = word.rstrip(":;,")
            if (OTA / name.rstrip("/")).exists() and name.endswith(("/", ".py")):
                layers.setdefault(name.rstrip("/").removesuffix(".py"), layer)
    return layers


def test_the_readme_diagram_names_every_top_level_module_in_its_layer() -> None:
    """The tree and the README's diagram of layers agree: every module and package at the top of
    `ota/` is in the diagram, and the diagram names nothing that is not there."""
    top = {
        path.name.removesuffix(".py")
        for path in OTA.iterdir()
        if (path.suffix == ".py" and path.name != "__init__.py") or (path / "__init__.py").exists()
    }
    layers = _layers()
    assert sorted(top - set(layers)) == []
    assert layers["cli"] == layers["web"] == "delivery"
    assert layers["tracking"] == layers["verify"] == "orchestration"
    assert layers["fetch"] == layers["store"] == "edges"
    assert layers["declarations"] == layers["diff"] == layers["extract"] == "values and pure core"


def test_imports_point_down_the_layers() -> None:
    """No package of a lower layer imports one of a higher layer (the edges never import the
    orchestration or the delivery; the pure core imports neither the edges nor anything above)."""
    order = ["values and pure core", "edges", "orchestration", "delivery"]
    layers = _layers()
    upward = []
    for name, layer in layers.items():
        path = OTA / name
        files = sorted(path.rglob("*.py")) if path.is_dir() else [OTA / f"{name}.py"]
        for file in files:
            for node in ast.walk(ast.parse(file.read_text(encoding="utf-8"))):
                modules = (
                    [node.module]
                    if isinstance(node, ast.ImportFrom) and node.module and node.level == 0
                    else [alias.name for alias in node.names]
                    if isinstance(node, ast.Import)
                    else []
                )
                for module in modules:
                    parts = module.split(".")
                    if parts[0] != "ota" or len(parts) < 2 or parts[1] not in layers:
                        continue
                    if order.index(layers[parts[1]]) > order.index(layer):
                        upward.append(f"{file.relative_to(OTA.parent)} imports {module}")
    assert upward == []
