"""Spend ledgers for tests: one that keeps what it is told (one row per ``call_id``, as the
real ones do), and one that always fails (a database outage)."""

from __future__ import annotations

import threading

from shared.models import BilledCall, Usage


class RecordingLedger:
    """``SpendLedger`` in memory: the same ``call_id`` recorded twice is one row."""

    def __init__(self) -> None:
        self.rows: dict[str, BilledCall] = {}
        #: every ``record_call``, duplicates included
        self.calls_made = 0
        self._lock = threading.Lock()

    def record_call(self, call: BilledCall) -> None:
        with self._lock:
            self.calls_made += 1
            self.rows.setdefault(call.call_id, call)

    @property
    def calls(self) -> list[BilledCall]:
        with self._lock:
            return list(self.rows.values())

    def total(self) -> Usage:
        usage = Usage()
        for call in self.calls:
            usage += call.usage
        return usage


class BrokenLedger:
    """``SpendLedger`` whose store is down."""

    def __init__(self) -> None:
        self.attempts = 0

    def record_call(self, call: BilledCall) -> None:
        self.attempts += 1
        raise ConnectionError("ledger store unreachable")
