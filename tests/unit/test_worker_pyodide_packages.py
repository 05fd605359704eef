"""Only Pyodide's packages on the Worker: its compiled dependencies are Pyodide's builds.

A Python Worker cannot load a compiled wheel built for Linux: every binary package must be
one Pyodide built for its ABI, and pywrangler resolves only those (``uv pip compile
--python cpython-3.13.2-emscripten-wasm32-musl --extra-index-url index.pyodide.org/0.28.3
--no-build``). Which Pyodide: workerd's ``compatibility-date.capnp`` enables
``python_workers_20250116`` after 2025-09-29 under ``python_workers``, and its
``build/python_metadata.bzl`` maps that flag to Pyodide 0.28.2 / CPython 3.13.2
(``python_workers_20260610`` → Pyodide 314.0.4 / CPython 3.14.2 is opt-in by flag only).

The lock is ``pyodide-lock.json`` from the npm ``pyodide`` package (``package.json``
devDependencies → ``node_modules/pyodide``; ``PYODIDE_LOCK`` may point elsewhere). Checked:

- it is a Pyodide 0.28 lock for CPython 3.13;
- every declared dependency Pyodide ships as a compiled wheel (pydantic-core) is declared
  with a range admitting exactly the lock's version, and pydantic — which pins one
  pydantic-core per release — with a range inside the lock's pydantic minor series, so
  no resolver can pick a pydantic needing another core;
- everything else the Worker installs (the declared packages and what they require, as
  installed in this environment) is pure Python: its wheel is tagged ``py3-none-any``.
"""

from __future__ import annotations

import json
import os
import tomllib
from email.parser import Parser
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest
from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from tests.support.services import unavailable

REPO = Path(__file__).resolve().parents[2]
WORKER_PROJECT = REPO / "producer" / "worker" / "pyproject.toml"
DEFAULT_LOCK = REPO / "node_modules" / "pyodide" / "pyodide-lock.json"
PYODIDE_SERIES = "0.28"  # python_workers_20250116
PYTHON_SERIES = "3.13"
#: the Worker's interpreter, for evaluating requirement markers
WORKER_ENV: dict[str, str] = {
    **{k: str(v) for k, v in default_environment().items()},
    "python_version": "3.13",
    "python_full_version": "3.13.2",
    "sys_platform": "emscripten",
    "platform_system": "Emscripten",
    "platform_machine": "wasm32",
    "implementation_name": "cpython",
}


@pytest.fixture(scope="module")
def lock() -> dict[str, Any]:
    path = Path(os.environ.get("PYODIDE_LOCK") or DEFAULT_LOCK)
    if not path.is_file():
        unavailable(
            f"no Pyodide lock at {path}: `npm ci` installs the pyodide package "
            "(package.json devDependencies), or set PYODIDE_LOCK to a pyodide-lock.json"
        )
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def declared() -> list[Requirement]:
    project = tomllib.loads(WORKER_PROJECT.read_text(encoding="utf-8"))
    return [Requirement(r) for r in project["project"]["dependencies"]]


def compiled(lock: dict[str, Any]) -> dict[str, str]:
    """Pyodide's compiled packages: canonical name → version."""
    return {
        canonicalize_name(name): entry["version"]
        for name, entry in lock["packages"].items()
        if entry["file_name"].endswith(".whl") and not entry["file_name"].endswith("-any.whl")
    }


def test_the_lock_is_the_pyodide_the_worker_runs(lock: dict[str, Any]) -> None:
    info = lock["info"]
    assert info["python"].startswith(PYTHON_SERIES + "."), info
    assert info["arch"] == "wasm32"
    package_json = Path(os.environ.get("PYODIDE_LOCK") or DEFAULT_LOCK).with_name("package.json")
    if package_json.is_file():  # the lock's own "version" field is a dev string
        version = json.loads(package_json.read_text(encoding="utf-8"))["version"]
        assert version.startswith(PYODIDE_SERIES + "."), version


def test_compiled_dependencies_resolve_to_pyodides_builds(lock: dict[str, Any]) -> None:
    binary = compiled(lock)
    assert "pydantic-core" in binary
    reqs: dict[str, Requirement] = {canonicalize_name(r.name): r for r in declared()}
    core = reqs.get("pydantic-core")
    assert core is not None, "declare pydantic-core, pinned to Pyodide's build"
    for name, req in reqs.items():
        if name in binary:
            assert req.specifier.contains(binary[name], prereleases=True), (
                f"{req} does not admit Pyodide's {name} {binary[name]}"
            )
            newer = Version(binary[name])
            bumped = f"{newer.major}.{newer.minor}.{newer.micro + 1}"
            assert not req.specifier.contains(bumped), f"{req} admits {bumped}, not Pyodide's"

    pydantic = reqs["pydantic"]
    shipped = Version(lock["packages"]["pydantic"]["version"])
    assert pydantic.specifier.contains(str(shipped)), f"{pydantic} excludes Pyodide's {shipped}"
    assert not pydantic.specifier.contains(f"{shipped.major}.{shipped.minor + 1}.0"), (
        f"{pydantic} admits pydantic {shipped.major}.{shipped.minor + 1}, which needs a newer "
        f"pydantic-core than Pyodide's {binary['pydantic-core']}"
    )


def _wheel_tags(dist: metadata.Distribution) -> list[str]:
    text = dist.read_text("WHEEL") or ""
    return Parser().parsestr(text).get_all("Tag") or []


def _required(name: str, seen: set[str]) -> None:
    """Walk ``name`` and what it requires on the Worker (no extras), as installed here."""
    if name in seen:
        return
    seen.add(name)
    for raw in metadata.requires(name) or []:
        req = Requirement(raw)
        if req.marker is None or req.marker.evaluate(WORKER_ENV):
            _required(canonicalize_name(req.name), seen)


def test_everything_else_is_pure_python(lock: dict[str, Any]) -> None:
    binary = compiled(lock)
    names: set[str] = set()
    for req in declared():
        _required(canonicalize_name(req.name), names)
    checked = []
    for name in sorted(names - set(binary)):
        tags = _wheel_tags(metadata.distribution(name))
        assert tags, f"{name}: no wheel tags recorded (installed from an sdist?)"
        assert all(t.endswith("-none-any") for t in tags), (
            f"{name} is not pure Python ({tags}): the Worker can only load it from "
            "Pyodide's own build; drop it or pin it to a version Pyodide ships"
        )
        checked.append(name)
    assert {"fastapi", "starlette", "httpx", "structlog", "pydantic"} <= set(checked)
