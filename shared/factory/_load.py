"""How the factory's modules turn a table entry into an adapter class, and pick the section
of the selected result database (the factory's own helpers; nothing outside it uses them)."""

from __future__ import annotations

import importlib
from typing import Any

from shared.adapter_settings import (
    PostgresSettings,
    SqliteStoreSettings,
    SqliteVectorSettings,
    SupabaseSettings,
)
from shared.settings import Settings


def adapter(table: dict[str, str], name: str) -> Any:
    """The adapter class registered as ``name`` (its module imported now, not before)."""
    module_name, _, cls_name = table[name].partition(":")
    return getattr(importlib.import_module(module_name), cls_name)


def on_store(
    table: dict[str, str], settings: Settings, *, sqlite: SqliteVectorSettings | None = None
) -> Any:
    """The ``table`` adapter of the selected result database, built on that database's
    section, which all its adapters share (``sqlite``: a SQLite adapter's own section)."""
    name = settings.results_backend
    section: SqliteStoreSettings | SqliteVectorSettings | PostgresSettings | SupabaseSettings
    if name == "postgres":
        section = settings.postgres
    elif name == "supabase":
        section = settings.supabase
    else:
        section = sqlite or settings.sqlite_store
    return adapter(table, name).from_settings(section)
