"""The consumer loop: lease messages, process them concurrently, each by its kind's handler.

- Pulls only as many messages as it has free workers, so no lease ticks away in a local
  buffer; a heartbeat extends the leases of long work where the queue can, and a message
  whose lease is already gone is not started (it will be redelivered).
- Each message is dispatched to the handler registered for its job kind
  (``consumer.dispatch``) and gets its own outcome (``consumer.outcomes``: done → ack;
  permanent → recorded, ack; transient → recorded, retry with backoff; out of retries →
  dead-lettered; a kind or version this consumer cannot read → dead-lettered at once; a
  failure the store cannot record → never acked). One bad message never fails its batch.
- A 429 pauses pulling for the server's delay; a queue outage pauses it with backoff
  (the consumer keeps running). So does a store outage (``StoreUnavailable``: the result
  or artifact store unreachable, its disk full): the messages it failed are handed back
  without spending their attempts where the queue allows (``consumer.outcomes``), pulling
  pauses with backoff (up to ``outage_max_pause_s``), and then resumes with one message at
  a time — a probe — until one gets through, so an outage costs at most one handback per
  pause instead of the backlog's retries.
- A systemic error — a refused key, a bad setting — stops the consumer (``fatal``) and
  hands its messages back without spending their attempts where the queue allows, instead
  of failing the whole backlog; work still running when the grace period ends is handed
  back too, so repeated restarts do not walk it toward the dead-letter queue.
- Before the first pull, an optional ``preflight`` checks the services the consumer needs;
  a systemic failure (a refused key, a wrong password) stops it with ``fatal`` set and
  nothing leased, so a restarting container cannot walk its backlog into the DLQ.
- ``stop()`` (first SIGTERM/SIGINT): stop pulling, let in-flight work finish within the
  grace period, leases still extended. Whatever is unfinished after that keeps its lease,
  which simply expires.
- Burst mode ends when nothing is ready or in flight here; messages leased by another
  consumer (perhaps a dead one, whose leases expire within the visibility timeout) are
  waited for, at most a visibility timeout of idleness, unless told not to: then the stats
  say how many are leased elsewhere and until when (``leased_elsewhere``, ``leased_until``).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import datetime

from consumer.dispatch import Dispatcher
from consumer.handlers.base import HandlerRegistry
from consumer.handlers.video import Process, VideoHandler
from consumer.leases import LeaseKeeper
from consumer.outcomes import MessageResult, Outcomes
from shared.classify import classify
from shared.errors import RateLimited, StoreUnavailable, TubeqError
from shared.logging import get_logger
from shared.models import Delivery
from shared.ports import Queue, ResultStore
from shared.retry_policy import Action, RetryPolicy

__all__ = ["MessageResult", "Preflight", "Process", "RunStats", "Runner", "RunnerConfig"]

log = get_logger("tubeq.runner")

#: checks the services before anything is leased; given the stop event (a wait inside it
#: ends on SIGTERM); raises a systemic ``TubeqError`` when the consumer must not start
Preflight = Callable[[threading.Event], None]


@dataclass
class RunStats:
    pulled: int = 0
    done: int = 0
    skipped: int = 0
    failed: int = 0  # permanent
    retried: int = 0
    dead: int = 0
    lease_lost: int = 0  # left to its lease: the queue will deliver it again
    handed_back: int = 0  # not its fault (store outage, refused key): no attempt spent
    unfinished: int = 0  # still running when the grace period ran out
    #: burst mode, not waited for: messages another consumer holds, and its last lease's end
    leased_elsewhere: int = 0
    leased_until: datetime | None = None

    @property
    def finished(self) -> int:
        return self.done + self.skipped + self.failed + self.retried + self.dead


#: burst mode: how long messages the queue reports ready (but a pull missed) are pulled for
_READY_RECHECK_S = 2.0

_COUNTERS = {
    Action.DONE: "done",
    Action.SKIPPED: "skipped",
    Action.FAILED: "failed",
    Action.RETRY: "retried",
    Action.DEAD: "dead",
    Action.LEFT_TO_LEASE: "lease_lost",
    Action.HANDED_BACK: "handed_back",
}


@dataclass
class RunnerConfig:
    batch_size: int = 10
    concurrency: int = 4
    visibility_timeout_s: float = 600.0
    poll_interval_s: float = 1.0
    shutdown_grace_s: float = 30.0
    #: the longest pause after a store outage, between two probes of whether it is over
    outage_max_pause_s: float = 60.0


@dataclass
class Runner:
    """Give it ``handlers``, or for a consumer of video jobs only, the analysis step
    (``process``) and the ``results`` its failures are recorded in."""

    queue: Queue
    process: Process | None = None
    results: ResultStore | None = None
    policy: RetryPolicy = field(default_factory=RetryPolicy)
    config: RunnerConfig = field(default_factory=RunnerConfig)
    on_result: Callable[[MessageResult], None] | None = None
    preflight: Preflight | None = None
    handlers: HandlerRegistry | None = None

    def __post_init__(self) -> None:
        handlers = self.handlers
        if handlers is None:
            if self.process is None or self.results is None:
                raise TypeError("Runner needs handlers, or process and results")
            handlers = HandlerRegistry([VideoHandler(self.process, self.results)])
        self._dispatcher = Dispatcher(handlers, Outcomes(self.queue, self.policy, self._observe))
        self._stop = threading.Event()
        self.leases = LeaseKeeper(self.queue, self.config.visibility_timeout_s)
        # After a 429, or when the queue itself fails, the whole consumer holds off pulling:
        # every message it would take meanwhile would only fail the same way.
        self._pause_until = 0.0
        self._pull_failures = 0
        # A store outage: how many pauses in a row, and whether to pull one message at a
        # time (a probe) until one gets through. Set from worker threads (``_observe``).
        self._outage_lock = threading.Lock()
        self._store_outages = 0
        self._probing = False
        self.stats = RunStats()
        #: set when a systemic error (bad key, bad setting) stopped the runner
        self.fatal: TubeqError | None = None

    # ---- control ------------------------------------------------------------------------
    def stop(self) -> None:
        """Stop pulling; in-flight work finishes within the grace period."""
        if not self._stop.is_set():
            log.info("runner.stopping", grace_s=self.config.shutdown_grace_s)
        self._stop.set()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def _pause(self, seconds: float, reason: str) -> None:
        self._pause_until = max(self._pause_until, time.monotonic() + seconds)
        log.warning("runner.paused", reason=reason, seconds=round(seconds, 1))

    # ---- the loop -----------------------------------------------------------------------
    def run(
        self,
        *,
        burst: bool = False,
        burst_wait_s: float = 0.0,
        max_messages: int | None = None,
        wait_for_leases: bool = True,
    ) -> RunStats:
        """Consume until stopped.

        With ``burst``: until nothing is ready or in flight here; delayed messages (retries
        waiting out their backoff) are waited for up to ``burst_wait_s`` of idleness, and
        messages leased by other consumers (a killed one's come back when their leases
        expire) up to the visibility timeout, unless ``wait_for_leases`` is False.
        """
        if self.preflight is not None and not self._preflight_ok(self.preflight):
            return self.stats
        log.info("runner.started", burst=burst, concurrency=self.config.concurrency)
        self.leases.start()
        pool = ThreadPoolExecutor(max_workers=self.config.concurrency, thread_name_prefix="video")
        in_flight: set[Future[MessageResult]] = set()
        try:
            in_flight = self._loop(pool, burst, burst_wait_s, max_messages, wait_for_leases)
            self._drain(in_flight)
        finally:
            # Unfinished threads keep running only until the process exits; their leases
            # expire and the messages are redelivered.
            pool.shutdown(wait=False, cancel_futures=True)
            self._stop.set()
            self.leases.stop()
        fields = dict(self.stats.__dict__)
        fields["leased_until"] = _iso(self.stats.leased_until)
        log.info("runner.stopped", **fields)
        return self.stats

    def _preflight_ok(self, preflight: Preflight) -> bool:
        try:
            preflight(self._stop)
        except TubeqError as err:
            if not err.systemic:
                raise
            self._fail_fast(err)
            return False
        return True

    def _loop(
        self,
        pool: ThreadPoolExecutor,
        burst: bool,
        burst_wait_s: float,
        max_messages: int | None,
        wait_for_leases: bool,
    ) -> set[Future[MessageResult]]:
        cfg = self.config
        in_flight: set[Future[MessageResult]] = set()
        idle_since: float | None = None
        while not self._stop.is_set():
            free = cfg.concurrency - len(in_flight)
            if self._probing:
                # after a store outage: one message at a time until one gets through
                free = 0 if in_flight else min(free, 1)
            if max_messages is not None:
                free = min(free, max_messages - self.stats.pulled)
                if free <= 0 and not in_flight:
                    break
            deliveries = self._pull(free)
            for d in deliveries:
                self.leases.track(d)
                in_flight.add(pool.submit(self._handle, d))
            if deliveries or in_flight:
                idle_since = None
            elif burst:
                idle_since = idle_since or time.monotonic()
                if self._drained(time.monotonic() - idle_since, burst_wait_s, wait_for_leases):
                    break
            if in_flight:
                eager = deliveries and free > len(deliveries)  # the queue may have more
                done, in_flight = _wait_some(in_flight, 0 if eager else cfg.poll_interval_s)
                self._collect(done)
            elif not deliveries:
                self._stop.wait(cfg.poll_interval_s)
        return in_flight

    def _pull(self, free: int) -> list[Delivery]:
        if free <= 0 or time.monotonic() < self._pause_until:
            return []
        try:
            deliveries = self.queue.pull(
                min(free, self.config.batch_size), self.config.visibility_timeout_s
            )
        except Exception as exc:
            err = classify(exc)
            if err.systemic:
                self._fail_fast(err)
                return []
            # A queue outage must not kill the consumer: back off and try again.
            self._pull_failures += 1
            asked = getattr(err, "retry_after", None) or 0.0
            backoff = max(asked, min(2.0**self._pull_failures, 60.0))
            log.warning("queue.pull_failed", error_code=err.code, error=err.message)
            self._pause(backoff, "queue unavailable")
            return []
        self._pull_failures = 0
        self.stats.pulled += len(deliveries)
        return deliveries

    def _drained(self, idle_s: float, burst_wait_s: float, wait_for_leases: bool) -> bool:
        """Burst mode: is there nothing left worth waiting for? (Nothing is in flight here.)"""
        if time.monotonic() < self._pause_until or self._probing:
            return False  # paused, not drained
        try:
            stats = self.queue.stats()
            leased = stats.in_flight  # all of them elsewhere: nothing is in flight here
            if leased and wait_for_leases and idle_s < self.config.visibility_timeout_s:
                # Another consumer's leases: a killed one's expire within the visibility
                # timeout and the messages come back to be processed here.
                return False
            until = self.queue.leases_expire_by() if leased else None
        except Exception as exc:
            log.warning("queue.stats_failed", error=repr(exc))
            return False
        if idle_s < burst_wait_s and stats.delayed:
            return False
        if stats.ready and idle_s < max(burst_wait_s, _READY_RECHECK_S):
            # A delayed message came due between the empty pull and this look: pull again.
            return False
        self.stats.leased_elsewhere, self.stats.leased_until = leased, until
        if leased:
            log.warning("runner.leased_elsewhere", messages=leased, until=_iso(until))
        return True

    def _drain(self, in_flight: set[Future[MessageResult]]) -> None:
        if not in_flight:
            return
        deadline = time.monotonic() + self.config.shutdown_grace_s
        while in_flight and time.monotonic() < deadline:
            done, in_flight = _wait_some(in_flight, max(0.0, deadline - time.monotonic()))
            self._collect(done)
        self.stats.unfinished = len(in_flight)
        if in_flight:
            log.warning("runner.grace_expired", unfinished=len(in_flight))
            if self.fatal is not None:
                self._hand_back_unfinished(self.fatal)

    def _hand_back_unfinished(self, fatal: TubeqError) -> None:
        """Stopped by a systemic error: what is still running cannot succeed either. Hand it
        back now, without spending its attempt where the queue allows, instead of leaving it
        to a lease whose expiry would count one (a restart loop would walk it to the DLQ).
        The worker threads' own ack or retry later finds a stale lease and does nothing."""
        delay = self.policy.hand_back(fatal, counts_attempt=self.queue.release_counts_attempt)
        for d in self.leases.held():
            try:
                self.queue.release(d, delay_s=delay.delay_s, error=f"{fatal.code}: {fatal.message}")
            except Exception as exc:
                log.warning("message.hand_back_failed", message_id=d.message_id, error=repr(exc))
                continue
            self.stats.handed_back += 1
            log.warning("message.handed_back", message_id=d.message_id, error_code=fatal.code)

    def _collect(self, done: set[Future[MessageResult]]) -> None:
        for fut in done:
            result = fut.result()  # _handle never raises
            if result.action not in (Action.HANDED_BACK, Action.LEFT_TO_LEASE):
                self._outage_over()
            counter = _COUNTERS.get(result.action)
            if counter:
                setattr(self.stats, counter, getattr(self.stats, counter) + 1)
            if self.on_result is not None:
                self.on_result(result)

    def _fail_fast(self, err: TubeqError) -> None:
        if self.fatal is None:
            self.fatal = err
            log.error("runner.fatal", error_code=err.code, error=err.message)
        self.stop()

    def _observe(self, err: TubeqError) -> None:
        """Told of each failure before it is settled: the whole consumer reacts to some."""
        if err.systemic:
            # Nothing can succeed until someone fixes the key or setting: stop, rather than
            # fail the whole backlog (the outcome keeps the message).
            self._fail_fast(err)
        elif isinstance(err, StoreUnavailable):
            self._store_outage(err)
        elif isinstance(err, RateLimited) and err.retry_after:
            self._pause(min(err.retry_after, self.config.visibility_timeout_s), err.code)

    def _store_outage(self, err: StoreUnavailable) -> None:
        """Hold off pulling: every message taken now would fail the same way. The first
        failure of an outage (or of a probe) lengthens the pause; the others in flight with
        it, failing during the pause, do not."""
        cap = self.config.outage_max_pause_s
        with self._outage_lock:
            self._probing = True
            if time.monotonic() < self._pause_until:
                return
            self._store_outages += 1
            pause = max(min(2.0**self._store_outages, cap), min(err.retry_after or 0.0, cap))
        log.warning("store.unavailable", error_code=err.code, error=err.message)
        self._pause(pause, "store unavailable")

    def _outage_over(self) -> None:
        with self._outage_lock:
            was_out, self._probing, self._store_outages = self._probing, False, 0
        if was_out:
            log.info("runner.resumed", reason="store available again")

    # ---- one message --------------------------------------------------------------------
    def _handle(self, d: Delivery) -> MessageResult:
        try:
            if self.leases.expired(d):
                log.warning(
                    "message.lease_expired_before_start",
                    kind=d.envelope.kind,
                    message_id=d.message_id,
                    attempt=d.attempts,
                )
                return MessageResult(d, Action.LEFT_TO_LEASE, label=d.envelope.label)
            return self._dispatcher.handle(d)
        finally:
            self.leases.forget(d)


def _wait_some(
    futures: set[Future[MessageResult]], timeout: float
) -> tuple[set[Future[MessageResult]], set[Future[MessageResult]]]:
    done, pending = wait(futures, timeout=timeout, return_when=FIRST_COMPLETED)
    return set(done), set(pending)


def _iso(when: datetime | None) -> str | None:
    return when.isoformat(timespec="seconds") if when is not None else None
