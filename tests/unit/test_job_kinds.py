"""Jobs as data with a kind: the envelope on the wire, legacy bodies, versions, and a second
kind of work dispatched by the runner without a change to it."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

import pytest

from consumer.handlers.base import HandlerRegistry, Outcome
from consumer.handlers.video import VideoHandler
from consumer.runner import MessageResult, Runner, RunnerConfig
from shared.adapters.sqlite_queue import SqliteQueue
from shared.adapters.sqlite_results import SqliteResultStore
from shared.errors import TubeqError, UpstreamUnavailable
from shared.jobs import (
    Envelope,
    InvalidJobBody,
    Job,
    UnknownJobKind,
    UnsupportedJobVersion,
    job_or_raw,
    read_job,
)
from shared.models import VideoJob, VideoState
from shared.retry_policy import Action, RetryPolicy

VIDEO = "dQw4w9WgXcQ"


class Echo(Job):
    """A tiny test-only kind of work."""

    kind: ClassVar[str] = "test.echo"
    text: str


@dataclass
class EchoHandler:
    said: list[str] = field(default_factory=list)
    failures: list[tuple[str, str, Action]] = field(default_factory=list)

    @property
    def job_model(self) -> type[Echo]:
        return Echo

    def process(self, job: Echo, attempt: int) -> Outcome:
        if job.text == "flaky" and attempt == 1:
            raise UpstreamUnavailable("the echo went away")
        self.said.append(job.text)
        return Outcome.DONE

    def log_fields(self, job: Echo) -> dict[str, object]:
        return {"text": job.text}

    def record_failure(self, job: Echo, error: TubeqError, action: Action, attempt: int) -> None:
        self.failures.append((job.text, error.code, action))


# ---- the envelope ----------------------------------------------------------------------


def test_the_wire_format_is_kind_version_body() -> None:
    job = VideoJob(video_id=VIDEO, source="cli")
    wire = job.envelope().wire()
    assert wire == {"kind": "video.analyze", "v": 1, "body": job.model_dump(mode="json")}
    assert json.loads(json.dumps(wire)) == wire
    assert read_job(Envelope.from_wire(wire)) == job


def test_a_bare_video_job_reads_as_video_analyze_v1() -> None:
    bare = VideoJob(video_id=VIDEO).model_dump(mode="json")
    envelope = Envelope.from_wire(bare)
    assert (envelope.kind, envelope.v, envelope.body) == ("video.analyze", 1, bare)
    assert read_job(envelope) == VideoJob.model_validate(bare)


@pytest.mark.parametrize("wire", [[1], "text", {"kind": "x"}, {"kind": "x", "v": 0, "body": {}}])
def test_what_is_no_envelope_is_refused(wire: object) -> None:
    with pytest.raises(ValueError):
        Envelope.from_wire(wire)


def test_unreadable_jobs_say_why() -> None:
    with pytest.raises(UnsupportedJobVersion, match=r"video.analyze v7 is newer .* \(≤ 1\)"):
        read_job(Envelope(kind="video.analyze", v=7, body={"video_id": VIDEO}))
    with pytest.raises(InvalidJobBody, match=r"not a valid video\.analyze v1: video_id"):
        read_job(Envelope(kind="video.analyze", v=1, body={"video_id": "??"}))
    with pytest.raises(UnknownJobKind, match=r"no job kind 'nope' .*known: .*video.analyze"):
        read_job(Envelope(kind="nope", v=1, body={}))
    assert job_or_raw({"kind": "nope", "v": 1, "body": {}}) == {
        "kind": "nope",
        "v": 1,
        "body": {},
    }


def test_two_classes_cannot_claim_one_kind() -> None:
    with pytest.raises(TypeError, match=r"video\.analyze"):

        class Impostor(Job):
            kind: ClassVar[str] = "video.analyze"


def test_a_registry_refuses_two_handlers_for_one_kind() -> None:
    with pytest.raises(ValueError, match=r"test\.echo"):
        HandlerRegistry([EchoHandler(), EchoHandler()])


# ---- a second kind, through the real runner ---------------------------------------------


def test_a_second_kind_is_dispatched_without_touching_the_runner(tmp_path: Path) -> None:
    queue = SqliteQueue(tmp_path / "q.sqlite3")
    results = SqliteResultStore(tmp_path / "r.sqlite3")
    analysed: list[str] = []

    def analyse(job: VideoJob, attempt: int) -> Outcome:
        analysed.append(job.video_id)
        return Outcome.DONE

    echo = EchoHandler()
    seen: list[MessageResult] = []
    runner = Runner(
        queue=queue,
        handlers=HandlerRegistry([VideoHandler(analyse, results), echo]),
        policy=RetryPolicy(base_s=1, cap_s=1, jitter=0),
        config=RunnerConfig(concurrency=2, poll_interval_s=0.02),
        on_result=seen.append,
    )
    queue.send([VideoJob(video_id=VIDEO), Echo(text="hello"), Echo(text="flaky")])
    stats = runner.run(burst=True, burst_wait_s=5)

    assert (stats.done, stats.retried, stats.dead) == (3, 1, 0)
    assert analysed == [VIDEO]
    assert sorted(echo.said) == ["flaky", "hello"]
    assert echo.failures == [("flaky", "upstream_unavailable", Action.RETRY)]
    assert results.failures() == [], "an echo's failure is the echo handler's to record"
    assert {r.label for r in seen if r.action is Action.DONE} == {VIDEO, "test.echo"}
    assert queue.stats().backlog == 0
    queue.close()
    results.close()


def test_an_unknown_kind_is_dead_lettered_by_the_runner_at_once(tmp_path: Path) -> None:
    queue = SqliteQueue(tmp_path / "q.sqlite3")
    results = SqliteResultStore(tmp_path / "r.sqlite3")
    runner = Runner(
        queue=queue,
        process=lambda job, attempt: Outcome.DONE,
        results=results,
        config=RunnerConfig(poll_interval_s=0.02),
    )
    queue.send([Echo(text="nobody here reads me")])
    stats = runner.run(burst=True)
    assert (stats.dead, stats.retried) == (1, 0)
    (dead,) = queue.dead_letters()
    assert dead.attempts == 1 and dead.body == Echo(text="nobody here reads me")
    assert dead.last_error == (
        "unknown_job_kind: no handler for kind 'test.echo' in this consumer (known: video.analyze)"
    )
    assert results.get_video(VIDEO) is None
    queue.close()
    results.close()


def test_the_video_handler_records_failures_as_video_states(tmp_path: Path) -> None:
    results = SqliteResultStore(tmp_path / "r.sqlite3")
    handler = VideoHandler(lambda job, attempt: Outcome.DONE, results)
    job = VideoJob(video_id=VIDEO)
    assert handler.log_fields(job) == {"video_id": VIDEO}
    handler.record_failure(job, UpstreamUnavailable("down"), Action.DEAD, 4)
    video = results.get_video(VIDEO)
    assert video is not None and (video.state, video.attempts) == (VideoState.DEAD, 4)
    results.close()
