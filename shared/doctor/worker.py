"""The deployed Worker: ``/healthz`` answers, and the first of ``TUBEQ_API_KEYS`` is
accepted on a cheap authenticated read (``GET /v1/progress``), the same FastAPI app that
``tubeq serve`` runs."""

from __future__ import annotations

from typing import TYPE_CHECKING

from shared.doctor.common import failed, passed, skipped
from shared.doctor.result import CheckResult
from shared.settings import Settings

if TYPE_CHECKING:
    import httpx

SERVICE = "worker"
AUTHED_PATH = "/v1/progress"

_REACH_FIX = (
    "check TUBEQ_WORKER_URL (the URL `wrangler deploy` printed) and that the Worker is "
    "deployed (`wrangler deployments list`)"
)
_KEY_FIX = (
    "the Worker's TUBEQ_API_KEYS must include the first key of TUBEQ_API_KEYS here: "
    "`wrangler secret put TUBEQ_API_KEYS`, then run `tubeq doctor` again"
)


def check_worker(settings: Settings, timeout_s: float) -> list[CheckResult]:
    if not settings.worker_url:
        return [skipped(SERVICE, "/healthz", "not configured (TUBEQ_WORKER_URL)")]
    import httpx

    base = settings.worker_url.rstrip("/")
    with httpx.Client(base_url=base, timeout=max(0.5, timeout_s / 2), trust_env=False) as http:
        try:
            health = http.get("/healthz")
        except httpx.HTTPError as exc:
            detail = f"{base}/healthz: no answer ({type(exc).__name__})"
            return [failed(SERVICE, "/healthz", detail, _REACH_FIX, transient=True)]
        if health.status_code != 200:
            detail = f"{base}/healthz answered HTTP {health.status_code}"
            return [
                failed(SERVICE, "/healthz", detail, _REACH_FIX, transient=health.status_code >= 500)
            ]
        out = [passed(SERVICE, "/healthz", f"{base} is up")]
        out.append(_authenticated(http, settings))
    return out


def _authenticated(http: httpx.Client, settings: Settings) -> CheckResult:
    import httpx

    name = "API key accepted"
    if not settings.api_keys:
        fix = "set TUBEQ_API_KEYS to (one of) the keys the Worker accepts"
        return failed(SERVICE, name, "TUBEQ_API_KEYS is empty: nothing to try", fix)
    key = settings.api_keys[0].get_secret_value()
    try:
        resp = http.get(AUTHED_PATH, headers={"Authorization": f"Bearer {key}"})
    except httpx.HTTPError as exc:
        detail = f"GET {AUTHED_PATH}: no answer ({type(exc).__name__})"
        return failed(SERVICE, name, detail, _REACH_FIX, transient=True)
    if resp.status_code in (401, 403):
        detail = f"GET {AUTHED_PATH} refused the first TUBEQ_API_KEYS key (HTTP {resp.status_code})"
        return failed(SERVICE, name, detail, _KEY_FIX)
    if resp.status_code == 501:
        # the Worker serves reads through tubeq serve; without TUBEQ_BACKEND_URL it cannot
        detail = f"the key was accepted, but GET {AUTHED_PATH} answered HTTP 501: no backend"
        fix = (
            "stage the Worker with TUBEQ_BACKEND_URL set to the URL of `tubeq serve` next to "
            "the consumers (`python3 -m producer.worker.stage` writes it into the Worker's "
            "vars), deploy again, then run `tubeq doctor`"
        )
        return failed(SERVICE, name, detail, fix)
    if resp.status_code >= 400:
        # past the key check; the Worker's own backend is what failed
        detail = f"the key was accepted, but GET {AUTHED_PATH} answered HTTP {resp.status_code}"
        fix = "check the Worker's logs (`wrangler tail`) and TUBEQ_BACKEND_URL"
        return failed(SERVICE, name, detail, fix, transient=resp.status_code >= 500)
    return passed(SERVICE, name, f"GET {AUTHED_PATH} answered HTTP {resp.status_code}")
