"""The SQLite store's search index (``sql/queries/sqlite_search_schema.sql``), created once
per file: by the result store when it opens one (so every transcript it saves is indexed
by the triggers) and by ``SqliteSearch`` (a store made by an older tubeq is indexed the
first time it is searched)."""

from __future__ import annotations

import sqlite3

from shared.sql_queries import Queries, load

SEARCH_SCHEMA: Queries = load("sqlite_search_schema.sql")
SEARCH: Queries = load("sqlite_search.sql")


def search_index_missing(db: sqlite3.Connection) -> bool:
    return db.execute(SEARCH["index_present"]).fetchone() is None


def create_search_index(db: sqlite3.Connection) -> None:
    """Inside the caller's write transaction: the tables, the triggers and the rows of the
    transcripts already saved (nothing when the index is there already)."""
    if not search_index_missing(db):
        return
    for statement in SEARCH_SCHEMA.values():
        db.execute(statement)


def ensure_search_index(db: sqlite3.Connection) -> None:
    """For a reader on a store an older tubeq made: the index built in its own write
    transaction, rolled back whole if anything fails (nothing when it is there already)."""
    if not search_index_missing(db):
        return
    db.execute("BEGIN IMMEDIATE")
    try:
        create_search_index(db)
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise
