"""The retry policy as a value: given an error and the attempt number, what to do.

Exponential backoff with jitter, capped; a server's ``retry_after`` wins when longer; a
``TransientError.min_delay_s`` (a blocked IP) is a floor. Permanent errors are never
retried. The queue itself dead-letters a message retried past ``max_retries``.

A failure that is not the message's — the store is down (``StoreUnavailable``), a key or a
setting is refused (systemic) — is no attempt of the message's: ``hand_back`` says how long
to hold it back. Where the queue gives the attempt back (SQLite) a short delay will do (the
consumer pauses meanwhile); where it cannot (Cloudflare counts every pull), a long one, so
that the pulls made while the fault lasts do not take the same message again.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from enum import StrEnum

# Cloudflare Queues' retry delay limit (12 h); the SQLite queue keeps to it too.
from shared.cloudflare_limits import MAX_DELAY_S
from shared.errors import PermanentError, StoreUnavailable, TransientError, TubeqError


class Action(StrEnum):
    """What becomes of a message.

    ``RetryPolicy.decide`` answers ACK, RETRY or DEAD. A settled message
    (``consumer.outcomes.MessageResult``) tells ACK apart as DONE, SKIPPED or FAILED, which
    the stats and the CLI count separately, and may be LEFT_TO_LEASE or HANDED_BACK.
    """

    ACK = "ack"  # done, or a permanent failure that has been recorded
    RETRY = "retry"  # transient: redeliver after delay_s
    DEAD = "dead"  # out of retries (the retry call dead-letters it), or unreadable here
    DONE = "done"  # acked: the work is done
    SKIPPED = "skipped"  # acked: nothing to do (already done)
    FAILED = "failed"  # acked: a permanent failure, recorded
    #: nothing could be done to it (the queue failed, or its lease ran out before it
    #: started): the queue delivers it again when the lease expires
    LEFT_TO_LEASE = "lease_lost"
    #: given back without spending its attempt where the queue can (``Queue.release``):
    #: the failure was not the message's (a store outage, a refused key)
    HANDED_BACK = "handed_back"


@dataclass(frozen=True)
class Decision:
    action: Action
    delay_s: int = 0


@dataclass(frozen=True)
class RetryPolicy:
    max_retries: int = 3
    base_s: float = 10.0
    cap_s: float = 3600.0
    jitter: float = 0.5
    #: a handback after a store outage where it costs nothing (the consumer pauses anyway)
    outage_delay_s: int = 15
    #: … and where it costs an attempt: long enough to outlast most outages
    outage_counted_delay_s: int = 600
    #: a handback after a systemic error (a refused key) where it costs nothing
    systemic_delay_s: int = 60
    #: … and where it costs an attempt: the longest sensible, since each pull by a restarted
    #: consumer still holding the bad key walks it toward the DLQ; an hour is what a fix and
    #: a redeploy usually take, and the message is not hidden much longer than that
    systemic_counted_delay_s: int = 3600
    rng: random.Random = field(default_factory=random.Random, compare=False, repr=False)

    def backoff(self, attempt: int) -> float:
        """Delay before delivery ``attempt + 1`` (attempt counts from 1)."""
        raw = float(min(self.cap_s, self.base_s * (2 ** max(0, attempt - 1))))
        # "equal jitter": keep (1 - jitter) of the delay, randomise the rest, so retries of a
        # burst spread out but never collapse to zero.
        return raw * (1 - self.jitter) + self.rng.uniform(0, raw * self.jitter)

    def decide(self, error: TubeqError, attempt: int) -> Decision:
        if isinstance(error, PermanentError) or not isinstance(error, TransientError):
            return Decision(Action.ACK)
        delay = max(self.backoff(attempt), error.min_delay_s, error.retry_after or 0.0)
        delay_s = int(min(MAX_DELAY_S, max(1.0, round(delay))))
        if attempt > self.max_retries:
            return Decision(Action.DEAD, delay_s)
        return Decision(Action.RETRY, delay_s)

    def hand_back(self, error: TubeqError, *, counts_attempt: bool) -> Decision:
        """For a failure that is not the message's (``is_handback``): how long to hold it."""
        if error.waits_on_peer:
            delay = getattr(error, "retry_after", None) or self.backoff(1)
        elif error.systemic:
            delay = (
                float(self.systemic_counted_delay_s)
                if counts_attempt
                else max(float(self.systemic_delay_s), self.backoff(1))
            )
        else:
            delay = float(self.outage_counted_delay_s if counts_attempt else self.outage_delay_s)
            delay = max(delay, getattr(error, "retry_after", None) or 0.0)
        return Decision(Action.HANDED_BACK, int(min(MAX_DELAY_S, max(1.0, round(delay)))))


def is_handback(error: TubeqError) -> bool:
    """A failure that is not the message's: it costs no attempt where the queue allows."""
    return error.systemic or isinstance(error, StoreUnavailable)
