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


class VideoRedrive(BaseModel):
    """What ``redrive_videos`` did for the video ids it was given."""

    #: videos whose dead letters went back on the queue (or were sent again, see below)
    redriven: list[str]
    #: given ids that have no dead letter here (never dead, or already redriven)
    not_dead: list[str]


def redrive_videos(queue: ApiQueue, reader: ResultReader, video_ids: Sequence[str]) -> VideoRedrive:
    """Redrive the dead letters of these videos (operators know videos, not message ids).

    Where listing the dead-letter queue is free (SQLite) each video's letters are found
    there and redriven. Where it costs them an attempt (Cloudflare), the result store says
    which videos are dead and each gets a fresh job instead; its old letter stays in the
    DLQ until it is redriven or expires, harmless since a redelivered done video is skipped.
    """
    wanted = list(dict.fromkeys(video_ids))
    if not queue.dead_letter_listing_consumes:
        letters: dict[str, list[str]] = {}
        for d in queue.dead_letters(FAILURE_SCAN):
            if isinstance(d.body, VideoJob) and d.body.video_id in wanted:
                letters.setdefault(d.body.video_id, []).append(d.message_id)
        ids = [m for v in wanted for m in letters.get(v, [])]
        if ids:
            redrive_and_mark(queue, reader, ids)
        return VideoRedrive(
            redriven=[v for v in wanted if v in letters],
            not_dead=[v for v in wanted if v not in letters],
        )
    states = reader.states(wanted)
    dead = [v for v in wanted if states.get(v) == VideoState.DEAD]
    if dead:
        jobs = [VideoJob(video_id=v, source="redrive") for v in dead]
        sent = queue.send(jobs)
        if not isinstance(sent, int):  # an async sender (the Worker) is not used here
            raise TypeError("redrive_videos needs a synchronous queue")
        reader.mark_queued(jobs)
    return VideoRedrive(redriven=dead, not_dead=[v for v in wanted if v not in dead])
