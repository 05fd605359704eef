"""The Queue port over a Worker's queue producer binding (``env.JOBS``).

A producer binding can only send: ``send(body, options)`` and ``sendBatch([{body,
contentType, delaySeconds}])``. Pulling and acking happen over HTTP in the consumer fleet
(``tubeq consume`` with ``TUBEQ_QUEUE_BACKEND=cloudflare``), so ``pull``/``ack``/``retry``
raise a clear error. ``stats``/``dead_letters``/``redrive`` are served by an optional REST
adapter (``shared.adapters.cloudflare_queue``) when the Worker has the Cloudflare API
secrets; without it they raise the same "not supported here" error (the API answers 501).

Bodies are sent with ``contentType: "json"``: an HTTP pull consumer cannot read the
binding's ``v8`` (structured clone) format, and ``json`` bodies come back base64-encoded,
which the pull adapter decodes.

Two things only the Workers runtime has are injected, so this module runs in CPython too:
``to_js`` (Python dicts → JS objects: ``pyodide.ffi.to_js`` with ``Object.fromEntries``)
and ``run_sync`` (wait for a JS Promise from synchronous code: ``pyodide.ffi.run_sync``,
which the Python Workers runtime supports through JSPI).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Iterator, Sequence
from typing import Any

from shared.classify import classify
from shared.errors import InvalidInput, TubeqError
from shared.models import DeadLetter, Delivery, QueueStats, VideoJob
from shared.ports import Queue

#: Cloudflare's limits (sendBatch: ≤ 100 messages and ≤ 256 KB; a message ≤ 128 KB)
MAX_MESSAGE_BYTES = 128 * 1024
MAX_BATCH_MESSAGES = 100
MAX_BATCH_BYTES = 256 * 1024
MAX_DELAY_S = 43_200


class NotSupportedHere(TubeqError):
    """This queue backend cannot do that here."""

    code = "not_supported"


def pyodide_to_js(value: Any) -> Any:
    from js import Object  # type: ignore[import-not-found]
    from pyodide.ffi import to_js  # type: ignore[import-not-found]

    return to_js(value, dict_converter=Object.fromEntries)


def pyodide_run_sync(awaitable: Awaitable[Any]) -> Any:
    from pyodide.ffi import run_sync

    return run_sync(awaitable)


class BindingQueue:
    """Sends jobs through ``binding.sendBatch``; everything else goes to ``admin`` or fails."""

    def __init__(
        self,
        binding: Any,
        *,
        to_js: Callable[[Any], Any] = pyodide_to_js,
        run_sync: Callable[[Awaitable[Any]], Any] = pyodide_run_sync,
        admin: Queue | None = None,
    ) -> None:
        if binding is None:
            raise InvalidInput(
                "the Worker has no JOBS queue binding: add [[queues.producers]] "
                'binding = "JOBS" to wrangler.toml and deploy again'
            )
        self._binding = binding
        self._to_js = to_js
        self._run_sync = run_sync
        self._admin = admin

    # ---- sending ------------------------------------------------------------------------

    def send(self, jobs: Sequence[VideoJob], *, delay_s: int = 0) -> int:
        """The synchronous port method (the API's threadpool endpoints call this)."""
        for batch in self._batches(jobs, delay_s):
            try:
                self._run_sync(self._binding.sendBatch(self._to_js(batch)))
            except Exception as exc:  # a JsException from the binding, whatever its kind
                raise classify(exc) from exc
        return len(jobs)

    async def send_async(self, jobs: Sequence[VideoJob], *, delay_s: int = 0) -> int:
        """The same, for async callers (the scheduled handler awaits the binding directly)."""
        for batch in self._batches(jobs, delay_s):
            try:
                await self._binding.sendBatch(self._to_js(batch))
            except Exception as exc:
                raise classify(exc) from exc
        return len(jobs)

    def _batches(self, jobs: Sequence[VideoJob], delay_s: int) -> Iterator[list[dict[str, Any]]]:
        if not 0 <= delay_s <= MAX_DELAY_S:
            raise InvalidInput(f"delay must be 0 to {MAX_DELAY_S} seconds, got {delay_s}")
        batch: list[dict[str, Any]] = []
        size = 0
        for job in jobs:
            body = job.model_dump(mode="json")
            body_bytes = len(json.dumps(body).encode())
            if body_bytes > MAX_MESSAGE_BYTES:
                raise InvalidInput(
                    f"the job for {job.video_id} is {body_bytes:,} bytes; a queue message "
                    f"holds at most {MAX_MESSAGE_BYTES:,} — trim its meta"
                )
            message: dict[str, Any] = {"body": body, "contentType": "json"}
            if delay_s:
                message["delaySeconds"] = delay_s
            full = len(batch) >= MAX_BATCH_MESSAGES or size + body_bytes > MAX_BATCH_BYTES
            if batch and full:
                yield batch
                batch, size = [], 0
            batch.append(message)
            size += body_bytes
        if batch:
            yield batch

    # ---- what a producer binding cannot do ------------------------------------------------

    def _consumer_only(self, what: str) -> NotSupportedHere:
        return NotSupportedHere(
            f"{what} is not available through a Worker's queue binding (it can only send); "
            "consumers pull over HTTP: run `tubeq consume` with TUBEQ_QUEUE_BACKEND=cloudflare"
        )

    def pull(self, batch_size: int, visibility_timeout_s: float) -> list[Delivery]:
        raise self._consumer_only("pull")

    def ack(self, deliveries: Sequence[Delivery]) -> None:
        raise self._consumer_only("ack")

    def retry(self, delivery: Delivery, *, delay_s: int, error: str) -> None:
        raise self._consumer_only("retry")

    def extend(self, delivery: Delivery, visibility_timeout_s: float) -> bool:
        return False

    def _need_admin(self, what: str) -> Queue:
        if self._admin is None:
            raise NotSupportedHere(
                f"{what} needs the Cloudflare Queues REST API, which this Worker is not set up "
                "for: `wrangler secret put TUBEQ_CF_API_TOKEN` and set TUBEQ_CF_ACCOUNT_ID, "
                "TUBEQ_CF_QUEUE_ID and TUBEQ_CF_DLQ_ID (see docs/deploy.md)"
            )
        return self._admin

    def stats(self) -> QueueStats:
        return self._need_admin("queue stats").stats()

    def dead_letters(self, limit: int = 100) -> list[DeadLetter]:
        return self._need_admin("listing dead letters").dead_letters(limit)

    def redrive(self, message_ids: Sequence[str] | None = None) -> int:
        return self._need_admin("redriving dead letters").redrive(message_ids)

    def close(self) -> None:
        if self._admin is not None:
            self._admin.close()
