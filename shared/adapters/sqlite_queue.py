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
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Self

import structlog

from shared.adapter_settings import SqliteQueueSettings
from shared.classify import classify
from shared.cloudflare_limits import (
    MAX_DELAY_S,
    MAX_PULL_BATCH,
    MAX_RETRIES,
    MAX_VISIBILITY_S,
    check_message,
)
from shared.errors import InvalidInput, TubeqError
from shared.jobs import Envelope, Job, job_or_raw
from shared.models import DeadLetter, Delivery, QueueStats
from shared.sqlite_wal import enable_wal

log = structlog.get_logger(__name__)

NOT_AN_ENVELOPE = "the body is not a tubeq job envelope"

#: Cloudflare's limits, kept here so a job that works locally also works in production
#: (message sizes are counted by ``shared.cloudflare_limits``, as the Cloudflare adapter does).
#: a traceback summary is plenty; the dead-letter table is not a log store
MAX_ERROR_CHARS = 8_000
BUSY_TIMEOUT_MS = 15_000

_SCHEMA = """
CREATE TABLE IF NOT EXISTS messages (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    id          TEXT NOT NULL UNIQUE,
    body        TEXT NOT NULL,
    enqueued_at REAL NOT NULL,
    visible_at  REAL NOT NULL,
    lease_id    TEXT,
    attempts    INTEGER NOT NULL DEFAULT 0,
    last_error  TEXT
);
CREATE INDEX IF NOT EXISTS messages_claim ON messages (visible_at, seq);
CREATE INDEX IF NOT EXISTS messages_leased ON messages (visible_at) WHERE lease_id IS NOT NULL;
CREATE TABLE IF NOT EXISTS dead_letters (
    id          TEXT PRIMARY KEY,
    body        TEXT NOT NULL,
    attempts    INTEGER NOT NULL,
    last_error  TEXT,
    enqueued_at REAL,
    dead_at     REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS dead_letters_dead_at ON dead_letters (dead_at);
"""

# randomblob() is evaluated per row, so every claimed message gets its own lease id.
_CLAIM = """
UPDATE messages
   SET lease_id = lower(hex(randomblob(16))), attempts = attempts + 1, visible_at = :until
 WHERE id IN (SELECT id FROM messages WHERE visible_at <= :now ORDER BY visible_at, seq
              LIMIT :limit)
RETURNING id, lease_id, body, attempts, enqueued_at, seq
"""

# Ready again, but already delivered max_retries + 1 times: its last consumer never came back.
# Only expired leases can be exhausted (retry() clears the lease), so the partial index keeps
# this check from scanning the whole ready backlog on every pull.
_EXHAUSTED = """
SELECT id, attempts, last_error FROM messages
 WHERE lease_id IS NOT NULL AND visible_at <= ? AND attempts > ?
"""


_STATS = """
SELECT coalesce(sum(visible_at <= :now), 0),
       coalesce(sum(visible_at > :now AND lease_id IS NULL), 0),
       coalesce(sum(visible_at > :now AND lease_id IS NOT NULL), 0),
       (SELECT count(*) FROM dead_letters)
  FROM messages
"""


def _ts(seconds: float | None) -> datetime | None:
    return None if seconds is None else datetime.fromtimestamp(seconds, UTC)


class QueueClosedError(TubeqError):
    """The queue has been closed; open a new SqliteQueue to use the file again."""

    code = "queue_closed"


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
        self._local = threading.local()
        self._lock = threading.Lock()
        self._connections: list[sqlite3.Connection] = []
        self._closed = False
        with self._translate(), self._write() as db:
            # Not executescript(): it would commit our BEGIN IMMEDIATE behind our back.
            for statement in filter(str.strip, _SCHEMA.split(";")):
                db.execute(statement)

    @classmethod
    def from_settings(cls, section: SqliteQueueSettings) -> Self:
        path = section.file
        path.parent.mkdir(parents=True, exist_ok=True)
        return cls(path, max_retries=section.max_retries)

    # ---- connections ----------------------------------------------------------------------

    def _conn(self) -> sqlite3.Connection:
        if self._closed:
            raise QueueClosedError()
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        # A connection inherited through fork() must not be used (or closed) by the child.
        if conn is None or self._local.pid != os.getpid():
            conn = self._open()
            self._local.conn, self._local.pid = conn, os.getpid()
            with self._lock:
                self._connections.append(conn)
        return conn

    def _open(self) -> sqlite3.Connection:
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

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction that takes the write lock up front (no upgrade deadlocks)."""
        conn = self._conn()
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            if conn.in_transaction:  # some errors (disk full, I/O) already rolled back
                conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    @contextmanager
    def _translate(self) -> Iterator[None]:
        try:
            yield
        except TubeqError:
            raise
        except sqlite3.Error as exc:
            raise classify(exc) from exc

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
        rows = [(uuid.uuid4().hex, body, now, now + delay_s) for body in bodies]
        with self._translate(), self._write() as db:
            db.executemany(
                "INSERT INTO messages (id, body, enqueued_at, visible_at) VALUES (?, ?, ?, ?)",
                rows,
            )
        return len(rows)

    def pull(self, batch_size: int, visibility_timeout_s: float) -> list[Delivery]:
        if not 1 <= batch_size <= MAX_PULL_BATCH:
            raise InvalidInput(f"batch_size must be 1..{MAX_PULL_BATCH}, got {batch_size}")
        _check_lease(visibility_timeout_s)
        now = self._clock()
        until = now + visibility_timeout_s
        with self._translate(), self._write() as db:
            self._bury_exhausted(db, now)
            rows = db.execute(_CLAIM, {"now": now, "until": until, "limit": batch_size})
            claimed = sorted(rows.fetchall(), key=lambda r: r[5])
            deliveries: list[Delivery] = []
            for msg_id, lease_id, body, attempts, enqueued_at, _seq in claimed:
                try:
                    envelope = Envelope.from_json(body)
                except ValueError as exc:
                    # Not a job envelope at all: it would fail forever, dead-letter it now.
                    # (A job of a kind or version nobody here reads is the consumer's call.)
                    self._move_to_dead(db, msg_id, now, f"{NOT_AN_ENVELOPE}: {exc}"[:500])
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
        with self._translate(), self._write() as db:
            db.executemany(
                "DELETE FROM messages WHERE id = ? AND lease_id = ?",
                [(d.message_id, d.lease_id) for d in deliveries],
            )

    def retry(self, delivery: Delivery, *, delay_s: int, error: str) -> None:
        _check_delay(delay_s)
        error = error[:MAX_ERROR_CHARS]
        now = self._clock()
        with self._translate(), self._write() as db:
            row = db.execute(
                "SELECT attempts FROM messages WHERE id = ? AND lease_id = ?",
                (delivery.message_id, delivery.lease_id),
            ).fetchone()
            if row is None:
                log.info("queue.retry_stale_lease", message_id=delivery.message_id)
                return
            if row[0] > self.max_retries:
                self._move_to_dead(db, delivery.message_id, now, error)
                return
            db.execute(
                "UPDATE messages SET visible_at = ?, lease_id = NULL, last_error = ? WHERE id = ?",
                (now + delay_s, error, delivery.message_id),
            )

    def release(self, delivery: Delivery, *, delay_s: int, error: str) -> None:
        """Like ``retry``, but this delivery does not count: its attempt is given back, so
        an outage (or a refused key) walks no message toward the dead-letter table, however
        long it lasts and however often the consumer restarts."""
        _check_delay(delay_s)
        error = error[:MAX_ERROR_CHARS]
        now = self._clock()
        with self._translate(), self._write() as db:
            cur = db.execute(
                "UPDATE messages SET visible_at = ?, lease_id = NULL, last_error = ?, "
                "attempts = max(attempts - 1, 0) WHERE id = ? AND lease_id = ?",
                (now + delay_s, error, delivery.message_id, delivery.lease_id),
            )
            if cur.rowcount == 0:
                log.info("queue.release_stale_lease", message_id=delivery.message_id)

    def leases_expire_by(self) -> datetime | None:
        now = self._clock()
        with self._translate():
            (until,) = (
                self._conn()
                .execute(
                    "SELECT max(visible_at) FROM messages "
                    "WHERE lease_id IS NOT NULL AND visible_at > ?",
                    (now,),
                )
                .fetchone()
            )
        return _ts(until)

    def dead_letter(self, delivery: Delivery, reason: str) -> None:
        now = self._clock()
        with self._translate(), self._write() as db:
            held = db.execute(
                "SELECT 1 FROM messages WHERE id = ? AND lease_id = ?",
                (delivery.message_id, delivery.lease_id),
            ).fetchone()
            if held is None:
                log.info("queue.dead_letter_stale_lease", message_id=delivery.message_id)
                return
            self._move_to_dead(db, delivery.message_id, now, reason[:MAX_ERROR_CHARS])

    def extend(self, delivery: Delivery, visibility_timeout_s: float) -> bool:
        _check_lease(visibility_timeout_s)
        until = self._clock() + visibility_timeout_s
        with self._translate(), self._write() as db:
            cur = db.execute(
                "UPDATE messages SET visible_at = ? WHERE id = ? AND lease_id = ?",
                (until, delivery.message_id, delivery.lease_id),
            )
            return cur.rowcount == 1

    def stats(self) -> QueueStats:
        now = self._clock()
        with self._translate():
            ready, delayed, in_flight, dead = self._conn().execute(_STATS, {"now": now}).fetchone()
        return QueueStats(ready=ready, delayed=delayed, in_flight=in_flight, dead=dead)

    def peek_dead_letters(self, limit: int = 100) -> list[DeadLetter]:
        """The same as ``dead_letters``: listing here costs nothing."""
        return self.dead_letters(limit)

    def dead_letters(self, limit: int = 100) -> list[DeadLetter]:
        query = "SELECT * FROM dead_letters ORDER BY dead_at, id LIMIT ?"
        with self._translate():
            rows = self._conn().execute(query, (max(0, limit),)).fetchall()
        return [
            DeadLetter(
                message_id=msg_id,
                body=_read_body(body),
                attempts=attempts,
                last_error=last_error,
                enqueued_at=_ts(enqueued_at),
                dead_at=_ts(dead_at),
            )
            for msg_id, body, attempts, last_error, enqueued_at, dead_at in rows
        ]

    def redrive(self, message_ids: Sequence[str] | None = None) -> int:
        now = self._clock()
        where, params = "", []
        if message_ids is not None:
            if not message_ids:
                return 0
            where = f" WHERE id IN ({','.join('?' * len(message_ids))})"
            params = list(message_ids)
        with self._translate(), self._write() as db:
            # Same id, fresh attempts: the operator can follow a message through redrives.
            db.execute(
                "INSERT INTO messages (id, body, enqueued_at, visible_at, attempts) "
                f"SELECT id, body, enqueued_at, ?, 0 FROM dead_letters{where}",
                [now, *params],
            )
            moved: int = db.execute(f"DELETE FROM dead_letters{where}", params).rowcount
        log.info("queue.redrive", count=moved)
        return moved

    def close(self) -> None:
        with self._lock:
            self._closed = True
            conns, self._connections = self._connections, []
        for conn in conns:
            conn.close()

    # ---- dead letters ---------------------------------------------------------------------

    def _bury_exhausted(self, db: sqlite3.Connection, now: float) -> None:
        exhausted = db.execute(_EXHAUSTED, (now, self.max_retries)).fetchall()
        for msg_id, attempts, last_error in exhausted:
            reason = (
                f"lease expired on delivery {attempts} of {self.max_retries + 1} without an "
                "ack or retry (the consumer crashed or overran its lease)"
            )
            if last_error:
                reason += f"; last error: {last_error}"
            self._move_to_dead(db, msg_id, now, reason)

    def _move_to_dead(self, db: sqlite3.Connection, msg_id: str, now: float, error: str) -> None:
        db.execute(
            "INSERT OR REPLACE INTO dead_letters "
            "(id, body, attempts, last_error, enqueued_at, dead_at) "
            "SELECT id, body, attempts, ?, enqueued_at, ? FROM messages WHERE id = ?",
            (error, now, msg_id),
        )
        db.execute("DELETE FROM messages WHERE id = ?", (msg_id,))
        log.warning("queue.dead_lettered", message_id=msg_id, error=error[:500])


def _check_delay(delay_s: int) -> None:
    if not isinstance(delay_s, int) or not 0 <= delay_s <= MAX_DELAY_S:
        raise InvalidInput(
            f"delay_s must be a whole number of seconds from 0 to {MAX_DELAY_S} (12 h, "
            f"Cloudflare's limit), got {delay_s!r}"
        )


def _check_lease(visibility_timeout_s: float) -> None:
    if not 0 < visibility_timeout_s <= MAX_VISIBILITY_S:
        raise InvalidInput(
            f"visibility_timeout_s must be more than 0 and at most {MAX_VISIBILITY_S} "
            f"seconds (12 h), got {visibility_timeout_s}"
        )


def _read_body(body: str) -> Job | dict[str, Any]:
    try:
        return job_or_raw(json.loads(body))
    except json.JSONDecodeError:
        return {"raw": body}
