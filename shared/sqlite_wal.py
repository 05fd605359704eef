"""Switching a SQLite file to WAL, safely when several processes open it at once.

The switch needs a moment of exclusive access, and ``busy_timeout`` does not cover it:
racing openers (two consumers started together) see SQLITE_BUSY. Retry for a while.
"""

from __future__ import annotations

import sqlite3
import time

_ATTEMPTS = 100
_PAUSE_S = 0.05


def enable_wal(conn: sqlite3.Connection) -> None:
    for attempt in range(_ATTEMPTS):
        try:
            conn.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            name = getattr(exc, "sqlite_errorname", "")
            busy = name in ("SQLITE_BUSY", "SQLITE_LOCKED") or "locked" in str(exc)
            if attempt == _ATTEMPTS - 1 or not busy:
                raise
            time.sleep(_PAUSE_S)
