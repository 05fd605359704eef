"""`tubeq doctor`'s Cloudflare checks: read-only calls that prove the queue side is wired.

Checked: the token is accepted for Queues; the jobs queue exists (by TUBEQ_CF_QUEUE_ID when
set, else by name) and its id is the one the consumers use; the dead-letter queue exists;
the jobs queue has an HTTP pull consumer whose ``max_retries`` is TUBEQ_MAX_RETRIES and
whose dead-letter queue is ours. Every check reads; none creates or leases anything. The
R2 bucket is probed through the S3 API by the R2 checks (``tubeq doctor``'s artifacts part),
which is what the consumers actually use, so it is not repeated here.
"""

from __future__ import annotations

from shared.cloudflare_types import QueueInfo
from shared.doctor.result import CheckResult, CheckStatus
from shared.errors import AccessDenied, ConfigError, TransientError, TubeqError
from shared.factory import build_cloudflare_account
from shared.ports import CloudflareAccount
from shared.settings import Settings

SERVICE = "cloudflare-queues"
SETUP = "run `tubeq cloudflare setup`"
CONSUMER = "HTTP pull consumer"


def check_cloudflare(settings: Settings) -> list[CheckResult]:
    if settings.queue_backend != "cloudflare":
        return [_skip("configured", "TUBEQ_QUEUE_BACKEND is not cloudflare")]
    try:
        # no SDK replays: the doctor's time budget is per service, and its caller decides
        # whether to wait out a transient failure
        account = build_cloudflare_account(settings, max_retries=0)
    except ConfigError as exc:
        return [_fail("configured", exc.message, "set TUBEQ_CF_ACCOUNT_ID and TUBEQ_CF_API_TOKEN")]
    try:
        return _checks(account, settings)
    finally:
        account.close()


def _checks(account: CloudflareAccount, settings: Settings) -> list[CheckResult]:
    # Listing the queues is the token check: it needs the very permission the consumers
    # use (Queues), which a bare token-verify call would not prove.
    try:
        queues = {q.name: q for q in account.list_queues()}
    except TubeqError as exc:
        return [_error("token accepted", exc, "check TUBEQ_CF_API_TOKEN (needs Queues Edit)")]
    results = [_pass("token accepted", f"account {account.account_id}: {len(queues)} queue(s)")]
    try:
        queue_result, jobs = _jobs_queue(account, settings, queues)
    except TubeqError as exc:
        queue_result, jobs = _error("jobs queue", exc, SETUP), None
    results += [queue_result, _dead_letter_queue(settings, queues)]
    if jobs is None:
        results.append(_fail(CONSUMER, "not checked: the jobs queue is missing", SETUP))
        return results
    try:
        results.append(_consumer(account, settings, jobs))
    except TubeqError as exc:
        results.append(_error(CONSUMER, exc, SETUP))
    return results


def _dead_letter_queue(settings: Settings, by_name: dict[str, QueueInfo]) -> CheckResult:
    name, dlq_name = "dead-letter queue", settings.dead_letter_queue_name
    dlq = by_name.get(dlq_name)
    if dlq is None:
        return _fail(name, f"no queue named {dlq_name}", SETUP)
    if settings.cf_dlq_id and settings.cf_dlq_id != dlq.id:
        detail = f"{dlq_name} is {dlq.id}, but TUBEQ_CF_DLQ_ID is {settings.cf_dlq_id}"
        return _fail(name, detail, f"set TUBEQ_CF_DLQ_ID={dlq.id}")
    return _pass(name, f"{dlq_name} ({dlq.id})")


def _jobs_queue(
    account: CloudflareAccount, settings: Settings, by_name: dict[str, QueueInfo]
) -> tuple[CheckResult, QueueInfo | None]:
    name = "jobs queue"
    named = by_name.get(settings.cf_queue_name)
    if settings.cf_queue_id:
        by_id = account.get_queue(settings.cf_queue_id)
        if by_id is not None:
            return _pass(name, f"{by_id.name} ({by_id.id})"), by_id
        if named is not None:
            fix = f"set TUBEQ_CF_QUEUE_ID={named.id}"
            detail = f"no queue has id {settings.cf_queue_id}; {named.name} is {named.id}"
            return _fail(name, detail, fix), named
        return _fail(name, f"no queue has id {settings.cf_queue_id}", SETUP), None
    if named is None:
        return _fail(name, f"no queue named {settings.cf_queue_name}", SETUP), None
    fix = f"set TUBEQ_CF_QUEUE_ID={named.id}"
    return _fail(name, f"{named.name} is {named.id}, but TUBEQ_CF_QUEUE_ID is unset", fix), named


def _consumer(account: CloudflareAccount, settings: Settings, queue: QueueInfo) -> CheckResult:
    name = CONSUMER
    consumers = account.list_consumers(queue.id)
    worker = next((c for c in consumers if c.type == "worker"), None)
    if worker is not None:
        detail = f"{queue.name} has a Worker consumer ({worker.script_name}), not an HTTP pull one"
        return _fail(name, detail, f"remove the Worker consumer, then {SETUP}")
    pull = next((c for c in consumers if c.type == "http_pull"), None)
    if pull is None:
        return _fail(name, f"{queue.name} has no HTTP pull consumer", SETUP)
    problems = []
    have = pull.settings.get("max_retries")
    if have != settings.max_retries:
        shown = "unset" if have is None else int(have)
        problems.append(f"max_retries is {shown}, TUBEQ_MAX_RETRIES is {settings.max_retries}")
    if pull.dead_letter_queue != settings.dead_letter_queue_name:
        problems.append(
            f"dead-letter queue is {pull.dead_letter_queue or '(none)'}, "
            f"not {settings.dead_letter_queue_name}"
        )
    if problems:
        return _fail(name, "; ".join(problems), f"{SETUP} (it updates the consumer)")
    return _pass(
        name,
        f"max_retries {settings.max_retries}, dead-letter queue {settings.dead_letter_queue_name}",
    )


def _error(name: str, exc: TubeqError, fix: str) -> CheckResult:
    if isinstance(exc, AccessDenied):
        fix = "give TUBEQ_CF_API_TOKEN Queues Edit on TUBEQ_CF_ACCOUNT_ID (or fix the id)"
    transient = isinstance(exc, TransientError)
    if transient:
        fix = "check the network and Cloudflare's status page, then run doctor again"
    return CheckResult(
        service=SERVICE,
        name=name,
        status=CheckStatus.FAIL,
        detail=exc.message,
        fix=fix,
        transient=transient,
    )


def _pass(name: str, detail: str) -> CheckResult:
    return CheckResult(service=SERVICE, name=name, status=CheckStatus.PASS, detail=detail)


def _fail(name: str, detail: str, fix: str) -> CheckResult:
    return CheckResult(service=SERVICE, name=name, status=CheckStatus.FAIL, detail=detail, fix=fix)


def _skip(name: str, detail: str) -> CheckResult:
    return CheckResult(service=SERVICE, name=name, status=CheckStatus.SKIP, detail=detail)
