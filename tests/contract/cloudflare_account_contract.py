"""The Cloudflare account contract: one suite every ``shared.ports.CloudflareAccount`` keeps.

An adapter's test module subclasses ``CloudflareAccountContract`` and provides a ``harness``
fixture returning a ``CloudflareAccountHarness``: the API stub that stands for the account
(``tests/support/cf_api_stub.py``, where the suite seeds resources and injects failures)
and ``make``, which builds an account on it. What the suite holds every adapter to:

- lookups answer "none" for what is not there, whatever the name ("" and dot segments
  included), and never send a request outside the resource family they read;
- creates are idempotent: a second create of the same name gives back the first one;
- errors leave as tubeq errors that say what to do: a refused token names the permission
  and the settings (never the token), a 429 carries its Retry-After, a 5xx or an unreachable
  API is transient, a missing resource is a permanent rejection naming it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, Protocol

import pytest

from shared.cloudflare_types import PullConsumerSpec
from shared.errors import (
    AccessDenied,
    InvalidInput,
    RateLimited,
    TransientError,
    UpstreamRejected,
    UpstreamUnavailable,
)
from shared.ports import CloudflareAccount
from tests.support.cf_api_stub import CfApiStub

#: ids and names no resource can have; the SDK refuses some of them before sending
ODD_NAMES = ["", ".", "..", "a/b", "../r2/buckets", "%2e%2e", " "]

RULE = {
    "id": "expire-cache",
    "enabled": True,
    "conditions": {"prefix": "cache/"},
    "deleteObjectsTransition": {"condition": {"type": "Age", "maxAge": 604_800}},
}


class CloudflareAccountHarness(Protocol):
    #: the Cloudflare API the accounts talk to, with its state and its request log
    api: CfApiStub

    def make(self, *, token: str | None = None, max_retries: int = 0) -> CloudflareAccount:
        """An account on ``api`` with its token (or ``token``); ``max_retries`` are the
        client's own replays of 429/5xx (0: every error reaches the caller)."""
        ...


# one call per family of the API, with the permission a refusal must name
Call = Callable[[CloudflareAccount], Any]
FAMILIES: list[tuple[str, str, Call]] = [
    ("queues", "Queues Edit", lambda a: a.list_queues()),
    ("r2/", "Workers R2 Storage Edit", lambda a: a.bucket_exists("tubeq-artifacts")),
    ("storage/kv/", "Workers KV Storage Edit", lambda a: a.find_kv_namespace("tubeq-watch")),
]


class CloudflareAccountContract:
    """Subclass as ``Test<Adapter>`` and provide a ``harness`` fixture."""

    @pytest.fixture
    def account(self, harness: CloudflareAccountHarness) -> Iterator[CloudflareAccount]:
        built = harness.make()
        yield built
        built.close()

    @pytest.fixture
    def api(self, harness: CloudflareAccountHarness) -> CfApiStub:
        return harness.api

    def test_implements_the_port(self, account: CloudflareAccount, api: CfApiStub) -> None:
        assert isinstance(account, CloudflareAccount)
        assert account.account_id == api.account_id

    # ---- queues ---------------------------------------------------------------------------

    def test_queues_are_listed_and_found_by_id(
        self, account: CloudflareAccount, api: CfApiStub
    ) -> None:
        assert account.list_queues() == []
        jobs = api.add_queue("tubeq-jobs")
        api.add_queue("tubeq-jobs-dlq")
        assert sorted(q.name for q in account.list_queues()) == ["tubeq-jobs", "tubeq-jobs-dlq"]
        found = account.get_queue(jobs)
        assert found is not None and (found.id, found.name) == (jobs, "tubeq-jobs")

    def test_an_unknown_queue_id_is_none(self, account: CloudflareAccount, api: CfApiStub) -> None:
        api.add_queue("tubeq-jobs")
        assert account.get_queue("f" * 32) is None

    @pytest.mark.parametrize("odd", ODD_NAMES)
    def test_an_odd_queue_id_finds_nothing_and_reads_nothing_else(
        self, account: CloudflareAccount, api: CfApiStub, odd: str
    ) -> None:
        api.add_queue("tubeq-jobs")
        assert account.get_queue(odd) is None
        queues = f"/client/v4/accounts/{api.account_id}/queues/"
        # "../r2/buckets" must not climb out of the queues into another resource
        assert all(r.path.startswith(queues) and r.method == "GET" for r in api.requests)

    def test_creating_a_queue_twice_gives_the_first_one(
        self, account: CloudflareAccount, api: CfApiStub
    ) -> None:
        first = account.create_queue("tubeq-jobs")
        assert first.id and first.name == "tubeq-jobs"
        assert account.get_queue(first.id) == first
        # a setup that ran twice, or a create replayed after a lost reply
        assert account.create_queue("tubeq-jobs") == first
        assert [q.name for q in api.queues.values()] == ["tubeq-jobs"]

    # ---- consumers ------------------------------------------------------------------------

    def test_a_pull_consumer_is_created_listed_and_replaced(
        self, account: CloudflareAccount, api: CfApiStub
    ) -> None:
        jobs = api.add_queue("tubeq-jobs")
        api.add_queue("tubeq-jobs-dlq")
        assert account.list_consumers(jobs) == []
        spec = PullConsumerSpec(
            max_retries=5, visibility_timeout_ms=600_000, dead_letter_queue="tubeq-jobs-dlq"
        )
        made = account.create_pull_consumer(jobs, spec)
        assert made.id and made.type == "http_pull"
        assert made.dead_letter_queue == "tubeq-jobs-dlq"
        assert made.settings["max_retries"] == 5
        assert account.list_consumers(jobs) == [made]
        changed = account.update_pull_consumer(
            jobs,
            made.id,
            PullConsumerSpec(
                max_retries=2, visibility_timeout_ms=600_000, dead_letter_queue="tubeq-jobs-dlq"
            ),
        )
        assert changed.id == made.id and changed.settings["max_retries"] == 2
        assert account.list_consumers(jobs) == [changed]

    def test_the_consumers_of_a_missing_queue_are_a_rejection_naming_it(
        self, account: CloudflareAccount
    ) -> None:
        with pytest.raises(UpstreamRejected) as info:
            account.list_consumers("e" * 32)
        assert "e" * 32 in str(info.value) and "404" in str(info.value)

    @pytest.mark.parametrize("odd", ["", ".", ".."])
    def test_a_call_on_an_unaddressable_queue_is_invalid_input(
        self, account: CloudflareAccount, api: CfApiStub, odd: str
    ) -> None:
        # not the SDK's bare ValueError: a tubeq error the CLI reports as the user's input
        with pytest.raises(InvalidInput, match="queue id"):
            account.list_consumers(odd)
        with pytest.raises(InvalidInput, match="queue id"):
            account.create_pull_consumer(odd, PullConsumerSpec(3, 30_000))
        assert api.requests == []

    # ---- R2 -------------------------------------------------------------------------------

    def test_a_bucket_is_found_once_created_and_created_once(
        self, account: CloudflareAccount, api: CfApiStub
    ) -> None:
        assert account.bucket_exists("tubeq-artifacts") is False
        account.create_bucket("tubeq-artifacts")
        assert account.bucket_exists("tubeq-artifacts") is True
        account.create_bucket("tubeq-artifacts")  # a second run: no error, no second bucket
        assert list(api.buckets) == ["tubeq-artifacts"]
        assert account.bucket_exists("tubeq-other") is False

    @pytest.mark.parametrize("odd", ODD_NAMES)
    def test_an_odd_bucket_name_does_not_exist(
        self, account: CloudflareAccount, api: CfApiStub, odd: str
    ) -> None:
        api.buckets["tubeq-artifacts"] = []
        assert account.bucket_exists(odd) is False
        buckets = f"/client/v4/accounts/{api.account_id}/r2/buckets/"
        assert all(r.path.startswith(buckets) and r.method == "GET" for r in api.requests)

    def test_lifecycle_rules_round_trip_in_wire_form(
        self, account: CloudflareAccount, api: CfApiStub
    ) -> None:
        api.buckets["tubeq-artifacts"] = []
        assert account.lifecycle_rules("tubeq-artifacts") == []
        account.put_lifecycle_rules("tubeq-artifacts", [RULE])
        (got,) = account.lifecycle_rules("tubeq-artifacts")
        assert {k: got[k] for k in RULE} == RULE

    def test_the_rules_of_a_missing_bucket_are_a_rejection_naming_it(
        self, account: CloudflareAccount
    ) -> None:
        with pytest.raises(UpstreamRejected) as info:
            account.lifecycle_rules("tubeq-nowhere")
        assert "tubeq-nowhere" in str(info.value) and "404" in str(info.value)
        with pytest.raises(InvalidInput, match="bucket"):
            account.lifecycle_rules("..")

    # ---- KV -------------------------------------------------------------------------------

    @pytest.mark.parametrize("title", ["tubeq-watch", "", "..", "tubeq-watch "])
    def test_a_namespace_not_there_is_none(
        self, account: CloudflareAccount, api: CfApiStub, title: str
    ) -> None:
        api.namespaces["a" * 32] = "other"
        if title != "tubeq-watch":
            api.namespaces["b" * 32] = "tubeq-watch"  # titles match exactly, not stripped
        assert account.find_kv_namespace(title) is None

    def test_creating_a_namespace_twice_gives_the_first_id(
        self, account: CloudflareAccount, api: CfApiStub
    ) -> None:
        first = account.create_kv_namespace("tubeq-watch")
        assert account.find_kv_namespace("tubeq-watch") == first
        assert account.create_kv_namespace("tubeq-watch") == first
        assert api.namespaces == {first: "tubeq-watch"}

    # ---- errors ---------------------------------------------------------------------------

    @pytest.mark.parametrize(("prefix", "permission", "call"), FAMILIES)
    def test_a_token_without_a_permission_is_told_which(
        self, account: CloudflareAccount, api: CfApiStub, prefix: str, permission: str, call: Call
    ) -> None:
        api.deny(prefix)
        with pytest.raises(AccessDenied) as info:
            call(account)
        message = str(info.value)
        assert permission in message and "TUBEQ_CF_API_TOKEN" in message
        assert "403" in message
        assert api.token not in message

    def test_a_wrong_token_is_denied_without_being_shown(
        self, harness: CloudflareAccountHarness
    ) -> None:
        wrong = "not-the-token-" + "x" * 20
        account = harness.make(token=wrong)
        try:
            with pytest.raises(AccessDenied) as info:
                account.list_queues()
        finally:
            account.close()
        assert "TUBEQ_CF_API_TOKEN" in str(info.value) and "TUBEQ_CF_ACCOUNT_ID" in str(info.value)
        assert wrong not in str(info.value) and harness.api.token not in str(info.value)

    @pytest.mark.parametrize(("prefix", "permission", "call"), FAMILIES)
    def test_a_rate_limit_carries_its_retry_after(
        self, account: CloudflareAccount, api: CfApiStub, prefix: str, permission: str, call: Call
    ) -> None:
        api.fail(429, 971, "Please wait and consider throttling your request speed",
                 prefix=prefix, headers={"Retry-After": "37"})  # fmt: skip
        with pytest.raises(RateLimited) as info:
            call(account)
        assert info.value.retry_after == 37
        assert "37 s" in str(info.value)  # the message says when, not only that

    def test_a_rate_limit_without_retry_after_says_so(
        self, account: CloudflareAccount, api: CfApiStub
    ) -> None:
        api.fail(429, 971, "Too many requests", prefix="queues")
        with pytest.raises(RateLimited) as info:
            account.list_queues()
        assert info.value.retry_after is None
        assert "try again" in str(info.value)

    def test_a_rate_limit_that_clears_is_replayed_by_the_client(
        self, harness: CloudflareAccountHarness
    ) -> None:
        harness.api.add_queue("tubeq-jobs")
        harness.api.fail(429, 971, "Too many requests", prefix="queues",
                         headers={"Retry-After": "0"})  # fmt: skip
        account = harness.make(max_retries=1)
        try:
            assert [q.name for q in account.list_queues()] == ["tubeq-jobs"]
        finally:
            account.close()
        assert len(harness.api.requests) == 2

    def test_a_server_error_is_transient_and_names_the_call(
        self, account: CloudflareAccount, api: CfApiStub
    ) -> None:
        api.fail(503, 10013, "Service temporarily unavailable", prefix="r2/")
        with pytest.raises(UpstreamUnavailable) as info:
            account.create_bucket("tubeq-artifacts")
        assert "503" in str(info.value) and "tubeq-artifacts" in str(info.value)
        assert isinstance(info.value, TransientError)

    def test_an_unreachable_api_is_transient(
        self, account: CloudflareAccount, api: CfApiStub
    ) -> None:
        api.stop()
        with pytest.raises(UpstreamUnavailable, match="Cloudflare"):
            account.list_queues()

    def test_a_refused_create_says_what_cloudflare_said(
        self, account: CloudflareAccount, api: CfApiStub
    ) -> None:
        api.fail(400, 11007, "queue name must be at most 63 characters", prefix="queues")
        with pytest.raises(UpstreamRejected) as info:
            account.create_queue("q" * 64)
        assert "11007" in str(info.value) and "at most 63 characters" in str(info.value)
