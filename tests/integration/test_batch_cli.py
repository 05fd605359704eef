"""``tubeq batch list | show | cancel`` and the batches line of ``tubeq status`` (issue 12),
as real ``tubeq`` processes, over batches a real consumer made: the google-genai client
against the Batch API stub, the result store on SQLite and on a real PostgreSQL."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from pathlib import Path
from typing import Any

from consumer.main import build_consumer
from producer.backfill import send_videos
from shared import factory
from shared.gemini.batch_models import BatchRecord, BatchState, display_name
from shared.models import VideoMeta
from shared.settings import Settings
from tests.integration.test_batch_backfill import (  # noqa: F401 (the store fixture)
    Store,
    store_fixture,
    write_transcripts,
)
from tests.integration.test_cli import tubeq
from tests.support.gemini_batch_stub import GeminiBatchStub
from tests.support.postgres import pg_cluster, pg_dsn  # noqa: F401


def values_for(tmp_path: Path, stub: GeminiBatchStub, store: Store, **more: Any) -> dict[str, Any]:
    return (
        store.settings
        | {
            "data_dir": tmp_path / "data",
            "transcripts_dir": tmp_path / "transcripts",
            "analyzer_backend": "gemini",
            "gemini_api_key": stub.api_key,
            "gemini_base_url": stub.base_url,
            # no batch is closed by age here, and no poll comes due before a run ends
            "gemini_batch_max_age_s": 3600,
            "gemini_batch_poll_s": 600,
            "gemini_batch_poll_max_s": 600,
            "poll_interval_s": 0.05,
            "retry_base_s": 0.1,
            "concurrency": 2,
        }
        | more
    )


def env_of(values: dict[str, Any]) -> dict[str, str]:
    return {f"TUBEQ_{k.upper()}": str(v) for k, v in values.items()}


def consume(values: dict[str, Any], metas: list[VideoMeta] | None = None) -> None:
    """Send the backfill's ``batch.collect`` jobs (if any), then drain the queue."""
    settings = Settings(**values)
    consumer = build_consumer(settings, preflight=lambda _stop: None)
    reader = factory.build_results(settings)
    try:
        if metas:
            asyncio.run(send_videos(consumer.queue, reader, metas, "test", False, batch=True))
        consumer.runner.run(burst=True, burst_wait_s=1.0)
    finally:
        reader.close()
        consumer.close()


def batches(values: dict[str, Any]) -> list[BatchRecord]:
    store = factory.build_batch_store(Settings(**values))
    try:
        return store.batch_list()
    finally:
        store.close()


def video_states(values: dict[str, Any], metas: list[VideoMeta]) -> Counter[str]:
    results = factory.build_results(Settings(**values))
    try:
        found = [results.get_video(m.video_id) for m in metas]
    finally:
        results.close()
    return Counter(f"{s.state.value}:{s.error_code}" for s in found if s is not None)


def test_list_show_status_and_cancel_a_submitted_batch(tmp_path: Path, store: Store) -> None:
    metas = write_transcripts(tmp_path / "transcripts", 10)
    with GeminiBatchStub() as stub:
        stub.polls_to_finish = 1000  # it runs until cancelled
        values = values_for(tmp_path, stub, store, gemini_batch_max_requests=10)
        env = env_of(values)
        consume(values, metas)
        (batch,) = batches(values)
        assert batch.state == BatchState.SUBMITTED and batch.remote_name

        listed = tubeq(tmp_path, "batch", "list", "--json", env=env)
        assert listed.returncode == 0, listed.stderr
        (row,) = json.loads(listed.stdout)
        assert (row["batch_id"], row["state"], row["items"]) == (batch.batch_id, "submitted", 10)
        assert row["cost_estimate_usd"] > 0 and row["submitted_at"]
        table = tubeq(tmp_path, "batch", "list", env=env | {"COLUMNS": "160"})
        assert batch.batch_id in table.stdout and "submitted" in table.stdout
        shown = tubeq(tmp_path, "batch", "show", f"tubeq-batch-{batch.batch_id}", env=env)
        assert shown.returncode == 0 and batch.remote_name in shown.stdout, shown.stderr
        status = tubeq(tmp_path, "status", "--json", env=env)
        flight = json.loads(status.stdout)["batches_in_flight"]
        assert (flight["batches"], flight["videos"]) == (1, 10)
        assert "batches in flight: 1" in tubeq(tmp_path, "status", env=env).stdout

        cancelled = tubeq(tmp_path, "batch", "cancel", batch.remote_name, env=env)
        assert cancelled.returncode == 0, cancelled.stderr
        assert stub.cancels == [batch.remote_name]
        consume(values)  # the poll the cancel sent sees the batch ended at Gemini

        (batch,) = batches(values)
        assert batch.state == BatchState.CANCELLED
        assert video_states(values, metas) == Counter({"failed:batch_cancelled": 10})
        assert stub.billed == [] and len(stub.creates) == 1
        again = tubeq(tmp_path, "batch", "cancel", batch.batch_id, env=env)
        assert again.returncode == 2 and "already ended (cancelled)" in again.stderr
        missing = tubeq(tmp_path, "batch", "show", "nosuchbatch", env=env)
        assert missing.returncode == 2 and "tubeq batch list" in missing.stderr
        assert "batches in flight" not in tubeq(tmp_path, "status", env=env).stdout


def test_a_batch_cancelled_before_submit_never_reaches_gemini_and_requeues(
    tmp_path: Path,
) -> None:
    metas = write_transcripts(tmp_path / "transcripts", 12)
    with GeminiBatchStub() as stub:
        values = values_for(
            tmp_path, stub, Store(), gemini_batch_max_requests=100, gemini_batch_cancelled="requeue"
        )
        consume(values, metas)
        (first,) = batches(values)
        assert (first.state, first.items) == (BatchState.OPEN, 12)

        cancelled = tubeq(tmp_path, "batch", "cancel", first.batch_id, env=env_of(values))
        assert cancelled.returncode == 0, cancelled.stderr
        assert "before it reached Gemini" in cancelled.stdout
        # the next run closes batches at once and polls every second
        quick = values | {
            "gemini_batch_max_age_s": 0,
            "gemini_batch_poll_s": 1,
            "gemini_batch_poll_max_s": 1,
        }
        settings = Settings(**quick)
        consumer = build_consumer(settings, preflight=lambda _stop: None)
        try:
            consumer.runner.run(burst=True, burst_wait_s=6.0)
        finally:
            consumer.close()

        # the cancelled batch never reached Gemini; its videos rode in later ones (an age
        # of 0 submits each batch as soon as it opens), none created twice
        assert stub.cancels == [] and display_name(first.batch_id) not in stub.creates
        assert stub.creates and len(stub.creates) == len(set(stub.creates))
        assert video_states(values, metas) == Counter({"done:None": 12})
        assert Counter(key for _, key, _ in stub.billed) == Counter(m.video_id for m in metas)
        states = {b.batch_id: b.state for b in batches(values)}
        assert states.pop(first.batch_id) == BatchState.CANCELLED
        assert set(states.values()) == {BatchState.SUCCEEDED}
