"""The budget's rule and the part every backend shares: ``GcraBudget``.

Two rules, each doing what it is exact for:

- **pacing, GCRA**: requests keep one number, their *theoretical arrival time* (TAT): the
  moment by which every request granted so far is paid for at the steady rate of one per
  ``span / requests`` seconds, ``span`` being the window plus the safety margin plus the burst
  tolerance ``τ``:

      start = max(now, pause end, TAT - τ)        # the earliest pacing allows
      TAT   = max(TAT, start) + span / requests   # if granted

  so requests leave evenly spaced instead of a whole window's worth at its start (providers
  also enforce shorter-term limits), at one read and one write of a number.
- **the sliding window** (``window.py``): the provider counts requests and input tokens per
  sliding window, and GCRA is exact for equal costs only — calls of very different sizes
  (1 to 9 hour transcripts, up to a quarter of the token limit each) let a window hold its
  limit plus the last call, and every such call was a 429. So the grant's time is the
  earliest ``t >= start`` at which every window the call will be in stays within both
  limits, counting it (``window.earliest``): a window's worth of tokens, no more, packed.

Why each piece:

- **τ, the burst tolerance**: lets up to ``τ / interval + 1`` requests leave back to back
  after idle time; the steady rate is lowered by ``τ / span`` so that a burst followed by
  steady pacing keeps every window within the request limit (a leaky bucket of depth ``σ``
  and rate ``ρ`` lets ``σ + ρ·W`` into a window ``W``). Callers *reserve* their slot and
  sleep until it, so no slot is lost to jitter even with τ = 0.
- **the margin**: a grant is decided when reserved, before the request is built and sent;
  requests reach the server late by a varying few ms, and when the 61st request of a 60-per-
  minute quota arrives a few ms *less* late than the first, the server's window still holds
  60. Stretching the span, and the window the budget keeps, by ``margin_s`` (default 0.25 s,
  under 1 % of a minute) keeps them more than a window apart as the server sees them. It
  covers what the budget cannot see — building and sending the request, the network — and
  lateness up to ``Limits.late_after_s`` (half the margin) that it can.
- **the move**: what the budget can see is its caller waking from the wait later than the
  grant's time (CPU contention, a GC pause: tens of ms on a loaded machine, at times more
  than the margin). ``acquire`` measures it on the monotonic clock, and a call later than
  ``late_after_s`` is *moved*: the window counts it at its real time (``moved``), so the call
  R places after it, decided after that, is held until a window after the time the server
  will see. The TAT stays: pacing spaces the grants, the window keeps the limit exact. Grants
  decided before the move (more callers waiting on reservations than the quota has requests
  a window) cannot be moved back; a move costs one more write, on late calls only.
- **refund**: a call the server refused (429) did not count against its quota, so the
  caller gives the grant back (``Grant.refund``: the TAT moves back by its cost, the window
  forgets its tokens) instead of leaving quota unused for a window.
- **pause**: when the server says "retry in N s" anyway (another client on the project, a
  daily quota), nothing is granted for N s — exactly what it asked, a pause only extends.

``acquire`` waits up to ``timeout_s``; when the earliest slot is further away it reserves
nothing and raises ``RateLimited(retry_after=…)`` at once, so the queue retries the message
later instead of a worker sleeping on its lease. Deciding reads and writes one small state
(the TAT, the pause, a bounded number of window slots), whatever number of grants is live.
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from dataclasses import dataclass

from shared.adapter_settings import RateBudgetSettings
from shared.errors import ConfigError, RateLimited, TubeqError
from shared.logging import get_logger
from shared.rate_budget.timer import SystemTimer, Timer
from shared.rate_budget.window import Slot, Window, earliest, live, move, record, refund

#: Gemini's quotas are per minute.
DEFAULT_WINDOW_S = 60.0
#: How much longer than the window R requests are spread over (see "the margin" above):
#: request jitter is milliseconds; a quarter second costs 0.4 % of a minute's quota.
DEFAULT_MARGIN_S = 0.25
#: The burst tolerance τ: calls this far ahead of even pacing still go at once (at 120
#: requests a minute, two back to back), for 0.8 % of a minute's quota.
DEFAULT_BURST_S = 0.5
#: A call later than this share of the margin is moved (see ``Limits.late_after_s``).
LATE_SHARE_OF_MARGIN = 0.5
#: ...and never one less late than this: a sleep on an idle Linux machine overruns by tens
#: to hundreds of µs (timer slack, wake-up), which no server can tell from on time; with a
#: margin of 0 every wait would otherwise cost a write.
MIN_LATE_S = 0.001

_log = get_logger(__name__)

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

    @property
    def late_after_s(self) -> float:
        """How late (after its grant's time) a call may leave and still count where it was
        granted. The margin keeps the first and the (R+1)-th call of a window a window apart
        as long as the first is at most ``margin_s`` later than the other; half of it goes to
        the lateness ``acquire`` sees (its own wait overrunning), half stays for what it cannot
        see (building and sending the request, the network, the move's own write). Later
        than that, the grant is moved to the call's real time."""
        return max(self.margin_s * LATE_SHARE_OF_MARGIN, MIN_LATE_S)

    @property
    def window(self) -> Window:
        """The sliding window the tokens (and, exactly, the requests) are kept within: the
        provider's, stretched by the margin."""
        return Window(self.window_s + self.margin_s, float(self.tokens), float(self.requests))

    def ask(self, tokens: int) -> Ask:
        """What a call with ``tokens`` input tokens takes. A call bigger than the whole token
        limit counts as the whole limit: waiting longer would not help it."""
        return Ask(Cost(REQUESTS, self.interval_s, self.burst_s), float(min(tokens, self.tokens)))


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
class Ask:
    """What one call takes: a request, paced by GCRA (``pace``), and its input tokens."""

    pace: Cost
    tokens: float


@dataclass(frozen=True)
class Step:
    """What a backend decided: granted (after ``wait_s``, at ``at`` on the backend's clock) or
    not (room in ``wait_s``), and which limit (or the pause) set the time."""

    granted: bool
    wait_s: float
    binding: str
    at: float = 0.0


@dataclass(frozen=True)
class State:
    """A budget's whole state: the requests' TAT, the end of a pause, the window's slots."""

    tat: float = 0.0
    paused_until: float = 0.0
    slots: tuple[Slot, ...] = ()


def budget_step(
    state: State, ask: Ask, window: Window, now: float, max_wait_s: float
) -> tuple[Step, State]:
    """The rule on plain numbers: the step and the new state (the same one when refused).

    The pacing (GCRA) and the pause give the earliest time; the window may hold the call
    back further (``window.earliest``). The request is paced from the time pacing allowed,
    not from the time the window chose, so a small call can still go in front of a big one
    that waits for room (the window keeps every limit exact either way)."""
    start, binding = now, ""
    if state.paused_until > start:
        start, binding = state.paused_until, PAUSE
    conforms_at = state.tat - ask.pace.tolerance_s
    if conforms_at > start:
        start, binding = conforms_at, REQUESTS
    slots = live(state.slots, now, window)
    at, held_by = earliest(slots, ask.tokens, start, window)
    binding = held_by or binding
    wait = at - now
    if wait > max_wait_s:
        return Step(False, wait, binding, at), state
    taken = State(
        max(state.tat, start) + ask.pace.cost_s,
        state.paused_until,
        tuple(record(slots, at, ask.tokens, window)),
    )
    return Step(True, wait, binding, at), taken


def moved(state: State, ask: Ask, at: float, to: float, window: Window) -> State:
    """``state`` with the grant made for ``at`` counted at ``to`` (its call left late, at
    ``to``). The TAT stays: pacing spaced the grants; where the server counts the call is
    the window's business."""
    return State(
        state.tat, state.paused_until, tuple(move(state.slots, at, to, ask.tokens, window))
    )


def refunded(state: State, ask: Ask, at: float, window: Window) -> State:
    """``state`` without a grant the server refused (it did not count against the quota)."""
    return State(
        state.tat - ask.pace.cost_s,
        state.paused_until,
        tuple(refund(state.slots, at, ask.tokens, window)),
    )


class Grant:
    """A granted call; ``refund()`` gives it back when the server refused the call (a 429
    is not counted against the quota). Refunding twice gives it back once. ``at`` is the
    time the budget counts the call at, on the backend's clock: the grant's time, or the
    time its call really left when it left late (``GcraBudget.acquire`` on waking,
    ``sending()`` when the request is handed to the network)."""

    def __init__(self, budget: GcraBudget, ask: Ask, at: float, due: float) -> None:
        self._budget = budget
        self.ask = ask
        self.at = at
        #: the monotonic instant the call is counted at (``at`` on the local clock)
        self._due = due
        self._lock = threading.Lock()
        self.refunded = False
        self._sent = False

    def sending(self) -> None:
        """The request is leaving now (called right before it is written to the network).
        Between waking and here lie building the request and, on a process's first call,
        the SDK's own cold start (lazy imports, the HTTP client): tens of ms, more on a
        busy machine, all of it invisible to ``acquire``. A call that leaves later than
        the budget tolerates is moved to where it leaves, once; a punctual one costs a
        clock read."""
        with self._lock:
            if self._sent or self.refunded:
                return
            self._sent = True
            late_s = self._budget._timer.monotonic() - self._due
            if late_s <= self._budget.limits.late_after_s:
                return
            self.at = self._budget._moved_late(self.ask, self.at, late_s)

    def refund(self) -> None:
        with self._lock:
            if self.refunded:
                return
            self.refunded = True
            at = self.at
        self._budget._refund(self.ask, at)


class GcraBudget(ABC):
    """``acquire`` / ``pause`` on GCRA; a backend stores the TATs and the pause and makes
    each step atomic."""

    def __init__(self, limits: Limits, timer: Timer | None = None) -> None:
        self.limits = limits
        self._timer: Timer = timer or SystemTimer()

    @abstractmethod
    def _step(self, ask: Ask, max_wait_s: float) -> Step:
        """Decide (and, if granted, record) one grant atomically: ``budget_step`` on the
        stored state, the new state written back in the same transaction."""

    @abstractmethod
    def _refund(self, ask: Ask, at: float) -> None:
        """Give back the grant made at ``at`` (``refunded``)."""

    @abstractmethod
    def _move_grant(self, ask: Ask, at: float, to: float) -> None:
        """Count the grant made for ``at`` at ``to`` instead (``moved``); only the window
        changes."""

    @abstractmethod
    def _pause_for(self, seconds: float) -> None:
        """Grant nothing for ``seconds`` from now; never shorten a pause already set."""

    @abstractmethod
    def close(self) -> None: ...

    def acquire(self, tokens: int, timeout_s: float) -> Grant:
        if tokens < 0:
            raise ValueError(f"tokens must be >= 0, got {tokens}")
        ask = self.limits.ask(tokens)
        step = self._step(ask, max(0.0, timeout_s))
        if not step.granted:
            raise self._too_late(step)
        # ``wait_s`` counts from the backend's reading of its clock, one reply ago: lateness
        # is measured from the reply on (``timer.py``), so the reply's own trip is in the
        # margin's share of what the budget cannot see
        reserved = self._timer.monotonic()
        if step.wait_s > 0:
            self._timer.sleep(step.wait_s)
        due = reserved + step.wait_s
        late_s = self._timer.monotonic() - due
        if late_s <= self.limits.late_after_s:
            return Grant(self, ask, step.at, due)
        return Grant(self, ask, self._moved_late(ask, step.at, late_s), due + late_s)

    def _moved_late(self, ask: Ask, at: float, late_s: float) -> float:
        """Move a grant whose call leaves ``late_s`` after ``at``; the time it now counts at.
        A move that fails leaves the grant where it was: the call was granted and goes, and
        the failure (a store that went away) meets the next ``acquire`` anyway."""
        to = at + late_s
        try:
            self._move_grant(ask, at, to)
        except TubeqError as exc:
            _log.warning(
                "rate_budget.late_grant_not_moved", late_s=round(late_s, 4), error=exc.message
            )
            return at
        _log.debug("rate_budget.late_grant_moved", late_s=round(late_s, 4))
        return to

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
