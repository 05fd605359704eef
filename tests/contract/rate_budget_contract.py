"""The rate-budget contract: one suite every ``shared.ports.RateBudget`` keeps.

An adapter's test module subclasses ``RateBudgetContract`` and provides a ``harness``
fixture returning a ``RateBudgetHarness``: it builds budgets on a clock (a fake one the test
moves, or the real one) and declares whether two budgets it builds share one log (the
SQLite file: every consumer on a machine) or each keep their own (one process).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Protocol

import pytest

from shared.errors import RateLimited
from shared.ports import RateBudget
from shared.rate_budget import Limits

Clock = Callable[[], float]


class FakeClock:
    def __init__(self, now: float = 1_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class RateBudgetHarness(Protocol):
    #: whether two budgets from ``make`` spend one budget (several processes, one quota)
    shared_between_instances: bool

    def make(self, limits: Limits, clock: Clock = time.time) -> RateBudget:
        """A budget with these limits on ``clock``; with ``shared_between_instances`` every
        budget made by one harness spends the same log."""
        ...


class RateBudgetContract:
    """Subclass as ``Test<Adapter>`` and provide a ``harness`` fixture."""

    @pytest.fixture
    def make(self, harness: RateBudgetHarness) -> Iterator[Callable[..., RateBudget]]:
        opened: list[RateBudget] = []

        def build(limits: Limits, clock: Clock = time.time) -> RateBudget:
            budget = harness.make(limits, clock)
            opened.append(budget)
            return budget

        yield build
        for budget in opened:
            budget.close()

    def test_implements_the_port(self, make: Callable[..., RateBudget]) -> None:
        assert isinstance(make(Limits(1, 1)), RateBudget)

    def test_requests_per_window_are_enforced(self, make: Callable[..., RateBudget]) -> None:
        clock = FakeClock()
        budget = make(Limits(requests=3, tokens=10_000, window_s=60), clock)
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

    def test_tokens_per_window_are_enforced(self, make: Callable[..., RateBudget]) -> None:
        clock = FakeClock()
        budget = make(Limits(requests=100, tokens=1_000, window_s=60), clock)
        budget.acquire(700, timeout_s=0)
        clock.now += 10
        with pytest.raises(RateLimited, match="input tokens") as caught:
            budget.acquire(400, timeout_s=0)
        assert caught.value.retry_after == pytest.approx(50.0)
        budget.acquire(300, timeout_s=0)  # still fits beside the 700

    def test_a_refused_grant_reserves_nothing(self, make: Callable[..., RateBudget]) -> None:
        clock = FakeClock()
        budget = make(Limits(requests=1, tokens=1_000, window_s=60), clock)
        budget.acquire(1, timeout_s=0)
        for _ in range(5):
            with pytest.raises(RateLimited):
                budget.acquire(1, timeout_s=0)
        clock.now += 60.01
        budget.acquire(1, timeout_s=0)  # the refusals did not queue up behind it

    def test_a_pause_from_a_429_holds_every_grant_back(
        self, make: Callable[..., RateBudget]
    ) -> None:
        clock = FakeClock()
        budget = make(Limits(requests=100, tokens=10_000, window_s=60), clock)
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

    def test_acquire_waits_when_the_wait_fits_the_timeout(
        self, make: Callable[..., RateBudget]
    ) -> None:
        budget = make(Limits(requests=1, tokens=10, window_s=0.3))
        budget.acquire(1, timeout_s=0)
        started = time.monotonic()
        budget.acquire(1, timeout_s=2.0)
        assert 0.2 <= time.monotonic() - started < 1.5

    def test_acquire_waits_out_a_short_pause(self, make: Callable[..., RateBudget]) -> None:
        budget = make(Limits(requests=10, tokens=1_000, window_s=60))
        budget.pause(0.3)
        started = time.monotonic()
        budget.acquire(1, timeout_s=2.0)
        assert 0.2 <= time.monotonic() - started < 1.5

    def test_negative_tokens_are_refused(self, make: Callable[..., RateBudget]) -> None:
        with pytest.raises(ValueError, match="tokens"):
            make(Limits(1, 1)).acquire(-1, timeout_s=0)

    def test_budgets_share_grants_and_pauses_where_declared(
        self, harness: RateBudgetHarness, make: Callable[..., RateBudget]
    ) -> None:
        clock = FakeClock()
        limits = Limits(requests=2, tokens=1_000, window_s=60)
        one, two = make(limits, clock), make(limits, clock)
        one.acquire(1, timeout_s=0)
        two.acquire(1, timeout_s=0)
        if harness.shared_between_instances:
            with pytest.raises(RateLimited):
                one.acquire(1, timeout_s=0)
        else:
            one.acquire(1, timeout_s=0)  # each keeps its own window
        clock.now += 60.01
        one.pause(3600.0)  # e.g. a daily quota: hours, not a minute
        if harness.shared_between_instances:
            with pytest.raises(RateLimited) as caught:
                two.acquire(1, timeout_s=120)
            assert caught.value.retry_after == pytest.approx(3600.0)
        else:
            two.acquire(1, timeout_s=0)

    def test_close_twice_is_harmless(self, harness: RateBudgetHarness) -> None:
        budget = harness.make(Limits(1, 1))
        budget.close()
        budget.close()
