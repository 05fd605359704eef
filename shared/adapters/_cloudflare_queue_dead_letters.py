"""Moving messages into and out of the dead-letter queue for the Cloudflare queue adapter
(``shared.adapters.cloudflare_queue``), holding their leases while it does.

Every move publishes first and acks after (at-least-once: a crash between the two leaves a
copy in both queues, never in neither), and every lease it does not ack it releases at once.

- ``quarantine``: pulled bodies that are no job envelope go straight to the DLQ (or come
  back after a minute, without one), so one poison message never blocks or fails a batch.
- ``peek``: the DLQ has no non-consuming read, so a listing pulls and releases, and each
  listing counts an attempt there (past the DLQ consumer's ``max_retries`` Cloudflare
  deletes the message).
- ``redrive``: pull from the DLQ, publish to the jobs queue, ack on the DLQ; letters it
  leaves are released, which counts an attempt there like a peek.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from shared.adapters._cloudflare_queue_calls import QueueCalls
from shared.adapters._cloudflare_queue_messages import dead_letter_of, decode_body, entry
from shared.cloudflare_limits import MAX_BATCH_MESSAGES
from shared.errors import TubeqError
from shared.logging import get_logger
from shared.models import DeadLetter

log = get_logger(__name__)

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


def quarantine(
    calls: QueueCalls, queue_id: str, dlq_id: str | None, poison: Sequence[Mapping[str, Any]]
) -> None:
    """Unreadable bodies go straight to the DLQ (or back after a minute, without one)."""
    leases = [str(raw.get("lease_id")) for raw in poison]
    try:
        if dlq_id:
            entries = [entry(*decode_body(r), 0, str(r.get("id"))) for r in poison]
            calls.publish(dlq_id, entries)
            calls.ack(queue_id, acks=leases)
        else:
            calls.ack(queue_id, retries=[(lease, 60) for lease in leases])
    except TubeqError as exc:
        # they come back after the visibility timeout and are tried again then
        log.warning("cf_queue.quarantine_failed", count=len(poison), error=exc.message)


def peek(calls: QueueCalls, dlq_id: str, limit: int, attempts: int) -> list[DeadLetter]:
    """Up to ``limit`` letters of the DLQ, pulled and released at once; each is taken to
    have been delivered ``attempts`` times (the DLQ keeps no count of them)."""
    letters: dict[str, DeadLetter] = {}
    leases: list[str] = []
    try:
        for _ in range(MAX_DRAIN_PULLS):
            if len(letters) >= limit:
                break
            want = min(MAX_BATCH_MESSAGES, limit - len(letters))
            batch = calls.pull(dlq_id, want, DLQ_PEEK_VISIBILITY_MS)
            if not batch:
                break
            for raw in batch:
                leases.append(str(raw.get("lease_id")))
                letters.setdefault(str(raw.get("id")), dead_letter_of(raw, attempts))
    finally:
        calls.release(dlq_id, leases)
    return list(letters.values())[:limit]


def redrive(
    calls: QueueCalls, dlq_id: str, queue_id: str, message_ids: Sequence[str] | None
) -> int:
    """Move dead letters (all, or these ids) back to the jobs queue; how many moved."""
    wanted = set(message_ids) if message_ids is not None else None
    if wanted is not None and not wanted:
        return 0
    take: dict[str, Mapping[str, Any]] = {}
    keep: list[str] = []
    moved = False
    try:
        for _ in range(MAX_DRAIN_PULLS):
            batch = calls.pull(dlq_id, MAX_BATCH_MESSAGES, REDRIVE_VISIBILITY_MS)
            for raw in batch:
                msg_id = str(raw.get("id"))
                if (wanted is None or msg_id in wanted) and msg_id not in take:
                    take[msg_id] = raw
                else:
                    keep.append(str(raw.get("lease_id")))
            if not batch or (wanted is not None and wanted <= take.keys()):
                break
        entries = [entry(*decode_body(raw), 0, msg_id) for msg_id, raw in take.items()]
        # Publish first, then ack on the DLQ: at-least-once, never lost in between.
        calls.publish(queue_id, entries)
        moved = True
        calls.ack(dlq_id, acks=[str(raw.get("lease_id")) for raw in take.values()])
    finally:
        unmoved = [] if moved else [str(raw.get("lease_id")) for raw in take.values()]
        calls.release(dlq_id, keep + unmoved)
    log.info("cf_queue.redrive", moved=len(take))
    return len(take)
