"""Backfills through the real httpx client against a local Data API stub, into the SQLite
queue and result store."""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from datetime import date
from pathlib import Path

import pytest
import typer
from pydantic import SecretStr
from typer.testing import CliRunner

from producer.backfill import BackfillReport, backfill
from shared.adapters.sqlite_queue import SqliteQueue
from shared.adapters.sqlite_results import SqliteResultStore
from shared.classify.data_api import DataApiRetry
from shared.errors import (
    AccessDenied,
    ConfigError,
    InvalidInput,
    RateLimited,
    UpstreamRejected,
    UpstreamUnavailable,
)
from shared.gemini import prompt
from shared.gemini.chunking import estimate_tokens
from shared.listing import ListingRef
from shared.models import (
    Analysis,
    FailureRecord,
    Segment,
    Transcript,
    VideoJob,
    VideoMeta,
    VideoResult,
    VideoState,
    VideoStatus,
)
from shared.settings import Settings
from shared.youtube_data_api import YouTubeDataApi, parse_iso_duration, parse_listing_ref
from tests.support.data_api_stub import API_KEY, DataApiStub

pytestmark = pytest.mark.services

CHANNEL = "UCabcdefghijklmnopqrstuv"  # 24 characters, like a real channel id
EMPTY = "UCzzzzzzzzzzzzzzzzzzzzzz"
VERSION = "test:v1"


@pytest.fixture()
def stub() -> Iterator[DataApiStub]:
    server = DataApiStub()
    with server:
        yield server


@pytest.fixture()
def settings(stub: DataApiStub, tmp_path: Path) -> Settings:
    return Settings.load(
        data_dir=tmp_path,
        youtube_api_key=API_KEY,
        youtube_api_url=stub.url,
        youtube_api_timeout_s=5.0,
        youtube_api_retry_wait_s=0.0,
    )


@pytest.fixture()
def queue(tmp_path: Path) -> Iterator[SqliteQueue]:
    q = SqliteQueue(tmp_path / "queue.sqlite3")
    yield q
    q.close()


@pytest.fixture()
def store(tmp_path: Path) -> Iterator[SqliteResultStore]:
    s = SqliteResultStore(tmp_path / "results.sqlite3")
    yield s
    s.close()


def run(
    settings: Settings, queue: SqliteQueue, store: SqliteResultStore, ref: str, **kw: object
) -> BackfillReport:
    return backfill(settings, queue, store, ref, analysis_version=VERSION, **kw)  # type: ignore[arg-type]


def queued_ids(queue: SqliteQueue) -> list[str]:
    out: list[str] = []
    while batch := queue.pull(100, 60):
        out.extend(d.body.video_id for d in batch)
    return out


# ---- parsing ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "kind", "value"),
    [
        (CHANNEL, "channel_id", CHANNEL),
        ("@SomeHandle", "handle", "@SomeHandle"),
        ("https://www.youtube.com/@SomeHandle/videos", "handle", "@SomeHandle"),
        (f"https://youtube.com/channel/{CHANNEL}", "channel_id", CHANNEL),
        ("youtube.com/c/LegacyName", "custom", "LegacyName"),
        ("https://m.youtube.com/user/oldname", "username", "oldname"),
        ("PLrAXtmErZgOeiKm4sgNOknGvNjby9efdf", "playlist", "PLrAXtmErZgOeiKm4sgNOknGvNjby9efdf"),
        (
            "https://www.youtube.com/playlist?list=PLabcdefghijklmnop",
            "playlist",
            "PLabcdefghijklmnop",
        ),
        (
            "https://www.youtube.com/watch?v=dQw4w9WgXcQ&list=PLxyzxyzxyzxyzxy",
            "playlist",
            "PLxyzxyzxyzxyzxy",
        ),
    ],
)
def test_parse_listing_ref(raw: str, kind: str, value: str) -> None:
    assert parse_listing_ref(raw) == ListingRef(kind, value)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "raw", ["", "hello", "https://vimeo.com/123", "https://youtube.com/watch?v=dQw4w9WgXcQ"]
)
def test_parse_listing_ref_rejects_with_guidance(raw: str) -> None:
    with pytest.raises(InvalidInput, match="channel or playlist"):
        parse_listing_ref(raw)


@pytest.mark.parametrize(
    ("iso", "seconds"),
    [
        ("PT15S", 15),
        ("PT4M13S", 253),
        ("PT1H2M3S", 3723),
        ("P1DT1H", 90000),
        ("P0D", 0),
        ("bad", None),
    ],
)
def test_parse_iso_duration(iso: str, seconds: int | None) -> None:
    assert parse_iso_duration(iso) == seconds


# ---- listing and enqueueing --------------------------------------------------------------


def test_channel_by_handle_pages_through_120_videos(
    stub: DataApiStub, settings: Settings, queue: SqliteQueue, store: SqliteResultStore
) -> None:
    stub.add_channel(CHANNEL, "Queue Talks", 120, handle="@queuetalks", duration="PT1H2M3S")
    progress: list[tuple[int, int]] = []
    report = run(
        settings, queue, store, "@queuetalks", on_progress=lambda d, t: progress.append((d, t))
    )

    assert (report.kind, report.id, report.title) == ("channel", CHANNEL, "Queue Talks")
    assert report.playlist_id == "UU" + CHANNEL[2:]
    assert (report.found, report.enqueued, report.dry_run) == (120, 120, False)
    pages = stub.endpoint_calls("playlistItems")
    assert [p.get("pageToken") for p in pages] == [None, "50", "100"]
    assert all(p["maxResults"] == "50" for p in pages)
    assert [len(p["id"].split(",")) for p in stub.endpoint_calls("videos")] == [50, 50, 20]
    assert stub.endpoint_calls("channels")[0] == {
        "part": "contentDetails,snippet",
        "forHandle": "@queuetalks",
    }
    assert progress == [(100, 120), (120, 120)]  # chunks of 100

    deliveries = queue.pull(100, 60) + queue.pull(100, 60)
    assert len(deliveries) == 120
    job = next(d.body for d in deliveries if d.body.video_id == stub.channels[CHANNEL].video_ids[0])
    assert job.source == f"backfill:{CHANNEL}"
    assert job.meta is not None
    assert job.meta.title == "Queue Talks #119"
    assert job.meta.duration_s == 3723
    assert job.meta.channel_id == CHANNEL
    assert job.meta.published_at is not None and job.meta.published_at.date() == date(2024, 4, 29)
    status = store.get_video(job.video_id)
    assert status is not None and status.state == VideoState.QUEUED


def test_channel_with_no_videos(
    stub: DataApiStub, settings: Settings, queue: SqliteQueue, store: SqliteResultStore
) -> None:
    stub.add_channel(EMPTY, "Silent", 0)
    report = run(settings, queue, store, f"https://www.youtube.com/channel/{EMPTY}")
    assert (report.found, report.enqueued, report.estimated_input_tokens) == (0, 0, 0)
    assert queue.stats().ready == 0


def test_unknown_channel_is_a_clear_input_error(
    stub: DataApiStub, settings: Settings, queue: SqliteQueue, store: SqliteResultStore
) -> None:
    with pytest.raises(InvalidInput, match="no YouTube channel found for '@nobody'"):
        run(settings, queue, store, "@nobody")


def test_custom_url_falls_back_from_handle_to_username(
    stub: DataApiStub, settings: Settings, queue: SqliteQueue, store: SqliteResultStore
) -> None:
    stub.add_channel(CHANNEL, "Legacy", 3, username="legacyname")
    report = run(settings, queue, store, "https://www.youtube.com/c/legacyname")
    assert (report.id, report.enqueued) == (CHANNEL, 3)
    lookups = stub.endpoint_calls("channels")
    assert [("forHandle" in c, "forUsername" in c) for c in lookups] == [
        (True, False),
        (False, True),
    ]


def test_playlist_by_url(
    stub: DataApiStub, settings: Settings, queue: SqliteQueue, store: SqliteResultStore
) -> None:
    channel = stub.add_channel(CHANNEL, "Queue Talks", 10)
    stub.playlists["PLbestofqueues0001"] = ("Best of", channel.video_ids[:4])
    report = run(settings, queue, store, "https://www.youtube.com/playlist?list=PLbestofqueues0001")
    assert (report.kind, report.title, report.enqueued) == ("playlist", "Best of", 4)
    assert sorted(queued_ids(queue)) == sorted(channel.video_ids[:4])


def test_unknown_playlist(
    stub: DataApiStub, settings: Settings, queue: SqliteQueue, store: SqliteResultStore
) -> None:
    with pytest.raises(InvalidInput, match="no YouTube playlist 'PLdoesnotexist00'"):
        run(settings, queue, store, "PLdoesnotexist00")


@pytest.mark.parametrize("legacy", [False, True], ids=["api-key-invalid-detail", "keyInvalid"])
def test_bad_key_says_which_setting_to_check(
    stub: DataApiStub,
    settings: Settings,
    queue: SqliteQueue,
    store: SqliteResultStore,
    legacy: bool,
) -> None:
    # today: 400 badRequest + ErrorInfo API_KEY_INVALID; before: 400 keyInvalid
    stub.api_key = "a-different-key"
    stub.legacy_key_error = legacy
    with pytest.raises(AccessDenied, match="TUBEQ_YOUTUBE_API_KEY") as info:
        run(settings, queue, store, CHANNEL)
    assert API_KEY not in info.value.message
    assert info.value.systemic  # nothing lists until the key is fixed
    assert len(stub.endpoint_calls("channels")) == 1  # a refused key is not retried


@pytest.mark.parametrize(
    ("endpoint", "error", "expected", "says"),
    [
        (
            "playlistItems",
            (
                403,
                "The request is not properly authorized to retrieve the specified playlist.",
                "playlistItemsNotAccessible",
                "youtube.playlistItem",
            ),
            InvalidInput,
            "private",
        ),
        (
            "channels",
            (403, "The channel is closed.", "channelClosed", "youtube.channel"),
            InvalidInput,
            "closed",
        ),
        (
            "playlistItems",
            (403, "Rate limit exceeded.", "rateLimitExceeded", "usageLimits"),
            RateLimited,
            "rate limit",
        ),
        (
            "videos",
            (403, "User rate limit exceeded.", "userRateLimitExceeded", "usageLimits"),
            RateLimited,
            "rate limit",
        ),
        (
            "channels",
            (
                403,
                "Access Not Configured. YouTube Data API has not been used in project 1.",
                "accessNotConfigured",
                "usageLimits",
            ),
            AccessDenied,
            "TUBEQ_YOUTUBE_API_KEY",
        ),
        (
            "channels",
            (
                403,
                "Requests from this API key are blocked (restricted to other APIs).",
                "forbidden",
                "global",
            ),
            AccessDenied,
            "TUBEQ_YOUTUBE_API_KEY",
        ),
        (
            "playlistItems",
            (403, "Forbidden", "forbidden", "youtube.playlistItem"),
            UpstreamRejected,
            "Forbidden",
        ),
    ],
    ids=[
        "private-playlist",
        "closed-channel",
        "rate-limit",
        "user-rate-limit",
        "api-not-enabled",
        "key-restricted",
        "other-forbidden",
    ],
)
def test_only_key_problems_blame_the_key(
    stub: DataApiStub,
    settings: Settings,
    queue: SqliteQueue,
    store: SqliteResultStore,
    endpoint: str,
    error: tuple[int, str, str, str],
    expected: type[Exception],
    says: str,
) -> None:
    stub.add_channel(CHANNEL, "Locked", 3)
    stub.endpoint_errors[endpoint] = error
    with pytest.raises(expected) as info:
        run(settings, queue, store, CHANNEL)
    message = str(info.value)
    assert says in message
    if expected is not AccessDenied:
        assert "TUBEQ_YOUTUBE_API_KEY" not in message
    if expected is RateLimited:
        assert isinstance(info.value, RateLimited)
        assert info.value.retry_after == pytest.approx(60.0)  # a minute, not until midnight
    assert queue.stats().ready == 0


def test_missing_key_is_a_config_error(
    queue: SqliteQueue, store: SqliteResultStore, tmp_path: Path
) -> None:
    settings = Settings.load(data_dir=tmp_path, listing_backend="youtube")
    with pytest.raises(ConfigError, match="TUBEQ_YOUTUBE_API_KEY is not set"):
        run(settings, queue, store, CHANNEL)


def test_quota_exceeded_says_when_it_resets(
    stub: DataApiStub, settings: Settings, queue: SqliteQueue, store: SqliteResultStore
) -> None:
    stub.quota_exhausted = True
    with pytest.raises(RateLimited, match=r"quota exhausted.*midnight Pacific") as info:
        run(settings, queue, store, CHANNEL)
    assert info.value.retry_after is not None and 0 < info.value.retry_after <= 25 * 3600


def test_server_errors_are_retried(stub: DataApiStub) -> None:
    stub.add_channel(CHANNEL, "Flaky", 2)
    stub.fail_next = 2
    with YouTubeDataApi(SecretStr(API_KEY), base_url=stub.url, retry_wait_s=0.0) as api:
        target = api.resolve(parse_listing_ref(CHANNEL))
    assert target.id == CHANNEL
    assert len(stub.endpoint_calls("channels")) == 3


def test_since_and_limit(
    stub: DataApiStub, settings: Settings, queue: SqliteQueue, store: SqliteResultStore
) -> None:
    stub.add_channel(CHANNEL, "Daily", 120)  # video n published 2024-01-01 + n days
    since = run(settings, queue, store, CHANNEL, since=date(2024, 4, 20), dry_run=True)
    assert since.found == 10  # days 110..119
    # uploads are newest first: the first page already reaches older videos, so it stops
    assert len(stub.endpoint_calls("playlistItems")) == 1

    limited = run(settings, queue, store, CHANNEL, limit=7)
    assert (limited.found, limited.enqueued) == (7, 7)
    # the listing stops at the limit: one page, not three
    assert len(stub.endpoint_calls("playlistItems")) == 1 + 1
    newest = stub.channels[CHANNEL].video_ids[:7]
    assert sorted(queued_ids(queue)) == sorted(newest)


def test_since_stops_paging_only_a_channel_after_the_page_with_older_uploads(
    stub: DataApiStub, settings: Settings, queue: SqliteQueue, store: SqliteResultStore
) -> None:
    channel = stub.add_channel(CHANNEL, "Daily", 200)
    # newest 60 (days 140..199) span two pages; the older page-2 entries end the listing
    report = run(settings, queue, store, CHANNEL, since=date(2024, 5, 20), dry_run=True)
    assert report.found == 60
    assert [p.get("pageToken") for p in stub.endpoint_calls("playlistItems")] == [None, "50"]

    # a curated playlist is in any order: it is read to the end
    stub.calls.clear()
    stub.playlists["PLoldestfirst00001"] = ("Oldest first", list(reversed(channel.video_ids)))
    mixed = run(settings, queue, store, "PLoldestfirst00001", since=date(2024, 5, 20), dry_run=True)
    assert mixed.found == 60
    assert len(stub.endpoint_calls("playlistItems")) == 4


def test_live_and_upcoming_videos_are_skipped_not_failed(
    stub: DataApiStub, settings: Settings, queue: SqliteQueue, store: SqliteResultStore
) -> None:
    channel = stub.add_channel(CHANNEL, "Streams", 5)
    live, upcoming = channel.video_ids[0], channel.video_ids[1]
    stub.videos[live].live = "live"
    stub.videos[upcoming].live = "upcoming"
    report = run(settings, queue, store, CHANNEL)
    assert (report.found, report.skipped_live, report.enqueued) == (5, 2, 3)
    assert set(queued_ids(queue)) == set(channel.video_ids[2:])
    assert store.get_video(live) is None  # not queued, not failed: a later run takes it

    # once the stream has ended, the next backfill enqueues it
    stub.videos[live].live = "none"
    again = run(settings, queue, store, CHANNEL)
    assert (again.skipped_live, again.enqueued) == (1, 1)
    assert queued_ids(queue) == [live]


def test_videos_list_does_not_send_max_results_with_id(
    stub: DataApiStub, settings: Settings, queue: SqliteQueue, store: SqliteResultStore
) -> None:
    stub.add_channel(CHANNEL, "Plain", 3)
    run(settings, queue, store, CHANNEL, dry_run=True)
    [call] = stub.endpoint_calls("videos")
    assert "id" in call and "maxResults" not in call


def test_private_videos_are_counted_not_enqueued(
    stub: DataApiStub, settings: Settings, queue: SqliteQueue, store: SqliteResultStore
) -> None:
    channel = stub.add_channel(CHANNEL, "Mixed", 5)
    stub.videos[channel.video_ids[1]].private = True
    report = run(settings, queue, store, CHANNEL)
    assert (report.found, report.unavailable, report.enqueued) == (5, 1, 4)


def test_dry_run_numbers(
    stub: DataApiStub, tmp_path: Path, queue: SqliteQueue, store: SqliteResultStore
) -> None:
    stub.add_channel(CHANNEL, "Ten minutes each", 120, duration="PT10M")
    settings = Settings.load(
        data_dir=tmp_path,
        youtube_api_key=API_KEY,
        youtube_api_url=stub.url,
        gemini_price_input_per_m=0.10,
        gemini_price_output_per_m=0.40,
        gemini_rpm=60,
        gemini_tpm=1_000_000,
        youtube_api_retry_wait_s=0.0,
    )
    report = run(settings, queue, store, CHANNEL, dry_run=True)
    assert report.enqueued == 120 and report.dry_run
    assert report.estimated_model_calls == 120  # 10 minutes: one call each
    per_video = report.estimated_input_tokens / 120
    # the transcript as rendered (≈ 2,000 tokens of speech + timestamps) + the system
    # instruction and schema every call carries
    overhead = estimate_tokens(
        prompt.SYSTEM_INSTRUCTION + json.dumps(prompt.response_json_schema())
    )
    assert 2_000 + overhead < per_video < 3_500 + overhead
    assert report.estimated_output_tokens == 120 * 800
    assert report.estimated_cost_usd == pytest.approx(
        (report.estimated_input_tokens * 0.10 + report.estimated_output_tokens * 0.40) / 1e6,
        abs=1e-6,
    )
    # 120 calls at 60 rpm: two minutes (the token budget would allow it in ~23 s)
    assert report.estimated_duration_s == pytest.approx(120.0)
    assert queue.stats().ready == 0
    assert store.get_video(stub.channels[CHANNEL].video_ids[0]) is None


def test_long_videos_estimate_chunked_calls(
    stub: DataApiStub, tmp_path: Path, queue: SqliteQueue, store: SqliteResultStore
) -> None:
    stub.add_channel(CHANNEL, "Streams", 1, duration="PT6H")
    settings = Settings.load(
        data_dir=tmp_path,
        youtube_api_key=API_KEY,
        youtube_api_url=stub.url,
        gemini_chunk_tokens=30_000,
    )
    report = run(settings, queue, store, CHANNEL, dry_run=True)
    # 6 h ≈ 72,000 tokens of speech + 5,400 timestamped lines → 3 chunks + 1 merge call
    assert report.estimated_model_calls == 4
    assert 80_000 < report.estimated_input_tokens < 100_000


class BackfillInterruptedError(Exception):
    pass


def test_interrupted_then_rerun_enqueues_nothing_twice(
    stub: DataApiStub, settings: Settings, queue: SqliteQueue, store: SqliteResultStore
) -> None:
    channel = stub.add_channel(CHANNEL, "Long", 250)

    def stop_after_first_chunk(done: int, total: int) -> None:
        raise BackfillInterruptedError

    with pytest.raises(BackfillInterruptedError):
        run(settings, queue, store, CHANNEL, on_progress=stop_after_first_chunk)
    assert queue.stats().ready == 100

    rerun = run(settings, queue, store, CHANNEL)
    assert (rerun.found, rerun.already_queued, rerun.enqueued) == (250, 100, 150)
    third = run(settings, queue, store, CHANNEL)
    assert (third.already_queued, third.enqueued) == (250, 0)

    ids = queued_ids(queue)
    assert len(ids) == 250
    assert sorted(ids) == sorted(channel.video_ids)


def _result(video_id: str) -> VideoResult:
    meta = VideoMeta(video_id=video_id)
    return VideoResult(
        video=meta,
        transcript=Transcript(
            video_id=video_id,
            language="en",
            is_generated=False,
            segments=(Segment(start=0, duration=1, text="hi"),),
        ),
        analysis=Analysis(
            summary="s",
            key_points=[],
            topics=[],
            quotes=[],
            language="en",
            video_id=video_id,
            analysis_version=VERSION,
            analyzer="test",
        ),
    )


def test_done_and_failed_videos_are_skipped_unless_forced(
    stub: DataApiStub, settings: Settings, queue: SqliteQueue, store: SqliteResultStore
) -> None:
    channel = stub.add_channel(CHANNEL, "Some done", 6)
    done, failed = channel.video_ids[0], channel.video_ids[1]
    store.record_success(_result(done))
    store.record_failure(
        FailureRecord(
            video_id=failed, state=VideoState.FAILED, error_code="x", error="gone", attempts=1
        )
    )
    report = run(settings, queue, store, CHANNEL)
    assert (report.skipped_done, report.skipped_failed, report.enqueued) == (1, 1, 4)
    assert done not in queued_ids(queue)

    # a new analysis version makes the done video due again
    other = backfill(settings, queue, store, CHANNEL, analysis_version="test:v2")
    assert (other.skipped_done, other.already_queued, other.enqueued) == (0, 4, 1)
    assert queued_ids(queue) == [done]

    forced = run(settings, queue, store, CHANNEL, force=True)
    assert (forced.skipped_done, forced.skipped_failed) == (0, 0)
    jobs = [d.body for d in queue.pull(100, 60)]
    assert {j.video_id for j in jobs} == {done, failed}
    assert all(j.force for j in jobs)


# ---- reader round trips ------------------------------------------------------------------


class CountingResultStore(SqliteResultStore):
    """The real SQLite store, counting the reader calls a backfill makes (on Postgres or
    Supabase each call is a round trip, so the count is what a large backfill waits on)."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.calls: Counter[str] = Counter()
        self.state_batches: list[list[str]] = []

    def get_video(self, video_id: str) -> VideoStatus | None:
        self.calls["get_video"] += 1
        return super().get_video(video_id)

    def states(self, video_ids: Sequence[str]) -> dict[str, VideoState]:
        self.calls["states"] += 1
        self.state_batches.append(list(video_ids))
        return super().states(video_ids)

    def done_ids(self, video_ids: Sequence[str], analysis_version: str) -> set[str]:
        self.calls["done_ids"] += 1
        return super().done_ids(video_ids, analysis_version)


@pytest.fixture()
def counting_store(tmp_path: Path) -> Iterator[CountingResultStore]:
    s = CountingResultStore(tmp_path / "counted.sqlite3")
    yield s
    s.close()


def test_a_250_video_backfill_looks_states_up_in_bulk(
    stub: DataApiStub,
    settings: Settings,
    queue: SqliteQueue,
    counting_store: CountingResultStore,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    store = counting_store
    vids = stub.add_channel(CHANNEL, "Long", 250).video_ids
    store.record_success(_result(vids[0]))
    store.mark_queued([VideoJob(video_id=vids[1])])
    store.save_analysis(_result(vids[2]).analysis)  # processing: paid, not finished
    for vid, state in ((vids[3], VideoState.RETRYING), (vids[4], VideoState.FAILED)):
        store.record_failure(
            FailureRecord(video_id=vid, state=state, error_code="x", error="e", attempts=1)
        )
    store.record_failure(
        FailureRecord(
            video_id=vids[5], state=VideoState.DEAD, error_code="x", error="e", attempts=4
        )
    )

    report = backfill(settings, queue, store, CHANNEL, analysis_version=VERSION, dry_run=True)
    assert (report.found, report.skipped_done, report.already_queued) == (250, 1, 3)
    assert (report.skipped_failed, report.enqueued) == (2, 244)
    # one lookup for the whole listing (≤ STATE_LOOKUP_CHUNK ids), not one per video
    assert store.calls == {"done_ids": 1, "states": 1}
    assert sorted(store.state_batches[0]) == sorted(vids[1:])  # done ones are not asked

    # a listing longer than a lookup chunk: one call per chunk, each video asked once
    store.calls.clear()
    store.state_batches.clear()
    monkeypatch.setattr("producer.backfill.STATE_LOOKUP_CHUNK", 100)
    forced = backfill(settings, queue, store, CHANNEL, analysis_version=VERSION, force=True)
    assert (forced.already_queued, forced.skipped_failed, forced.enqueued) == (3, 0, 247)
    assert store.calls == {"states": 3}  # --force skips the done lookup
    assert [len(b) for b in store.state_batches] == [100, 100, 50]
    assert sorted(v for b in store.state_batches for v in b) == sorted(vids)
    in_flight = {vids[1], vids[2], vids[3]}
    assert sorted(queued_ids(queue)) == sorted(set(vids) - in_flight)


# ---- the CLI ---------------------------------------------------------------------------


def test_cli_dry_run_then_backfill(
    stub: DataApiStub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tubeq.cli.backfill import register

    stub.add_channel(CHANNEL, "CLI channel", 12, handle="@clichannel")
    monkeypatch.chdir(tmp_path)  # no stray .env
    env = {
        "TUBEQ_DATA_DIR": str(tmp_path / "data"),
        "TUBEQ_YOUTUBE_API_KEY": API_KEY,
        "TUBEQ_YOUTUBE_API_URL": stub.url,
        "TUBEQ_ANALYZER_BACKEND": "gemini",
        "TUBEQ_GEMINI_API_KEY": "not-used-by-a-backfill",
        "COLUMNS": "160",
    }
    app = typer.Typer()
    register(app)

    @app.callback()
    def main() -> None:  # a group, so the command is addressed by name as in `tubeq`
        return

    runner = CliRunner()
    dry = runner.invoke(app, ["backfill", "@clichannel", "--dry-run"], env=env)
    assert dry.exit_code == 0, dry.output
    assert "would enqueue" in dry.output and "12" in dry.output
    assert "estimated cost" in dry.output and "dry run: nothing was enqueued" in dry.output

    real = runner.invoke(app, ["backfill", "@clichannel", "--limit", "5"], env=env)
    assert real.exit_code == 0, real.output
    assert "enqueued" in real.output
    q = SqliteQueue(tmp_path / "data" / "queue.sqlite3")
    try:
        assert q.stats().ready == 5
    finally:
        q.close()

    bad = runner.invoke(app, ["backfill", "@clichannel", "--since", "last week"], env=env)
    assert bad.exit_code == 2
    assert "YYYY-MM-DD" in bad.output

    unknown = runner.invoke(app, ["backfill", "@nobody"], env=env)
    assert unknown.exit_code == 2
    assert "no YouTube channel found" in unknown.output


def test_cli_backfills_the_sample_channel_offline(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tubeq.cli.backfill import register

    monkeypatch.chdir(tmp_path)  # no stray .env
    # no Data API key: `auto` lists from the bundled sample listings
    env = {"TUBEQ_DATA_DIR": str(tmp_path / "data"), "COLUMNS": "160"}
    app = typer.Typer()
    register(app)

    @app.callback()
    def main() -> None:
        return

    done = CliRunner().invoke(app, ["backfill", "@signal-noise"], env=env)
    assert done.exit_code == 0, done.output
    assert "Signal & Noise" in done.output
    q = SqliteQueue(tmp_path / "data" / "queue.sqlite3")
    try:
        ids = queued_ids(q)
    finally:
        q.close()
    # the channel's six samples; its upcoming premiere is skipped until it has aired
    assert sorted(ids) == [f"tq-sample{n:02d}" for n in (5, 6, 7, 8, 15, 16)] + ["tq-sample20"]
    assert "tq-premiere" not in ids

    unknown = CliRunner().invoke(app, ["backfill", "@nobody"], env=env)
    assert unknown.exit_code == 2
    assert "@hearth-handplane" in unknown.output and "TUBEQ_YOUTUBE_API_KEY" in unknown.output


# ---- the retry policy ----------------------------------------------------------------------


def test_retry_policy_honours_retry_after_and_gives_up_on_long_waits() -> None:
    policy = DataApiRetry(base_s=1.0, cap_s=30.0)
    assert policy.wait_s(UpstreamUnavailable("503", retry_after=7), 1) == 7
    assert policy.wait_s(UpstreamUnavailable("503"), 3) == 4  # 1, 2, 4: doubling
    assert policy.should_retry(UpstreamUnavailable("503"))
    assert policy.should_retry(RateLimited("a short limit", retry_after=2))
    assert not policy.should_retry(RateLimited("a minute", retry_after=60))
    assert not policy.should_retry(RateLimited("the daily quota", retry_after=8 * 3600))
    assert not policy.should_retry(AccessDenied("the key"))
    assert not policy.should_retry(InvalidInput("no such channel"))


def test_a_503_retry_after_is_waited_for(
    stub: DataApiStub, settings: Settings, queue: SqliteQueue, store: SqliteResultStore
) -> None:
    stub.add_channel(CHANNEL, "Slow", 2)
    stub.fail_next, stub.retry_after = 2, "0.3"
    started = time.monotonic()
    report = run(settings, queue, store, CHANNEL, dry_run=True)
    assert report.found == 2
    assert time.monotonic() - started >= 0.6  # the backoff base is 0 here: the header won
    assert len(stub.endpoint_calls("channels")) == 3
