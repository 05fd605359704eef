"""Cloudflare Queues as tubeq's queue: publish over REST, consume as an HTTP pull consumer.

The REST calls themselves (token, timeouts, Cloudflare's envelope, which calls are
replayed, and why plain httpx) are ``shared.adapters._cloudflare_rest``; the queue endpoints
on top of it ``_cloudflare_queue_calls``, message bodies ``_cloudflare_queue_messages``, and
the moves into and out of the DLQ (quarantine, peek, redrive) ``_cloudflare_queue_dead_letters``.

How the port maps onto Cloudflare:

- ``send`` → ``POST …/messages`` (one job) or ``…/messages/batch``, chunked to ≤ 100
  messages and ≤ 256 KB per request; a job over 128 KB is refused before anything is sent.
- ``pull`` → ``…/messages/pull``; json bodies arrive base64-encoded (a body that arrives as
  plain JSON is accepted too). A body that is not a job envelope (``shared.jobs``) is moved
  to the DLQ at once (publish there, then ack) so one poison message never blocks or fails
  a batch; a bare ``VideoJob`` from before envelopes reads as ``video.analyze`` v1.
- ``dead_letter`` (a job the consumer cannot read) → publish its envelope to the DLQ, then
  ack, as for poison; the reason is only logged (the DLQ keeps bodies, not errors).
- ``ack`` / ``retry`` → ``…/messages/ack`` with ``acks`` / ``retries``. Cloudflare keeps no
  error text: the DLQ holds only the body and an attempt count, so the pipeline records the
  error in the result store, not here.
- Dead-lettering is Cloudflare's: the ``max_retries`` of the queue's HTTP pull consumer
  decides. ``tubeq cloudflare setup`` sets it from ``TUBEQ_MAX_RETRIES`` and ``tubeq
  doctor`` checks the two still agree.
- ``release`` (a handback after a store outage or a refused key) → a retry, which still
  counts: Cloudflare counts a delivery when it is pulled and cannot give the attempt back;
  the consumer hands back with a long delay instead (``consumer.outcomes``).
- ``extend`` → ``False``: the pull API has no way to push a lease out (the only lever, a
  retry, gives the lease up). Choose a visibility timeout that covers the slowest video.
- Listing dead letters: Cloudflare's REST API has no non-consuming way to read a queue
  (publish, pull and ack are all there is; the dashboard's message list is not a public
  endpoint), and a pull-and-release counts one attempt *in the DLQ* — past the DLQ
  consumer's ``max_retries`` Cloudflare deletes the message. So ``dead_letters()`` refuses
  by default and says where to look instead: the result store, whose ``dead`` rows carry
  the error and attempts (``GET /v1/dlq`` reads those). ``peek_dead_letters()`` is the
  explicit pull-and-release peek (``GET /v1/dlq?peek=true``), for when message ids are
  needed; ``dlq_peek=True`` makes ``dead_letters()`` peek too (the contract tests use it).
  A peeked letter's ``attempts`` is inferred as ``TUBEQ_MAX_RETRIES + 1`` (the DLQ keeps
  no count of the original deliveries) and its ``last_error`` is None. Dead letters also
  expire with the DLQ's message retention period (4 days by default): redrive before.
- ``redrive`` pulls from the DLQ, publishes first, then acks there (at-least-once: a crash
  between the two leaves a copy in both, never in neither); letters it leaves are
  released, which counts an attempt there like a peek.
- ``stats`` → ``GET …/queues/{id}/metrics`` (``backlog_count``: every unacknowledged
  message — ready, delayed and in flight together, Cloudflare does not split them, so all
  of it is reported as ``ready``), falling back to the last ``message_backlog_count`` a pull
  returned.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Self

from pydantic import SecretStr

from shared.adapter_settings import CloudflareQueueSettings
from shared.adapters import _cloudflare_queue_dead_letters as dlq
from shared.adapters._cloudflare_queue_calls import QueueCalls
from shared.adapters._cloudflare_queue_dead_letters import DeadLetterListingRefused
from shared.adapters._cloudflare_queue_messages import decode_body, entry, from_ms
from shared.adapters._cloudflare_rest import CloudflareRest
from shared.cloudflare_limits import (
    MAX_BATCH_BYTES,
    MAX_BATCH_MESSAGES,
    MAX_DELAY_S,
    MAX_MESSAGE_BYTES,
    MAX_VISIBILITY_MS,
    check_delay,
)
from shared.errors import ConfigError, InvalidInput
from shared.jobs import Envelope, Job
from shared.logging import get_logger
from shared.models import DeadLetter, Delivery, QueueStats

log = get_logger(__name__)

__all__ = [
    "MAX_BATCH_BYTES",
    "MAX_BATCH_MESSAGES",
    "MAX_MESSAGE_BYTES",
    "CloudflareQueue",
    "DeadLetterListingRefused",
]


class CloudflareQueue:
    """A Cloudflare queue (and its dead-letter queue) through the REST API."""

    #: read by the API and the CLI: listing this queue's dead letters costs them attempts
    dead_letter_listing_consumes = True
    #: a handback is a retry: the pull already counted the delivery (``release``)
    release_counts_attempt = True

    def __init__(
        self,
        *,
        account_id: str,
        api_token: SecretStr,
        queue_id: str,
        dlq_id: str | None = None,
        api_url: str = "https://api.cloudflare.com/client/v4",
        max_retries: int = 3,
        timeout_s: float = 30.0,
        http_attempts: int = 3,
        http_backoff_s: float = 0.5,
        http_max_wait_s: float = 10.0,
        dlq_peek: bool = False,
    ) -> None:
        for name, value in (("CF_ACCOUNT_ID", account_id), ("CF_QUEUE_ID", queue_id)):
            if not value or "/" in value:
                raise ConfigError(f"TUBEQ_{name} must be a Cloudflare id, got {value!r}")
        if not api_token.get_secret_value():
            raise ConfigError("TUBEQ_CF_API_TOKEN is empty: create a token with Queues Edit")
        self._queue_id = queue_id
        self._dlq_id = dlq_id or None
        self._dlq_peek = dlq_peek
        #: what `tubeq cloudflare setup` gave the queue's pull consumer (it decides dead-lettering)
        self.max_retries = max_retries
        self._rest = CloudflareRest(
            account_id=account_id,
            api_token=api_token,
            api_url=api_url,
            timeout_s=timeout_s,
            attempts=http_attempts,
            backoff_s=http_backoff_s,
            max_wait_s=http_max_wait_s,
        )
        self._calls = QueueCalls(self._rest, account_id)

    @property
    def queue_id(self) -> str:
        return self._queue_id

    @classmethod
    def from_settings(cls, section: CloudflareQueueSettings) -> Self:
        missing = [
            "TUBEQ_CF_" + name.upper()
            for name in ("account_id", "api_token", "queue_id")
            if not getattr(section, name)
        ]
        if missing or section.api_token is None:
            raise ConfigError("the cloudflare queue needs " + ", ".join(missing))
        return cls(
            account_id=section.account_id or "",
            api_token=section.api_token,
            queue_id=section.queue_id or "",
            dlq_id=section.dlq_id,
            api_url=section.api_url,
            max_retries=section.max_retries,
            timeout_s=section.timeout_s,
        )

    # ---- the port -------------------------------------------------------------------

    def send(self, jobs: Sequence[Job], *, delay_s: int = 0) -> int:
        delay = check_delay(delay_s)
        # Check every job before sending any, so a bad one never leaves a half-sent batch.
        entries = [entry(job.envelope().wire(), "json", delay, job.label) for job in jobs]
        self._calls.publish(self._queue_id, entries)
        return len(entries)

    def pull(self, batch_size: int, visibility_timeout_s: float) -> list[Delivery]:
        if not 1 <= batch_size <= MAX_BATCH_MESSAGES:
            raise InvalidInput(f"batch_size must be 1..{MAX_BATCH_MESSAGES}, got {batch_size}")
        vt_ms = min(MAX_VISIBILITY_MS, max(1, round(visibility_timeout_s * 1000)))
        messages = self._calls.pull(self._queue_id, batch_size, vt_ms)
        expires = datetime.now(UTC) + timedelta(milliseconds=vt_ms)
        deliveries: list[Delivery] = []
        poison: list[Mapping[str, Any]] = []
        for raw in messages:
            try:
                envelope = Envelope.from_wire(decode_body(raw)[0])
            except ValueError as exc:
                log.warning("cf_queue.poison_message", message_id=raw.get("id"), error=str(exc))
                poison.append(raw)
                continue
            deliveries.append(
                Delivery(
                    message_id=str(raw.get("id")),
                    lease_id=str(raw.get("lease_id")),
                    envelope=envelope,
                    attempts=max(1, int(raw.get("attempts") or 1)),
                    enqueued_at=from_ms(raw.get("timestamp_ms")),
                    lease_expires_at=expires,
                )
            )
        if poison:
            dlq.quarantine(self._calls, self._queue_id, self._dlq_id, poison)
        return deliveries

    def ack(self, deliveries: Sequence[Delivery]) -> None:
        self._calls.ack(self._queue_id, acks=[d.lease_id for d in deliveries])

    def retry(self, delivery: Delivery, *, delay_s: int, error: str) -> None:
        """Hand the message back for redelivery after ``delay_s``. ``error`` is not sent:
        Cloudflare keeps none, so it is only logged here (the result store records it)."""
        delay = min(MAX_DELAY_S, max(0, int(delay_s)))
        log.info(
            "cf_queue.retry",
            message_id=delivery.message_id,
            kind=delivery.envelope.kind,
            attempt=delivery.attempts,
            delay_s=delay,
            error=error[:300],
        )
        self._calls.ack(self._queue_id, retries=[(delivery.lease_id, delay)])

    def release(self, delivery: Delivery, *, delay_s: int, error: str) -> None:
        """A retry: Cloudflare counted this delivery as an attempt when it was pulled, and
        its API has no way to give one back (no nack-without-count, no lease extension), so
        a handback after an outage still spends an attempt, and one on the message's last
        delivery sends it to the DLQ. What the caller can do is make handbacks rare: a long
        ``delay_s`` keeps the message out of the pulls made while the outage lasts."""
        log.info("cf_queue.release", message_id=delivery.message_id, delay_s=delay_s)
        self.retry(delivery, delay_s=delay_s, error=error)

    def leases_expire_by(self) -> datetime | None:
        # The pull API does not say what other consumers hold, nor until when.
        return None

    def dead_letter(self, delivery: Delivery, reason: str) -> None:
        """Publish the envelope to the DLQ, then ack it here (at-least-once: a crash between
        the two leaves a copy in both). Without a DLQ id it is retried after a minute, and
        Cloudflare dead-letters it once out of retries. ``reason`` is only logged."""
        log.warning(
            "cf_queue.dead_letter",
            message_id=delivery.message_id,
            kind=delivery.envelope.kind,
            attempt=delivery.attempts,
            reason=reason[:500],
        )
        if not self._dlq_id:
            self._calls.ack(self._queue_id, retries=[(delivery.lease_id, 60)])
            return
        wire = delivery.envelope.wire()
        self._calls.publish(self._dlq_id, [entry(wire, "json", 0, delivery.message_id)])
        self._calls.ack(self._queue_id, acks=[delivery.lease_id])

    def extend(self, delivery: Delivery, visibility_timeout_s: float) -> bool:
        # Cloudflare's pull API has no lease extension; a retry would give the lease up.
        return False

    def stats(self) -> QueueStats:
        dead = self._calls.backlog(self._dlq_id) if self._dlq_id else 0
        return QueueStats(ready=self._calls.backlog(self._queue_id), dead=dead)

    def dead_letters(self, limit: int = 100) -> list[DeadLetter]:
        """Refused unless built with ``dlq_peek=True``: listing costs the letters attempts."""
        if not self._dlq_peek:
            raise DeadLetterListingRefused(
                "listing Cloudflare's dead-letter queue pulls and releases its messages, and "
                "every listing counts an attempt there (past the DLQ consumer's max_retries "
                "Cloudflare deletes them). Read dead videos from the result store instead "
                "(GET /v1/dlq, `tubeq status`); to see message ids, peek on purpose: "
                "GET /v1/dlq?peek=true"
            )
        return self.peek_dead_letters(limit)

    def peek_dead_letters(self, limit: int = 100) -> list[DeadLetter]:
        """Pull from the DLQ, then release at once. Each peek adds one to every listed
        letter's attempts in the DLQ: keep its consumer's ``max_retries`` high (100) and
        peek rarely, never from a dashboard that polls."""
        return dlq.peek(self._calls, self._require_dlq(), limit, self.max_retries + 1)

    def redrive(self, message_ids: Sequence[str] | None = None) -> int:
        """Move dead letters (all, or these ids) back to the jobs queue with fresh attempts."""
        return dlq.redrive(self._calls, self._require_dlq(), self._queue_id, message_ids)

    def close(self) -> None:
        self._rest.close()

    def _require_dlq(self) -> str:
        if not self._dlq_id:
            raise ConfigError(
                "TUBEQ_CF_DLQ_ID is not set: the dead-letter queue's id is needed to list or "
                "redrive dead letters (`tubeq cloudflare setup` prints it)"
            )
        return self._dlq_id
