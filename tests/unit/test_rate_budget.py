"""The shared Gemini rate budget: the sliding-window rule, both implementations, two processes."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from shared.errors import ConfigError, RateLimited
from shared.rate_budget import (
    InProcessRateBudget,
    Limits,
    RateBudget,
    SqliteRateBudget,
    budget_from_settings,
    wait_needed,
)
from shared.settings import Settings

ROOT = Path(__file__).resolve().parents[2]


class FakeClock:
    def __init__(self, now: float = 1_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_wait_needed_counts_requests_and_tokens() -> None:
    lim = Limits(requests=2, tokens=100, window_s=60)
    assert wait_needed([], 50, 0.0, lim) == 0.0
    assert wait_needed([(0.0, 10)], 50, 1.0, lim) == 0.0
    # request limit: the oldest grant must leave the window first
    assert wait_needed([(0.0, 10), (5.0, 10)], 1, 10.0, lim) == pytest.approx(50.0)
    # token limit: 60 + 50 > 100, so wait until the 60-token grant expires
    assert wait_needed([(2.0, 60)], 50, 10.0, lim) == pytest.approx(52.0)
    # grants older than the window do not count
    assert wait_needed([(0.0, 100), (1.0, 100)], 100, 61.5, lim) == 0.0
    # bigger than the whole limit: allowed once the window is empty, never before
    assert wait_needed([], 500, 0.0, lim) == 0.0
    assert wait_needed([(3.0, 1)], 500, 4.0, lim) == pytest.approx(59.0)


def test_limits_must_be_positive() -> None:
    with pytest.raises(ConfigError, match="TUBEQ_GEMINI_RPM"):
        Limits(requests=0, tokens=10)


AnyBudget = InProcessRateBudget | SqliteRateBudget
BudgetFactory = Callable[[Limits, FakeClock], AnyBudget]


@pytest.fixture(params=["memory", "sqlite"])
def make_budget(request: pytest.FixtureRequest, tmp_path: Path) -> BudgetFactory:
    def build(limits: Limits, clock: FakeClock) -> AnyBudget:
        if request.param == "memory":
            return InProcessRateBudget(limits, clock)
        return SqliteRateBudget(tmp_path / "budget.sqlite3", limits, clock)

    return build


def test_requests_per_window_are_enforced(make_budget: BudgetFactory) -> None:
    clock = FakeClock()
    budget = make_budget(Limits(requests=3, tokens=10_000, window_s=60), clock)
    assert isinstance(budget, RateBudget)
    for _ in range(3):
        budget.acquire(10, timeout_s=0)
    with pytest.raises(RateLimited) as caught:
        budget.acquire(10, timeout_s=0)
    assert caught.value.retry_after == pytest.approx(60.0)
    clock.now += 30
    with pytest.raises(RateLimited) as caught:
        budget.acquire(10, timeout_s=0)
    assert caught.value.retry_after == pytest.approx(30.0)
    clock.now += 30.01
    budget.acquire(10, timeout_s=0)  # the first three have left the window


def test_tokens_per_window_are_enforced(make_budget: BudgetFactory) -> None:
    clock = FakeClock()
    budget = make_budget(Limits(requests=100, tokens=1_000, window_s=60), clock)
    budget.acquire(700, timeout_s=0)
    clock.now += 10
    with pytest.raises(RateLimited, match="input tokens") as caught:
        budget.acquire(400, timeout_s=0)
    assert caught.value.retry_after == pytest.approx(50.0)
    budget.acquire(300, timeout_s=0)  # still fits beside the 700


def test_a_pause_from_a_429_holds_every_grant_back(make_budget: BudgetFactory) -> None:
    clock = FakeClock()
    budget = make_budget(Limits(requests=100, tokens=10_000, window_s=60), clock)
    budget.acquire(10, timeout_s=0)
    budget.pause(17.0)
    with pytest.raises(RateLimited, match="paused") as caught:
        budget.acquire(10, timeout_s=5)
    assert caught.value.retry_after == pytest.approx(17.0)
    # a shorter pause never shortens the one already set
    budget.pause(3.0)
    clock.now += 10
    with pytest.raises(RateLimited) as again:
        budget.acquire(10, timeout_s=0)
    assert again.value.retry_after == pytest.approx(7.0)
    clock.now += 7.01
    budget.acquire(10, timeout_s=0)  # the pause is over; the window had room all along


def test_a_pause_is_shared_between_processes_sqlite_instances(tmp_path: Path) -> None:
    clock = FakeClock()
    limits = Limits(requests=100, tokens=10_000, window_s=60)
    one = SqliteRateBudget(tmp_path / "b.sqlite3", limits, clock)
    two = SqliteRateBudget(tmp_path / "b.sqlite3", limits, clock)
    try:
        one.pause(3600.0)  # e.g. a daily quota: hours, not a minute
        with pytest.raises(RateLimited) as caught:
            two.acquire(1, timeout_s=120)
        assert caught.value.retry_after == pytest.approx(3600.0)
    finally:
        one.close()
        two.close()


def test_acquire_waits_out_a_short_pause() -> None:
    budget = InProcessRateBudget(Limits(requests=10, tokens=1_000, window_s=60))
    budget.pause(0.3)
    started = time.monotonic()
    budget.acquire(1, timeout_s=2.0)
    assert 0.2 <= time.monotonic() - started < 1.5


def test_default_budget_wait_rides_out_normal_contention() -> None:
    # a call should wait for a busy minute rather than bounce back to the queue
    settings = Settings()
    assert settings.gemini_budget_wait_s >= 60
    assert settings.gemini_budget_wait_s + settings.gemini_timeout_s < settings.visibility_timeout_s


def test_acquire_waits_when_the_wait_fits_the_timeout() -> None:
    budget = InProcessRateBudget(Limits(requests=1, tokens=10, window_s=0.3))
    budget.acquire(1, timeout_s=0)
    started = time.monotonic()
    budget.acquire(1, timeout_s=2.0)
    waited = time.monotonic() - started
    assert 0.2 <= waited < 1.5


def test_negative_tokens_are_refused() -> None:
    with pytest.raises(ValueError, match="tokens"):
        InProcessRateBudget(Limits(1, 1)).acquire(-1, timeout_s=0)


def test_sqlite_budget_is_shared_between_instances(tmp_path: Path) -> None:
    clock = FakeClock()
    limits = Limits(requests=2, tokens=1_000, window_s=60)
    one = SqliteRateBudget(tmp_path / "b.sqlite3", limits, clock)
    two = SqliteRateBudget(tmp_path / "b.sqlite3", limits, clock)
    one.acquire(1, timeout_s=0)
    two.acquire(1, timeout_s=0)
    with pytest.raises(RateLimited):
        one.acquire(1, timeout_s=0)
    one.close()
    two.close()


def test_budget_from_settings_uses_the_data_dir(tmp_path: Path) -> None:
    budget = budget_from_settings(Settings(data_dir=tmp_path, gemini_rpm=7, gemini_tpm=5000))
    assert isinstance(budget, SqliteRateBudget)
    assert budget.path == tmp_path / "budget.sqlite3"
    assert budget.limits == Limits(7, 5000)
    budget.close()


_WORKER = textwrap.dedent(
    """
    import json, sys, time
    from pathlib import Path
    from shared.errors import RateLimited
    from shared.rate_budget import Limits, SqliteRateBudget

    path, out, start_at, run_s, n, window = sys.argv[1:]
    budget = SqliteRateBudget(Path(path), Limits(int(n), 10**9, float(window)))
    granted, limited = [], None
    ready = time.time()
    time.sleep(max(0.0, float(start_at) - time.time()))
    stop = float(start_at) + float(run_s)
    while time.time() < stop:
        try:
            budget.acquire(1, timeout_s=max(0.0, stop - time.time()))
        except RateLimited as exc:
            limited = exc.retry_after
            break
        granted.append(time.time())
    Path(out).write_text(json.dumps({"granted": granted, "ready": ready, "limited": limited}))
    """
)


@pytest.mark.slow
def test_two_processes_hammering_never_exceed_the_budget(tmp_path: Path) -> None:
    n, window, run_s = 4, 1.0, 2.2
    db = tmp_path / "budget.sqlite3"
    start_at = time.time() + 1.5  # both are past their imports by then
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-c",
                _WORKER,
                str(db),
                str(tmp_path / f"out{i}.json"),
                str(start_at),
                str(run_s),
                str(n),
                str(window),
            ],
            cwd=ROOT,
        )
        for i in range(2)
    ]
    for p in procs:
        assert p.wait(timeout=30) == 0
    reports = [json.loads((tmp_path / f"out{i}.json").read_text()) for i in range(2)]
    per_process = [r["granted"] for r in reports]
    grants = sorted(t for times in per_process for t in times)

    assert all(per_process), f"both processes must have got budget: {reports}, start {start_at}"
    # without the shared budget two tight loops would take thousands of grants
    assert n * 2 <= len(grants) <= n * (int(run_s / window) + 1)
    # times are taken just after acquire returns, so allow a little slack on the window
    slack = 0.05
    for i, t in enumerate(grants):
        in_window = [g for g in grants[i:] if g < t + window - slack]
        assert len(in_window) <= n, f"{len(in_window)} grants within {window}s from {t}"
