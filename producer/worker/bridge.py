"""Plain Python between the Worker entry and tubeq: settings and the app from the Worker's
``env``.

Settings: a Worker has no process environment; its vars and secrets are attributes of
``env``. Every ``Settings`` field is read from ``env.TUBEQ_<NAME>`` (wrangler.toml
``[vars]`` for plain values, ``wrangler secret put`` for secrets) and validated once per
isolate, exactly like ``Settings.load()`` does for a process.

What the Worker serves (see docs/deploy.md, "What runs where"): it enqueues — ``POST
/v1/jobs`` (videos, and channel/playlist backfills: ``producer.backfill.run_backfill`` over
the Data API adapter, ``shared.youtube_data_api``) and
the cron — through the ``JOBS`` binding, awaited. It reads nothing: no result store, no
artifact store, no Cloudflare REST calls, so it needs none of psycopg, boto3, supabase,
google-genai or youtube-transcript-api, and only ``httpx.AsyncClient`` for HTTP (the one
client the Workers runtime patches onto ``fetch``). Every other ``/v1`` request is checked
for a key here and then forwarded to ``TUBEQ_BACKEND_URL`` (``tubeq serve``;
``producer.worker.forward``); without that setting it answers 501 and points to
``tubeq serve``.

No thread: Pyodide cannot start one, so the app is built with ``threads=False`` (sync calls
inline) and every dependency and endpoint on this path is ``async def``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI

from producer.api import create_app
from producer.backfill import run_backfill
from producer.worker.binding_queue import BindingQueue, pyodide_to_js
from producer.worker.forward import BackendForwarder
from producer.worker.watch import ChannelPoll, poll_watched_channels
from shared.errors import ConfigError
from shared.settings import Settings

#: binding names; wrangler.toml must declare the same (tests/unit/test_wrangler_toml.py)
QUEUE_BINDING = "JOBS"
STATE_BINDING = "WATCH_STATE"
ENV_PREFIX = "TUBEQ_"


def settings_from_env(env: Any) -> Settings:
    # the Worker ships no listing folder (and no shared/adapters): it lists through the
    # Data API unless told otherwise, so a missing key is reported as such
    values: dict[str, object] = {"listing_backend": "youtube"}
    for name in Settings.model_fields:
        value = getattr(env, ENV_PREFIX + name.upper(), None)
        if value is not None:
            values[name] = str(value)
    return Settings.load(**values)


@dataclass
class WorkerServices:
    settings: Settings
    queue: BindingQueue
    app: FastAPI


def build_services(env: Any, *, to_js: Callable[[Any], Any] = pyodide_to_js) -> WorkerServices:
    settings = settings_from_env(env)
    queue = BindingQueue(getattr(env, QUEUE_BINDING, None), to_js=to_js)
    forward = None
    if settings.backend_url:
        forward = BackendForwarder(settings.backend_url, settings.backend_timeout_s)
    # The Worker always demands keys: it is on the public internet.
    app = create_app(
        settings,
        queue,
        None,
        None,
        backfill=run_backfill,  # the async core, awaited: no thread on Pyodide
        threads=False,
        forward=forward,
    )
    return WorkerServices(settings, queue, app)


class ServicesCache:
    """One set of services per isolate: built on the first event, reused after."""

    def __init__(self) -> None:
        self._services: WorkerServices | None = None

    def get(self, env: Any) -> WorkerServices:
        if self._services is None:
            self._services = build_services(env)
        return self._services

    def reset(self) -> None:
        self._services = None


async def run_schedule(services: WorkerServices, env: Any) -> list[ChannelPoll]:
    state = getattr(env, STATE_BINDING, None)
    if state is None:
        raise ConfigError(
            f"the Worker has no {STATE_BINDING} KV binding: add [[kv_namespaces]] binding = "
            f'"{STATE_BINDING}" to wrangler.toml (it remembers which uploads were seen)'
        )
    return await poll_watched_channels(services.settings, services.queue, state)
