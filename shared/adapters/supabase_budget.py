"""The fleet-wide rate budget on Supabase (``TUBEQ_RATE_BUDGET_BACKEND=results`` with
``TUBEQ_RESULTS_BACKEND=supabase``): the same SQL functions as ``PostgresRateBudget``
(``sql/009_rate_budget.sql``, ``012``, ``017``), called through PostgREST's RPC with the
service-role key: acquire, refund, move (a call that left late) and pause alike.

A block ``SELECT fn(payload => %(param)s)`` of ``sql/queries/postgres.sql`` becomes
``POST /rest/v1/rpc/fn`` with ``{"payload": …}`` — what supabase-py's ``.rpc()`` sends; a
plain httpx client is all an adapter of a few calls needs. A non-2xx reply goes through the one
HTTP rule (``shared.classify.http.from_status``: 401/403 access denied, 429 and 5xx
transient), a network error through ``shared.classify``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, Self

import httpx

from shared.adapter_settings import RateBudgetSettings
from shared.adapters._fleet_budget import DEFAULT_BUDGET_NAME, FleetRateBudget
from shared.classify import classify
from shared.classify.http import from_status, parse_retry_after
from shared.errors import ConfigError
from shared.rate_budget.gcra import Limits, limits_of
from shared.rate_budget.timer import Timer
from shared.sql_queries import load

_CALL = re.compile(r"^SELECT\s+(?P<fn>\w+)\(\s*payload\s*=>\s*%\((?P<param>\w+)\)s\s*\)$")


class SupabaseRateBudget(FleetRateBudget):
    """One budget for every machine that reaches this Supabase project."""

    store = "supabase"

    def __init__(
        self,
        url: str,
        service_role_key: str,
        limits: Limits,
        *,
        timeout_s: float = 30.0,
        budget_name: str = DEFAULT_BUDGET_NAME,
        clock: Callable[[], float] | None = None,
        timer: Timer | None = None,
    ) -> None:
        super().__init__(limits, budget_name=budget_name, clock=clock, timer=timer)
        if not url.startswith(("https://", "http://")):
            raise ConfigError(f"TUBEQ_SUPABASE_URL must be the project URL (got {url!r})")
        if not service_role_key.strip():
            raise ConfigError("TUBEQ_SUPABASE_SERVICE_ROLE_KEY is empty")
        self._base = url.rstrip("/") + "/rest/v1/rpc/"
        self._queries = load("postgres.sql")
        self._http = httpx.Client(
            timeout=httpx.Timeout(timeout_s),
            follow_redirects=False,
            headers={"apikey": service_role_key, "Authorization": f"Bearer {service_role_key}"},
        )

    @classmethod
    def from_settings(cls, section: RateBudgetSettings) -> Self:
        project = section.supabase
        if project.url is None or project.service_role_key is None:
            raise ConfigError(
                "TUBEQ_SUPABASE_URL and TUBEQ_SUPABASE_SERVICE_ROLE_KEY are needed: "
                "TUBEQ_RATE_BUDGET_BACKEND=results on the supabase result store keeps the "
                "budget in that project"
            )
        return cls(
            project.url,
            project.service_role_key.get_secret_value(),
            limits_of(section),
            timeout_s=project.timeout_s,
        )

    def run(self, query: str, **params: Any) -> Any:
        call = _CALL.match(" ".join(self._queries[query].split()))
        if call is None or call["param"] not in params:
            raise ConfigError(f"sql/queries/postgres.sql block {query!r} has no PostgREST form")
        try:
            reply = self._http.post(
                self._base + call["fn"], json={"payload": params[call["param"]]}
            )
        except httpx.HTTPError as exc:
            raise classify(exc) from exc
        if reply.status_code >= 300:
            retry_after = parse_retry_after(reply.headers.get("retry-after") or "")
            raise from_status(reply.status_code, reply.text[:500], retry_after, service="Supabase")
        return reply.json() if reply.status_code != 204 and reply.content else None

    def close(self) -> None:
        self._http.close()
