"""The retry policy as a value: given an error and the attempt number, what to do.

Exponential backoff with jitter, capped; a server's ``retry_after`` wins when longer; a
``TransientError.min_delay_s`` (a blocked IP) is a floor. Permanent errors are never
retried. The queue itself dead-letters a message retried past ``max_retries``.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from enum import StrEnum

# Cloudflare Queues' retry delay limit (12 h); the SQLite queue keeps to it too.
from shared.cloudflare_limits import MAX_DELAY_S
from shared.errors import PermanentError, TransientError, TubeqError


class Action(StrEnum):
    """What becomes of a message.

    ``RetryPolicy.decide`` answers ACK, RETRY or DEAD. A settled message
    (``consumer.outcomes.MessageResult``) tells ACK apart as DONE, SKIPPED or FAILED, which
    the stats and the CLI count separately, and may be LEFT_TO_LEASE.
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
