"""The spend ledger (issue 9, item 3) where only Postgres has it (RLS, the analyst view, the
function's refusals, the doctor's RLS check) and through the readers (`tubeq status`,
`GET /v1/progress`, the backfill's actual-vs-estimated). What every store keeps is in the
result-store contract (``SpendLedgerContract``)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient
from psycopg.types.json import Jsonb

from producer.api import create_app
from producer.backfill import BackfillReport, actual_cost_per_video
from shared import factory
from shared.doctor import CheckStatus, run_checks
from shared.models import BilledCall, CallOutcome, Usage, VideoState
from shared.settings import Settings
from tests.contract.result_store_contract import billed
from tests.integration.test_sql_schema import as_analyst, as_role, record
from tests.support import factories as f
from tests.support.postgres import pg_cluster, pg_dsn  # noqa: F401
from tubeq.cli.backfill import summary_table
from tubeq.cli.jobs import spend_lines

pytestmark = pytest.mark.services


def record_call(conn: psycopg.Connection[Any], call: BilledCall) -> None:
    with conn.transaction():
        conn.execute("SET LOCAL ROLE service_role")
        conn.execute("SELECT tubeq_record_call(%s)", (Jsonb(call.model_dump(mode="json")),))


@pytest.fixture
def db(pg_dsn: str) -> Any:  # noqa: F811
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        yield conn


def test_the_ledger_is_read_by_analysts_only_and_written_by_the_service_role(db: Any) -> None:
    record_call(db, billed("c-1", vid=f.video_id(1)))
    assert as_analyst(db, "SELECT count(*) FROM model_calls") == [(1,)]
    assert as_analyst(db, "SELECT count(*) FROM spend_by_day") == [(1,)]
    for relation in ("model_calls", "spend_by_day"):
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            as_role(db, "anon", f"SELECT * FROM {relation}")
        stranger = {"role": "authenticated", "sub": "a-new-sign-up"}
        rows = as_role(db, "authenticated", f"SELECT count(*) FROM {relation}", claims=stranger)
        assert rows == [(0,)]
    payload = Jsonb(billed("c-2", vid=f.video_id(1)).model_dump(mode="json"))
    for role in ("anon", "authenticated"):
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            as_role(db, role, "SELECT tubeq_record_call(%s)", payload)
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        as_analyst(db, "DELETE FROM model_calls WHERE call_id = %s", "c-1")


def test_record_call_refuses_what_is_not_a_call(db: Any) -> None:
    good = billed("c-1", vid=f.video_id(1)).model_dump(mode="json")
    for bad, match in (
        (good | {"outcome": "maybe"}, "not a call outcome"),
        ({k: v for k, v in good.items() if k != "call_id"}, "call id is missing"),
        (good | {"model": ""}, "call model is missing"),
    ):
        with pytest.raises(psycopg.errors.InvalidParameterValue, match=match):
            as_role(db, "service_role", "SELECT tubeq_record_call(%s)", Jsonb(bad))


def test_spend_by_day_channel_and_outcome(db: Any) -> None:
    a, b = f.video_id(1), f.video_id(2)
    record(db, f.result(a))  # a video of f.CHANNEL_ID
    next_day = f.T0 + timedelta(days=1)
    for call in (
        billed("a-1", vid=a, outcome=CallOutcome.INVALID, cost=0.25),
        billed("a-2", vid=a, purpose="repair", cost=0.5),
        billed("a-3", vid=a, at=next_day, cost=1.0),
        billed("b-1", vid=b, outcome=CallOutcome.TRUNCATED, cost=2.0),  # b: no video row
        billed("a-1", vid=a, outcome=CallOutcome.INVALID, cost=0.25),  # recorded again
    ):
        record_call(db, call)
    rows = as_analyst(
        db,
        "SELECT day, channel_id, channel_title, outcome, calls, videos, prompt_tokens, cost_usd"
        " FROM spend_by_day ORDER BY day, channel_id NULLS LAST, outcome",
    )
    day0, day1 = f.T0.date(), next_day.date()
    assert rows == [
        (day0, f.CHANNEL_ID, f.CHANNEL_TITLE, "invalid", 1, 1, 1000, pytest.approx(0.25)),
        (day0, f.CHANNEL_ID, f.CHANNEL_TITLE, "ok", 1, 1, 1000, pytest.approx(0.5)),
        (day0, None, None, "truncated", 1, 1, 1000, pytest.approx(2.0)),
        (day1, f.CHANNEL_ID, f.CHANNEL_TITLE, "ok", 1, 1, 1000, pytest.approx(1.0)),
    ]
    (options,) = db.execute(
        "SELECT reloptions FROM pg_class WHERE relname = 'spend_by_day'"
    ).fetchone()
    assert "security_invoker=true" in options


def test_the_doctor_checks_rls_on_the_ledger(pg_dsn: str) -> None:  # noqa: F811
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        conn.execute("alter table model_calls disable row level security")
        conn.execute("drop policy model_calls_analysts_read on model_calls")
    settings = Settings(results_backend="postgres", database_url=pg_dsn, database_timeout_s=5)
    results = {r.name: r for r in run_checks(settings, only=["result-store"])}
    rls = results["RLS on"]
    assert rls.status is CheckStatus.FAIL and "OFF on model_calls" in rls.detail
    analyst = results["analyst role set up"]
    assert analyst.status is CheckStatus.FAIL
    assert "no analysts-read policy on model_calls" in analyst.detail


# ---- the readers ---------------------------------------------------------------------------


def test_progress_over_the_api_counts_failed_videos_calls(tmp_path: Path) -> None:
    settings = Settings.load(data_dir=tmp_path, api_keys="key-one-0123456789abcdef")
    queue, results = factory.build_queue(settings), factory.build_results(settings)
    artifacts = factory.build_artifacts(settings)
    try:
        vid = f.video_id(1)
        results.record_call(billed("x-1", vid=vid, outcome=CallOutcome.INVALID, cost=0.01))
        results.record_call(billed("x-2", vid=vid, outcome=CallOutcome.REFUSED, cost=0.02))
        results.record_failure(f.failure(vid, state=VideoState.FAILED))
        with TestClient(create_app(settings, queue, results, artifacts)) as client:
            auth = {"Authorization": "Bearer key-one-0123456789abcdef"}
            body = client.get("/v1/progress", headers=auth).json()["progress"]
        assert body["usage"]["model_calls"] == 2
        assert body["usage"]["cost_usd"] == pytest.approx(0.03)
        assert body["analysis_usage"]["model_calls"] == 0
        assert body["calls_by_outcome"] == {"invalid": 1, "refused": 1}
    finally:
        queue.close()
        results.close()
        artifacts.close()


def test_status_reports_every_billed_call(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    results = factory.build_results(settings)
    try:
        a, b = f.video_id(1), f.video_id(2)
        kept = Usage(prompt_tokens=1000, output_tokens=100, model_calls=1, cost_usd=0.001)
        results.record_call(billed("a-1", vid=a, cost=0.001))
        results.record_success(f.result(a, analysis_=f.analysis(a, usage_=kept)))
        for i in range(3):  # a video that never got a valid reply
            results.record_call(billed(f"b-{i}", vid=b, outcome=CallOutcome.INVALID, cost=0.002))
        text = spend_lines(results.progress())
    finally:
        results.close()
    assert "4 model calls (3 invalid, 1 ok)" in text
    assert "cost $0.0070" in text
    assert "analyses: 1; the saved ones cost $0.0010 in 1 calls" in text


def test_backfill_sets_the_actual_cost_beside_the_estimate(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    results = factory.build_results(settings)
    try:
        assert actual_cost_per_video(results.progress()) is None
        a = f.video_id(1)
        results.record_call(billed("a-1", vid=a, outcome=CallOutcome.TRUNCATED, cost=0.004))
        results.record_call(billed("a-2", vid=a, purpose="repair", cost=0.002))
        kept = Usage(prompt_tokens=10, output_tokens=10, model_calls=1, cost_usd=0.002)
        results.record_success(f.result(a, analysis_=f.analysis(a, usage_=kept)))
        actual = actual_cost_per_video(results.progress())
    finally:
        results.close()
    assert actual == pytest.approx(0.006)  # the truncated call counts, not only the kept one
    report = BackfillReport(
        kind="channel",
        id=f.CHANNEL_ID,
        title=None,
        playlist_id="UU",
        found=4,
        enqueued=4,
        estimated_input_tokens=1,
        estimated_output_tokens=1,
        estimated_cost_usd=0.02,
        estimated_model_calls=4,
        estimated_duration_s=1.0,
        dry_run=True,
    )
    rows = {row for row in _rows(summary_table(report, actual))}
    assert ("estimated cost per video", "$0.0050") in rows
    assert ("actual cost per analysed video so far", "$0.0060") in rows


def _rows(table: Any) -> list[tuple[str, str]]:
    what, count = table.columns
    return list(zip(what._cells, count._cells, strict=True))
