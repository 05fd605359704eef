"""Applying ``sql/*.sql`` to a PostgreSQL (or Supabase) database, in order, once each.

Each migration runs in its own transaction together with its row in ``tubeq_migrations``
(name, sha256 checksum, when), so a failed migration leaves nothing behind and a finished
one is never run again. A transaction-level advisory lock serialises runners: two
``tubeq db migrate`` started at once apply each file once (the second waits, then sees it
applied). Transaction-level (not session) locks keep this working through a transaction
pooler such as Supabase's or pgbouncer.

A file changed after it was applied is refused before anything runs: the database no
longer matches the file, and the fix is a new migration, not an edit.

The files are found next to the code in a checkout (``<repo>/sql``), else as package data
of an installed ``tubeq_sql`` package (see the README on packaging).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any, Literal

import psycopg

from shared.classify import classify
from shared.errors import ConfigError, PermanentError

REPO_SQL_DIR = Path(__file__).resolve().parent.parent / "sql"
SQL_PACKAGE = "tubeq_sql"
MIGRATIONS_TABLE = "tubeq_migrations"
# any fixed 64-bit number; this one is b"tubeqmig" read as an integer
ADVISORY_LOCK_KEY = int.from_bytes(b"tubeqmig", "big") & 0x7FFF_FFFF_FFFF_FFFF
_FILE_NAME = re.compile(r"^(\d{3})_[a-z0-9_]+\.sql$")

_BOOTSTRAP = f"""
create table if not exists {MIGRATIONS_TABLE} (
    name       text primary key,
    checksum   text not null,
    applied_at timestamptz not null default now()
);
alter table {MIGRATIONS_TABLE} enable row level security;
revoke all on table {MIGRATIONS_TABLE} from public;
do $$
declare r text;
begin
    -- Supabase's default privileges would otherwise expose this table to the API roles
    foreach r in array array['anon', 'authenticated', 'service_role'] loop
        if exists (select 1 from pg_roles where rolname = r) then
            execute format('revoke all on table {MIGRATIONS_TABLE} from %I', r);
        end if;
    end loop;
end
$$;
"""

#: the bookkeeping table's DDL, public for the Supabase CLI export (shared.supabase_migrations)
BOOTSTRAP_SQL = _BOOTSTRAP


class MigrationError(PermanentError):
    """The database's migrations do not match the files in sql/."""

    code = "migration"


@dataclass(frozen=True)
class Migration:
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class MigrationStatus:
    name: str
    state: Literal["applied", "pending", "changed", "missing"]
    applied_at: datetime | None = None


def find_sql_dir() -> Path | Traversable:
    """The sql/ folder of a checkout, else the installed ``tubeq_sql`` package data."""
    if REPO_SQL_DIR.is_dir() and any(REPO_SQL_DIR.glob("*.sql")):
        return REPO_SQL_DIR
    try:
        return resources.files(SQL_PACKAGE)
    except ModuleNotFoundError:
        raise ConfigError(
            f"cannot find the SQL migrations: no {REPO_SQL_DIR} and no installed "
            f"'{SQL_PACKAGE}' package; run from a tubeq checkout or reinstall tubeq"
        ) from None


def load_migrations(directory: Path | Traversable | None = None) -> list[Migration]:
    """The migration files (``NNN_name.sql``) in order; refuses gaps in naming rules."""
    folder = directory if directory is not None else find_sql_dir()
    found: dict[str, Migration] = {}
    numbers: dict[str, str] = {}
    for entry in folder.iterdir():
        if not entry.name.endswith(".sql"):
            continue
        match = _FILE_NAME.match(entry.name)
        if not match:
            raise ConfigError(
                f"migration file {entry.name!r} is misnamed: use NNN_lowercase_name.sql, "
                "e.g. 006_add_index.sql"
            )
        if match.group(1) in numbers:
            raise ConfigError(
                f"migrations {numbers[match.group(1)]} and {entry.name} share the number "
                f"{match.group(1)}: renumber the newer one"
            )
        numbers[match.group(1)] = entry.name
        found[entry.name] = Migration(entry.name, entry.read_text(encoding="utf-8"))
    if not found:
        raise ConfigError(f"no migrations (*.sql) found in {folder}")
    return [found[name] for name in sorted(found)]


def connect(dsn: str, *, connect_timeout_s: float = 10.0) -> psycopg.Connection[Any]:
    """An autocommit connection for the runner (each migration opens its own transaction)."""
    try:
        return psycopg.connect(
            dsn,
            autocommit=True,
            prepare_threshold=None,
            connect_timeout=max(1, round(connect_timeout_s)),
        )
    except psycopg.Error as exc:
        raise classify(exc) from exc


def _lock(conn: psycopg.Connection[Any]) -> None:
    conn.execute("select pg_advisory_xact_lock(%s)", (ADVISORY_LOCK_KEY,))


def _applied(conn: psycopg.Connection[Any]) -> dict[str, tuple[str, datetime]]:
    exists = conn.execute("select to_regclass(%s) is not null", (MIGRATIONS_TABLE,)).fetchone()
    if not exists or not exists[0]:
        return {}
    rows = conn.execute(f"select name, checksum, applied_at from {MIGRATIONS_TABLE}").fetchall()
    return {name: (checksum, at) for name, checksum, at in rows}


def _check_unchanged(
    migrations: Sequence[Migration], applied: dict[str, tuple[str, datetime]]
) -> None:
    for m in migrations:
        if m.name in applied and applied[m.name][0] != m.checksum:
            raise MigrationError(
                f"migration {m.name} was changed after it was applied (recorded checksum "
                f"{applied[m.name][0][:12]}…, file now {m.checksum[:12]}…): restore the "
                "file as it was and put the change in a new migration"
            )


def status(
    conn: psycopg.Connection[Any], migrations: Sequence[Migration] | None = None
) -> list[MigrationStatus]:
    """Each migration file's state, plus applied migrations whose file is gone."""
    files = list(migrations) if migrations is not None else load_migrations()
    try:
        applied = _applied(conn)
    except psycopg.Error as exc:
        raise classify(exc) from exc
    out: list[MigrationStatus] = []
    for m in files:
        if m.name not in applied:
            out.append(MigrationStatus(m.name, "pending"))
        else:
            checksum, at = applied[m.name]
            out.append(
                MigrationStatus(m.name, "applied" if checksum == m.checksum else "changed", at)
            )
    names = {m.name for m in files}
    out.extend(
        MigrationStatus(name, "missing", at)
        for name, (_, at) in sorted(applied.items())
        if name not in names
    )
    return out


def migrate(
    conn: psycopg.Connection[Any], migrations: Sequence[Migration] | None = None
) -> list[str]:
    """Apply the pending migrations in order; returns the names applied (empty: up to date)."""
    files = list(migrations) if migrations is not None else load_migrations()
    if not conn.autocommit:
        raise ConfigError("migrate() needs an autocommit connection (it opens transactions)")
    done: list[str] = []
    current = f"creating {MIGRATIONS_TABLE}"
    try:
        with conn.transaction():
            _lock(conn)
            conn.execute(_BOOTSTRAP)
        _check_unchanged(files, _applied(conn))
        for m in files:
            current = f"applying {m.name}"
            with conn.transaction():
                _lock(conn)
                # re-read under the lock: another runner may have applied it meanwhile
                applied = _applied(conn)
                _check_unchanged([m], applied)
                if m.name in applied:
                    continue
                conn.execute(m.sql)  # a file of ours, not user input: no parameters
                conn.execute(
                    f"insert into {MIGRATIONS_TABLE} (name, checksum) values (%s, %s)",
                    (m.name, m.checksum),
                )
            done.append(m.name)
    except psycopg.Error as exc:
        raise MigrationError(f"migration failed while {current}: {classify(exc).message}") from exc
    return done


def record_public_url(conn: psycopg.Connection[Any], url: str | None) -> bool:
    """Write where tubeq's API is reachable into ``tubeq_config`` (sql/013), so the
    analyst views' links point there; None leaves what is recorded alone. True when
    written. Runs after ``migrate`` (the table is one of its migrations)."""
    if not url:
        return False
    try:
        with conn.transaction():
            conn.execute(
                "insert into tubeq_config (key, value) values ('public_url', %s) "
                "on conflict (key) do update set value = excluded.value, updated_at = now()",
                (url.rstrip("/"),),
            )
    except psycopg.Error as exc:
        raise MigrationError(f"cannot record the public URL: {classify(exc).message}") from exc
    return True
