"""The cron poll: enqueue every upload of a watched channel not seen before.

Why a window and a seen set, not a watermark: the uploads playlist is ordered by upload
time, not by publish time. A premiere, a scheduled video or one made public days after it
was uploaded appears *behind* newer uploads, with a publish time that may be older than the
newest one already handled, so "stop at the first entry at or before the watermark" would
skip it forever. Each run therefore reads a fixed window (``WINDOW_PAGES`` pages of 50, the
newest uploads) and enqueues every dated entry in it that is not in the channel's set of
recently seen ids.

State, per channel, in the Worker's KV namespace (binding ``WATCH_STATE``, key
``watch:<channel id>``): JSON ``{"seen": [...], "watermark": iso}`` — at most ``MAX_SEEN``
ids, newest first (more than a window holds, so nothing in the window is ever forgotten),
and the newest publish time handled (for people reading the state). An old state holding
only a watermark string is read as "everything published up to it was seen".

- Undated entries (private or deleted) are not marked seen: made public later, they are
  enqueued then. Live streams and premieres not yet over are not enqueued nor marked seen
  (no transcript yet): a later run picks them up when they end.
- First sight of a channel: nothing is enqueued, the window is marked seen (except streams
  and premieres not over, enqueued when they end). History is a backfill's job
  (``POST /v1/jobs {"channel": …}``), not the cron's.
- The state moves only after the jobs were sent: a crash in between re-sends them on the
  next run (harmless — the consumer skips finished videos), never loses them.
- One channel failing (a typo, a quota error) is logged and the others still run.

Cost: 1 + ``WINDOW_PAGES`` Data API units per channel per run (the channel lookup and the
window), +1 per 50 new or waiting videos: a 30-minute cron spends ~150 units a day per
channel of the default 10,000. A channel uploading more than a window between two runs
needs a backfill for the rest.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

import structlog

from shared.errors import TubeqError
from shared.listing import PlaylistEntry, parse_listing_ref
from shared.models import VideoJob
from shared.ports import JobSender, ListingSource, WatchState
from shared.settings import Settings

log = structlog.get_logger(__name__)

KEY_PREFIX = "watch:"
WINDOW_PAGES = 2
MAX_SEEN = 500


@dataclass(frozen=True)
class ChannelPoll:
    ref: str
    channel_id: str | None = None
    enqueued: int = 0
    first_seen: bool = False
    error: str | None = None


@dataclass
class ChannelState:
    seen: list[str] = field(default_factory=list)
    watermark: datetime | None = None
    #: an old state that only kept a watermark: entries up to it count as seen
    legacy: bool = False

    @classmethod
    def parse(cls, raw: object) -> ChannelState | None:
        if not isinstance(raw, str) or not raw:
            return None  # JS null/undefined arrive as None: first sight
        try:
            data = json.loads(raw)
        except ValueError:
            return cls(watermark=_parse_time(raw), legacy=True)
        if not isinstance(data, dict):
            return cls(legacy=True)
        seen = [s for s in data.get("seen") or [] if isinstance(s, str)]
        return cls(seen, _parse_time(data.get("watermark")))

    def dump(self) -> str:
        watermark = self.watermark.isoformat() if self.watermark else None
        return json.dumps({"seen": self.seen, "watermark": watermark})

    def was_seen(self, entry: PlaylistEntry) -> bool:
        if entry.video_id in self.seen:
            return True
        if not self.legacy or self.watermark is None or entry.published_at is None:
            return False
        return entry.published_at <= self.watermark

    def remember(self, ids: Sequence[str], newest: datetime | None) -> None:
        fresh = [i for i in dict.fromkeys(ids) if i not in self.seen]
        self.seen = (fresh + self.seen)[:MAX_SEEN]
        if newest is not None and (self.watermark is None or newest > self.watermark):
            self.watermark = newest
        self.legacy = False


async def poll_watched_channels(
    settings: Settings,
    queue: JobSender,
    state: WatchState,
    *,
    listing: ListingSource | None = None,
) -> list[ChannelPoll]:
    """Poll every channel in ``settings.watched_channels``; one result per channel."""
    if not settings.watched_channels:
        return []
    if listing is None:
        from shared.factory import build_listing_source  # composition root, when not given

        client = build_listing_source(settings)
    else:
        client = listing
    results = []
    try:
        for ref in settings.watched_channels:
            try:
                results.append(await _poll_channel(client, queue, state, ref))
            except TubeqError as exc:
                log.warning("watch.channel_failed", channel=ref, code=exc.code, error=exc.message)
                results.append(ChannelPoll(ref=ref, error=exc.message))
    finally:
        if listing is None:
            await client.aclose()
    return results


async def _window(client: ListingSource, playlist_id: str) -> list[PlaylistEntry]:
    entries: list[PlaylistEntry] = []
    token: str | None = None
    for _ in range(WINDOW_PAGES):
        page = await client.playlist_page(playlist_id, token)
        entries.extend(page.entries)
        token = page.next_token
        if token is None:
            break
    return [e for e in entries if e.published_at is not None]  # undated: private, deleted


async def _poll_channel(
    client: ListingSource, queue: JobSender, state: WatchState, ref: str
) -> ChannelPoll:
    target = await client.resolve(parse_listing_ref(ref))
    key = KEY_PREFIX + target.id
    known = ChannelState.parse(await state.get(key))
    current = known or ChannelState()
    window = await _window(client, target.playlist_id)
    newest = max((e.published_at for e in window if e.published_at), default=None)
    candidates = [e for e in window if known is None or not current.was_seen(e)]
    details = await client.video_details([e.video_id for e in candidates])
    # looked at again next run: not public any more, or a stream / premiere not over yet
    later = {
        e.video_id
        for e in candidates
        if e.video_id not in details or details[e.video_id].is_live_or_upcoming
    }
    jobs = [
        VideoJob(video_id=e.video_id, source="schedule", meta=details[e.video_id].meta)
        for e in candidates
        if e.video_id not in later
    ]
    if jobs and known is not None:  # first sight enqueues no history
        sent = queue.send(jobs)
        if inspect.isawaitable(sent):  # the binding's Promise
            await sent
    current.remember([e.video_id for e in window if e.video_id not in later], newest)
    await state.put(key, current.dump())
    if known is None:
        log.info("watch.first_seen", channel=target.id, marked=len(window) - len(later))
        return ChannelPoll(ref=ref, channel_id=target.id, first_seen=True)
    log.info("watch.enqueued", channel=target.id, enqueued=len(jobs), waiting=len(later))
    return ChannelPoll(ref=ref, channel_id=target.id, enqueued=len(jobs))


def _parse_time(value: object) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        log.warning("watch.bad_watermark", value=value[:40])
        return None
