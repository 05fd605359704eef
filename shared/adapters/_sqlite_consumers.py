"""The running consumers on the SQLite result store (``ConsumerRegistry``): the blocks of
``sql/queries/sqlite_consumers.sql``, kept apart from ``sqlite_results`` so the store's own
module stays about the per-video ports; the store's methods hand over their connection,
lock and write transaction.

The table is created by the first heartbeat (in its transaction, a no-op once it exists), so
a store that never ran a consumer needs no change; reading or removing before then finds
nobody."""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import UTC, datetime, timedelta

from shared.adapters._sqlite_results_rows import dt, ts
from shared.classify import classify
from shared.fleet import FORGET_LOST_AFTER_S, ConsumerBeat, RunningConsumer
from shared.sql_queries import Queries, load

CONSUMERS: Queries = load("sqlite_consumers.sql")
Write = Callable[[], AbstractContextManager[sqlite3.Connection]]


def _no_table(exc: sqlite3.Error) -> bool:
    return isinstance(exc, sqlite3.OperationalError) and "no such table" in str(exc)


def beat(write: Write, b: ConsumerBeat) -> None:
    at = datetime.now(UTC)
    row = b.model_dump(mode="json")
    row.update(
        started_at=ts(b.started_at),
        current=json.dumps(b.current),
        at=ts(at),
    )
    forget_before = ts(at - timedelta(seconds=FORGET_LOST_AFTER_S))
    with write() as db:
        db.execute(CONSUMERS["schema"])
        db.execute(CONSUMERS["consumer_beat"], row)
        db.execute(CONSUMERS["consumer_beat.forget_lost"], {"forget_before": forget_before})


def gone(db: sqlite3.Connection, lock: threading.Lock, consumer_id: str) -> None:
    try:
        with lock:
            db.execute(CONSUMERS["consumer_gone"], {"consumer_id": consumer_id})
    except sqlite3.Error as exc:
        if not _no_table(exc):
            raise classify(exc) from exc


def consumers(db: sqlite3.Connection, lock: threading.Lock) -> list[RunningConsumer]:
    try:
        with lock:
            rows = db.execute(CONSUMERS["consumers"]).fetchall()
    except sqlite3.Error as exc:
        if _no_table(exc):
            return []
        raise classify(exc) from exc
    now = datetime.now(UTC)
    found = []
    for row in rows:
        last_seen = dt(row["last_seen"]) or now
        found.append(
            RunningConsumer.model_validate(
                {
                    **dict(row),
                    "current": json.loads(row["current"] or "[]"),
                    "last_seen": last_seen,
                    "seen_s_ago": max(0.0, (now - last_seen).total_seconds()),
                }
            )
        )
    return found
