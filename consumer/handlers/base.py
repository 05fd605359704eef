"""The handler interface and the registry that picks a handler for each delivery.

A handler declares, for one kind of job:

- ``job_model``: its ``shared.jobs.Job`` subclass, whose ``kind`` and ``version`` say which
  envelopes it reads;
- ``process(job, attempt)``: do the work, return DONE or SKIPPED, or raise (the outcome is
  then classified and settled by ``consumer.outcomes``);
- ``log_fields(job)``: what identifies the job in log lines (a video id, …);
- ``record_failure(job, error, action, attempt)``: write a failure where its users look
  for it (raise when that store is down: the message is then kept, never acked unrecorded).
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum
from typing import Any, Protocol, TypeVar

from shared.errors import TubeqError
from shared.jobs import Envelope, Job, UnknownJobKind
from shared.retry_policy import Action


class Outcome(StrEnum):
    DONE = "done"
    SKIPPED = "skipped"  # nothing to do (a video already analysed with this version)


J = TypeVar("J", bound=Job)


class Handler(Protocol[J]):
    @property
    def job_model(self) -> type[J]:
        """The job class this handler runs (its kind and the newest version it reads)."""
        ...

    def process(self, job: J, attempt: int) -> Outcome: ...

    def log_fields(self, job: J) -> dict[str, object]: ...

    def record_failure(self, job: J, error: TubeqError, action: Action, attempt: int) -> None:
        """``action``: ACK (a permanent failure), RETRY or DEAD (out of retries)."""
        ...


class HandlerRegistry:
    """The handlers of one consumer, by job kind."""

    def __init__(self, handlers: Iterable[Handler[Any]] = ()) -> None:
        self._handlers: dict[str, Handler[Any]] = {}
        for handler in handlers:
            self.register(handler)

    def register(self, handler: Handler[Any]) -> None:
        kind = handler.job_model.kind
        if kind in self._handlers:
            raise ValueError(f"a handler for kind {kind!r} is already registered")
        self._handlers[kind] = handler

    @property
    def kinds(self) -> list[str]:
        return sorted(self._handlers)

    def resolve(self, envelope: Envelope) -> tuple[Handler[Any], Job]:
        """The handler for an envelope and the job in it; a ``shared.jobs.JobUnreadable``
        saying why not (no handler for its kind, a version or body it cannot read)."""
        handler = self._handlers.get(envelope.kind)
        if handler is None:
            raise UnknownJobKind(
                f"no handler for kind {envelope.kind!r} in this consumer "
                f"(known: {', '.join(self.kinds) or 'none'})"
            )
        return handler, handler.job_model.from_envelope(envelope)
