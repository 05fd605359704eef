"""GCRA in a SQLite file shared by every process on this machine: one row per limit.

A grant is one ``BEGIN IMMEDIATE`` transaction (one writer at a time, across processes):
read the limits' rows, ``gcra_step``, write the moved TATs back — the same four statements
whether nothing or thousands of grants are live. Default file ``<data_dir>/budget.sqlite3``.
Processes on several machines need the fleet budget (``TUBEQ_RATE_BUDGET_BACKEND=results``).

Times are ``time.time()``: one clock for every process on the machine.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Self

from shared.adapter_settings import RateBudgetSettings
from shared.rate_budget.gcra import (
    REQUESTS,
    TOKENS,
    Cost,
    GcraBudget,
    Limits,
    Step,
    gcra_step,
    limits_of,
)
from shared.sqlite_wal import enable_wal

# A new table name: a file written by the sliding-window budget (budget_grants) is left as is.
_SCHEMA = """
CREATE TABLE IF NOT EXISTS rate_limits (
    limit_name TEXT PRIMARY KEY,
    tat REAL NOT NULL DEFAULT 0,
    paused_until REAL NOT NULL DEFAULT 0
);
INSERT OR IGNORE INTO rate_limits (limit_name) VALUES ('requests'), ('tokens');
"""
_READ = "SELECT limit_name, tat, paused_until FROM rate_limits"
_WRITE = "UPDATE rate_limits SET tat = ? WHERE limit_name = ?"
_REFUND = "UPDATE rate_limits SET tat = tat - ? WHERE limit_name = ?"
_PAUSE = "UPDATE rate_limits SET paused_until = max(paused_until, ?)"
assert {REQUESTS, TOKENS} == {"requests", "tokens"}  # the rows _SCHEMA creates


class SqliteRateBudget(GcraBudget):
    """The budget every consumer on this machine shares: one file, one row per limit."""

    def __init__(self, path: Path, limits: Limits, clock: Callable[[], float] = time.time) -> None:
        super().__init__(limits)
        self.path = path
        self._clock = clock
        path.parent.mkdir(parents=True, exist_ok=True)
        # isolation_level=None: we issue BEGIN IMMEDIATE ourselves; the busy timeout makes a
        # second process wait for the write lock instead of failing.
        self._conn = sqlite3.connect(
            path, timeout=30.0, isolation_level=None, check_same_thread=False
        )
        self._lock = threading.Lock()
        self._closed = False
        with self._lock:
            enable_wal(self._conn)
            self._conn.executescript(_SCHEMA)

    @classmethod
    def from_settings(cls, section: RateBudgetSettings) -> Self:
        return cls(section.path, limits_of(section))

    def _step(self, costs: tuple[Cost, ...], max_wait_s: float) -> Step:
        with self._lock:
            conn = self._conn
            conn.execute("BEGIN IMMEDIATE")
            try:
                now = self._clock()
                rows = conn.execute(_READ).fetchall()
                tats = {str(name): float(tat) for name, tat, _ in rows}
                paused_until = max((float(p) for _, _, p in rows), default=0.0)
                step, moved = gcra_step(tats, costs, now, paused_until, max_wait_s)
                if step.granted:
                    conn.executemany(_WRITE, [(moved[c.limit], c.limit) for c in costs])
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        return step

    def _refund(self, costs: tuple[Cost, ...]) -> None:
        with self._lock:
            # one statement per limit, each atomic; a refund needs no read
            self._conn.executemany(_REFUND, [(c.cost_s, c.limit) for c in costs])

    def _pause_for(self, seconds: float) -> None:
        with self._lock:
            self._conn.execute(_PAUSE, (self._clock() + seconds,))

    def close(self) -> None:
        with self._lock:
            self._conn.close()
