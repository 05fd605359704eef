"""The production configuration, end to end, by settings alone.

Real `tubeq` processes with every production adapter selected — Cloudflare Queues, the
YouTube Data API and youtube-transcript-api, Gemini through google-genai, Postgres through
psycopg, R2 through boto3 — each pointed at a local server that speaks its wire format:
a throwaway PostgreSQL, moto's S3 server, and the stubs in ``tests/support``.

A channel backfill is listed, enqueued, consumed, analysed and stored; re-running the
backfill and the consumer buys nothing twice.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from tests.support.cf_queues_stub import CfQueuesStub
from tests.support.data_api_stub import API_KEY, DataApiStub
from tests.support.gemini_stub import GeminiStub, RecordedRequest, StubReply, analysis_dict, ok
from tests.support.s3_servers import S3Server, moto_s3
from tests.support.youtube_stub import StubVideo, Track, YouTubeStub

pytestmark = [pytest.mark.slow, pytest.mark.services]

CHANNEL = "UCe2eStubChannel00000001"
VIDEOS = 6


def _segments() -> list[tuple[float, float, str]]:
    lines = [
        "Welcome back to the channel, today we look at message queues.",
        "A queue delivers every message at least once, sometimes twice.",
        "So every step of the consumer has to be idempotent.",
        "We keep the model's reply the moment it arrives.",
        "Then a crash never pays for the same analysis twice.",
    ]
    return [(i * 4.0, 3.8, text) for i, text in enumerate(lines)]


@pytest.fixture
def s3() -> Iterator[S3Server]:
    with moto_s3() as server:
        yield server


def _env(
    tmp_path: Path,
    pg_dsn: str,
    s3: S3Server,
    bucket: str,
    cf: CfQueuesStub,
    yt: YouTubeStub,
    api: DataApiStub,
    gemini: GeminiStub,
) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TUBEQ_")}
    env.update(
        TUBEQ_DATA_DIR=str(tmp_path / "data"),
        TUBEQ_LOG_FORMAT="json",
        TUBEQ_POLL_INTERVAL_S="0.05",
        TUBEQ_QUEUE_BACKEND="cloudflare",
        TUBEQ_CF_ACCOUNT_ID=cf.account_id,
        TUBEQ_CF_API_TOKEN=cf.token,
        TUBEQ_CF_QUEUE_ID="tubeq-jobs",
        TUBEQ_CF_DLQ_ID="tubeq-jobs-dlq",
        TUBEQ_CF_API_URL=cf.url,
        TUBEQ_TRANSCRIPT_BACKEND="youtube",
        TUBEQ_YOUTUBE_BASE_URL=yt.url,
        TUBEQ_YOUTUBE_API_KEY=API_KEY,
        TUBEQ_YOUTUBE_API_URL=api.url,
        TUBEQ_ANALYZER_BACKEND="gemini",
        TUBEQ_GEMINI_API_KEY=gemini.api_key,
        TUBEQ_GEMINI_BASE_URL=gemini.base_url,
        TUBEQ_RESULTS_BACKEND="postgres",
        TUBEQ_DATABASE_URL=pg_dsn,
        TUBEQ_ARTIFACTS_BACKEND="r2",
        TUBEQ_R2_ENDPOINT_URL=s3.endpoint_url,
        TUBEQ_R2_ACCESS_KEY_ID=s3.access_key_id,
        TUBEQ_R2_SECRET_ACCESS_KEY=s3.secret_access_key,
        TUBEQ_R2_BUCKET=bucket,
    )
    return env


def _tubeq(env: dict[str, str], cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tubeq", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_channel_backfill_through_every_production_adapter(
    tmp_path: Path,
    pg_dsn: str,
    s3: S3Server,
) -> None:
    def reply(request: RecordedRequest) -> StubReply:
        return ok(analysis_dict(summary="Queues deliver at least once; consumers must cope."))

    with (
        CfQueuesStub() as cf,
        YouTubeStub(default_video=StubVideo(tracks=[Track("en", "English", _segments())])) as yt,
        DataApiStub() as api,
        GeminiStub() as gemini,
    ):
        cf.add_queue("tubeq-jobs", max_retries=3, dead_letter_queue="tubeq-jobs-dlq")
        cf.add_queue("tubeq-jobs-dlq", max_retries=100)
        api.add_channel(CHANNEL, "Queue Talk", VIDEOS, handle="queuetalk")
        gemini.responder = reply
        bucket = s3.new_bucket()
        env = _env(tmp_path, pg_dsn, s3, bucket, cf, yt, api, gemini)

        listed = _tubeq(env, tmp_path, "backfill", "@queuetalk")
        assert listed.returncode == 0, listed.stderr[-3000:]
        assert cf.count("tubeq-jobs") == VIDEOS

        consumed = _tubeq(env, tmp_path, "consume", "--burst")
        assert consumed.returncode == 0, consumed.stderr[-3000:]
        assert f"done {VIDEOS}" in consumed.stdout
        assert len(gemini.requests) == VIDEOS  # one model call per video

        # Everything again: the backfill skips analysed videos, nothing is bought twice.
        again = _tubeq(env, tmp_path, "backfill", "@queuetalk")
        assert again.returncode == 0, again.stderr[-3000:]
        _tubeq(env, tmp_path, "consume", "--burst")
        assert len(gemini.requests) == VIDEOS
        assert cf.count("tubeq-jobs") == 0 and cf.count("tubeq-jobs-dlq") == 0

        status = _tubeq(env, tmp_path, "status")
        assert status.returncode == 0 and "done" in status.stdout

    with psycopg.connect(pg_dsn) as db:
        states = dict(db.execute("select state, count(*) from videos group by state").fetchall())
        analyses = db.execute(
            "select count(*), sum(prompt_tokens) from analyses where analyzer = 'gemini'"
        ).fetchone()
        titles = db.execute("select count(*) from videos where title like 'Queue Talk #%'")
    assert states == {"done": VIDEOS}
    assert analyses is not None and analyses[0] == VIDEOS and analyses[1] > 0
    assert titles.fetchone() == (VIDEOS,)  # metadata from the Data API reached the rows

    objects = s3.admin_client().list_objects_v2(Bucket=bucket)["Contents"]
    keys = {o["Key"] for o in objects}
    assert sum(k.startswith("reports/") for k in keys) == VIDEOS
    assert sum(k.endswith(".vtt") for k in keys) == VIDEOS
    head = s3.admin_client().head_object(
        Bucket=bucket, Key=sorted(k for k in keys if k.endswith(".md"))[0]
    )
    assert head["ContentType"].startswith("text/markdown")
