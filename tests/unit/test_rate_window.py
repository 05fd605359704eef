"""The budget's sliding window (``shared.rate_budget.window``) against the provider's, as the
benchmark stub enforces it (``bench.quota_stub.SlidingWindowQuota``: a call is refused when,
counting it, the last ``W`` seconds hold more than the limit).

Calls of random sizes arrive at random times and take the budget's grant time; sent in the
order of those times (as they reach the server), the stub must refuse none of them — and a
backlog of calls as different as the benchmark's (1 to 9 hour transcripts) must still fill
the windows."""

from __future__ import annotations

import heapq
import math
import random

from hypothesis import given, settings
from hypothesis import strategies as st

from bench.quota_stub import SlidingWindowQuota
from shared.rate_budget import Limits, State, budget_step, refunded
from shared.rate_budget.window import CELLS


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
