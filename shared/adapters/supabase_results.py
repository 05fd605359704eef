"""The result store on Supabase through supabase-py: PostgREST RPC over HTTPS.

Runs the same named blocks of ``sql/queries/postgres.sql`` as ``PostgresResultStore``
(the methods are ``FunctionResultStore``'s, shared by both): a block ``SELECT fn(arg =>
%(param)s, ...)`` becomes ``client.rpc("fn", {"arg": param, ...}).execute()``, that is
``POST /rest/v1/rpc/<fn>`` with the arguments as a JSON object, authenticated with the
service-role key (``apikey`` and ``Authorization: Bearer`` headers, which supabase-py
sets). Each write is one request and, inside the database, one transaction.

Errors: supabase-py turns any non-2xx reply into an ``APIError`` that keeps only the body,
and Supabase's API gateway answers a bad key (401) or a rate limit (429) with a body that
has no error code. So a response hook on our httpx client notes each reply's status and
Retry-After (per thread: the client is shared by the consumer's threads), and
``shared.classify.storage`` maps by that status: 401/403 permanent (naming the key
setting), 429 rate limited, 5xx transient, other 4xx permanent. httpx timeouts and
connection errors are transient. supabase-py does not retry POSTs, so the queue's retry
policy stays the only one.
"""

from __future__ import annotations

import re
import threading
from functools import cache
from typing import Any, Self

import httpx
from postgrest.exceptions import APIError
from supabase import Client, ClientOptions, create_client

from shared.adapter_settings import SupabaseSettings
from shared.adapters._function_results import POSTGRES_QUERIES, FunctionResultStore
from shared.classify import classify
from shared.classify.storage import SupabaseReplyError
from shared.errors import ConfigError

_CALL = re.compile(r"^SELECT\s+(?P<fn>\w+)\((?P<args>.*)\)$", re.DOTALL)
_ARG = re.compile(r"^(?P<arg>\w+)\s*=>\s*%\((?P<param>\w+)\)s$")


@cache
def rpc_of(query: str) -> tuple[str, tuple[tuple[str, str], ...]]:
    """The PostgREST call a postgres.sql block makes: (function, ((argument, param), ...))."""
    return rpc_form(POSTGRES_QUERIES[query], query)


@cache
def rpc_form(text: str, query: str = "") -> tuple[str, tuple[tuple[str, str], ...]]:
    """The PostgREST call of a block's SQL ``text`` (``query`` names it in the error)."""
    call = _CALL.match(" ".join(text.split()))
    args = [a.strip() for a in call["args"].split(",") if a.strip()] if call else []
    matches = [_ARG.match(a) for a in args]
    if call is None or not all(matches):
        raise ConfigError(
            f"sql/queries block {query or text!r} is not one function call with named "
            "arguments (SELECT fn(arg => %(param)s, ...)), so it has no PostgREST form"
        )
    return call["fn"], tuple((m["arg"], m["param"]) for m in matches if m)


class SupabaseResultStore(FunctionResultStore):
    """The four result ports on Supabase; thread-safe (httpx's client is)."""

    name = "supabase"

    def __init__(self, url: str, service_role_key: str, *, timeout_s: float = 30.0) -> None:
        if not url.startswith(("https://", "http://")):
            raise ConfigError(
                f"TUBEQ_SUPABASE_URL must be the project URL, like "
                f"https://<project-ref>.supabase.co (got {url!r})"
            )
        if not service_role_key.strip():
            raise ConfigError("TUBEQ_SUPABASE_SERVICE_ROLE_KEY is empty")
        # our own httpx client: it carries the timeout (supabase-py's timeout option is
        # deprecated and truncates to whole seconds), we own its lifetime, and its hook
        # keeps the HTTP status that supabase-py's APIError drops
        self._last_reply = threading.local()
        self._http = httpx.Client(
            timeout=httpx.Timeout(timeout_s),
            follow_redirects=False,
            event_hooks={"response": [self._note_reply]},
        )
        options = ClientOptions(
            auto_refresh_token=False,
            persist_session=False,
            httpx_client=self._http,
        )
        try:
            self._client: Client = create_client(url, service_role_key, options)
        except Exception as exc:  # supabase raises its own exception for a bad URL/key
            self._http.close()
            raise ConfigError(
                f"cannot set up the Supabase client: {type(exc).__name__}: {exc} "
                "(check TUBEQ_SUPABASE_URL and TUBEQ_SUPABASE_SERVICE_ROLE_KEY)"
            ) from None
        # built lazily by supabase-py; build it now so threads never race to create it
        self._rest = self._client.postgrest

    @classmethod
    def from_settings(cls, section: SupabaseSettings) -> Self:
        if not section.url or section.service_role_key is None:
            raise ConfigError(
                "the supabase result store needs TUBEQ_SUPABASE_URL and "
                "TUBEQ_SUPABASE_SERVICE_ROLE_KEY"
            )
        return cls(
            section.url,
            section.service_role_key.get_secret_value(),
            timeout_s=section.timeout_s,
        )

    def close(self) -> None:
        self._http.close()

    def _note_reply(self, response: httpx.Response) -> None:
        # runs in the thread that sent the request, before supabase-py reads the body
        self._last_reply.reply = (response.status_code, response.headers.get("retry-after"))

    def call(self, function: str, params: dict[str, Any]) -> Any:
        """One RPC; returns PostgREST's JSON (``None`` for a function returning void)."""
        self._last_reply.reply = None
        try:
            response = self._rest.rpc(function, params).execute()
        except APIError as exc:
            reply: tuple[int, str | None] | None = self._last_reply.reply
            if reply is None:
                raise classify(exc) from exc
            raise classify(SupabaseReplyError(exc, *reply)) from exc
        except Exception as exc:
            raise classify(exc) from exc
        data = response.data
        # a void function answers 204 with no body, which supabase-py turns into []
        return None if data == [] else data

    def run(self, query: str, **params: Any) -> Any:
        """The block ``query`` of postgres.sql as one RPC; returns PostgREST's JSON."""
        function, args = rpc_of(query)
        return self.call(function, {arg: params[param] for arg, param in args})

    def run_sql(self, block: str, **params: Any) -> Any:
        """A block of another postgres_*.sql file as one RPC, as ``run`` sends postgres.sql's."""
        function, args = rpc_form(block)
        return self.call(function, {arg: params[param] for arg, param in args})
