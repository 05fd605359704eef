"""What becomes of a message once its handler has run: classify → decide → record → act.

The one place that turns a handler's return or exception into ack, retry or dead-letter
(dramatiq keeps retries in a middleware, out of the worker loop; this is that piece). It is
synchronous and owns no threads: the pull runner calls it from its pool, and a push-style
consumer (a Queue consumer Worker) can call it once per message.

- done / skipped → ack;
- unreadable (no handler for its kind, a version or body this consumer cannot read) →
  dead-lettered at once with the reason: retrying cannot make it readable;
- not the message's fault — systemic (a refused key, a bad setting) or a store outage
  (``StoreUnavailable``: the result or artifact store unreachable, its disk full) → handed
  back (``Queue.release``): no attempt spent where the queue can give it back (SQLite), a
  long delay where it cannot (Cloudflare), never failed, recorded or dead-lettered;
  ``observe`` hears of it first, so the caller can stop (systemic) or pause (outage);
- waiting on a peer (a duplicate whose original holds the claim) → handed back the same way
  where that is free, with the delay the handler asked for; retried as transient elsewhere;
- permanent → recorded, then acked; transient → recorded, retried with the policy's backoff;
  out of retries → recorded as dead, and the retry call dead-letters it;
- a failure the recorder cannot write is never acked: if the store is out (or refuses us)
  that is observed and the message handed back as above; otherwise it is retried (backoff of
  an unexpected error) so it is recorded on a later delivery instead of vanishing;
- the queue failing on any of these calls → left to its lease: it comes back.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from consumer.handlers.base import Outcome
from shared.classify import classify
from shared.errors import TubeqError, UnexpectedError
from shared.jobs import JobUnreadable
from shared.logging import get_logger
from shared.models import Delivery
from shared.ports import Queue
from shared.retry_policy import Action, RetryPolicy, is_handback

log = get_logger("tubeq.outcomes")

#: writes a failure where its users look (the handler's ``record_failure``, bound to the job)
Recorder = Callable[[TubeqError, Action], None]
#: hears of every failure before it is acted on (the runner stops on a systemic error and
#: pauses pulling on a 429 or a store outage)
Observer = Callable[[TubeqError], None]
#: the least a message is held back after a systemic error (where the handback is free)
SYSTEMIC_DELAY_S = RetryPolicy.systemic_delay_s
MAX_ERROR_CHARS = 2000


@dataclass(frozen=True)
class MessageResult:
    delivery: Delivery
    action: Action  # DONE, SKIPPED, FAILED, RETRY, DEAD, LEFT_TO_LEASE or HANDED_BACK
    error: TubeqError | None = None
    delay_s: int = 0
    #: what the message is about, for reports: a video id, or the kind when unreadable
    label: str = ""


@dataclass
class Outcomes:
    queue: Queue
    policy: RetryPolicy
    observe: Observer | None = None

    def succeeded(
        self, d: Delivery, outcome: Outcome, *, label: str, fields: Mapping[str, object]
    ) -> MessageResult:
        def act() -> MessageResult:
            self.queue.ack([d])
            log.info("message.acked", **fields, outcome=outcome.value)
            action = Action.DONE if outcome is Outcome.DONE else Action.SKIPPED
            return MessageResult(d, action, label=label)

        return self._guarded(d, label, fields, act)

    def unreadable(
        self, d: Delivery, err: JobUnreadable, *, fields: Mapping[str, object]
    ) -> MessageResult:
        label = d.envelope.label

        def act() -> MessageResult:
            log.warning("message.unreadable", **fields, error_code=err.code, error=err.message)
            self.queue.dead_letter(d, f"{err.code}: {err.message}")
            return MessageResult(d, Action.DEAD, err, label=label)

        return self._guarded(d, label, fields, act)

    def failed(
        self,
        d: Delivery,
        exc: BaseException,
        *,
        record: Recorder | None,
        label: str,
        fields: Mapping[str, object],
    ) -> MessageResult:
        err = classify(exc)
        if isinstance(err, JobUnreadable):
            return self.unreadable(d, err, fields=fields)
        if self.observe is not None:
            self.observe(err)
        return self._guarded(d, label, fields, lambda: self._settle(d, err, record, label, fields))

    # ---- inside ---------------------------------------------------------------------------

    def _settle(
        self,
        d: Delivery,
        err: TubeqError,
        record: Recorder | None,
        label: str,
        fields: Mapping[str, object],
    ) -> MessageResult:
        if is_handback(err):
            # Nothing can succeed until the store is back or someone fixes the key: keep the
            # message without spending its attempt, rather than walk the backlog to the DLQ.
            return self._hand_back(d, err, label, fields)
        if err.waits_on_peer and not self.queue.release_counts_attempt:
            # Another consumer holds the work (a duplicate's original): come back when it is
            # expected to be done, at no cost where the queue allows it.
            return self._hand_back(d, err, label, fields)
        decision = self.policy.decide(err, d.attempts)
        log.warning(
            "message.failed",
            **fields,
            error_code=err.code,
            error=err.message,
            action=decision.action.value,
            delay_s=decision.delay_s,
        )
        store_error = self._record(record, err, decision.action, fields)
        if store_error is not None and is_handback(store_error):
            # The store failing to record it is an outage (or a refused login) of its own
            if self.observe is not None:
                self.observe(store_error)
            return self._hand_back(d, store_error, label, fields)
        recorded = store_error is None
        if decision.action is Action.ACK and recorded:
            self.queue.ack([d])
            return MessageResult(d, Action.FAILED, err, label=label)
        if decision.action is Action.ACK:
            # Permanent, but the failure could not be recorded: keep the message so it is
            # written on a later delivery instead of vanishing.
            decision = self.policy.decide(UnexpectedError(), d.attempts)
        self.queue.retry(d, delay_s=decision.delay_s, error=_error_text(err))
        action = Action.DEAD if decision.action is Action.DEAD else Action.RETRY
        return MessageResult(d, action, err, decision.delay_s, label)

    def _hand_back(
        self, d: Delivery, err: TubeqError, label: str, fields: Mapping[str, object]
    ) -> MessageResult:
        counts = self.queue.release_counts_attempt
        decision = self.policy.hand_back(err, counts_attempt=counts)
        log.warning(
            "message.handed_back",
            **fields,
            error_code=err.code,
            error=err.message,
            delay_s=decision.delay_s,
            attempt_spent=counts,
        )
        self.queue.release(d, delay_s=decision.delay_s, error=_error_text(err))
        return MessageResult(d, Action.HANDED_BACK, err, decision.delay_s, label)

    def _record(
        self,
        record: Recorder | None,
        err: TubeqError,
        action: Action,
        fields: Mapping[str, object],
    ) -> TubeqError | None:
        """Record the failure; the store's own error if it could not."""
        if record is None or not err.records_failure:
            return None
        try:
            record(err, action)
        except Exception as exc:
            store_error = classify(exc)
            log.error(
                "failure.not_recorded",
                **fields,
                error_code=err.code,
                store_error_code=store_error.code,
                store_error=store_error.message,
            )
            return store_error
        return None

    def _guarded(
        self,
        d: Delivery,
        label: str,
        fields: Mapping[str, object],
        act: Callable[[], MessageResult],
    ) -> MessageResult:
        try:
            return act()
        except Exception as exc:  # the queue failed on ack/retry/dead-letter
            err = classify(exc)
            log.error("message.lease_left", **fields, error_code=err.code, error=err.message)
            return MessageResult(d, Action.LEFT_TO_LEASE, err, label=label)


def _error_text(err: TubeqError) -> str:
    return f"{err.code}: {err.message}"[:MAX_ERROR_CHARS]
