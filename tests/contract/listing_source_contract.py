"""The listing contract: one suite every ``shared.ports.ListingSource`` adapter must pass.

An adapter's test module subclasses ``ListingContract`` and provides a ``harness`` fixture
returning a ``ListingHarness``. Every test describes its channels and playlists on a
``DataApiStub`` (``harness.stub``) and then asks ``harness.make()`` for the adapter: the
Data API adapter talks to that stub over HTTP, the directory adapter reads the stub's
replies written to files. What an adapter may lack is declared by the harness and checked
against the adapter's own declaration (``lookups``), never probed.

The last test runs the backfill core over the adapter, so both paths (the CLI's
``asyncio.run`` and the Worker's await) see the same listing rules whatever the backend.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Protocol, TypeVar

import pytest

from producer.backfill import BackfillReport, run_backfill
from shared.errors import InvalidInput
from shared.listing import ListingRef, ListingTarget, PlaylistEntry, PlaylistPage, VideoDetails
from shared.models import VideoJob
from shared.ports import ListingSource
from shared.settings import Settings
from tests.support.data_api_stub import DataApiStub

CHANNEL = "UCabcdefghijklmnopqrstuv"
OTHER = "UCzyxwvutsrqponmlkjihgfe"
T = TypeVar("T")


class ListingHarness(Protocol):
    #: the fixtures every adapter is fed: fill it, then call ``make``
    stub: DataApiStub
    #: whether legacy ``/user/`` names resolve (only the Data API itself can)
    resolves_usernames: bool

    def make(self) -> ListingSource:
        """The adapter over what ``stub`` holds now."""
        ...


def use(harness: ListingHarness, work: Callable[[ListingSource], Awaitable[T]]) -> T:
    """Make the adapter, run ``work`` on it and close it, all in one event loop (an async
    HTTP client belongs to the loop it first ran on)."""

    async def go() -> T:
        listing = harness.make()
        try:
            return await work(listing)
        finally:
            await listing.aclose()

    return asyncio.run(go())


async def all_pages(listing: ListingSource, playlist_id: str) -> list[list[PlaylistEntry]]:
    pages = []
    token: str | None = None
    while True:
        page = await listing.playlist_page(playlist_id, token)
        pages.append(page.entries)
        token = page.next_token
        if token is None:
            return pages


class AwaitedQueue:
    """The Worker's kind of queue: ``send`` is awaited."""

    def __init__(self) -> None:
        self.batches: list[list[VideoJob]] = []

    async def send(self, jobs: Sequence[VideoJob], *, delay_s: int = 0) -> int:
        self.batches.append(list(jobs))
        return len(jobs)


class ListingContract:
    """Subclass as ``Test<Adapter>`` and provide a ``harness`` fixture."""

    def test_declares_name_lookups_and_page_size(self, harness: ListingHarness) -> None:
        async def check(listing: ListingSource) -> None:
            assert isinstance(listing, ListingSource)
            assert listing.name and 1 <= listing.page_size <= 50
            assert {"channel_id", "handle", "custom", "playlist"} <= listing.lookups
            assert ("username" in listing.lookups) == harness.resolves_usernames

        use(harness, check)

    def test_resolves_a_channel_by_id_handle_and_custom_name(self, harness: ListingHarness) -> None:
        harness.stub.add_channel(CHANNEL, "Queue Talks", 3, handle="@queuetalks")
        harness.stub.add_channel(OTHER, "Other", 1, handle="@other")
        refs = [
            ListingRef("channel_id", CHANNEL),
            ListingRef("handle", "@QueueTalks"),  # handles are case-insensitive
            ListingRef("custom", "queuetalks"),  # /c/<name>: tried as the handle
        ]

        async def resolve_all(listing: ListingSource) -> list[ListingTarget]:
            return [await listing.resolve(ref) for ref in refs]

        for target in use(harness, resolve_all):
            assert (target.kind, target.id, target.title) == ("channel", CHANNEL, "Queue Talks")
            assert target.playlist_id == "UU" + CHANNEL[2:]

    def test_usernames_resolve_where_declared(
        self, harness: ListingHarness, tmp_path: Path
    ) -> None:
        harness.stub.add_channel(CHANNEL, "Legacy", 1, username="legacyname")
        if harness.resolves_usernames:
            target = use(
                harness, lambda listing: listing.resolve(ListingRef("username", "legacyname"))
            )
            assert target.id == CHANNEL
            return
        # declared missing: the backfill core refuses before asking, and says what works
        settings = Settings.load(data_dir=tmp_path)
        with pytest.raises(InvalidInput, match=r"cannot look up a username.*@handle"):
            use(
                harness,
                lambda listing: run_backfill(
                    settings, AwaitedQueue(), None, "youtube.com/user/legacyname", listing=listing
                ),
            )

    @pytest.mark.parametrize(
        ("ref", "says"),
        [
            (ListingRef("handle", "@nobody"), "@nobody"),
            (ListingRef("channel_id", CHANNEL), CHANNEL),
            (ListingRef("playlist", "PLdoesnotexist00"), "PLdoesnotexist00"),
        ],
    )
    def test_unknown_channel_and_playlist_are_input_errors(
        self, harness: ListingHarness, ref: ListingRef, says: str
    ) -> None:
        harness.stub.add_channel(OTHER, "Other", 1, handle="@other")
        with pytest.raises(InvalidInput, match=says):
            use(harness, lambda listing: listing.resolve(ref))

    def test_a_playlist_resolves_to_itself_with_its_title(self, harness: ListingHarness) -> None:
        channel = harness.stub.add_channel(CHANNEL, "Queue Talks", 5)
        harness.stub.playlists["PLbestofqueues0001"] = ("Best of", channel.video_ids[:2])
        ref = ListingRef("playlist", "PLbestofqueues0001")
        target = use(harness, lambda listing: listing.resolve(ref))
        assert (target.kind, target.id, target.title) == ("playlist", ref.value, "Best of")
        assert target.playlist_id == ref.value

    def test_uploads_page_newest_first_each_entry_once(self, harness: ListingHarness) -> None:
        channel = harness.stub.add_channel(CHANNEL, "Daily", 120)

        async def pages_and_size(listing: ListingSource) -> tuple[list[list[PlaylistEntry]], int]:
            return await all_pages(listing, "UU" + CHANNEL[2:]), listing.page_size

        pages, size = use(harness, pages_and_size)
        assert len(pages) == 3 and all(len(p) <= size for p in pages)
        entries = [e for p in pages for e in p]
        assert [e.video_id for e in entries] == channel.video_ids
        dates = [e.published_at for e in entries if e.published_at is not None]
        assert len(dates) == 120 and all(d.tzinfo is not None for d in dates)
        assert dates == sorted(dates, reverse=True)

    def test_an_empty_channel_has_one_empty_page(self, harness: ListingHarness) -> None:
        harness.stub.add_channel(CHANNEL, "Silent", 0)
        page = use(harness, lambda listing: listing.playlist_page("UU" + CHANNEL[2:]))
        assert (page.entries, page.next_token) == ([], None)

    def test_video_details_metadata_live_state_and_private_ones(
        self, harness: ListingHarness
    ) -> None:
        channel = harness.stub.add_channel(CHANNEL, "Streams", 60, duration="PT1H2M3S")
        ids = channel.video_ids
        harness.stub.videos[ids[0]].live = "live"
        harness.stub.videos[ids[1]].live = "upcoming"
        harness.stub.videos[ids[2]].private = True

        async def read(listing: ListingSource) -> tuple[PlaylistPage, dict[str, VideoDetails]]:
            first = await listing.playlist_page("UU" + CHANNEL[2:])
            return first, await listing.video_details(ids)  # more than 50 ids

        first, details = use(harness, read)
        private = next(e for e in first.entries if e.video_id == ids[2])
        assert private.published_at is None  # listed, but undated: private or deleted
        assert set(details) == set(ids) - {ids[2]}
        assert details[ids[0]].is_live_or_upcoming and details[ids[1]].is_live_or_upcoming
        plain = details[ids[3]]
        assert not plain.is_live_or_upcoming and plain.live_broadcast == "none"
        meta = plain.meta
        assert (meta.title, meta.channel_id, meta.channel_title) == (
            "Streams #56",
            CHANNEL,
            "Streams",
        )
        assert meta.duration_s == 3723
        assert meta.published_at == datetime(2024, 2, 26, 12, 0, tzinfo=UTC)

    def test_backfill_core_over_the_adapter(self, harness: ListingHarness, tmp_path: Path) -> None:
        # 200 daily uploads; the newest is live, the next one upcoming
        channel = harness.stub.add_channel(CHANNEL, "Daily", 200, handle="@daily")
        harness.stub.videos[channel.video_ids[0]].live = "live"
        harness.stub.videos[channel.video_ids[1]].live = "upcoming"
        queue = AwaitedQueue()
        settings = Settings.load(data_dir=tmp_path)
        since = date(2024, 5, 20)

        def backfill(listing: ListingSource) -> Awaitable[BackfillReport]:
            return run_backfill(settings, queue, None, "@daily", since=since, listing=listing)

        report = use(harness, backfill)
        assert (report.kind, report.id, report.title) == ("channel", CHANNEL, "Daily")
        assert (report.found, report.skipped_live, report.enqueued) == (60, 2, 58)
        assert [len(b) for b in queue.batches] == [58]
        assert {j.video_id for b in queue.batches for j in b} == set(channel.video_ids[2:60])
