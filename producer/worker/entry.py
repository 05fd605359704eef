"""The Cloudflare Python Worker's entry (``main`` in wrangler.toml). Thin on purpose.

The Workers runtime cannot start offline (it downloads its Pyodide bundle), so this file
only forwards to ``producer.worker.bridge``; tests run it in CPython through the real
``workers-runtime-sdk`` (its ``WorkerEntrypoint``, ``Response`` and ASGI bridge) over a
fake of the platform below it (``js``, ``pyodide.ffi``) with thread creation blocked, as on
Pyodide (tests/support/fake_workers.py).

- ``fetch``: the same FastAPI app as ``tubeq serve``, through the SDK's ASGI bridge, with
  the ``JOBS`` queue binding (awaited) as its queue; it enqueues, and forwards every other
  ``/v1`` request, key checked first, to ``TUBEQ_BACKEND_URL`` (``tubeq serve`` next to the
  consumers) — or answers 501 with that pointer when the setting is absent.
- ``scheduled``: the cron trigger; polls ``TUBEQ_WATCHED_CHANNELS`` and enqueues uploads
  not seen before (the seen set is kept in the ``WATCH_STATE`` KV namespace).

Deployed with ``uv run pywrangler deploy`` from the staged Worker project that
``python -m producer.worker.stage`` builds (its own ``pyproject.toml`` lists the few
packages the Worker needs); see docs/deploy.md.
"""

from __future__ import annotations

import json
from typing import Any

from workers import Response, WorkerEntrypoint

from producer.worker.bridge import ServicesCache, run_schedule
from shared.errors import ConfigError

services = ServicesCache()


class Default(WorkerEntrypoint):
    async def fetch(self, request: Any) -> Any:
        from workers import asgi

        try:
            built = services.get(self.env)
        except ConfigError as exc:
            # names the variable to set, never a value; the same words `tubeq` would print
            body = json.dumps({"error": exc.code, "message": exc.message})
            return Response(body, status=503, headers={"content-type": "application/json"})
        return await asgi.fetch(built.app, request, self.env)

    async def scheduled(self, controller: Any, env: Any, ctx: Any) -> None:
        await run_schedule(services.get(env), env)
