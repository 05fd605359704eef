"""The rate-budget contract on the fleet-wide budget in the result database: Postgres through
a real PostgreSQL (every migration applied), and Supabase through the PostgREST stub on it.
Two budget objects on one database are two machines of a fleet."""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import psycopg
import pytest
import structlog

from shared.adapters._fleet_budget import FleetRateBudget
from shared.adapters.postgres_budget import PostgresRateBudget
from shared.adapters.supabase_budget import SupabaseRateBudget
from shared.errors import AccessDenied, TubeqError
from shared.ports import RateBudget
from shared.rate_budget import InProcessRateBudget, Limits, Slot, Timer, Window
from shared.rate_budget.window import move
from tests.contract.rate_budget_contract import (
    Clock,
    FakeClock,
    RateBudgetContract,
    SteppingTimer,
    counted_at,
)
from tests.support.postgres import pg_cluster, pg_dsn  # noqa: F401
from tests.support.postgrest_stub import Fault, PostgrestStub, anon_key, service_role_key

pytestmark = pytest.mark.services


def _clock_or_db(clock: Clock) -> Clock | None:
    """The real clock means the database's (one clock for the fleet)."""
    return None if clock is time.time else clock


def _counted(budget: FleetRateBudget) -> Callable[[], int]:
    """Counts the calls ``budget`` sends: one statement (or one RPC) each."""
    sent: list[str] = []
    run = budget.run

    def counting(query: str, **params: Any) -> Any:
        sent.append(query)
        return run(query, **params)

    budget.run = counting  # type: ignore[method-assign]
    return lambda: len(sent)


@dataclass
class PostgresHarness:
    dsn: str
    shared_between_instances: bool = True

    def make(
        self, limits: Limits, clock: Clock = time.time, timer: Timer | None = None
    ) -> PostgresRateBudget:
        return PostgresRateBudget(
            self.dsn, limits, timeout_s=5, clock=_clock_or_db(clock), timer=timer
        )

    def statement_counter(self, budget: RateBudget) -> Callable[[], int] | None:
        assert isinstance(budget, PostgresRateBudget)
        return _counted(budget)


@dataclass
class SupabaseHarness:
    stub: PostgrestStub
    shared_between_instances: bool = True
    made: list[SupabaseRateBudget] = field(default_factory=list)

    def make(
        self, limits: Limits, clock: Clock = time.time, timer: Timer | None = None
    ) -> SupabaseRateBudget:
        return SupabaseRateBudget(
            self.stub.url,
            service_role_key(),
            limits,
            timeout_s=5,
            clock=_clock_or_db(clock),
            timer=timer,
        )

    def statement_counter(self, budget: RateBudget) -> Callable[[], int] | None:
        start = len(self.stub.requests)
        return lambda: len(self.stub.requests) - start


class TestPostgresRateBudget(RateBudgetContract):
    @pytest.fixture
    def harness(self, pg_dsn: str) -> PostgresHarness:  # noqa: F811
        return PostgresHarness(pg_dsn)

    def test_the_state_is_one_row_per_limit(self, pg_dsn: str) -> None:  # noqa: F811
        clock = FakeClock()
        budget = PostgresRateBudget(pg_dsn, Limits(10**9, 10**9), clock=clock)
        try:
            for _ in range(200):
                budget.acquire(5, timeout_s=1)
        finally:
            budget.close()
        with psycopg.connect(pg_dsn) as conn:
            rows = conn.execute(
                "SELECT budget, limit_name FROM rate_budget_limits ORDER BY 2"
            ).fetchall()
            windows = conn.execute(
                "SELECT budget, cardinality(firsts) FROM rate_budget_windows"
            ).fetchall()
        assert rows == [("gemini", "requests")]
        assert windows == [("gemini", 1)]  # 200 grants at one moment: one slot

    def test_the_sql_step_is_the_python_step(self, pg_dsn: str) -> None:  # noqa: F811
        """sql/012's and sql/017's functions and shared.rate_budget take the same steps on the
        same calls — grants, refunds, moves of late calls (within their cell and past it),
        pauses — and end with the same window: one rule, two places (the fleet's row, the
        local file)."""
        rng = random.Random(12)
        limits = Limits(requests=8, tokens=1_000, window_s=10, margin_s=0.05, burst_s=0.5)
        clock = FakeClock()
        fleet = PostgresRateBudget(pg_dsn, limits, timeout_s=5, clock=clock)
        local = InProcessRateBudget(limits, clock)
        bindings, moves = set(), 0
        try:
            for i in range(200):
                clock.now += rng.uniform(0, 2)
                ask = limits.ask(rng.randint(1, 1_200))
                max_wait = rng.choice([0.0, 3.0, 30.0])
                sql, py = fleet._step(ask, max_wait), local._step(ask, max_wait)
                assert (sql.granted, sql.binding) == (py.granted, py.binding), i
                assert sql.wait_s == pytest.approx(py.wait_s, abs=1e-6), i
                assert sql.at == pytest.approx(py.at, abs=1e-6), i
                bindings.add(py.binding)
                sql_at, py_at = sql.at, py.at
                if sql.granted and rng.random() < 0.5:
                    # late by less than a cell (0.084 s: the same slot) or by up to 3 s
                    late = rng.choice([rng.uniform(0.001, 0.05), rng.uniform(0.1, 3.0)])
                    fleet._move_grant(ask, sql_at, sql_at + late)
                    local._move_grant(ask, py_at, py_at + late)
                    sql_at, py_at, moves = sql_at + late, py_at + late, moves + 1
                if sql.granted and rng.random() < 0.2:
                    fleet._refund(ask, sql_at)
                    local._refund(ask, py_at)
                if rng.random() < 0.05:
                    fleet.pause(20.0)
                    local.pause(20.0)
        finally:
            fleet.close()
        assert {"", "requests", "tokens", "pause"} <= bindings  # every path was taken
        assert moves >= 20
        with psycopg.connect(pg_dsn) as conn:
            row = conn.execute(
                "SELECT firsts, lasts, tokens, requests FROM rate_budget_windows"
            ).fetchone()
        assert row is not None
        flat = [x for slot in local._state.slots for x in slot]
        assert len(local._state.slots) >= 2
        assert [x for slot in zip(*row, strict=True) for x in slot] == pytest.approx(flat, abs=1e-6)

    def test_the_sql_window_move_is_window_move(self, pg_dsn: str) -> None:  # noqa: F811
        """sql/017's ``tubeq__window_move`` and ``shared.rate_budget.window.move`` on the same
        random slots: a grant moved within its cell, into a slot that began after it, into an
        empty cell, out of a slot it shared or had alone, or from a slot gone already."""
        rng = random.Random(17)
        window = Window(120.0, 1_000.0, 10.0)  # cells of 1 s
        with psycopg.connect(pg_dsn) as conn:
            for i in range(300):
                slots: list[Slot] = []
                for cell in sorted(rng.sample(range(40), rng.randint(0, 8))):
                    first = cell + rng.uniform(0, 0.9)
                    last = rng.uniform(first, cell + 0.99)
                    amounts = float(rng.randint(1, 900)), float(rng.randint(1, 3))
                    slots.append((first, last, *amounts))
                if slots and rng.random() < 0.8:
                    first, last, _, _ = rng.choice(slots)
                    at = rng.uniform(first, last)
                else:
                    at = rng.uniform(0, 40)
                to = at + rng.choice([rng.uniform(0, 0.5), rng.uniform(0, 8)])
                tokens = float(rng.randint(1, 300))
                columns = [[s[k] for s in slots] for k in range(4)]
                row = conn.execute(
                    "SELECT firsts, lasts, tokens, requests FROM tubeq__window_move("
                    "%s::float8[], %s::float8[], %s::float8[], %s::float8[], %s, %s, %s, %s)",
                    [*columns, at, to, tokens, window.cell_s],
                ).fetchone()
                assert row is not None
                sql = [x for slot in zip(*row, strict=True) for x in slot]
                py = [x for slot in move(slots, at, to, tokens, window) for x in slot]
                assert sql == pytest.approx(py, abs=1e-9), i

    def test_a_move_back_in_time_is_refused_and_changes_nothing(
        self,
        pg_dsn: str,  # noqa: F811
    ) -> None:
        clock = FakeClock()
        limits = Limits(10, 100, window_s=10)
        budget = PostgresRateBudget(pg_dsn, limits, timeout_s=5, clock=clock)
        try:
            budget.acquire(5, timeout_s=0)
            with pytest.raises(TubeqError, match="only ever moved later"):
                budget._move_grant(limits.ask(5), 1_000.0, 999.0)
            with psycopg.connect(pg_dsn) as conn:
                row = conn.execute("SELECT firsts, requests FROM rate_budget_windows").fetchone()
            assert row == ([1_000.0], [1.0])
        finally:
            budget.close()

    def test_two_machines_racing_never_exceed_the_budget(self, pg_dsn: str) -> None:  # noqa: F811
        import threading

        limits = Limits(requests=20, tokens=10**9, window_s=2.0)
        machines = [PostgresRateBudget(pg_dsn, limits) for _ in range(2)]
        granted: list[float] = []
        lock = threading.Lock()
        stop = time.monotonic() + 2.0

        def hammer(budget: PostgresRateBudget) -> None:
            while time.monotonic() < stop:
                budget.acquire(1, timeout_s=5)
                with lock:
                    granted.append(time.monotonic())

        threads = [threading.Thread(target=hammer, args=(m,)) for m in machines for _ in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=30)
        for m in machines:
            m.close()
        granted.sort()
        # paced: one every 0.1 s across both machines (times are taken after acquire returns)
        assert 19 <= len(granted) <= 27
        for i in range(len(granted) - 20):
            assert granted[i + 20] - granted[i] >= 2.0 - 0.05


class TestSupabaseRateBudget(RateBudgetContract):
    @pytest.fixture
    def stub(self, pg_dsn: str) -> Iterator[PostgrestStub]:  # noqa: F811
        with PostgrestStub(pg_dsn) as server:
            yield server

    @pytest.fixture
    def harness(self, stub: PostgrestStub) -> SupabaseHarness:
        return SupabaseHarness(stub)

    def test_each_step_is_one_rpc_with_the_service_key(self, stub: PostgrestStub) -> None:
        clock = FakeClock()
        budget = SupabaseRateBudget(stub.url, service_role_key(), Limits(10, 100), clock=clock)
        try:
            budget.acquire(7, timeout_s=0).refund()
            budget.pause(1.0)
        finally:
            budget.close()
        paths = [r.path.rsplit("/", 1)[1] for r in stub.requests]
        assert paths == ["tubeq_acquire_budget", "tubeq_refund_budget", "tubeq_pause_budget"]
        first = stub.requests[0]
        assert first.headers["apikey"] == service_role_key()
        assert first.body["payload"]["now"] == 1_000.0

    def test_a_late_call_is_moved_by_one_rpc(self, stub: PostgrestStub) -> None:
        clock = FakeClock()
        timer = SteppingTimer(clock)
        limits = Limits(2, 100, window_s=10, margin_s=0.5, burst_s=0)
        budget = SupabaseRateBudget(stub.url, service_role_key(), limits, clock=clock, timer=timer)
        try:
            budget.acquire(7, timeout_s=0)
            timer.oversleep_s = 0.3  # past half the margin
            budget.acquire(7, timeout_s=10).refund()
        finally:
            budget.close()
        paths = [r.path.rsplit("/", 1)[1] for r in stub.requests]
        assert paths == [
            "tubeq_acquire_budget",
            "tubeq_acquire_budget",
            "tubeq_move_budget",
            "tubeq_refund_budget",
        ]
        move, refund = stub.requests[2], stub.requests[3]
        assert move.headers["apikey"] == service_role_key()
        window = move.body["payload"]["window"]
        assert (window["at"], window["tokens"]) == (pytest.approx(1_005.25), 7)
        assert window["to"] == pytest.approx(1_005.55)
        assert refund.body["payload"]["window"]["at"] == pytest.approx(1_005.55)

    def test_a_move_that_fails_leaves_the_grant_where_it_was(self, stub: PostgrestStub) -> None:
        """The gateway answers the move with a 503: the call was granted and goes, counted at
        its grant's time; the failure is logged, not raised (the next acquire meets it)."""
        clock = FakeClock()
        timer = SteppingTimer(clock)
        limits = Limits(2, 100, window_s=10, margin_s=0.5, burst_s=0)
        budget = SupabaseRateBudget(stub.url, service_role_key(), limits, clock=clock, timer=timer)
        try:
            budget.acquire(1, timeout_s=0)
            timer.oversleep_s = 1.0
            stub.inject(Fault(), Fault(status=503, body={"message": "upstream connect error"}))
            with structlog.testing.capture_logs() as logs:
                late = budget.acquire(1, timeout_s=10)
            assert counted_at(late) == pytest.approx(1_005.25)
            [event] = [e for e in logs if e["event"] == "rate_budget.late_grant_not_moved"]
            assert event["log_level"] == "warning" and event["late_s"] == pytest.approx(1.0)
            assert event["error"].startswith("Supabase answered HTTP 503")
            timer.oversleep_s = 0.0
            budget.acquire(1, timeout_s=10)
            budget.acquire(1, timeout_s=10)  # a window after the grant's time: not moved
            assert clock.now == pytest.approx(1_015.75)
        finally:
            budget.close()

    def test_the_anon_key_cannot_touch_the_budget(self, stub: PostgrestStub) -> None:
        budget = SupabaseRateBudget(stub.url, anon_key(), Limits(10, 100))
        try:
            with pytest.raises(AccessDenied):
                budget.acquire(1, timeout_s=0)
            with pytest.raises(AccessDenied):
                budget._move_grant(Limits(10, 100).ask(1), 1_000.0, 1_001.0)
        finally:
            budget.close()
