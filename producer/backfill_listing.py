"""What a backfill (``producer.backfill``) finds on a channel or playlist: the listing's
pages, the videos' details, and the ones due — published on or after ``--since``, neither
live nor upcoming.

Live streams and upcoming premieres (``liveBroadcastContent`` ``live``/``upcoming``) are not
due: they have no transcript yet and would fail for good. They are counted as
``skipped_live``; a later backfill picks them up once they have ended.

``--since`` on a channel stops paging once the uploads playlist reaches older videos: uploads
playlists are listed newest first, so the rest is older still. Not quite always: a premiere
or a scheduled video sits at its upload time, not its (later) publish time, so the page on
which the first older entry shows up is read to its end before stopping. Each page is a
quota unit of the listing (two Worker subrequests with its details).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from shared.errors import InvalidInput
from shared.listing import ListingTarget, PlaylistEntry, VideoDetails, parse_listing_ref
from shared.models import VideoMeta
from shared.ports import ListingSource


@dataclass(frozen=True)
class Listed:
    """A listed channel or playlist: what was found, and which of it is due."""

    target: ListingTarget
    #: unique entries on or after ``since`` (undated ones too), up to ``limit``
    entries: list[PlaylistEntry]
    #: the details of every entry still available (private and deleted ones have none)
    details: dict[str, VideoDetails]
    #: available, and published on or after ``since`` by the details' date
    current: list[VideoDetails]
    #: of those, the videos neither live nor upcoming: the ones to plan for
    videos: list[VideoMeta]

    @property
    def unavailable(self) -> int:
        return sum(1 for e in self.entries if e.video_id not in self.details)

    @property
    def skipped_live(self) -> int:
        return len(self.current) - len(self.videos)


async def list_videos(
    listing: ListingSource, ref: str, since: date | None, limit: int | None
) -> Listed:
    """Resolve ``ref``, list its entries and their details, and pick the videos due."""
    listing_ref = parse_listing_ref(ref)
    if listing_ref.kind not in listing.lookups:
        raise InvalidInput(
            f"the {listing.name} listing cannot look up a {listing_ref.kind} ({ref!r}): use "
            "the channel's @handle or UC… id"
        )
    target = await listing.resolve(listing_ref)
    entries = await list_entries(listing, target, since, limit)
    details = await listing.video_details([e.video_id for e in entries])
    # since: the playlist's date is the video's publish date; videos.list is the authority
    current = [
        details[e.video_id]
        for e in entries
        if e.video_id in details and _published_since(details[e.video_id].meta, since)
    ]
    videos = [d.meta for d in current if not d.is_live_or_upcoming]
    return Listed(target, entries, details, current, videos)


async def list_entries(
    listing: ListingSource, target: ListingTarget, since: date | None, limit: int | None
) -> list[PlaylistEntry]:
    """Unique entries on or after ``since`` (undated ones kept: they count as unavailable),
    page by page, stopping at ``limit`` and, on a channel, after the page reaching ``since``:
    each page is a quota unit."""

    def older(entry: PlaylistEntry) -> bool:
        return (
            since is not None
            and entry.published_at is not None
            and (entry.published_at.date() < since)
        )

    # only a channel's uploads playlist is in date order; a curated playlist is in any order
    newest_first = target.kind == "channel"
    unique: dict[str, PlaylistEntry] = {}
    token: str | None = None
    while True:
        page = await listing.playlist_page(target.playlist_id, token)
        reached_older = False
        for entry in page.entries:
            if older(entry):
                reached_older = True
                continue
            unique.setdefault(entry.video_id, entry)
            if limit is not None and len(unique) >= limit:
                return list(unique.values())
        token = page.next_token
        if token is None or (newest_first and reached_older):
            # the rest of the uploads are older still (see the module doc on premieres)
            return list(unique.values())


def _published_since(meta: VideoMeta, since: date | None) -> bool:
    return since is None or meta.published_at is None or meta.published_at.date() >= since
