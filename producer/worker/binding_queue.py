"""The Worker's queue: the ``JOBS`` producer binding, awaited.

A producer binding can only send (``send`` / ``sendBatch`` return JS Promises, awaited here
on the Worker's event loop). Pulling, acking, stats and the dead-letter queue belong to the
consumer fleet and to ``tubeq serve`` next to it (they use the Cloudflare REST API), so those
methods raise ``NotSupportedHere``, which the API answers with 501 and a pointer.

Bodies are job envelopes (``shared.jobs``), sent with ``contentType: "json"``: an HTTP
pull consumer cannot read the binding's default ``v8`` (structured clone) format, and
``json`` bodies come back base64-encoded, which the pull adapter decodes. Sizes and batches
follow ``shared.cloudflare_limits``, exactly as the REST adapter counts them.

``to_js`` (Python dicts → JS objects: ``pyodide.ffi.to_js`` with ``Object.fromEntries``) is
injected, so this module runs in CPython too.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from shared.classify import classify
from shared.cloudflare_limits import batches, check_delay, check_message
from shared.errors import InvalidInput, TubeqError
from shared.jobs import Job
from shared.models import DeadLetter, Delivery, QueueStats

ELSEWHERE = (
    "{what} is not available on the Worker, whose queue binding can only send: run it where "
    "the Cloudflare API token lives — `tubeq serve` or the `tubeq` CLI next to the consumers "
    "(TUBEQ_QUEUE_BACKEND=cloudflare); see docs/deploy.md, 'What runs where'"
)


class NotSupportedHere(TubeqError):
    """This queue backend cannot do that here."""

    code = "not_supported"


def pyodide_to_js(value: Any) -> Any:
    from js import Object  # type: ignore[import-not-found]
    from pyodide.ffi import to_js  # type: ignore[import-not-found]

    return to_js(value, dict_converter=Object.fromEntries)


class BindingQueue:
    """Sends jobs through ``await binding.sendBatch(...)``; nothing else."""

    #: the Worker lists no dead letters at all (``dead_letters`` raises NotSupportedHere)
    dead_letter_listing_consumes = False

    def __init__(self, binding: Any, *, to_js: Callable[[Any], Any] = pyodide_to_js) -> None:
        if binding is None:
            raise InvalidInput(
                "the Worker has no JOBS queue binding: add [[queues.producers]] "
                'binding = "JOBS" to wrangler.toml and deploy again'
            )
        self._binding = binding
        self._to_js = to_js

    async def send(self, jobs: Sequence[Job], *, delay_s: int = 0) -> int:
        delay = check_delay(delay_s)
        sized = []
        for job in jobs:  # check them all before sending any: no half-sent request
            body = job.envelope().wire()
            message: dict[str, Any] = {"body": body, "contentType": "json"}
            if delay:
                message["delaySeconds"] = delay
            sized.append((message, check_message(body, "json", job.label)))
        for batch in batches(sized):
            try:
                await self._binding.sendBatch(self._to_js(batch))
            except Exception as exc:  # a JsException from the binding, whatever its kind
                raise classify(exc) from exc
        return len(jobs)

    def stats(self) -> QueueStats:
        raise NotSupportedHere(ELSEWHERE.format(what="queue stats"))

    def dead_letter(self, delivery: Delivery, reason: str) -> None:
        raise NotSupportedHere(ELSEWHERE.format(what="dead-lettering a message"))

    def dead_letters(self, limit: int = 100) -> list[DeadLetter]:
        raise NotSupportedHere(ELSEWHERE.format(what="listing dead letters"))

    def peek_dead_letters(self, limit: int = 100) -> list[DeadLetter]:
        raise NotSupportedHere(ELSEWHERE.format(what="listing dead letters"))

    def redrive(self, message_ids: Sequence[str] | None = None) -> int:
        raise NotSupportedHere(ELSEWHERE.format(what="redriving dead letters"))

    def close(self) -> None:
        """Nothing to close: the binding belongs to the runtime."""
