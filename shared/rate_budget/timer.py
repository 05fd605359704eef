"""The clock ``GcraBudget.acquire`` waits on and measures its own lateness with.

Monotonic, so lateness means the same whatever the budget's clock is (``time.time()`` for
the local budgets, the database's for the fleet's): the two are never compared. A test
passes a timer on its fake clock to make a call wake as late as it wants.
"""

from __future__ import annotations

import time
from typing import Protocol


class Timer(Protocol):
    """What ``acquire`` needs of a clock: read it, and wait on it."""

    def monotonic(self) -> float: ...

    def sleep(self, seconds: float) -> None: ...


class SystemTimer:
    """``time.monotonic`` and ``time.sleep``."""

    def monotonic(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)
