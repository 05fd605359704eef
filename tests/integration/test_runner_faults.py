"""The runner when its surroundings fail: the queue, the result store, a key, a shutdown.

The queue and the store are the real SQLite adapters; faults are injected by patching one
method of a real adapter to raise (dramatiq's way), so everything else stays real.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from consumer.pipeline import Outcome
from consumer.runner import Runner, RunnerConfig
from shared.adapters.sqlite_queue import SqliteQueue
from shared.adapters.sqlite_results import SqliteResultStore
from shared.errors import (
    AccessDenied,
    TranscriptsDisabled,
    UpstreamUnavailable,
)
from shared.models import Delivery, FailureRecord, VideoJob, VideoState
from shared.retry_policy import RetryPolicy


def jobs(n: int) -> list[VideoJob]:
    return [VideoJob(video_id=f"faultvid{i:03d}") for i in range(n)]


@pytest.fixture
def queue(tmp_path: Path) -> SqliteQueue:
    return SqliteQueue(tmp_path / "q.sqlite3")


@pytest.fixture
def results(tmp_path: Path) -> SqliteResultStore:
    return SqliteResultStore(tmp_path / "r.sqlite3")


def runner(
    queue: SqliteQueue,
    results: SqliteResultStore,
    process: object,
    **cfg: float,
) -> Runner:
    return Runner(
        queue=queue,
        process=process,  # type: ignore[arg-type]
        results=results,
        policy=RetryPolicy(base_s=1, cap_s=1, jitter=0),
        config=RunnerConfig(**{"concurrency": 2, "poll_interval_s": 0.02, **cfg}),  # type: ignore[arg-type]
    )


def ok(job: VideoJob, attempt: int) -> Outcome:
    return Outcome.DONE


def test_a_queue_outage_pauses_the_consumer_instead_of_killing_it(
    queue: SqliteQueue, results: SqliteResultStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    queue.send(jobs(3))
    real_pull = queue.pull
    outages = iter([True, True])

    def flaky_pull(batch_size: int, visibility_timeout_s: float) -> list[Delivery]:
        if next(outages, False):
            raise UpstreamUnavailable("simulated 502 from the queue API")
        return real_pull(batch_size, visibility_timeout_s)

    monkeypatch.setattr(queue, "pull", flaky_pull)
    stats = runner(queue, results, ok).run(burst=True, burst_wait_s=10)
    assert stats.done == 3 and queue.stats().backlog == 0


def test_a_store_outage_while_recording_a_failure_keeps_the_message(
    queue: SqliteQueue, results: SqliteResultStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A permanent failure that cannot be recorded is not acked (it would vanish): it is
    retried with backoff, and recorded once the store is back."""
    queue.send(jobs(1))
    store_down = [True]
    real_record = results.record_failure

    def record(failure: FailureRecord) -> None:
        if store_down[0]:
            raise UpstreamUnavailable("simulated: postgres connection refused")
        real_record(failure)

    def disabled(job: VideoJob, attempt: int) -> Outcome:
        raise TranscriptsDisabled()

    monkeypatch.setattr(results, "record_failure", record)
    first = runner(queue, results, disabled).run(burst=True)
    assert (first.failed, first.retried) == (0, 1)
    assert queue.stats().delayed == 1  # kept, with a backoff delay (not its whole lease)

    store_down[0] = False
    second = runner(queue, results, disabled).run(burst=True, burst_wait_s=5)
    assert second.failed == 1 and queue.stats().backlog == 0
    video = results.get_video("faultvid000")
    assert video is not None and video.state is VideoState.FAILED


def test_a_refused_key_stops_the_consumer_and_keeps_the_backlog(
    queue: SqliteQueue, results: SqliteResultStore
) -> None:
    queue.send(jobs(6))
    calls = []

    def refused(job: VideoJob, attempt: int) -> Outcome:
        calls.append(job.video_id)
        raise AccessDenied("Gemini answered HTTP 403: API key not valid (TUBEQ_GEMINI_API_KEY)")

    r = runner(queue, results, refused, concurrency=1)
    stats = r.run()  # not burst: only the fatal error can end it
    assert r.fatal is not None and r.fatal.code == "access_denied"
    assert len(calls) == 1 and stats.failed == 0
    assert queue.stats().backlog == 6 and queue.stats().dead == 0  # nothing lost or failed
    assert results.failures() == []


def test_leases_are_still_extended_during_the_grace_period(
    queue: SqliteQueue, results: SqliteResultStore, tmp_path: Path
) -> None:
    queue.send(jobs(1))
    other = SqliteQueue(tmp_path / "q.sqlite3")
    started = threading.Event()

    def slow(job: VideoJob, attempt: int) -> Outcome:
        started.set()
        time.sleep(1.5)
        return Outcome.DONE

    r = runner(queue, results, slow, concurrency=1, visibility_timeout_s=0.4, shutdown_grace_s=10)
    thread = threading.Thread(target=r.run)
    thread.start()
    assert started.wait(5)
    r.stop()  # a SIGTERM: stop pulling, finish the video
    stolen = []
    deadline = time.monotonic() + 1.2
    while time.monotonic() < deadline:
        stolen += other.pull(1, 10)
        time.sleep(0.05)
    thread.join(10)
    assert stolen == [], "another consumer got a message that was still being worked on"
    assert r.stats.done == 1 and queue.stats().backlog == 0
