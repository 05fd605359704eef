"""The Cloudflare Queues adapter over real HTTP against the local REST stub.

What this checks: the wire format the adapter sends (paths, bearer header, publish / pull /
ack bodies), base64 and plain-JSON bodies, chunking by count and by bytes, the envelope
(``success: false``), auth failures, the mapping of 429 / 5xx / timeouts / refused
connections to transient errors and which calls are replayed, the DLQ list and redrive
order, poison messages, and that the token never reaches a log line or an error.
What only production can check: Cloudflare's exact error codes and wording, its real byte
accounting, rate limits and best-effort metrics (see ``tests/support/cf_queues_stub.py``).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from shared.adapters.cloudflare_queue import (
    MAX_BATCH_BYTES,
    CloudflareQueue,
    DeadLetterListingRefused,
)
from shared.errors import (
    AccessDenied,
    ConfigError,
    InvalidInput,
    RateLimited,
    UpstreamRejected,
    UpstreamUnavailable,
)
from shared.jobs import Envelope
from shared.models import VideoJob, VideoMeta
from shared.settings import Settings
from tests.support.cf_queues_stub import CfQueuesStub, Fault, Recorded
from tests.support.services import free_port

pytestmark = pytest.mark.services

QUEUE, DLQ = "a" * 32, "d" * 32
AT = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def job(n: int, title: str | None = None) -> VideoJob:
    meta = VideoMeta(video_id=f"it{n:09d}", title=title) if title else None
    return VideoJob(video_id=f"it{n:09d}", source="test", meta=meta, requested_at=AT)


@pytest.fixture
def stub() -> Iterator[CfQueuesStub]:
    with CfQueuesStub() as server:
        server.add_queue(DLQ, max_retries=100)
        server.add_queue(QUEUE, max_retries=1, dead_letter_queue=DLQ)
        yield server


def make(stub: CfQueuesStub, **kw: Any) -> CloudflareQueue:
    args: dict[str, Any] = {
        "account_id": stub.account_id,
        "api_token": SecretStr(stub.token),
        "queue_id": QUEUE,
        "dlq_id": DLQ,
        "api_url": stub.url,
        "max_retries": 1,
        "timeout_s": 2.0,
        "http_backoff_s": 0.01,
    }
    args.update(kw)
    return CloudflareQueue(**args)


@pytest.fixture
def queue(stub: CfQueuesStub) -> Iterator[CloudflareQueue]:
    q = make(stub)
    yield q
    q.close()


def calls(stub: CfQueuesStub, tail: str) -> list[Recorded]:
    return [r for r in stub.requests if r.path.endswith(tail)]


def base(queue_id: str = QUEUE) -> str:
    return f"/client/v4/accounts/{CfQueuesStub().account_id}/queues/{queue_id}"


# ---- request shapes -------------------------------------------------------------------


def test_publish_one_uses_messages_with_bearer_and_json_body(
    stub: CfQueuesStub, queue: CloudflareQueue
) -> None:
    assert queue.send([job(1)], delay_s=5) == 1
    (req,) = stub.requests
    assert (req.method, req.path) == ("POST", base() + "/messages")
    assert req.headers["authorization"] == f"Bearer {stub.token}"
    assert req.headers["content-type"] == "application/json"
    assert req.body["content_type"] == "json"
    assert req.body["delay_seconds"] == 5
    assert req.body["body"] == {
        "kind": "video.analyze",
        "v": 1,
        "body": job(1).model_dump(mode="json"),
    }


def test_publish_many_uses_batch(stub: CfQueuesStub, queue: CloudflareQueue) -> None:
    queue.send([job(1), job(2), job(3)])
    (req,) = stub.requests
    assert req.path == base() + "/messages/batch"
    assert [
        VideoJob.from_envelope(Envelope.model_validate(m["body"])) for m in req.body["messages"]
    ] == [
        job(1),
        job(2),
        job(3),
    ]
    assert all("delay_seconds" not in m for m in req.body["messages"])


def test_pull_sends_batch_size_and_visibility_ms_and_decodes_base64(
    stub: CfQueuesStub, queue: CloudflareQueue
) -> None:
    queue.send([job(1)])
    (got,) = queue.pull(7, 12.5)
    assert calls(stub, "/messages/pull")[0].body == {
        "batch_size": 7,
        "visibility_timeout_ms": 12500,
    }
    assert got.body == job(1)
    assert got.attempts == 1


def test_stub_really_sends_base64_and_plain_json_is_accepted_too(
    stub: CfQueuesStub, queue: CloudflareQueue
) -> None:
    queue.send([job(1)])
    raw = httpx.post(
        stub.url + base()[len("/client/v4") :] + "/messages/pull",
        headers={"Authorization": f"Bearer {stub.token}"},
        json={"batch_size": 1, "visibility_timeout_ms": 1000},
    ).json()
    body = raw["result"]["messages"][0]["body"]
    assert json.loads(base64.b64decode(body))["body"]["video_id"] == job(1).video_id
    stub.advance(2)
    stub.plain_json_bodies = True
    (got,) = queue.pull(1, 30)
    assert got.body == job(1)


def test_ack_and_retry_bodies(stub: CfQueuesStub, queue: CloudflareQueue) -> None:
    queue.send([job(1), job(2)])
    first, second = queue.pull(10, 30)
    queue.ack([first])
    queue.retry(second, delay_s=30, error="boom")
    ack, retry = calls(stub, "/messages/ack")
    assert ack.body == {"acks": [{"lease_id": first.lease_id}], "retries": []}
    assert retry.body == {
        "acks": [],
        "retries": [{"lease_id": second.lease_id, "delay_seconds": 30}],
    }
    assert "boom" not in json.dumps(retry.body), "Cloudflare has no field for the error"
    assert stub.count(QUEUE) == 1


# ---- limits ---------------------------------------------------------------------------


def test_chunks_by_count(stub: CfQueuesStub, queue: CloudflareQueue) -> None:
    assert queue.send([job(i) for i in range(250)]) == 250
    sizes = [len(r.body["messages"]) for r in calls(stub, "/messages/batch")]
    assert sizes == [100, 100, 50]
    assert stub.count(QUEUE) == 250


def test_chunks_by_bytes(stub: CfQueuesStub, queue: CloudflareQueue) -> None:
    jobs = [job(i, title="t" * 60_000) for i in range(10)]  # ~60 KB each, 600 KB in all
    assert queue.send(jobs) == 10
    reqs = calls(stub, "/messages/batch") + calls(stub, "/messages")
    assert len(reqs) >= 3
    assert all(len(json.dumps(r.body).encode()) <= MAX_BATCH_BYTES for r in reqs)
    assert stub.count(QUEUE) == 10


def test_oversized_message_is_refused_before_any_request(
    stub: CfQueuesStub, queue: CloudflareQueue
) -> None:
    with pytest.raises(InvalidInput, match=r"it000000002.*128,000 bytes"):
        queue.send([job(1), job(2, title="x" * 130_000)])
    assert stub.requests == []


@pytest.mark.parametrize(
    ("messages", "status", "text"),
    [
        ([{"body": "x", "content_type": "text"}] * 101, 400, "100 messages"),
        ([{"body": "x" * 100_000, "content_type": "text"}] * 3, 413, "256000"),
        ([{"body": "x" * 128_001, "content_type": "text"}], 413, "128000"),
    ],
)
def test_stub_enforces_cloudflare_limits(
    stub: CfQueuesStub, messages: list[dict[str, Any]], status: int, text: str
) -> None:
    resp = httpx.post(
        stub.url + base()[len("/client/v4") :] + "/messages/batch",
        headers={"Authorization": f"Bearer {stub.token}"},
        json={"messages": messages},
    )
    assert resp.status_code == status
    assert resp.json()["success"] is False
    assert text in resp.json()["errors"][0]["message"]
    assert stub.count(QUEUE) == 0


# ---- errors -----------------------------------------------------------------------------


def test_success_false_carries_cloudflare_message(
    stub: CfQueuesStub, queue: CloudflareQueue
) -> None:
    stub.inject(Fault(status=200, message="queue is paused", code=11007))
    with pytest.raises(UpstreamRejected, match=r"\[11007\] queue is paused"):
        queue.send([job(1)])


@pytest.mark.parametrize("token", ["wrong-token", ""])
def test_bad_token_is_permanent_and_names_the_setting(
    stub: CfQueuesStub, token: str, capsys: pytest.CaptureFixture[str]
) -> None:
    if token == "":
        with pytest.raises(ConfigError, match="TUBEQ_CF_API_TOKEN"):
            make(stub, api_token=SecretStr(token))
        return
    q = make(stub, api_token=SecretStr(token))
    with pytest.raises(AccessDenied, match="TUBEQ_CF_API_TOKEN") as info:
        q.pull(1, 30)
    q.close()
    assert info.value.systemic  # the consumer stops (exit 4) instead of failing the backlog
    assert "HTTP 403" in info.value.message
    assert len(stub.requests) == 1, "an auth failure is not retried"
    out = capsys.readouterr()
    assert token not in info.value.message + out.out + out.err


def test_429_with_short_retry_after_is_retried(stub: CfQueuesStub, queue: CloudflareQueue) -> None:
    stub.inject(Fault(status=429, retry_after="0", message="Too many requests", code=971))
    queue.send([job(1)])
    assert len(stub.requests) == 2
    assert stub.count(QUEUE) == 1


def test_429_with_long_retry_after_is_raised_with_it(
    stub: CfQueuesStub, queue: CloudflareQueue
) -> None:
    stub.inject(Fault(status=429, retry_after="3600", message="Too many requests", code=971))
    with pytest.raises(RateLimited) as info:
        queue.pull(1, 30)
    assert info.value.retry_after == pytest.approx(3600)
    assert len(stub.requests) == 1


def test_500_on_pull_is_not_replayed(stub: CfQueuesStub, queue: CloudflareQueue) -> None:
    stub.inject(Fault(status=500, path_contains="/pull"))
    with pytest.raises(UpstreamUnavailable, match="500"):
        queue.pull(1, 30)
    assert len(stub.requests) == 1


def test_500_on_ack_is_replayed(stub: CfQueuesStub, queue: CloudflareQueue) -> None:
    queue.send([job(1)])
    got = queue.pull(1, 30)
    stub.inject(Fault(status=502, path_contains="/ack"))
    queue.ack(got)
    assert len(calls(stub, "/messages/ack")) == 2
    assert stub.count(QUEUE) == 0


def test_slow_reply_times_out_as_transient(stub: CfQueuesStub) -> None:
    q = make(stub, timeout_s=0.2)
    stub.inject(Fault(status=None, delay_s=0.6, path_contains="/pull"))
    with pytest.raises(UpstreamUnavailable, match="network error"):
        q.pull(1, 30)
    q.close()


def test_refused_connection_is_transient_and_retried() -> None:
    q = CloudflareQueue(
        account_id="acct",
        api_token=SecretStr("t"),
        queue_id=QUEUE,
        api_url=f"http://127.0.0.1:{free_port()}/client/v4",
        http_backoff_s=0.01,
    )
    with pytest.raises(UpstreamUnavailable):
        q.stats()
    q.close()


def test_bad_arguments_are_clear(queue: CloudflareQueue) -> None:
    with pytest.raises(InvalidInput, match="batch_size"):
        queue.pull(0, 30)
    with pytest.raises(InvalidInput, match="delay"):
        queue.send([job(1)], delay_s=43_201)


# ---- dead letters, poison, stats ----------------------------------------------------------


def _kill(queue: CloudflareQueue, *jobs: VideoJob) -> None:
    queue.send(list(jobs))
    for _ in range(2):  # max_retries=1: the second retry dead-letters
        for got in queue.pull(10, 30):
            queue.retry(got, delay_s=0, error="dead")


def test_dead_letters_listing_does_not_consume(stub: CfQueuesStub, queue: CloudflareQueue) -> None:
    _kill(queue, job(1), job(2))
    first = queue.peek_dead_letters()
    again = queue.peek_dead_letters()
    assert {d.message_id for d in first} == {d.message_id for d in again}
    assert len(first) == 2 and stub.count(DLQ) == 2
    assert all(d.attempts == 2 and d.last_error is None for d in first)
    pulls = [r.body for r in calls(stub, "/messages/pull") if DLQ in r.path]
    assert all(p["visibility_timeout_ms"] <= 30_000 for p in pulls)


def test_listing_dead_letters_is_refused_unless_asked_to_peek(
    stub: CfQueuesStub, queue: CloudflareQueue
) -> None:
    _kill(queue, job(1))
    stub.requests.clear()
    with pytest.raises(DeadLetterListingRefused, match=r"result store.*peek=true"):
        queue.dead_letters()
    assert stub.requests == []  # refused before any call: nothing was leased
    peeking = make(stub, dlq_peek=True)
    assert [d.body for d in peeking.dead_letters()] == [job(1)]
    peeking.close()


def test_each_peek_costs_an_attempt_and_can_delete_dead_letters(stub: CfQueuesStub) -> None:
    """Why listing is refused by default: with a DLQ consumer's max_retries of 2, the third
    peek makes Cloudflare drop the dead letter (polled each minute with 100, ~2 hours)."""
    stub.add_queue("e" * 32, max_retries=2)
    stub.add_queue("q" * 32, max_retries=0, dead_letter_queue="e" * 32)
    q = make(stub, queue_id="q" * 32, dlq_id="e" * 32, max_retries=0)
    q.send([job(1)])
    q.retry(q.pull(10, 30)[0], delay_s=0, error="dead")
    assert stub.count("e" * 32) == 1
    for _ in range(2):
        assert len(q.peek_dead_letters()) == 1
    assert len(q.peek_dead_letters()) == 1  # the third delivery, then released: past max
    assert stub.count("e" * 32) == 0 and q.peek_dead_letters() == []
    q.close()


def test_redrive_publishes_then_acks(stub: CfQueuesStub, queue: CloudflareQueue) -> None:
    _kill(queue, job(1))
    stub.requests.clear()
    assert queue.redrive() == 1
    order = [(r.path.rsplit("/", 1)[-1], DLQ in r.path) for r in stub.requests]
    publish = order.index(("messages", False))
    assert order.index(("ack", True)) > publish
    assert stub.count(DLQ) == 0
    assert [d.body for d in queue.pull(10, 30)] == [job(1)]


def test_failed_redrive_leaves_dead_letters_listable(
    stub: CfQueuesStub, queue: CloudflareQueue
) -> None:
    _kill(queue, job(1))
    stub.inject(Fault(status=503, path_contains=f"{QUEUE}/messages", times=3))
    with pytest.raises(UpstreamUnavailable):
        queue.redrive()
    assert [d.body for d in queue.peek_dead_letters()] == [job(1)]  # released, not stranded


def publish_raw(stub: CfQueuesStub, body: Any, content_type: str = "json") -> None:
    httpx.post(
        stub.url + base()[len("/client/v4") :] + "/messages",
        headers={"Authorization": f"Bearer {stub.token}"},
        json={"body": body, "content_type": content_type},
    ).raise_for_status()


def test_poison_message_goes_straight_to_the_dlq(
    stub: CfQueuesStub, queue: CloudflareQueue
) -> None:
    publish_raw(stub, {"kind": 7, "body": "not an envelope"})
    publish_raw(stub, "plain text", "text")
    queue.send([job(1)])
    assert [d.body for d in queue.pull(10, 30)] == [job(1)]
    dead = [d.body for d in queue.peek_dead_letters()]
    assert sorted(map(str, dead)) == sorted(
        map(str, [{"kind": 7, "body": "not an envelope"}, {"raw": "plain text"}])
    )


def test_a_bare_video_job_from_before_envelopes_reads_as_video_analyze_v1(
    stub: CfQueuesStub, queue: CloudflareQueue
) -> None:
    publish_raw(stub, job(1).model_dump(mode="json"))  # as production queues still hold
    (got,) = queue.pull(10, 30)
    assert got.envelope == Envelope(kind="video.analyze", v=1, body=job(1).model_dump(mode="json"))
    assert got.body == job(1)


def test_dead_letter_publishes_to_the_dlq_then_acks(
    stub: CfQueuesStub, queue: CloudflareQueue
) -> None:
    queue.send([job(1)])
    (got,) = queue.pull(10, 30)
    stub.requests.clear()
    queue.dead_letter(got, "unknown_job_kind: no handler")
    order = [(r.path.rsplit("/", 1)[-1], DLQ in r.path) for r in stub.requests]
    assert order == [("messages", True), ("ack", False)]
    assert stub.requests[1].body == {"acks": [{"lease_id": got.lease_id}], "retries": []}
    assert stub.count(QUEUE) == 0 and stub.count(DLQ) == 1
    assert [d.body for d in queue.peek_dead_letters()] == [job(1)]


def test_dead_letter_without_a_dlq_id_hands_it_back_for_cloudflare_to_dead_letter(
    stub: CfQueuesStub,
) -> None:
    q = make(stub, dlq_id=None)
    q.send([job(1)])
    (got,) = q.pull(10, 30)
    stub.requests.clear()
    q.dead_letter(got, "unknown_job_kind: no handler")
    (req,) = stub.requests
    assert req.body == {"acks": [], "retries": [{"lease_id": got.lease_id, "delay_seconds": 60}]}
    q.close()


def test_stats_falls_back_to_the_pull_backlog(stub: CfQueuesStub, queue: CloudflareQueue) -> None:
    queue.send([job(1), job(2)])
    queue.pull(1, 30)  # the reply says message_backlog_count = 2
    stub.inject(Fault(status=404, path_contains="/metrics", times=2, message="No route"))
    stats = queue.stats()
    assert (stats.backlog, stats.dead) == (2, 0)


def test_dead_letters_need_the_dlq_setting(stub: CfQueuesStub) -> None:
    q = make(stub, dlq_id=None)
    with pytest.raises(ConfigError, match="TUBEQ_CF_DLQ_ID"):
        q.peek_dead_letters()
    assert q.stats().dead == 0
    q.close()


def test_from_settings(stub: CfQueuesStub) -> None:
    with pytest.raises(ConfigError, match=r"TUBEQ_CF_ACCOUNT_ID.*TUBEQ_CF_QUEUE_ID"):
        CloudflareQueue.from_settings(Settings(cf_api_token=SecretStr("x")).cloudflare_queue)
    settings = Settings(
        queue_backend="cloudflare",
        cf_account_id=stub.account_id,
        cf_api_token=SecretStr(stub.token),
        cf_queue_id=QUEUE,
        cf_dlq_id=DLQ,
        cf_api_url=stub.url,
        max_retries=1,
    )
    q = CloudflareQueue.from_settings(settings.cloudflare_queue)
    q.send([job(1)])
    assert [d.body for d in q.pull(10, 30)] == [job(1)]
    assert stub.token not in repr(q)
    q.close()
