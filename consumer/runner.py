"""The consumer loop: lease messages, process them concurrently, decide per message.

- Pulls only as many messages as it has free workers, so no lease ticks away in a local
  buffer; a heartbeat extends the leases of long work where the queue can, and a message
  whose lease is already gone is not started (it will be redelivered).
- Each message gets its own outcome: done → ack; permanent failure → recorded, ack;
  transient → recorded, retry with backoff; out of retries → the queue dead-letters it.
  One bad message never fails or retries its batch.
- ``stop()`` (first SIGTERM/SIGINT): stop pulling, let in-flight work finish within the
  grace period. Whatever is unfinished after that keeps its lease, which simply expires.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from consumer.pipeline import Outcome
from shared.classify import classify
from shared.errors import RateLimited, TubeqError
from shared.logging import get_logger
from shared.models import Delivery, FailureRecord, VideoJob, VideoState
from shared.ports import Queue, ResultStore
from shared.retry_policy import Action, RetryPolicy

log = get_logger("tubeq.runner")

Process = Callable[[VideoJob, int], Outcome]


@dataclass
class RunStats:
    pulled: int = 0
    done: int = 0
    skipped: int = 0
    failed: int = 0  # permanent
    retried: int = 0
    dead: int = 0
    unfinished: int = 0  # still running when the grace period ran out

    @property
    def finished(self) -> int:
        return self.done + self.skipped + self.failed + self.retried + self.dead


@dataclass(frozen=True)
class MessageResult:
    delivery: Delivery
    action: str  # "done", "skipped", "failed", "retry", "dead", "lease_lost"
    error: TubeqError | None = None
    delay_s: int = 0


@dataclass
class RunnerConfig:
    batch_size: int = 10
    concurrency: int = 4
    visibility_timeout_s: float = 600.0
    poll_interval_s: float = 1.0
    shutdown_grace_s: float = 30.0


@dataclass
class Runner:
    queue: Queue
    process: Process
    results: ResultStore
    policy: RetryPolicy
    config: RunnerConfig = field(default_factory=RunnerConfig)
    on_result: Callable[[MessageResult], None] | None = None

    def __post_init__(self) -> None:
        self._stop = threading.Event()
        self._leases: dict[str, tuple[Delivery, datetime]] = {}
        self._leases_lock = threading.Lock()
        self._cannot_extend: set[str] = set()
        # After a 429 the whole consumer holds off pulling: every message it would take
        # meanwhile would only hit the same limit and use up one of its retries.
        self._pause_until = 0.0
        self.stats = RunStats()

    # ---- control ------------------------------------------------------------------------
    def stop(self) -> None:
        """Stop pulling; in-flight work finishes within the grace period."""
        if not self._stop.is_set():
            log.info("runner.stopping", grace_s=self.config.shutdown_grace_s)
        self._stop.set()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    # ---- the loop -----------------------------------------------------------------------
    def run(
        self, *, burst: bool = False, burst_wait_s: float = 0.0, max_messages: int | None = None
    ) -> RunStats:
        """Consume until stopped.

        With ``burst``: until nothing is ready or in flight here; delayed messages (retries
        waiting out their backoff) are waited for up to ``burst_wait_s`` of idleness.
        """
        cfg = self.config
        log.info("runner.started", burst=burst, concurrency=cfg.concurrency)
        heartbeat = threading.Thread(target=self._heartbeat, name="lease-heartbeat", daemon=True)
        heartbeat.start()
        pool = ThreadPoolExecutor(max_workers=cfg.concurrency, thread_name_prefix="video")
        in_flight: set[Future[MessageResult]] = set()
        idle_since: float | None = None
        try:
            while not self._stop.is_set():
                free = cfg.concurrency - len(in_flight)
                if time.monotonic() < self._pause_until:
                    free = 0
                if max_messages is not None:
                    free = min(free, max_messages - self.stats.pulled)
                    if free <= 0 and not in_flight:
                        break
                deliveries = (
                    self.queue.pull(min(free, cfg.batch_size), cfg.visibility_timeout_s)
                    if free > 0
                    else []
                )
                self.stats.pulled += len(deliveries)
                for d in deliveries:
                    self._track(d)
                    in_flight.add(pool.submit(self._handle, d))
                paused = time.monotonic() < self._pause_until
                if not deliveries and not in_flight and burst and not paused:
                    idle_since = idle_since or time.monotonic()
                    waited = time.monotonic() - idle_since
                    if waited >= burst_wait_s or self.queue.stats().delayed == 0:
                        break
                elif deliveries or in_flight:
                    idle_since = None
                if in_flight:
                    timeout = 0 if (deliveries and free > len(deliveries)) else cfg.poll_interval_s
                    done, in_flight = _wait_some(in_flight, timeout)
                    self._collect(done)
                elif not deliveries:
                    self._stop.wait(cfg.poll_interval_s)
            self._drain(in_flight)
        finally:
            # Unfinished threads keep running only until the process exits; their leases
            # expire and the messages are redelivered.
            pool.shutdown(wait=False, cancel_futures=True)
            self._stop.set()
            heartbeat.join(timeout=1)
        log.info("runner.stopped", **self.stats.__dict__)
        return self.stats

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

    def _collect(self, done: set[Future[MessageResult]]) -> None:
        for fut in done:
            result = fut.result()  # _handle never raises
            counter = {
                "done": "done",
                "skipped": "skipped",
                "failed": "failed",
                "retry": "retried",
                "dead": "dead",
            }.get(result.action)
            if counter:
                setattr(self.stats, counter, getattr(self.stats, counter) + 1)
            if self.on_result is not None:
                self.on_result(result)

    # ---- one message --------------------------------------------------------------------
    def _handle(self, d: Delivery) -> MessageResult:
        try:
            return self._handle_inner(d)
        except Exception as exc:  # a broken queue or store: leave the lease to expire
            log.error("message.unhandled", video_id=d.body.video_id, error=repr(exc))
            return MessageResult(d, "lease_lost", classify(exc))
        finally:
            with self._leases_lock:
                self._leases.pop(d.message_id, None)

    def _handle_inner(self, d: Delivery) -> MessageResult:
        bound = log.bind(video_id=d.body.video_id, attempt=d.attempts, message_id=d.message_id)
        if self._lease_expired(d):
            bound.warning("message.lease_expired_before_start")
            return MessageResult(d, "lease_lost")
        try:
            outcome = self.process(d.body, d.attempts)
        except Exception as exc:
            return self._on_error(d, classify(exc))
        self.queue.ack([d])
        bound.info("message.acked", outcome=outcome.value)
        return MessageResult(d, "done" if outcome is Outcome.DONE else "skipped")

    def _on_error(self, d: Delivery, err: TubeqError) -> MessageResult:
        decision = self.policy.decide(err, d.attempts)
        state = {
            Action.ACK: VideoState.FAILED,
            Action.RETRY: VideoState.RETRYING,
            Action.DEAD: VideoState.DEAD,
        }[decision.action]
        log.warning(
            "message.failed",
            video_id=d.body.video_id,
            attempt=d.attempts,
            error_code=err.code,
            error=err.message,
            action=decision.action.value,
            delay_s=decision.delay_s,
        )
        if isinstance(err, RateLimited) and err.retry_after:
            pause = min(err.retry_after, self.config.visibility_timeout_s)
            self._pause_until = max(self._pause_until, time.monotonic() + pause)
            log.warning("runner.paused", reason=err.code, seconds=round(pause, 1))
        detail = getattr(err, "raw", None)
        self.results.record_failure(
            FailureRecord(
                video_id=d.body.video_id,
                state=state,
                error_code=err.code,
                error=err.message[:2000],
                attempts=d.attempts,
                detail=detail if isinstance(detail, str) else None,
                meta=d.body.meta,
            )
        )
        if decision.action is Action.ACK:
            self.queue.ack([d])
            return MessageResult(d, "failed", err)
        self.queue.retry(d, delay_s=decision.delay_s, error=f"{err.code}: {err.message}"[:2000])
        action = "dead" if decision.action is Action.DEAD else "retry"
        return MessageResult(d, action, err, decision.delay_s)

    # ---- leases -------------------------------------------------------------------------
    def _track(self, d: Delivery) -> None:
        with self._leases_lock:
            self._leases[d.message_id] = (d, d.lease_expires_at)

    def _lease_expired(self, d: Delivery) -> bool:
        with self._leases_lock:
            entry = self._leases.get(d.message_id)
        expires = entry[1] if entry else d.lease_expires_at
        return datetime.now(UTC) >= expires

    def _heartbeat(self) -> None:
        """Extend leases that are half gone, for videos that take long (a 6-hour stream)."""
        lease = self.config.visibility_timeout_s
        interval = max(0.05, min(lease / 4, 30.0))
        while not self._stop.wait(interval):
            now = datetime.now(UTC)
            with self._leases_lock:
                due = [
                    d
                    for d, exp in self._leases.values()
                    if exp - now < timedelta(seconds=lease / 2)
                    and d.message_id not in self._cannot_extend
                ]
            for d in due:
                try:
                    extended = self.queue.extend(d, lease)
                except Exception as exc:  # keep beating for the others
                    log.warning("lease.extend_failed", video_id=d.body.video_id, error=repr(exc))
                    continue
                if not extended:
                    # The backend cannot (Cloudflare) or the lease is gone: keep to it.
                    self._cannot_extend.add(d.message_id)
                    continue
                    if d.message_id in self._leases:
                        self._leases[d.message_id] = (d, now + timedelta(seconds=lease))


def _wait_some(
    futures: set[Future[MessageResult]], timeout: float
) -> tuple[set[Future[MessageResult]], set[Future[MessageResult]]]:
    done, pending = wait(futures, timeout=timeout, return_when=FIRST_COMPLETED)
    return set(done), set(pending)
