"""Print tubeq's import graph between its top-level parts and the rules it should keep:
``python scripts/import_graph.py [--edges]``.

Rules checked (exit 1 when one is broken):
- only the factory imports adapter modules (``shared/adapters/*``): the core, the CLI and
  the rest of ``shared/`` depend on the ports;
- an adapter never imports the factory (``shared/factory/``, any of its modules): the
  factory injects;
- an adapter never imports another adapter (a private helper module, ``shared/adapters/_*.py``,
  is part of the adapters that use it, not an adapter of its own);
- an adapter never imports the settings (``shared/settings``): its ``from_settings`` takes
  its own section from ``shared/adapter_settings``. Adapters are ``shared/adapters/*`` and
  every module the factory's tables name (``"module:Class"``), wherever it lives;
- the CLI never imports the API's internals (``producer.api.*`` other than the package);
- ``shared`` imports nothing of ``consumer``, ``producer`` or ``tubeq``: both sides and the
  CLI build on it, never the other way round;
- no import cycle, not even through an import inside a function or under
  ``if TYPE_CHECKING:`` (a function-level import hides a cycle, it does not remove it); a
  module importing the package it lives in is how packages work and is not a cycle.

Imports are read from the source with ``ast`` (nothing is executed); imports inside
functions count too, since they are still dependencies.
"""

from __future__ import annotations

import ast
import re
import sys
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PACKAGES = ("consumer", "producer", "shared", "tubeq")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return {name for name in found if name.split(".")[0] in PACKAGES}


def graph() -> dict[str, set[str]]:
    modules = {module_name(p): p for pkg in PACKAGES for p in (REPO / pkg).rglob("*.py")}
    edges: dict[str, set[str]] = {}
    for name, path in sorted(modules.items()):
        targets = set()
        for imported in imports_of(path):
            # `from shared import migrations` names a module; `from shared.x import f` a thing
            while imported and imported not in modules:
                imported = imported.rpartition(".")[0]
            if imported and imported != name:
                targets.add(imported)
        edges[name] = targets
    return edges


def is_factory(module: str) -> bool:
    """The composition root: the ``shared.factory`` package and its modules."""
    return module == "shared.factory" or module.startswith("shared.factory.")


def factory_adapters() -> set[str]:
    """The modules named in the ``"module:Class"`` tables of ``shared/factory/``."""
    return {
        node.value.partition(":")[0]
        for path in sorted((REPO / "shared" / "factory").glob("*.py"))
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and re.fullmatch(r"shared(\.\w+)+:\w+", node.value)
    }


def broken_rules(edges: dict[str, set[str]], adapters: set[str] | None = None) -> list[str]:
    adapters = factory_adapters() if adapters is None else adapters
    out = []
    for src, targets in edges.items():
        is_adapter = src.startswith("shared.adapters.") or src in adapters
        for dst in sorted(targets):
            if is_adapter and (dst == "shared.settings" or dst.startswith("shared.settings.")):
                out.append(f"adapter imports the settings: {src} → {dst}")
            outside = not src.startswith("shared.adapters") and not is_factory(src)
            if outside and dst.startswith("shared.adapters."):
                out.append(f"imports an adapter: {src} → {dst}")
            if src.startswith("shared.adapters.") and is_factory(dst):
                out.append(f"adapter imports the factory: {src} → {dst}")
            if (
                src.startswith("shared.adapters.")
                and dst.startswith("shared.adapters.")
                and not dst.startswith("shared.adapters._")
            ):
                out.append(f"adapter imports another adapter: {src} → {dst}")
            if src.startswith("tubeq.cli") and dst.startswith("producer.api."):
                out.append(f"CLI imports API internals: {src} → {dst}")
            if src.split(".")[0] == "shared" and dst.split(".")[0] != "shared":
                out.append(f"shared imports a side: {src} → {dst}")
    return out


def _inside(module: str, package: str) -> bool:
    """``module`` lives in ``package`` (at any depth)."""
    return module.startswith(package + ".")


def _reachable(edges: dict[str, set[str]], start: str) -> set[str]:
    seen: set[str] = set()
    todo = [start]
    while todo:
        for nxt in edges.get(todo.pop(), ()):
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Every group of modules that import one another in a loop (each reaches the others),
    leaving out a module's imports of the packages it lives in (it is loaded from inside
    them: ``from producer.api import deps`` in a module of ``producer.api``). A package's
    imports of its own modules stay: its ``__init__`` runs them, so a loop through it is
    real. A few hundred modules: a walk from each is quick enough."""
    kept = {src: {dst for dst in ts if not _inside(src, dst)} for src, ts in edges.items()}
    reach = {module: _reachable(kept, module) for module in kept}
    groups = {
        frozenset({module, *(other for other in reach[module] if module in reach.get(other, ()))})
        for module in kept
        if module in reach[module]
    }
    return sorted(sorted(group) for group in groups)


def main(argv: list[str]) -> int:
    edges = graph()
    between = Counter(
        (src.split(".")[0], dst.split(".")[0])
        for src, targets in edges.items()
        for dst in targets
        if src.split(".")[0] != dst.split(".")[0]
    )
    print(f"{len(edges)} modules, {sum(len(t) for t in edges.values())} imports between them")
    for (src, dst), count in sorted(between.items()):
        print(f"  {src:>9} → {dst:<9} {count}")
    if "--edges" in argv:
        for src, targets in edges.items():
            for dst in sorted(targets):
                print(f"{src} → {dst}")
    broken = broken_rules(edges)
    broken += [f"import cycle: {' ↔ '.join(group)}" for group in cycles(edges)]
    for line in broken:
        print(f"RULE BROKEN  {line}")
    print(f"{len(broken)} rules broken")
    return 1 if broken else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
