"""SupabaseResultStore (supabase-py) against the PostgREST stub on a real PostgreSQL:
the requests it sends, and how PostgREST's errors and timeouts are classified."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from pydantic import SecretStr

from shared.adapters.supabase_results import SupabaseResultStore
from shared.errors import (
    ConfigError,
    PermanentError,
    TransientError,
    UpstreamRejected,
    UpstreamUnavailable,
)
from shared.settings import Settings
from tests.support import factories as f
from tests.support.postgres import pg_cluster, pg_dsn  # noqa: F401
from tests.support.postgrest_stub import Fault, PostgrestStub, anon_key, service_role_key

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
def test_4xx_is_permanent(stub: PostgrestStub, store: SupabaseResultStore, status: int) -> None:
    body = {"code": "PGRST100", "message": "bad request", "details": None, "hint": None}
    if status == 400:
        body["code"] = "22023"
    stub.inject(Fault(status=status, body=body))
    with pytest.raises(PermanentError):
        store.record_failure(f.failure(n=1))


@pytest.mark.parametrize(
    ("status", "code"), [(500, "XX000"), (503, "PGRST000"), (500, "57014"), (502, None)]
)
def test_5xx_is_transient(
    stub: PostgrestStub, store: SupabaseResultStore, status: int, code: str | None
) -> None:
    body = {"code": code, "message": "server trouble", "details": None, "hint": None}
    html = "<html><body>502 Bad Gateway</body></html>"
    stub.inject(Fault(status=status, body=body if code else html))
    with pytest.raises(TransientError):
        store.record_success(f.result(n=1))


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
        with pytest.raises(UpstreamRejected, match="42501") as info:
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
    s = SupabaseResultStore.from_settings(settings)
    try:
        assert s.progress().total_videos == 0
    finally:
        s.close()
    with pytest.raises(ConfigError, match="TUBEQ_SUPABASE_URL"):
        SupabaseResultStore("db.example.supabase.co", service_role_key())
    with pytest.raises(ConfigError, match="TUBEQ_SUPABASE_URL"):
        SupabaseResultStore.from_settings(Settings())
