"""The dashboard's reads on the Postgres result store (``ActivityReader`` and
``ChannelDirectory``): the blocks of ``sql/queries/postgres_dashboard.sql``, each one
statement returning one JSON value, run by the store's own ``_execute``."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from shared.models import ChannelSummary
from shared.sql_queries import Queries, load

DASHBOARD: Queries = load("postgres_dashboard.sql")
Execute = Callable[[str, dict[str, Any]], Any]


def finished_since(execute: Execute, since: datetime) -> list[datetime]:
    values = execute(DASHBOARD["finished_since"], {"since": since}) or []
    return [datetime.fromisoformat(v) for v in values]


def channels(execute: Execute) -> list[ChannelSummary]:
    rows = execute(DASHBOARD["channels"], {}) or []
    return [ChannelSummary.model_validate(row) for row in rows]
