"""``POST /v1/jobs`` with ``batch: true`` (issue 12): a channel backfill through the HTTP API
sends ``batch.collect`` jobs through the same async core as ``tubeq backfill --batch``, and
its dry run puts the batch estimate beside the online one. The app and the Data API stub are
test_api.py's."""

from __future__ import annotations

from typing import Any

from tests.integration.test_api import AUTH, CHANNEL, data_api, make_api  # noqa: F401
from tests.support.data_api_stub import API_KEY, DataApiStub


def test_a_batch_backfill_through_the_api_sends_collect_jobs(
    make_api: Any,  # noqa: F811
    data_api: DataApiStub,  # noqa: F811
) -> None:
    api = make_api(youtube_api_key=API_KEY, youtube_api_url=data_api.url, youtube_api_timeout_s=5)
    body = {"channel": CHANNEL, "batch": True}
    dry = api.client.post("/v1/jobs", json=body | {"dry_run": True}, headers=AUTH)
    assert dry.status_code == 202, dry.text
    estimate = dry.json()["backfill"]
    assert estimate["batch"] is True and estimate["enqueued"] == 7
    assert 0 < estimate["estimated_batch_cost_usd"] < estimate["estimated_cost_usd"]
    assert api.queue.stats().ready == 0

    real = api.client.post("/v1/jobs", json=body, headers=AUTH)
    assert real.status_code == 202, real.text
    assert real.json()["backfill"]["batch"] is True
    kinds = {d.envelope.kind for d in api.queue.pull(20, 30.0)}
    assert kinds == {"batch.collect"}

    online = api.client.post("/v1/jobs", json={"channel": CHANNEL, "force": True}, headers=AUTH)
    assert online.status_code == 202 and online.json()["backfill"]["batch"] is False


def test_batch_with_another_template_is_a_400_that_says_why(
    make_api: Any,  # noqa: F811
    data_api: DataApiStub,  # noqa: F811
) -> None:
    api = make_api(youtube_api_key=API_KEY, youtube_api_url=data_api.url, youtube_api_timeout_s=5)
    body = {"channel": CHANNEL, "batch": True, "template": "chapters"}
    reply = api.client.post("/v1/jobs", json=body, headers=AUTH)
    assert reply.status_code == 400, reply.text
    assert "summary template only" in reply.json()["message"]
    assert api.queue.stats().ready == 0
