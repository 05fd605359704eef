"""``GET /v1/consumers`` and ``GET /v1/quota`` (issue 10): the consumers running now (their
heartbeat rows in the result store, lost ones marked) and how much of the model quota the
shared rate budget has handed out in the current window. Reads only: the budget is read,
never spent, returned or paused here."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import structlog
from fastapi import APIRouter
from pydantic import BaseModel, Field

from producer.api.errors import NotServedHere
from producer.api.offload import Offload
from producer.api.schemas import ErrorBody
from shared.errors import TubeqError
from shared.fleet import STALE_AFTER_BEATS
from shared.ports import BudgetMeter, ConsumerRegistry
from shared.settings import Settings

log = structlog.get_logger(__name__)


class ConsumerOut(BaseModel):
    consumer_id: str = Field(description="host:pid:suffix, unique per start.")
    host: str
    pid: int
    version: str = Field(description="The consumer's tubeq version.")
    started_at: datetime
    last_seen: datetime = Field(description="Its last heartbeat, on the store's clock.")
    seen_s_ago: float
    interval_s: float = Field(description="Seconds between its heartbeats.")
    state: str = Field(description="running, or stopping (finishing what is in flight).")
    lost: bool = Field(
        description=f"No heartbeat for more than {STALE_AFTER_BEATS} intervals: killed, "
        "frozen or cut off from the store (its leases expire and the work comes back)."
    )
    concurrency: int
    current: list[str] = Field(description="Videos in flight at its last heartbeat.")
    in_flight: int
    done: int = Field(description="Counts since it started.")
    skipped: int
    failed: int
    retried: int
    dead: int


class ConsumersResponse(BaseModel):
    consumers: list[ConsumerOut] = Field(description="The most recently started first.")
    running: int
    lost: int


class QuotaResponse(BaseModel):
    where: str = Field(description='Where the budget lives: "local file …" or "fleet (…)".')
    exists: bool = Field(description="False until a consumer has called the model.")
    requests_limit: int = Field(description="TUBEQ_GEMINI_RPM.")
    tokens_limit: int = Field(description="TUBEQ_GEMINI_TPM (input tokens).")
    window_s: float
    requests_in_window: int = Field(description="Granted in the window ending now.")
    tokens_in_window: int
    requests_share: float = Field(description="requests_in_window / requests_limit.")
    tokens_share: float
    requests_ahead: int = Field(description="Granted for moments still ahead (paced).")
    tokens_ahead: int
    paused_for_s: float = Field(description="Gemini asked every client to wait this long.")
    last_grant_s_ago: float | None


def _doc(*codes: int) -> dict[int | str, dict[str, Any]]:
    # 501: reads are served elsewhere (the Worker), or no budget reader here; 503: the
    # store or the budget's database is unreachable
    return {code: {"model": ErrorBody} for code in codes}


def budget_meter(settings: Settings) -> BudgetMeter | None:
    """The app's quota reader, or None (logged) when the settings give none."""
    from shared import factory  # here: the Worker imports this module, never the factory

    try:
        return factory.build_budget_meter(settings)
    except TubeqError as exc:
        log.warning("api.no_budget_meter", error=exc.message)
        return None


def add_fleet_routes(
    v1: APIRouter,
    call: Offload,
    need_reader: Callable[[str], object],
    meter: BudgetMeter | None,
) -> None:
    @v1.get(
        "/consumers", response_model=ConsumersResponse, responses=_doc(501, 503), tags=["status"]
    )
    async def get_consumers() -> ConsumersResponse:
        """The consumers running now, from the heartbeat each one writes to the result store
        every TUBEQ_CONSUMER_HEARTBEAT_S (removed on a clean stop; `lost` when it stopped
        beating). The counts are since each one started."""
        reader = need_reader("GET /v1/consumers")
        if not isinstance(reader, ConsumerRegistry):
            raise NotServedHere("this result store keeps no consumer rows")
        found = await call(reader.consumers)
        out = [ConsumerOut(**c.model_dump(), lost=c.stale) for c in found]
        lost = sum(1 for c in out if c.lost)
        return ConsumersResponse(consumers=out, running=len(out) - lost, lost=lost)

    @v1.get("/quota", response_model=QuotaResponse, responses=_doc(501, 503), tags=["status"])
    async def get_quota() -> QuotaResponse:
        """How much of the Gemini quota (requests and input tokens per window) the consumers'
        shared rate budget has granted in the window ending now, with the configured limits.
        A read: nothing is taken from the budget."""
        need_reader("GET /v1/quota")
        if meter is None:
            raise NotServedHere("no rate budget is readable with these settings")
        usage = await call(meter.usage)
        return QuotaResponse(
            **usage.model_dump(),
            requests_share=round(usage.requests_share, 4),
            tokens_share=round(usage.tokens_share, 4),
        )
