"""The Cloudflare Worker entry, run in CPython through the real ``workers-runtime-sdk``
(``WorkerEntrypoint``, ``Response``, the ASGI bridge ``workers.asgi.fetch``) over a fake of
the platform below it (tests/support/fake_workers), with thread creation failing as on
Pyodide (tests/support/pyodide_limits) for every request and cron run.

- (That the no-threads harness bites: tests/unit/test_worker_pyodide_limits.py.)
- ``fetch`` serves the real FastAPI app on the caller's event loop and enqueues by awaiting
  a fake ``JOBS`` binding's ``sendBatch`` (through the SDK's binding wrapper); channel
  backfills list through the async Data API client (real ``httpx.AsyncClient``) against the
  local Data API stub; the read endpoints answer 501 and say where reads are served.
- ``scheduled`` scans a window of the uploads playlist and enqueues every upload not seen
  before, including ones made public (or premiered) after newer uploads.
- In a subprocess with psycopg, boto3, google-genai, supabase and youtube-transcript-api
  blocked, the entry imports and serves; the staged Worker project holds every tubeq module
  it loaded and declares none of those packages.

What only production can check: that Pyodide's conversions, the runtime's httpx patch and
the real bindings behave like these fakes, and that pywrangler bundles the declared packages.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import subprocess
import sys
import tomllib
import types
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from producer.worker import stage as stage_module
from producer.worker.watch import MAX_SEEN, WINDOW_PAGES, ChannelState
from tests.support.data_api_stub import API_KEY, DataApiStub, StubVideo
from tests.support.fake_workers import (
    FakeKV,
    FakeQueueBinding,
    Reply,
    Runtime,
    dispatch_fetch,
    drop_sdk_modules,
    use_runtime,
)
from tests.support.pyodide_limits import no_threads

KEY = "worker-key-0123456789abcdef"
CHANNEL = "UCabcdefghijklmnopqrstuv"
REPO = Path(__file__).resolve().parents[2]
HEAVY = (
    "psycopg",
    "psycopg_pool",
    "boto3",
    "botocore",
    "google.genai",
    "supabase",
    "postgrest",
    "youtube_transcript_api",
)


@pytest.fixture()
def runtime(monkeypatch: pytest.MonkeyPatch) -> Iterator[Runtime]:
    """A fresh fake platform; the real SDK is imported again on top of it."""
    yield use_runtime(monkeypatch)
    drop_sdk_modules()


@pytest.fixture()
def entry(runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> Iterator[types.ModuleType]:
    monkeypatch.delitem(sys.modules, "producer.worker.entry", raising=False)
    module = importlib.import_module("producer.worker.entry")
    yield module
    module.services.reset()
    sys.modules.pop("producer.worker.entry", None)


def make_env(tmp_path: Path, **extra: Any) -> types.SimpleNamespace:
    values = {
        "TUBEQ_DATA_DIR": str(tmp_path),
        "TUBEQ_API_KEYS": KEY,
        "JOBS": FakeQueueBinding(),
        "WATCH_STATE": FakeKV(),
    }
    values.update(extra)
    return types.SimpleNamespace(**values)


def call(worker: Any, method: str, path: str, body: Any = None, key: str | None = KEY) -> Reply:
    headers = {"content-type": "application/json"}
    if key is not None:
        headers["authorization"] = f"Bearer {key}"
    content = json.dumps(body).encode() if body is not None else b""
    with no_threads():  # as on Pyodide
        return asyncio.run(dispatch_fetch(worker, method, path, headers, content))


# ---- fetch ------------------------------------------------------------------------------


def test_fetch_enqueues_through_the_binding(entry: Any, tmp_path: Path) -> None:
    env = make_env(tmp_path)
    worker = entry.Default(None, env)
    resp = call(worker, "POST", "/v1/jobs", {"videos": ["dQw4w9WgXcQ", "nope"], "force": True})
    assert resp.status == 202, resp.body
    assert resp.json()["accepted"] == ["dQw4w9WgXcQ"]
    assert [r["input"] for r in resp.json()["rejected"]] == ["nope"]
    jobs = env.JOBS.jobs
    assert [(j.video_id, j.force, j.source) for j in jobs] == [("dQw4w9WgXcQ", True, "api")]


def test_fetch_sends_big_requests_in_batches_of_100(entry: Any, tmp_path: Path) -> None:
    env = make_env(tmp_path)
    ids = [f"tq{n:07d}-x" for n in range(230)]
    resp = call(entry.Default(None, env), "POST", "/v1/jobs", {"videos": ids})
    assert resp.status == 202, resp.body
    assert [len(b) for b in env.JOBS.batches] == [100, 100, 30]
    assert [j.video_id for j in env.JOBS.jobs] == ids


@pytest.mark.parametrize(
    ("method", "path", "names"),
    [
        ("GET", "/v1/progress", "GET /v1/progress"),
        ("GET", "/v1/videos/dQw4w9WgXcQ", "GET /v1/videos"),
        ("GET", "/v1/dlq", "tubeq serve"),
        ("POST", "/v1/dlq/redrive", "redriving dead letters"),
    ],
)
def test_reads_are_501_saying_where_they_are_served(
    entry: Any, tmp_path: Path, method: str, path: str, names: str
) -> None:
    env = make_env(tmp_path)
    worker = entry.Default(None, env)
    body = {"all": True} if method == "POST" else None
    resp = call(worker, method, path, body)
    assert resp.status == 501, resp.body
    assert names in resp.json()["message"] and "tubeq serve" in resp.json()["message"]
    assert call(worker, method, path, body, key=None).status == 401  # auth still first
    assert call(worker, method, path, body, key="wrong").status == 403
    assert env.JOBS.batches == []


def test_healthz_and_missing_keys(entry: Any, tmp_path: Path) -> None:
    env = make_env(tmp_path)
    assert call(entry.Default(None, env), "GET", "/healthz", key=None).json() == {"status": "ok"}
    entry.services.reset()
    del env.TUBEQ_API_KEYS
    resp = call(entry.Default(None, env), "GET", "/v1/progress")
    assert resp.status == 503
    assert "TUBEQ_API_KEYS" in resp.json()["message"]


# ---- the Data API: backfills and the cron ---------------------------------------------------


@pytest.fixture()
def data_api() -> Iterator[DataApiStub]:
    server = DataApiStub()
    with server:
        server.add_channel(CHANNEL, "Watched", 4, handle="@watched")
        yield server


def api_env(tmp_path: Path, stub: DataApiStub, **extra: Any) -> types.SimpleNamespace:
    return make_env(
        tmp_path,
        TUBEQ_YOUTUBE_API_KEY=API_KEY,
        TUBEQ_YOUTUBE_API_URL=stub.url,
        TUBEQ_YOUTUBE_API_TIMEOUT_S="5",
        TUBEQ_YOUTUBE_API_RETRY_WAIT_S="0",
        **extra,
    )


def test_channel_backfill_on_the_worker(entry: Any, tmp_path: Path, data_api: DataApiStub) -> None:
    data_api.add_channel("UCzyxwvutsrqponmlkjihgfe", "Big", 120, handle="@big")
    env = api_env(tmp_path, data_api)
    worker = entry.Default(None, env)
    dry = call(worker, "POST", "/v1/jobs", {"channel": "@big", "dry_run": True})
    assert dry.status == 202, dry.body
    assert dry.json()["backfill"]["enqueued"] == 120 and env.JOBS.batches == []
    resp = call(worker, "POST", "/v1/jobs", {"channel": "@big", "limit": 110})
    assert resp.status == 202, resp.body
    report = resp.json()["backfill"]
    assert (report["found"], report["enqueued"]) == (110, 110)
    assert [len(b) for b in env.JOBS.batches] == [100, 10]
    assert {j.source for j in env.JOBS.jobs} == {"backfill:UCzyxwvutsrqponmlkjihgfe"}
    assert all(j.meta is not None and j.meta.duration_s == 600 for j in env.JOBS.jobs)
    # the key went in the header, never in a URL
    assert all("key" not in params for _, params in data_api.calls)
    unknown = call(worker, "POST", "/v1/jobs", {"channel": "@nobodyhere"})
    assert unknown.status == 400 and "no YouTube channel" in unknown.json()["message"]


def test_a_batch_backfill_on_the_worker_enqueues_collect_jobs(
    entry: Any, tmp_path: Path, data_api: DataApiStub
) -> None:
    data_api.add_channel("UCbatchbatchbatchbatchba", "Batch", 30, handle="@batchy")
    env = api_env(tmp_path, data_api)
    worker = entry.Default(None, env)
    dry = call(worker, "POST", "/v1/jobs", {"channel": "@batchy", "dry_run": True, "batch": True})
    assert dry.status == 202, dry.body
    assert env.JOBS.batches == []
    resp = call(worker, "POST", "/v1/jobs", {"channel": "@batchy", "batch": True})
    assert resp.status == 202, resp.body
    assert resp.json()["backfill"]["enqueued"] == 30
    kinds = {m["body"]["kind"] for batch in env.JOBS.batches for m in batch}
    assert kinds == {"batch.collect"}  # the consumer collects them into a Gemini batch


def test_worker_backfill_skips_live_and_stops_paging_at_since(
    entry: Any, tmp_path: Path, data_api: DataApiStub
) -> None:
    # the drift this core removed: the Worker used to enqueue streams and read every page
    channel = data_api.add_channel("UCdailydailydailydailyda", "Daily", 200, handle="@daily")
    data_api.videos[channel.video_ids[0]].live = "live"
    data_api.videos[channel.video_ids[1]].live = "upcoming"
    env = api_env(tmp_path, data_api)
    data_api.calls.clear()
    body = {"channel": "@daily", "since": "2024-05-20"}
    resp = call(entry.Default(None, env), "POST", "/v1/jobs", body)
    assert resp.status == 202, resp.body
    report = resp.json()["backfill"]
    assert (report["found"], report["skipped_live"], report["enqueued"]) == (60, 2, 58)
    assert set(sent(env)) == set(channel.video_ids[2:60])
    # days 140..199 span two pages; the older entries on page 2 end the listing
    assert [p.get("pageToken") for p in data_api.endpoint_calls("playlistItems")] == [None, "50"]


@pytest.mark.parametrize(("outage", "succeeds"), [(3, True), (4, False)])
def test_cli_and_worker_retry_the_data_api_alike(
    entry: Any, tmp_path: Path, data_api: DataApiStub, outage: int, succeeds: bool
) -> None:
    from producer.backfill import backfill
    from shared.adapters.sqlite_queue import SqliteQueue
    from shared.errors import UpstreamUnavailable
    from shared.settings import Settings

    env = api_env(tmp_path, data_api)
    data_api.retry_after = "0.05"  # honoured: each retry waits at least this long
    data_api.fail_next = outage
    data_api.calls.clear()
    resp = call(entry.Default(None, env), "POST", "/v1/jobs", {"channel": "@watched"})
    worker_calls = len(data_api.endpoint_calls("channels"))
    assert (resp.status == 202) is succeeds, resp.body

    data_api.fail_next = outage
    data_api.calls.clear()
    settings = Settings.load(
        data_dir=tmp_path / "cli",
        youtube_api_key=API_KEY,
        youtube_api_url=data_api.url,
        youtube_api_retry_wait_s=0,
    )
    queue = SqliteQueue(tmp_path / "cli.sqlite3")
    try:
        if succeeds:
            assert backfill(settings, queue, None, "@watched").enqueued == 4
        else:
            with pytest.raises(UpstreamUnavailable, match="HTTP 503"):
                backfill(settings, queue, None, "@watched")
    finally:
        queue.close()
    cli_calls = len(data_api.endpoint_calls("channels"))
    assert worker_calls == cli_calls == min(outage + 1, 4)  # 4 attempts, on both paths


def add_upload(
    stub: DataApiStub, vid: str, when: datetime, *, live: str = "none", private: bool = False
) -> StubVideo:
    video = StubVideo(vid, f"new {vid}", when, "PT5M", CHANNEL, "Watched", private, live)
    stub.videos[vid] = video
    stub.channels[CHANNEL].video_ids.insert(0, vid)  # uploads list newest upload first
    return video


def tick(worker: Any, env: Any) -> None:
    with no_threads():
        asyncio.run(worker.scheduled(types.SimpleNamespace(cron="*/30 * * * *"), env, None))


def sent(env: Any) -> list[str]:
    return [j.video_id for j in env.JOBS.jobs]


def test_scheduled_enqueues_each_new_upload_once(
    entry: Any, tmp_path: Path, data_api: DataApiStub
) -> None:
    env = api_env(tmp_path, data_api, TUBEQ_WATCHED_CHANNELS="@watched, @nosuchchannel")
    worker = entry.Default(None, env)
    tick(worker, env)  # first sight: remembers the window, enqueues no history
    assert env.JOBS.batches == []
    state = ChannelState.parse(env.WATCH_STATE.data[f"watch:{CHANNEL}"])
    assert state is not None and len(state.seen) == 4
    newest = max(v.published_at for v in data_api.videos.values())
    assert state.watermark == newest.replace(tzinfo=UTC)

    add_upload(data_api, "newUpload01", newest + timedelta(hours=1))
    add_upload(data_api, "newUpload02", newest + timedelta(hours=2))
    tick(worker, env)
    assert sorted(sent(env)) == ["newUpload01", "newUpload02"]
    assert {j.source for j in env.JOBS.jobs} == {"schedule"}
    assert env.JOBS.jobs[0].meta is not None and env.JOBS.jobs[0].meta.channel_id == CHANNEL
    tick(worker, env)  # nothing new: nothing sent again
    assert len(sent(env)) == 2


def test_scheduled_catches_videos_published_after_newer_uploads(
    entry: Any, tmp_path: Path, data_api: DataApiStub
) -> None:
    env = api_env(tmp_path, data_api, TUBEQ_WATCHED_CHANNELS="@watched")
    worker = entry.Default(None, env)
    newest = max(v.published_at for v in data_api.videos.values())
    hidden = add_upload(data_api, "privateFrst", newest + timedelta(hours=1), private=True)
    premiere = add_upload(data_api, "premiere001", newest + timedelta(days=2), live="upcoming")
    tick(worker, env)  # first sight
    add_upload(data_api, "laterUpload", newest + timedelta(hours=3))
    tick(worker, env)
    assert sent(env) == ["laterUpload"]  # the premiere is not over, the private one not public

    # made public days later with its original date, behind newer uploads, older than the
    # newest publish time handled: a watermark would skip it; the seen set does not
    hidden.private = False
    premiere.live = "none"
    tick(worker, env)
    assert sorted(sent(env)) == ["laterUpload", "premiere001", "privateFrst"]
    tick(worker, env)
    assert len(sent(env)) == 3


def test_scheduled_reads_a_fixed_window(entry: Any, tmp_path: Path, data_api: DataApiStub) -> None:
    data_api.add_channel("UCwindowwindowwindowwind", "Busy", 180, handle="@busy")
    env = api_env(tmp_path, data_api, TUBEQ_WATCHED_CHANNELS="@busy")
    worker = entry.Default(None, env)
    data_api.calls.clear()
    tick(worker, env)
    assert len(data_api.endpoint_calls("playlistItems")) == WINDOW_PAGES  # not all 4 pages
    state = ChannelState.parse(env.WATCH_STATE.data["watch:UCwindowwindowwindowwind"])
    assert state is not None and len(state.seen) == WINDOW_PAGES * 50


def test_state_is_bounded_and_reads_the_old_watermark_format() -> None:
    state = ChannelState()
    state.remember([f"v{n:010d}" for n in range(MAX_SEEN + 50)], None)
    assert len(state.seen) == MAX_SEEN and state.seen[0] == "v0000000000"
    legacy = ChannelState.parse("2024-01-03T12:00:00+00:00")
    assert legacy is not None and legacy.legacy and legacy.seen == []
    from shared.listing import PlaylistEntry

    before = PlaylistEntry("old", datetime(2024, 1, 2, tzinfo=UTC))
    after = PlaylistEntry("new", datetime(2024, 1, 4, tzinfo=UTC))
    assert legacy.was_seen(before) and not legacy.was_seen(after)
    assert ChannelState.parse(None) is None and ChannelState.parse("") is None


# ---- the Worker never imports the heavy libraries; the staged project is complete -----------

_PROBE = """
import asyncio, json, sys, types
for name in {heavy!r}:
    sys.modules[name] = None  # `import name` now raises ImportError
from tests.support.fake_workers import FakeKV, FakeQueueBinding, dispatch_fetch, install_runtime
from tests.support.pyodide_limits import no_threads
install_runtime()
import producer.worker.entry as entry
env = types.SimpleNamespace(TUBEQ_DATA_DIR=sys.argv[1], TUBEQ_API_KEYS="k" * 20,
    TUBEQ_WATCHED_CHANNELS="@watched", TUBEQ_YOUTUBE_API_KEY={key!r},
    TUBEQ_YOUTUBE_API_URL=sys.argv[2], JOBS=FakeQueueBinding(), WATCH_STATE=FakeKV())
worker = entry.Default(None, env)
headers = {{"authorization": "Bearer " + "k" * 20, "content-type": "application/json"}}
body = json.dumps({{"videos": ["dQw4w9WgXcQ"]}}).encode()
with no_threads():
    posted = asyncio.run(dispatch_fetch(worker, "POST", "/v1/jobs", headers, body))
    read = asyncio.run(dispatch_fetch(worker, "GET", "/v1/progress", headers))
    asyncio.run(worker.scheduled(None, env, None))
loaded = sorted(m.__file__ for n, m in sys.modules.items()
                if m is not None and n.split(".")[0] in ("producer", "shared")
                and getattr(m, "__file__", None))
print(json.dumps({{"posted": posted.status, "read": read.status, "sent": len(env.JOBS.jobs),
                   "state": sorted(env.WATCH_STATE.data), "loaded": loaded}}))
"""


def test_worker_runs_with_the_heavy_libraries_blocked_and_stages_whole(
    tmp_path: Path, data_api: DataApiStub
) -> None:
    script = _PROBE.format(heavy=HEAVY, key=API_KEY)
    done = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path), data_api.url],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert (result["posted"], result["read"], result["sent"]) == (202, 501, 1)
    assert result["state"] == [f"watch:{CHANNEL}"]

    staged = tmp_path / "worker"
    root = staged / stage_module.MODULE_ROOT  # the staged module root
    files = {p.relative_to(root).as_posix() for p in stage_module.stage(staged)}
    loaded = {Path(f).resolve().relative_to(REPO).as_posix() for f in result["loaded"]}
    config = tomllib.loads((staged / "wrangler.toml").read_text())
    main = (staged / config["main"]).relative_to(root).as_posix()
    loaded = {main if f == stage_module.ENTRY else f for f in loaded}  # staged as `main`
    assert loaded <= files, f"not staged: {sorted(loaded - files)}"
    assert not any(f.startswith("shared/adapters/") for f in files)
    project = tomllib.loads((staged / "pyproject.toml").read_text())
    declared = " ".join(project["project"]["dependencies"]).lower()
    for heavy in ("psycopg", "boto3", "google-genai", "supabase", "youtube-transcript-api"):
        assert heavy not in declared
    assert (staged / config["main"]).is_file()
