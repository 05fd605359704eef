"""`tubeq doctor` as an operator runs it: real processes, exit codes, `--json`, and a run
with every service configured against the local servers and exactly one of them broken."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.test_doctor import (
    MODEL,
    PW_RIGHT,
    VIDEO,
)
from tests.integration.test_doctor_worker import served_api
from tests.support.data_api_stub import DataApiStub
from tests.support.gemini_stub import GeminiStub
from tests.support.postgres import PgCluster
from tests.support.s3_servers import moto_s3
from tests.support.youtube_stub import StubVideo, YouTubeStub

pytestmark = pytest.mark.services

API_KEY = "worker-key-for-the-doctor-0123456789"


def doctor(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("TUBEQ_")}
    full_env.update(TUBEQ_DATA_DIR=str(tmp_path / "data"), TUBEQ_LOG_FORMAT="json", **env)
    return subprocess.run(
        [sys.executable, "-m", "tubeq", "doctor", *args],
        capture_output=True,
        text=True,
        env=full_env,
        cwd=tmp_path,
        timeout=120,
    )


def test_nothing_configured_exits_0_and_says_skipped(tmp_path: Path) -> None:
    proc = doctor(tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "0 passed, 0 failed, 7 skipped (not configured)" in proc.stdout


def test_json_output_parses(tmp_path: Path) -> None:
    proc = doctor(tmp_path, "--json", "--only", "gemini", "--only", "worker")
    assert proc.returncode == 0, proc.stderr
    payload = json.loads(proc.stdout)
    assert payload["ok"] is True
    assert [c["service"] for c in payload["checks"]] == ["gemini", "worker"]
    assert {c["status"] for c in payload["checks"]} == {"skip"}


def test_unknown_service_and_invalid_settings_exit_2(tmp_path: Path) -> None:
    proc = doctor(tmp_path, "--only", "gemni")
    assert proc.returncode == 2 and "choose from" in proc.stderr
    proc = doctor(tmp_path, TUBEQ_DOCTOR_VIDEO_ID="too-short")
    assert proc.returncode == 2 and "TUBEQ_DOCTOR_VIDEO_ID" in proc.stderr


def test_a_missing_secret_is_a_failing_line_not_a_crash(tmp_path: Path) -> None:
    proc = doctor(tmp_path, "--only", "gemini", TUBEQ_ANALYZER_BACKEND="gemini")
    assert proc.returncode == 1
    assert "TUBEQ_GEMINI_API_KEY is not set" in proc.stdout


@pytest.fixture
def everything(
    tmp_path: Path,
    pg_cluster: PgCluster,
) -> Iterator[dict[str, str]]:
    """Every service configured against a local server; YouTube blocks this "machine"."""
    with (
        GeminiStub() as gemini,
        YouTubeStub() as youtube,
        DataApiStub() as data_api,
        moto_s3() as s3,
        served_api(tmp_path / "worker", API_KEY) as worker_url,
    ):
        (tmp_path / "worker").mkdir(exist_ok=True)
        gemini.known_models = {MODEL}
        youtube.add(VIDEO, StubVideo(state="recaptcha"))
        bucket = s3.new_bucket()
        name = pg_cluster.create_database()
        try:
            yield {
                "TUBEQ_DOCTOR_VIDEO_ID": VIDEO,
                "TUBEQ_ANALYZER_BACKEND": "gemini",
                "TUBEQ_GEMINI_API_KEY": gemini.api_key,
                "TUBEQ_GEMINI_BASE_URL": gemini.base_url,
                "TUBEQ_GEMINI_MODEL": MODEL,
                "TUBEQ_TRANSCRIPT_BACKEND": "youtube",
                "TUBEQ_YOUTUBE_BASE_URL": youtube.url,
                "TUBEQ_YOUTUBE_API_KEY": data_api.api_key,
                "TUBEQ_YOUTUBE_API_URL": data_api.url,
                "TUBEQ_RESULTS_BACKEND": "postgres",
                # the owner of the schema; the test cluster trusts it, so the password is
                # never asked for, but it is in the DSN for the no-secret check below
                "TUBEQ_DATABASE_URL": (
                    f"postgresql://postgres:{PW_RIGHT}@127.0.0.1:{pg_cluster.port}/{name}"
                ),
                "TUBEQ_ARTIFACTS_BACKEND": "r2",
                "TUBEQ_R2_ENDPOINT_URL": s3.endpoint_url,
                "TUBEQ_R2_ACCESS_KEY_ID": s3.access_key_id,
                "TUBEQ_R2_SECRET_ACCESS_KEY": "moto-accepts-any-secret-0123456789",
                "TUBEQ_R2_BUCKET": bucket,
                "TUBEQ_WORKER_URL": worker_url,
                "TUBEQ_API_KEYS": API_KEY,
            }
        finally:
            pg_cluster.drop_database(name)


def test_one_service_broken(tmp_path: Path, everything: dict[str, str]) -> None:
    proc = doctor(tmp_path, **everything)
    print(proc.stdout)  # the checklist, for `pytest -s`
    assert proc.returncode == 1, proc.stderr
    assert "youtube-transcripts: transcript fetched" in proc.stdout
    assert "TUBEQ_YOUTUBE_PROXY=webshare" in proc.stdout
    assert ", 1 failed," in proc.stdout

    as_json = doctor(tmp_path, "--json", **everything)
    assert as_json.returncode == 1
    checks = json.loads(as_json.stdout)["checks"]
    failing = [(c["service"], c["name"]) for c in checks if c["status"] == "fail"]
    assert failing == [("youtube-transcripts", "transcript fetched")]
    services = {c["service"] for c in checks if c["status"] == "pass"}
    assert services == {"gemini", "youtube-data-api", "result-store", "r2", "worker"}

    secrets = [
        everything[k]
        for k in ("TUBEQ_GEMINI_API_KEY", "TUBEQ_YOUTUBE_API_KEY", "TUBEQ_R2_SECRET_ACCESS_KEY")
    ] + [PW_RIGHT, API_KEY]
    for output in (proc.stdout, proc.stderr, as_json.stdout, as_json.stderr):
        for secret in secrets:
            assert secret not in output
