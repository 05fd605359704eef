"""``GET /v1/dlq`` and ``POST /v1/dlq/redrive``: the jobs that ran out of retries, read where
listing them costs nothing (``producer.api.dead_letters``), and putting them back on the
queue with fresh attempts."""

from __future__ import annotations

from typing import Annotated

import structlog
from fastapi import APIRouter, Query

from producer.api.dead_letters import list_dead_letters, redrive_and_mark
from producer.api.deps import BODY_ERRORS, ApiDeps, error_docs
from producer.api.schemas import (
    DeadLettersQuery,
    DeadLettersResponse,
    RedriveRequest,
    RedriveResponse,
)
from shared.errors import InvalidInput

log = structlog.get_logger(__name__)


def add_dlq_routes(v1: APIRouter, deps: ApiDeps) -> None:
    @v1.get(
        "/dlq",
        response_model=DeadLettersResponse,
        responses=error_docs(422, 501, 503),
        tags=["dlq"],
    )
    async def get_dead_letters(
        query: Annotated[DeadLettersQuery, Query()],
    ) -> DeadLettersResponse:
        """Jobs that ran out of retries, with their last error.

        On Cloudflare the dead-letter queue cannot be listed without costing its messages
        an attempt, so dead videos are read from the result store (``source: results``);
        ``peek=true`` lists the queue itself, at that cost.
        """
        return await list_dead_letters(
            deps.call, deps.queue, deps.reader, query.limit, peek=query.peek
        )

    @v1.post(
        "/dlq/redrive",
        response_model=RedriveResponse,
        responses={**BODY_ERRORS, **error_docs(501, 503)},
        tags=["dlq"],
    )
    async def redrive(body: RedriveRequest) -> RedriveResponse:
        """Put dead letters back on the queue with fresh attempts: all, or these ids."""
        if body.all == bool(body.message_ids):
            raise InvalidInput(
                'say which: {"all": true} or {"message_ids": [...]} (ids from GET /v1/dlq), '
                "not both and not neither"
            )
        ids = None if body.all else body.message_ids
        moved = await deps.call(redrive_and_mark, deps.queue, deps.reader, ids)
        log.info("api.redrive", moved=moved)
        return RedriveResponse(redriven=moved, requested=None if ids is None else len(ids))
