"""The dashboard's reads on the SQLite result store (``ActivityReader``): kept apart from
``sqlite_results`` so the store's own module stays about its ports; the store's method
hands over its connection and lock."""

from __future__ import annotations

import sqlite3
import threading
from datetime import datetime

from shared.adapters._sqlite_results_rows import dt, ts
from shared.classify import classify
from shared.sql_queries import Queries, load

DASHBOARD: Queries = load("sqlite_dashboard.sql")


def finished_since(db: sqlite3.Connection, lock: threading.Lock, since: datetime) -> list[datetime]:
    """When each video done at or after ``since`` finished, oldest first."""
    try:
        with lock:
            rows = db.execute(DASHBOARD["finished_since"], {"since": ts(since)}).fetchall()
    except sqlite3.Error as exc:
        raise classify(exc) from exc
    return [when for (value,) in rows if (when := dt(value)) is not None]
