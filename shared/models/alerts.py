"""Operator alerts (issue 10): one per event, never one per video."""

from __future__ import annotations

from pydantic import Field

from shared.models.base import Frozen


class Alert(Frozen):
    """One operator alert: one per event (a dead-letter threshold crossed, a consumer
    stopped, a spend limit passed, a backfill finished), never one per video."""

    #: what happened, e.g. ``dlq_threshold``, ``consumer_stopped``, ``spend_limit``
    kind: str
    #: one line a phone notification can show whole
    title: str
    #: the details: counts, cost, what to do next
    text: str
    #: the same key never alerts twice (``shared.alerts`` keeps the keys it sent)
    dedupe_key: str
    fields: dict[str, str] = Field(default_factory=dict)
