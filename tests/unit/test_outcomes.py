"""The outcome piece alone — no runner, no threads: what it does to the message (ack, retry,
dead-letter, nothing) for each way a job can end, and what it records."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest

from consumer.handlers.base import Outcome
from consumer.outcomes import SYSTEMIC_DELAY_S, MessageResult, Outcomes
from consumer.pipeline import AnalysisInProgress
from shared.errors import (
    AccessDenied,
    RateLimited,
    StoreUnavailable,
    TranscriptsDisabled,
    TubeqError,
    UpstreamUnavailable,
)
from shared.jobs import UnknownJobKind
from shared.models import Delivery, VideoJob
from shared.retry_policy import Action, RetryPolicy

FIELDS = {"video_id": "dQw4w9WgXcQ"}


@dataclass
class RecordingQueue:
    """The calls an outcome may make, noted; ``broken`` makes them fail."""

    calls: list[tuple[str, str, object]] = field(default_factory=list)
    broken: bool = False
    #: False: SQLite (a handback is free); True: Cloudflare (it still counts)
    release_counts_attempt: bool = False

    def release(self, delivery: Delivery, *, delay_s: int, error: str) -> None:
        self._note("release", (delay_s, error))

    def ack(self, deliveries: Sequence[Delivery]) -> None:
        self._note("ack", [d.message_id for d in deliveries])

    def retry(self, delivery: Delivery, *, delay_s: int, error: str) -> None:
        self._note("retry", (delay_s, error))

    def dead_letter(self, delivery: Delivery, reason: str) -> None:
        self._note("dead_letter", reason)

    def _note(self, what: str, detail: object) -> None:
        if self.broken:
            raise UpstreamUnavailable("the queue API answered 502")
        self.calls.append((what, "m1", detail))


@dataclass
class Store:
    down: bool = False
    #: what the store raises when down (default: one call failing on a store that is up)
    fault: TubeqError | None = None
    recorded: list[tuple[str, Action]] = field(default_factory=list)

    def record(self, error: TubeqError, action: Action) -> None:
        if self.fault is not None:
            raise self.fault
        if self.down:
            raise UpstreamUnavailable("postgres: statement timeout")
        self.recorded.append((error.code, action))


def delivery(attempts: int = 1) -> Delivery:
    now = datetime.now(UTC)
    return Delivery(
        message_id="m1",
        lease_id="l1",
        envelope=VideoJob(video_id="dQw4w9WgXcQ").envelope(),
        attempts=attempts,
        enqueued_at=now,
        lease_expires_at=now + timedelta(minutes=10),
    )


def outcomes(queue: RecordingQueue, seen: list[TubeqError] | None = None) -> Outcomes:
    policy = RetryPolicy(max_retries=3, base_s=10, cap_s=1000, jitter=0)
    observe = seen.append if seen is not None else None
    return Outcomes(queue, policy, observe)  # type: ignore[arg-type]


def fail(
    queue: RecordingQueue, exc: BaseException, attempts: int = 1, store: Store | None = None
) -> MessageResult:
    store = store or Store()
    return outcomes(queue).failed(
        delivery(attempts), exc, record=store.record, label="dQw4w9WgXcQ", fields=FIELDS
    )


@pytest.mark.parametrize(
    ("outcome", "action"), [(Outcome.DONE, Action.DONE), (Outcome.SKIPPED, Action.SKIPPED)]
)
def test_done_and_skipped_are_acked(outcome: Outcome, action: Action) -> None:
    queue = RecordingQueue()
    result = outcomes(queue).succeeded(delivery(), outcome, label="v", fields=FIELDS)
    assert (result.action, result.error, result.label) == (action, None, "v")
    assert queue.calls == [("ack", "m1", ["m1"])]


def test_permanent_is_recorded_then_acked() -> None:
    queue, store = RecordingQueue(), Store()
    result = fail(queue, TranscriptsDisabled(), store=store)
    assert result.action is Action.FAILED
    assert store.recorded == [("transcripts_disabled", Action.ACK)]
    assert queue.calls == [("ack", "m1", ["m1"])]


def test_transient_is_recorded_then_retried_with_backoff() -> None:
    queue, store = RecordingQueue(), Store()
    result = fail(queue, UpstreamUnavailable("503"), attempts=2, store=store)
    assert (result.action, result.delay_s) == (Action.RETRY, 20)
    assert store.recorded == [("upstream_unavailable", Action.RETRY)]
    assert queue.calls == [("retry", "m1", (20, "upstream_unavailable: 503"))]


def test_out_of_retries_is_recorded_dead_and_the_retry_call_dead_letters_it() -> None:
    queue, store = RecordingQueue(), Store()
    result = fail(queue, UpstreamUnavailable("503"), attempts=4, store=store)
    assert result.action is Action.DEAD
    assert store.recorded == [("upstream_unavailable", Action.DEAD)]
    assert [c[0] for c in queue.calls] == ["retry"]  # the queue decides, past max_retries


def test_a_systemic_error_hands_the_message_back_unrecorded_and_is_observed_first() -> None:
    """Even on its last delivery: a refused key is not the message's fault, so it is handed
    back without spending the attempt (a retry there would dead-letter it)."""
    queue, store, seen = RecordingQueue(), Store(), []
    err = AccessDenied("HTTP 403: API key not valid")
    result = outcomes(queue, seen).failed(
        delivery(4), err, record=store.record, label="v", fields=FIELDS
    )
    assert seen == [err]
    assert (result.action, result.error) == (Action.HANDED_BACK, err)
    assert result.delay_s >= SYSTEMIC_DELAY_S
    assert store.recorded == []
    assert [c[0] for c in queue.calls] == ["release"]


def test_where_a_handback_counts_a_systemic_error_waits_an_hour() -> None:
    queue = RecordingQueue(release_counts_attempt=True)  # Cloudflare
    result = fail(queue, AccessDenied("403"), attempts=2)
    assert (result.action, result.delay_s) == (Action.HANDED_BACK, 3600)
    assert [c[0] for c in queue.calls] == ["release"]


@pytest.mark.parametrize("attempts", [1, 4])
def test_a_store_outage_hands_the_message_back_unrecorded_and_is_observed(
    attempts: int,
) -> None:
    queue, store, seen = RecordingQueue(), Store(), []
    err = StoreUnavailable("postgres connection failed: connection refused")
    result = outcomes(queue, seen).failed(
        delivery(attempts), err, record=store.record, label="v", fields=FIELDS
    )
    assert seen == [err]
    assert (result.action, result.delay_s) == (Action.HANDED_BACK, 15)
    assert store.recorded == []
    assert queue.calls == [("release", "m1", (15, f"store_unavailable: {err.message}"))]


def test_where_a_handback_counts_a_store_outage_waits_long_enough_to_outlast_it() -> None:
    queue = RecordingQueue(release_counts_attempt=True)
    result = fail(queue, StoreUnavailable("S3 unreachable"))
    assert (result.action, result.delay_s) == (Action.HANDED_BACK, 600)


@pytest.mark.parametrize(
    "fault",
    [StoreUnavailable("postgres connection refused"), AccessDenied("password auth failed")],
)
@pytest.mark.parametrize("error", [TranscriptsDisabled(), UpstreamUnavailable("youtube 503")])
def test_a_store_that_is_out_while_recording_hands_the_message_back(
    fault: TubeqError, error: TubeqError
) -> None:
    """The video failed (permanently or not), but the store cannot say so: that is the
    store's outage (or its refused login), not another attempt of the video's."""
    queue, seen = RecordingQueue(), []
    store = Store(fault=fault)
    result = outcomes(queue, seen).failed(
        delivery(4), error, record=store.record, label="v", fields=FIELDS
    )
    assert seen == [error, fault]
    assert (result.action, result.error) == (Action.HANDED_BACK, fault)
    assert [c[0] for c in queue.calls] == ["release"]


def test_a_failure_the_store_cannot_record_is_never_acked() -> None:
    queue = RecordingQueue()
    result = fail(queue, TranscriptsDisabled(), store=Store(down=True))
    assert result.action is Action.RETRY and result.delay_s > 0
    assert [c[0] for c in queue.calls] == ["retry"]


def test_a_duplicate_waiting_on_its_original_costs_no_attempt_where_that_is_free() -> None:
    # SQLite gives the attempt back: the duplicate never walks to the DLQ however long the
    # original's claim is held
    queue, store = RecordingQueue(), Store()
    result = fail(queue, AnalysisInProgress("someone else pays", retry_after=30), store=store)
    assert (result.action, result.delay_s) == (Action.HANDED_BACK, 30)
    assert [c[0] for c in queue.calls] == ["release"]
    assert store.recorded == []


def test_a_duplicate_waiting_on_its_original_is_retried_unrecorded_where_attempts_count() -> None:
    queue, store = RecordingQueue(release_counts_attempt=True), Store()
    result = fail(queue, AnalysisInProgress("someone else pays", retry_after=30), store=store)
    assert (result.action, result.delay_s) == (Action.RETRY, 30)
    assert [c[0] for c in queue.calls] == ["retry"]
    assert store.recorded == []


def test_an_unreadable_job_is_dead_lettered_at_once_with_its_reason() -> None:
    queue = RecordingQueue()
    err = UnknownJobKind("no handler for kind 'x' in this consumer (known: video.analyze)")
    result = outcomes(queue).unreadable(delivery(1), err, fields={})
    assert (result.action, result.error, result.label) == (Action.DEAD, err, "video.analyze v1")
    assert queue.calls == [("dead_letter", "m1", f"unknown_job_kind: {err.message}")]


def test_a_rate_limit_is_observed_then_retried() -> None:
    queue, seen = RecordingQueue(), []
    err = RateLimited("429", retry_after=40)
    result = outcomes(queue, seen).failed(delivery(), err, record=None, label="v", fields=FIELDS)
    assert seen == [err] and (result.action, result.delay_s) == (Action.RETRY, 40)


@pytest.mark.parametrize(
    "settle",
    [
        lambda o: o.succeeded(delivery(), Outcome.DONE, label="v", fields=FIELDS),
        lambda o: o.failed(
            delivery(), TranscriptsDisabled(), record=None, label="v", fields=FIELDS
        ),
        lambda o: o.unreadable(delivery(), UnknownJobKind("x"), fields=FIELDS),
    ],
)
def test_a_queue_that_fails_leaves_the_message_to_its_lease(settle: object) -> None:
    queue = RecordingQueue(broken=True)
    result = settle(outcomes(queue))  # type: ignore[operator]
    assert result.action is Action.LEFT_TO_LEASE
    assert result.error is not None and result.error.code == "upstream_unavailable"
