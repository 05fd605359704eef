"""`tubeq doctor`'s checks, every pass and fail path, against the local servers and stubs.

Gemini, YouTube, the Data API and PostgREST are the stubs in ``tests/support``; Postgres
is the throwaway cluster; R2 is SeaweedFS, which checks SigV4 signatures, so a bad secret
or a tampered presigned link really fails; the Worker is the real FastAPI app under
uvicorn (``test_doctor_worker.py``). The CLI (exit codes, ``--json``, a run with one
service broken) is in ``test_doctor_cli.py``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from shared.doctor import SERVICES, CheckResult, CheckStatus, run_checks
from shared.settings import Settings
from tests.support.data_api_stub import DataApiStub
from tests.support.gemini_stub import GeminiStub, server_error
from tests.support.postgres import PgCluster
from tests.support.postgrest_stub import PostgrestStub, service_role_key
from tests.support.s3_servers import S3Server, moto_s3, seaweed_for_test
from tests.support.services import free_port
from tests.support.youtube_stub import StubVideo, Track, YouTubeStub

pytestmark = pytest.mark.services

VIDEO = "dOcToRvId01"
MODEL = "gemini-test-model"
PW_USER = "tubeq_doctor_pw"
PW_RIGHT = "right-horse-battery-staple"
PW_WRONG = "wrong-horse-battery-staple"


def settings(**overrides: Any) -> Settings:
    return Settings(doctor_video_id=VIDEO, **overrides)


def lines(results: list[CheckResult]) -> dict[str, CheckResult]:
    return {r.name: r for r in results}


def statuses(results: list[CheckResult]) -> list[tuple[str, str]]:
    return [(r.name, r.status.value) for r in results]


def assert_no_secret(results: list[CheckResult], *secrets: str) -> None:
    text = "\n".join(r.model_dump_json() for r in results)
    for secret in secrets:
        assert secret not in text


def closed_port_url() -> str:
    return f"http://127.0.0.1:{free_port()}"


# ---- every service unconfigured ------------------------------------------------------


def test_defaults_skip_every_service_and_nothing_fails() -> None:
    results = run_checks(Settings())
    assert {r.service for r in results} >= set(SERVICES) - {"cloudflare-queues"}
    assert all(r.status is CheckStatus.SKIP for r in results)


def test_an_unknown_service_name_is_refused() -> None:
    from shared.errors import ConfigError

    with pytest.raises(ConfigError, match="choose from gemini"):
        run_checks(Settings(), only=["gemni"])


def test_one_hanging_check_costs_the_timeout_not_forever(monkeypatch: pytest.MonkeyPatch) -> None:
    release = threading.Event()

    def hangs(_settings: Settings, _timeout: float) -> list[CheckResult]:
        release.wait(30)
        return []

    monkeypatch.setitem(SERVICES, "worker", hangs)
    start = time.monotonic()
    results = run_checks(Settings(), only=["worker", "gemini"], timeout_s=1)
    release.set()
    assert time.monotonic() - start < 3
    worker = [r for r in results if r.service == "worker"]
    assert [(r.status, r.transient) for r in worker] == [(CheckStatus.FAIL, True)]
    assert "no answer within 1 s" in worker[0].detail


# ---- Gemini --------------------------------------------------------------------------


@pytest.fixture
def gemini() -> Iterator[GeminiStub]:
    with GeminiStub() as stub:
        stub.known_models = {MODEL}
        yield stub


def gemini_settings(stub: GeminiStub, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "analyzer_backend": "gemini",
        "gemini_api_key": stub.api_key,
        "gemini_base_url": stub.base_url,
        "gemini_model": MODEL,
    }
    return settings(**(values | overrides))


def test_gemini_key_and_model_pass_without_a_paid_call(gemini: GeminiStub) -> None:
    results = run_checks(gemini_settings(gemini), only=["gemini"])
    assert statuses(results) == [("key valid", "pass"), ("model available", "pass")]
    assert gemini.model_gets == [MODEL]
    assert gemini.requests == []  # no generateContent


def test_gemini_bad_key_is_named_and_not_shown(gemini: GeminiStub) -> None:
    bad = "AIzaBadKey-doctor-0123456789"
    results = run_checks(gemini_settings(gemini, gemini_api_key=bad), only=["gemini"])
    key = lines(results)["key valid"]
    assert key.status is CheckStatus.FAIL and not key.transient
    assert "API key not valid" in key.detail
    assert key.fix is not None and "TUBEQ_GEMINI_API_KEY" in key.fix
    assert lines(results)["model available"].status is CheckStatus.FAIL
    assert_no_secret(results, bad)


def test_gemini_unknown_model_fails_the_model_line_only(gemini: GeminiStub) -> None:
    results = run_checks(gemini_settings(gemini, gemini_model="gemini-9-nope"), only=["gemini"])
    assert statuses(results) == [("key valid", "pass"), ("model available", "fail")]
    model = lines(results)["model available"]
    assert "gemini-9-nope is not found" in model.detail
    assert model.fix is not None and "TUBEQ_GEMINI_MODEL" in model.fix


def test_gemini_outage_is_transient(gemini: GeminiStub) -> None:
    gemini.model_script.append(server_error(503))
    results = run_checks(gemini_settings(gemini), only=["gemini"])
    assert all(r.status is CheckStatus.FAIL and r.transient for r in results)


def test_gemini_unreachable_is_transient(gemini: GeminiStub) -> None:
    results = run_checks(
        gemini_settings(gemini, gemini_base_url=closed_port_url()), only=["gemini"], timeout_s=5
    )
    assert all(r.status is CheckStatus.FAIL and r.transient for r in results)


# ---- YouTube transcripts and the Data API ----------------------------------------------


@pytest.fixture
def youtube() -> Iterator[YouTubeStub]:
    with YouTubeStub(require_consent=True) as stub:
        yield stub


def youtube_settings(stub: YouTubeStub) -> Settings:
    return settings(transcript_backend="youtube", youtube_base_url=stub.url, youtube_timeout_s=5)


def test_transcript_is_fetched_through_the_adapter(youtube: YouTubeStub) -> None:
    youtube.add(VIDEO, StubVideo(tracks=[Track("en", "English", [(0.0, 2.0, "Hello.")])]))
    results = run_checks(youtube_settings(youtube), only=["youtube-transcripts"])
    assert statuses(results) == [("transcript fetched", "pass")]
    assert "1 segments in en" in results[0].detail


@pytest.mark.parametrize("state", ["recaptcha", "bot"])
def test_a_blocked_ip_says_to_set_a_proxy(youtube: YouTubeStub, state: str) -> None:
    youtube.add(VIDEO, StubVideo(state=state))
    [line] = run_checks(youtube_settings(youtube), only=["youtube-transcripts"])
    assert line.status is CheckStatus.FAIL
    assert line.fix is not None
    assert "blocks this machine's IP" in line.fix and "TUBEQ_YOUTUBE_PROXY=webshare" in line.fix


def test_a_video_without_transcripts_points_at_the_doctor_video(youtube: YouTubeStub) -> None:
    youtube.add(VIDEO, StubVideo(state="disabled"))
    [line] = run_checks(youtube_settings(youtube), only=["youtube-transcripts"])
    assert line.status is CheckStatus.FAIL and not line.transient
    assert line.fix is not None and "TUBEQ_DOCTOR_VIDEO_ID" in line.fix


def test_data_api_key_passes_with_one_videos_list_call() -> None:
    with DataApiStub() as stub:
        s = settings(youtube_api_key=stub.api_key, youtube_api_url=stub.url)
        results = run_checks(s, only=["youtube-data-api"])
        assert statuses(results) == [("key valid", "pass")]
        assert len(stub.endpoint_calls("videos")) == 1


def test_data_api_bad_key_fails_and_names_the_setting() -> None:
    bad = "AIzaWrongDataApiKey-000000000000"
    with DataApiStub() as stub:
        s = settings(youtube_api_key=bad, youtube_api_url=stub.url)
        [line] = run_checks(s, only=["youtube-data-api"])
    assert line.status is CheckStatus.FAIL and not line.transient
    assert line.fix is not None and "TUBEQ_YOUTUBE_API_KEY" in line.fix
    assert_no_secret([line], bad)


def test_data_api_quota_exhausted_says_the_key_works_and_to_wait() -> None:
    with DataApiStub() as stub:
        stub.quota_exhausted = True
        s = settings(youtube_api_key=stub.api_key, youtube_api_url=stub.url)
        [line] = run_checks(s, only=["youtube-data-api"])
    assert line.status is CheckStatus.FAIL and line.transient
    assert "quota" in line.detail and line.fix is not None and "quota to reset" in line.fix


def test_data_api_unreachable_is_transient_and_names_the_url_setting() -> None:
    s = settings(youtube_api_key="AIza" + "x" * 35, youtube_api_url=closed_port_url())
    [line] = run_checks(s, only=["youtube-data-api"], timeout_s=2)
    assert line.status is CheckStatus.FAIL and line.transient
    assert line.fix is not None and "TUBEQ_YOUTUBE_API_URL" in line.fix
    assert_no_secret([line], "AIza" + "x" * 35)


# ---- Postgres ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def password_user(pg_cluster: PgCluster) -> str:
    """A login role that must give its password (the cluster trusts everyone else)."""
    hba = pg_cluster.data_dir / "pg_hba.conf"
    rule = f"host all {PW_USER} 127.0.0.1/32 scram-sha-256\n"
    with psycopg.connect(pg_cluster.dsn(), autocommit=True) as admin:
        exists = admin.execute("select 1 from pg_roles where rolname = %s", (PW_USER,)).fetchone()
        if not exists:
            admin.execute(f"create role {PW_USER} login password '{PW_RIGHT}'")
        if rule not in hba.read_text():
            # first match wins in pg_hba.conf: this line only concerns this one role
            hba.write_text(rule + hba.read_text())
            admin.execute("select pg_reload_conf()")
    time.sleep(0.2)
    return PW_USER


def pg_settings(dsn: str) -> Settings:
    return settings(results_backend="postgres", database_url=dsn, database_timeout_s=5)


def test_postgres_all_checks_pass_on_a_migrated_database(pg_dsn: str) -> None:
    results = run_checks(pg_settings(pg_dsn), only=["result-store"])
    assert statuses(results) == [
        ("credentials accepted", "pass"),
        ("migrations current", "pass"),
        ("RLS on", "pass"),
        ("analyst role set up", "pass"),
    ]


def test_wrong_postgres_password_is_refused_not_an_outage(
    pg_cluster: PgCluster, password_user: str
) -> None:
    dsn = f"postgresql://{password_user}:{PW_WRONG}@127.0.0.1:{pg_cluster.port}/postgres"
    [line] = run_checks(pg_settings(dsn), only=["result-store"])
    assert (line.name, line.status, line.transient) == (
        "credentials accepted",
        CheckStatus.FAIL,
        False,
    )
    assert "password authentication failed" in line.detail
    assert line.fix is not None and "TUBEQ_DATABASE_URL" in line.fix
    assert_no_secret([line], PW_WRONG)


def test_right_password_passes(pg_cluster: PgCluster, password_user: str) -> None:
    dsn = f"postgresql://{password_user}:{PW_RIGHT}@127.0.0.1:{pg_cluster.port}/postgres"
    results = run_checks(pg_settings(dsn), only=["result-store"])
    assert results[0].status is CheckStatus.PASS
    assert_no_secret(results, PW_RIGHT)


def test_unreachable_postgres_is_transient() -> None:
    dsn = f"postgresql://postgres@127.0.0.1:{free_port()}/postgres"
    [line] = run_checks(pg_settings(dsn), only=["result-store"])
    assert (line.name, line.status, line.transient) == ("reachable", CheckStatus.FAIL, True)


def test_missing_migrations_say_run_db_migrate(pg_cluster: PgCluster) -> None:
    name = pg_cluster.create_database(template="template0")
    try:
        results = run_checks(pg_settings(pg_cluster.dsn(name)), only=["result-store"])
    finally:
        pg_cluster.drop_database(name)
    migrations = lines(results)["migrations current"]
    assert migrations.status is CheckStatus.FAIL and "pending" in migrations.detail
    assert migrations.fix is not None and "tubeq db migrate" in migrations.fix
    assert lines(results)["RLS on"].status is CheckStatus.FAIL


def test_rls_off_is_named(pg_dsn: str) -> None:
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        conn.execute("alter table videos disable row level security")
    rls = lines(run_checks(pg_settings(pg_dsn), only=["result-store"]))["RLS on"]
    assert rls.status is CheckStatus.FAIL and "OFF on videos" in rls.detail


def test_analyst_role_missing_its_policy_and_grant(pg_dsn: str) -> None:
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        conn.execute("drop policy analyses_analysts_read on analyses")
        conn.execute("revoke select on channels from authenticated")
    line = lines(run_checks(pg_settings(pg_dsn), only=["result-store"]))["analyst role set up"]
    assert line.status is CheckStatus.FAIL
    assert "no analysts-read policy on analyses" in line.detail
    assert "may not select from channels" in line.detail


def test_supabase_key_accepted_and_refused(pg_dsn: str) -> None:
    key = service_role_key()
    with PostgrestStub(pg_dsn, api_keys=frozenset({key})) as stub:
        base = {"results_backend": "supabase", "supabase_url": stub.url}
        good = run_checks(settings(**base, supabase_service_role_key=key), only=["result-store"])
        bad = run_checks(
            settings(**base, supabase_service_role_key=key[:-6] + "AAAAAA"), only=["result-store"]
        )
    assert statuses(good)[:2] == [
        ("Supabase key accepted", "pass"),
        ("migrations current", "pass"),
    ]
    assert good[-1].status is CheckStatus.SKIP  # RLS needs TUBEQ_DATABASE_URL
    assert statuses(bad)[0] == ("Supabase key accepted", "fail")
    assert bad[0].fix is not None and "TUBEQ_SUPABASE_SERVICE_ROLE_KEY" in bad[0].fix
    assert_no_secret(good + bad, key)


def test_supabase_with_a_database_url_says_migrations_current_once(pg_dsn: str) -> None:
    key = service_role_key()
    with PostgrestStub(pg_dsn, api_keys=frozenset({key})) as stub:
        results = run_checks(
            settings(
                results_backend="supabase",
                supabase_url=stub.url,
                supabase_service_role_key=key,
                database_url=pg_dsn,
            ),
            only=["result-store"],
        )
    names = [name for name, _ in statuses(results)]
    assert names.count("migrations current") == 1, names
    assert ("migrations current", "pass") in statuses(results)


def test_a_supabase_project_behind_the_newest_migration_is_told_to_migrate(pg_dsn: str) -> None:
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        conn.execute("drop function tubeq_finished_since(timestamptz)")  # as before sql/019
    key = service_role_key()
    with PostgrestStub(pg_dsn, api_keys=frozenset({key})) as stub:
        results = run_checks(
            settings(
                results_backend="supabase", supabase_url=stub.url, supabase_service_role_key=key
            ),
            only=["result-store"],
        )
    assert statuses(results)[:2] == [
        ("Supabase key accepted", "pass"),
        ("migrations current", "fail"),
    ]
    assert results[1].fix is not None and "tubeq db migrate" in results[1].fix


# ---- R2 over a signature-checking S3 server ----------------------------------------------


@pytest.fixture(scope="module")
def seaweed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    with seaweed_for_test(Path(tmp_path_factory.mktemp("seaweed"))) as server:
        yield server


def r2_settings(server: S3Server, bucket: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "artifacts_backend": "r2",
        "r2_endpoint_url": server.endpoint_url,
        "r2_access_key_id": server.access_key_id,
        "r2_secret_access_key": server.secret_access_key,
        "r2_bucket": bucket,
    }
    return settings(**(values | overrides))


def objects(server: S3Server, bucket: str) -> list[str]:
    listing = server.admin_client().list_objects_v2(Bucket=bucket)
    return [o["Key"] for o in listing.get("Contents", [])]


def test_r2_probe_round_trip_and_presigned_link(seaweed: S3Server) -> None:
    bucket = seaweed.new_bucket()
    results = run_checks(r2_settings(seaweed, bucket), only=["r2"])
    assert statuses(results) == [
        ("bucket reachable", "pass"),
        ("probe object read back", "pass"),
        ("presigned link fetched", "pass"),
        ("probe object deleted", "pass"),
    ]
    assert objects(seaweed, bucket) == []


def test_r2_bad_secret_is_refused(seaweed: S3Server) -> None:
    bucket = seaweed.new_bucket()
    bad = "not-the-secret-0123456789abcdef"
    [line] = run_checks(r2_settings(seaweed, bucket, r2_secret_access_key=bad), only=["r2"])
    assert (line.name, line.status, line.transient) == ("bucket reachable", CheckStatus.FAIL, False)
    assert line.fix is not None and "TUBEQ_R2_SECRET_ACCESS_KEY" in line.fix
    assert_no_secret([line], bad)


def test_r2_missing_bucket_names_the_setting() -> None:
    # moto, not SeaweedFS: SeaweedFS creates a bucket on the first write, R2 and moto do not
    with moto_s3() as moto:
        [line] = run_checks(r2_settings(moto, "tubeq-no-such-bucket"), only=["r2"])
    assert line.status is CheckStatus.FAIL
    assert line.fix is not None and "TUBEQ_R2_BUCKET" in line.fix


def test_r2_a_refused_presigned_link_fails_and_the_probe_is_still_deleted(
    seaweed: S3Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    from shared.adapters.r2_artifacts import R2ArtifactStore

    signed = R2ArtifactStore.url

    def tampered(self: R2ArtifactStore, key: str, expires_in: Any = None) -> str:
        url = signed(self, key, expires_in)
        head, _, sig = url.rpartition("X-Amz-Signature=")
        return head + "X-Amz-Signature=" + ("0" if sig[0] != "0" else "1") + sig[1:]

    monkeypatch.setattr(R2ArtifactStore, "url", tampered)
    bucket = seaweed.new_bucket()
    results = run_checks(r2_settings(seaweed, bucket), only=["r2"])
    link = lines(results)["presigned link fetched"]
    assert link.status is CheckStatus.FAIL and "HTTP 403" in link.detail
    assert link.fix is not None and "clock" in link.fix
    assert lines(results)["probe object deleted"].status is CheckStatus.PASS
    assert objects(seaweed, bucket) == []
