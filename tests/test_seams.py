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
