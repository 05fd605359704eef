"""How the SQLite result store (``shared.adapters.sqlite_results``) and its helper modules
run SQL on the store's one connection, which the consumer's threads share under one lock:
a write transaction (``Txn``: the lock, ``BEGIN IMMEDIATE``, commit or roll back) or one
statement on its own (``run_one``), SQLite's errors classified into tubeq's
(``shared.classify``: locked past the busy timeout, disk full, …).
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Mapping
from typing import Any

from shared.classify import classify


class Txn:
    """``with Txn(db, lock) as db``: hold the lock, BEGIN IMMEDIATE, commit or roll back."""

    def __init__(self, db: sqlite3.Connection, lock: threading.Lock) -> None:
        self._db = db
        self._lock = lock

    def __enter__(self) -> sqlite3.Connection:
        self._lock.acquire()
        try:
            self._db.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            self._lock.release()
            raise classify(exc) from exc
        return self._db

    def __exit__(self, exc_type: object, exc: BaseException | None, tb: object) -> None:
        try:
            if exc is None:
                try:
                    self._db.execute("COMMIT")
                except sqlite3.Error as err:
                    if self._db.in_transaction:
                        self._db.execute("ROLLBACK")
                    raise classify(err) from err
            elif self._db.in_transaction:
                self._db.execute("ROLLBACK")
        finally:
            self._lock.release()
        if isinstance(exc, sqlite3.Error):
            raise classify(exc) from exc


def run_one(
    db: sqlite3.Connection, lock: threading.Lock, sql: str, params: Mapping[str, Any]
) -> list[sqlite3.Row]:
    """One statement on its own, no BEGIN/COMMIT around it (three statements fewer): in
    autocommit a statement is its own transaction, and one that writes takes the write lock
    when it starts (waiting out ``busy_timeout``), as BEGIN IMMEDIATE does. Its rows are read
    to the end, so the statement, and its lock, are done on return."""
    try:
        with lock:
            return db.execute(sql, params).fetchall()
    except sqlite3.Error as exc:
        raise classify(exc) from exc
