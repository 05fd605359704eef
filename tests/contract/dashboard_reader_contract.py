"""The dashboard readers' contract: ``ChannelDirectory`` and ``ActivityReader``, the two
capabilities a result store may declare (``shared.ports.results``), held to one set of
rules on every store that has them.

An adapter's test module subclasses ``DashboardReaderContract`` and provides a ``harness``
fixture returning a ``DashboardHarness``: ``make`` builds a fresh, empty result store, and
the two fields declare which capabilities it has. The dashboard and ``tubeq channels``
decide with ``isinstance`` whether to ask, so a declaration must match the store: a store
that says it has none is checked for that, and skips the rest.

The rules the engines must agree on (SQLite and Postgres each run their own SQL):
channels come ordered by title without regard to the case of A-Z (only ASCII letters
fold: what SQLite's lower() does, whatever a server's locale), in code-point order (not a
locale's: "_x" before "a"), a channel without a title by its id, ties by id; a video
counts once, in the bucket of its state; ``finished_since`` returns only done videos,
each once at its latest finish, oldest first, ``since`` included, and compares instants
whatever the time zone they are written in.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, Protocol

import pytest

from shared.models import ChannelSummary, VideoJob, VideoState
from shared.ports import ActivityReader, ChannelDirectory, ResultBackend
from tests.support import factories as f

NOW = datetime(2026, 6, 1, 12, 0, 0, 250_000, tzinfo=UTC)


class DashboardHarness(Protocol):
    #: whether the store declares ``ChannelDirectory`` (``channels()``)
    has_channels: bool
    #: whether the store declares ``ActivityReader`` (``finished_since()``)
    has_activity: bool

    def make(self) -> ResultBackend:
        """A new, empty result store."""
        ...


def on_channel(n: int, channel_id: str, title: str | None, *, days_ago: int = 0) -> Any:
    """The meta of video ``n`` on that channel, published ``days_ago`` before ``NOW``."""
    return f.meta(
        n=n,
        channel_id=channel_id,
        channel_title=title,
        published_at=NOW - timedelta(days=days_ago),
    )


class DashboardReaderContract:
    """Subclass as ``Test<Adapter>`` and provide a ``harness`` fixture."""

    @pytest.fixture
    def store(self, harness: DashboardHarness) -> Iterator[Any]:
        built = harness.make()
        yield built
        built.close()

    @pytest.fixture
    def channels(self, harness: DashboardHarness, store: Any) -> Any:
        if not harness.has_channels:
            pytest.skip("the store does not declare ChannelDirectory")
        directory: ChannelDirectory = store
        return directory

    @pytest.fixture
    def activity(self, harness: DashboardHarness, store: Any) -> Any:
        if not harness.has_activity:
            pytest.skip("the store does not declare ActivityReader")
        reader: ActivityReader = store
        return reader

    def test_the_declared_capabilities_are_the_stores(
        self, harness: DashboardHarness, store: Any
    ) -> None:
        # the dashboard asks isinstance: a store that lacked a method it declares would
        # crash a page, one that hid a method would show "unknown" for nothing
        assert isinstance(store, ChannelDirectory) is harness.has_channels
        assert isinstance(store, ActivityReader) is harness.has_activity

    # ---- ChannelDirectory ----------------------------------------------------------------

    def test_an_empty_store_has_no_channels(self, channels: ChannelDirectory) -> None:
        assert channels.channels() == []

    def test_videos_are_counted_once_in_the_bucket_of_their_state(
        self, channels: ChannelDirectory, store: Any
    ) -> None:
        chan = "UCcountsChannel000000001"
        for n in (1, 2):
            store.record_success(f.result(n=n, video=on_channel(n, chan, "Counts", days_ago=n)))
        store.record_success(f.result(n=1, video=on_channel(1, chan, "Counts", days_ago=1)))
        store.record_failure(f.failure(n=3, video=on_channel(3, chan, "Counts", days_ago=3)))
        dead = f.failure(n=4, state=VideoState.DEAD, video=on_channel(4, chan, "Counts"))
        store.record_failure(dead)
        retrying = f.failure(n=5, state=VideoState.RETRYING, video=on_channel(5, chan, "Counts"))
        store.record_failure(retrying)
        store.mark_queued([VideoJob(video_id=f.video_id(6), meta=on_channel(6, chan, "Counts"))])
        # a failure that came after the success does not take a done video out of "analysed"
        store.record_failure(f.failure(n=2, video=on_channel(2, chan, "Counts", days_ago=2)))
        # a failure with no meta names no channel: it is nobody's video here
        store.record_failure(f.failure(n=7))
        (summary,) = channels.channels()
        assert summary == ChannelSummary(
            channel_id=chan,
            title="Counts",
            videos=6,
            analysed=2,
            failed=2,
            pending=2,
            last_published=NOW,
        )

    def test_channels_are_ordered_by_title_without_case_then_by_id(
        self, channels: ChannelDirectory, store: Any
    ) -> None:
        named = [
            ("UCb000000000000000000002", "beta"),
            ("UCa000000000000000000009", "Alpha"),
            ("UCa000000000000000000001", "alpha"),  # same title but for case: by id
            ("UCz000000000000000000000", "Zulu"),
            ("UCc000000000000000000000", None),  # no title: sorted by its id
            ("UCx000000000000000000000", "_underscore"),  # "_" sorts before letters
        ]
        for n, (chan, title) in enumerate(named, start=1):
            store.record_success(f.result(n=n, video=on_channel(n, chan, title)))
        got = [(c.channel_id, c.title) for c in channels.channels()]
        assert got == [
            ("UCx000000000000000000000", "_underscore"),
            ("UCa000000000000000000001", "alpha"),
            ("UCa000000000000000000009", "Alpha"),
            ("UCb000000000000000000002", "beta"),
            ("UCc000000000000000000000", None),
            ("UCz000000000000000000000", "Zulu"),
        ]

    def test_only_ascii_letters_fold_so_the_engines_agree_on_any_title(
        self, channels: ChannelDirectory, store: Any
    ) -> None:
        # SQLite's lower() folds A-Z only; Postgres's would follow its locale. Both fold
        # ASCII alone, so "Émile" keeps its É (U+00C9) and sorts before "élan" (U+00E9).
        named = [
            ("UCe000000000000000000001", "élan"),
            ("UCe000000000000000000002", "Émile"),
            ("UCe000000000000000000003", "Zed"),
            ("UCe000000000000000000004", "ebony"),
        ]
        for n, (chan, title) in enumerate(named, start=1):
            store.record_success(f.result(n=n, video=on_channel(n, chan, title)))
        assert [c.title for c in channels.channels()] == ["ebony", "Zed", "Émile", "élan"]

    def test_each_channel_has_its_own_counts_and_latest_video(
        self, channels: ChannelDirectory, store: Any
    ) -> None:
        store.record_success(f.result(n=1, video=on_channel(1, "UCone", "One", days_ago=5)))
        store.record_success(f.result(n=2, video=on_channel(2, "UCone", "One", days_ago=1)))
        store.record_failure(f.failure(n=3, video=on_channel(3, "UCtwo", "Two", days_ago=9)))
        one, two = channels.channels()
        assert (one.channel_id, one.videos, one.analysed, one.failed) == ("UCone", 2, 2, 0)
        assert one.last_published == NOW - timedelta(days=1)
        assert (two.channel_id, two.videos, two.analysed, two.failed) == ("UCtwo", 1, 0, 1)
        assert two.last_published == NOW - timedelta(days=9)

    # ---- ActivityReader ------------------------------------------------------------------

    def test_nothing_finished_in_an_empty_store(self, activity: ActivityReader) -> None:
        assert activity.finished_since(NOW - timedelta(days=365)) == []

    def test_only_done_videos_since_then_oldest_first(
        self, activity: ActivityReader, store: Any
    ) -> None:
        times = [NOW - timedelta(minutes=m) for m in (3, 30, 7, 90)]
        for n, when in enumerate(times, start=1):
            store.record_success(f.result(n=n, finished_at=when))
        store.record_failure(f.failure(n=5, at=NOW - timedelta(minutes=1)))
        store.mark_queued([VideoJob(video_id=f.video_id(6), meta=f.meta(n=6))])
        assert activity.finished_since(NOW - timedelta(hours=1)) == sorted(times[:3])
        assert activity.finished_since(NOW - timedelta(minutes=10)) == sorted([times[0], times[2]])
        assert activity.finished_since(NOW) == []

    def test_since_is_included(self, activity: ActivityReader, store: Any) -> None:
        store.record_success(f.result(n=1, finished_at=NOW))
        assert activity.finished_since(NOW) == [NOW]
        assert activity.finished_since(NOW + timedelta(microseconds=1)) == []

    def test_instants_compare_whatever_their_time_zone(
        self, activity: ActivityReader, store: Any
    ) -> None:
        paris = timezone(timedelta(hours=2))
        store.record_success(
            f.result(n=1, finished_at=(NOW - timedelta(minutes=5)).astimezone(paris))
        )
        store.record_success(f.result(n=2, finished_at=NOW - timedelta(minutes=50)))
        since = (NOW - timedelta(minutes=10)).astimezone(paris)
        (when,) = activity.finished_since(since)
        assert when == NOW - timedelta(minutes=5) and when.utcoffset() is not None

    def test_a_naive_since_is_utc_on_every_engine(
        self, activity: ActivityReader, store: Any, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        # not the database session's zone: libpq sets it from PGTZ on each new connection
        monkeypatch.setenv("PGTZ", "Asia/Kolkata")
        store.record_success(f.result(n=1, finished_at=NOW - timedelta(minutes=5)))
        naive = (NOW - timedelta(minutes=10)).replace(tzinfo=None)
        assert activity.finished_since(naive) == [NOW - timedelta(minutes=5)]
        later = (NOW - timedelta(minutes=1)).replace(tzinfo=None)
        assert activity.finished_since(later) == []

    def test_a_video_done_again_counts_once_at_its_latest_finish(
        self, activity: ActivityReader, store: Any
    ) -> None:
        store.record_success(f.result(n=1, finished_at=NOW - timedelta(minutes=40)))
        store.record_success(f.result(n=1, finished_at=NOW - timedelta(minutes=4)))
        assert activity.finished_since(NOW - timedelta(hours=1)) == [NOW - timedelta(minutes=4)]
