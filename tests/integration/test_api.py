"""The HTTP API over the real embedded adapters (SQLite queue and results, local artifacts)
in a temp folder, through FastAPI's TestClient; backfills go through the real httpx client
to the local Data API stub; `tubeq serve` is run for real under uvicorn in a subprocess."""

from __future__ import annotations

import hmac
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import typer
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from producer.api import create_app
from producer.api.auth import KeyChecker
from shared import factory
from shared.adapters.local_artifacts import LocalArtifactStore
from shared.adapters.sqlite_queue import SqliteQueue
from shared.adapters.sqlite_results import SqliteResultStore
from shared.errors import ConfigError, RateLimited
from shared.models import VideoJob, VideoState
from shared.settings import Settings
from tests.support import factories
from tests.support.data_api_stub import API_KEY, DataApiStub
from tests.support.services import free_port

pytestmark = pytest.mark.services

KEYS = ("key-one-0123456789abcdef", "key-two-fedcba9876543210")
AUTH = {"Authorization": f"Bearer {KEYS[1]}"}
GOOD = "dQw4w9WgXcQ"
CHANNEL = "UCabcdefghijklmnopqrstuv"
REPO = Path(__file__).resolve().parents[2]


@dataclass
class Api:
    client: TestClient
    settings: Settings
    queue: SqliteQueue
    results: SqliteResultStore
    artifacts: LocalArtifactStore


def _settings(tmp_path: Path, **overrides: Any) -> Settings:
    base: dict[str, Any] = {"data_dir": tmp_path, "api_keys": ",".join(KEYS)}
    base.update(overrides)
    return Settings.load(**base)


@pytest.fixture()
def make_api(tmp_path: Path) -> Iterator[Any]:
    opened: list[Api] = []

    def make(**overrides: Any) -> Api:
        settings = _settings(tmp_path, **overrides)
        queue = factory.build_queue(settings)
        results = factory.build_results(settings)
        artifacts = factory.build_artifacts(settings)
        assert isinstance(queue, SqliteQueue)
        assert isinstance(results, SqliteResultStore)
        assert isinstance(artifacts, LocalArtifactStore)
        app = create_app(settings, queue, results, artifacts)
        api = Api(TestClient(app), settings, queue, results, artifacts)
        opened.append(api)
        return api

    yield make
    for api in opened:
        api.client.close()
        api.queue.close()
        api.results.close()


@pytest.fixture()
def api(make_api: Any) -> Api:
    built: Api = make_api()
    return built


# ---- health, docs, auth -------------------------------------------------------------------


def test_healthz_and_docs_need_no_key(api: Api) -> None:
    assert api.client.get("/healthz").json() == {"status": "ok"}
    spec = api.client.get("/openapi.json").json()
    assert {
        "/v1/jobs",
        "/v1/progress",
        "/v1/videos/{video_id}",
        "/v1/dlq",
        "/v1/dlq/redrive",
    } <= set(spec["paths"])
    assert spec["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    assert "swagger" in api.client.get("/docs").text.lower()


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/v1/progress"),
        ("GET", f"/v1/videos/{GOOD}"),
        ("GET", "/v1/dlq"),
        ("POST", "/v1/jobs"),
        ("POST", "/v1/dlq/redrive"),
    ],
)
def test_every_v1_endpoint_wants_a_key(api: Api, method: str, path: str) -> None:
    missing = api.client.request(method, path, json={"videos": [GOOD]})
    assert missing.status_code == 401
    assert missing.headers["www-authenticate"] == "Bearer"
    assert missing.json()["error"] == "unauthorized"
    wrong_scheme = api.client.request(
        method, path, json={}, headers={"Authorization": f"Basic {KEYS[0]}"}
    )
    assert wrong_scheme.status_code == 401
    bad = api.client.request(method, path, json={}, headers={"Authorization": "Bearer nope"})
    assert bad.status_code == 403
    assert bad.json()["error"] == "forbidden"
    assert KEYS[0] not in bad.text and "nope" not in bad.text
    assert api.queue.stats().ready == 0  # nothing got through


def test_each_configured_key_works(api: Api) -> None:
    for key in KEYS:
        resp = api.client.get("/v1/progress", headers={"Authorization": f"Bearer {key}"})
        assert resp.status_code == 200, resp.text


def test_key_check_compares_against_every_key(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []
    real = hmac.compare_digest

    def counting(a: bytes, b: bytes) -> bool:
        calls.append(1)
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", counting)
    checker = KeyChecker([Settings(api_keys=",".join(["a1", "b2", "c3"])).api_keys][0])
    assert checker.matches("a1")  # the first key matches ...
    assert len(calls) == 3  # ... and the other two are compared all the same
    calls.clear()
    assert not checker.matches("zz")
    assert len(calls) == 3
    assert not checker.matches("a1 ")


def test_no_keys_refuses_unless_insecure(tmp_path: Path) -> None:
    settings = Settings.load(data_dir=tmp_path)
    queue, results = factory.build_queue(settings), factory.build_results(settings)
    artifacts = factory.build_artifacts(settings)
    try:
        with pytest.raises(ConfigError, match="TUBEQ_API_KEYS"):
            create_app(settings, queue, results, artifacts)
        open_app = create_app(settings, queue, results, artifacts, insecure_no_auth=True)
        with TestClient(open_app) as client:
            assert client.get("/v1/progress").status_code == 200
    finally:
        queue.close()
        results.close()


# ---- POST /v1/jobs ----------------------------------------------------------------------


def test_mixed_batch_enqueues_the_good_and_reports_the_bad(api: Api) -> None:
    url = f"https://www.youtube.com/watch?v={factories.video_id(2)}"
    resp = api.client.post(
        "/v1/jobs", json={"videos": [GOOD, "not-an-id", url, GOOD], "force": True}, headers=AUTH
    )
    assert resp.status_code == 202, resp.text
    body = resp.json()
    assert body["accepted"] == [GOOD, factories.video_id(2)]  # duplicates collapsed
    assert [r["input"] for r in body["rejected"]] == ["not-an-id"]
    assert "11 characters" in body["rejected"][0]["reason"]
    pulled = api.queue.pull(10, 30)
    assert sorted(d.body.video_id for d in pulled) == sorted(body["accepted"])
    assert all(d.body.force and d.body.source == "api" for d in pulled)
    status = api.results.get_video(GOOD)
    assert status is not None and status.state is VideoState.QUEUED


def test_nothing_valid_is_422_naming_each_input(api: Api) -> None:
    resp = api.client.post(
        "/v1/jobs", json={"videos": ["abc", "https://example.com/x"]}, headers=AUTH
    )
    assert resp.status_code == 422
    body = resp.json()
    assert body["error"] == "no_valid_input"
    assert [r["input"] for r in body["rejected"]] == ["abc", "https://example.com/x"]
    assert [r["index"] for r in body["rejected"]] == [0, 1]  # positions in `videos`
    assert "not a YouTube URL" in body["rejected"][1]["reason"]
    assert api.queue.stats().ready == 0


@pytest.mark.parametrize(
    ("payload", "needle"),
    [
        ({"vidoes": [GOOD]}, "vidoes"),
        ({"videos": []}, "at least 1"),
        ({"videos": "dQw4w9WgXcQ"}, "list"),
        ({"videos": [GOOD], "force": "maybe"}, "force"),
        ({"channel": CHANNEL, "limit": 0}, "limit"),
        ({"channel": CHANNEL, "since": "yesterday"}, "since"),
        ([GOOD], "body"),
    ],
)
def test_malformed_bodies_are_422_saying_what(api: Api, payload: Any, needle: str) -> None:
    resp = api.client.post("/v1/jobs", json=payload, headers=AUTH)
    assert resp.status_code == 422, resp.text
    body = resp.json()
    assert body["error"] == "invalid_request"
    assert needle in resp.text
    assert "Traceback" not in resp.text


def test_not_json_is_422(api: Api) -> None:
    resp = api.client.post(
        "/v1/jobs", content=b"{videos: nope", headers={**AUTH, "content-type": "application/json"}
    )
    assert resp.status_code == 422
    assert resp.json()["error"] == "invalid_request"


def test_a_repeated_query_parameter_is_a_400_that_names_it(api: Api) -> None:
    # FastAPI would keep the last value silently: which channel did the caller mean?
    resp = api.client.get("/v1/search?q=rook&channel=UCa&channel=UCb", headers=AUTH)
    assert resp.status_code == 400
    assert resp.json()["error"] == "bad_request"
    assert "'channel' (2 times)" in resp.json()["message"]
    assert api.client.get("/v1/search?q=rook&channel=UCa", headers=AUTH).status_code != 400


def test_a_day_is_only_yyyy_mm_dd_never_a_number(api: Api) -> None:
    # pydantic alone reads since=1 as 1970-01-01 (a Unix time): every video, by a typo
    resp = api.client.get("/v1/search?q=rook&since=1", headers=AUTH)
    assert resp.status_code == 422
    assert "YYYY-MM-DD" in resp.text


def test_oversized_body_by_content_length_is_413(make_api: Any) -> None:
    api = make_api(api_max_body_bytes=2_000)
    ids = [factories.video_id(n) for n in range(300)]  # ~5 KB of JSON
    resp = api.client.post("/v1/jobs", json={"videos": ids}, headers=AUTH)
    assert resp.status_code == 413
    assert resp.json()["error"] == "body_too_large"
    assert "TUBEQ_API_MAX_BODY_BYTES" in resp.json()["message"]
    assert api.queue.stats().ready == 0


def test_oversized_streamed_body_without_length_is_413(make_api: Any) -> None:
    api = make_api(api_max_body_bytes=2_000)
    sent: list[int] = []

    def chunks() -> Iterator[bytes]:
        yield b'{"videos": ['
        for n in range(300):
            sent.append(n)
            yield f'"{factories.video_id(n)}", '.encode()
        yield b'"dQw4w9WgXcQ"]}'

    resp = api.client.post(
        "/v1/jobs", content=chunks(), headers={**AUTH, "content-type": "application/json"}
    )
    assert resp.status_code == 413
    assert api.queue.stats().ready == 0
    # a body just under the limit, streamed the same way, goes through
    small = api.client.post(
        "/v1/jobs",
        content=iter([b'{"videos": ', b'["dQw4w9WgXcQ"]}']),
        headers={**AUTH, "content-type": "application/json"},
    )
    assert small.status_code == 202, small.text


# ---- backfills through the API ------------------------------------------------------------


@pytest.fixture()
def data_api() -> Iterator[DataApiStub]:
    server = DataApiStub()
    with server:
        server.add_channel(CHANNEL, "Stub Channel", 7, handle="@stubchannel")
        yield server


def test_channel_backfill_through_the_api(make_api: Any, data_api: DataApiStub) -> None:
    api = make_api(youtube_api_key=API_KEY, youtube_api_url=data_api.url, youtube_api_timeout_s=5)
    dry = api.client.post(
        "/v1/jobs", json={"channel": "@stubchannel", "limit": 5, "dry_run": True}, headers=AUTH
    )
    assert dry.status_code == 202, dry.text
    assert dry.json()["backfill"]["enqueued"] == 5
    assert dry.json()["backfill"]["dry_run"] is True
    assert api.queue.stats().ready == 0
    real = api.client.post(
        "/v1/jobs", json={"channel": f"https://www.youtube.com/channel/{CHANNEL}"}, headers=AUTH
    )
    assert real.status_code == 202, real.text
    report = real.json()["backfill"]
    assert report["kind"] == "channel" and report["id"] == CHANNEL
    assert report["enqueued"] == 7
    assert api.queue.stats().ready == 7
    again = api.client.post("/v1/jobs", json={"channel": CHANNEL}, headers=AUTH)
    assert again.json()["backfill"]["already_queued"] == 7  # nothing is sent twice
    assert api.queue.stats().ready == 7


def test_backfill_input_errors_are_4xx(make_api: Any, data_api: DataApiStub) -> None:
    api = make_api(youtube_api_key=API_KEY, youtube_api_url=data_api.url, youtube_api_timeout_s=5)
    wrong_kind = api.client.post("/v1/jobs", json={"channel": "PLabcdefghijklmnop"}, headers=AUTH)
    assert wrong_kind.status_code == 400
    assert "playlist" in wrong_kind.json()["message"]
    nonsense = api.client.post("/v1/jobs", json={"playlist": "no such thing"}, headers=AUTH)
    assert nonsense.status_code == 400
    unknown = api.client.post("/v1/jobs", json={"channel": "@nobodyhere"}, headers=AUTH)
    assert unknown.status_code == 400
    assert "no YouTube channel" in unknown.json()["message"]


def test_backfill_without_data_api_key_says_what_to_set(make_api: Any) -> None:
    # with no key, `auto` lists the bundled samples; asking for the Data API needs the key
    api = make_api(listing_backend="youtube")
    resp = api.client.post("/v1/jobs", json={"channel": CHANNEL}, headers=AUTH)
    assert resp.status_code == 503
    assert "TUBEQ_YOUTUBE_API_KEY" in resp.json()["message"]


# ---- progress, videos ---------------------------------------------------------------------


def test_progress_counts_states_queue_and_cost(api: Api) -> None:
    api.results.record_success(factories.result(n=1))
    api.client.post("/v1/jobs", json={"videos": [GOOD]}, headers=AUTH)
    body = api.client.get("/v1/progress", headers=AUTH).json()
    assert body["progress"]["by_state"]["done"] == 1
    assert body["progress"]["by_state"]["queued"] == 1
    assert body["progress"]["usage"]["prompt_tokens"] == factories.usage().prompt_tokens
    assert body["queue"] == {"ready": 1, "delayed": 0, "in_flight": 0, "dead": 0, "backlog": 1}


def test_video_with_analysis_and_presigned_links(api: Api) -> None:
    result = factories.result(n=3)
    vid = result.video.video_id
    for art in result.artifacts:
        api.artifacts.put(art.key, b"x" * art.size, art.content_type)
    api.results.record_success(result)
    resp = api.client.get(f"/v1/videos/{vid}", params={"expires_in": 600}, headers=AUTH)
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["video"]["state"] == "done"
    assert body["video"]["analysis"]["summary"] == result.analysis.summary
    assert {link["kind"] for link in body["links"]} == {a.kind for a in result.artifacts}
    for link in body["links"]:
        assert link["url"].startswith("file://")
        assert Path(httpx.URL(link["url"]).path).read_bytes() == b"x" * link["size"]


def test_video_unknown_404_malformed_400(api: Api) -> None:
    unknown = api.client.get(f"/v1/videos/{GOOD}", headers=AUTH)
    assert unknown.status_code == 404
    assert "enqueue it first" in unknown.json()["message"]
    bad = api.client.get("/v1/videos/short", headers=AUTH)
    assert bad.status_code == 400
    assert "'short'" in bad.json()["message"]
    too_long = api.client.get(f"/v1/videos/{GOOD}", params={"expires_in": 0}, headers=AUTH)
    assert too_long.status_code == 422


# ---- dead letters -------------------------------------------------------------------------


def test_dlq_list_and_redrive(make_api: Any) -> None:
    api = make_api(max_retries=0)
    api.client.post("/v1/jobs", json={"videos": [GOOD, factories.video_id(4)]}, headers=AUTH)
    for delivery in api.queue.pull(10, 30):
        api.queue.retry(delivery, delay_s=0, error="UpstreamUnavailable: 503 from the model")
        api.results.record_failure(factories.failure(delivery.body.video_id, state=VideoState.DEAD))
    listed = api.client.get("/v1/dlq", params={"limit": 10}, headers=AUTH).json()["dead_letters"]
    assert {d["body"]["video_id"] for d in listed} == {GOOD, factories.video_id(4)}
    assert "503 from the model" in listed[0]["last_error"]

    both = api.client.post(
        "/v1/dlq/redrive", json={"all": True, "message_ids": ["x"]}, headers=AUTH
    )
    assert both.status_code == 400
    neither = api.client.post("/v1/dlq/redrive", json={}, headers=AUTH)
    assert neither.status_code == 400

    one = listed[0]["message_id"]
    resp = api.client.post("/v1/dlq/redrive", json={"message_ids": [one]}, headers=AUTH)
    assert resp.json() == {"redriven": 1, "requested": 1}
    assert api.queue.stats().ready == 1
    rest = api.client.post("/v1/dlq/redrive", json={"all": True}, headers=AUTH)
    assert rest.json() == {"redriven": 1, "requested": None}
    assert api.queue.stats().ready == 2 and api.queue.stats().dead == 0
    progress = api.client.get("/v1/progress", headers=AUTH).json()
    assert progress["progress"]["by_state"].get("dead", 0) == 0  # queued again, as the queue

    video_id = api.client.post("/v1/dlq/redrive", json={"message_ids": [GOOD]}, headers=AUTH)
    assert video_id.status_code == 400 and "looks like a video id" in video_id.text


def test_dlq_on_cloudflare_reads_the_result_store_unless_peeking(
    make_api: Any, tmp_path: Path
) -> None:
    from pydantic import SecretStr

    from shared.adapters.cloudflare_queue import CloudflareQueue
    from shared.models import FailureRecord
    from tests.support.cf_queues_stub import CfQueuesStub

    base = make_api()
    base.results.record_failure(
        FailureRecord(
            video_id=GOOD,
            state=VideoState.DEAD,
            error_code="upstream_unavailable",
            error="503 from the model, 6 times",
            attempts=6,
        )
    )
    base.results.record_failure(
        FailureRecord(
            video_id=factories.video_id(5),
            state=VideoState.FAILED,
            error_code="transcripts_disabled",
            error="disabled",
            attempts=1,
        )
    )
    with CfQueuesStub() as stub:
        stub.add_queue("d" * 32, max_retries=100)
        stub.add_queue("q" * 32, max_retries=0, dead_letter_queue="d" * 32)
        queue = CloudflareQueue(
            account_id=stub.account_id,
            api_token=SecretStr(stub.token),
            queue_id="q" * 32,
            dlq_id="d" * 32,
            api_url=stub.url,
            max_retries=0,
            timeout_s=5.0,
        )
        queue.send([VideoJob(video_id=GOOD, source="test")])
        queue.retry(queue.pull(1, 30)[0], delay_s=0, error="dead")
        stub.requests.clear()
        with TestClient(create_app(base.settings, queue, base.results, base.artifacts)) as c:
            listed = c.get("/v1/dlq", headers=AUTH).json()
            assert listed["source"] == "results" and listed["dead_letters"] == []
            assert [(d["video_id"], d["attempts"]) for d in listed["dead_videos"]] == [(GOOD, 6)]
            assert "503 from the model" in listed["dead_videos"][0]["error"]
            assert "retention" in listed["note"]
            assert stub.requests == []  # the dead-letter queue was not touched
            peeked = c.get("/v1/dlq", params={"peek": "true"}, headers=AUTH).json()
        queue.close()
    assert peeked["source"] == "queue" and "attempts there went up" in peeked["note"]
    assert [d["body"]["video_id"] for d in peeked["dead_letters"]] == [GOOD]


# ---- errors, CORS ---------------------------------------------------------------------------


class _Exploding:
    """Wraps a reader; ``progress`` fails the way the named exception says."""

    def __init__(self, inner: SqliteResultStore, exc: BaseException) -> None:
        self._inner, self._exc = inner, exc

    def progress(self) -> Any:
        raise self._exc

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


def test_unexpected_error_is_a_json_500_without_traceback(api: Api) -> None:
    reader = _Exploding(api.results, RuntimeError("db password=hunter2 leaked"))
    app = create_app(api.settings, api.queue, reader, api.artifacts)
    with TestClient(app, raise_server_exceptions=False) as client:
        resp = client.get("/v1/progress", headers=AUTH)
    assert resp.status_code == 500
    assert resp.json()["error"] == "internal"
    assert "hunter2" not in resp.text and "Traceback" not in resp.text


def test_transient_error_is_503_with_retry_after(api: Api) -> None:
    reader = _Exploding(api.results, RateLimited("Supabase said 429", retry_after=7.2))
    app = create_app(api.settings, api.queue, reader, api.artifacts)
    with TestClient(app) as client:
        resp = client.get("/v1/progress", headers=AUTH)
    assert resp.status_code == 503
    assert resp.headers["retry-after"] == "8"
    assert resp.json()["error"] == "rate_limited"


def test_cors_is_off_unless_configured(make_api: Any) -> None:
    preflight = {
        "Origin": "https://dash.example.com",
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization,content-type",
    }
    closed = make_api()
    resp = closed.client.options("/v1/jobs", headers=preflight)
    assert "access-control-allow-origin" not in resp.headers
    opened = make_api(api_cors_origins="https://dash.example.com")
    resp = opened.client.options("/v1/jobs", headers=preflight)
    assert resp.headers["access-control-allow-origin"] == "https://dash.example.com"
    other = opened.client.options("/v1/jobs", headers={**preflight, "Origin": "https://evil.test"})
    assert "access-control-allow-origin" not in other.headers


# ---- tubeq serve --------------------------------------------------------------------------


def _serve_app() -> typer.Typer:
    from tubeq.cli import serve

    app = typer.Typer()

    @app.callback()
    def root() -> None:
        """tubeq (test harness with only `serve`)."""

    serve.register(app)
    return app


def test_serve_refuses_without_keys(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TUBEQ_DATA_DIR", str(tmp_path))
    runner = CliRunner()
    result = runner.invoke(_serve_app(), ["serve"])
    assert result.exit_code == 2
    assert "TUBEQ_API_KEYS" in result.output
    result = runner.invoke(_serve_app(), ["serve", "--insecure-no-auth", "--host", "0.0.0.0"])
    assert result.exit_code == 2
    assert "127.0.0.1" in result.output


_SERVE = (
    "import typer, sys\n"
    "from tubeq.cli import serve\n"
    "app = typer.Typer()\n"
    "@app.callback()\n"
    "def root() -> None: pass\n"
    "serve.register(app)\n"
    "app(sys.argv[1:])\n"
)


def test_tubeq_serve_runs_uvicorn_over_the_embedded_adapters(tmp_path: Path) -> None:
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("TUBEQ_")},
        "TUBEQ_DATA_DIR": str(tmp_path),
        "TUBEQ_API_KEYS": KEYS[0],
        "TUBEQ_LOG_FORMAT": "json",
    }
    proc = subprocess.Popen(
        [sys.executable, "-c", _SERVE, "serve", "--port", str(port)],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90  # a bound for a loaded machine, not a measure
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                early = proc.stdout.read().decode() if proc.stdout else ""
                pytest.fail(f"tubeq serve did not come up: {early[-2000:]}")
            time.sleep(0.1)
        headers = {"Authorization": f"Bearer {KEYS[0]}"}
        resp = httpx.post(f"{base}/v1/jobs", json={"videos": [GOOD]}, headers=headers, timeout=5)
        assert resp.status_code == 202, resp.text
        assert httpx.get(f"{base}/v1/progress", timeout=5).status_code == 401
        progress = httpx.get(f"{base}/v1/progress", headers=headers, timeout=5).json()
        assert progress["queue"]["ready"] == 1
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:  # pragma: no cover - a hung server
            proc.kill()
            proc.wait()
    out = proc.stdout.read().decode() if proc.stdout else ""
    if proc.stdout:
        proc.stdout.close()
    # uvicorn finishes its shutdown, then re-raises the SIGTERM it caught (exit -15)
    assert proc.returncode in (0, -signal.SIGTERM), out[-2000:]
    assert "Finished server process" in out, out[-2000:]
    assert KEYS[0] not in out  # the key is never logged
    # the job is in the SQLite queue file, where `tubeq consume` will find it
    queue = SqliteQueue(tmp_path / "queue.sqlite3")
    try:
        assert [d.body.video_id for d in queue.pull(10, 30)] == [GOOD]
    finally:
        queue.close()
