"""The SQLite queue's (``shared.adapters.sqlite_queue``) dead-letter table: moving a message
into it (with its last error), burying deliveries whose lease ran out on their last attempt,
listing it, and redriving from it. Each function runs inside the caller's transaction or
on its connection; the statements are ``sql/queries/sqlite_queue.sql``'s.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import structlog

from shared.adapters._sqlite_queue_db import QUEUE
from shared.jobs import Job, job_or_raw
from shared.models import DeadLetter

log = structlog.get_logger(__name__)


def move_to_dead(db: sqlite3.Connection, msg_id: str, now: float, error: str) -> None:
    """The message, with ``error`` as its last error, from the queue to the dead letters."""
    db.execute(QUEUE["move_to_dead.copy"], {"message_id": msg_id, "now": now, "error": error})
    db.execute(QUEUE["move_to_dead.delete"], {"message_id": msg_id})
    log.warning("queue.dead_lettered", message_id=msg_id, error=error[:500])


def bury_exhausted(db: sqlite3.Connection, now: float, max_retries: int) -> None:
    """Dead-letter every message whose lease ran out on delivery ``max_retries + 1``."""
    exhausted = db.execute(QUEUE["exhausted"], {"now": now, "max_retries": max_retries})
    for msg_id, attempts, last_error in exhausted.fetchall():
        reason = (
            f"lease expired on delivery {attempts} of {max_retries + 1} without an "
            "ack or retry (the consumer crashed or overran its lease)"
        )
        if last_error:
            reason += f"; last error: {last_error}"
        move_to_dead(db, msg_id, now, reason)


def dead_letter_of(row: Sequence[Any]) -> DeadLetter:
    msg_id, body, attempts, last_error, enqueued_at, dead_at = row
    return DeadLetter(
        message_id=msg_id,
        body=_read_body(body),
        attempts=attempts,
        last_error=last_error,
        enqueued_at=ts(enqueued_at),
        dead_at=ts(dead_at),
    )


def redrive(db: sqlite3.Connection, now: float, message_ids: Sequence[str] | None) -> int:
    """Move dead letters (all, or these ids) back to the queue; how many moved."""
    if message_ids is None:
        # Same id, fresh attempts: the operator can follow a message through redrives.
        db.execute(QUEUE["redrive_all.insert"], {"now": now})
        moved: int = db.execute(QUEUE["redrive_all.delete"]).rowcount
        return moved
    ids = json.dumps(list(message_ids))
    db.execute(QUEUE["redrive_ids.insert"], {"now": now, "ids": ids})
    moved = db.execute(QUEUE["redrive_ids.delete"], {"ids": ids}).rowcount
    return moved


def ts(seconds: float | None) -> datetime | None:
    return None if seconds is None else datetime.fromtimestamp(seconds, UTC)


def _read_body(body: str) -> Job | dict[str, Any]:
    try:
        return job_or_raw(json.loads(body))
    except json.JSONDecodeError:
        return {"raw": body}
