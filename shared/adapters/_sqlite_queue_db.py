"""The SQLite queue's (``shared.adapters.sqlite_queue``) database: its SQL, the named blocks
of ``sql/queries/sqlite_queue.sql`` (tables: ``sqlite_queue_schema.sql``), and its
connections: one per thread (the consumer runs a thread pool), a fresh one in a forked
child, every write in ``BEGIN IMMEDIATE`` (no lock-upgrade deadlocks), and SQLite's errors
classified into tubeq's (``shared.classify``: locked, disk full, …).
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from shared.classify import classify
from shared.errors import TubeqError
from shared.sql_queries import Queries, load

QUEUE: Queries = load("sqlite_queue.sql")
SCHEMA: Queries = load("sqlite_queue_schema.sql")


class QueueClosedError(TubeqError):
    """The queue has been closed; open a new SqliteQueue to use the file again."""

    code = "queue_closed"


class QueueConnections:
    """Per-thread connections to one queue file, made by ``opener``, all closed by ``close``."""

    def __init__(self, opener: Callable[[], sqlite3.Connection]) -> None:
        self._open = opener
        self._local = threading.local()
        self._lock = threading.Lock()
        self._connections: list[sqlite3.Connection] = []
        self._closed = False

    def conn(self) -> sqlite3.Connection:
        """This thread's connection (opened on first use)."""
        if self._closed:
            raise QueueClosedError()
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        # A connection inherited through fork() must not be used (or closed) by the child.
        if conn is None or self._local.pid != os.getpid():
            conn = self._open()
            self._local.conn, self._local.pid = conn, os.getpid()
            with self._lock:
                self._connections.append(conn)
        return conn

    @contextmanager
    def translate(self) -> Iterator[None]:
        """SQLite's errors as tubeq's; tubeq's own pass as they are."""
        try:
            yield
        except TubeqError:
            raise
        except sqlite3.Error as exc:
            raise classify(exc) from exc

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction that takes the write lock up front (no upgrade deadlocks)."""
        with self.translate():
            conn = self.conn()
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                if conn.in_transaction:  # some errors (disk full, I/O) already rolled back
                    conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    def read(self, sql: str, params: Mapping[str, Any]) -> list[Any]:
        """The rows of one statement, outside any write transaction."""
        with self.translate():
            return self.conn().execute(sql, params).fetchall()

    def close(self) -> None:
        with self._lock:
            self._closed = True
            conns, self._connections = self._connections, []
        for conn in conns:
            conn.close()
