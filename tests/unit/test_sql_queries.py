"""The named SQL blocks of sql/queries/ and the adapters that run them: every block is
used, every name asked for exists, and each rule is written for both engines, side by
side, in the same order and under the same rule line."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from shared.errors import ConfigError
from shared.sql_queries import QueryNotFound, load, parse

REPO = Path(__file__).resolve().parents[2]
ADAPTERS = REPO / "shared" / "adapters"
#: which modules run which file's blocks, and how they name a block in the code
SQLITE_MODULES = [ADAPTERS / "sqlite_results.py", ADAPTERS / "_sqlite_results_batches.py"]
POSTGRES_MODULES = [
    ADAPTERS / "_function_results.py",
    ADAPTERS / "_function_batches.py",  # the batch store (sql/010) on both
    ADAPTERS / "postgres_results.py",
    ADAPTERS / "supabase_results.py",
    # the fleet-wide rate budget (sql/009) runs its blocks through the same two stores
    ADAPTERS / "_fleet_budget.py",
    ADAPTERS / "postgres_budget.py",
    ADAPTERS / "supabase_budget.py",
]


def _names_used(modules: list[Path], table: str) -> set[str]:
    """Block names in the code: ``TABLE["name"]`` and ``self.run("name", ...)`` /
    ``self._read("name", ...)`` (the adapters' only ways to reach a block)."""
    names: set[str] = set()
    for module in modules:
        for node in ast.walk(ast.parse(module.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Subscript)
                and isinstance(node.value, ast.Name)
                and node.value.id == table
                and isinstance(node.slice, ast.Constant)
                and isinstance(node.slice.value, str)
            ):
                names.add(node.slice.value)
            elif (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in ("run", "_read")
                and node.args
                and isinstance(node.args[0], ast.Constant)
                and isinstance(node.args[0].value, str)
            ):
                names.add(node.args[0].value)
    return names


@pytest.mark.parametrize(
    ("file_name", "table", "modules"),
    [
        ("sqlite.sql", "SQLITE", SQLITE_MODULES),
        ("postgres.sql", "POSTGRES_QUERIES", POSTGRES_MODULES),
        # the running consumers (sql/016): their own pair of files
        ("sqlite_consumers.sql", "CONSUMERS", [ADAPTERS / "_sqlite_consumers.py"]),
        (
            "postgres_consumers.sql",
            "CONSUMER_QUERIES",
            [ADAPTERS / "_function_consumers.py"],
        ),
        # the dashboard's reads (sql/019): their own pair too
        ("sqlite_dashboard.sql", "DASHBOARD", [ADAPTERS / "_sqlite_dashboard_queries.py"]),
        ("postgres_dashboard.sql", "DASHBOARD_QUERIES", [ADAPTERS / "_function_dashboard.py"]),
        # the embedded queue: SQLite only (production's queue is Cloudflare's)
        (
            "sqlite_queue.sql",
            "QUEUE",
            [ADAPTERS / "sqlite_queue.py", ADAPTERS / "_sqlite_queue_dead_letters.py"],
        ),
    ],
)
def test_every_block_is_used_and_every_name_exists(
    file_name: str, table: str, modules: list[Path]
) -> None:
    blocks = set(load(file_name))
    used = _names_used(modules, table)
    assert used, f"found no block names in {[m.name for m in modules]}"
    assert sorted(used - blocks) == [], f"asked for but not in sql/queries/{file_name}"
    assert sorted(blocks - used) == [], f"in sql/queries/{file_name} but never run"


def test_the_sqlite_schema_is_only_statements_the_store_runs_in_order() -> None:
    schema = load("sqlite_schema.sql")
    assert list(schema)[:2] == ["channels", "videos"]
    assert all(sql.startswith("CREATE ") for sql in schema.values())


def test_the_queue_schema_is_only_statements_the_queue_runs_in_order() -> None:
    schema = load("sqlite_queue_schema.sql")
    assert list(schema) == [
        "messages",
        "messages_claim",
        "messages_leased",
        "dead_letters",
        "dead_letters_dead_at",
    ]
    assert all(sql.startswith("CREATE ") for sql in schema.values())


def _rules(file_name: str) -> list[tuple[str, str]]:
    """(rule name, rule line) of each rule, in file order; engine-only blocks aside."""
    found: list[tuple[str, str]] = []
    seen: set[str] = set()
    for query in load(file_name).blocks.values():
        if query.only is not None:
            continue
        if query.group in seen:
            assert query.rule is None, f"{file_name}: {query.name} repeats its rule line"
            continue
        assert query.rule, f"{file_name}: {query.name} opens a rule but has no '-- rule:' line"
        seen.add(query.group)
        found.append((query.group, query.rule))
    return found


@pytest.mark.parametrize(
    ("sqlite_file", "postgres_file"),
    [
        ("sqlite.sql", "postgres.sql"),
        ("sqlite_consumers.sql", "postgres_consumers.sql"),
        ("sqlite_dashboard.sql", "postgres_dashboard.sql"),
    ],
)
def test_each_rule_exists_on_both_engines_in_the_same_order_with_the_same_line(
    sqlite_file: str, postgres_file: str
) -> None:
    sqlite, postgres = _rules(sqlite_file), _rules(postgres_file)
    assert [name for name, _ in sqlite] == [name for name, _ in postgres]
    for (name, sqlite_rule), (_, postgres_rule) in zip(sqlite, postgres, strict=True):
        assert sqlite_rule == postgres_rule, f"rule {name!r} is stated differently"


@pytest.mark.parametrize(
    ("file_name", "engine"),
    [
        ("sqlite.sql", "sqlite"),
        ("postgres.sql", "postgres"),
        ("sqlite_consumers.sql", "sqlite"),
        ("postgres_consumers.sql", "postgres"),
        ("sqlite_dashboard.sql", "sqlite"),
        ("postgres_dashboard.sql", "postgres"),
    ],
)
def test_engine_only_blocks_say_why_and_belong_to_their_file(file_name: str, engine: str) -> None:
    for query in load(file_name).blocks.values():
        if query.only is not None:
            assert query.only[0] == engine, f"{query.name} is marked for {query.only[0]}"
            assert query.rule is None, f"{query.name}: a rule line and an 'only' line"
            assert len(query.only[1]) > 10, f"{query.name}: say why only {engine} needs it"


def test_every_postgres_call_has_a_postgrest_form() -> None:
    from shared.adapters.supabase_results import rpc_form, rpc_of

    for query in load("postgres_consumers.sql").blocks.values():
        function, args = rpc_form(query.sql, query.name)
        assert function.startswith("tubeq_consumer")
        assert all(arg.startswith(("p_", "payload")) for arg, _ in args), query.name
    for query in load("postgres_dashboard.sql").blocks.values():
        function, args = rpc_form(query.sql, query.name)
        assert function in ("tubeq_channels", "tubeq_finished_since"), query.name
        assert all(arg.startswith("p_") for arg, _ in args), query.name
    for query in load("postgres.sql").blocks.values():
        if query.only is None:
            function, args = rpc_of(query.name)
            assert function.startswith("tubeq_")
            assert all(arg.startswith(("p_", "payload")) for arg, _ in args), query.name


def test_a_missing_block_names_the_file_and_the_block() -> None:
    with pytest.raises(QueryNotFound, match=r"sql/queries/sqlite\.sql.*-- name: nope"):
        load("sqlite.sql")["nope"]


def test_parse_reads_blocks_comments_and_only_lines() -> None:
    text = (
        "-- a header that belongs to no block\n\n"
        "-- name: first\n-- rule: one thing\n-- more about it\nSELECT 1\n  + 1;\n\n"
        "-- name: first.step\nSELECT 2; -- trailing\n"
        "-- name: helper\n-- sqlite only: because of a reason\nSELECT 3;\n"
    )
    queries = parse("x.sql", text)
    assert list(queries) == ["first", "first.step", "helper"]
    assert queries["first"] == "SELECT 1\n  + 1"
    assert queries.block("first").rule == "one thing"
    assert queries.block("first.step").group == "first"
    assert queries.block("helper").only == ("sqlite", "because of a reason")


def test_parse_refuses_a_name_twice_and_an_empty_block() -> None:
    with pytest.raises(ConfigError, match="defined twice"):
        parse("x.sql", "-- name: a\nSELECT 1;\n-- name: a\nSELECT 2;\n")
    with pytest.raises(ConfigError, match="has no SQL"):
        parse("x.sql", "-- name: a\n-- only a comment\n")
