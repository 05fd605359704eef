"""The budget in a SQLite file shared by every process on this machine: one row of state.

A grant is one ``BEGIN IMMEDIATE`` transaction (one writer at a time, across processes):
read the row, ``budget_step``, write it back — the same four statements whether nothing or
thousands of grants are live, on a state of bounded size (the requests' TAT, the pause, at
most a few window slots per cell; ``window.py``). Default file ``<data_dir>/budget.sqlite3``.
Processes on several machines need the fleet budget (``TUBEQ_RATE_BUDGET_BACKEND=results``).

Times are ``time.time()``: one clock for every process on the machine. A call that leaves
late (``GcraBudget.acquire``) is moved in one more short transaction, on late calls only.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Self

from shared.adapter_settings import RateBudgetSettings
from shared.classify import classify
from shared.fleet import BudgetUsage
from shared.rate_budget.gcra import (
    Ask,
    GcraBudget,
    Limits,
    State,
    Step,
    budget_step,
    limits_of,
    moved,
    refunded,
)
from shared.rate_budget.timer import Timer
from shared.rate_budget.usage import no_budget, usage_of
from shared.rate_budget.window import Slot
from shared.sqlite_wal import enable_wal

# A new table: a file written by an older budget (rate_limits, budget_grants) is left as is;
# the state restarts empty, which at worst lets one window's worth go early once.
_SCHEMA = """
CREATE TABLE IF NOT EXISTS rate_budget_state (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    tat REAL NOT NULL DEFAULT 0,
    paused_until REAL NOT NULL DEFAULT 0,
    slots TEXT NOT NULL DEFAULT '[]'
);
INSERT OR IGNORE INTO rate_budget_state (id) VALUES (1);
"""
_READ = "SELECT tat, paused_until, slots FROM rate_budget_state WHERE id = 1"
_WRITE = "UPDATE rate_budget_state SET tat = ?, slots = ? WHERE id = 1"
_PAUSE = "UPDATE rate_budget_state SET paused_until = max(paused_until, ?) WHERE id = 1"


def _state(row: tuple[float, float, str]) -> State:
    slots: list[Slot] = [(s[0], s[1], s[2], s[3]) for s in json.loads(row[2])]
    return State(float(row[0]), float(row[1]), tuple(slots))


class SqliteRateBudget(GcraBudget):
    """The budget every consumer on this machine shares: one file, one row."""

    def __init__(
        self,
        path: Path,
        limits: Limits,
        clock: Callable[[], float] = time.time,
        timer: Timer | None = None,
    ) -> None:
        super().__init__(limits, timer)
        self.path = path
        self._clock = clock
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
        return cls(section.path, limits_of(section))

    def _transact(self, change: Callable[[State], tuple[Step | None, State]]) -> Step | None:
        """Read the state, ``change`` it, write it back if it changed: one transaction."""
        with self._lock:
            conn = self._conn
            conn.execute("BEGIN IMMEDIATE")
            try:
                state = _state(conn.execute(_READ).fetchone())
                step, moved = change(state)
                if moved is not state:
                    conn.execute(_WRITE, (moved.tat, json.dumps(moved.slots)))
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        return step

    def _step(self, ask: Ask, max_wait_s: float) -> Step:
        window = self.limits.window
        step = self._transact(lambda s: budget_step(s, ask, window, self._clock(), max_wait_s))
        assert step is not None
        return step

    def _refund(self, ask: Ask, at: float) -> None:
        window = self.limits.window
        self._transact(lambda s: (None, refunded(s, ask, at, window)))

    def _move_grant(self, ask: Ask, at: float, to: float) -> None:
        window = self.limits.window
        try:
            self._transact(lambda s: (None, moved(s, ask, at, to, window)))
        except sqlite3.Error as exc:
            raise classify(exc) from exc

    def _pause_for(self, seconds: float) -> None:
        with self._lock:
            self._conn.execute(_PAUSE, (self._clock() + seconds,))

    def close(self) -> None:
        with self._lock:
            self._conn.close()


class SqliteBudgetMeter:
    """``BudgetMeter`` on the budget file: opened read-only (``mode=ro``) for each reading,
    so the dashboard can neither take quota nor create the file; a missing file or row is a
    budget no consumer has used yet."""

    def __init__(self, path: Path, limits: Limits, clock: Callable[[], float] = time.time) -> None:
        self.path = path
        self.limits = limits
        self._clock = clock

    @classmethod
    def from_settings(cls, section: RateBudgetSettings) -> Self:
        return cls(section.path, limits_of(section))

    def usage(self) -> BudgetUsage:
        where = f"local file {self.path}"
        if not self.path.is_file():
            return no_budget(self.limits, where)
        conn = sqlite3.connect(self.path.resolve().as_uri() + "?mode=ro", uri=True, timeout=5.0)
        try:
            row = conn.execute(_READ).fetchone()
        except sqlite3.OperationalError as exc:
            if "no such table" in str(exc):
                return no_budget(self.limits, where)  # an older budget's file, not used since
            raise classify(exc) from exc
        except sqlite3.Error as exc:
            raise classify(exc) from exc
        finally:
            conn.close()
        state = None if row is None else _state(row)
        if state is None or state == State():
            return no_budget(self.limits, where)  # the row a consumer made, never used
        return usage_of(state.slots, state.paused_until, self._clock(), self.limits, where)

    def close(self) -> None:
        """Nothing held between readings."""
