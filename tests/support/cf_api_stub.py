"""A local stand-in for the Cloudflare API v4 account calls `tubeq cloudflare setup` and
`tubeq doctor` make: queues, queue consumers, R2 buckets and their lifecycle, KV namespaces.

Follows Cloudflare's API v4 reference (developers.cloudflare.com/api, the Queues, R2 and
Workers KV sections, as of 2026) and the request shapes of the official Python SDK 5.x
(``cloudflare/resources/queues/*.py``, ``r2/buckets/*.py``, ``kv/namespaces/*.py``):

- every reply is the v4 envelope ``{"success", "errors": [{"code", "message"}], "messages",
  "result"}``, list replies add ``result_info``;
- ``GET|POST /accounts/{a}/queues``, ``GET /accounts/{a}/queues/{id}`` (404 code 10104
  QueueNotFound), a taken name is 409 code 11009;
- ``GET|POST /accounts/{a}/queues/{id}/consumers``, ``PUT …/consumers/{consumer_id}``
  (replaces the configuration); a queue takes one Worker consumer *or* HTTP pull
  consumers, never both (400);
- ``GET|POST /accounts/{a}/r2/buckets``, ``GET /accounts/{a}/r2/buckets/{name}`` (404 code
  10006 NoSuchBucket), ``GET|PUT …/{name}/lifecycle`` (``{"rules": [...]}``, camelCase);
- ``GET|POST /accounts/{a}/storage/kv/namespaces`` (``page``/``per_page``, a taken title is
  400 code 10014).

It checks the ``Authorization: Bearer`` token (missing → 401, wrong → 403, code 10000
"Authentication error"), keeps state, and records every request (method, path, query, JSON
body) so tests can assert the exact calls. ``deny`` makes a path prefix answer 403, like a
token without that permission; ``fail`` makes the next requests to a path prefix answer an
error of the test's choosing (a 429 with ``Retry-After``, a 5xx), before the token is even
looked at, as Cloudflare's edge does. What only production can check: Cloudflare's exact wording,
the fields it adds to its replies, and pagination beyond one page of queues.
"""

from __future__ import annotations

import json
import re
import secrets
import threading
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.support.cf_queues_stub import _fail, _handler
from tests.support.loopback import LoopbackServer

CREATED_ON = "2026-01-01T00:00:00.000000Z"


@dataclass
class ApiRequest:
    method: str
    path: str
    query: dict[str, str]
    body: Any

    @property
    def mutating(self) -> bool:
        return self.method in ("POST", "PUT", "PATCH", "DELETE")


@dataclass
class _Queue:
    id: str
    name: str
    consumers: list[dict[str, Any]] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "queue_id": self.id,
            "queue_name": self.name,
            "created_on": CREATED_ON,
            "modified_on": CREATED_ON,
            "producers": [],
            "producers_total_count": 0,
            "consumers": self.consumers,
            "consumers_total_count": len(self.consumers),
            "settings": {"delivery_delay": 0, "message_retention_period": 345_600},
        }


class _Failure(Exception):
    def __init__(self, status: int, code: int, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


@dataclass
class InjectedFailure:
    """The next ``times`` requests whose path (after the account) starts with ``prefix``
    answer ``status`` with this envelope error and these headers."""

    status: int
    code: int
    message: str
    prefix: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    times: int = 1


class CfApiStub:
    """Cloudflare's account API for queues, consumers, R2 buckets and KV, on 127.0.0.1."""

    def __init__(self, *, account_id: str = "0123456789abcdef0123456789abcdef") -> None:
        self.account_id = account_id
        self.token = "stub-" + secrets.token_urlsafe(16)
        self.queues: dict[str, _Queue] = {}
        self.buckets: dict[str, list[dict[str, Any]]] = {}  # name → lifecycle rules
        self.namespaces: dict[str, str] = {}  # id → title
        self.requests: list[ApiRequest] = []
        #: path prefixes (after the account) that answer 403, e.g. "r2/"
        self.denied: list[str] = []
        self.failures: list[InjectedFailure] = []
        self._lock = threading.Lock()
        self._http: LoopbackServer | None = None

    # ---- control ------------------------------------------------------------------------
    def add_queue(self, name: str, *, queue_id: str | None = None) -> str:
        queue = _Queue(queue_id or secrets.token_hex(16), name)
        with self._lock:
            self.queues[queue.id] = queue
        return queue.id

    def add_consumer(self, queue_id: str, **consumer: Any) -> str:
        consumer_id = secrets.token_hex(16)
        with self._lock:
            queue = self.queues[queue_id]
            queue.consumers.append(
                {"consumer_id": consumer_id, "queue_name": queue.name, **consumer}
            )
        return consumer_id

    def queue_named(self, name: str) -> _Queue:
        return next(q for q in self.queues.values() if q.name == name)

    def deny(self, prefix: str) -> None:
        self.denied.append(prefix)

    def fail(
        self,
        status: int,
        code: int,
        message: str,
        *,
        prefix: str = "",
        headers: dict[str, str] | None = None,
        times: int = 1,
    ) -> None:
        with self._lock:
            self.failures.append(
                InjectedFailure(status, code, message, prefix, dict(headers or {}), times)
            )

    def _injected(self, rest: str) -> InjectedFailure | None:
        with self._lock:
            for failure in self.failures:
                if failure.times > 0 and rest.startswith(failure.prefix):
                    failure.times -= 1
                    return failure
        return None

    def mutations(self) -> list[ApiRequest]:
        return [r for r in self.requests if r.mutating]

    def clear(self) -> None:
        self.requests.clear()

    @property
    def url(self) -> str:
        assert self._http is not None, "start() the stub first"
        return self._http.origin + "/client/v4"

    def start(self) -> CfApiStub:
        self._http = LoopbackServer(_handler(self)).start()
        return self

    def stop(self) -> None:
        if self._http is not None:
            self._http.stop()
            self._http = None

    def __enter__(self) -> CfApiStub:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ---- the API ------------------------------------------------------------------------
    def handle(
        self, method: str, target: str, headers: dict[str, str], raw: bytes
    ) -> tuple[int, dict[str, str], dict[str, Any]]:
        split = urlsplit(target)
        query = {k: v[-1] for k, v in parse_qs(split.query).items()}
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            return 400, {}, _fail(10208, "Request body is not valid JSON")
        with self._lock:
            self.requests.append(ApiRequest(method, split.path, query, body))
        account_prefix = f"/client/v4/accounts/{self.account_id}/"
        injected = self._injected(split.path.removeprefix(account_prefix))
        if injected is not None:
            return injected.status, injected.headers, _fail(injected.code, injected.message)
        auth = headers.get("authorization")
        if not auth:
            return 401, {}, _fail(10000, "Authentication error")
        if auth != f"Bearer {self.token}":
            return 403, {}, _fail(10000, "Authentication error")
        if not split.path.startswith(account_prefix):
            return 404, {}, _fail(7003, "Could not route to " + split.path)
        rest = split.path[len(account_prefix) :]
        if any(rest.startswith(d) for d in self.denied):
            return 403, {}, _fail(10000, "Authentication error")
        try:
            with self._lock:
                result, info = self._route(method, rest, query, body)
        except _Failure as err:
            return err.status, {}, _fail(err.code, err.message)
        envelope: dict[str, Any] = {"success": True, "errors": [], "messages": [], "result": result}
        if info is not None:
            envelope["result_info"] = info
        return 200, {}, envelope

    def _route(
        self, method: str, rest: str, query: dict[str, str], body: Any
    ) -> tuple[Any, dict[str, Any] | None]:
        for pattern, handler in _ROUTES:
            match = re.fullmatch(pattern, rest)
            if match is not None:
                answer: tuple[Any, dict[str, Any] | None] = handler(
                    self, method, query, body, *match.groups()
                )
                return answer
        raise _Failure(404, 7003, "No route for the URI")

    # ---- queues -------------------------------------------------------------------------
    def _queues(self, method: str, query: dict[str, str], body: Any) -> tuple[Any, Any]:
        if method == "GET":
            items = [q.as_json() for q in self.queues.values()]
            return items, _page_info(len(items), 1, len(items) or 20)
        _need(method, "POST")
        name = _field(body, "queue_name")
        if any(q.name == name for q in self.queues.values()):
            raise _Failure(409, 11009, f"Queue name '{name}' is already taken")
        queue = _Queue(secrets.token_hex(16), name)
        self.queues[queue.id] = queue
        return queue.as_json(), None

    def _queue(self, method: str, query: dict[str, str], body: Any, qid: str) -> tuple[Any, Any]:
        _need(method, "GET")
        return self._find_queue(qid).as_json(), None

    def _consumers(
        self, method: str, query: dict[str, str], body: Any, qid: str
    ) -> tuple[Any, Any]:
        queue = self._find_queue(qid)
        if method == "GET":
            return list(queue.consumers), _page_info(len(queue.consumers), 1, 20)
        _need(method, "POST")
        _consumer_kind(body)
        if queue.consumers:  # one consumer per queue: a Worker or an HTTP pull consumer
            raise _Failure(400, 11004, f"queue {queue.name} already has a consumer")
        made = {"consumer_id": secrets.token_hex(16), **self._consumer_json(queue, body)}
        queue.consumers.append(made)
        return made, None

    def _consumer(
        self, method: str, query: dict[str, str], body: Any, qid: str, cid: str
    ) -> tuple[Any, Any]:
        _need(method, "PUT")
        queue = self._find_queue(qid)
        for i, current in enumerate(queue.consumers):
            if current["consumer_id"] == cid:
                _consumer_kind(body)
                queue.consumers[i] = {"consumer_id": cid, **self._consumer_json(queue, body)}
                return queue.consumers[i], None
        raise _Failure(404, 11003, f"consumer {cid} not found")

    def _consumer_json(self, queue: _Queue, body: dict[str, Any]) -> dict[str, Any]:
        dlq = body.get("dead_letter_queue", "")
        if dlq and not any(q.name == dlq for q in self.queues.values()):
            raise _Failure(400, 11005, f"dead letter queue '{dlq}' does not exist")
        out: dict[str, Any] = {
            "type": body["type"],
            "queue_name": queue.name,
            "created_on": CREATED_ON,
            "dead_letter_queue": dlq,
            "settings": dict(body.get("settings") or {}),
        }
        if body["type"] == "worker":
            out["script_name"] = _field(body, "script_name")
        return out

    def _find_queue(self, qid: str) -> _Queue:
        queue = self.queues.get(qid)
        if queue is None:
            raise _Failure(404, 10104, "Queue does not exist")
        return queue

    # ---- R2 -----------------------------------------------------------------------------
    def _buckets(self, method: str, query: dict[str, str], body: Any) -> tuple[Any, Any]:
        if method == "GET":
            return {"buckets": [_bucket(n) for n in sorted(self.buckets)]}, None
        _need(method, "POST")
        name = _field(body, "name")
        if name in self.buckets:
            raise _Failure(409, 10004, "The bucket you tried to create already exists")
        self.buckets[name] = []
        return _bucket(name), None

    def _bucket(self, method: str, query: dict[str, str], body: Any, name: str) -> tuple[Any, Any]:
        _need(method, "GET")
        self._find_bucket(name)
        return _bucket(name), None

    def _lifecycle(
        self, method: str, query: dict[str, str], body: Any, name: str
    ) -> tuple[Any, Any]:
        self._find_bucket(name)
        if method == "GET":
            return {"rules": self.buckets[name]}, None
        _need(method, "PUT")
        rules = body.get("rules") if isinstance(body, dict) else None
        if not isinstance(rules, list) or not all(_valid_rule(r) for r in rules):
            raise _Failure(400, 10040, "The lifecycle rules are malformed")
        self.buckets[name] = rules
        return {}, None

    def _find_bucket(self, name: str) -> None:
        if name not in self.buckets:
            raise _Failure(404, 10006, "The specified bucket does not exist.")

    # ---- KV -----------------------------------------------------------------------------
    def _namespaces(self, method: str, query: dict[str, str], body: Any) -> tuple[Any, Any]:
        if method == "GET":
            page, per_page = int(query.get("page", 1)), int(query.get("per_page", 20))
            items = [{"id": i, "title": t} for i, t in self.namespaces.items()]
            chunk = items[(page - 1) * per_page : page * per_page]
            return [dict(n, supports_url_encoding=True) for n in chunk], _page_info(
                len(items), page, per_page, count=len(chunk)
            )
        _need(method, "POST")
        title = _field(body, "title")
        if title in self.namespaces.values():
            raise _Failure(400, 10014, "a namespace with this account ID and title exists")
        ns_id = secrets.token_hex(16)
        self.namespaces[ns_id] = title
        return {"id": ns_id, "title": title, "supports_url_encoding": True}, None


_ROUTES: tuple[tuple[str, Any], ...] = (
    (r"queues", CfApiStub._queues),
    (r"queues/([^/]+)", CfApiStub._queue),
    (r"queues/([^/]+)/consumers", CfApiStub._consumers),
    (r"queues/([^/]+)/consumers/([^/]+)", CfApiStub._consumer),
    (r"r2/buckets", CfApiStub._buckets),
    (r"r2/buckets/([^/]+)", CfApiStub._bucket),
    (r"r2/buckets/([^/]+)/lifecycle", CfApiStub._lifecycle),
    (r"storage/kv/namespaces", CfApiStub._namespaces),
)


def _need(method: str, allowed: str) -> None:
    if method != allowed:
        raise _Failure(405, 10000, f"method {method} not allowed here")


def _field(body: Any, name: str) -> str:
    value = body.get(name) if isinstance(body, dict) else None
    if not isinstance(value, str) or not value:
        raise _Failure(400, 10207, f"{name} is required")
    return value


def _consumer_kind(body: Any) -> str:
    kind = body.get("type") if isinstance(body, dict) else None
    if kind not in ("worker", "http_pull"):
        raise _Failure(400, 10207, "type must be worker or http_pull")
    settings = body.get("settings") or {}
    if not isinstance(settings, dict) or not all(
        isinstance(v, int | float) for v in settings.values()
    ):
        raise _Failure(400, 10207, "settings must be an object of numbers")
    if not 0 <= settings.get("max_retries", 3) <= 100:
        raise _Failure(400, 10207, "max_retries must be 0..100")
    return str(kind)


def _valid_rule(rule: Any) -> bool:
    return (
        isinstance(rule, dict)
        and isinstance(rule.get("id"), str)
        and isinstance(rule.get("enabled"), bool)
        and isinstance((rule.get("conditions") or {}).get("prefix"), str)
    )


def _bucket(name: str) -> dict[str, Any]:
    return {"name": name, "creation_date": CREATED_ON, "location": "enam"}


def _page_info(total: int, page: int, per_page: int, *, count: int | None = None) -> dict[str, Any]:
    return {
        "page": page,
        "per_page": per_page,
        "count": total if count is None else count,
        "total_count": total,
        "total_pages": max(1, -(-total // per_page)) if per_page else 1,
    }
