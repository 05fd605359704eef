"""`tubeq db migrate` / `tubeq db status`: the Postgres/Supabase schema from sql/*.sql."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import psycopg
import typer
from rich.table import Table

from shared import migrations, supabase_migrations
from shared.errors import TubeqError
from tubeq.cli.context import console, fail, load_settings

db_app = typer.Typer(
    help="The Postgres/Supabase schema: apply the migrations in sql/, show their state.",
    no_args_is_help=True,
)

DsnOption = Annotated[
    str | None,
    typer.Option(
        "--dsn",
        help="Postgres DSN (default: TUBEQ_DATABASE_URL). On Supabase use the SESSION "
        "pooler string (Connect → Session pooler: port 5432 on "
        "aws-0-<region>.pooler.supabase.com, user postgres.<project-ref>; works over "
        "IPv4). The transaction pooler (port 6543) is for TUBEQ_DATABASE_URL at run time; "
        "the direct db.<project-ref>.supabase.co host is IPv6-only unless the project has "
        "the IPv4 add-on. See sql/README.md.",
        show_default=False,
    ),
]


def register(app: typer.Typer) -> None:
    app.add_typer(db_app, name="db")


def _connect(dsn: str | None) -> psycopg.Connection[Any]:
    settings = load_settings()
    if dsn is None:
        if settings.database_url is None:
            fail("no database given: pass --dsn or set TUBEQ_DATABASE_URL")
        dsn = settings.database_url.get_secret_value()
    try:
        return migrations.connect(dsn, connect_timeout_s=settings.database_timeout_s)
    except TubeqError as exc:
        fail(f"cannot connect to the database: {exc.message}")


@db_app.command("migrate")
def migrate(dsn: DsnOption = None) -> None:
    """Apply the pending migrations in order (safe to re-run; a no-op when up to date)."""
    conn = _connect(dsn)
    public_url = load_settings().public_url
    try:
        applied = migrations.migrate(conn)
        recorded = migrations.record_public_url(conn, public_url)
    except TubeqError as exc:
        fail(exc.message)
    finally:
        conn.close()
    if applied:
        for name in applied:
            console.print(f"applied {name}")
    else:
        console.print("the database is up to date")
    if recorded:
        console.print(f"analyst views link artifacts through {public_url}")


@db_app.command("status")
def status(dsn: DsnOption = None) -> None:
    """Show which migrations are applied, pending, changed since applied, or missing."""
    conn = _connect(dsn)
    try:
        states = migrations.status(conn)
    except TubeqError as exc:
        fail(exc.message)
    finally:
        conn.close()
    table = Table(title="migrations")
    for col in ("migration", "state", "applied at"):
        table.add_column(col)
    for s in states:
        style = {"applied": "green", "pending": "yellow"}.get(s.state, "bold red")
        at = s.applied_at.isoformat(timespec="seconds") if s.applied_at else ""
        table.add_row(s.name, f"[{style}]{s.state}[/]", at)
    console.print(table)
    if any(s.state == "changed" for s in states):
        fail("a migration file changed after it was applied: restore it, add a new migration")


@db_app.command("supabase-export")
def supabase_export(
    out: Annotated[
        Path,
        typer.Option(help="The Supabase CLI's migrations folder."),
    ] = Path("supabase/migrations"),
    check: Annotated[
        bool,
        typer.Option("--check", help="Change nothing; exit 1 if the folder is out of date."),
    ] = False,
) -> None:
    """Write supabase/migrations/ from sql/ for `supabase db push` (sql/ stays the source)."""
    try:
        result = supabase_migrations.export(out, write=not check)
    except TubeqError as exc:
        fail(exc.message)
    verb = "out of date" if check else "wrote"
    for name in result.written:
        console.print(f"{verb}: {out / name}")
    for name in result.removed:
        console.print(f"{'stale' if check else 'removed'}: {out / name} (its sql/ file is gone)")
    if not result.changed:
        console.print(f"{out} is up to date with sql/ ({len(result.unchanged)} migrations)")
    elif check:
        fail("supabase/migrations is out of date with sql/: run `tubeq db supabase-export`")
    else:
        console.print("next: `supabase db push` (or `tubeq db migrate`; either records both)")
