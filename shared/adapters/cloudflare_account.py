"""The Cloudflare account's resources tubeq needs, through the official ``cloudflare`` SDK.

Provisioning (``tubeq cloudflare setup``) and the read-only checks of ``tubeq doctor`` go
through here: queues and their consumers, the R2 bucket and its lifecycle rules, the KV
namespace. Unlike the hot path (``CloudflareQueue``, plain httpx, exact replay control),
these calls are rare, idempotent reads and creates, so the SDK's typed methods and its
retries of 429/5xx are welcome.

Every SDK error leaves this module as a tubeq error that says what to do: a refused token
is ``AccessDenied`` naming the permission the call needs, a 429/5xx/timeout is transient,
anything else is ``UpstreamRejected`` with Cloudflare's own code and message. The token is
never put in a message or a log line.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Self

import cloudflare
from pydantic import SecretStr

from shared.adapter_settings import CloudflareAccountSettings
from shared.classify.http import parse_retry_after
from shared.cloudflare_types import ConsumerInfo, PullConsumerSpec, QueueInfo
from shared.errors import (
    AccessDenied,
    ConfigError,
    InvalidInput,
    RateLimited,
    TubeqError,
    UpstreamRejected,
    UpstreamUnavailable,
)

#: the token permissions each family of calls needs, named as the dashboard names them
QUEUES_EDIT = "Queues Edit"
R2_EDIT = "Workers R2 Storage Edit"
KV_EDIT = "Workers KV Storage Edit"

#: Cloudflare's envelope codes for a refused or unusable credential (whatever the status):
#: 1000 invalid token, 9106/9107 missing or bad auth headers, 9109 unauthorized, 10000
#: "Authentication error", 10106 Queues' "Unauthorized"
_AUTH_CODES = frozenset({1000, 9106, 9107, 9109, 10000, 10106})


class CloudflareAccount:
    """One Cloudflare account, read and provisioned through the SDK."""

    def __init__(
        self,
        *,
        account_id: str,
        api_token: SecretStr,
        api_url: str = "https://api.cloudflare.com/client/v4",
        timeout_s: float = 30.0,
        max_retries: int = 2,
    ) -> None:
        if not account_id or "/" in account_id:
            raise ConfigError(f"TUBEQ_CF_ACCOUNT_ID must be a Cloudflare id, got {account_id!r}")
        if not api_token.get_secret_value():
            raise ConfigError(
                "TUBEQ_CF_API_TOKEN is empty: create an API token with Queues Edit, "
                "Workers R2 Storage Edit and Workers KV Storage Edit"
            )
        self.account_id = account_id
        self._client = cloudflare.Cloudflare(
            api_token=api_token.get_secret_value(),
            base_url=api_url,
            timeout=timeout_s,
            max_retries=max_retries,
        )
        # The SDK falls back to CLOUDFLARE_API_KEY / CLOUDFLARE_EMAIL from the environment
        # and prefers them over the token: a stray global key would silently act instead of
        # the token tubeq was given. Only TUBEQ_CF_API_TOKEN may authenticate.
        self._client.api_key = None
        self._client.api_email = None
        self._client.user_service_key = None

    @classmethod
    def from_settings(cls, section: CloudflareAccountSettings, *, max_retries: int = 2) -> Self:
        """``max_retries``: the SDK's own replays of 429/5xx/timeouts (setup's calls are
        idempotent reads and creates that tolerate a replay; doctor wants none)."""
        missing = [
            name
            for name, value in (
                ("TUBEQ_CF_ACCOUNT_ID", section.account_id),
                ("TUBEQ_CF_API_TOKEN", section.api_token),
            )
            if not value
        ]
        if missing or section.api_token is None:
            raise ConfigError(
                "Cloudflare needs " + " and ".join(missing) + " (the account id is on the "
                "dashboard's overview; the token needs Queues Edit, Workers R2 Storage Edit "
                "and Workers KV Storage Edit)"
            )
        return cls(
            account_id=section.account_id or "",
            api_token=section.api_token,
            api_url=section.api_url,
            timeout_s=section.timeout_s,
            max_retries=max_retries,
        )

    def close(self) -> None:
        self._client.close()

    # ---- queues -------------------------------------------------------------------------

    def list_queues(self) -> list[QueueInfo]:
        with _mapped("list queues", QUEUES_EDIT):
            page = self._client.queues.list(account_id=self.account_id)
            return [QueueInfo(q.queue_id or "", q.queue_name or "") for q in page]

    def find_queue(self, name: str) -> QueueInfo | None:
        return next((q for q in self.list_queues() if q.name == name), None)

    def get_queue(self, queue_id: str) -> QueueInfo | None:
        """The queue with this id, or None when Cloudflare has none."""
        if _unaddressable(queue_id):
            return None  # no queue has such an id, and the SDK would raise a bare ValueError
        try:
            with _mapped(f"read queue {queue_id}", QUEUES_EDIT):
                queue = self._client.queues.get(queue_id, account_id=self.account_id)
        except CloudflareNotFound:
            return None
        if queue is None:
            return None
        return QueueInfo(queue.queue_id or queue_id, queue.queue_name or "")

    def create_queue(self, name: str) -> QueueInfo:
        try:
            with _mapped(f"create queue {name}", QUEUES_EDIT):
                queue = self._client.queues.create(account_id=self.account_id, queue_name=name)
        except CloudflareConflict:
            # a create the SDK replayed after a lost reply, or a concurrent setup: it exists
            found = self.find_queue(name)
            if found is None:
                raise
            return found
        if queue is None or not queue.queue_id:
            raise UpstreamUnavailable(f"Cloudflare created queue {name} but sent no id back")
        return QueueInfo(queue.queue_id, queue.queue_name or name)

    def list_consumers(self, queue_id: str) -> list[ConsumerInfo]:
        _addressable(queue_id, "queue id")
        with _mapped(f"list the consumers of queue {queue_id}", QUEUES_EDIT):
            page = self._client.queues.consumers.list(queue_id, account_id=self.account_id)
            return [_consumer(c) for c in page]

    def create_pull_consumer(self, queue_id: str, spec: PullConsumerSpec) -> ConsumerInfo:
        _addressable(queue_id, "queue id")
        with _mapped(f"add an HTTP pull consumer to queue {queue_id}", QUEUES_EDIT):
            made = self._client.queues.consumers.create(
                queue_id, account_id=self.account_id, type="http_pull", **_consumer_body(spec)
            )
        return _consumer(made)

    def update_pull_consumer(
        self, queue_id: str, consumer_id: str, spec: PullConsumerSpec
    ) -> ConsumerInfo:
        """Replace the consumer's configuration (Cloudflare's PUT is not a partial update)."""
        _addressable(queue_id, "queue id")
        _addressable(consumer_id, "consumer id")
        with _mapped(f"update consumer {consumer_id} of queue {queue_id}", QUEUES_EDIT):
            made = self._client.queues.consumers.update(
                consumer_id,
                account_id=self.account_id,
                queue_id=queue_id,
                type="http_pull",
                **_consumer_body(spec),
            )
        return _consumer(made)

    # ---- R2 -----------------------------------------------------------------------------

    def bucket_exists(self, name: str) -> bool:
        if _unaddressable(name):
            return False  # no bucket has such a name, and the SDK would raise a ValueError
        try:
            with _mapped(f"read R2 bucket {name}", R2_EDIT):
                self._client.r2.buckets.get(name, account_id=self.account_id)
        except CloudflareNotFound:
            return False
        return True

    def create_bucket(self, name: str) -> None:
        try:
            with _mapped(f"create R2 bucket {name}", R2_EDIT):
                self._client.r2.buckets.create(account_id=self.account_id, name=name)
        except CloudflareConflict:
            pass  # ours already (a replayed create); R2 names are per account

    def lifecycle_rules(self, bucket: str) -> list[dict[str, Any]]:
        """The bucket's rules in Cloudflare's wire form (camelCase, unknown fields kept), so
        they can be sent back untouched next to ours."""
        _addressable(bucket, "R2 bucket name")
        with _mapped(f"read the lifecycle rules of R2 bucket {bucket}", R2_EDIT):
            got = self._client.r2.buckets.lifecycle.get(bucket, account_id=self.account_id)
        return [rule.to_dict(mode="json") for rule in got.rules or []]

    def put_lifecycle_rules(self, bucket: str, rules: list[dict[str, Any]]) -> None:
        """Replace the bucket's rules (the API has no per-rule call: merge before)."""
        _addressable(bucket, "R2 bucket name")
        with _mapped(f"update the lifecycle rules of R2 bucket {bucket}", R2_EDIT):
            self._client.r2.buckets.lifecycle.update(
                bucket,
                account_id=self.account_id,
                rules=rules,  # type: ignore[arg-type]  # wire-form dicts, sent as they are
            )

    # ---- KV -----------------------------------------------------------------------------

    def find_kv_namespace(self, title: str) -> str | None:
        """The id of the namespace with this title, or None."""
        with _mapped("list KV namespaces", KV_EDIT):
            for ns in self._client.kv.namespaces.list(account_id=self.account_id, per_page=100):
                if ns.title == title:
                    return ns.id
        return None

    def create_kv_namespace(self, title: str) -> str:
        try:
            with _mapped(f"create KV namespace {title}", KV_EDIT):
                ns = self._client.kv.namespaces.create(account_id=self.account_id, title=title)
        except UpstreamRejected:
            # KV answers a taken title with 400 (code 10014), not 409: look before failing
            found = self.find_kv_namespace(title)
            if found is None:
                raise
            return found
        if ns is None or not ns.id:
            raise UpstreamUnavailable(f"Cloudflare created KV namespace {title} but sent no id")
        return ns.id


# ---- SDK objects → ours ------------------------------------------------------------------


def _consumer(raw: Any) -> ConsumerInfo:
    if raw is None:
        raise UpstreamUnavailable("Cloudflare answered a consumer call without the consumer")
    settings = raw.settings.to_dict(mode="json") if raw.settings is not None else {}
    return ConsumerInfo(
        id=raw.consumer_id or "",
        type="worker" if raw.type == "worker" else "http_pull",
        script_name=getattr(raw, "script_name", None),
        dead_letter_queue=raw.dead_letter_queue or "",
        settings={k: float(v) for k, v in settings.items() if isinstance(v, int | float)},
    )


def _consumer_body(spec: PullConsumerSpec) -> dict[str, Any]:
    body: dict[str, Any] = {"settings": spec.settings()}
    if spec.dead_letter_queue:
        body["dead_letter_queue"] = spec.dead_letter_queue
    return body


# ---- errors ------------------------------------------------------------------------------


def _unaddressable(segment: str) -> bool:
    """An id or name that cannot be a path segment: the SDK refuses "" and dot segments with
    a bare ``ValueError`` before sending anything (other characters it percent-encodes)."""
    return segment in ("", ".", "..")


def _addressable(segment: str, what: str) -> None:
    if _unaddressable(segment):
        raise InvalidInput(f"{segment!r} is not a Cloudflare {what}")


class CloudflareNotFound(UpstreamRejected):
    """Cloudflare has no such resource (HTTP 404); lookups turn it into None."""

    code = "not_found"


class CloudflareConflict(UpstreamRejected):
    """The resource already exists (HTTP 409): a create that raced, or was replayed."""

    code = "conflict"


def codes(exc: cloudflare.APIError) -> list[int]:
    return [e.code for e in exc.errors if e.code is not None]


def _describe(exc: cloudflare.APIError) -> str:
    parts = [f"[{e.code}] {e.message}" for e in exc.errors if e.message]
    return "; ".join(parts)[:300] or exc.message[:300]


@contextmanager
def _mapped(what: str, permission: str) -> Iterator[None]:
    """Turn an SDK error raised while doing ``what`` into a tubeq error that says what to do;
    404 and 409 get their own classes, for lookups and creates to catch."""
    try:
        yield
    except cloudflare.APIStatusError as exc:
        raise _map_status(exc, what, permission) from None
    except cloudflare.APITimeoutError:
        raise UpstreamUnavailable(f"Cloudflare did not answer in time to {what}") from None
    except cloudflare.APIConnectionError as exc:
        raise UpstreamUnavailable(f"cannot reach the Cloudflare API to {what}: {exc}") from None
    except cloudflare.APIResponseValidationError:
        raise UpstreamUnavailable(f"Cloudflare sent an unexpected reply to {what}") from None


def _map_status(exc: cloudflare.APIStatusError, what: str, permission: str) -> TubeqError:
    status, reason = exc.status_code, _describe(exc)
    if status in (401, 403) or _AUTH_CODES.intersection(codes(exc)):
        return AccessDenied(
            f"Cloudflare refused the API token to {what} (HTTP {status}: {reason}); check "
            f"TUBEQ_CF_API_TOKEN and TUBEQ_CF_ACCOUNT_ID: the token needs {permission} on "
            "this account"
        )
    if status == 404:
        return CloudflareNotFound(f"Cloudflare has nothing to {what} (HTTP 404: {reason})")
    if status == 409:
        return CloudflareConflict(f"Cloudflare refused to {what}: it exists (HTTP 409: {reason})")
    if status == 429:
        # the SDK's own replays (max_retries) already waited; what is left is the caller's
        retry_after = parse_retry_after(exc.response.headers.get("retry-after"))
        when = f"in {retry_after:g} s" if retry_after is not None else "in a minute"
        return RateLimited(
            f"Cloudflare rate-limited the call to {what}; try again {when}",
            retry_after=retry_after,
        )
    if status >= 500:
        return UpstreamUnavailable(f"Cloudflare failed to {what} (HTTP {status}: {reason})")
    return UpstreamRejected(f"Cloudflare refused to {what} (HTTP {status}: {reason})")
