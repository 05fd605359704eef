"""The budget's sliding window (``shared.rate_budget.window``) against the provider's, as the
benchmark stub enforces it (``bench.quota_stub.SlidingWindowQuota``: a call is refused when,
counting it, the last ``W`` seconds hold more than the limit).

Calls of random sizes arrive at random times and take the budget's grant time; sent in the
order of those times (as they reach the server), the stub must refuse none of them — and a
backlog of calls as different as the benchmark's (1 to 9 hour transcripts) must still fill
the windows. Calls that leave late (their process woke late) reach the stub at their real
time: moved (``window.move``) when later than ``Limits.late_after_s``, the stub still refuses
none; not moved, it does."""

from __future__ import annotations

import heapq
import itertools
import math
import random

from hypothesis import given, settings
from hypothesis import strategies as st

from bench.quota_stub import SlidingWindowQuota
from shared.rate_budget import Ask, Cost, Limits, State, budget_step, moved, refunded
from shared.rate_budget.window import CELLS, Slot, Window, move


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _replay(grants: list[tuple[float, int]], limits: Limits) -> SlidingWindowQuota:
    """The grants sent in time order to the stub's window (the provider's, without margin)."""
    clock = FakeClock()
    stub = SlidingWindowQuota(limits.requests, limits.tokens, limits.window_s, clock)
    for at, tokens in sorted(grants):
        clock.now = at
        stub.admit(tokens)
    return stub


@settings(max_examples=300, deadline=None)
@given(
    requests=st.integers(1, 40),
    margin=st.sampled_from([0.001, 0.05]),  # the boundary itself is float rounding
    burst=st.sampled_from([0.0, 0.5]),
    calls=st.lists(
        st.tuples(
            st.integers(1, 1_000),  # tokens (the limit is 1,000: up to a whole window)
            st.floats(0.0, 6.0),  # seconds since the previous call asked
            st.booleans(),  # refused by the server after all (refunded)
        ),
        min_size=1,
        max_size=80,
    ),
)
def test_no_window_of_the_provider_ever_overflows(
    requests: int, margin: float, burst: float, calls: list[tuple[int, float, bool]]
) -> None:
    limits = Limits(requests, 1_000, window_s=10.0, margin_s=margin, burst_s=burst)
    state, now, sent = State(), 0.0, []
    for tokens, gap, refused in calls:
        now += gap
        ask = limits.ask(tokens)
        step, state = budget_step(state, ask, limits.window, now, max_wait_s=math.inf)
        assert step.granted and step.at >= now
        if refused:
            state = refunded(state, ask, step.at, limits.window)
        else:
            sent.append((step.at, tokens))
        # the state stays small: at most a slot per cell of the window and what is reserved
        assert len(state.slots) <= CELLS * 2 + len(calls)
    stub = _replay(sent, limits)
    assert stub.refused == []
    assert len(stub.accepted) == len(sent)


def _sizes(rng: random.Random) -> int:
    """A call of the benchmark's tokens-bound set: a 1-4 h talk, one in ten a 6-9 h stream,
    at ~15,000 tokens an hour, against a limit of 600,000 tokens a window."""
    hours = rng.uniform(6, 9) if rng.random() < 0.1 else rng.uniform(1, 4)
    return int(hours * 15_100) + 1_500


def test_a_backlog_of_calls_of_very_different_sizes_fills_the_windows() -> None:
    limits = Limits(1_000, 600_000, window_s=15.0, margin_s=0.0625, burst_s=0.125)
    rng = random.Random(14)
    state, sent = State(), []
    callers = [(0.0, k) for k in range(8)]  # 8 workers, each always with a call to make
    while callers:
        now, k = heapq.heappop(callers)
        if now > 300:
            continue
        tokens = _sizes(rng)
        step, state = budget_step(state, limits.ask(tokens), limits.window, now, math.inf)
        sent.append((step.at + rng.uniform(0, 0.003), tokens))  # sent a few ms late
        heapq.heappush(callers, (step.at + 0.5 + tokens / 100_000, k))  # the model answers
    stub = _replay(sent, limits)
    assert stub.refused == []
    first = min(at for at, _ in sent)
    windows = [0] * 18  # after the first window, as the benchmark counts
    for at, tokens in stub.accepted:
        index = math.floor((at - first) / 15.0) - 1
        if 0 <= index < len(windows):
            windows[index] += tokens
    use = sum(windows) / (len(windows) * 600_000)
    assert use >= 0.96, windows


# ---- calls that leave late -------------------------------------------------------------


def test_move_counts_a_grant_at_its_real_time() -> None:
    window = Window(120.0, 1_000.0, 10.0)  # cells of 1 s
    alone: list[Slot] = [(3.2, 3.2, 100.0, 1.0), (5.5, 5.5, 40.0, 1.0)]
    # alone in its slot: the slot goes, a new one begins at the real time, in order
    assert move(alone, 3.2, 4.1, 100.0, window) == [(4.1, 4.1, 100.0, 1.0), (5.5, 5.5, 40.0, 1.0)]
    # into the cell of another grant: merged, the slot now begins at the real time
    assert move(alone, 3.2, 5.3, 100.0, window) == [(5.3, 5.5, 140.0, 2.0)]
    # late within its own cell, alone there: its slot starts again at the real time
    assert move(alone, 3.2, 3.7, 100.0, window) == [(3.7, 3.7, 100.0, 1.0), (5.5, 5.5, 40.0, 1.0)]
    # out of a slot it shared: the slot keeps its span (never counts less), its amounts drop
    shared: list[Slot] = [(3.2, 3.6, 300.0, 3.0)]
    assert move(shared, 3.4, 9.0, 100.0, window) == [(3.2, 3.6, 200.0, 2.0), (9.0, 9.0, 100.0, 1.0)]
    # from a slot gone already (late by more than a window): counted at the real time once
    assert move([], 3.2, 130.0, 100.0, window) == [(130.0, 130.0, 100.0, 1.0)]


def test_moved_keeps_the_pace_and_the_pause() -> None:
    window = Window(10.0, 1_000.0, 2.0)
    ask = Ask(Cost("requests", 5.0, 0.0), 10.0)
    step, state = budget_step(State(paused_until=3.0), ask, window, 4.0, max_wait_s=0)
    late = moved(state, ask, step.at, step.at + 1.5, window)
    assert (late.tat, late.paused_until) == (state.tat, state.paused_until)
    assert late.slots == ((5.5, 5.5, 10.0, 1.0),)


Call = tuple[int, float, float]  # tokens, seconds the model takes to answer, lateness


def _late_callers(
    limits: Limits, callers: int, calls: list[Call], *, move_late: bool
) -> list[tuple[float, int]]:
    """``callers`` workers take ``calls`` in turn. Each asks when its last call has been
    answered, waits at most half a window for its grant (as a consumer waits on its lease),
    and sends its call ``lateness`` after the grant's time; a call later than
    ``late_after_s`` is moved as it leaves (with ``move_late``). Every event in time order;
    returns the (time sent, tokens) of every call."""
    max_wait = limits.window_s / 2
    state, todo, order = State(), iter(calls), itertools.count()
    events: list[tuple[float, int, Call | None, tuple[Ask, float] | None]] = []
    for _ in range(callers):
        heapq.heappush(events, (0.0, next(order), None, None))
    sent: list[tuple[float, int]] = []
    while events:
        now, _, call, granted = heapq.heappop(events)
        if granted is not None and call is not None:  # the call leaves
            ask, at = granted
            if move_late and now - at > limits.late_after_s:
                state = moved(state, ask, at, now, limits.window)
            sent.append((now, call[0]))
            heapq.heappush(events, (now + call[1], next(order), None, None))
            continue
        call = call or next(todo, None)
        if call is None:
            continue
        ask = limits.ask(call[0])
        step, state = budget_step(state, ask, limits.window, now, max_wait)
        if not step.granted:  # asks again when the slot is within its wait
            heapq.heappush(events, (step.at - max_wait / 2, next(order), call, None))
            continue
        heapq.heappush(events, (step.at + call[2], next(order), call, (ask, step.at)))
    return sent


_LATENESS = st.one_of(
    st.floats(0.0, 0.025),  # within half the margin: counted where granted
    st.floats(0.025, 2.5, exclude_min=True),  # later: moved (a loaded machine, a GC pause)
)


@settings(max_examples=200, deadline=None)
@given(
    requests=st.integers(2, 30),
    callers=st.integers(1, 8),
    burst=st.sampled_from([0.0, 0.5]),
    calls=st.lists(
        st.tuples(st.integers(1, 1_000), st.floats(0.0, 2.0), _LATENESS),
        min_size=1,
        max_size=80,
    ),
)
def test_calls_that_leave_late_never_overflow_a_window_of_the_provider(
    requests: int, callers: int, burst: float, calls: list[Call]
) -> None:
    limits = Limits(requests, 1_000, window_s=10.0, margin_s=0.05, burst_s=burst)
    assert limits.late_after_s == 0.025
    sent = _late_callers(limits, callers, calls, move_late=True)
    assert len(sent) == len(calls)
    stub = _replay(sent, limits)
    assert stub.refused == []


def test_without_the_move_a_late_call_is_refused_by_the_provider() -> None:
    """Issue 14 in small: 2 requests a 10 s window, two workers, the second call leaves a
    second late; the call two places after it then reaches the stub 9.05 s after it."""
    limits = Limits(2, 1_000, window_s=10.0, margin_s=0.05, burst_s=0.0)
    calls: list[Call] = [(1, 0.0, 0.0), (1, 0.0, 1.0), (1, 0.0, 0.0), (1, 0.0, 0.0)]
    unmoved = _replay(_late_callers(limits, 2, calls, move_late=False), limits)
    assert [round(at, 3) for at, _, _ in unmoved.refused] == [15.075]
    moved_sent = _late_callers(limits, 2, calls, move_late=True)
    assert [round(at, 3) for at, _ in moved_sent] == [0.0, 6.025, 10.05, 16.075]
    assert _replay(moved_sent, limits).refused == []
