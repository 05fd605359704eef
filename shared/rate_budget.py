"""A rate budget shared by every consumer that calls Gemini: requests AND input tokens per minute.

Gemini's quota is per project, not per process, so several consumers must spend one budget
together instead of each discovering the limit through 429s. The rule is a sliding-window log:
every grant is recorded with its time and token count, and no window of ``window_s`` seconds
may hold more than ``requests`` grants or ``tokens`` input tokens. Unlike a fixed window it
never allows a burst of 2x at a window edge; the log holds at most ``requests`` live rows.

Grants are *reservations*: a caller computes the earliest time its grant fits (never before
the latest grant already reserved), records it at that time, and sleeps until then. That makes
the budget first-come-first-served across processes (a waiter cannot be starved by a busier
neighbour winning every race for a freed slot) and costs one short transaction per call.
Because reserved times never go backwards, checking the one window that ends at the new grant
is enough to keep every window within the limits.

Two implementations of the ``shared.ports.RateBudget`` port share that rule:

- ``SqliteRateBudget``: a table in a SQLite file, each reservation inside ``BEGIN IMMEDIATE``
  (one writer at a time), so processes on one machine share it. Default file
  ``<data_dir>/budget.sqlite3``. Processes on several machines need a budget per machine
  (split the quota) or a networked one.
- ``InProcessRateBudget``: the same rule behind a lock, for one process (tests, single runs).

``acquire`` waits up to ``timeout_s``; if the earliest slot is later than that it reserves
nothing and raises ``RateLimited(retry_after=…)`` at once, so the queue retries the message
later instead of a worker sleeping on its lease. A process that dies after reserving wastes
that slot: the budget errs on the safe side. The wait is spent holding the message's lease,
so ``TUBEQ_GEMINI_BUDGET_WAIT_S`` plus the call timeout must stay well under the visibility
timeout (the defaults: 120 s + 120 s against 600 s); too short a wait, on the other hand,
turns ordinary contention between workers into retries.

The budget is only our estimate of Gemini's quota. When Gemini answers 429 anyway (another
client on the same project, a daily quota, a smaller tier than configured), the analyzer calls
``pause(retry_after)``: nobody on this budget is granted anything before then, so the other
workers wait (or go back to the queue) instead of each walking into the same 429.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Self

from shared.adapter_settings import RateBudgetSettings
from shared.errors import ConfigError, RateLimited
from shared.ports import RateBudget
from shared.sqlite_wal import enable_wal

__all__ = ["InProcessRateBudget", "Limits", "RateBudget", "SqliteRateBudget", "wait_needed"]

#: Gemini's quotas are per minute.
DEFAULT_WINDOW_S = 60.0


@dataclass(frozen=True)
class Limits:
    requests: int
    tokens: int
    window_s: float = DEFAULT_WINDOW_S

    def __post_init__(self) -> None:
        if self.requests < 1 or self.tokens < 1 or self.window_s <= 0:
            raise ConfigError(
                f"rate budget limits must be positive (requests={self.requests}, "
                f"tokens={self.tokens}, window_s={self.window_s}); check TUBEQ_GEMINI_RPM "
                "and TUBEQ_GEMINI_TPM"
            )


def wait_needed(grants: Iterable[tuple[float, int]], tokens: int, now: float, lim: Limits) -> float:
    """Seconds until a grant of ``tokens`` fits, given the live grants (time, tokens) sorted
    oldest first; 0.0 means it fits now.

    A request bigger than the whole token limit can never fit beside others; it is let through
    once the window is empty, because waiting longer would not help (Gemini may still refuse it).
    """
    live = [(at, n) for at, n in grants if at > now - lim.window_s]
    if not live:
        return 0.0
    used = sum(n for _, n in live)
    wait = 0.0
    if len(live) + 1 > lim.requests:
        # the grant that must expire for a request slot to open
        at = live[len(live) - lim.requests][0]
        wait = max(wait, at + lim.window_s - now)
    excess = used + min(tokens, lim.tokens) - lim.tokens
    if excess > 0:
        freed = 0
        for at, n in live:
            freed += n
            if freed >= excess:
                wait = max(wait, at + lim.window_s - now)
                break
    return wait


class _WindowBudget:
    """Reserve-then-sleep, shared by both implementations; subclasses store the log."""

    def __init__(self, limits: Limits, clock: Callable[[], float] = time.time) -> None:
        self.limits = limits
        self._clock = clock

    def _reserve(self, tokens: int, max_wait_s: float) -> float:
        """Record a grant at the earliest time it fits and return the delay until then, or
        raise ``RateLimited`` (recording nothing) when that is more than ``max_wait_s`` away."""
        raise NotImplementedError

    def _set_pause(self, until: float) -> None:
        raise NotImplementedError

    def _slot(
        self,
        grants: Sequence[tuple[float, int]],
        tokens: int,
        now: float,
        paused_until: float = 0.0,
    ) -> float:
        """The earliest time a grant fits, given the live grants sorted by time and the
        pause the server asked for."""
        start = max(now, paused_until, grants[-1][0] if grants else now)
        return start + wait_needed(grants, tokens, start, self.limits)

    def _too_late(self, delay: float, paused: bool) -> RateLimited:
        if paused:
            return RateLimited(
                f"Gemini asked every client to wait (HTTP 429); the shared budget is paused, "
                f"room again in {delay:.1f} s",
                retry_after=delay,
            )
        return RateLimited(
            f"Gemini rate budget exhausted ({self.limits.requests} requests, "
            f"{self.limits.tokens} input tokens per {self.limits.window_s:g} s); "
            f"room again in {delay:.1f} s",
            retry_after=delay,
        )

    def pause(self, seconds: float) -> None:
        if seconds > 0:
            self._set_pause(self._clock() + seconds)

    def acquire(self, tokens: int, timeout_s: float) -> None:
        if tokens < 0:
            raise ValueError(f"tokens must be >= 0, got {tokens}")
        delay = self._reserve(tokens, max(0.0, timeout_s))
        if delay > 0:
            time.sleep(delay)


class InProcessRateBudget(_WindowBudget):
    """The sliding window for one process, behind a lock."""

    def __init__(self, limits: Limits, clock: Callable[[], float] = time.time) -> None:
        super().__init__(limits, clock)
        self._lock = threading.Lock()
        self._grants: deque[tuple[float, int]] = deque()
        self._paused_until = 0.0

    def _set_pause(self, until: float) -> None:
        with self._lock:
            self._paused_until = max(self._paused_until, until)

    def _reserve(self, tokens: int, max_wait_s: float) -> float:
        with self._lock:
            now = self._clock()
            while self._grants and self._grants[0][0] <= now - self.limits.window_s:
                self._grants.popleft()
            at = self._slot(list(self._grants), tokens, now, self._paused_until)
            if at - now > max_wait_s:
                raise self._too_late(at - now, paused=self._paused_until > now)
            self._grants.append((at, tokens))
            return at - now

    def close(self) -> None:
        """Nothing to release: the log lives in this object."""


_SCHEMA = """
CREATE TABLE IF NOT EXISTS budget_grants (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at REAL NOT NULL,
    tokens INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS budget_grants_at ON budget_grants (at);
CREATE TABLE IF NOT EXISTS budget_pause (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    until REAL NOT NULL
);
"""


class SqliteRateBudget(_WindowBudget):
    """The sliding window in a SQLite file shared by every process on this machine."""

    def __init__(self, path: Path, limits: Limits, clock: Callable[[], float] = time.time) -> None:
        super().__init__(limits, clock)
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        # isolation_level=None: we issue BEGIN IMMEDIATE ourselves; the busy timeout makes a
        # second process wait for the write lock instead of failing.
        self._conn = sqlite3.connect(
            path, timeout=30.0, isolation_level=None, check_same_thread=False
        )
        self._lock = threading.Lock()
        with self._lock:
            enable_wal(self._conn)
            self._conn.executescript(_SCHEMA)

    @classmethod
    def from_settings(cls, section: RateBudgetSettings) -> Self:
        """The budget every consumer on this machine shares: one file, one window."""
        limits = Limits(section.requests_per_minute, section.tokens_per_minute)
        return cls(section.path, limits)

    def _reserve(self, tokens: int, max_wait_s: float) -> float:
        with self._lock:
            conn = self._conn
            conn.execute("BEGIN IMMEDIATE")
            try:
                now = self._clock()
                conn.execute(
                    "DELETE FROM budget_grants WHERE at <= ?", (now - self.limits.window_s,)
                )
                rows = conn.execute("SELECT at, tokens FROM budget_grants ORDER BY at, id")
                grants = rows.fetchall()
                paused = conn.execute("SELECT until FROM budget_pause WHERE id = 1").fetchone()
                paused_until = float(paused[0]) if paused else 0.0
                at = self._slot(grants, tokens, now, paused_until)
                if at - now <= max_wait_s:
                    conn.execute(
                        "INSERT INTO budget_grants (at, tokens) VALUES (?, ?)", (at, tokens)
                    )
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        if at - now > max_wait_s:
            raise self._too_late(at - now, paused=paused_until > now)
        return at - now

    def _set_pause(self, until: float) -> None:
        with self._lock:
            # one statement, so no explicit transaction: SQLite makes it atomic
            self._conn.execute(
                "INSERT INTO budget_pause (id, until) VALUES (1, ?) "
                "ON CONFLICT (id) DO UPDATE SET until = max(until, excluded.until)",
                (until,),
            )

    def close(self) -> None:
        with self._lock:
            self._conn.close()
