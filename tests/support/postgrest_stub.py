"""A small local server speaking PostgREST's RPC shape, backed by a real PostgreSQL.

PostgREST itself is not installable here. This stub answers what supabase-py sends for
``client.rpc(fn, params).execute()``:

* ``POST /rest/v1/rpc/<fn>`` with the arguments as a JSON object;
* the role comes from the JWT in ``Authorization: Bearer`` (its ``role`` claim), as in
  PostgREST, and the call runs for real as that role (``SET LOCAL ROLE``), in one
  transaction, so grants and RLS apply exactly as on Supabase; ``apikey`` must be present
  (Supabase's gateway rejects requests without it);
* replies as PostgREST does: the function's value as JSON (200), 204 for ``void``, an
  array of rows for set-returning functions, and errors as PostgREST's error JSON
  (``code``/``message``/``details``/``hint``) with the HTTP status PostgREST gives that
  SQLSTATE (its documented table, kept here independent of tubeq's classifier);
* in front of it, like Supabase's API gateway: with ``api_keys`` given, an ``apikey`` not
  among them gets 401 ``{"message": "Invalid API key", "hint": …}``, a body with NO
  PostgREST code (so only the HTTP status tells what happened).

Each request is recorded (method, path, headers, JSON body) for the tests to check, and
faults can be queued: a status with an error body and headers (e.g. the gateway's 429 with
Retry-After and no code), or a slow reply to trip a timeout.
"""

from __future__ import annotations

import base64
import json
import threading
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any

import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb
from pydantic import SecretStr

from shared.settings import Settings
from tests.support.loopback import LoopbackServer

PREFIX = "/rest/v1/rpc/"


def make_jwt(role: str) -> str:
    """A JWT-shaped key with a ``role`` claim (the stub does not check signatures)."""

    def part(obj: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()

    header = part({"alg": "HS256", "typ": "JWT"})
    claims = part({"iss": "supabase", "ref": "tubeqtest", "role": role})
    return f"{header}.{claims}.c2lnbmF0dXJlLW5vdC1jaGVja2Vk"


def service_role_key() -> str:
    return make_jwt("service_role")


def anon_key() -> str:
    return make_jwt("anon")


@dataclass(frozen=True)
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: Any


@dataclass(frozen=True)
class Fault:
    """What the next request gets instead of a real answer (status None: the real one)."""

    status: int | None = None
    #: a dict is sent as PostgREST's JSON error; a str as an HTML page (a proxy's error)
    body: dict[str, Any] | str | None = None
    delay_s: float = 0.0
    #: extra reply headers, e.g. {"Retry-After": "7"}
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class _Function:
    arg_names: list[str]
    arg_types: list[str]
    required: int
    returns: str
    returns_set: bool


# PostgREST's SQLSTATE → HTTP status (docs: "Errors" → "PostgreSQL errors"), the part used
_STATUS_BY_CODE = {"23503": 409, "23505": 409, "42883": 404, "42P01": 404, "P0001": 400}
_STATUS_BY_CLASS = {"08": 503, "53": 503, "25": 500, "40": 500, "57": 500, "XX": 500}


def _postgrest_status(sqlstate: str, role: str) -> int:
    if sqlstate == "42501":
        return 401 if role == "anon" else 403
    return _STATUS_BY_CODE.get(sqlstate) or _STATUS_BY_CLASS.get(sqlstate[:2], 400)


#: what Supabase's gateway (Kong) answers to an unknown apikey, before PostgREST sees it
INVALID_KEY_BODY = {
    "message": "Invalid API key",
    "hint": "Double check your Supabase `anon` or `service_role` API key.",
}


@dataclass
class PostgrestStub:
    dsn: str
    #: the project's keys; None accepts any apikey (the role then comes from the JWT)
    api_keys: frozenset[str] | None = None
    requests: list[Recorded] = field(default_factory=list)
    _faults: deque[Fault] = field(default_factory=deque)
    _stop: threading.Event = field(default_factory=threading.Event)
    _http: LoopbackServer | None = None
    _conn: psycopg.Connection[Any] | None = None
    _db_lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        assert self._http is not None, "start the stub first"
        return self._http.origin

    def settings(self, **extra: Any) -> Settings:
        """tubeq's settings for a Supabase result store on this stub (service-role key)."""
        return Settings(
            results_backend="supabase",
            supabase_url=self.url,
            supabase_service_role_key=SecretStr(service_role_key()),
            **extra,
        )

    def inject(self, *faults: Fault) -> None:
        self._faults.extend(faults)

    def start(self) -> PostgrestStub:
        self._http = LoopbackServer(_handler_for(self)).start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._http is not None:
            self._http.stop()
        with self._db_lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def __enter__(self) -> PostgrestStub:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ---- executing a call -----------------------------------------------------------

    def next_fault(self) -> Fault | None:
        try:
            return self._faults.popleft()
        except IndexError:
            return None

    def wait(self, seconds: float) -> None:
        self._stop.wait(seconds)

    def call(self, role: str, name: str, args: dict[str, Any]) -> tuple[int, Any]:
        """Run ``name(args)`` as ``role``; returns (HTTP status, JSON body or None)."""
        # one connection, one call at a time, like a PostgREST with a pool of one
        with self._db_lock:
            if self._conn is None or self._conn.closed:
                self._conn = psycopg.connect(self.dsn, autocommit=True, connect_timeout=5)
            return self._call(self._conn, role, name, args)

    def _call(
        self, conn: psycopg.Connection[Any], role: str, name: str, args: dict[str, Any]
    ) -> tuple[int, Any]:
        fn = _lookup(conn, name)
        if fn is None or not _args_fit(fn, args):
            return 404, {
                "code": "PGRST202",
                "message": f"Could not find the function public.{name}"
                f"({', '.join(sorted(args))}) in the schema cache",
                "details": "Searched for the function with the given argument names",
                "hint": None,
            }
        try:
            with conn.transaction():
                conn.execute(sql.SQL("SET LOCAL ROLE {}").format(sql.Identifier(role)))
                return _execute(conn, name, fn, args)
        except psycopg.Error as exc:
            state = exc.sqlstate or "XX000"
            diag = exc.diag
            return _postgrest_status(state, role), {
                "code": state,
                "message": diag.message_primary or str(exc),
                "details": diag.message_detail,
                "hint": diag.message_hint,
            }


def _lookup(conn: psycopg.Connection[Any], name: str) -> _Function | None:
    row = conn.execute(
        """
        select coalesce(p.proargnames, '{}'), coalesce(p.proargmodes::text[], '{}'),
               array(select format_type(t, null) from unnest(p.proargtypes) t),
               p.pronargs - p.pronargdefaults, format_type(p.prorettype, null), p.proretset
          from pg_proc p join pg_namespace n on n.oid = p.pronamespace
         where n.nspname = 'public' and p.proname = %s
        """,
        (name,),
    ).fetchone()
    if row is None:
        return None
    names, modes, types, required, returns, returns_set = row
    in_names = [nm for i, nm in enumerate(names) if not modes or modes[i] in ("i", "b", "v")]
    return _Function(in_names[: len(types)], list(types), required, returns, returns_set)


def _args_fit(fn: _Function, args: dict[str, Any]) -> bool:
    if not set(args) <= set(fn.arg_names):
        return False
    return all(name in args for name in fn.arg_names[: fn.required])


def _execute(
    conn: psycopg.Connection[Any], name: str, fn: _Function, args: dict[str, Any]
) -> tuple[int, Any]:
    parts: list[sql.Composable] = []
    values: list[Any] = []
    for arg_name, arg_type in zip(fn.arg_names, fn.arg_types, strict=True):
        if arg_name not in args:
            continue
        parts.append(sql.SQL("{} => %s::{}").format(sql.Identifier(arg_name), sql.SQL(arg_type)))
        values.append(_param(args[arg_name], arg_type))
    call = sql.SQL("{}({})").format(sql.Identifier(name), sql.SQL(", ").join(parts))
    if fn.returns == "void":
        conn.execute(sql.SQL("SELECT {}").format(call), values)
        return 204, None
    if fn.returns_set:
        query = sql.SQL("SELECT coalesce(jsonb_agg(to_jsonb(r)), '[]') FROM {} r").format(call)
    else:
        query = sql.SQL("SELECT to_jsonb({})").format(call)
    row = conn.execute(query, values).fetchone()
    return 200, row[0] if row else None


def _param(value: Any, arg_type: str) -> Any:
    """JSON argument → a parameter PostgreSQL casts to the argument's type, as PostgREST."""
    if value is None:
        return None
    if arg_type in ("jsonb", "json"):
        return Jsonb(value)
    if isinstance(value, list):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _role_from(headers: dict[str, str]) -> str | None:
    auth = headers.get("authorization", "")
    if not auth.lower().startswith("bearer "):
        return None
    try:
        claims_part = auth.split()[1].split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(claims_part + "=" * (-len(claims_part) % 4)))
        role = claims.get("role")
    except (IndexError, ValueError):
        return None
    return role if isinstance(role, str) else None


def _error(code: str, message: str) -> dict[str, Any]:
    return {"code": code, "message": message, "details": None, "hint": None}


def _answer(stub: PostgrestStub, path: str, headers: dict[str, str], body: Any) -> tuple[int, Any]:
    """What PostgREST (behind Supabase's gateway) answers to this request."""
    if not path.startswith(PREFIX):
        return 404, _error("PGRST125", "Invalid path specified in request URL")
    if "apikey" not in headers:
        return 401, {"message": "No API key found in request", "hint": None}
    if stub.api_keys is not None and headers["apikey"] not in stub.api_keys:
        return 401, dict(INVALID_KEY_BODY)
    role = _role_from(headers)
    if role is None:
        return 401, _error("PGRST301", "JWSError JWSInvalidSignature")
    if not isinstance(body, dict):
        return 400, _error("PGRST102", "Invalid body: expected a JSON object of arguments")
    return stub.call(role, path[len(PREFIX) :].split("?")[0], body)


def _handler_for(stub: PostgrestStub) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # headers and body go out as separate writes

        def log_message(self, format: str, *args: Any) -> None:
            pass  # keep test output clean

        def do_POST(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            raw = self.rfile.read(length) if length else b""
            headers = {k.lower(): v for k, v in self.headers.items()}
            try:
                body = json.loads(raw) if raw else {}
            except ValueError:
                body = raw.decode(errors="replace")
            stub.requests.append(Recorded("POST", self.path, headers, body))
            fault = stub.next_fault()
            if fault is not None and fault.delay_s:
                stub.wait(fault.delay_s)
            if fault is not None and fault.status is not None:
                self._reply(fault.status, fault.body, fault.headers)
                return
            self._reply(*_answer(stub, self.path, headers, body))

        def _reply(self, status: int, body: Any, extra: dict[str, str] | None = None) -> None:
            is_html = isinstance(body, str)
            if status == 204:
                payload = b""
            else:
                payload = body.encode() if isinstance(body, str) else json.dumps(body).encode()
            try:
                self.send_response(status)
                if status != 204:
                    kind = "text/html" if is_html else "application/json"
                    self.send_header("Content-Type", f"{kind}; charset=utf-8")
                self.send_header("Content-Length", str(len(payload)))
                for name, value in (extra or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(payload)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (a timeout test)

    return Handler
