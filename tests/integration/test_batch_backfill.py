"""Batch backfills (issue 12) end to end: the producer's ``batch.collect`` jobs, the real
consumer (SQLite queue, local artifacts, a folder of transcripts), the real google-genai
client against the Batch API stub (``tests/support/gemini_batch_stub.py``), and each result
store keeping the batches: SQLite, a real PostgreSQL through psycopg, and the same database
through supabase-py and the PostgREST stub (``tests/support/postgrest_stub.py``).

Crashes are simulated in-process: a port wrapper raises a transient error at the chosen
point (before or after the real call), so the runner hands the message back and it is
delivered again, as after a killed consumer's lease runs out. Only the ports are wrapped;
every handler, the runner, the stores and the client are the real ones. Real SIGKILLs of
``tubeq consume`` processes during a batch backfill: ``test_batch_sigkill.py``.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections import Counter, deque
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import pytest

from consumer.handlers.base import HandlerRegistry
from consumer.handlers.batch import batch_handlers
from consumer.handlers.batch_config import BatchConfig
from consumer.handlers.video import VideoHandler
from consumer.main import build_consumer
from consumer.runner import Runner
from producer.backfill import estimate, estimate_batch, send_videos
from shared import factory
from shared.adapters.gemini_batch import batch_prices
from shared.errors import UpstreamUnavailable
from shared.gemini.pricing import Prices
from shared.models import VideoMeta, VideoState
from shared.settings import Settings
from tests.support import factories as f
from tests.support.gemini_batch_stub import GeminiBatchStub
from tests.support.postgres import pg_cluster, pg_dsn  # noqa: F401
from tests.support.postgrest_stub import PostgrestStub, service_role_key

WORDS = [
    "queues",
    "make",
    "batch",
    "work",
    "reliable",
    "when",
    "every",
    "step",
    "may",
    "run",
    "twice",
]


def write_transcripts(folder: Path, count: int) -> list[VideoMeta]:
    """``count`` transcripts in the directory source's format, of different lengths."""
    folder.mkdir(parents=True, exist_ok=True)
    metas = []
    for n in range(count):
        vid = f.video_id(n)
        segments = [
            {"start": i * 4.0, "duration": 4.0, "text": f"{WORDS[(n + i) % len(WORDS)]} {n} {i}"}
            for i in range(5 + n % 17)
        ]
        video: dict[str, Any] = {"video_id": vid, "title": f"Video {n}", "channel_id": f.CHANNEL_ID}
        video["duration_s"] = len(segments) * 4
        doc = {"video": video, "language": "en", "is_generated": False, "segments": segments}
        (folder / f"{vid}.json").write_text(json.dumps(doc), encoding="utf-8")
        metas.append(VideoMeta(video_id=vid, channel_id=f.CHANNEL_ID, title=f"Video {n}"))
    return metas


@pytest.fixture
def stub() -> Iterator[GeminiBatchStub]:
    with GeminiBatchStub() as server:
        server.polls_to_finish = 2
        yield server


@dataclass(frozen=True)
class Store:
    """Where the results and the batches are kept: the settings that choose it, and the
    Postgres database behind it (None for SQLite)."""

    settings: dict[str, Any] = field(default_factory=dict)
    dsn: str | None = None


@pytest.fixture(
    name="store",
    params=[
        "sqlite",
        pytest.param("postgres", marks=pytest.mark.services),
        pytest.param("supabase", marks=pytest.mark.services),
    ],
)
def store_fixture(request: pytest.FixtureRequest) -> Iterator[Store]:
    """The result store (and batch store) of a test: SQLite, Postgres or Supabase."""
    if request.param == "sqlite":
        yield Store()
        return
    dsn: str = request.getfixturevalue("pg_dsn")
    if request.param == "postgres":
        yield Store({"results_backend": "postgres", "database_url": dsn}, dsn)
        return
    with PostgrestStub(dsn) as rest:
        yield Store(
            {
                "results_backend": "supabase",
                "supabase_url": rest.url,
                "supabase_service_role_key": service_role_key(),
            },
            dsn,
        )


def settings_for(tmp_path: Path, stub: GeminiBatchStub, store: Store, **overrides: Any) -> Settings:
    values: dict[str, Any] = store.settings | {
        "data_dir": tmp_path / "data",
        "transcripts_dir": tmp_path / "transcripts",
        "analyzer_backend": "gemini",
        "gemini_api_key": stub.api_key,
        # the online path is not served by this stub: an online call would fail the video
        "gemini_base_url": stub.base_url,
        "gemini_batch_max_requests": 64,
        "gemini_batch_max_age_s": 1,
        "gemini_batch_poll_s": 1,
        "gemini_batch_poll_max_s": 1,
        "poll_interval_s": 0.05,
        "retry_base_s": 0.1,
        "max_retries": 5,
        "concurrency": 2,
    }
    return Settings(**(values | overrides))


class Faulty:
    """A port with one method that fails once per key (``when`` chooses the calls): before
    the real call (``after=False``) or after it (the call took effect, the caller never
    heard: a crash right after it)."""

    def __init__(self, inner: Any, method: str, when: Any, *, after: bool) -> None:
        self._inner, self._method, self._when, self._after = inner, method, when, after
        self.fired: list[str] = []

    def __getattr__(self, name: str) -> Any:
        real = getattr(self._inner, name)
        if name != self._method:
            return real

        def call(*args: Any, **kwargs: Any) -> Any:
            key = repr(args[:2])
            fire = key not in self.fired and self._when(*args)
            if fire and not self._after:
                self.fired.append(key)
                raise UpstreamUnavailable(f"simulated crash before {name}")
            result = real(*args, **kwargs)
            if fire:
                self.fired.append(key)
                raise UpstreamUnavailable(f"simulated crash after {name}")
            return result

        return call


def run_backfill(
    settings: Settings, metas: list[VideoMeta], faults: dict[str, Any] | None = None
) -> None:
    """Send ``batch.collect`` jobs as ``tubeq backfill --batch`` does, then drain the queue
    with the real consumer (its batch handlers on the given faulty ports, if any)."""
    consumer = build_consumer(settings, preflight=lambda _stop: None)
    faults = faults or {}
    batches = factory.build_batch_store(settings)
    analyzer = factory.build_batch_analyzer(settings)
    reader = factory.build_results(settings)  # what `tubeq backfill` checks before sending
    try:
        results = consumer.pipeline.results
        asyncio.run(send_videos(consumer.queue, reader, metas, "test", False, batch=True))
        handlers = [
            VideoHandler(consumer.pipeline.process, results),
            *batch_handlers(
                transcripts=consumer.pipeline.transcripts,
                artifacts=consumer.pipeline.artifacts,
                results=faults.get("results", results),
                batches=faults.get("batches", batches),
                analyzer=faults.get("analyzer", analyzer),
                queue=consumer.queue,
                config=BatchConfig.from_settings(settings),
            ),
        ]
        runner = Runner(
            queue=consumer.queue,
            handlers=HandlerRegistry(handlers),
            policy=consumer.runner.policy,
            config=consumer.runner.config,
        )
        runner.run(burst=True, burst_wait_s=6.0)
    finally:
        reader.close()
        batches.close()
        analyzer.close()
        consumer.close()


def ledger(settings: Settings, store: Store) -> tuple[int, float]:
    """The spend ledger's rows and total, read from the store's own tables."""
    query = "SELECT count(*), sum(cost_usd) FROM model_calls"
    if store.dsn is not None:
        with psycopg.connect(store.dsn) as pg:
            count, cost = pg.execute(query).fetchone() or (0, 0.0)
    else:
        with closing(sqlite3.connect(settings.results_file)) as db:
            count, cost = db.execute(query).fetchone()
    return int(count), float(cost or 0.0)


def states(settings: Settings, metas: list[VideoMeta]) -> Counter[str]:
    store = factory.build_results(settings)
    try:
        found = store.states([m.video_id for m in metas])
    finally:
        store.close()
    return Counter(state.value for state in found.values())


def rounding(calls: int) -> float:
    """The ledger keeps each call's cost rounded to 8 decimals (``Prices.cost``): at most
    half a unit off per call, against the stub's unrounded bill."""
    return calls * 5e-9 + 1e-12


def batch_price_bill(stub: GeminiBatchStub, settings: Settings) -> float:
    prices = batch_prices(
        Prices(settings.gemini_price_input_per_m, settings.gemini_price_output_per_m)
    )
    return stub.billed_cost(prices.input_per_m, prices.output_per_m)


def assert_paid_once(stub: GeminiBatchStub, settings: Settings, store: Store, videos: int) -> None:
    keys = Counter(key for _, key, _ in stub.billed)
    assert len(keys) == videos and set(keys.values()) == {1}, "a request billed twice"
    assert len(stub.creates) == len(set(stub.creates)), f"a batch created twice: {stub.creates}"
    calls, spend = ledger(settings, store)
    assert calls == videos
    assert spend == pytest.approx(batch_price_bill(stub, settings), abs=rounding(calls))


def test_a_200_video_batch_backfill_analyses_each_video_once_at_batch_prices(
    tmp_path: Path, stub: GeminiBatchStub, store: Store
) -> None:
    metas = write_transcripts(tmp_path / "transcripts", 200)
    settings = settings_for(tmp_path, stub, store)
    run_backfill(settings, metas)
    assert states(settings, metas) == Counter({"done": 200})
    assert_paid_once(stub, settings, store, 200)
    # 200 videos in batches of at most 64: three full ones, the rest closed by age
    assert len(stub.creates) == 4
    spent = ledger(settings, store)[1]
    online = estimate(metas, settings).cost_usd  # for the report: what online would have cost
    print(
        f"\n200 videos: billed {len(stub.billed)} requests, recorded ${spent:.6f} = "
        f"stub bill at batch prices ${batch_price_bill(stub, settings):.6f}; "
        f"batches {len(stub.creates)}; online estimate ${online:.6f}"
    )


@pytest.mark.parametrize(
    ("port", "method", "after"),
    [
        ("batches", "batch_add", False),  # during collect, before the video is in a batch
        ("batches", "batch_add", True),  # during collect, in a batch, the submit not yet sent
        ("analyzer", "submit", True),  # right after batches.create, the name not stored
        ("batches", "batch_update", True),  # after storing 'submitted', no poll sent yet
        ("results", "save_analysis", True),  # during result collection, the reply saved
        ("results", "save_analysis", False),  # during result collection, before saving
    ],
)
def test_a_crash_at_each_point_loses_nothing_and_submits_no_batch_twice(
    tmp_path: Path, stub: GeminiBatchStub, store: Store, port: str, method: str, after: bool
) -> None:
    metas = write_transcripts(tmp_path / "transcripts", 40)
    settings = settings_for(tmp_path, stub, store, gemini_batch_max_requests=16)
    with closing(factory.build_results(settings)) as results:
        inner: Any = {
            "batches": factory.build_batch_store(settings),
            "analyzer": factory.build_batch_analyzer(settings),
            "results": results,
        }[port]
        # every 7th call (or every call, for the rarer ones) fails once
        seen: list[int] = []

        def when(*_args: Any) -> bool:
            seen.append(1)
            return method in ("submit", "batch_update") or len(seen) % 7 == 1

        fault = Faulty(inner, method, when, after=after)
        run_backfill(settings, metas, {port: fault})
        if port != "results":
            inner.close()
    assert fault.fired, "the simulated crash never happened"
    assert states(settings, metas) == Counter({"done": 40})
    assert_paid_once(stub, settings, store, 40)


def test_an_expired_batch_requeues_its_videos_into_the_next_one(
    tmp_path: Path, stub: GeminiBatchStub, store: Store
) -> None:
    metas = write_transcripts(tmp_path / "transcripts", 30)
    # a tiny inline limit: the requests go as a JSONL file through the Files API
    settings = settings_for(
        tmp_path, stub, store, gemini_batch_max_requests=30, gemini_batch_inline_max_bytes=0
    )
    stub.outcomes = deque(["EXPIRED"])
    run_backfill(settings, metas)
    assert states(settings, metas) == Counter({"done": 30})
    # the expired one, then the one(s) that ran: a slow store lets the age rule close the
    # second batch before all 30 are back (assert_paid_once: no batch created twice)
    assert len(stub.creates) >= 2 and next(iter(stub.batches.values())).state.endswith("EXPIRED")
    assert_paid_once(stub, settings, store, 30)
    assert all(not sb.inline for sb in stub.batches.values())


def test_failed_requests_fail_their_videos_with_a_reason(
    tmp_path: Path, stub: GeminiBatchStub, store: Store
) -> None:
    metas = write_transcripts(tmp_path / "transcripts", 100)
    failing = {m.video_id for m in metas[::20]}  # 5 %
    stub.fail_keys = failing
    settings = settings_for(
        tmp_path, stub, store, gemini_batch_max_requests=100, gemini_batch_failed_online=False
    )
    run_backfill(settings, metas)
    assert states(settings, metas) == Counter({"done": 95, "failed": 5})
    results = factory.build_results(settings)
    try:
        for vid in failing:
            status = results.get_video(vid)
            assert status is not None and status.error_code == "batch_request_failed"
            assert status.error and "stub: internal error" in status.error
    finally:
        results.close()
    calls, spend = ledger(settings, store)
    assert calls == 95
    assert spend == pytest.approx(batch_price_bill(stub, settings), abs=rounding(calls))


def test_the_estimate_puts_batch_beside_online_and_sends_long_videos_online() -> None:
    settings = Settings(gemini_chunk_tokens=20_000, gemini_tpm=1_000_000)
    short = [VideoMeta(video_id=f.video_id(n), duration_s=600) for n in range(10)]
    long = [VideoMeta(video_id=f.video_id(99), duration_s=6 * 3600)]
    online = estimate(short + long, settings).cost_usd
    batch, online_videos = estimate_batch(short + long, settings)
    assert online_videos == 1
    long_online = estimate(long, settings).cost_usd
    assert batch == pytest.approx((online - long_online) / 2 + long_online, rel=1e-3)
    assert VideoState.DONE.value == "done"
