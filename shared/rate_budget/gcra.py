"""The budget's rule, GCRA, and the part every backend shares: ``GcraBudget``.

Each limit (requests, input tokens) keeps one number, its *theoretical arrival time* (TAT):
the moment by which everything granted so far is paid for at the limit's steady rate. A
grant costs ``span / limit`` seconds per request and per token, where ``span`` is the
window plus the safety margin plus the burst tolerance ``τ``; the rule for a grant is

    at   = max(now, pause end, TAT_l - τ for every limit l)     # the earliest it conforms
    TAT_l = max(TAT_l, at) + cost_l                             # for every limit, if granted

so calls leave evenly spaced (one request every ``span / requests`` seconds) instead of a
whole window's worth at its start, and deciding costs one read and one write of two numbers,
whatever number of grants is live. Why each piece:

- **τ, the burst tolerance**: lets up to ``τ / interval + 1`` requests leave back to back
  after idle time. The steady rate is lowered by ``τ / span`` so that even a burst followed
  by steady pacing keeps every window within the limit (a leaky bucket of depth ``σ`` and
  rate ``ρ`` lets ``σ + ρ·W`` into a window ``W``). Callers *reserve* their slot and sleep
  until it, so no slot is lost to jitter even with τ = 0; τ (default 0.5 s) lets a few calls
  go at once after idle time and each second of it costs ``τ / span`` of the quota.
- **the margin**: a grant is decided when reserved, before the request is built and sent;
  requests reach the server late by a varying few ms, and when the 61st request of a 60-per-
  minute quota arrives a few ms *less* late than the first, the server's window still holds
  60. Stretching the span by ``margin_s`` (default 0.5 s through the settings, under 1 % of
  a minute) keeps R consecutive requests more than a window apart as the server sees them.
- **tokens**: a request waits until the tokens granted before it are paid for, then pays its
  own. Requests of similar size keep every window within the limit exactly; one much bigger
  than those before it can overshoot a window by the difference (GCRA is exact for equal
  costs only) — the 429 path (refund, pause for what the server asked) covers that rare case.
- **refund**: a call the server refused (429) did not count against its quota, so the
  caller gives the grant back (``Grant.refund``: every TAT moves back by its cost) instead of
  leaving quota unused for a window.
- **pause**: when the server says "retry in N s" anyway (another client on the project, a
  daily quota), nothing is granted for N s — exactly what it asked, a pause only extends.

``acquire`` waits up to ``timeout_s``; when the earliest slot is further away it reserves
nothing and raises ``RateLimited(retry_after=…)`` at once, so the queue retries the message
later instead of a worker sleeping on its lease. Reservations are first come, first served
across processes: a waiter is never starved by a busier neighbour.
"""

from __future__ import annotations

import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from shared.adapter_settings import RateBudgetSettings
from shared.errors import ConfigError, RateLimited

#: Gemini's quotas are per minute.
DEFAULT_WINDOW_S = 60.0
#: How much longer than the window R requests are spread over (see "the margin" above):
#: request jitter is milliseconds; a quarter second costs 0.4 % of a minute's quota.
DEFAULT_MARGIN_S = 0.25
#: The burst tolerance τ: calls this far ahead of even pacing still go at once (at 120
#: requests a minute, two back to back), for 0.8 % of a minute's quota.
DEFAULT_BURST_S = 0.5

REQUESTS = "requests"
TOKENS = "tokens"
PAUSE = "pause"


@dataclass(frozen=True)
class Limits:
    requests: int
    tokens: int
    window_s: float = DEFAULT_WINDOW_S
    #: stretches the span R requests are spread over (0: exactly the window)
    margin_s: float = DEFAULT_MARGIN_S
    #: the burst tolerance τ in seconds (0: strictly paced)
    burst_s: float = DEFAULT_BURST_S

    def __post_init__(self) -> None:
        if self.requests < 1 or self.tokens < 1 or self.window_s <= 0:
            raise ConfigError(
                f"rate budget limits must be positive (requests={self.requests}, "
                f"tokens={self.tokens}, window_s={self.window_s}); check TUBEQ_GEMINI_RPM, "
                "TUBEQ_GEMINI_TPM and TUBEQ_RATE_BUDGET_WINDOW_S"
            )
        if self.margin_s < 0 or self.burst_s < 0:
            raise ConfigError(
                f"rate budget margin and burst must be >= 0 (margin_s={self.margin_s}, "
                f"burst_s={self.burst_s}); check TUBEQ_RATE_BUDGET_MARGIN_S and _BURST_S"
            )

    @property
    def span_s(self) -> float:
        """The time one window's worth of requests is spread over."""
        return self.window_s + self.margin_s + self.burst_s

    @property
    def interval_s(self) -> float:
        """The emission interval: the spacing of paced requests."""
        return self.span_s / self.requests

    def costs(self, tokens: int) -> tuple[Cost, ...]:
        """What a call with ``tokens`` input tokens costs each limit. A call bigger than the
        whole token limit counts as the whole limit: waiting longer would not help it."""
        per_token = self.span_s / self.tokens
        return (
            Cost(REQUESTS, self.interval_s, self.burst_s),
            Cost(TOKENS, min(tokens, self.tokens) * per_token, self.burst_s),
        )


def limits_of(section: RateBudgetSettings) -> Limits:
    return Limits(
        requests=section.requests_per_minute,
        tokens=section.tokens_per_minute,
        window_s=section.window_s,
        margin_s=section.margin_s,
        burst_s=section.burst_s,
    )


@dataclass(frozen=True)
class Cost:
    """One limit's share of a grant, in seconds of that limit's time, and its tolerance."""

    limit: str
    cost_s: float
    tolerance_s: float


@dataclass(frozen=True)
class Step:
    """What a backend decided: granted (after ``wait_s``) or not (room in ``wait_s``), and
    which limit (or the pause) set the time."""

    granted: bool
    wait_s: float
    binding: str


def gcra_step(
    tats: Mapping[str, float],
    costs: Sequence[Cost],
    now: float,
    paused_until: float,
    max_wait_s: float,
) -> tuple[Step, dict[str, float]]:
    """The rule on plain numbers: the step and the new TAT of each limit (unchanged when
    refused). A limit missing from ``tats`` has never granted anything."""
    at, binding = now, ""
    if paused_until > at:
        at, binding = paused_until, PAUSE
    for cost in costs:
        conforms_at = tats.get(cost.limit, 0.0) - cost.tolerance_s
        if conforms_at > at:
            at, binding = conforms_at, cost.limit
    wait = at - now
    if wait > max_wait_s:
        return Step(False, wait, binding), dict(tats)
    moved = dict(tats)
    for cost in costs:
        moved[cost.limit] = max(tats.get(cost.limit, 0.0), at) + cost.cost_s
    return Step(True, wait, binding), moved


class Grant:
    """A granted call; ``refund()`` gives it back when the server refused the call (a 429
    is not counted against the quota). Refunding twice gives it back once."""

    def __init__(self, budget: GcraBudget, costs: tuple[Cost, ...]) -> None:
        self._budget = budget
        self.costs = costs
        self._lock = threading.Lock()
        self.refunded = False

    def refund(self) -> None:
        with self._lock:
            if self.refunded:
                return
            self.refunded = True
        self._budget._refund(self.costs)


class GcraBudget(ABC):
    """``acquire`` / ``pause`` on GCRA; a backend stores the TATs and the pause and makes
    each step atomic."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits

    @abstractmethod
    def _step(self, costs: tuple[Cost, ...], max_wait_s: float) -> Step:
        """Decide (and, if granted, record) one grant atomically: ``gcra_step`` on the
        stored state, the new TATs written back in the same transaction."""

    @abstractmethod
    def _refund(self, costs: tuple[Cost, ...]) -> None:
        """Move each limit's TAT back by its cost."""

    @abstractmethod
    def _pause_for(self, seconds: float) -> None:
        """Grant nothing for ``seconds`` from now; never shorten a pause already set."""

    @abstractmethod
    def close(self) -> None: ...

    def acquire(self, tokens: int, timeout_s: float) -> Grant:
        if tokens < 0:
            raise ValueError(f"tokens must be >= 0, got {tokens}")
        costs = self.limits.costs(tokens)
        step = self._step(costs, max(0.0, timeout_s))
        if not step.granted:
            raise self._too_late(step)
        if step.wait_s > 0:
            time.sleep(step.wait_s)
        return Grant(self, costs)

    def pause(self, seconds: float) -> None:
        if seconds > 0:
            self._pause_for(seconds)

    def _too_late(self, step: Step) -> RateLimited:
        if step.binding == PAUSE:
            return RateLimited(
                f"Gemini asked every client to wait (HTTP 429); the shared budget is paused, "
                f"room again in {step.wait_s:.1f} s",
                retry_after=step.wait_s,
            )
        which = "input tokens" if step.binding == TOKENS else "requests"
        return RateLimited(
            f"Gemini rate budget exhausted on {which} ({self.limits.requests} requests, "
            f"{self.limits.tokens} input tokens per {self.limits.window_s:g} s, paced); "
            f"room again in {step.wait_s:.1f} s",
            retry_after=step.wait_s,
        )


class InProcessRateBudget(GcraBudget):
    """GCRA for one process, behind a lock."""

    def __init__(self, limits: Limits, clock: Callable[[], float] = time.time) -> None:
        super().__init__(limits)
        self._clock = clock
        self._lock = threading.Lock()
        self._tats: dict[str, float] = {}
        self._paused_until = 0.0

    def _step(self, costs: tuple[Cost, ...], max_wait_s: float) -> Step:
        with self._lock:
            step, self._tats = gcra_step(
                self._tats, costs, self._clock(), self._paused_until, max_wait_s
            )
            return step

    def _refund(self, costs: tuple[Cost, ...]) -> None:
        with self._lock:
            for cost in costs:
                self._tats[cost.limit] = self._tats.get(cost.limit, 0.0) - cost.cost_s

    def _pause_for(self, seconds: float) -> None:
        with self._lock:
            self._paused_until = max(self._paused_until, self._clock() + seconds)

    def close(self) -> None:
        """Nothing to release: the state lives in this object."""
