"""SupabaseResultStore (supabase-py) against the PostgREST stub on a real PostgreSQL:
the requests it sends, and how PostgREST's and Supabase's gateway's errors (which may have
no error code: then only the HTTP status tells) and timeouts are classified."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from pydantic import SecretStr

from shared.adapters.supabase_results import SupabaseResultStore
from shared.errors import (
    AccessDenied,
    ConfigError,
    InvalidInput,
    PermanentError,
    RateLimited,
    TransientError,
    UpstreamRejected,
    UpstreamUnavailable,
)
from shared.settings import Settings
from tests.support import factories as f
from tests.support.postgres import pg_cluster, pg_dsn  # noqa: F401
from tests.support.postgrest_stub import (
    Fault,
    PostgrestStub,
    anon_key,
    make_jwt,
    service_role_key,
)

pytestmark = pytest.mark.services
V1 = "gemini:test-model:p1"


@pytest.fixture
def stub(pg_dsn: str) -> Iterator[PostgrestStub]:  # noqa: F811
    with PostgrestStub(pg_dsn) as server:
        yield server


@pytest.fixture
def store(stub: PostgrestStub) -> Iterator[SupabaseResultStore]:
    s = SupabaseResultStore(stub.url, service_role_key(), timeout_s=5)
    yield s
    s.close()


def test_record_success_is_one_rpc_with_the_payload_and_the_key(
    stub: PostgrestStub, store: SupabaseResultStore
) -> None:
    result = f.result(n=1)
    store.record_success(result)

    assert len(stub.requests) == 1
    req = stub.requests[0]
    assert (req.method, req.path) == ("POST", "/rest/v1/rpc/tubeq_record_success")
    assert req.body == {"payload": result.model_dump(mode="json")}
    assert req.headers["apikey"] == service_role_key()
    assert req.headers["authorization"] == f"Bearer {service_role_key()}"
    assert req.headers["content-type"].startswith("application/json")
    assert store.is_done(f.video_id(1), V1)  # and the function really ran


def test_readers_send_named_arguments(stub: PostgrestStub, store: SupabaseResultStore) -> None:
    store.get_video(f.video_id(1))
    store.done_ids([f.video_id(1), f.video_id(2)], V1)
    store.failures(limit=7)
    assert [(r.path.rsplit("/", 1)[1], r.body) for r in stub.requests] == [
        ("tubeq_get_video", {"p_video_id": f.video_id(1)}),
        (
            "tubeq_done_ids",
            {"p_video_ids": [f.video_id(1), f.video_id(2)], "p_analysis_version": V1},
        ),
        ("tubeq_failures", {"p_limit": 7}),
    ]


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409])
@pytest.mark.parametrize("code", ["PGRST100", "22023", None])
def test_4xx_is_permanent(
    stub: PostgrestStub, store: SupabaseResultStore, status: int, code: str | None
) -> None:
    # None: a body without a code, as Supabase's gateway sends: the status must decide
    body = {"message": "bad request", "hint": None} | ({"code": code} if code else {})
    stub.inject(Fault(status=status, body=body))
    # a refused key stops the consumer (systemic); other 4xx fail the one video
    expected = AccessDenied if status in (401, 403) else PermanentError
    with pytest.raises(expected) as info:
        store.record_failure(f.failure(n=1))
    assert f"HTTP {status}" in info.value.message
    if status in (401, 403):
        assert "TUBEQ_SUPABASE_SERVICE_ROLE_KEY" in info.value.message


@pytest.mark.parametrize(
    ("status", "code"),
    [
        (500, "XX000"),
        (503, "PGRST000"),
        (500, "57014"),
        (502, None),
        (503, "no-code"),  # the gateway's JSON without a code
        (504, "PGRST100"),  # a code that reads as a 4xx: the real status wins
    ],
)
def test_5xx_is_transient(
    stub: PostgrestStub, store: SupabaseResultStore, status: int, code: str | None
) -> None:
    body: dict[str, object] = {"message": "server trouble", "details": None, "hint": None}
    if code and code != "no-code":
        body["code"] = code
    html = "<html><body>502 Bad Gateway</body></html>"
    stub.inject(Fault(status=status, body=body if code else html))
    with pytest.raises(TransientError):
        store.record_success(f.result(n=1))


def test_a_wrong_key_is_permanent_and_names_the_setting(pg_dsn: str) -> None:  # noqa: F811
    wrong = make_jwt("service_role").rsplit(".", 1)[0] + ".d3JvbmctcHJvamVjdA"
    with PostgrestStub(pg_dsn, api_keys=frozenset({service_role_key(), anon_key()})) as gw:
        s = SupabaseResultStore(gw.url, wrong, timeout_s=5)
        try:
            with pytest.raises(AccessDenied) as info:
                s.record_success(f.result(n=1))
        finally:
            s.close()
        assert len(gw.requests) == 1  # refused by the gateway, before PostgREST
    message = info.value.message
    assert "HTTP 401" in message and "Invalid API key" in message
    assert "TUBEQ_SUPABASE_SERVICE_ROLE_KEY" in message
    assert wrong not in message and wrong not in str(info.value)


@pytest.mark.parametrize(("retry_after", "expected"), [("7", 7.0), (None, None)])
def test_a_429_without_a_code_is_rate_limited_with_its_retry_after(
    stub: PostgrestStub,
    store: SupabaseResultStore,
    retry_after: str | None,
    expected: float | None,
) -> None:
    headers = {"Retry-After": retry_after} if retry_after else {}
    stub.inject(Fault(status=429, body={"message": "API rate limit exceeded"}, headers=headers))
    with pytest.raises(RateLimited) as info:
        store.record_success(f.result(n=1))
    assert info.value.retry_after == expected
    store.record_success(f.result(n=1))  # the next call is not haunted by the last status
    assert store.is_done(f.video_id(1), V1)


def test_claim_analysis_is_one_rpc(stub: PostgrestStub, store: SupabaseResultStore) -> None:
    assert store.claim_analysis(f.video_id(1), V1, "consumer-a", 60) == 0.0
    waited = store.claim_analysis(f.video_id(1), V1, "consumer-b", 60)
    assert 55 < waited <= 60
    assert store.claim_analysis(f.video_id(1), V1, "consumer-a", 60) == 0.0  # renewed
    first = stub.requests[0]
    assert (first.path, first.body) == (
        "/rest/v1/rpc/tubeq_claim_analysis",
        {
            "payload": {
                "video_id": f.video_id(1),
                "analysis_version": V1,
                "owner": "consumer-a",
                "ttl_s": 60,
            }
        },
    )
    with pytest.raises(InvalidInput, match="ttl_s"):
        store.claim_analysis(f.video_id(1), V1, "consumer-a", -1)
    assert len(stub.requests) == 3


def test_record_call_is_one_rpc_and_idempotent(
    stub: PostgrestStub, store: SupabaseResultStore
) -> None:
    from shared.models import BilledCall, CallOutcome, Usage

    call = BilledCall(
        call_id=f"{f.video_id(1)}:{V1}:analysis#1",
        video_id=f.video_id(1),
        analysis_version=V1,
        model="test-model",
        usage=Usage(prompt_tokens=100, output_tokens=10, model_calls=1, cost_usd=0.0001),
        outcome=CallOutcome.INVALID,
        at=f.T0,
    )
    store.record_call(call)
    store.record_call(call)  # a retried request
    assert [r.path for r in stub.requests] == ["/rest/v1/rpc/tubeq_record_call"] * 2
    assert stub.requests[0].body == {"payload": call.model_dump(mode="json")}
    progress = store.progress()
    assert progress.usage.model_calls == 1
    assert progress.calls_by_outcome == {"invalid": 1}


def test_a_slow_reply_times_out_as_transient(stub: PostgrestStub) -> None:
    s = SupabaseResultStore(stub.url, service_role_key(), timeout_s=0.3)
    try:
        stub.inject(Fault(delay_s=3))
        started = time.monotonic()
        with pytest.raises(UpstreamUnavailable):
            s.record_success(f.result(n=1))
        assert time.monotonic() - started < 2
    finally:
        s.close()


def test_the_anon_key_is_refused_permanently(stub: PostgrestStub) -> None:
    s = SupabaseResultStore(stub.url, anon_key(), timeout_s=5)
    try:
        with pytest.raises(AccessDenied, match="42501") as info:
            s.record_success(f.result(n=1))
        assert anon_key() not in str(info.value)
    finally:
        s.close()


def test_a_missing_function_says_to_migrate(store: SupabaseResultStore) -> None:
    with pytest.raises(PermanentError, match="tubeq db migrate"):
        store.call("tubeq_not_there", {"payload": {}})


def test_a_bad_payload_is_rejected_by_the_function(store: SupabaseResultStore) -> None:
    with pytest.raises(UpstreamRejected, match="failure state"):
        store.call("tubeq_record_failure", {"payload": {"video_id": f.video_id(1)}})


def test_from_settings_and_bad_urls(stub: PostgrestStub) -> None:
    settings = Settings(
        results_backend="supabase",
        supabase_url=stub.url,
        supabase_service_role_key=SecretStr(service_role_key()),
        supabase_timeout_s=2,
    )
    s = SupabaseResultStore.from_settings(settings.supabase)
    try:
        assert s.progress().total_videos == 0
    finally:
        s.close()
    with pytest.raises(ConfigError, match="TUBEQ_SUPABASE_URL"):
        SupabaseResultStore("db.example.supabase.co", service_role_key())
    with pytest.raises(ConfigError, match="TUBEQ_SUPABASE_URL"):
        SupabaseResultStore.from_settings(Settings().supabase)
