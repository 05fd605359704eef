"""The rate-budget contract: one suite every ``shared.ports.RateBudget`` keeps.

An adapter's test module subclasses ``RateBudgetContract`` and provides a ``harness``
fixture returning a ``RateBudgetHarness``: it builds budgets on a clock (a fake one the test
moves, or the real one), declares whether two budgets it builds spend one budget (the SQLite
file: every consumer on a machine; the result database: every machine of a fleet) or each
keep their own (one process), and, where it can, counts the statements a budget sends.

Most tests run on a fake clock with ``timeout_s=0``: ``acquire`` then either grants at once
or raises ``RateLimited`` with the wait, and the test moves the clock by that wait. Tests of
calls that leave late give the budget a ``SteppingTimer`` as well: ``acquire``'s wait moves
the fake clock by what it asked, plus how late the test makes it wake.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Iterator
from typing import Protocol

import pytest

from shared.errors import RateLimited
from shared.ports import BudgetGrant, RateBudget
from shared.rate_budget import Grant, Limits, Timer

Clock = Callable[[], float]
BIG = 10**9


class FakeClock:
    def __init__(self, now: float = 1_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class SteppingTimer:
    """``acquire``'s own timer on a ``FakeClock``: a wait moves the clock by what was asked
    plus ``oversleep_s`` (a process that wakes late), and the monotonic clock is the fake
    one, so a test sets how late a call leaves and asserts on times, not on durations."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.oversleep_s = 0.0

    def monotonic(self) -> float:
        return self.clock.now

    def sleep(self, seconds: float) -> None:
        self.clock.now += seconds + self.oversleep_s


class RateBudgetHarness(Protocol):
    #: whether two budgets from ``make`` spend one budget (several processes, one quota)
    shared_between_instances: bool

    def make(
        self, limits: Limits, clock: Clock = time.time, timer: Timer | None = None
    ) -> RateBudget:
        """A budget with these limits on ``clock`` (and ``timer`` for its own waits: None,
        the real one); with ``shared_between_instances`` every budget made by one harness
        spends the same state."""
        ...

    def statement_counter(self, budget: RateBudget) -> Callable[[], int] | None:
        """A function giving the number of statements (or round trips) ``budget`` has sent
        to its store so far, or None where there is no store (in-process)."""
        ...


def exact(
    requests: int,
    tokens: int,
    window_s: float = 60.0,
    margin_s: float = 0.0,
    burst_s: float = 0.0,
) -> Limits:
    """Limits without the default margin and burst tolerance, so the numbers come out round."""
    return Limits(requests, tokens, window_s, margin_s=margin_s, burst_s=burst_s)


def saturate(budget: RateBudget, clock: FakeClock, until: float, tokens: int = 1) -> list[float]:
    """Callers that always want more: take every grant the budget gives until ``until``,
    waiting exactly as long as each refusal says. Returns the grant times."""
    granted: list[float] = []
    while clock.now < until:
        try:
            budget.acquire(tokens, timeout_s=0)
        except RateLimited as exc:
            assert exc.retry_after is not None and exc.retry_after > 0
            clock.now += exc.retry_after
            continue
        granted.append(clock.now)
    return granted


def most_in_a_window(times: list[float], window_s: float) -> int:
    return max(sum(1 for u in times if t <= u < t + window_s) for t in times)


def counted_at(grant: BudgetGrant) -> float:
    """The time the budget counts a grant at (every budget's grant is a ``Grant``)."""
    assert isinstance(grant, Grant)
    return grant.at


def late_limits() -> Limits:
    """2 requests per 10 s, margin 0.5 s: paced one every 5.25 s, a call is moved when it
    leaves more than 0.25 s after its grant's time."""
    limits = exact(requests=2, tokens=BIG, window_s=10, margin_s=0.5)
    assert limits.late_after_s == 0.25
    return limits


class RateBudgetContract:
    """Subclass as ``Test<Adapter>`` and provide a ``harness`` fixture."""

    @pytest.fixture
    def make(self, harness: RateBudgetHarness) -> Iterator[Callable[..., RateBudget]]:
        opened: list[RateBudget] = []

        def build(
            limits: Limits, clock: Clock = time.time, timer: Timer | None = None
        ) -> RateBudget:
            budget = harness.make(limits, clock, timer)
            opened.append(budget)
            return budget

        yield build
        for budget in opened:
            budget.close()

    def test_implements_the_port(self, make: Callable[..., RateBudget]) -> None:
        budget = make(exact(1, 1))
        assert isinstance(budget, RateBudget)
        assert isinstance(budget.acquire(0, timeout_s=0), BudgetGrant)

    # ---- pacing ------------------------------------------------------------------------

    def test_requests_are_paced_through_the_window(self, make: Callable[..., RateBudget]) -> None:
        clock = FakeClock()
        budget = make(exact(requests=3, tokens=BIG, window_s=60), clock)
        budget.acquire(10, timeout_s=0)
        # not three at once and then nothing: one every window / limit
        with pytest.raises(RateLimited, match="requests") as caught:
            budget.acquire(10, timeout_s=0)
        assert caught.value.retry_after == pytest.approx(20.0)
        clock.now += 19.9
        with pytest.raises(RateLimited):
            budget.acquire(10, timeout_s=0)
        clock.now += 0.1
        budget.acquire(10, timeout_s=0)

    def test_no_burst_beyond_the_tolerance(self, make: Callable[..., RateBudget]) -> None:
        clock = FakeClock()
        # span 60 + 20 = 80 s for 6 requests: one every 13.3 s, 20 s of tolerance → 2 at once
        budget = make(exact(requests=6, tokens=BIG, window_s=60, burst_s=20), clock)
        budget.acquire(1, timeout_s=0)
        budget.acquire(1, timeout_s=0)
        with pytest.raises(RateLimited) as caught:
            budget.acquire(1, timeout_s=0)
        assert caught.value.retry_after == pytest.approx(80 / 6 * 2 - 20)

    @pytest.mark.parametrize("burst_s", [0.0, 15.0])
    def test_a_saturated_budget_keeps_every_window_within_the_limit(
        self, make: Callable[..., RateBudget], burst_s: float
    ) -> None:
        clock = FakeClock()
        limits = exact(requests=10, tokens=BIG, window_s=60, margin_s=0.5, burst_s=burst_s)
        granted = saturate(make(limits, clock), clock, until=clock.now + 600)
        assert most_in_a_window(granted, 60.0) <= 10
        # and the quota is used: all but the margin and the tolerance
        assert len(granted) >= 600 / limits.span_s * 10
        gaps = [b - a for a, b in itertools.pairwise(granted)]
        if burst_s == 0:
            assert min(gaps) == pytest.approx(limits.interval_s)  # evenly spaced

    def test_the_margin_spreads_a_window_of_requests_a_little_wider(
        self, make: Callable[..., RateBudget]
    ) -> None:
        clock = FakeClock()
        budget = make(exact(requests=2, tokens=BIG, window_s=10, margin_s=0.5), clock)
        budget.acquire(1, timeout_s=0)
        with pytest.raises(RateLimited) as caught:
            budget.acquire(1, timeout_s=0)
        assert caught.value.retry_after == pytest.approx(5.25)
        clock.now += 5.25
        budget.acquire(1, timeout_s=0)
        # two requests a window apart as the server sees them, plus the margin
        with pytest.raises(RateLimited) as again:
            budget.acquire(1, timeout_s=0)
        assert again.value.retry_after == pytest.approx(5.25)

    def test_tokens_keep_a_sliding_window_counting_the_call(
        self, make: Callable[..., RateBudget]
    ) -> None:
        clock = FakeClock()
        budget = make(exact(requests=BIG, tokens=1_000, window_s=60), clock)
        budget.acquire(500, timeout_s=1)
        clock.now += 10
        budget.acquire(400, timeout_s=1)  # 900 in the window: a window may fill at once
        clock.now += 10
        # 300 more would make 1,200: it waits until the 500 leave the window (t0 + 60)
        with pytest.raises(RateLimited, match="input tokens") as caught:
            budget.acquire(300, timeout_s=0)
        assert caught.value.retry_after == pytest.approx(40.0)
        budget.acquire(100, timeout_s=1)  # what still fits goes at once
        clock.now += 40
        budget.acquire(500, timeout_s=1)  # the first 500 have left: 400 + 100 + 500

    def test_calls_of_any_size_never_overfill_a_window(
        self, make: Callable[..., RateBudget]
    ) -> None:
        clock = FakeClock()
        budget = make(exact(requests=BIG, tokens=1_000, window_s=60), clock)
        granted: list[tuple[float, int]] = []
        for size in itertools.islice(itertools.cycle([90, 450, 30, 260, 700, 120]), 40):
            while True:
                try:
                    budget.acquire(size, timeout_s=1)
                except RateLimited as exc:
                    assert exc.retry_after is not None
                    clock.now += exc.retry_after
                    continue
                granted.append((clock.now, size))
                break
        for start, _ in granted:  # the window ending just before each grant leaves
            held = sum(n for at, n in granted if start <= at < start + 60)
            assert held <= 1_000
        span = granted[-1][0] - granted[0][0]
        assert sum(n for _, n in granted[:-1]) >= 0.85 * 1_000 * span / 60  # and it is used

    def test_a_call_bigger_than_the_token_limit_still_goes_through(
        self, make: Callable[..., RateBudget]
    ) -> None:
        clock = FakeClock()
        budget = make(exact(requests=100, tokens=1_000, window_s=60), clock)
        budget.acquire(5_000, timeout_s=0)  # counted as the whole limit, not five windows
        with pytest.raises(RateLimited) as caught:
            budget.acquire(1, timeout_s=0)
        assert caught.value.retry_after == pytest.approx(60.0)

    # ---- refusals, refunds, pauses -----------------------------------------------------

    def test_a_refused_grant_reserves_nothing(self, make: Callable[..., RateBudget]) -> None:
        clock = FakeClock()
        budget = make(exact(requests=1, tokens=1_000, window_s=60), clock)
        budget.acquire(1, timeout_s=0)
        for _ in range(5):
            with pytest.raises(RateLimited):
                budget.acquire(1, timeout_s=0)
        clock.now += 60
        budget.acquire(1, timeout_s=0)  # the refusals did not queue up behind it

    def test_a_refunded_grant_is_given_back_once(self, make: Callable[..., RateBudget]) -> None:
        clock = FakeClock()
        budget = make(exact(requests=1, tokens=1_000, window_s=60), clock)
        grant = budget.acquire(400, timeout_s=0)
        with pytest.raises(RateLimited):
            budget.acquire(1, timeout_s=0)
        grant.refund()  # the server answered 429: the call did not count
        again = budget.acquire(400, timeout_s=0)  # at once, not a window later
        grant.refund()  # a second refund of the same grant gives nothing back
        with pytest.raises(RateLimited) as caught:
            budget.acquire(1, timeout_s=0)
        assert caught.value.retry_after == pytest.approx(60.0)
        assert isinstance(again, BudgetGrant)

    def test_a_pause_lasts_as_long_as_the_server_asked(
        self, make: Callable[..., RateBudget]
    ) -> None:
        clock = FakeClock()
        budget = make(exact(requests=2, tokens=10_000, window_s=60), clock)
        grant = budget.acquire(10, timeout_s=0)
        # the call got a 429 with Retry-After: 2 — give it back and wait 2 s, not a window
        grant.refund()
        budget.pause(2.0)
        with pytest.raises(RateLimited, match="paused") as caught:
            budget.acquire(10, timeout_s=1)
        assert caught.value.retry_after == pytest.approx(2.0)
        budget.pause(0.5)  # a shorter pause never shortens the one already set
        clock.now += 1.5
        with pytest.raises(RateLimited) as again:
            budget.acquire(10, timeout_s=0)
        assert again.value.retry_after == pytest.approx(0.5)
        clock.now += 0.5
        budget.acquire(10, timeout_s=0)  # the pause is over; the budget had room all along

    def test_a_long_pause_holds_every_grant_back(self, make: Callable[..., RateBudget]) -> None:
        clock = FakeClock()
        budget = make(exact(requests=100, tokens=10_000, window_s=60), clock)
        budget.pause(3600.0)  # e.g. a daily quota: hours, not a minute
        with pytest.raises(RateLimited, match="paused") as caught:
            budget.acquire(10, timeout_s=120)
        assert caught.value.retry_after == pytest.approx(3600.0)

    def test_acquire_waits_when_the_wait_fits_the_timeout(
        self, make: Callable[..., RateBudget]
    ) -> None:
        budget = make(exact(requests=1, tokens=10, window_s=0.3))
        budget.acquire(1, timeout_s=0)
        started = time.monotonic()
        budget.acquire(1, timeout_s=2.0)
        assert 0.2 <= time.monotonic() - started < 1.5

    def test_acquire_waits_out_a_short_pause(self, make: Callable[..., RateBudget]) -> None:
        budget = make(exact(requests=10, tokens=1_000, window_s=60))
        budget.pause(0.3)
        started = time.monotonic()
        budget.acquire(1, timeout_s=2.0)
        assert 0.2 <= time.monotonic() - started < 1.5

    def test_negative_tokens_are_refused(self, make: Callable[..., RateBudget]) -> None:
        with pytest.raises(ValueError, match="tokens"):
            make(exact(1, 1)).acquire(-1, timeout_s=0)

    # ---- calls that leave late ---------------------------------------------------------

    def test_a_late_call_holds_back_the_call_a_window_after_it_from_its_real_time(
        self, harness: RateBudgetHarness, make: Callable[..., RateBudget]
    ) -> None:
        clock = FakeClock()
        timer = SteppingTimer(clock)
        budget = make(late_limits(), clock, timer)
        count = harness.statement_counter(budget)
        sent: list[int] = []

        def acquire(timeout_s: float) -> BudgetGrant:
            before = count() if count else 0
            grant = budget.acquire(1, timeout_s=timeout_s)
            sent.append(count() - before if count else 0)
            return grant

        assert counted_at(acquire(0)) == 1_000.0
        timer.oversleep_s = 1.0  # its process wakes a second late: the call leaves at 1006.25
        late = acquire(10)
        assert clock.now == pytest.approx(1_006.25)
        assert counted_at(late) == pytest.approx(1_006.25)  # counted where the server sees it
        timer.oversleep_s = 0.0
        acquire(10)  # paced to 1010.5, when the first has left the window
        assert clock.now == pytest.approx(1_010.5)
        # the call R = 2 places after the late one: a window (10.5 s) after 1006.25, where it
        # really left; without the move it would go at 1015.75 and reach the server 9.5 s
        # after the late call, inside its 10 s window
        fourth = acquire(10)
        assert clock.now == pytest.approx(1_016.75)
        assert counted_at(fourth) == pytest.approx(1_016.75)
        if count:  # the move is one more write of a step's size, on the late call only
            assert sent[1] == 2 * sent[0] and sent[2] == sent[3] == sent[0]

    def test_a_call_late_by_less_than_the_threshold_changes_nothing(
        self, harness: RateBudgetHarness, make: Callable[..., RateBudget]
    ) -> None:
        clock = FakeClock()
        timer = SteppingTimer(clock)
        budget = make(late_limits(), clock, timer)
        count = harness.statement_counter(budget)
        sent: list[int] = []
        granted: list[float] = []
        for oversleep in (0.0, 0.24, 0.0, 0.0):  # the second wakes 0.24 s late: under 0.25
            timer.oversleep_s = oversleep
            before = count() if count else 0
            grant = budget.acquire(1, timeout_s=10)
            sent.append(count() - before if count else 0)
            granted.append(counted_at(grant))
        assert granted == pytest.approx([1_000.0, 1_005.25, 1_010.5, 1_015.75])
        assert clock.now == pytest.approx(1_015.75)  # a window after its GRANTED time
        if count:
            assert sent[0] == sent[1] == sent[2] == sent[3]  # no extra write

    def test_a_call_that_leaves_late_after_waking_is_counted_where_it_is_sent(
        self, harness: RateBudgetHarness, make: Callable[..., RateBudget]
    ) -> None:
        # woke on time, then spent a second before its request left (the SDK's cold start,
        # a busy machine): ``sending()`` at that moment moves it, like a late wake-up
        clock = FakeClock()
        budget = make(late_limits(), clock, SteppingTimer(clock))
        count = harness.statement_counter(budget)
        budget.acquire(1, timeout_s=0)
        slow = budget.acquire(1, timeout_s=10)
        assert counted_at(slow) == pytest.approx(1_005.25)
        clock.now += 1.0
        before = count() if count else 0
        slow.sending()
        assert counted_at(slow) == pytest.approx(1_006.25)
        slow.sending()  # once: a second call (a retried request) moves nothing more
        assert counted_at(slow) == pytest.approx(1_006.25)
        if count:
            assert count() - before > 0  # the move reached the store
        budget.acquire(1, timeout_s=10)  # 1010.5: the first call has left the window
        fourth = budget.acquire(1, timeout_s=10)
        assert counted_at(fourth) == pytest.approx(1_016.75)  # a window after 1006.25

    def test_a_call_sent_on_time_costs_nothing_more(
        self, harness: RateBudgetHarness, make: Callable[..., RateBudget]
    ) -> None:
        clock = FakeClock()
        budget = make(late_limits(), clock, SteppingTimer(clock))
        count = harness.statement_counter(budget)
        budget.acquire(1, timeout_s=0)
        grant = budget.acquire(1, timeout_s=10)
        clock.now += 0.24  # under the 0.25 s threshold
        before = count() if count else 0
        grant.sending()
        assert counted_at(grant) == pytest.approx(1_005.25)
        if count:
            assert count() == before  # no write
        grant.refund()  # refunded after sending: from its slot, once
        assert counted_at(budget.acquire(1, timeout_s=0)) == pytest.approx(1_005.49)

    def test_a_moved_grant_refunded_is_given_back_once_from_its_new_slot(
        self, make: Callable[..., RateBudget]
    ) -> None:
        clock = FakeClock()
        timer = SteppingTimer(clock)
        budget = make(late_limits(), clock, timer)
        budget.acquire(1, timeout_s=0)
        timer.oversleep_s = 1.0
        late = budget.acquire(1, timeout_s=10)  # granted for 1005.25, moved to 1006.25
        timer.oversleep_s = 0.0
        late.refund()  # the server answered 429: the call did not count
        # forgotten where it was moved to: only the first is in the window, and pacing has
        # the slot back, so the next call goes at once (from the old slot, the moved grant
        # would still fill the window until 1010.5)
        again = budget.acquire(1, timeout_s=0)
        assert counted_at(again) == pytest.approx(1_006.25)
        late.refund()  # a second refund gives nothing back
        with pytest.raises(RateLimited) as caught:
            budget.acquire(1, timeout_s=0)
        assert caught.value.retry_after == pytest.approx(5.25)  # paced after `again`

    # ---- sharing and cost ---------------------------------------------------------------

    def test_budgets_share_grants_refunds_and_pauses_where_declared(
        self, harness: RateBudgetHarness, make: Callable[..., RateBudget]
    ) -> None:
        clock = FakeClock()
        limits = exact(requests=2, tokens=1_000, window_s=60)
        one, two = make(limits, clock), make(limits, clock)
        grant = one.acquire(1, timeout_s=0)
        shared = harness.shared_between_instances
        if shared:
            with pytest.raises(RateLimited):
                two.acquire(1, timeout_s=0)  # the other machine/process took the slot
            grant.refund()
            two.acquire(1, timeout_s=0)  # and its refund frees it for everyone
        else:
            two.acquire(1, timeout_s=0)  # each keeps its own budget
        clock.now += 60
        one.pause(3600.0)
        if shared:
            with pytest.raises(RateLimited) as caught:
                two.acquire(1, timeout_s=120)
            assert caught.value.retry_after == pytest.approx(3600.0)
        else:
            two.acquire(1, timeout_s=0)

    def test_acquire_costs_the_same_whatever_number_of_grants_is_live(
        self, harness: RateBudgetHarness, make: Callable[..., RateBudget]
    ) -> None:
        clock = FakeClock()
        # a punctual timer: a real nanosecond sleep on a loaded machine can overrun by more
        # than the 1 ms a margin of 0 tolerates, and a late call costs a move (tested above)
        budget = make(exact(requests=BIG, tokens=BIG, window_s=60), clock, SteppingTimer(clock))
        count = harness.statement_counter(budget)
        if count is None:
            pytest.skip("no store: nothing is sent")
        before = count()
        budget.acquire(1, timeout_s=0)
        first = count() - before
        for _ in range(500):
            budget.acquire(1, timeout_s=1)  # 500 live grants (each waits nanoseconds)
        before = count()
        budget.acquire(1, timeout_s=1)
        assert count() - before == first
        assert 1 <= first <= 5  # SQLite: BEGIN, read, two writes, COMMIT

    def test_close_twice_is_harmless(self, harness: RateBudgetHarness) -> None:
        budget = harness.make(exact(1, 1))
        budget.close()
        budget.close()
