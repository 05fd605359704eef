"""POST /v1/jobs with a template: the job carries it; an unknown name is a clear 4xx."""

from __future__ import annotations

from typing import Any

from shared.models import VideoJob
from tests.integration.test_api import AUTH, GOOD, Api, make_api  # noqa: F401


def test_a_template_job_through_the_api(make_api: Any) -> None:  # noqa: F811
    api: Api = make_api()
    resp = api.client.post(
        "/v1/jobs", json={"videos": [GOOD], "template": "chapters"}, headers=AUTH
    )
    assert resp.status_code == 202, resp.text
    (delivery,) = api.queue.pull(10, 30)
    assert isinstance(delivery.body, VideoJob) and delivery.body.template == "chapters"
    # the video's state follows its summary: a template job does not mark it queued
    assert api.results.get_video(GOOD) is None

    bad = api.client.post("/v1/jobs", json={"videos": [GOOD], "template": "nope"}, headers=AUTH)
    assert 400 <= bad.status_code < 500
    assert "chapters, mentions, summary" in bad.text
    assert api.queue.pull(10, 30) == []
