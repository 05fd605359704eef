"""Dead letters as the operator sees them: what ``tubeq dlq`` and the HTTP API (``GET /v1/dlq``,
``POST /v1/dlq/redrive``) both read and do, so neither imports the other.

A queue whose listing is free (SQLite: a table) is listed directly. A queue whose listing
costs the letters an attempt (Cloudflare: pull-and-release; past the DLQ consumer's
``max_retries`` Cloudflare deletes them) declares it (``dead_letter_listing_consumes``) and
is read from the result store instead: the consumer records every dead-lettered video there
as ``dead`` with its error and attempts. The queue itself is listed only when asked to peek.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from pydantic import BaseModel

from shared.errors import InvalidInput
from shared.models import DeadLetter, VideoJob, VideoState
from shared.ports import ApiQueue, ResultReader
from shared.video_ids import is_video_id

#: ``failures()`` mixes failed, retrying and dead rows; read this many to find dead ones
FAILURE_SCAN = 1_000
PEEK_NOTE = (
    "peeked at the dead-letter queue: each listed message's attempts there went up by one; "
    "past the DLQ consumer's max_retries Cloudflare deletes it. Peek rarely."
)


class DeadVideo(BaseModel):
    """A video whose retries ran out, as the result store recorded it."""

    video_id: str
    title: str | None
    attempts: int
    error_code: str | None
    error: str | None
    dead_since: datetime | None


def dead_videos(reader: ResultReader, limit: int) -> list[DeadVideo]:
    """The most recent dead videos in the result store, newest first."""
    rows = reader.failures(max(limit, FAILURE_SCAN))
    return [
        DeadVideo(
            video_id=row.video_id,
            title=row.meta.title if row.meta else None,
            attempts=row.attempts,
            error_code=row.error_code,
            error=row.error,
            dead_since=row.updated_at,
        )
        for row in rows
        if row.state == VideoState.DEAD
    ][:limit]


def queue_dead_letters(queue: ApiQueue, limit: int, *, peek: bool) -> list[DeadLetter]:
    """The dead-letter queue's own listing: a peek (whatever it costs) or the free listing."""
    return queue.peek_dead_letters(limit) if peek else queue.dead_letters(limit)


def redrive_and_mark(
    queue: ApiQueue, reader: ResultReader | None, message_ids: Sequence[str] | None
) -> int:
    """Redrive dead letters (all, or these message ids) and, where listing them is free
    (SQLite), mark their videos queued again so progress matches the queue; on Cloudflare
    the consumer updates each video as it takes it. The one redrive the CLI and API share."""
    if message_ids is not None:
        bad = [m for m in message_ids if is_video_id(m)]
        if bad:
            raise InvalidInput(
                f"{bad[0]!r} looks like a video id; redrive takes message ids (from the queue "
                "listing), or all of them"
            )
    back: list[VideoJob] = []
    if reader is not None and not queue.dead_letter_listing_consumes:
        wanted = None if message_ids is None else set(message_ids)
        back = [
            d.body
            for d in queue.dead_letters(1000)
            if isinstance(d.body, VideoJob) and (wanted is None or d.message_id in wanted)
        ]
    moved = queue.redrive(message_ids)
    if back and reader is not None:
        reader.mark_queued(back)
    return moved
