"""The R2 artifact store with real boto3 against local servers on 127.0.0.1.

- moto's S3 server: uploads, overwrites, content types, exists, links downloaded over HTTP,
  exports, and the `tubeq url` / `tubeq export` commands end to end.
- SeaweedFS: a server that checks SigV4, so expired and tampered links are really refused,
  and wrong credentials give the permanent error that names the setting.
- A stub HTTP server speaking S3's error format: 5xx, SlowDown and timeouts are transient
  after botocore's retries, and no upload carries the checksums R2 rejects.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
import urllib.parse
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest
import typer
from botocore.retries.standard import ExponentialBackoff
from typer.testing import CliRunner

from shared.adapter_settings import R2Settings
from shared.adapters.local_artifacts import ArtifactNotFound
from shared.adapters.r2_artifacts import CACHE_CONTROL, R2ArtifactStore, r2_endpoint, s3_client
from shared.adapters.sqlite_results import SqliteResultStore
from shared.artifact_rules import content_disposition
from shared.artifacts import render_artifacts
from shared.errors import (
    AccessDenied,
    ConfigError,
    InvalidInput,
    RateLimited,
    UpstreamRejected,
    UpstreamUnavailable,
)
from shared.exports import CSV_CONTENT_TYPE, JSONL_CONTENT_TYPE, export_channel
from shared.factory import build_artifacts
from shared.models import ArtifactRef, VideoJob
from shared.settings import Settings
from tests.support import factories as f
from tests.support.loopback import LoopbackServer
from tests.support.s3_servers import (
    S3Server,
    http_get,
    moto_s3,
    seaweed_for_test,
)
from tests.support.services import free_port
from tubeq.cli.artifacts import register

pytestmark = pytest.mark.services


def store_on(server: S3Server, bucket: str, **timeouts: float) -> R2ArtifactStore:
    client = s3_client(
        server.endpoint_url,
        server.access_key_id,
        server.secret_access_key,
        connect_timeout_s=timeouts.get("connect", 2.0),
        read_timeout_s=timeouts.get("read", 10.0),
        path_style=True,
    )
    return R2ArtifactStore(client, bucket)


@pytest.fixture(scope="module")
def moto() -> Iterator[S3Server]:
    with moto_s3() as server:
        yield server


@pytest.fixture(scope="module")
def seaweed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    with seaweed_for_test(Path(tmp_path_factory.mktemp("seaweed"))) as server:
        yield server


@pytest.fixture(scope="module")
def seaweed_store(seaweed: S3Server) -> R2ArtifactStore:
    return store_on(seaweed, seaweed.new_bucket())


@pytest.fixture
def moto_store(moto: S3Server) -> R2ArtifactStore:
    return store_on(moto, moto.new_bucket())


# ---- uploads, content types, links (moto) --------------------------------------------------


def test_rendered_artifacts_keep_their_exact_content_type_on_the_wire(
    moto: S3Server, moto_store: R2ArtifactStore
) -> None:
    vid = f.video_id(1)
    rendered = render_artifacts(f.transcript(vid), f.analysis(vid), f.meta(vid))
    assert {r.kind for r in rendered} >= {"transcript_srt", "report_md"}
    for item in rendered:
        moto_store.put(item.key, item.data, item.content_type)
    admin = moto.admin_client()
    for item in rendered:
        head = admin.head_object(Bucket=moto_store.bucket, Key=item.key)
        assert head["ContentType"] == item.content_type
        assert head["CacheControl"] == CACHE_CONTROL
        status, body, headers = http_get(moto_store.url(item.key, timedelta(minutes=5)))
        assert (status, body) == (200, item.data)
        assert headers["content-type"] == item.content_type


def test_overwrite_leaves_one_object_with_the_new_bytes(
    moto: S3Server, moto_store: R2ArtifactStore
) -> None:
    key = "transcripts/tq0000001-x.json"
    moto_store.put(key, b'{"v": 1}', "application/json")
    moto_store.put(key, b'{"v": 2}', "application/json")
    listing = moto.admin_client().list_objects_v2(Bucket=moto_store.bucket)
    assert [o["Key"] for o in listing["Contents"]] == [key]
    assert moto_store.get(key) == b'{"v": 2}'


def test_exists_and_missing_objects(moto_store: R2ArtifactStore) -> None:
    assert moto_store.exists("reports/x/v1.md") is False
    moto_store.put("reports/x/v1.md", b"# x", "text/markdown; charset=utf-8")
    assert moto_store.exists("reports/x/v1.md") is True
    with pytest.raises(ArtifactNotFound, match=r"reports/x/v2\.md"):
        moto_store.get("reports/x/v2.md")
    with pytest.raises(ArtifactNotFound, match=r"reports/x/v2\.md"):
        moto_store.content_type("reports/x/v2.md")


def test_presign_lifetimes_are_bounded_and_signed_into_the_link(
    moto_store: R2ArtifactStore,
) -> None:
    for seconds in (1, 3600, 604_800):
        url = moto_store.url("reports/a.md", timedelta(seconds=seconds))
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)
        assert query["X-Amz-Expires"] == [str(seconds)]
        assert query["X-Amz-Algorithm"] == ["AWS4-HMAC-SHA256"]
        assert query["X-Amz-Credential"][0].split("/")[2] == "auto"  # R2's region
    for bad in (timedelta(0), timedelta(milliseconds=500), timedelta(days=8)):
        with pytest.raises(InvalidInput, match="1 second up to 7 days"):
            moto_store.url("reports/a.md", bad)


def test_missing_bucket_is_permanent_and_names_the_setting(moto: S3Server) -> None:
    store = store_on(moto, "tubeq-no-such-bucket")
    with pytest.raises(UpstreamRejected, match="TUBEQ_R2_BUCKET"):
        store.put("reports/a.md", b"x", "text/markdown; charset=utf-8")


def test_from_settings_with_an_endpoint_override_and_default_expiry(moto: S3Server) -> None:
    bucket = moto.new_bucket()
    settings = Settings(
        artifacts_backend="r2",
        r2_endpoint_url=moto.endpoint_url + "/",
        r2_access_key_id=moto.access_key_id,
        r2_secret_access_key=moto.secret_access_key,
        r2_bucket=bucket,
        presign_expiry_s=900,
    )
    store = build_artifacts(settings)
    assert isinstance(store, R2ArtifactStore) and store.name == "r2"
    assert store is not R2ArtifactStore.from_settings(settings.r2)
    assert store.client is R2ArtifactStore.from_settings(settings.r2).client  # one per process
    config: Any = store.client.meta.config
    assert config.connect_timeout == settings.r2_connect_timeout_s
    assert config.read_timeout == settings.r2_read_timeout_s
    assert config.retries["mode"] == "standard"
    assert config.retries["total_max_attempts"] == 4  # max_attempts counts the retries
    assert config.request_checksum_calculation == "when_required"
    assert config.response_checksum_validation == "when_required"
    store.put("reports/a.md", b"hello", "text/markdown; charset=utf-8")
    url = store.url("reports/a.md")
    assert url.startswith(f"{moto.endpoint_url}/{bucket}/reports/a.md?")  # path style
    assert "X-Amz-Expires=900" in url
    assert http_get(url)[1] == b"hello"


def test_the_r2_endpoint_comes_from_the_account_id() -> None:
    section = Settings(r2_account_id="0123456789abcdef0123456789abcdef").r2
    assert (
        r2_endpoint(section) == "https://0123456789abcdef0123456789abcdef.r2.cloudflarestorage.com"
    )
    with pytest.raises(ConfigError, match="TUBEQ_R2_ACCOUNT_ID"):
        r2_endpoint(R2Settings(account_id="evil.example.com/x"))
    with pytest.raises(ConfigError, match="TUBEQ_R2_SECRET_ACCESS_KEY"):
        R2ArtifactStore.from_settings(R2Settings(account_id="abc", access_key_id="k"))


@pytest.mark.parametrize(
    "endpoint",
    [
        "not a url",
        "ftp://x",
        "https://",
        "https://:443",
        "http://127.0.0.1:notaport",
        "https://acct.r2.cloudflarestorage.com/tubeq-artifacts",
    ],
)
def test_a_malformed_endpoint_is_a_config_error_naming_the_setting(endpoint: str) -> None:
    section = R2Settings(endpoint_url=endpoint, access_key_id="k", secret_access_key="s")
    with pytest.raises(ConfigError, match="TUBEQ_R2_ENDPOINT_URL") as err:
        R2ArtifactStore.from_settings(section)
    assert "https://<account>.r2.cloudflarestorage.com" in str(err.value)


def test_good_endpoints_are_kept() -> None:
    for endpoint, expected in [
        ("https://acct.r2.cloudflarestorage.com/", "https://acct.r2.cloudflarestorage.com"),
        ("http://127.0.0.1:9000", "http://127.0.0.1:9000"),
    ]:
        assert r2_endpoint(R2Settings(endpoint_url=endpoint)) == expected


@pytest.mark.parametrize("endpoint", ["not a url", "ftp://x", "https://"])
def test_cli_with_a_malformed_endpoint_exits_2_with_one_line(tmp_path: Path, endpoint: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TUBEQ_")}
    env |= {
        "TUBEQ_DATA_DIR": str(tmp_path / "data"),
        "TUBEQ_LOG_FORMAT": "json",
        "TUBEQ_ARTIFACTS_BACKEND": "r2",
        "TUBEQ_R2_ENDPOINT_URL": endpoint,
        "TUBEQ_R2_ACCESS_KEY_ID": "AKIDEXAMPLE",
        "TUBEQ_R2_SECRET_ACCESS_KEY": "cli-secret-must-never-be-printed",
    }
    done = subprocess.run(
        [sys.executable, "-m", "tubeq", "consume", "--burst"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,  # no stray .env
        timeout=60,
        check=False,
    )
    lines = [ln for ln in done.stderr.splitlines() if ln.strip()]
    assert done.returncode == 2, done.stderr
    assert len(lines) == 1, done.stderr
    assert "TUBEQ_R2_ENDPOINT_URL" in lines[0]
    assert "r2.cloudflarestorage.com" in lines[0]
    assert "Traceback" not in done.stderr + done.stdout
    assert "cli-secret-must-never-be-printed" not in done.stderr + done.stdout


def test_channel_export_is_uploaded_and_downloadable(
    moto: S3Server, moto_store: R2ArtifactStore, tmp_path: Path
) -> None:
    results = SqliteResultStore(tmp_path / "results.sqlite3")
    try:
        for n in (1, 2, 3):
            results.record_success(f.result(n=n))
        export = export_channel(results, moto_store, f.CHANNEL_ID)
    finally:
        results.close()
    assert export.rows == 3
    admin = moto.admin_client()
    assert admin.head_object(Bucket=moto_store.bucket, Key=export.csv_key)["ContentType"] == (
        CSV_CONTENT_TYPE
    )
    assert admin.head_object(Bucket=moto_store.bucket, Key=export.jsonl_key)["ContentType"] == (
        JSONL_CONTENT_TYPE
    )
    status, body, _ = http_get(moto_store.url(export.csv_key, timedelta(hours=1)))
    assert status == 200
    lines = body.decode("utf-8-sig").splitlines()
    assert lines[0].startswith("video_id,title,published_at")
    assert sorted(line.split(",")[0] for line in lines[1:]) == [f.video_id(n) for n in (1, 2, 3)]


# ---- the CLI, end to end on moto + SQLite ---------------------------------------------------


@pytest.fixture
def cli_env(moto: S3Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """Settings in the environment (as an operator sets them), one finished video stored."""
    monkeypatch.chdir(tmp_path)  # no stray .env
    bucket = moto.new_bucket()
    env = {
        "TUBEQ_DATA_DIR": str(tmp_path / "data"),
        "TUBEQ_RESULTS_BACKEND": "sqlite",
        "TUBEQ_ARTIFACTS_BACKEND": "r2",
        "TUBEQ_R2_ENDPOINT_URL": moto.endpoint_url,
        "TUBEQ_R2_ACCESS_KEY_ID": moto.access_key_id,
        "TUBEQ_R2_SECRET_ACCESS_KEY": "cli-secret-must-never-be-printed",
        "TUBEQ_R2_BUCKET": bucket,
        "TUBEQ_LOG_FORMAT": "json",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    settings = Settings.load()
    store = build_artifacts(settings)
    vid = f.video_id(1)
    rendered = render_artifacts(f.transcript(vid), f.analysis(vid), f.meta(vid))
    for item in rendered:
        store.put(item.key, item.data, item.content_type)
    refs = tuple(
        ArtifactRef(kind=r.kind, key=r.key, content_type=r.content_type, size=r.size)
        for r in rendered
    )
    results = SqliteResultStore(settings.results_file)
    try:
        results.record_success(f.result(vid).model_copy(update={"artifacts": refs}))
        results.mark_queued([VideoJob(video_id=f.video_id(2), meta=f.meta(n=2))])
    finally:
        results.close()
    return {"video": vid, "rendered": {r.kind: r for r in rendered}}


def run_cli(*args: str) -> Any:
    app = typer.Typer()
    register(app)
    return CliRunner().invoke(app, list(args))


def test_cli_url_prints_a_working_link_per_artifact(cli_env: dict[str, Any]) -> None:
    result = run_cli("url", f"https://youtu.be/{cli_env['video']}", "--expires", "90s")
    assert result.exit_code == 0, result.output
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 5
    for line in lines:
        kind, url = line.split()
        assert "X-Amz-Expires=90" in url
        assert http_get(url)[1] == cli_env["rendered"][kind].data
    assert "cli-secret-must-never-be-printed" not in result.output


def test_cli_url_one_kind_prints_just_the_link(cli_env: dict[str, Any]) -> None:
    result = run_cli("url", cli_env["video"], "--kind", "report")
    assert result.exit_code == 0, result.output
    url = result.stdout.strip()
    assert "X-Amz-Expires=3600" in url  # TUBEQ_PRESIGN_EXPIRY_S's default
    assert http_get(url)[1] == cli_env["rendered"]["report_md"].data


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["url", "tq0000099-x"], "not in the results"),
        (["url", "tq0000002-x"], "is queued, not done"),
        (["url", "tq0000001-x", "--kind", "pdf"], "is not one of"),
        (["url", "tq0000001-x", "--expires", "8d"], "1 second up to 7 days"),
        (["url", "tq0000001-x", "--expires", "soon"], "cannot read the duration"),
        (["url", "not a video"], "video"),
        (["export", "UCnobodyHere"], "no analysed videos for channel UCnobodyHere"),
    ],
)
def test_cli_refuses_with_a_clear_message(
    cli_env: dict[str, Any], args: list[str], message: str
) -> None:
    result = run_cli(*args)
    assert result.exit_code == 2
    assert message in " ".join(result.output.split())


def test_cli_export_prints_links_to_both_files(cli_env: dict[str, Any]) -> None:
    result = run_cli("export", f.CHANNEL_ID, "--expires", "1h")
    assert result.exit_code == 0, result.output
    assert "exported 1 analysed videos" in result.stdout
    links = dict(line.split(maxsplit=1) for line in result.stdout.splitlines()[1:])
    csv_body = http_get(links["csv:"])[1].decode("utf-8-sig")
    assert cli_env["video"] in csv_body
    jsonl = http_get(links["jsonl:"])[1].decode()
    assert f'"video_id":"{cli_env["video"]}"' in jsonl


# ---- a server that checks signatures (SeaweedFS) --------------------------------------------


def test_a_fresh_link_works_and_the_same_link_expires(seaweed_store: R2ArtifactStore) -> None:
    seaweed_store.put("reports/expiring.md", b"short-lived", "text/markdown; charset=utf-8")
    url = seaweed_store.url("reports/expiring.md", timedelta(seconds=1))
    assert http_get(url)[:2] == (200, b"short-lived")
    time.sleep(2.1)
    status, body, _ = http_get(url)
    assert status == 403
    assert b"short-lived" not in body


@pytest.mark.parametrize("tamper", ["signature", "key", "expiry"])
def test_a_tampered_link_is_refused(seaweed_store: R2ArtifactStore, tamper: str) -> None:
    private, public = b"PRIVATE-CONTENT-7f3a", b"PUBLIC-CONTENT-91c2"
    seaweed_store.put("reports/private.md", private, "text/markdown; charset=utf-8")
    seaweed_store.put("reports/public.md", public, "text/markdown; charset=utf-8")
    url = seaweed_store.url("reports/public.md", timedelta(minutes=5))
    assert http_get(url)[:2] == (200, public)  # the untouched link works
    if tamper == "signature":
        head, _, sig = url.rpartition("X-Amz-Signature=")
        forged = head + "X-Amz-Signature=" + ("0" if sig[0] != "0" else "1") + sig[1:]
    elif tamper == "key":
        forged = url.replace("/reports/public.md?", "/reports/private.md?")
    else:
        forged = url.replace("X-Amz-Expires=300", "X-Amz-Expires=604800")
    assert forged != url
    status, body, _ = http_get(forged)
    assert status == 403
    assert private not in body and public not in body


def test_objects_and_presigned_links_carry_a_content_disposition(
    seaweed: S3Server, seaweed_store: R2ArtifactStore
) -> None:
    vid = f.video_id(7)
    meta = f.meta(vid)
    assert meta.title and not meta.title.isascii()
    rendered = {r.kind: r for r in render_artifacts(f.transcript(vid), f.analysis(vid), meta)}
    report = rendered["report_md"]
    seaweed_store.put(report.key, report.data, report.content_type, title=meta.title)
    expected = content_disposition(report.key, meta.title)
    assert "filename*=UTF-8''Queues%2C%20retries%20%26%20idempotency%20%231" in expected
    head = seaweed.admin_client().head_object(Bucket=seaweed_store.bucket, Key=report.key)
    assert head["ContentDisposition"] == expected  # stored with the object
    status, body, headers = http_get(seaweed_store.url(report.key, timedelta(minutes=5)))
    assert (status, body) == (200, report.data)
    assert headers["content-disposition"] == expected
    assert f'filename="{vid}-report.md"' in expected  # the ASCII fallback: emoji has no form

    # an object stored before the header existed: the link asks for it, signed
    srt = rendered["transcript_srt"]
    seaweed.admin_client().put_object(
        Bucket=seaweed_store.bucket, Key=srt.key, Body=srt.data, ContentType=srt.content_type
    )
    url = seaweed_store.url(srt.key, timedelta(minutes=5))
    status, body, headers = http_get(url)
    assert (status, body) == (200, srt.data)
    assert headers["content-disposition"] == f'attachment; filename="{vid}-transcript.srt"'
    # and the signature covers it: a link asking for another name is refused
    forged = url.replace("transcript.srt", "evil.exe")
    assert forged != url and http_get(forged)[0] == 403


def test_put_file_stores_the_content_disposition(
    moto: S3Server, moto_store: R2ArtifactStore, tmp_path: Path
) -> None:
    source = tmp_path / "t.vtt"
    source.write_bytes(b"WEBVTT\n")
    key = f"transcripts/{f.video_id(3)}.vtt"
    moto_store.put_file(key, source, "text/vtt; charset=utf-8", title='Café "live" / 1:2')
    head = moto.admin_client().head_object(Bucket=moto_store.bucket, Key=key)
    assert head["ContentDisposition"] == (
        'attachment; filename="Cafe live 1 2-transcript.vtt"; '
        "filename*=UTF-8''Caf%C3%A9%20live%201%202-transcript.vtt"
    )
    headers = http_get(moto_store.url(key, timedelta(minutes=5)))[2]
    assert headers["content-disposition"] == head["ContentDisposition"]


def test_wrong_secret_is_permanent_and_names_the_setting(
    seaweed: S3Server, seaweed_store: R2ArtifactStore
) -> None:
    wrong = "definitely-the-wrong-secret-value"
    client = s3_client(seaweed.endpoint_url, seaweed.access_key_id, wrong, path_style=True)
    store = R2ArtifactStore(client, seaweed_store.bucket)
    with pytest.raises(AccessDenied, match="TUBEQ_R2_SECRET_ACCESS_KEY") as put_err:
        store.put("reports/x.md", b"x", "text/markdown; charset=utf-8")
    with pytest.raises(AccessDenied, match="TUBEQ_R2_ACCESS_KEY_ID") as head_err:
        store.exists("reports/x.md")
    for err in (put_err.value, head_err.value):
        assert wrong not in str(err)


# ---- failures on the wire (a stub speaking S3's error format) -------------------------------


class StubS3:
    """Answers every request with one configured status/body, recording what arrived."""

    def __init__(self) -> None:
        self.status = 200
        self.code = ""
        self.delay_s = 0.0
        self.requests: list[tuple[str, str, dict[str, str]]] = []
        stub = self

        class Handler(BaseHTTPRequestHandler):
            # HTTP/1.1 so "Expect: 100-continue" on uploads is answered at once
            protocol_version = "HTTP/1.1"

            def _answer(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                self.rfile.read(length)
                stub.requests.append(
                    (self.command, self.path, {k.lower(): v for k, v in self.headers.items()})
                )
                if stub.delay_s:
                    time.sleep(stub.delay_s)
                body = b""
                if stub.code and self.command != "HEAD":
                    body = (
                        f"<?xml version='1.0' encoding='UTF-8'?><Error><Code>{stub.code}</Code>"
                        f"<Message>stub says {stub.code}</Message></Error>"
                    ).encode()
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self.send_response(stub.status)
                    self.send_header("Content-Type", "application/xml")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)

            do_GET = do_PUT = do_HEAD = do_POST = _answer  # noqa: N815 (http.server names)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = LoopbackServer(Handler).start()
        self.url = self.server.origin

    def store(self, read_timeout: float = 5.0) -> R2ArtifactStore:
        client = s3_client(self.url, "AKSTUB", "stub-secret", read_timeout_s=read_timeout)
        return R2ArtifactStore(client, "tubeq-stub")

    def close(self) -> None:
        self.server.stop()


@pytest.fixture
def stub(monkeypatch: pytest.MonkeyPatch) -> Iterator[StubS3]:
    # The retries are real; only botocore's backoff sleeps (up to seconds each) are skipped.
    monkeypatch.setattr(ExponentialBackoff, "delay_amount", lambda self, context: 0.0)
    server = StubS3()
    yield server
    server.close()


def test_uploads_carry_no_checksum_r2_could_reject(stub: StubS3) -> None:
    stub.store().put("reports/a.md", b"# hello", "text/markdown; charset=utf-8")
    [(method, path, headers)] = stub.requests
    assert (method, path) == ("PUT", "/tubeq-stub/reports/a.md")
    assert not [h for h in headers if h.startswith("x-amz-checksum") or "sdk-checksum" in h]
    assert headers["content-type"] == "text/markdown; charset=utf-8"
    assert headers["authorization"].startswith("AWS4-HMAC-SHA256 Credential=AKSTUB/")
    assert "/auto/s3/aws4_request" in headers["authorization"]


@pytest.mark.parametrize(
    ("status", "code", "error"),
    [
        (503, "SlowDown", RateLimited),
        (500, "InternalError", UpstreamUnavailable),
        (503, "ServiceUnavailable", UpstreamUnavailable),
    ],
)
def test_server_trouble_is_transient_after_retries(
    stub: StubS3, status: int, code: str, error: type[Exception]
) -> None:
    stub.status, stub.code = status, code
    with pytest.raises(error, match=code):
        stub.store().put("reports/a.md", b"x", "text/plain")
    # botocore's max_attempts counts retries: the first request and three more
    assert len(stub.requests) == 4


def test_a_read_timeout_is_transient(stub: StubS3) -> None:
    stub.delay_s = 1.0
    started = time.monotonic()
    with pytest.raises(UpstreamUnavailable, match="network error"):
        stub.store(read_timeout=0.2).get("reports/a.md")
    assert time.monotonic() - started < 10


def test_an_unreachable_endpoint_is_transient() -> None:
    client = s3_client(
        f"http://127.0.0.1:{free_port()}", "AK", "secret", connect_timeout_s=0.5, path_style=True
    )
    with pytest.raises(UpstreamUnavailable, match="TUBEQ_R2_ENDPOINT_URL"):
        R2ArtifactStore(client, "tubeq-x").exists("reports/a.md")


@pytest.mark.parametrize(
    ("status", "code", "setting"),
    [
        (403, "AccessDenied", "TUBEQ_R2_ACCESS_KEY_ID"),
        (403, "InvalidAccessKeyId", "TUBEQ_R2_ACCESS_KEY_ID"),
        (403, "SignatureDoesNotMatch", "TUBEQ_R2_SECRET_ACCESS_KEY"),
        (404, "NoSuchBucket", "TUBEQ_R2_BUCKET"),
    ],
)
def test_configuration_errors_are_permanent_and_not_retried(
    stub: StubS3, status: int, code: str, setting: str
) -> None:
    stub.status, stub.code = status, code
    # a refused key stops the consumer (systemic); a missing bucket fails the call
    expected = AccessDenied if status == 403 else UpstreamRejected
    with pytest.raises(expected, match=setting):
        stub.store().get("reports/a.md")
    assert len(stub.requests) == 1
