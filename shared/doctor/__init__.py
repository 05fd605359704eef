"""`tubeq doctor`: cheap, side-effect-free checks of every configured production service.

``run_checks(settings)`` returns one ``CheckResult`` per line of the checklist. Each
service area runs in its own daemon thread under one deadline, so a service that hangs
costs at most ``timeout_s`` and cannot keep the process alive; the areas run at once, so
the whole doctor takes about as long as its slowest service. A service the settings do
not select is a ``skip`` line, never a failure. No line ever carries a secret: every
line is scrubbed of the settings' secret values before it is returned.

The consumer runs the same checks before it leases anything (``CONSUMER_SERVICES``).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable

from shared.doctor.artifacts import check_r2
from shared.doctor.common import failed, from_error, scrub, secret_values, skipped
from shared.doctor.gemini import check_gemini
from shared.doctor.result import CheckResult, CheckStatus
from shared.doctor.result_store import check_result_store
from shared.doctor.worker import check_worker
from shared.doctor.youtube import check_data_api, check_transcripts
from shared.errors import ConfigError
from shared.settings import Settings

__all__ = [
    "CONSUMER_SERVICES",
    "DEFAULT_TIMEOUT_S",
    "SERVICES",
    "CheckResult",
    "CheckStatus",
    "run_checks",
]

Check = Callable[[Settings, float], list[CheckResult]]

#: the longest one service area may take, by default (each client gets at most this)
DEFAULT_TIMEOUT_S = 20.0


def _check_cloudflare(settings: Settings, timeout_s: float) -> list[CheckResult]:
    if settings.queue_backend != "cloudflare":
        return [
            skipped("cloudflare-queues", "queue access", "not configured (TUBEQ_QUEUE_BACKEND)")
        ]
    try:
        # written alongside this module; imported late so the doctor works without it
        from shared.doctor.cloudflare_checks import check_cloudflare
    except ImportError:
        return [skipped("cloudflare-queues", "queue access", "checks not available in this build")]
    capped = settings.model_copy(
        update={"cf_timeout_s": max(0.5, min(settings.cf_timeout_s, timeout_s))}
    )
    return check_cloudflare(capped)


#: service area → its check, in checklist order; these names are what ``only`` takes
SERVICES: dict[str, Check] = {
    "gemini": check_gemini,
    "youtube-transcripts": check_transcripts,
    "youtube-data-api": check_data_api,
    "result-store": check_result_store,
    "r2": check_r2,
    "cloudflare-queues": _check_cloudflare,
    "worker": check_worker,
}

#: what ``tubeq consume`` needs before it leases: not YouTube (a blocked IP is retried
#: per video, and a start-up fetch would spend the proxy's budget on every restart)
CONSUMER_SERVICES = ("result-store", "r2", "gemini", "cloudflare-queues")


def run_checks(
    settings: Settings,
    *,
    only: Iterable[str] | None = None,
    timeout_s: float = DEFAULT_TIMEOUT_S,
) -> list[CheckResult]:
    """Run the checks of ``only`` (default: every service area), in checklist order."""
    names = _select(only)
    slots: dict[str, list[CheckResult]] = {}
    threads = []
    for name in names:
        thread = threading.Thread(
            target=_run_one,
            args=(name, settings, timeout_s, slots),
            name=f"doctor-{name}",
            daemon=True,
        )
        thread.start()
        threads.append((name, thread))
    deadline = time.monotonic() + timeout_s
    out: list[CheckResult] = []
    for name, thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
        # a thread still running is abandoned: it is a daemon, and its result is ignored
        out.extend(slots.get(name) or [_timed_out(name, timeout_s)])
    return scrub(out, secret_values(settings))


def _select(only: Iterable[str] | None) -> list[str]:
    if only is None:
        return list(SERVICES)
    wanted = list(dict.fromkeys(only))
    unknown = [n for n in wanted if n not in SERVICES]
    if unknown:
        raise ConfigError(
            f"unknown service {', '.join(unknown)}: choose from {', '.join(SERVICES)}"
        )
    return [n for n in SERVICES if n in wanted]


def _run_one(
    name: str, settings: Settings, timeout_s: float, slots: dict[str, list[CheckResult]]
) -> None:
    try:
        lines = SERVICES[name](settings, timeout_s)
    except Exception as exc:  # a bug or an unforeseen library error: one line, not a crash
        from shared.classify import classify

        err = classify(exc)
        fix = "run `tubeq doctor` again; if this repeats, report it with the line above"
        lines = [from_error(name, "check ran", err, fix)]
    slots[name] = lines


def _timed_out(name: str, timeout_s: float) -> CheckResult:
    return failed(
        name,
        "answered in time",
        f"no answer within {timeout_s:g} s",
        "check the network path to this service and its status page; "
        "`tubeq doctor --timeout` allows longer",
        transient=True,
    )
