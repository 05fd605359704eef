"""The queue as its readers see it: leased deliveries, dead letters, counts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Field, SerializeAsAny

from shared.jobs import Envelope, Job, read_job
from shared.models.base import Frozen


class Delivery(Frozen):
    """A message leased to one consumer until ``lease_expires_at``.

    It carries the job's ``envelope`` as it came off the queue (the adapters know no job
    model); ``body`` is the job in it, read through the catalogue of job kinds.
    """

    message_id: str
    lease_id: str
    envelope: Envelope
    #: how many times it has been delivered, this time included (1 on the first delivery)
    attempts: int = Field(ge=1)
    enqueued_at: datetime
    lease_expires_at: datetime

    @property
    def body(self) -> Job:
        """The job; a ``shared.jobs.JobUnreadable`` when this code cannot read it."""
        return read_job(self.envelope)


class DeadLetter(Frozen):
    message_id: str
    #: the job when this code can read it, else the message body as it was on the queue
    body: SerializeAsAny[Job] | dict[str, Any]
    attempts: int
    last_error: str | None
    enqueued_at: datetime | None
    dead_at: datetime | None


class QueueStats(Frozen):
    ready: int = 0
    delayed: int = 0
    in_flight: int = 0
    dead: int = 0

    @property
    def backlog(self) -> int:
        return self.ready + self.delayed + self.in_flight
