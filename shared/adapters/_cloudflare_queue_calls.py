"""The queue REST calls of the Cloudflare queue adapter (``shared.adapters.cloudflare_queue``)
on one account: publish, pull, ack/retry, release, and the backlog count, each deciding
whether it may be replayed after an ambiguous failure (``shared.adapters._cloudflare_rest``
makes the calls).

- publish (``…/messages`` for one entry, ``…/messages/batch`` for more) is replayed: a
  duplicate costs the pipeline a skip, a lost job costs data.
- pull (``…/messages/pull``) is never replayed: a lost reply may have leased messages.
- ack (``…/messages/ack`` with ``acks`` and ``retries``) is replayed: a lease already
  acked or retried is simply not found again.
- the backlog is ``GET …/metrics``'s ``backlog_count``, falling back to the last
  ``message_backlog_count`` a pull returned.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from shared.adapters._cloudflare_queue_messages import Entry, chunks
from shared.adapters._cloudflare_rest import CloudflareRest
from shared.cloudflare_limits import MAX_BATCH_MESSAGES
from shared.errors import TubeqError, UpstreamRejected
from shared.logging import get_logger

log = get_logger(__name__)


class QueueCalls:
    """The queue endpoints of one account, with the last backlog count each queue reported."""

    def __init__(self, rest: CloudflareRest, account_id: str) -> None:
        self._rest = rest
        self._account_id = account_id
        self._backlog: dict[str, int] = {}

    def _path(self, queue_id: str, tail: str = "") -> str:
        base = f"/accounts/{self._account_id}/queues/{queue_id}"
        return f"{base}/{tail}" if tail else base

    def publish(self, queue_id: str, entries: Sequence[Entry]) -> None:
        # A publish replayed after an ambiguous failure may enqueue a job twice; every step
        # of the pipeline is idempotent, so a duplicate costs a skip, a lost job costs data.
        for chunk in chunks(entries):
            if len(chunk) == 1:
                self._rest.call("POST", self._path(queue_id, "messages"), chunk[0], replay=True)
            else:
                body = {"messages": list(chunk)}
                self._rest.call("POST", self._path(queue_id, "messages/batch"), body, replay=True)

    def pull(self, queue_id: str, batch_size: int, vt_ms: int) -> list[Mapping[str, Any]]:
        """Lease up to ``batch_size`` messages for ``vt_ms``; only those with a lease id."""
        # Never replayed after an ambiguous failure (5xx, read timeout): the lost reply may
        # have leased messages that would then sit hidden for the whole visibility timeout
        # while we pulled others. The runner simply polls again.
        body = {"batch_size": batch_size, "visibility_timeout_ms": vt_ms}
        result = self._rest.call("POST", self._path(queue_id, "messages/pull"), body, replay=False)
        if not isinstance(result, Mapping):
            return []
        if isinstance(result.get("message_backlog_count"), int | float):
            self._backlog[queue_id] = int(result["message_backlog_count"])
        messages = result.get("messages") or []
        return [m for m in messages if isinstance(m, Mapping) and m.get("lease_id")]

    def ack(
        self, queue_id: str, *, acks: Sequence[str] = (), retries: Sequence[tuple[str, int]] = ()
    ) -> None:
        """Ack these leases and hand these back (lease, delay in seconds), ≤ 100 per call."""
        # Replaying an ack is safe: a lease already acked or retried is simply not found
        # again, and an expired lease cannot touch the message's next delivery.
        items = [("acks", {"lease_id": lease}) for lease in acks] + [
            ("retries", {"lease_id": lease, "delay_seconds": d}) for lease, d in retries
        ]
        for start in range(0, len(items), MAX_BATCH_MESSAGES):
            body: dict[str, list[dict[str, Any]]] = {"acks": [], "retries": []}
            for key, item in items[start : start + MAX_BATCH_MESSAGES]:
                body[key].append(item)
            self._rest.call("POST", self._path(queue_id, "messages/ack"), body, replay=True)

    def release(self, queue_id: str, leases: Sequence[str]) -> None:
        """Give leases back at once; if that fails they come back when the lease expires."""
        if not leases:
            return
        try:
            self.ack(queue_id, retries=[(lease, 0) for lease in leases])
        except TubeqError as exc:
            log.warning("cf_queue.release_failed", count=len(leases), error=exc.message)

    def backlog(self, queue_id: str) -> int:
        """Every unacknowledged message of the queue: ready, delayed and in flight."""
        try:
            result = self._rest.call("GET", self._path(queue_id, "metrics"), None, replay=True)
        except UpstreamRejected:
            # no metrics endpoint on this account/API version: the last pull's count will do
            return self._backlog.get(queue_id, 0)
        if isinstance(result, Mapping) and isinstance(result.get("backlog_count"), int | float):
            self._backlog[queue_id] = int(result["backlog_count"])
        return self._backlog.get(queue_id, 0)
