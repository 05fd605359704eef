"""Plain Python between the Worker entry and tubeq: settings, adapters and the app from
the Worker's ``env``.

Settings: a Worker has no process environment; its vars and secrets are attributes of
``env``. Every ``Settings`` field is read from ``env.TUBEQ_<NAME>`` (wrangler.toml
``[vars]`` for plain values, ``wrangler secret put`` for secrets) and validated once per
isolate, exactly like ``Settings.load()`` does for a process.

Adapters: the queue is the ``JOBS`` producer binding (``BindingQueue``), with the REST
adapter behind it for stats and dead letters when the Cloudflare API secrets are set; the
result reader and artifact store come from ``shared.factory`` as configured (on Cloudflare:
``supabase`` and ``r2``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI

from producer.api import create_app
from producer.worker.binding_queue import BindingQueue, pyodide_run_sync, pyodide_to_js
from producer.worker.watch import ChannelPoll, poll_watched_channels
from shared import factory
from shared.errors import ConfigError
from shared.ports import ArtifactStore, Queue, ResultReader
from shared.settings import Settings

#: binding names; wrangler.toml must declare the same (tests/unit/test_wrangler_toml.py)
QUEUE_BINDING = "JOBS"
STATE_BINDING = "WATCH_STATE"
ARTIFACTS_BINDING = "ARTIFACTS"
ENV_PREFIX = "TUBEQ_"


def settings_from_env(env: Any) -> Settings:
    values: dict[str, object] = {}
    for name in Settings.model_fields:
        value = getattr(env, ENV_PREFIX + name.upper(), None)
        if value is not None:
            values[name] = str(value)
    return Settings.load(**values)


def admin_queue(settings: Settings) -> Queue | None:
    """The REST adapter for stats and dead letters, when the Worker has its secrets."""
    if not (settings.cf_api_token and settings.cf_account_id and settings.cf_queue_id):
        return None
    from shared.adapters.cloudflare_queue import CloudflareQueue

    queue: Queue = CloudflareQueue.from_settings(settings)
    return queue


@dataclass
class WorkerServices:
    settings: Settings
    queue: BindingQueue
    reader: ResultReader
    artifacts: ArtifactStore
    app: FastAPI


def build_services(
    env: Any,
    *,
    to_js: Callable[[Any], Any] = pyodide_to_js,
    run_sync: Callable[[Awaitable[Any]], Any] = pyodide_run_sync,
) -> WorkerServices:
    settings = settings_from_env(env)
    binding = getattr(env, QUEUE_BINDING, None)
    queue = BindingQueue(binding, to_js=to_js, run_sync=run_sync, admin=admin_queue(settings))
    results = factory.build_results(settings)
    artifacts = factory.build_artifacts(settings)
    # The Worker always demands keys: it is on the public internet.
    app = create_app(settings, queue, results, artifacts, insecure_no_auth=False)
    return WorkerServices(settings, queue, results, artifacts, app)


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
    return await poll_watched_channels(
        services.settings, services.queue, state, reader=services.reader
    )
