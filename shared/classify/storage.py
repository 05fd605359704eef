"""Failures of the storage client libraries mapped to tubeq's errors.

The result stores reach the same SQL functions two ways, and both map to the same rule as
HTTP: what PostgREST would answer with a 5xx (connection trouble, timeouts, deadlocks,
server shutdown) is transient; what it would answer with a 4xx (bad payload, missing
function, no permission) is permanent; 429 is rate limited (honouring Retry-After).
psycopg gives a SQLSTATE. supabase-py's ``APIError`` gives only the body: PostgREST's
JSON error (a SQLSTATE or a ``PGRSTnnn`` code), or, from Supabase's API gateway (a bad
key, a rate limit), a body with no code at all. So the Supabase adapter records the HTTP
status of each reply and hands it over wrapped in ``SupabaseReplyError``; the status, when
known, decides. Library imports are lazy so the embedded default never loads them.

A refused login (wrong password, unknown user, no pg_hba entry) is ``AccessDenied``:
systemic, so the consumer stops and keeps the backlog instead of treating it as an
outage and retrying every message into the dead-letter queue.

The store being unreachable is ``StoreUnavailable`` (a transient error the consumer treats
as an outage: it pauses and hands messages back without spending their attempts): no
connection, a connection reset or timed out, the server shutting down or refusing
connections for now (SQLSTATE 08xxx, 57P01-57P03, 53xxx: disk full, out of memory, too many
connections), PostgREST unable to reach its database (PGRST0xx, 503), a gateway's 502/504
or Cloudflare's 52x in front of Supabase, and supabase-py's own transport errors (an httpx
error on a request to PostgREST's ``/rest/v1/``). A statement timeout, a deadlock or a 500
stays ``UpstreamUnavailable``: that call failed, the store is up, and the message's attempts
count (a failure that only one video's data causes must not loop for ever).
"""

from __future__ import annotations

import re

from shared.classify.http import from_status, parse_retry_after
from shared.errors import (
    AccessDenied,
    ConfigError,
    StoreUnavailable,
    TubeqError,
    UpstreamRejected,
    UpstreamUnavailable,
)

_KEY_HINT = (
    "; check TUBEQ_SUPABASE_SERVICE_ROLE_KEY: it must be the project's service_role key "
    "(Supabase dashboard → Project Settings → API), not the anon key"
)


class SupabaseReplyError(Exception):
    """A supabase-py ``APIError`` with the HTTP reply it came from (status, Retry-After).

    Built by ``SupabaseResultStore`` from a response hook on its own httpx client, since
    ``APIError`` does not keep the status.
    """

    def __init__(self, error: BaseException, status: int, retry_after: str | None) -> None:
        super().__init__(str(error))
        self.error = error
        self.status = status
        self.retry_after = retry_after


_MIGRATE_HINT = "; is the schema migrated? run `tubeq db migrate`"


def map_exception(exc: BaseException) -> TubeqError | None:
    if isinstance(exc, SupabaseReplyError):
        return _map_postgrest(exc.error, exc.status, exc.retry_after)
    return (
        _map_psycopg(exc)
        or _map_postgrest(exc)
        or _map_postgrest_transport(exc)
        or _map_botocore(exc)
    )


# ---- outages ---------------------------------------------------------------------------

#: SQLSTATEs that mean the server cannot serve anyone right now, whatever the call
_OUTAGE_SQLSTATE_CLASSES = ("08", "53")  # connection exception; insufficient resources
_OUTAGE_SQLSTATES = {"57P01", "57P02", "57P03"}  # admin/crash shutdown, cannot connect now
#: HTTP statuses of a store that is not there (PostgREST without its database, a gateway
#: without its upstream, Cloudflare's origin errors in front of Supabase)
_OUTAGE_STATUSES = {502, 503, 504, *range(520, 528)}


def sqlstate_is_outage(sqlstate: str) -> bool:
    return sqlstate in _OUTAGE_SQLSTATES or sqlstate[:2] in _OUTAGE_SQLSTATE_CLASSES


def as_outage(error: TubeqError) -> TubeqError:
    """``error`` as a ``StoreUnavailable`` (same message and Retry-After), when it is a
    store's transient failure; anything else unchanged."""
    if isinstance(error, StoreUnavailable) or not isinstance(error, UpstreamUnavailable):
        return error
    return StoreUnavailable(error.message, retry_after=error.retry_after)


# PostgREST's API root on Supabase and self-hosted PostgREST behind Kong; no other service
# tubeq talks to serves it, so a transport error on it is the result store's
_POSTGREST_PATH = "/rest/v1/"


# ---- psycopg / postgrest ---------------------------------------------------------------

# SQLSTATE → the HTTP status PostgREST answers with (its documented table), by exact code
# first, then by two-character class. Anything else is 400.
_SQLSTATE_STATUS = {
    "23503": 409,
    "23505": 409,
    "25006": 405,
    "42883": 404,
    "42P01": 404,
    "42501": 403,
    "P0001": 400,
}
_SQLSTATE_CLASS_STATUS = {
    "08": 503,  # connection exception
    "09": 500,
    "0L": 403,
    "0P": 403,
    "25": 500,
    "28": 403,  # invalid authorization
    "2D": 500,
    "38": 500,
    "39": 500,
    "3B": 500,
    "40": 500,  # serialization failure, deadlock: retrying helps
    "53": 503,  # insufficient resources (too many connections, disk full)
    "54": 500,
    "55": 500,  # lock not available, object in use
    "57": 500,  # query canceled (statement timeout), admin shutdown
    "58": 500,
    "F0": 500,
    "HV": 500,
    "P0": 500,
    "XX": 500,
}


def status_for_sqlstate(sqlstate: str) -> int:
    """The HTTP status PostgREST gives a SQLSTATE (or a ``PGRSTnnn`` code)."""
    if sqlstate.startswith("PGRST"):
        group = sqlstate[5:6]
        # PGRST0xx: cannot reach the database; 1xx request; 2xx schema cache; 3xx JWT
        return {"0": 503, "1": 400, "2": 404, "3": 401}.get(group, 500)
    if sqlstate in _SQLSTATE_STATUS:
        return _SQLSTATE_STATUS[sqlstate]
    return _SQLSTATE_CLASS_STATUS.get(sqlstate[:2], 400)


def _hint_for(code: str) -> str:
    return _MIGRATE_HINT if code in ("42883", "42P01", "PGRST202", "PGRST205") else ""


_CREDENTIALS_FIX = (
    "; check the user and password in TUBEQ_DATABASE_URL (on Supabase the database "
    "password, and the pooler's user postgres.<project-ref>)"
)
# libpq reports a refused login while connecting, before any result exists, so psycopg
# has no SQLSTATE for it (28P01 / 28000 on the server side): only the text says what it
# was. Retrying cannot fix any of these, so they are systemic, not an outage.
_REFUSED_LOGIN = re.compile(
    r"password authentication failed|no pg_hba\.conf entry|role \"[^\"]*\" does not exist"
    r"|no password supplied|Tenant or user not found|certificate authentication failed",
    re.IGNORECASE,
)
_NO_DATABASE = re.compile(r"database \"[^\"]*\" does not exist")


def _refused_login(text: str) -> TubeqError | None:
    # the primary line only: libpq's first line names the server, never the password
    line = text.strip().splitlines()[0] if text.strip() else text
    if _REFUSED_LOGIN.search(line):
        return AccessDenied(f"postgres refused the login: {line}{_CREDENTIALS_FIX}")
    if _NO_DATABASE.search(line):
        return ConfigError(
            f"postgres: {line}; check the database name at the end of TUBEQ_DATABASE_URL"
        )
    return None


def _map_psycopg(exc: BaseException) -> TubeqError | None:
    try:
        import psycopg
    except ImportError:  # pragma: no cover - psycopg is a dependency
        return None
    if not isinstance(exc, psycopg.Error):
        return None
    sqlstate = exc.sqlstate
    # the primary message only: psycopg's str() may add context lines with query text
    text = (exc.diag.message_primary if sqlstate else None) or str(exc).strip()
    if not sqlstate:
        if isinstance(exc, psycopg.ProgrammingError) and "connection info string" in text:
            # libpq could not parse the connection string; its message may quote a piece of
            # the password, so it is not repeated
            return ConfigError(
                "TUBEQ_DATABASE_URL (or --dsn) is not a valid connection string: use "
                "postgresql://USER:PASSWORD@HOST:PORT/DATABASE (percent-encode special "
                "characters in the password)"
            )
        if isinstance(exc, psycopg.OperationalError):
            refused = _refused_login(text)
            if refused is not None:
                return refused
        # no server verdict: the connection failed, broke or was closed under us
        if isinstance(exc, (psycopg.OperationalError, psycopg.InterfaceError)):
            return StoreUnavailable(f"postgres connection failed: {text}")
        return UpstreamRejected(f"postgres error: {text}")
    if sqlstate in ("28P01", "28000"):  # invalid password / authorization specification
        return AccessDenied(f"postgres refused the login [{sqlstate}] {text}{_CREDENTIALS_FIX}")
    # Classified like PostgREST would answer it (one rule for both result stores), but
    # worded as what it is: a database error, not an HTTP reply.
    message = f"postgres error [{sqlstate}] {text}{_hint_for(sqlstate)}"
    if sqlstate_is_outage(sqlstate):
        return StoreUnavailable(message)
    kind = type(from_status(status_for_sqlstate(sqlstate), text, service="postgres"))
    return kind(message)


def _map_postgrest(
    exc: BaseException, http_status: int | None = None, retry_after: str | None = None
) -> TubeqError | None:
    try:
        from postgrest.exceptions import APIError
    except ImportError:  # pragma: no cover - supabase is a dependency
        return None
    if not isinstance(exc, APIError):
        return None
    code = str(exc.code or "")
    message = exc.message or "no message"
    if http_status is not None:
        status = http_status  # what really came back, whatever the body says
    elif code.isdigit() and len(code) == 3:
        status = int(code)  # supabase-py puts the HTTP status here for non-PostgREST bodies
    elif code:
        status = status_for_sqlstate(code)
    else:
        return UpstreamUnavailable(f"supabase answered without an error code: {message}")
    detail = f" ({exc.hint})" if exc.hint else ""
    label = f"[{code}] " if code else ""
    # 401/403: the gateway refused the key, or PostgREST's role may not do this; retrying
    # with the same key cannot help
    fix = _KEY_HINT if status in (401, 403) else _hint_for(code)
    error = from_status(
        status,
        f"{label}{message}{detail}{fix}",
        parse_retry_after(retry_after),
        service="supabase",
    )
    if status in _OUTAGE_STATUSES or (len(code) == 5 and sqlstate_is_outage(code)):
        return as_outage(error)
    return error


def _map_postgrest_transport(exc: BaseException) -> TubeqError | None:
    """supabase-py lets httpx's own errors through: no connection, a reset, a timeout."""
    import httpx

    if not isinstance(exc, httpx.TransportError):
        return None
    try:
        url = exc.request.url
    except RuntimeError:  # no request attached: not ours to say
        return None
    if not url.path.startswith(_POSTGREST_PATH):
        return None
    return StoreUnavailable(
        f"supabase unreachable ({type(exc).__name__}: {exc}) at {url.scheme}://{url.host}; "
        "if this persists, check TUBEQ_SUPABASE_URL"
    )


# ---- botocore (R2) ---------------------------------------------------------------------


def _map_botocore(exc: BaseException) -> TubeqError | None:
    from shared.classify.botocore_map import map_botocore

    return map_botocore(exc)
