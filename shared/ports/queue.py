"""The queue ports: the consumers' ``Queue``, and the two slices of it the producer side needs
(``ApiQueue``, ``JobSender``), which the Worker's Queue binding has too (its ``send`` is a
Promise, awaited)."""

from __future__ import annotations

from collections.abc import Awaitable, Sequence
from datetime import datetime
from typing import Protocol, runtime_checkable

from shared.jobs import Job
from shared.models import DeadLetter, Delivery, QueueStats


@runtime_checkable
class Queue(Protocol):
    """At-least-once job queue with leases, retries and a dead-letter queue.

    Semantics follow Cloudflare Queues: a pulled message is leased for the visibility
    timeout; unless acked or retried in time it is delivered again. ``retry`` counts an
    attempt; a message retried when it has been delivered ``max_retries + 1`` times goes to
    the dead-letter queue instead.

    Messages are job envelopes (``shared.jobs``): the queue carries any kind of job and
    knows none; a message that is not an envelope at all is dead-lettered by ``pull``.
    """

    def send(self, jobs: Sequence[Job], *, delay_s: int = 0) -> int:
        """Enqueue jobs (chunked by the adapter to its batch limits); returns how many."""
        ...

    def pull(self, batch_size: int, visibility_timeout_s: float) -> list[Delivery]:
        """Lease up to ``batch_size`` ready messages."""
        ...

    def ack(self, deliveries: Sequence[Delivery]) -> None:
        """Done with these: delete them. Acking twice, or after the lease expired, is harmless."""
        ...

    def retry(self, delivery: Delivery, *, delay_s: int, error: str) -> None:
        """Redeliver after ``delay_s`` (or dead-letter it when out of retries)."""
        ...

    #: whether ``release`` still spends an attempt (Cloudflare counts a delivery when it is
    #: pulled, and a handback is a retry there); False where it is free (SQLite)
    release_counts_attempt: bool

    def release(self, delivery: Delivery, *, delay_s: int, error: str) -> None:
        """Hand it back for redelivery after ``delay_s`` without spending this delivery's
        attempt, for failures that are not the message's (a store outage, a refused key):
        never dead-letters it. Where the backend cannot give an attempt back
        (``release_counts_attempt``) it is a ``retry``, so the caller picks a long delay.
        A stale lease is ignored, as for ``retry``."""
        ...

    def leases_expire_by(self) -> datetime | None:
        """When every lease held now runs out unless extended (a consumer's, this one's or a
        dead one's); None when none is held or the backend cannot tell (Cloudflare)."""
        ...

    def dead_letter(self, delivery: Delivery, reason: str) -> None:
        """Move it to the dead-letter queue now, whatever its attempts (a job this consumer
        cannot read); ``reason`` is kept as its last error where the backend keeps one.
        Meant for right after a pull: a backend that can check the lease first (SQLite)
        ignores a stale one; Cloudflare publishes to the DLQ before its ack can tell."""
        ...

    def extend(self, delivery: Delivery, visibility_timeout_s: float) -> bool:
        """Push the lease out; False where the backend cannot (the runner then keeps to
        the original lease)."""
        ...

    def stats(self) -> QueueStats: ...

    #: whether listing dead letters costs them an attempt (Cloudflare's DLQ), so operators
    #: read dead videos from the result store unless they ask to peek
    dead_letter_listing_consumes: bool

    def dead_letters(self, limit: int = 100) -> list[DeadLetter]: ...

    def peek_dead_letters(self, limit: int = 100) -> list[DeadLetter]:
        """List the dead-letter queue itself, whatever it costs (where listing is free, the
        same as ``dead_letters``)."""
        ...

    def redrive(self, message_ids: Sequence[str] | None = None) -> int:
        """Move dead letters (all, or these) back to the queue with fresh attempts."""
        ...

    def close(self) -> None: ...


class ApiQueue(Protocol):
    """What the API and ``tubeq dlq`` need of a queue: the ``Queue`` port, or the Worker's
    async sender (whose ``send`` is awaited)."""

    #: whether listing dead letters costs them an attempt (Cloudflare: pull-and-release; past
    #: the DLQ consumer's max_retries they are deleted), so they are read from the results
    dead_letter_listing_consumes: bool

    def send(self, jobs: Sequence[Job], *, delay_s: int = 0) -> int | Awaitable[int]: ...

    def stats(self) -> QueueStats: ...

    def dead_letters(self, limit: int = 100) -> list[DeadLetter]: ...

    def peek_dead_letters(self, limit: int = 100) -> list[DeadLetter]:
        """List the dead-letter queue itself, whatever it costs (``dead_letters`` may refuse
        where ``dead_letter_listing_consumes``; elsewhere the two are the same)."""
        ...

    def redrive(self, message_ids: Sequence[str] | None = None) -> int: ...


class JobSender(Protocol):
    """Where the producer puts jobs: the ``Queue`` port's ``send``, or the Worker's Queue
    binding's (a Promise, awaited). Callers await the answer when it is awaitable."""

    def send(self, jobs: Sequence[Job], *, delay_s: int = 0) -> int | Awaitable[int]: ...
