"""Cloudflare Queues as tubeq's queue: publish over REST, consume as an HTTP pull consumer.

The REST calls themselves (token, timeouts, Cloudflare's envelope, which calls are
replayed, and why plain httpx) are ``shared.adapters._cloudflare_rest``.

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

import base64
import binascii
import json
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Self

from pydantic import SecretStr

from shared.adapter_settings import CloudflareQueueSettings
from shared.adapters._cloudflare_rest import CloudflareRest
from shared.cloudflare_limits import (
    MAX_BATCH_BYTES,
    MAX_BATCH_MESSAGES,
    MAX_DELAY_S,
    MAX_MESSAGE_BYTES,
    MAX_VISIBILITY_MS,
    batches,
    check_delay,
    check_message,
)
from shared.errors import (
    ConfigError,
    InvalidInput,
    TubeqError,
    UpstreamRejected,
)
from shared.jobs import Envelope, Job, job_or_raw
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

#: listing the DLQ hides its messages only this long if the release call fails
DLQ_PEEK_VISIBILITY_MS = 30_000
#: redrive holds DLQ leases while it publishes; long enough for a large DLQ
REDRIVE_VISIBILITY_MS = 300_000
#: a queue that ignored leases would make a drain loop endless; 1,000 pulls = 100k messages
MAX_DRAIN_PULLS = 1_000


class DeadLetterListingRefused(TubeqError):
    """Listing Cloudflare's dead-letter queue would consume it; read the result store."""

    #: the API answers this code with 501 (``producer.api.errors.NOT_SUPPORTED``)
    code = "not_supported"


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
        self._account_id = account_id
        self._queue_id = queue_id
        self._dlq_id = dlq_id or None
        self._dlq_peek = dlq_peek
        #: what `tubeq cloudflare setup` gave the queue's pull consumer (it decides dead-lettering)
        self.max_retries = max_retries
        self._backlog: dict[str, int] = {}
        self._rest = CloudflareRest(
            account_id=account_id,
            api_token=api_token,
            api_url=api_url,
            timeout_s=timeout_s,
            attempts=http_attempts,
            backoff_s=http_backoff_s,
            max_wait_s=http_max_wait_s,
        )

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
        entries = [_entry(job.envelope().wire(), "json", delay, job.label) for job in jobs]
        self._publish(self._queue_id, entries)
        return len(entries)

    def pull(self, batch_size: int, visibility_timeout_s: float) -> list[Delivery]:
        if not 1 <= batch_size <= MAX_BATCH_MESSAGES:
            raise InvalidInput(f"batch_size must be 1..{MAX_BATCH_MESSAGES}, got {batch_size}")
        vt_ms = min(MAX_VISIBILITY_MS, max(1, round(visibility_timeout_s * 1000)))
        messages = self._pull_raw(self._queue_id, batch_size, vt_ms)
        expires = datetime.now(UTC) + timedelta(milliseconds=vt_ms)
        deliveries: list[Delivery] = []
        poison: list[Mapping[str, Any]] = []
        for raw in messages:
            try:
                envelope = Envelope.from_wire(_decode_body(raw)[0])
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
                    enqueued_at=_from_ms(raw.get("timestamp_ms")),
                    lease_expires_at=expires,
                )
            )
        if poison:
            self._quarantine(poison)
        return deliveries

    def ack(self, deliveries: Sequence[Delivery]) -> None:
        self._ack_raw(self._queue_id, acks=[d.lease_id for d in deliveries])

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
        self._ack_raw(self._queue_id, retries=[(delivery.lease_id, delay)])

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
            self._ack_raw(self._queue_id, retries=[(delivery.lease_id, 60)])
            return
        wire = delivery.envelope.wire()
        self._publish(self._dlq_id, [_entry(wire, "json", 0, delivery.message_id)])
        self._ack_raw(self._queue_id, acks=[delivery.lease_id])

    def extend(self, delivery: Delivery, visibility_timeout_s: float) -> bool:
        # Cloudflare's pull API has no lease extension; a retry would give the lease up.
        return False

    def stats(self) -> QueueStats:
        dead = self._backlog_of(self._dlq_id) if self._dlq_id else 0
        return QueueStats(ready=self._backlog_of(self._queue_id), dead=dead)

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
        dlq = self._require_dlq()
        letters: dict[str, DeadLetter] = {}
        leases: list[str] = []
        try:
            for _ in range(MAX_DRAIN_PULLS):
                if len(letters) >= limit:
                    break
                want = min(MAX_BATCH_MESSAGES, limit - len(letters))
                batch = self._pull_raw(dlq, want, DLQ_PEEK_VISIBILITY_MS)
                if not batch:
                    break
                for raw in batch:
                    leases.append(str(raw.get("lease_id")))
                    letters.setdefault(str(raw.get("id")), _dead_letter(raw, self.max_retries + 1))
        finally:
            self._release(dlq, leases)
        return list(letters.values())[:limit]

    def redrive(self, message_ids: Sequence[str] | None = None) -> int:
        """Move dead letters (all, or these ids) back to the jobs queue with fresh attempts."""
        dlq = self._require_dlq()
        wanted = set(message_ids) if message_ids is not None else None
        if wanted is not None and not wanted:
            return 0
        take: dict[str, Mapping[str, Any]] = {}
        keep: list[str] = []
        moved = False
        try:
            for _ in range(MAX_DRAIN_PULLS):
                batch = self._pull_raw(dlq, MAX_BATCH_MESSAGES, REDRIVE_VISIBILITY_MS)
                for raw in batch:
                    msg_id = str(raw.get("id"))
                    if (wanted is None or msg_id in wanted) and msg_id not in take:
                        take[msg_id] = raw
                    else:
                        keep.append(str(raw.get("lease_id")))
                if not batch or (wanted is not None and wanted <= take.keys()):
                    break
            entries = [_entry(*_decode_body(raw), 0, msg_id) for msg_id, raw in take.items()]
            # Publish first, then ack on the DLQ: at-least-once, never lost in between.
            self._publish(self._queue_id, entries)
            moved = True
            self._ack_raw(dlq, acks=[str(raw.get("lease_id")) for raw in take.values()])
        finally:
            unmoved = [] if moved else [str(raw.get("lease_id")) for raw in take.values()]
            self._release(dlq, keep + unmoved)
        log.info("cf_queue.redrive", moved=len(take))
        return len(take)

    def close(self) -> None:
        self._rest.close()

    # ---- REST calls -----------------------------------------------------------------

    def _path(self, queue_id: str, tail: str = "") -> str:
        base = f"/accounts/{self._account_id}/queues/{queue_id}"
        return f"{base}/{tail}" if tail else base

    def _publish(self, queue_id: str, entries: Sequence[tuple[dict[str, Any], int]]) -> None:
        # A publish replayed after an ambiguous failure may enqueue a job twice; every step
        # of the pipeline is idempotent, so a duplicate costs a skip, a lost job costs data.
        for chunk in _chunks(entries):
            if len(chunk) == 1:
                self._call("POST", self._path(queue_id, "messages"), chunk[0], replay=True)
            else:
                body = {"messages": list(chunk)}
                self._call("POST", self._path(queue_id, "messages/batch"), body, replay=True)

    def _pull_raw(self, queue_id: str, batch_size: int, vt_ms: int) -> list[Mapping[str, Any]]:
        # Never replayed after an ambiguous failure (5xx, read timeout): the lost reply may
        # have leased messages that would then sit hidden for the whole visibility timeout
        # while we pulled others. The runner simply polls again.
        body = {"batch_size": batch_size, "visibility_timeout_ms": vt_ms}
        result = self._call("POST", self._path(queue_id, "messages/pull"), body, replay=False)
        if not isinstance(result, Mapping):
            return []
        if isinstance(result.get("message_backlog_count"), int | float):
            self._backlog[queue_id] = int(result["message_backlog_count"])
        messages = result.get("messages") or []
        return [m for m in messages if isinstance(m, Mapping) and m.get("lease_id")]

    def _ack_raw(
        self, queue_id: str, *, acks: Sequence[str] = (), retries: Sequence[tuple[str, int]] = ()
    ) -> None:
        # Replaying an ack is safe: a lease already acked or retried is simply not found
        # again, and an expired lease cannot touch the message's next delivery.
        items = [("acks", {"lease_id": lease}) for lease in acks] + [
            ("retries", {"lease_id": lease, "delay_seconds": d}) for lease, d in retries
        ]
        for start in range(0, len(items), MAX_BATCH_MESSAGES):
            body: dict[str, list[dict[str, Any]]] = {"acks": [], "retries": []}
            for key, item in items[start : start + MAX_BATCH_MESSAGES]:
                body[key].append(item)
            self._call("POST", self._path(queue_id, "messages/ack"), body, replay=True)

    def _release(self, queue_id: str, leases: Sequence[str]) -> None:
        """Give leases back at once; if that fails they come back when the lease expires."""
        if not leases:
            return
        try:
            self._ack_raw(queue_id, retries=[(lease, 0) for lease in leases])
        except TubeqError as exc:
            log.warning("cf_queue.release_failed", count=len(leases), error=exc.message)

    def _backlog_of(self, queue_id: str) -> int:
        try:
            result = self._call("GET", self._path(queue_id, "metrics"), None, replay=True)
        except UpstreamRejected:
            # no metrics endpoint on this account/API version: the last pull's count will do
            return self._backlog.get(queue_id, 0)
        if isinstance(result, Mapping) and isinstance(result.get("backlog_count"), int | float):
            self._backlog[queue_id] = int(result["backlog_count"])
        return self._backlog.get(queue_id, 0)

    def _quarantine(self, poison: Sequence[Mapping[str, Any]]) -> None:
        """Unreadable bodies go straight to the DLQ (or back after a minute, without one)."""
        leases = [str(raw.get("lease_id")) for raw in poison]
        try:
            if self._dlq_id:
                entries = [_entry(*_decode_body(r), 0, str(r.get("id"))) for r in poison]
                self._publish(self._dlq_id, entries)
                self._ack_raw(self._queue_id, acks=leases)
            else:
                self._ack_raw(self._queue_id, retries=[(lease, 60) for lease in leases])
        except TubeqError as exc:
            # they come back after the visibility timeout and are tried again then
            log.warning("cf_queue.quarantine_failed", count=len(poison), error=exc.message)

    def _require_dlq(self) -> str:
        if not self._dlq_id:
            raise ConfigError(
                "TUBEQ_CF_DLQ_ID is not set: the dead-letter queue's id is needed to list or "
                "redrive dead letters (`tubeq cloudflare setup` prints it)"
            )
        return self._dlq_id

    def _call(self, method: str, path: str, body: Any, *, replay: bool) -> Any:
        return self._rest.call(method, path, body, replay=replay)


# ---- message bodies and limits ------------------------------------------------------


def _entry(body: Any, content_type: str, delay: int, label: str) -> tuple[dict[str, Any], int]:
    """A publish entry and its counted size (``shared.cloudflare_limits``)."""
    size = check_message(body, content_type, label)
    entry: dict[str, Any] = {"body": body, "content_type": content_type}
    if delay:
        entry["delay_seconds"] = delay
    return entry, size


def _chunks(entries: Sequence[tuple[dict[str, Any], int]]) -> Iterator[list[dict[str, Any]]]:
    return batches(entries)


def _decode_body(raw: Mapping[str, Any]) -> tuple[Any, str]:
    """A pulled body and its content type: base64 JSON (the json type), plain JSON, or text."""
    body = raw.get("body")
    metadata = raw.get("metadata")
    declared = metadata.get("CF-Content-Type") if isinstance(metadata, Mapping) else None
    if not isinstance(body, str):
        return body, "json"
    if declared == "text":
        return body, "text"
    try:
        return json.loads(base64.b64decode(body, validate=True).decode("utf-8")), "json"
    except (binascii.Error, ValueError):
        pass  # not base64 of JSON: maybe the JSON itself
    try:
        return json.loads(body), "json"
    except ValueError:
        return body, "text"


def _dead_letter(raw: Mapping[str, Any], attempts: int) -> DeadLetter:
    body, _ = _decode_body(raw)
    return DeadLetter(
        message_id=str(raw.get("id")),
        body=job_or_raw(body),
        # Cloudflare dead-letters after exactly max_retries + 1 deliveries and the DLQ keeps
        # no count of them (its own ``attempts`` counts listings), so it is inferred.
        attempts=attempts,
        last_error=None,  # Cloudflare keeps no error text; the result store has it
        enqueued_at=_from_ms(raw.get("timestamp_ms")),
        dead_at=None,
    )


def _from_ms(value: Any) -> datetime:
    if isinstance(value, int | float) and value > 0:
        return datetime.fromtimestamp(value / 1000, UTC)
    return datetime.now(UTC)
