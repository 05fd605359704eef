"""What the API's routes (``producer.api.*_routes``) are built over: the adapters and settings
``create_app`` was given (``ApiDeps``), the answer a read gets where reads are not served (the
Worker), and the error bodies an operation documents in the OpenAPI schema."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from producer.api import errors
from producer.api.offload import Offload
from producer.api.schemas import ErrorBody
from producer.backfill import BackfillReport
from shared.ports import ApiQueue, ArtifactStore, ResultReader
from shared.settings import Settings

#: the sync ``producer.backfill.backfill`` or an async twin (the Worker's) with its signature
Backfill = Callable[..., BackfillReport | Awaitable[BackfillReport]]
READS_ELSEWHERE = (
    "this API is the Cloudflare Worker, which only enqueues: {what} is served by "
    "`tubeq serve` running next to the consumers (or read Supabase directly); see "
    "docs/deploy.md, 'What runs where'"
)


@dataclass(frozen=True)
class ApiDeps:
    settings: Settings
    queue: ApiQueue
    reader: ResultReader | None
    artifacts: ArtifactStore | None
    run_backfill: Backfill
    call: Offload

    def need_reader(self, what: str) -> ResultReader:
        if self.reader is None:
            raise errors.NotServedHere(READS_ELSEWHERE.format(what=what))
        return self.reader


def error_docs(*codes: int) -> dict[int | str, dict[str, Any]]:
    """``responses=`` for an operation: these status codes answer an ``ErrorBody``."""
    return {code: {"model": ErrorBody} for code in codes}


AUTH_ERRORS = error_docs(401, 403)
BODY_ERRORS = error_docs(400, 413, 422)
