"""The quota reading (``BudgetMeter``) on every shared budget: the SQLite file, and the fleet's
rows on a real PostgreSQL (psycopg) and through the PostgREST stub (Supabase). It reports
what the budget granted in the window ending now, ahead of now, and a pause, with the
configured limits; before any grant it says there is no budget yet; and reading never
changes the budget (nor creates its file)."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest

from shared.adapters.postgres_budget import PostgresRateBudget
from shared.adapters.supabase_budget import SupabaseRateBudget
from shared.ports import BudgetMeter
from shared.rate_budget import GcraBudget, Limits, SqliteRateBudget
from shared.rate_budget.sqlite import SqliteBudgetMeter
from tests.contract.rate_budget_contract import FakeClock
from tests.support.postgres import pg_cluster, pg_dsn  # noqa: F401
from tests.support.postgrest_stub import PostgrestStub, service_role_key

LIMITS = Limits(requests=10, tokens=10_000, window_s=60.0, margin_s=0.0, burst_s=0.0)


@dataclass
class Budgets:
    """A budget to spend and a meter on the same state, and the state's raw rows."""

    budget: GcraBudget
    meter: BudgetMeter
    raw: Callable[[], object]
    where: str


def _sqlite(tmp_path: Path, clock: FakeClock) -> Budgets:
    path = tmp_path / "budget.sqlite3"
    meter = SqliteBudgetMeter(path, LIMITS, clock)
    assert meter.usage().exists is False
    assert not path.exists(), "reading created the budget file"
    budget = SqliteRateBudget(path, LIMITS, clock)

    def raw() -> object:
        with sqlite3.connect(path) as db:
            return db.execute("SELECT * FROM rate_budget_state").fetchall()

    return Budgets(budget, meter, raw, f"local file {path}")


def _pg_raw(dsn: str) -> Callable[[], object]:
    def raw() -> object:
        with psycopg.connect(dsn) as conn:
            return (
                conn.execute("SELECT * FROM rate_budget_limits ORDER BY 1, 2").fetchall(),
                conn.execute("SELECT * FROM rate_budget_windows ORDER BY 1").fetchall(),
            )

    return raw


@pytest.fixture(params=["sqlite", "postgres", "supabase"])
def budgets(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Budgets, FakeClock]]:
    clock = FakeClock(1_000_000.0)
    if request.param == "sqlite":
        made = _sqlite(tmp_path, clock)
        yield made, clock
        made.budget.close()
        return
    dsn = request.getfixturevalue("pg_dsn")
    if request.param == "postgres":
        pg = PostgresRateBudget(dsn, LIMITS, timeout_s=5, clock=clock)
        yield Budgets(pg, pg, _pg_raw(dsn), "fleet (postgres)"), clock
        pg.close()
        return
    with PostgrestStub(dsn) as stub:
        sb = SupabaseRateBudget(stub.url, service_role_key(), LIMITS, timeout_s=5, clock=clock)
        yield Budgets(sb, sb, _pg_raw(dsn), "fleet (supabase)"), clock
        sb.close()


@pytest.mark.services
def test_no_budget_yet_then_the_window_ahead_and_the_pause(
    budgets: tuple[Budgets, FakeClock],
) -> None:
    b, clock = budgets
    empty = b.meter.usage()
    assert (empty.exists, empty.where) == (False, b.where)
    assert (empty.requests_limit, empty.tokens_limit, empty.window_s) == (10, 10_000, 60.0)
    assert empty.requests_in_window == 0

    for tokens in (1_000, 2_500, 500):
        b.budget.acquire(tokens, timeout_s=0)
        clock.now += 6.0  # the pace: one request per 6 s
    used = b.meter.usage()
    assert used.exists
    assert (used.requests_in_window, used.tokens_in_window) == (3, 4_000)
    assert used.requests_share == pytest.approx(0.3)
    assert used.tokens_share == pytest.approx(0.4)
    assert used.last_grant_s_ago == pytest.approx(6.0)
    assert (used.requests_ahead, used.paused_for_s) == (0, 0.0)

    # two calls at once: the second is paced into the coming seconds ("ahead"), not in the
    # window yet (``_step`` is what ``acquire`` does before it sleeps until its slot)
    now, paced = b.budget._step(LIMITS.ask(300), 100.0), b.budget._step(LIMITS.ask(700), 100.0)
    assert now.granted and now.wait_s == 0
    assert paced.granted and paced.wait_s == pytest.approx(6.0)
    ahead = b.meter.usage()
    assert (ahead.requests_ahead, ahead.tokens_ahead) == (1, 700)
    assert (ahead.requests_in_window, ahead.tokens_in_window) == (4, 4_300)

    b.budget.pause(30.0)
    assert b.meter.usage().paused_for_s == pytest.approx(30.0, abs=0.1)

    clock.now += 120.0  # every grant has left the window
    later = b.meter.usage()
    assert (later.requests_in_window, later.tokens_in_window, later.requests_ahead) == (0, 0, 0)
    assert later.last_grant_s_ago is not None and later.last_grant_s_ago > 60


@pytest.mark.services
def test_reading_changes_nothing(budgets: tuple[Budgets, FakeClock]) -> None:
    b, clock = budgets
    b.budget.acquire(1_000, timeout_s=0)
    clock.now += 1.0
    b.budget.pause(5.0)
    before = b.raw()
    for _ in range(5):
        b.meter.usage()
        clock.now += 0.5
    assert b.raw() == before


@pytest.mark.services
def test_the_fleet_reads_on_the_database_clock(pg_dsn: str) -> None:  # noqa: F811
    """No test clock: the grant's time and the reading's "now" are both the database's."""
    budget = PostgresRateBudget(pg_dsn, LIMITS, timeout_s=5)
    try:
        budget.acquire(1_234, timeout_s=1)
        used = budget.usage()
    finally:
        budget.close()
    assert (used.requests_in_window, used.tokens_in_window) == (1, 1_234)
    assert used.last_grant_s_ago is not None and 0 <= used.last_grant_s_ago < 5


def test_an_old_budget_file_without_the_table_is_no_budget(tmp_path: Path) -> None:
    path = tmp_path / "budget.sqlite3"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE rate_limits (name TEXT)")  # an older budget's file
    usage = SqliteBudgetMeter(path, LIMITS, time.time).usage()
    assert usage.exists is False
