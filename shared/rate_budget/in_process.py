"""``InProcessRateBudget``: the budget's rule (``gcra.py``) for one process, behind a lock;
for tests and one-off runs (consumers share the SQLite file or the fleet's rows)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from shared.rate_budget.gcra import (
    Ask,
    GcraBudget,
    Limits,
    State,
    Step,
    budget_step,
    moved,
    refunded,
)
from shared.rate_budget.timer import Timer


class InProcessRateBudget(GcraBudget):
    """The budget for one process, behind a lock."""

    def __init__(
        self,
        limits: Limits,
        clock: Callable[[], float] = time.time,
        timer: Timer | None = None,
    ) -> None:
        super().__init__(limits, timer)
        self._clock = clock
        self._lock = threading.Lock()
        self._state = State()

    def _step(self, ask: Ask, max_wait_s: float) -> Step:
        with self._lock:
            step, self._state = budget_step(
                self._state, ask, self.limits.window, self._clock(), max_wait_s
            )
            return step

    def _refund(self, ask: Ask, at: float) -> None:
        with self._lock:
            self._state = refunded(self._state, ask, at, self.limits.window)

    def _move_grant(self, ask: Ask, at: float, to: float) -> None:
        with self._lock:
            self._state = moved(self._state, ask, at, to, self.limits.window)

    def _pause_for(self, seconds: float) -> None:
        with self._lock:
            until = max(self._state.paused_until, self._clock() + seconds)
            self._state = State(self._state.tat, until, self._state.slots)

    def close(self) -> None:
        """Nothing to release: the state lives in this object."""
