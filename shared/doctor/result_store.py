"""The result store (Postgres through psycopg, or Supabase over HTTPS): reachable, the
credentials accepted, the migrations current, RLS on, and the analyst role set up.

Read-only: the catalog queries and ``tubeq_progress()`` change nothing. RLS and the
analyst grants can only be read over a Postgres connection (PostgREST does not expose
the catalog), so with Supabase they are checked when ``TUBEQ_DATABASE_URL`` is set too.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from shared.doctor.common import capped, failed, from_error, passed, skipped
from shared.doctor.result import CheckResult
from shared.errors import AccessDenied, ConfigError, TubeqError, UpstreamRejected
from shared.ports import ActivityReader
from shared.settings import Settings

SERVICE = "result-store"

#: the tables analysts read (sql/003 and 008: RLS, a select grant and an analysts-read policy)
ANALYST_TABLES = (
    "channels",
    "videos",
    "transcripts",
    "transcript_chunks",
    "analyses",
    "artifacts",
    "failures",
    "model_calls",  # the spend ledger (sql/008)
)
#: every table the migrations protect with RLS; claims (sql/006) is the service role's only
TABLES = (*ANALYST_TABLES, "claims")
_DSN_FIX = (
    "check the user, password, host and database in TUBEQ_DATABASE_URL (on Supabase: "
    "Connect → Transaction pooler; the password is the database password, not an API key)"
)
_REACH_FIX = (
    "the database did not answer: check the host and port in TUBEQ_DATABASE_URL, that the "
    "server runs, and that this network may reach it"
)
_MIGRATE_FIX = "run `tubeq db migrate` (see sql/README.md for which connection string)"
_ROLE_FIX = (
    "the schema differs from sql/003_row_level_security.sql: run `tubeq db migrate`; if it "
    "says up to date, someone changed the database by hand; restore the grants and policies "
    "from sql/003 and sql/004"
)


def check_result_store(settings: Settings, timeout_s: float) -> list[CheckResult]:
    backend = settings.results_backend
    if backend == "sqlite":
        return [skipped(SERVICE, "reachable", "not configured (TUBEQ_RESULTS_BACKEND=sqlite)")]
    results: list[CheckResult] = []
    if backend == "supabase":
        api_lines = _check_supabase(settings, timeout_s)
        if settings.database_url is not None:
            # the migration ledger read over TUBEQ_DATABASE_URL below says it exactly: the
            # API's probe would be a second "migrations current" line, perhaps a different one
            api_lines = [line for line in api_lines if line.name != "migrations current"]
        results.extend(api_lines)
        if settings.database_url is None:
            note = "needs a Postgres connection: set TUBEQ_DATABASE_URL to check these too"
            results.append(skipped(SERVICE, "RLS on and analyst role", note))
            return results
    if settings.database_url is None:
        return [failed(SERVICE, "reachable", "TUBEQ_DATABASE_URL is not set", _DSN_FIX)]
    dsn = settings.database_url.get_secret_value()
    results.extend(_check_postgres(dsn, capped(settings.database_timeout_s, timeout_s)))
    return results


def _check_supabase(settings: Settings, timeout_s: float) -> list[CheckResult]:
    from shared.factory import build_results

    name = "Supabase key accepted"
    capped_settings = settings.model_copy(
        update={"supabase_timeout_s": capped(settings.supabase_timeout_s, timeout_s)}
    )
    try:
        store = build_results(capped_settings)  # results_backend is "supabase" here
    except TubeqError as exc:
        return [from_error(SERVICE, name, exc, "fix the Supabase settings named above")]
    try:
        store.progress()
        # PostgREST shows no migration ledger, so ask the newest migration's reader
        # (sql/019): a project migrated before it answers 404, and its dashboard would too
        if isinstance(store, ActivityReader):
            store.finished_since(datetime.now(UTC))
    except AccessDenied as exc:
        fix = "set TUBEQ_SUPABASE_SERVICE_ROLE_KEY to the project's service_role key"
        return [failed(SERVICE, name, exc.message, fix)]
    except UpstreamRejected as exc:
        return [
            passed(SERVICE, name, "the API answered"),
            failed(SERVICE, "migrations current", exc.message, _MIGRATE_FIX),
        ]
    except TubeqError as exc:
        return [from_error(SERVICE, name, exc, "check TUBEQ_SUPABASE_URL and Supabase's status")]
    finally:
        store.close()
    return [
        passed(SERVICE, name, "tubeq_progress() answered over HTTPS"),
        passed(SERVICE, "migrations current", "the newest migration's function answered"),
    ]


def _check_postgres(dsn: str, timeout_s: float) -> list[CheckResult]:
    import psycopg

    from shared import migrations
    from shared.classify import classify

    try:
        conn = migrations.connect(dsn, connect_timeout_s=timeout_s)
    except (AccessDenied, ConfigError) as exc:
        return [failed(SERVICE, "credentials accepted", exc.message, _DSN_FIX)]
    except TubeqError as exc:
        return [from_error(SERVICE, "reachable", exc, _REACH_FIX)]
    out: list[CheckResult] = []
    try:
        # a hung query must not outlive the doctor's time limit
        conn.execute(f"set statement_timeout = {int(timeout_s * 1000)}")
        out.append(passed(SERVICE, "credentials accepted", _server(conn)))
        out.append(_migrations_line(conn))
        out.extend(_security_lines(conn))
    except psycopg.Error as exc:
        out.append(from_error(SERVICE, "catalog read", classify(exc), _ROLE_FIX))
    finally:
        conn.close()
    return out


def _server(conn: Any) -> str:
    info = conn.info
    version = info.server_version // 10000
    return f"{info.host}:{info.port}/{info.dbname} as {info.user}, PostgreSQL {version}"


def _migrations_line(conn: Any) -> CheckResult:
    from shared import migrations

    name = "migrations current"
    try:
        states = migrations.status(conn)
    except AccessDenied as exc:
        # tubeq_migrations is readable by its owner only (RLS, no grants): the runtime
        # user is usually that owner; a narrower user cannot see which are applied
        fix = (
            "connect as the user that ran `tubeq db migrate` (the owner of "
            "tubeq_migrations), or check with `tubeq db status --dsn <owner DSN>`"
        )
        return failed(SERVICE, name, exc.message, fix)
    except TubeqError as exc:
        return from_error(SERVICE, name, exc, _MIGRATE_FIX)
    pending = [s.name for s in states if s.state == "pending"]
    changed = [s.name for s in states if s.state == "changed"]
    unknown = [s.name for s in states if s.state == "missing"]
    if changed:
        detail = f"changed after they were applied: {', '.join(changed)}"
        fix = "restore those files as they were and put the change in a new migration"
        return failed(SERVICE, name, detail, fix)
    if pending:
        return failed(SERVICE, name, f"{len(pending)} pending: {', '.join(pending)}", _MIGRATE_FIX)
    if unknown:
        detail = f"the database has migrations this tubeq does not know: {', '.join(unknown)}"
        return failed(SERVICE, name, detail, "upgrade tubeq to the version that migrated it")
    return passed(SERVICE, name, f"{len(states)} applied")


_RLS_QUERY = """
select t.name, c.relrowsecurity
  from unnest(%s::text[]) as t(name)
  left join pg_class c on c.relname = t.name and c.relkind = 'r'
   and c.relnamespace = 'public'::regnamespace
"""
_ROLES_QUERY = (
    "select rolname from pg_roles where rolname in ('anon', 'authenticated', 'service_role')"
)
_POLICY_QUERY = """
select tablename from pg_policies
 where schemaname = 'public' and policyname = tablename || '_analysts_read'
   and 'authenticated' = any(roles)
"""


def _security_lines(conn: Any) -> list[CheckResult]:
    rows = conn.execute(_RLS_QUERY, (list(TABLES),)).fetchall()
    missing = [name for name, rls in rows if rls is None]
    off = [name for name, rls in rows if rls is False]
    if missing:
        rls = failed(SERVICE, "RLS on", f"tables missing: {', '.join(missing)}", _MIGRATE_FIX)
    elif off:
        detail = (
            f"row level security is OFF on {', '.join(off)}: anyone with the anon key may read them"
        )
        fix = "run `alter table <name> enable row level security` for each (as in sql/003)"
        rls = failed(SERVICE, "RLS on", detail, fix)
    else:
        rls = passed(SERVICE, "RLS on", f"all {len(TABLES)} tables")
    return [rls, _analyst_line(conn, [t for t in ANALYST_TABLES if t not in missing])]


def _analyst_line(conn: Any, tables: list[str]) -> CheckResult:
    name = "analyst role set up"
    roles = {r for (r,) in conn.execute(_ROLES_QUERY).fetchall()}
    if "authenticated" not in roles:
        return failed(SERVICE, name, "the role `authenticated` does not exist", _ROLE_FIX)
    problems: list[str] = []
    with_policy = {t for (t,) in conn.execute(_POLICY_QUERY).fetchall()}
    no_policy = [t for t in tables if t not in with_policy]
    if no_policy:
        problems.append(f"no analysts-read policy on {', '.join(no_policy)}")
    grants = conn.execute(
        "select t, has_table_privilege('authenticated', format('public.%%I', t), 'select')"
        " from unnest(%s::text[]) as t",
        (tables,),
    ).fetchall()
    no_select = [t for t, ok in grants if not ok]
    if no_select:
        problems.append(f"`authenticated` may not select from {', '.join(no_select)}")
    fn = conn.execute("select to_regprocedure('public.tubeq_is_analyst()') is not null").fetchone()
    if not fn or not fn[0]:
        problems.append("function tubeq_is_analyst() is missing")
    if "anon" in roles:
        leaks = conn.execute(
            "select t from unnest(%s::text[]) as t"
            " where has_table_privilege('anon', format('public.%%I', t), 'select')",
            (tables,),
        ).fetchall()
        if leaks:
            problems.append(f"`anon` may select from {', '.join(t for (t,) in leaks)}")
    if problems:
        return failed(SERVICE, name, "; ".join(problems), _ROLE_FIX)
    return passed(
        SERVICE,
        name,
        "`authenticated` reads only with app_metadata.role = 'analyst'; anon reads nothing",
    )
