"""The stable artifact link and the video page with artifacts on R2 (boto3 against a
local S3 server, moto): the link answers 307 to a fresh presigned URL of the object, and
the page reads the transcript from the bucket."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi.testclient import TestClient

from producer.api import create_app
from shared.adapters.r2_artifacts import R2ArtifactStore, s3_client
from shared.adapters.sqlite_queue import SqliteQueue
from shared.adapters.sqlite_results import SqliteResultStore
from shared.artifacts import render_artifacts
from shared.models import ArtifactRef
from shared.settings import Settings
from tests.support import factories as f
from tests.support.s3_servers import S3Server, http_get, moto_s3

pytestmark = pytest.mark.services

ANALYST = "analyst-key-fedcba9876543210"


@pytest.fixture()
def moto() -> Iterator[S3Server]:
    with moto_s3() as server:
        yield server


def test_artifact_link_redirects_to_a_fresh_presigned_url(moto: S3Server, tmp_path: Path) -> None:
    client = s3_client(
        moto.endpoint_url, moto.access_key_id, moto.secret_access_key, path_style=True
    )
    artifacts = R2ArtifactStore(client, moto.new_bucket())
    results = SqliteResultStore(tmp_path / "results.sqlite3")
    queue = SqliteQueue(tmp_path / "queue.sqlite3")
    vid = f.video_id(1)
    base = f.result(vid)
    refs = []
    for art in render_artifacts(base.transcript, base.analysis, base.video):
        artifacts.put(art.key, art.data, art.content_type, title=base.video.title)
        refs.append(
            ArtifactRef(kind=art.kind, key=art.key, content_type=art.content_type, size=art.size)
        )
    results.record_success(base.model_copy(update={"artifacts": tuple(refs)}))
    settings = Settings.load(data_dir=tmp_path, api_keys="op-key-0123456789", analyst_keys=ANALYST)
    app = create_app(settings, queue, results, artifacts)
    auth = {"Authorization": f"Bearer {ANALYST}"}
    try:
        with TestClient(app) as web:
            for ref in refs:
                answer = web.get(
                    f"/v1/videos/{vid}/artifacts/{ref.kind}", headers=auth, follow_redirects=False
                )
                assert answer.status_code == 307
                url = answer.headers["location"]
                assert url.startswith(moto.endpoint_url)
                query = parse_qs(urlsplit(url).query)
                assert "X-Amz-Signature" in query
                assert query["X-Amz-Expires"] == [str(settings.presign_expiry_s)]
                status, body, _ = http_get(url)
                assert status == 200
                assert body == artifacts.get(ref.key)
            page = web.get(f"/videos/{vid}", headers=auth).text
            lines = re.findall(r'<span class="text">([^<]*)</span>', page)
            assert len(lines) == len([s for s in base.transcript.segments if s.text.strip()])
    finally:
        queue.close()
        results.close()
        artifacts.close()
