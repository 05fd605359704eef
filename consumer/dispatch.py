"""One delivery, start to end: find its handler by kind, run it, settle the outcome.

Synchronous and thread-free like ``consumer.outcomes``: the runner calls ``handle`` from its
pool; a push-style consumer can call it for each message it is given.
"""

from __future__ import annotations

from dataclasses import dataclass

from consumer.handlers.base import HandlerRegistry
from consumer.outcomes import MessageResult, Outcomes
from shared.errors import TubeqError
from shared.jobs import JobUnreadable
from shared.models import Delivery
from shared.retry_policy import Action


@dataclass
class Dispatcher:
    handlers: HandlerRegistry
    outcomes: Outcomes

    def handle(self, d: Delivery) -> MessageResult:
        """Never raises: every delivery ends acked, retried, dead-lettered or left to its
        lease, and the result says which."""
        fields: dict[str, object] = {
            "kind": d.envelope.kind,
            "message_id": d.message_id,
            "attempt": d.attempts,
        }
        try:
            handler, job = self.handlers.resolve(d.envelope)
            fields.update(handler.log_fields(job))
        except JobUnreadable as err:
            return self.outcomes.unreadable(d, err, fields=fields)
        except Exception as exc:  # a handler's own reading failed: not the job's fault
            return self.outcomes.failed(d, exc, record=None, label=d.envelope.label, fields=fields)
        try:
            outcome = handler.process(job, d.attempts)
        except Exception as exc:

            def record(err: TubeqError, action: Action) -> None:
                handler.record_failure(job, err, action, d.attempts)

            return self.outcomes.failed(d, exc, record=record, label=job.label, fields=fields)
        return self.outcomes.succeeded(d, outcome, label=job.label, fields=fields)
