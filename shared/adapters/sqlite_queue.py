"""The embedded queue: one SQLite file with Cloudflare Queues semantics.

A message row is *visible* once ``visible_at <= now``. Pulling leases it: a fresh random
``lease_id``, ``attempts + 1`` and ``visible_at = now + visibility timeout``, so a consumer
that dies simply lets the lease run out and the message comes back on its own. A delayed
retry is the same column with no lease: ``visible_at = now + delay``.

Leases are the ownership token, as in Cloudflare's HTTP pull API:

* ``ack``/``retry``/``extend`` act only while the row still carries the delivery's
  ``lease_id``. Once the lease expired *and someone else pulled the message*, the old
  lease id is stale and these calls are silently ignored (``extend`` returns False), so
  a slow consumer can never delete or reschedule another consumer's work. A lease that
  expired but was not re-leased is still honoured: nobody else holds the message.
* Every delivery counts as an attempt, whether or not the consumer lived to call
  ``retry`` — except one handed back with ``release`` (a store outage, a refused key: not
  the message's fault), whose attempt is given back. ``retry`` on a message delivered
  ``max_retries + 1`` times dead-letters it; a message whose lease ran out on that last
  delivery is dead-lettered by the next ``pull`` instead of being delivered again, so a
  job that kills its consumer cannot loop forever.

Bodies are job envelopes (``shared.jobs``) stored as JSON text; a bare ``VideoJob`` from
before envelopes reads as ``video.analyze`` v1. ``pull`` dead-letters only what is no
envelope at all; a kind or version the consumer cannot read it dead-letters itself
(``dead_letter``, the reason kept as the last error).

Concurrency: WAL mode, a busy timeout, and every write in ``BEGIN IMMEDIATE``; the claim
is a single ``UPDATE … WHERE id IN (SELECT … LIMIT ?) RETURNING …``. Each thread gets its
own connection (the consumer runs a thread pool), and a forked child opens fresh ones.

Every statement is a named block of ``sql/queries/sqlite_queue.sql`` (the tables:
``sqlite_queue_schema.sql``). This module is the port; the connections and the SQL are
``_sqlite_queue_db``, the dead-letter table's moves ``_sqlite_queue_dead_letters``.
"""

from __future__ import annotations

import json
import sqlite3
import time
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Self

import structlog

from shared.adapter_settings import SqliteQueueSettings
from shared.adapters import _sqlite_queue_dead_letters as dead
from shared.adapters._sqlite_queue_db import QUEUE, SCHEMA, QueueClosedError, QueueConnections
from shared.cloudflare_limits import (
    MAX_DELAY_S,
    MAX_PULL_BATCH,
    MAX_RETRIES,
    MAX_VISIBILITY_S,
    check_message,
)
from shared.errors import InvalidInput
from shared.jobs import Envelope, Job
from shared.models import DeadLetter, Delivery, QueueStats
from shared.sqlite_wal import enable_wal

log = structlog.get_logger(__name__)

__all__ = ["QueueClosedError", "SqliteQueue"]

NOT_AN_ENVELOPE = "the body is not a tubeq job envelope"

#: a traceback summary is plenty; the dead-letter table is not a log store
MAX_ERROR_CHARS = 8_000
BUSY_TIMEOUT_MS = 15_000


class SqliteQueue:
    """A durable at-least-once queue in one SQLite file, safe across threads and processes."""

    #: listing dead letters is a read of a table: free, nothing consumed
    dead_letter_listing_consumes = False
    #: ``release`` gives the delivery's attempt back
    release_counts_attempt = False

    def __init__(
        self,
        path: Path,
        *,
        max_retries: int = 3,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not 0 <= max_retries <= MAX_RETRIES:
            raise InvalidInput(
                f"max_retries must be between 0 and {MAX_RETRIES}, got {max_retries}"
            )
        self.path = Path(path)
        self.max_retries = max_retries
        self._clock = clock
        self._db = QueueConnections(self._open)
        with self._db.write() as db:
            # Not executescript(): it would commit our BEGIN IMMEDIATE behind our back.
            for statement in SCHEMA.values():
                db.execute(statement)

    @classmethod
    def from_settings(cls, section: SqliteQueueSettings) -> Self:
        path = section.file
        path.parent.mkdir(parents=True, exist_ok=True)
        return cls(path, max_retries=section.max_retries)

    # ---- connections ----------------------------------------------------------------------

    def _open(self) -> sqlite3.Connection:
        """A new connection to the file, for one thread (``_sqlite_queue_db.QueueConnections``)."""
        # isolation_level=None: we issue BEGIN IMMEDIATE ourselves. check_same_thread=False
        # only so close() may close every thread's connection; each is used by one thread.
        conn = sqlite3.connect(
            self.path,
            timeout=BUSY_TIMEOUT_MS / 1000,
            isolation_level=None,
            check_same_thread=False,
        )
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        # Switching to WAL needs a moment of exclusive access; racing openers may see BUSY.
        enable_wal(conn)
        conn.execute("PRAGMA synchronous = NORMAL")  # WAL + NORMAL survives process crashes
        return conn

    # ---- the port -------------------------------------------------------------------------

    def send(self, jobs: Sequence[Job], *, delay_s: int = 0) -> int:
        _check_delay(delay_s)
        bodies = []
        for job in jobs:  # check every job before storing any
            wire = job.envelope().wire()
            check_message(wire, "json", job.label)
            bodies.append(json.dumps(wire, separators=(",", ":")))
        if not bodies:
            return 0
        now = self._clock()
        rows = [
            {"id": uuid.uuid4().hex, "body": body, "enqueued_at": now, "visible_at": now + delay_s}
            for body in bodies
        ]
        with self._db.write() as db:
            db.executemany(QUEUE["send"], rows)
        return len(rows)

    def pull(self, batch_size: int, visibility_timeout_s: float) -> list[Delivery]:
        if not 1 <= batch_size <= MAX_PULL_BATCH:
            raise InvalidInput(f"batch_size must be 1..{MAX_PULL_BATCH}, got {batch_size}")
        _check_lease(visibility_timeout_s)
        now = self._clock()
        until = now + visibility_timeout_s
        with self._db.write() as db:
            dead.bury_exhausted(db, now, self.max_retries)
            rows = db.execute(QUEUE["claim"], {"now": now, "until": until, "limit": batch_size})
            claimed = sorted(rows.fetchall(), key=lambda r: r[5])
            deliveries: list[Delivery] = []
            for msg_id, lease_id, body, attempts, enqueued_at, _seq in claimed:
                try:
                    envelope = Envelope.from_json(body)
                except ValueError as exc:
                    # Not a job envelope at all: it would fail forever, dead-letter it now.
                    # (A job of a kind or version nobody here reads is the consumer's call.)
                    dead.move_to_dead(db, msg_id, now, f"{NOT_AN_ENVELOPE}: {exc}"[:500])
                    continue
                deliveries.append(
                    Delivery(
                        message_id=msg_id,
                        lease_id=lease_id,
                        envelope=envelope,
                        attempts=attempts,
                        enqueued_at=datetime.fromtimestamp(enqueued_at, UTC),
                        lease_expires_at=datetime.fromtimestamp(until, UTC),
                    )
                )
        return deliveries

    def ack(self, deliveries: Sequence[Delivery]) -> None:
        if not deliveries:
            return
        with self._db.write() as db:
            db.executemany(QUEUE["ack"], [_held(d) for d in deliveries])

    def retry(self, delivery: Delivery, *, delay_s: int, error: str) -> None:
        _check_delay(delay_s)
        error = error[:MAX_ERROR_CHARS]
        now = self._clock()
        with self._db.write() as db:
            row = db.execute(QUEUE["retry.attempts"], _held(delivery)).fetchone()
            if row is None:
                log.info("queue.retry_stale_lease", message_id=delivery.message_id)
                return
            if row[0] > self.max_retries:
                dead.move_to_dead(db, delivery.message_id, now, error)
                return
            params = {"message_id": delivery.message_id, "visible_at": now + delay_s}
            db.execute(QUEUE["retry.reschedule"], params | {"error": error})

    def release(self, delivery: Delivery, *, delay_s: int, error: str) -> None:
        """Like ``retry``, but this delivery does not count: its attempt is given back, so
        an outage (or a refused key) walks no message toward the dead-letter table, however
        long it lasts and however often the consumer restarts."""
        _check_delay(delay_s)
        error = error[:MAX_ERROR_CHARS]
        now = self._clock()
        with self._db.write() as db:
            params = _held(delivery) | {"visible_at": now + delay_s, "error": error}
            cur = db.execute(QUEUE["release"], params)
            if cur.rowcount == 0:
                log.info("queue.release_stale_lease", message_id=delivery.message_id)

    def leases_expire_by(self) -> datetime | None:
        ((until,),) = self._db.read(QUEUE["leases_expire_by"], {"now": self._clock()})
        return dead.ts(until)

    def dead_letter(self, delivery: Delivery, reason: str) -> None:
        now = self._clock()
        with self._db.write() as db:
            if db.execute(QUEUE["held"], _held(delivery)).fetchone() is None:
                log.info("queue.dead_letter_stale_lease", message_id=delivery.message_id)
                return
            dead.move_to_dead(db, delivery.message_id, now, reason[:MAX_ERROR_CHARS])

    def extend(self, delivery: Delivery, visibility_timeout_s: float) -> bool:
        _check_lease(visibility_timeout_s)
        until = self._clock() + visibility_timeout_s
        with self._db.write() as db:
            cur = db.execute(QUEUE["extend"], _held(delivery) | {"until": until})
            return cur.rowcount == 1

    def stats(self) -> QueueStats:
        ((ready, delayed, in_flight, dead_count),) = self._db.read(
            QUEUE["stats"], {"now": self._clock()}
        )
        return QueueStats(ready=ready, delayed=delayed, in_flight=in_flight, dead=dead_count)

    def peek_dead_letters(self, limit: int = 100) -> list[DeadLetter]:
        """The same as ``dead_letters``: listing here costs nothing."""
        return self.dead_letters(limit)

    def dead_letters(self, limit: int = 100) -> list[DeadLetter]:
        rows = self._db.read(QUEUE["dead_letters"], {"limit": max(0, limit)})
        return [dead.dead_letter_of(row) for row in rows]

    def redrive(self, message_ids: Sequence[str] | None = None) -> int:
        if message_ids is not None and not message_ids:
            return 0
        now = self._clock()
        with self._db.write() as db:
            moved = dead.redrive(db, now, message_ids)
        log.info("queue.redrive", count=moved)
        return moved

    def close(self) -> None:
        self._db.close()


def _held(delivery: Delivery) -> dict[str, str]:
    """The parameters that find a delivery's row while it still carries the lease."""
    return {"message_id": delivery.message_id, "lease_id": delivery.lease_id}


def _check_delay(delay_s: int) -> None:
    """Cloudflare's limit, so a job that works locally also works in production (message
    sizes are counted by ``shared.cloudflare_limits``, as the Cloudflare adapter does)."""
    if not isinstance(delay_s, int) or not 0 <= delay_s <= MAX_DELAY_S:
        raise InvalidInput(
            f"delay_s must be a whole number of seconds from 0 to {MAX_DELAY_S} (12 h, "
            f"Cloudflare's limit), got {delay_s!r}"
        )


def _check_lease(visibility_timeout_s: float) -> None:
    """Cloudflare's limit on a visibility timeout, as for ``_check_delay``."""
    if not 0 < visibility_timeout_s <= MAX_VISIBILITY_S:
        raise InvalidInput(
            f"visibility_timeout_s must be more than 0 and at most {MAX_VISIBILITY_S} "
            f"seconds (12 h), got {visibility_timeout_s}"
        )
