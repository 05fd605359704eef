"""The architecture's import rules hold (scripts/import_graph.py): only the factory imports
adapters, adapters never import the factory, one another or the settings (only their
section), the CLI never reaches into the API's internals."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_no_import_rule_is_broken() -> None:
    spec = importlib.util.spec_from_file_location("import_graph", REPO / "scripts/import_graph.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["import_graph"] = module
    spec.loader.exec_module(module)
    edges = module.graph()
    assert len(edges) > 50  # it did read the tree
    assert module.broken_rules(edges) == []
    assert module.cycles(edges) == []


def test_the_rules_bite() -> None:
    spec = importlib.util.spec_from_file_location("import_graph", REPO / "scripts/import_graph.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    bad = {
        # the factory and any of its modules
        "shared.adapters.gemini_analyzer": {"shared.factory", "shared.factory.budgets"},
        "shared.adapters.supabase_results": {"shared.adapters.postgres_results"},
        "consumer.pipeline": {"shared.adapters.sqlite_results"},
        "tubeq.cli.dlq": {"producer.api.dead_letters"},
        "shared.adapters.postgres_results": {"shared.adapters._function_results"},  # allowed
        "shared.adapters.sqlite_queue": {"shared.settings"},
        # an adapter the factory names outside shared/adapters/, reaching into a field group
        "shared.youtube_data_api": {"shared.settings.youtube"},
        "shared.adapters._postgres_connection": {"shared.adapter_settings"},  # allowed
        "shared.doctor.common": {"shared.settings"},  # not an adapter: allowed
    }
    assert len(module.broken_rules(bad)) == 7


def test_a_loop_of_imports_is_a_cycle_but_a_package_and_its_modules_are_not() -> None:
    spec = importlib.util.spec_from_file_location("import_graph", REPO / "scripts/import_graph.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    edges = {
        # the type-only loop the dashboard's routes had
        "producer.dashboard.routes": {"producer.dashboard.artifact_routes"},
        "producer.dashboard.artifact_routes": {"producer.dashboard.routes"},
        "shared.a": {"shared.b"},
        "shared.b": {"shared.c"},
        "shared.c": {"shared.a", "shared.d"},
        "shared.d": set(),
        # a package importing its modules, and a module importing its package: not a cycle
        "producer.api": {"producer.api.deps"},
        "producer.api.deps": {"producer.api"},
        # but a loop through a package's __init__ is: pkg runs pkg.mod, which needs other,
        # which needs pkg
        "shared.pkg": {"shared.pkg.mod"},
        "shared.pkg.mod": {"shared.other"},
        "shared.other": {"shared.pkg"},
    }
    assert module.cycles(edges) == [
        ["producer.dashboard.artifact_routes", "producer.dashboard.routes"],
        ["shared.a", "shared.b", "shared.c"],
        ["shared.other", "shared.pkg", "shared.pkg.mod"],
    ]
