"""The tree ships as it is laid out: every package of ours is in the wheel, and the split
packages ``shared.ports`` and ``shared.models`` still offer every name their modules define.

pyproject's package list is explicit (the SQL and the samples are mapped packages), so a new
sub-package that is not added to it is silently left out of the wheel — and out of the
consumer image, which installs the wheel — while every test run from the source tree passes.
"""

from __future__ import annotations

import ast
import importlib
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
OUR_PACKAGES = ("consumer", "producer", "shared", "tubeq")


def test_every_package_of_ours_is_in_the_wheel() -> None:
    listed = set(
        tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]
    )
    found = {
        ".".join(init.parent.relative_to(ROOT).parts)
        for top in OUR_PACKAGES
        for init in (ROOT / top).rglob("__init__.py")
    }
    missing = sorted(found - listed)
    assert not missing, f"add {missing} to [tool.setuptools] packages in pyproject.toml"


def _public_definitions(path: Path) -> set[str]:
    """The public names a module defines at its top level (not the ones it imports)."""
    names: set[str] = set()
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
    return {n for n in names if not n.startswith("_")}


@pytest.mark.parametrize("package", ["shared.ports", "shared.models"])
def test_the_package_re_exports_every_public_name_of_its_modules(package: str) -> None:
    folder = ROOT.joinpath(*package.split("."))
    modules = sorted(p for p in folder.glob("*.py") if p.name != "__init__.py")
    assert len(modules) >= 8  # it did find the split package
    defined: dict[str, str] = {}
    for path in modules:
        for name in _public_definitions(path):
            assert name not in defined, f"{name} is defined in {defined.get(name)} and {path.name}"
            defined[name] = path.stem

    face = importlib.import_module(package)
    assert sorted(face.__all__) == sorted(defined), (
        f"{package}.__all__ differs from what its modules define: "
        f"missing {sorted(set(defined) - set(face.__all__))}, "
        f"extra {sorted(set(face.__all__) - set(defined))}"
    )
    for name, module in defined.items():
        inner = importlib.import_module(f"{package}.{module}")
        assert getattr(face, name) is getattr(inner, name), f"{package}.{name}"
