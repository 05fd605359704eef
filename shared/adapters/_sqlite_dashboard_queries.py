"""The dashboard's reads on the SQLite result store (``ChannelDirectory``,
``ActivityReader`` and ``TemplateResultReader``): kept apart from ``sqlite_results`` so
the store's own module stays about its ports; the store's method hands over its
connection and lock."""

from __future__ import annotations

import sqlite3
import threading
from datetime import datetime

from shared.adapters._sqlite_results_rows import dt, ts
from shared.adapters._template_results_rows import result_of_row
from shared.classify import classify
from shared.models import ChannelSummary
from shared.sql_queries import Queries, load
from shared.templates.results import TemplateResult

DASHBOARD: Queries = load("sqlite_dashboard.sql")
#: the template results' own blocks (``sqlite_template_results`` writes with the same file)
TEMPLATES: Queries = load("sqlite_templates.sql")
TEMPLATES_SCHEMA: Queries = load("sqlite_templates_schema.sql")


def channels(db: sqlite3.Connection, lock: threading.Lock) -> list[ChannelSummary]:
    """Every channel with its videos counted by state, by case-folded title then id."""
    try:
        with lock:
            rows = db.execute(DASHBOARD["channels"]).fetchall()
    except sqlite3.Error as exc:
        raise classify(exc) from exc
    return [
        ChannelSummary(**{**dict(row), "last_published": dt(row["last_published"])}) for row in rows
    ]


def finished_since(db: sqlite3.Connection, lock: threading.Lock, since: datetime) -> list[datetime]:
    """When each video done at or after ``since`` finished, oldest first."""
    try:
        with lock:
            rows = db.execute(DASHBOARD["finished_since"], {"since": ts(since)}).fetchall()
    except sqlite3.Error as exc:
        raise classify(exc) from exc
    return [when for (value,) in rows if (when := dt(value)) is not None]


def create_template_tables(db: sqlite3.Connection) -> None:
    """``template_results`` and its typed views, in the transaction the store opens with:
    a file no template ran on yet reads as none (and the views are there to query)."""
    for statement in TEMPLATES_SCHEMA.values():
        db.execute(statement)


def template_results(
    db: sqlite3.Connection, lock: threading.Lock, video_id: str
) -> list[TemplateResult]:
    """Every completed template result of a video, newest first."""
    try:
        with lock:
            rows = db.execute(TEMPLATES["template_results"], {"video_id": video_id}).fetchall()
    except sqlite3.Error as exc:
        raise classify(exc) from exc
    return [result_of_row(r) for r in rows]
