"""The cron poll: enqueue the uploads of watched channels that are new since the last run.

What "seen" means: per channel, a watermark in the Worker's KV namespace (binding
``WATCH_STATE``, key ``watch:<channel id>``): the publish time of the newest upload already
handled. A run lists the channel's uploads playlist newest first and stops at the first
upload at or before the watermark, so each run costs one or two Data API units per channel.

- First sight of a channel: nothing is enqueued, the newest upload becomes the watermark.
  History is a backfill's job (``POST /v1/jobs {"channel": …}``), not the cron's.
- The watermark moves only after the jobs were sent: a crash in between re-sends them on
  the next run (harmless — the consumer skips finished videos), never loses them.
- At most ``MAX_NEW_PER_RUN`` uploads per channel per run; past that a warning says to run
  a backfill with ``since``.
- One channel failing (a typo, a quota error) is logged and the others still run.
"""

from __future__ import annotations

from collections.abc import Awaitable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

import structlog

from producer.youtube_data_api import PlaylistEntry, YouTubeDataApi, parse_listing_ref
from shared.errors import TubeqError
from shared.models import VideoJob
from shared.ports import ResultReader
from shared.settings import Settings

log = structlog.get_logger(__name__)

KEY_PREFIX = "watch:"
MAX_NEW_PER_RUN = 200


class WatchState(Protocol):
    """The two KV methods used (a Workers KV binding has both; they return Promises)."""

    def get(self, key: str) -> Awaitable[Any]: ...

    def put(self, key: str, value: str) -> Awaitable[Any]: ...


class JobSender(Protocol):
    async def send_async(self, jobs: Sequence[VideoJob], *, delay_s: int = 0) -> int: ...


@dataclass(frozen=True)
class ChannelPoll:
    ref: str
    channel_id: str | None = None
    enqueued: int = 0
    first_seen: bool = False
    error: str | None = None


async def poll_watched_channels(
    settings: Settings,
    queue: JobSender,
    state: WatchState,
    *,
    reader: ResultReader | None = None,
    api: YouTubeDataApi | None = None,
) -> list[ChannelPoll]:
    """Poll every channel in ``settings.watched_channels``; one result per channel."""
    if not settings.watched_channels:
        return []
    client = api or YouTubeDataApi.from_settings(settings)
    results = []
    try:
        for ref in settings.watched_channels:
            try:
                results.append(await _poll_channel(client, queue, state, reader, ref))
            except TubeqError as exc:
                log.warning("watch.channel_failed", channel=ref, code=exc.code, error=exc.message)
                results.append(ChannelPoll(ref=ref, error=exc.message))
    finally:
        if api is None:
            client.close()
    return results


async def _poll_channel(
    client: YouTubeDataApi,
    queue: JobSender,
    state: WatchState,
    reader: ResultReader | None,
    ref: str,
) -> ChannelPoll:
    target = client.resolve(parse_listing_ref(ref))
    key = KEY_PREFIX + target.id
    watermark = _parse_time(await state.get(key))
    fresh: list[PlaylistEntry] = []
    for entry in client.playlist_entries(target.playlist_id):
        if entry.published_at is None:
            continue  # private or deleted: nothing to analyse
        if watermark is None:
            await state.put(key, entry.published_at.isoformat())
            log.info("watch.first_seen", channel=target.id, newest=entry.published_at)
            return ChannelPoll(ref=ref, channel_id=target.id, first_seen=True)
        if entry.published_at <= watermark:
            break
        fresh.append(entry)
        if len(fresh) >= MAX_NEW_PER_RUN:
            log.warning(
                "watch.too_many_new",
                channel=target.id,
                limit=MAX_NEW_PER_RUN,
                hint="run a backfill with since= for the rest",
            )
            break
    if not fresh:
        return ChannelPoll(ref=ref, channel_id=target.id)
    metas = client.videos([e.video_id for e in fresh])
    jobs = [
        VideoJob(video_id=e.video_id, source="schedule", meta=metas[e.video_id])
        for e in fresh
        if e.video_id in metas  # gone private between the two calls
    ]
    if jobs:
        await queue.send_async(jobs)
        if reader is not None:
            reader.mark_queued(jobs)
    newest = max(e.published_at for e in fresh if e.published_at is not None)
    await state.put(key, newest.isoformat())
    log.info("watch.enqueued", channel=target.id, enqueued=len(jobs))
    return ChannelPoll(ref=ref, channel_id=target.id, enqueued=len(jobs))


def _parse_time(value: object) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None  # JS null/undefined arrive as None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        log.warning("watch.bad_watermark", value=value[:40])
        return None
