"""The google-genai client every Gemini adapter uses, and the moment a budgeted call leaves.

One construction for the analyzer, the template analyzer, the answerer, the embedder and
the batch client: the settings' base URL and timeout, and one attempt
(``HttpRetryOptions(attempts=1)``): retries belong to the queue, which honours the server's
retry delay.

**When a call leaves.** The rate budget counts a call at the time it granted it; the server
counts it when the request arrives. Whatever lies between, on this side, is lateness the
budget's margin must absorb, and on a process's first call the SDK's own cold start (lazy
imports, building its HTTP client) took about 65 ms here against a 3.5 ms warm call: more
than the margin of a shortened benchmark window, and more still on a busy machine. So the
client carries an httpx ``request`` event hook, which httpx runs right before it writes a
request to the network, and a call made inside ``leaving(grant)`` tells its grant then
(``BudgetGrant.sending``): a late call is counted where it really leaves. The hook is on
the sync client only, which is the one the adapters call; the grant is found through a
thread-local, because the SDK gives the hook nothing but the request.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
from google import genai
from google.genai import types

from shared.adapter_settings import GeminiSettings
from shared.errors import ConfigError
from shared.ports import BudgetGrant

_current = threading.local()


def gemini_client(section: GeminiSettings) -> genai.Client:
    """The SDK client for ``section``. Each adapter checks the key first, saying what it
    is needed for; this refuses a missing one all the same."""
    if section.api_key is None or not section.api_key.get_secret_value():
        raise ConfigError("TUBEQ_GEMINI_API_KEY is not set")
    http_options = types.HttpOptions(
        base_url=section.base_url,
        timeout=int(section.timeout_s * 1000),  # the SDK takes milliseconds
        retry_options=types.HttpRetryOptions(attempts=1),
        client_args={"event_hooks": {"request": [_on_request]}},
    )
    return genai.Client(api_key=section.api_key.get_secret_value(), http_options=http_options)


@contextmanager
def leaving(grant: BudgetGrant) -> Iterator[None]:
    """Run one budgeted call: the first request it sends marks ``grant`` as leaving."""
    _current.grant = grant
    try:
        yield
    finally:
        _current.grant = None


def _on_request(request: httpx.Request) -> None:
    grant: BudgetGrant | None = getattr(_current, "grant", None)
    if grant is not None:
        _current.grant = None  # one call, one request: retries are the queue's
        grant.sending()
