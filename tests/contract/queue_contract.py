"""The queue contract: one suite every ``shared.ports.Queue`` adapter must pass.

An adapter's test module subclasses ``QueueContract`` and provides a ``harness`` fixture
returning a ``QueueHarness``: it builds queues on a clock the test can move (a fake clock
for SQLite, the stub server's clock for Cloudflare) and says which optional behaviours the
backend has. The tests never sleep; time passes only through ``harness.advance``.

Semantics pinned here are Cloudflare Queues': leases (visibility timeout), every delivery
counts as an attempt, ``max_retries`` retries then the dead-letter queue, stale lease ids
are ignored, delays ≤ 12 h, messages ≤ 128 KB.

Messages are job envelopes: the last section runs the consumer's dispatch (no runner, no
threads) over each adapter, so a bare body from before envelopes is processed as a video
job, and a kind or version the consumer cannot read goes to the dead-letter queue at once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, ClassVar, Protocol

import pytest

from consumer.dispatch import Dispatcher
from consumer.handlers.base import HandlerRegistry, Outcome
from consumer.outcomes import MessageResult, Outcomes
from shared.errors import InvalidInput, TubeqError
from shared.jobs import Job
from shared.models import Delivery, QueueStats, VideoJob, VideoMeta
from shared.ports import Queue
from shared.retry_policy import Action, RetryPolicy

LEASE_S = 30.0
REQUESTED = datetime(2025, 1, 2, 3, 4, 5, 678_901, tzinfo=UTC)


class QueueHarness(Protocol):
    #: whether dead letters keep the text of the last error passed to ``retry``
    carries_errors: bool
    #: whether ``extend`` can push a lease out (False: it must return False)
    supports_extend: bool
    #: whether ``stats`` splits the backlog into ready, delayed and in flight (Cloudflare
    #: reports one number: the messages not yet acknowledged)
    splits_backlog: bool

    def make(self, max_retries: int = 3) -> Queue:
        """A new, empty queue on the harness's clock."""
        ...

    def advance(self, seconds: float) -> None:
        """Move the queue's clock forward."""
        ...

    def put_raw(self, queue: Queue, body: Any) -> None:
        """Put a message body on the queue as it is, as another writer would (a bare
        ``VideoJob`` dict, as production queues held before envelopes)."""
        ...


MakeQueue = Callable[..., Queue]


def assert_stats(
    harness: QueueHarness,
    stats: QueueStats,
    *,
    backlog: int,
    ready: int | None = None,
    delayed: int | None = None,
    in_flight: int | None = None,
    dead: int | None = None,
) -> None:
    """The backlog always; the split of it where the queue can tell (``splits_backlog``)."""
    assert stats.backlog == backlog
    if not harness.splits_backlog:
        return
    split = {"ready": ready, "delayed": delayed, "in_flight": in_flight, "dead": dead}
    for name, want in split.items():
        if want is not None:
            assert getattr(stats, name) == want, name


def job(n: int, *, force: bool = False, meta: VideoMeta | None = None) -> VideoJob:
    # A fixed requested_at, so job(n) == job(n) and bodies can be compared after a trip.
    return VideoJob(
        video_id=f"ct{n:09d}", source="contract", force=force, meta=meta, requested_at=REQUESTED
    )


class Mystery(Job):
    """A kind no consumer here has a handler for."""

    kind: ClassVar[str] = "contract.mystery"
    note: str = "?"


class VideoJobFromTheFuture(VideoJob):
    """A video job as a newer producer (schema v7) would send it."""

    version: ClassVar[int] = 7


@dataclass
class SeenVideos:
    """A video handler that only notes what it was given."""

    seen: list[VideoJob] = field(default_factory=list)

    @property
    def job_model(self) -> type[VideoJob]:
        return VideoJob

    def process(self, job: VideoJob, attempt: int) -> Outcome:
        self.seen.append(job)
        return Outcome.DONE

    def log_fields(self, job: VideoJob) -> dict[str, object]:
        return {"video_id": job.video_id}

    def record_failure(
        self, job: VideoJob, error: TubeqError, action: Action, attempt: int
    ) -> None:
        raise AssertionError(f"no failure expected, got {error!r}")


def dispatch(queue: Queue, handler: SeenVideos, delivery: Delivery) -> MessageResult:
    return Dispatcher(HandlerRegistry([handler]), Outcomes(queue, RetryPolicy())).handle(delivery)


def pull_all(queue: Queue, visibility_timeout_s: float = LEASE_S) -> list[Delivery]:
    """Everything ready now, in as many batches as it takes (batches are ≤ 100)."""
    got: list[Delivery] = []
    while batch := queue.pull(100, visibility_timeout_s):
        got.extend(batch)
    return got


def pull_one(queue: Queue, visibility_timeout_s: float = LEASE_S) -> Delivery:
    got = queue.pull(10, visibility_timeout_s)
    assert len(got) == 1, f"expected one delivery, got {len(got)}"
    return got[0]


class QueueContract:
    """Subclass as ``Test<Adapter>`` and provide a ``harness`` fixture."""

    @pytest.fixture
    def make_queue(self, harness: QueueHarness) -> Iterator[MakeQueue]:
        opened: list[Queue] = []

        def make(max_retries: int = 3) -> Queue:
            queue = harness.make(max_retries=max_retries)
            opened.append(queue)
            return queue

        yield make
        for queue in opened:
            queue.close()

    @pytest.fixture
    def queue(self, make_queue: MakeQueue) -> Queue:
        return make_queue()

    # ---- send and pull ------------------------------------------------------------------

    def test_round_trip_keeps_the_job(self, queue: Queue) -> None:
        sent = job(1, force=True, meta=VideoMeta(video_id="ct000000001", title="Ünïcode ✓"))
        assert queue.send([sent]) == 1
        got = pull_one(queue)
        assert got.body == sent
        assert got.attempts == 1
        assert got.lease_id and got.message_id
        assert got.lease_expires_at > got.enqueued_at

    def test_pull_from_empty_queue_returns_nothing(self, queue: Queue) -> None:
        assert queue.pull(10, LEASE_S) == []
        assert queue.send([]) == 0

    def test_batch_of_250_is_sent_whole(self, queue: Queue, harness: QueueHarness) -> None:
        jobs = [job(i) for i in range(250)]
        assert queue.send(jobs) == 250
        got = pull_all(queue)
        assert sorted(d.body.video_id for d in got) == sorted(j.video_id for j in jobs)
        assert len({d.message_id for d in got}) == 250
        assert_stats(harness, queue.stats(), in_flight=250, backlog=250)

    def test_pull_respects_batch_size(self, queue: Queue) -> None:
        queue.send([job(i) for i in range(5)])
        assert len(queue.pull(2, LEASE_S)) == 2
        assert len(queue.pull(10, LEASE_S)) == 3

    def test_delayed_send_waits(self, queue: Queue, harness: QueueHarness) -> None:
        queue.send([job(1)], delay_s=60)
        assert queue.pull(10, LEASE_S) == []
        harness.advance(59)
        assert queue.pull(10, LEASE_S) == []
        harness.advance(2)
        assert pull_one(queue).body.video_id == job(1).video_id

    @pytest.mark.parametrize("delay_s", [-1, 43_201])
    def test_send_rejects_delay_outside_0_to_12h(self, queue: Queue, delay_s: int) -> None:
        with pytest.raises(InvalidInput, match="delay"):
            queue.send([job(1)], delay_s=delay_s)
        assert queue.stats().backlog == 0

    def test_send_refuses_message_over_128kb(self, queue: Queue) -> None:
        huge = job(2, meta=VideoMeta(video_id="ct000000002", title="x" * 140_000))
        with pytest.raises(InvalidInput, match="bytes"):
            queue.send([job(1), huge])
        assert queue.stats().backlog == 0, "a refused batch must enqueue nothing"

    # ---- leases ---------------------------------------------------------------------------

    def test_leased_message_is_not_delivered_twice_before_expiry(
        self, queue: Queue, harness: QueueHarness
    ) -> None:
        queue.send([job(1)])
        pull_one(queue)
        assert queue.pull(10, LEASE_S) == []
        harness.advance(LEASE_S - 1)
        assert queue.pull(10, LEASE_S) == []

    def test_lease_expiry_redelivers_with_attempts_incremented(
        self, queue: Queue, harness: QueueHarness
    ) -> None:
        queue.send([job(1)])
        first = pull_one(queue)
        harness.advance(LEASE_S + 1)
        second = pull_one(queue)
        assert second.message_id == first.message_id
        assert second.lease_id != first.lease_id
        assert (first.attempts, second.attempts) == (1, 2)
        assert second.body == first.body

    def test_extend_keeps_the_lease(self, queue: Queue, harness: QueueHarness) -> None:
        queue.send([job(1)])
        got = pull_one(queue, 10)
        harness.advance(8)
        if not harness.supports_extend:
            assert queue.extend(got, 10) is False
            return
        assert queue.extend(got, 10) is True
        harness.advance(8)  # 16 s after the pull: past the first lease, inside the extension
        assert queue.pull(10, LEASE_S) == []
        harness.advance(3)
        assert pull_one(queue).attempts == 2

    def test_extend_of_a_stale_lease_fails(self, queue: Queue, harness: QueueHarness) -> None:
        queue.send([job(1)])
        old = pull_one(queue)
        harness.advance(LEASE_S + 1)
        pull_one(queue)
        assert queue.extend(old, LEASE_S) is False

    # ---- ack --------------------------------------------------------------------------------

    def test_ack_removes(self, queue: Queue, harness: QueueHarness) -> None:
        queue.send([job(1), job(2)])
        got = queue.pull(10, LEASE_S)
        queue.ack(got)
        harness.advance(LEASE_S * 10)
        assert queue.pull(10, LEASE_S) == []
        assert queue.stats().backlog == 0

    def test_ack_twice_is_harmless(self, queue: Queue) -> None:
        queue.send([job(1)])
        first = pull_one(queue)
        queue.ack([first])
        queue.ack([first])
        queue.ack([])
        assert queue.stats().backlog == 0
        queue.send([job(2)])
        assert pull_one(queue).body == job(2)

    def test_stale_ack_and_retry_leave_the_new_lease_alone(
        self, queue: Queue, harness: QueueHarness
    ) -> None:
        queue.send([job(1)])
        old = pull_one(queue)
        harness.advance(LEASE_S + 1)
        new = pull_one(queue)
        queue.ack([old])
        queue.retry(old, delay_s=0, error="late consumer")
        assert queue.pull(10, LEASE_S) == [], "the stale lease id must not free the message"
        assert_stats(harness, queue.stats(), in_flight=1, backlog=1)
        queue.ack([new])
        assert queue.stats().backlog == 0

    # ---- retry, attempts, dead letters -----------------------------------------------------

    def test_retry_delay_is_respected(self, queue: Queue, harness: QueueHarness) -> None:
        queue.send([job(1)])
        queue.retry(pull_one(queue), delay_s=60, error="boom")
        assert queue.pull(10, LEASE_S) == []
        assert_stats(harness, queue.stats(), delayed=1, backlog=1)
        harness.advance(59)
        assert queue.pull(10, LEASE_S) == []
        harness.advance(2)
        assert pull_one(queue).attempts == 2

    def test_retry_without_delay_is_ready_at_once(self, queue: Queue) -> None:
        queue.send([job(1)])
        queue.retry(pull_one(queue), delay_s=0, error="boom")
        assert pull_one(queue).attempts == 2

    def test_every_delivery_counts_an_attempt(self, queue: Queue, harness: QueueHarness) -> None:
        queue.send([job(1)])
        seen = []
        for _ in range(3):
            got = pull_one(queue)
            seen.append(got.attempts)
            queue.retry(got, delay_s=1, error="again")
            harness.advance(2)
        assert seen == [1, 2, 3]

    def test_release_hands_back_after_its_delay_without_an_attempt_where_free(
        self, queue: Queue, harness: QueueHarness
    ) -> None:
        queue.send([job(1)])
        queue.release(pull_one(queue), delay_s=60, error="store_unavailable: down")
        assert queue.pull(10, LEASE_S) == []
        harness.advance(61)
        again = pull_one(queue)
        # Cloudflare counted the first pull and cannot give it back (declared)
        assert again.attempts == (2 if queue.release_counts_attempt else 1)
        assert again.envelope == job(1).envelope()

    def test_release_never_dead_letters_where_free(self, make_queue: MakeQueue) -> None:
        queue = make_queue(max_retries=0)
        queue.send([job(1)])
        if queue.release_counts_attempt:
            pytest.skip("a handback is a retry here: the last delivery's goes to the DLQ")
        for _ in range(5):  # an outage outlasting any number of retries
            queue.release(pull_one(queue), delay_s=0, error="store_unavailable: down")
        assert queue.dead_letters() == []
        assert pull_one(queue).attempts == 1

    def test_release_of_a_stale_lease_leaves_the_new_one_alone(
        self, queue: Queue, harness: QueueHarness
    ) -> None:
        queue.send([job(1)])
        old = pull_one(queue, visibility_timeout_s=1)
        harness.advance(2)
        new = pull_one(queue)
        queue.release(old, delay_s=0, error="late")
        assert queue.pull(10, LEASE_S) == []  # still leased to the new holder
        queue.ack([new])

    def test_leases_expire_by_says_when_the_last_lease_runs_out(
        self, queue: Queue, harness: QueueHarness
    ) -> None:
        assert queue.leases_expire_by() is None
        queue.send([job(1), job(2)])
        assert len(queue.pull(1, 10)) == 1
        assert len(queue.pull(1, LEASE_S)) == 1
        until = queue.leases_expire_by()
        if until is None:
            return  # the backend cannot tell (Cloudflare)
        first = queue.leases_expire_by()
        assert first == until
        harness.advance(11)
        assert queue.leases_expire_by() == until  # the longer lease still holds
        harness.advance(LEASE_S)
        assert queue.leases_expire_by() is None

    def test_max_retries_then_dead_letter(
        self, make_queue: MakeQueue, harness: QueueHarness
    ) -> None:
        queue = make_queue(max_retries=2)
        sent = job(7)
        queue.send([sent])
        for attempt in (1, 2, 3):  # max_retries + 1 deliveries
            got = pull_one(queue)
            assert got.attempts == attempt
            queue.retry(got, delay_s=1, error=f"failure number {attempt}")
            harness.advance(2)
        harness.advance(LEASE_S * 10)
        assert queue.pull(10, LEASE_S) == []
        dead = queue.dead_letters()
        assert len(dead) == 1
        assert dead[0].body == sent
        assert dead[0].attempts == 3
        if harness.carries_errors:
            assert dead[0].last_error is not None
            assert "failure number 3" in dead[0].last_error
        stats = queue.stats()
        assert (stats.dead, stats.ready, stats.delayed) == (1, 0, 0)

    def test_max_retries_zero_dead_letters_on_first_retry(self, make_queue: MakeQueue) -> None:
        queue = make_queue(max_retries=0)
        queue.send([job(1)])
        queue.retry(pull_one(queue), delay_s=0, error="no retries allowed")
        assert queue.pull(10, LEASE_S) == []
        assert [d.attempts for d in queue.dead_letters()] == [1]

    def test_expired_leases_count_towards_max_retries(
        self, make_queue: MakeQueue, harness: QueueHarness
    ) -> None:
        # A job that kills its consumer every time must not be delivered forever.
        queue = make_queue(max_retries=1)
        queue.send([job(1)])
        for attempt in (1, 2):
            assert pull_one(queue).attempts == attempt
            harness.advance(LEASE_S + 1)
        assert queue.pull(10, LEASE_S) == []
        dead = queue.dead_letters()
        assert [(d.body, d.attempts) for d in dead] == [(job(1), 2)]

    # ---- redrive --------------------------------------------------------------------------

    def _two_dead(self, make_queue: MakeQueue) -> Queue:
        queue = make_queue(max_retries=0)
        queue.send([job(1), job(2)])
        for got in queue.pull(10, LEASE_S):
            queue.retry(got, delay_s=0, error="dead on arrival")
        assert len(queue.dead_letters()) == 2
        return queue

    def test_redrive_all_starts_attempts_over(self, make_queue: MakeQueue) -> None:
        queue = self._two_dead(make_queue)
        assert queue.redrive() == 2
        assert queue.dead_letters() == []
        got = pull_all(queue)
        assert sorted(d.body.video_id for d in got) == [job(1).video_id, job(2).video_id]
        assert [d.attempts for d in got] == [1, 1]

    def test_redrive_by_id(self, make_queue: MakeQueue) -> None:
        queue = self._two_dead(make_queue)
        target = next(d for d in queue.dead_letters() if d.body == job(2))
        assert queue.redrive([target.message_id]) == 1
        assert [d.body.video_id for d in pull_all(queue)] == [job(2).video_id]
        assert [d.body for d in queue.dead_letters()] == [job(1)]
        assert queue.redrive(["no-such-message"]) == 0
        assert queue.redrive([]) == 0

    def test_dead_letters_limit(self, make_queue: MakeQueue) -> None:
        queue = self._two_dead(make_queue)
        assert len(queue.dead_letters(limit=1)) == 1

    # ---- stats ----------------------------------------------------------------------------

    def test_stats_counts_each_state(self, queue: Queue, harness: QueueHarness) -> None:
        assert queue.stats().backlog == 0
        queue.send([job(1), job(2), job(3)])
        queue.send([job(4), job(5)], delay_s=100)
        assert len(queue.pull(1, LEASE_S)) == 1
        assert_stats(harness, queue.stats(), ready=2, delayed=2, in_flight=1, dead=0, backlog=5)
        queue.ack(queue.pull(10, LEASE_S))  # the two that were ready
        assert_stats(harness, queue.stats(), delayed=2, in_flight=1, backlog=3)

    # ---- job kinds and versions (the consumer's dispatch on this queue) -------------------

    def test_a_bare_body_from_before_envelopes_is_processed_as_a_video_job(
        self, queue: Queue, harness: QueueHarness
    ) -> None:
        harness.put_raw(queue, job(1).model_dump(mode="json"))
        got = pull_one(queue)
        assert (got.envelope.kind, got.envelope.v) == ("video.analyze", 1)
        assert got.body == job(1)
        handler = SeenVideos()
        assert dispatch(queue, handler, got).action is Action.DONE
        assert handler.seen == [job(1)]
        harness.advance(LEASE_S * 10)
        assert queue.pull(10, LEASE_S) == [] and queue.dead_letters() == []

    def _dead_at_once(self, queue: Queue, harness: QueueHarness, reason: str) -> None:
        got = pull_one(queue)
        handler = SeenVideos()
        result = dispatch(queue, handler, got)
        assert (result.action, handler.seen) == (Action.DEAD, [])
        assert result.error is not None and reason in result.error.message
        harness.advance(LEASE_S * 10)
        assert queue.pull(10, LEASE_S) == [], "dead-lettered, not redelivered"
        (dead,) = queue.dead_letters()
        if harness.carries_errors:
            assert dead.attempts == 1, "at once, not after its retries"
            assert dead.last_error is not None and reason in dead.last_error

    def test_an_unknown_kind_goes_to_the_dlq_at_once_saying_why(
        self, queue: Queue, harness: QueueHarness
    ) -> None:
        queue.send([Mystery(note="hello")])
        self._dead_at_once(
            queue,
            harness,
            "no handler for kind 'contract.mystery' in this consumer (known: video.analyze)",
        )
        (dead,) = queue.dead_letters()
        assert dead.body == Mystery(
            note="hello"
        )  # kept whole, to redrive to a consumer that has one

    def test_a_newer_version_goes_to_the_dlq_at_once_saying_why(
        self, queue: Queue, harness: QueueHarness
    ) -> None:
        queue.send([VideoJobFromTheFuture(video_id="ct000000001")])
        self._dead_at_once(
            queue,
            harness,
            "video.analyze v7 is newer than this consumer understands (≤ 1): upgrade the "
            "consumer, then redrive",
        )
        (dead,) = queue.dead_letters()
        assert isinstance(dead.body, dict) and (dead.body["kind"], dead.body["v"]) == (
            "video.analyze",
            7,
        )

    def test_a_body_its_kind_cannot_read_goes_to_the_dlq_at_once(
        self, queue: Queue, harness: QueueHarness
    ) -> None:
        harness.put_raw(queue, {"video_id": "??"})
        self._dead_at_once(queue, harness, "the body is not a valid video.analyze v1: video_id")
