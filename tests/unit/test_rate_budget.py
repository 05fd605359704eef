"""The shared Gemini rate budget: the GCRA rule on plain numbers, its settings, and several
real processes (spawned) on one SQLite file.

What every budget must do is in ``tests/contract/rate_budget_contract.py``."""

from __future__ import annotations

import multiprocessing
import time
from pathlib import Path
from typing import Any

import pytest

from shared.errors import ConfigError, RateLimited
from shared.factory import build_rate_budget
from shared.rate_budget import (
    DEFAULT_BURST_S,
    DEFAULT_MARGIN_S,
    Ask,
    Cost,
    Grant,
    Limits,
    SqliteRateBudget,
    State,
    Window,
    budget_step,
)
from shared.settings import Settings


def test_requests_are_granted_at_the_theoretical_arrival_time_minus_the_tolerance() -> None:
    ask = Ask(Cost("requests", 10.0, 0.0), tokens=3.0)
    roomy = Window(60.0, tokens=1_000.0, requests=100.0)
    # nothing granted yet: now
    step, state = budget_step(State(), ask, roomy, 100.0, max_wait_s=0)
    assert (step.granted, step.wait_s, step.at, state.tat) == (True, 0.0, 100.0, 110.0)
    # paced: wait for the TAT, and it moves from there
    step, moved = budget_step(state, ask, roomy, 104.0, max_wait_s=10)
    assert (step.granted, step.wait_s, step.binding, moved.tat) == (True, 6.0, "requests", 120.0)
    # too far: refused, nothing moves
    step, same = budget_step(state, ask, roomy, 104.0, max_wait_s=5)
    assert (step.granted, step.wait_s) == (False, 6.0) and same is state
    # a tolerance lets a call run ahead by that much
    tolerant = Ask(Cost("requests", 10.0, 7.0), tokens=3.0)
    assert budget_step(state, tolerant, roomy, 104.0, max_wait_s=0)[0].granted
    # a pause beats everything else
    paused = State(state.tat, 200.0, state.slots)
    step, _ = budget_step(paused, ask, roomy, 104.0, max_wait_s=0)
    assert (step.wait_s, step.binding) == (96.0, "pause")


def test_the_window_holds_a_call_until_what_it_would_overfill_has_left() -> None:
    window = Window(60.0, tokens=1_000.0, requests=100.0)
    state = State()
    for now, tokens in [(0.0, 600.0), (10.0, 300.0)]:
        step, state = budget_step(state, Ask(Cost("requests", 0.0, 0.0), tokens), window, now, 0)
        assert step.granted
    # 200 more at 20 s: only once the 600 of t=0 have left (t = 60), whatever the pacing
    step, _ = budget_step(state, Ask(Cost("requests", 0.0, 0.0), 200.0), window, 20.0, 0)
    assert (step.granted, step.at, step.binding) == (False, 60.0, "tokens")
    # reserved for t = 60, it leaves room before it: a 100 still goes at once (backfill),
    # since every window it is in, the one ending at 60 included, stays within 1,000
    step, state = budget_step(state, Ask(Cost("requests", 0.0, 0.0), 200.0), window, 20.0, 60)
    assert step.at == 60.0
    step, state = budget_step(state, Ask(Cost("requests", 0.0, 0.0), 100.0), window, 20.0, 0)
    assert (step.granted, step.at) == (True, 20.0)
    # but not a 200: the window ending at 60 would hold 300 + 200 + 200 + ... too much
    step, _ = budget_step(state, Ask(Cost("requests", 0.0, 0.0), 200.0), window, 21.0, 0)
    assert not step.granted


def test_limits_pace_requests_over_window_plus_margin_plus_burst() -> None:
    lim = Limits(requests=60, tokens=1_000, window_s=60, margin_s=0.5, burst_s=1.5)
    assert lim.span_s == 62.0
    ask = lim.ask(250)
    assert (ask.pace.cost_s, ask.pace.tolerance_s, ask.tokens) == (pytest.approx(62 / 60), 1.5, 250)
    assert lim.ask(5_000).tokens == 1_000  # capped at the whole limit
    assert lim.window == Window(60.5, 1_000.0, 60.0)  # the margin widens the window kept
    assert Limits(1, 1).margin_s == DEFAULT_MARGIN_S and Limits(1, 1).burst_s == DEFAULT_BURST_S


def test_a_call_is_moved_when_later_than_half_the_margin() -> None:
    assert Limits(60, 1_000).late_after_s == DEFAULT_MARGIN_S / 2 == 0.125
    assert Limits(60, 1_000, window_s=15, margin_s=0.0625).late_after_s == 0.03125  # the bench
    # a margin of 0 still tolerates a sleep's normal overrun (µs) without a write per call
    assert Limits(60, 1_000, margin_s=0).late_after_s == 0.001


def test_limits_must_be_positive() -> None:
    with pytest.raises(ConfigError, match="TUBEQ_GEMINI_RPM"):
        Limits(requests=0, tokens=10)
    with pytest.raises(ConfigError, match="TUBEQ_RATE_BUDGET_MARGIN_S"):
        Limits(requests=1, tokens=10, margin_s=-1)


def test_default_budget_wait_rides_out_normal_contention() -> None:
    # a call should wait for a busy minute rather than bounce back to the queue
    settings = Settings()
    assert settings.gemini_budget_wait_s >= 60
    assert settings.gemini_budget_wait_s + settings.gemini_timeout_s < settings.visibility_timeout_s


def test_the_factory_builds_the_local_budget_in_the_data_dir(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, gemini_rpm=7, gemini_tpm=5000, rate_budget_window_s=2.5)
    budget = build_rate_budget(settings)
    assert isinstance(budget, SqliteRateBudget)
    assert budget.path == tmp_path / "budget.sqlite3"
    assert budget.limits == Limits(7, 5000, window_s=2.5)
    budget.close()


def test_the_factory_builds_the_fleet_budget_in_the_result_store(tmp_path: Path) -> None:
    from shared.adapters.postgres_budget import PostgresRateBudget
    from shared.adapters.supabase_budget import SupabaseRateBudget

    postgres = build_rate_budget(
        Settings(
            data_dir=tmp_path,
            rate_budget_backend="results",
            results_backend="postgres",
            database_url="host=127.0.0.1 port=1 dbname=x",
            rate_budget_window_s=5,
            rate_budget_margin_s=0,
        )
    )
    assert isinstance(postgres, PostgresRateBudget)  # connects on first use, not here
    assert postgres.limits.span_s == 5 + DEFAULT_BURST_S
    postgres.close()
    supabase = build_rate_budget(
        Settings(
            data_dir=tmp_path,
            rate_budget_backend="results",
            results_backend="supabase",
            supabase_url="http://127.0.0.1:1",
            supabase_service_role_key="key",
        )
    )
    assert isinstance(supabase, SupabaseRateBudget)
    supabase.close()


def test_a_fleet_budget_needs_a_shared_result_store(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, rate_budget_backend="results", results_backend="sqlite")
    with pytest.raises(ConfigError, match="TUBEQ_RATE_BUDGET_BACKEND"):
        build_rate_budget(settings)


def _hammer(
    path: str, n: int, run_s: float, window: float, ready: Any, start: Any, out: Any
) -> None:
    """One consumer process: past its imports, it waits for every other one (``ready``),
    then for the common start time the parent sets (``start``), and takes budget until
    ``run_s`` after it; its grant times go to ``out``."""
    budget = SqliteRateBudget(Path(path), Limits(n, 10**9, window, margin_s=0.0, burst_s=0.0))
    granted: list[float] = []
    ready.wait(120)
    while start.value == 0.0:
        time.sleep(0.005)
    time.sleep(max(0.0, start.value - time.time()))
    stop = start.value + run_s
    try:
        while time.time() < stop:
            try:
                grant = budget.acquire(1, timeout_s=max(0.0, stop - time.time()))
            except RateLimited:
                break
            # the time the budget counts the call at: its slot, or where it left when it left
            # late (a process descheduled past its slot is moved); never before it returns
            assert isinstance(grant, Grant) and grant.at <= time.time() + 0.001
            granted.append(grant.at)
    finally:
        budget.close()
        out.put(granted)


@pytest.mark.slow
def test_spawned_processes_share_one_paced_budget(tmp_path: Path) -> None:
    n, window, run_s, procs = 10, 1.0, 2.0, 3
    db = str(tmp_path / "budget.sqlite3")
    SqliteRateBudget(Path(db), Limits(n, 10**9)).close()  # the file exists before the race
    ctx = multiprocessing.get_context("spawn")
    # the race starts when every process is past its imports, however loaded the machine
    ready, start, out = ctx.Barrier(procs + 1), ctx.Value("d", 0.0), ctx.Queue()
    workers = [
        ctx.Process(target=_hammer, args=(db, n, run_s, window, ready, start, out))
        for _ in range(procs)
    ]
    for w in workers:
        w.start()
    ready.wait(120)
    start_at = time.time() + 0.3
    start.value = start_at
    results: list[list[float]] = [out.get(timeout=120) for _ in workers]
    for w in workers:
        w.join(30)
    grants = sorted(t for times in results for t in times)

    assert all(results), f"every process must have got budget: {results}"
    # paced: one every window / n across all processes, never the whole window at once
    assert n * run_s * 0.8 <= len(grants) <= n * run_s + 1
    slack = 0.001  # the counted times themselves: float rounding only
    for i in range(len(grants) - n):
        assert grants[i + n] - grants[i] >= window - slack
    first_half = [t for t in grants if t < start_at + window / 2]
    assert len(first_half) <= n / 2 + 1  # not a burst at the start of the window
