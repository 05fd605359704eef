"""R2 (the artifact store over S3): the bucket takes a probe object, gives it back,
serves it through a presigned link fetched over plain HTTP, and the probe is deleted.

The presigned fetch is the check that matters most for readers: a link is signed
locally, so only fetching one proves the endpoint, key pair and clock agree with the
server. The probe lives under ``doctor/`` and is deleted even when a step fails.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

from shared.doctor.common import capped, failed, from_error, passed, skipped
from shared.doctor.result import CheckResult
from shared.errors import AccessDenied, ConfigError, TransientError, TubeqError
from shared.ports import ArtifactStore
from shared.settings import Settings

SERVICE = "r2"
PROBE_PREFIX = "doctor/"
#: long enough for a slow fetch, short enough to be useless if it leaked
LINK_LIFETIME = timedelta(seconds=60)

_KEY_FIX = (
    "check TUBEQ_R2_ACCESS_KEY_ID and TUBEQ_R2_SECRET_ACCESS_KEY (an R2 API token with "
    "Object Read & Write on this bucket; the secret is shown once when the token is made)"
)
_BUCKET_FIX = (
    "check TUBEQ_R2_BUCKET (create it with `wrangler r2 bucket create <name>`) and the "
    "account in TUBEQ_R2_ACCOUNT_ID / TUBEQ_R2_ENDPOINT_URL"
)
_REACH_FIX = (
    "check the endpoint (TUBEQ_R2_ACCOUNT_ID or TUBEQ_R2_ENDPOINT_URL) and the network path "
    "to it; then run `tubeq doctor` again"
)
_LINK_FIX = (
    "a presigned link is signed with the secret, the endpoint and this machine's clock: "
    "check that TUBEQ_R2_SECRET_ACCESS_KEY belongs to TUBEQ_R2_ACCESS_KEY_ID, that "
    "TUBEQ_R2_ENDPOINT_URL is the address readers use, and that the clock is right (NTP)"
)


def check_r2(settings: Settings, timeout_s: float) -> list[CheckResult]:
    if settings.artifacts_backend != "r2":
        return [skipped(SERVICE, "bucket", "not configured (TUBEQ_ARTIFACTS_BACKEND)")]
    from shared.factory import build_r2_artifacts  # boto3 loads only when R2 is selected

    capped_settings = settings.model_copy(
        update={
            "r2_connect_timeout_s": capped(settings.r2_connect_timeout_s, timeout_s / 3),
            "r2_read_timeout_s": capped(settings.r2_read_timeout_s, timeout_s / 3),
        }
    )
    try:
        store = build_r2_artifacts(capped_settings.r2)
    except ConfigError as exc:
        return [failed(SERVICE, "bucket reachable", exc.message, "set the R2 settings named above")]
    key = f"{PROBE_PREFIX}probe-{uuid.uuid4().hex}.txt"
    body = f"tubeq doctor probe {key}\n".encode()
    bucket = f"bucket {settings.r2_bucket!r}"
    try:
        store.put(key, body, "text/plain; charset=utf-8")
    except TubeqError as exc:
        fix = _KEY_FIX if isinstance(exc, AccessDenied) else _BUCKET_FIX
        if isinstance(exc, TransientError):
            fix = _REACH_FIX
        return [from_error(SERVICE, "bucket reachable", exc, fix)]
    out = [passed(SERVICE, "bucket reachable", f"{bucket} accepted a write")]
    try:
        out.append(_round_trip(store, key, body))
        out.append(_presigned(store, key, body, timeout_s / 3))
    finally:
        out.append(_delete(store, key))
    return out


def _round_trip(store: ArtifactStore, key: str, body: bytes) -> CheckResult:
    try:
        got = store.get(key)
    except TubeqError as exc:
        return from_error(SERVICE, "probe object read back", exc, _KEY_FIX)
    if got != body:
        detail = f"read back {len(got)} bytes, wrote {len(body)}"
        return failed(SERVICE, "probe object read back", detail, _REACH_FIX)
    return passed(SERVICE, "probe object read back", f"{len(body)} bytes, identical")


def _presigned(store: ArtifactStore, key: str, body: bytes, timeout_s: float) -> CheckResult:
    import httpx

    name = "presigned link fetched"
    try:
        url = store.url(key, LINK_LIFETIME)
        # no credentials, no environment proxies: exactly what a reader's browser gets
        resp = httpx.get(url, timeout=max(0.5, timeout_s), trust_env=False)
    except TubeqError as exc:
        return from_error(SERVICE, name, exc, _LINK_FIX)
    except httpx.HTTPError as exc:
        return failed(
            SERVICE, name, f"no answer ({type(exc).__name__})", _REACH_FIX, transient=True
        )
    if resp.status_code != 200:
        code = _s3_error_code(resp.text)
        detail = f"the server refused the link: HTTP {resp.status_code}{f' {code}' if code else ''}"
        return failed(SERVICE, name, detail, _LINK_FIX, transient=resp.status_code >= 500)
    if resp.content != body:
        return failed(SERVICE, name, "the link served other bytes than the probe", _LINK_FIX)
    return passed(SERVICE, name, f"HTTP 200 over a {int(LINK_LIFETIME.total_seconds())} s link")


def _delete(store: ArtifactStore, key: str) -> CheckResult:
    from shared.classify import classify

    name = "probe object deleted"
    try:
        store.delete(key)
    except Exception as exc:
        fix = f"delete {key} by hand; the token needs Object Read & Write (delete included)"
        return from_error(SERVICE, name, classify(exc), fix)
    return passed(SERVICE, name, key)


def _s3_error_code(xml: str) -> str:
    start, end = xml.find("<Code>"), xml.find("</Code>")
    return xml[start + 6 : end] if 0 <= start < end else ""
