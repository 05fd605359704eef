"""`tubeq cloudflare setup` and the Cloudflare part of `tubeq doctor`, with the real
``cloudflare`` SDK against the local API stub (``tests/support/cf_api_stub.py``).

What this checks: the exact requests setup sends (paths, bodies; the consumer settings are
the consumers' own settings), that a second run sends no mutating request, updates of a
drifted consumer, lifecycle rules merged rather than replaced, a Worker consumer refused,
a refused token (exit code 4, no token in the output), ``--dry-run``, the ``.env`` lines and
``--json``; and every pass and fail path of ``check_cloudflare``. What only production can
check: Cloudflare's exact wording and the fields it adds (see the stub's docstring).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from shared.adapters.cloudflare_account import CloudflareAccount
from shared.cloudflare_setup import LIFECYCLE_RULE_ID, apply, plan
from shared.doctor.cloudflare_checks import check_cloudflare
from shared.doctor.result import CheckStatus
from shared.errors import AccessDenied, ConfigError
from shared.settings import Settings
from tests.support.cf_api_stub import ApiRequest, CfApiStub
from tubeq.cli.main import app

pytestmark = pytest.mark.services

OTHER_RULE = {
    "id": "keep-me",
    "enabled": True,
    "conditions": {"prefix": "exports/"},
    "deleteObjectsTransition": {"condition": {"type": "Age", "maxAge": 86_400}},
}


@pytest.fixture
def stub() -> Iterator[CfApiStub]:
    with CfApiStub() as server:
        yield server


def make_settings(stub: CfApiStub, **kw: Any) -> Settings:
    base: dict[str, Any] = {
        "cf_account_id": stub.account_id,
        "cf_api_token": stub.token,
        "cf_api_url": stub.url,
        "cf_timeout_s": 5.0,
    }
    return Settings(**(base | kw))


def provision(stub: CfApiStub, **kw: Any) -> Settings:
    settings = make_settings(stub, **kw)
    account = CloudflareAccount.from_settings(settings.cloudflare_account)
    try:
        apply(account, plan(account, settings))
    finally:
        account.close()
    return settings


def cli(stub: CfApiStub, monkeypatch: pytest.MonkeyPatch, *args: str, **env: str) -> Result:
    monkeypatch.setenv("TUBEQ_CF_ACCOUNT_ID", stub.account_id)
    monkeypatch.setenv("TUBEQ_CF_API_TOKEN", stub.token)
    monkeypatch.setenv("TUBEQ_CF_API_URL", stub.url)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return CliRunner().invoke(app, ["cloudflare", "setup", *args])


def short(requests: list[ApiRequest], stub: CfApiStub) -> list[tuple[str, str, Any]]:
    prefix = f"/client/v4/accounts/{stub.account_id}/"
    out = []
    for r in requests:
        path = r.path.removeprefix(prefix)
        for q in stub.queues.values():
            path = path.replace(q.id, f"<{q.name}>")
        out.append((r.method, path, r.body))
    return out


# ---- setup ----------------------------------------------------------------------------


def test_first_run_creates_everything_with_the_exact_requests(
    stub: CfApiStub, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = cli(
        stub,
        monkeypatch,
        TUBEQ_MAX_RETRIES="5",
        TUBEQ_VISIBILITY_TIMEOUT_S="900",
        TUBEQ_RETRY_BASE_S="12.6",
        TUBEQ_R2_CACHE_EXPIRY_DAYS="7",
    )
    assert result.exit_code == 0, result.output
    assert short(stub.mutations(), stub) == [
        ("POST", "queues", {"queue_name": "tubeq-jobs"}),
        ("POST", "queues", {"queue_name": "tubeq-jobs-dlq"}),
        (
            "POST",
            "queues/<tubeq-jobs>/consumers",
            {
                "type": "http_pull",
                "dead_letter_queue": "tubeq-jobs-dlq",
                "settings": {"max_retries": 5, "visibility_timeout_ms": 900_000, "retry_delay": 13},
            },
        ),
        (
            "POST",
            "queues/<tubeq-jobs-dlq>/consumers",
            {
                "type": "http_pull",
                "settings": {"max_retries": 100, "visibility_timeout_ms": 60_000},
            },
        ),
        ("POST", "r2/buckets", {"name": "tubeq-artifacts"}),
        (
            "PUT",
            "r2/buckets/tubeq-artifacts/lifecycle",
            {
                "rules": [
                    {
                        "id": LIFECYCLE_RULE_ID,
                        "enabled": True,
                        "conditions": {"prefix": "cache/gemini/"},
                        "deleteObjectsTransition": {
                            "condition": {"type": "Age", "maxAge": 7 * 86_400}
                        },
                    }
                ]
            },
        ),
        ("POST", "storage/kv/namespaces", {"title": "tubeq-watch"}),
    ]
    jobs, dlq = stub.queue_named("tubeq-jobs"), stub.queue_named("tubeq-jobs-dlq")
    (ns_id,) = stub.namespaces
    lines = result.stdout.splitlines()
    assert f"TUBEQ_CF_QUEUE_ID={jobs.id}" in lines
    assert f"TUBEQ_CF_DLQ_ID={dlq.id}" in lines
    assert f"TUBEQ_CF_KV_NAMESPACE_ID={ns_id}" in lines
    assert "created" in result.stdout
    assert stub.token not in result.output


def test_second_run_changes_nothing(stub: CfApiStub, monkeypatch: pytest.MonkeyPatch) -> None:
    assert cli(stub, monkeypatch).exit_code == 0
    stub.clear()
    result = cli(stub, monkeypatch)
    assert result.exit_code == 0, result.output
    assert stub.mutations() == []
    assert stub.requests, "it did read"
    assert "nothing to change" in result.stdout
    assert "created" not in result.stdout
    assert "TUBEQ_CF_QUEUE_ID=" in result.stdout


def test_a_changed_max_retries_updates_the_consumer(
    stub: CfApiStub, monkeypatch: pytest.MonkeyPatch
) -> None:
    provision(stub)
    stub.clear()
    result = cli(stub, monkeypatch, TUBEQ_MAX_RETRIES="7")
    assert result.exit_code == 0, result.output
    jobs = stub.queue_named("tubeq-jobs")
    consumer_id = jobs.consumers[0]["consumer_id"]
    assert short(stub.mutations(), stub) == [
        (
            "PUT",
            f"queues/<tubeq-jobs>/consumers/{consumer_id}",
            {
                "type": "http_pull",
                "dead_letter_queue": "tubeq-jobs-dlq",
                "settings": {"max_retries": 7, "visibility_timeout_ms": 600_000, "retry_delay": 10},
            },
        )
    ]
    assert "max_retries 3 → 7" in result.stdout
    assert jobs.consumers[0]["settings"]["max_retries"] == 7


def test_existing_lifecycle_rules_are_kept(stub: CfApiStub) -> None:
    stub.buckets["tubeq-artifacts"] = [OTHER_RULE]
    provision(stub, r2_cache_expiry_days=30)
    ours = {
        "id": LIFECYCLE_RULE_ID,
        "enabled": True,
        "conditions": {"prefix": "cache/gemini/"},
        "deleteObjectsTransition": {"condition": {"type": "Age", "maxAge": 30 * 86_400}},
    }
    assert stub.buckets["tubeq-artifacts"] == [OTHER_RULE, ours]
    # a new expiry replaces our rule in place, and still keeps the other one
    stub.clear()
    provision(stub, r2_cache_expiry_days=3)
    (put,) = stub.mutations()
    three_days = {"condition": {"type": "Age", "maxAge": 3 * 86_400}}
    assert put.body == {"rules": [OTHER_RULE, ours | {"deleteObjectsTransition": three_days}]}


def test_a_worker_consumer_is_refused(stub: CfApiStub, monkeypatch: pytest.MonkeyPatch) -> None:
    queue_id = stub.add_queue("tubeq-jobs")
    stub.add_consumer(queue_id, type="worker", script_name="tubeq-worker", settings={})
    result = cli(stub, monkeypatch)
    assert result.exit_code == 1
    assert "Worker consumer (tubeq-worker)" in result.stderr
    assert "wrangler queues consumer remove tubeq-jobs tubeq-worker" in result.stderr
    assert stub.mutations() == []
    with pytest.raises(ConfigError, match="either a Worker consumer or an HTTP pull"):
        provision(stub)


def test_a_refused_token_exits_4_and_says_which_permission(
    stub: CfApiStub, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = cli(stub, monkeypatch, TUBEQ_CF_API_TOKEN="wrong-token-value")
    assert result.exit_code == 4
    assert "refused the API token" in result.stderr
    assert "Queues Edit" in result.stderr
    assert "wrong-token-value" not in result.output + result.stderr
    assert stub.mutations() == []


def test_a_token_without_r2_names_the_r2_permission(stub: CfApiStub) -> None:
    stub.deny("r2/")
    settings = make_settings(stub)
    account = CloudflareAccount.from_settings(settings.cloudflare_account)
    with pytest.raises(AccessDenied, match="Workers R2 Storage Edit"):
        plan(account, settings)
    account.close()


def test_missing_account_settings_exit_2(monkeypatch: pytest.MonkeyPatch) -> None:
    result = CliRunner().invoke(app, ["cloudflare", "setup"])
    assert result.exit_code == 2
    assert "TUBEQ_CF_ACCOUNT_ID and TUBEQ_CF_API_TOKEN" in result.stderr


def test_dry_run_mutates_nothing(stub: CfApiStub, monkeypatch: pytest.MonkeyPatch) -> None:
    result = cli(stub, monkeypatch, "--dry-run")
    assert result.exit_code == 0, result.output
    assert stub.mutations() == []
    assert "would create" in result.stdout
    assert "nothing was changed" in result.stdout
    # with everything there but a drifted consumer, the plan names the change
    provision(stub)
    stub.clear()
    result = cli(stub, monkeypatch, "--dry-run", TUBEQ_MAX_RETRIES="9")
    assert stub.mutations() == []
    assert "would update" in result.stdout
    assert "max_retries 3 → 9" in result.stdout


def test_json_output_parses(stub: CfApiStub, monkeypatch: pytest.MonkeyPatch) -> None:
    result = cli(stub, monkeypatch, "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["applied"] is True
    assert [s["action"] for s in data["steps"]] == ["created"] * 7
    assert data["env"]["TUBEQ_CF_QUEUE_ID"] == stub.queue_named("tubeq-jobs").id
    again = json.loads(cli(stub, monkeypatch, "--json", "--dry-run").stdout)
    assert again["applied"] is False
    assert {s["action"] for s in again["steps"]} == {"unchanged"}


def test_a_stale_queue_id_setting_is_pointed_out(
    stub: CfApiStub, monkeypatch: pytest.MonkeyPatch
) -> None:
    provision(stub)
    result = cli(stub, monkeypatch, TUBEQ_CF_QUEUE_ID="f" * 32)
    assert result.exit_code == 0
    assert "TUBEQ_CF_QUEUE_ID is set to " + "f" * 32 in result.stderr


def test_a_global_key_in_the_environment_does_not_replace_the_token(
    stub: CfApiStub, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the SDK would prefer CLOUDFLARE_EMAIL + CLOUDFLARE_API_KEY over the token it is given
    monkeypatch.setenv("CLOUDFLARE_EMAIL", "someone@example.com")
    monkeypatch.setenv("CLOUDFLARE_API_KEY", "global-key")
    result = cli(stub, monkeypatch)
    assert result.exit_code == 0, result.output


def test_kv_namespaces_are_found_past_the_first_page(stub: CfApiStub) -> None:
    for n in range(150):
        stub.namespaces[f"{n:032x}"] = f"other-{n}"
    stub.namespaces["f" * 32] = "tubeq-watch"
    settings = make_settings(stub)
    account = CloudflareAccount.from_settings(settings.cloudflare_account)
    try:
        the_plan = plan(account, settings)
    finally:
        account.close()
    assert the_plan.kv.action == "unchanged"
    assert the_plan.kv.id == "f" * 32
    pages = [r.query.get("page", "1") for r in stub.requests if r.path.endswith("namespaces")]
    assert pages == ["1", "2"]


# ---- doctor ---------------------------------------------------------------------------


def doctor(stub: CfApiStub, **kw: Any) -> dict[str, tuple[CheckStatus, str, str | None]]:
    settings = make_settings(stub, queue_backend="cloudflare", **kw)
    return {r.name: (r.status, r.detail, r.fix) for r in check_cloudflare(settings)}


def test_doctor_passes_on_a_provisioned_account(stub: CfApiStub) -> None:
    provision(stub)
    jobs, dlq = stub.queue_named("tubeq-jobs"), stub.queue_named("tubeq-jobs-dlq")
    stub.clear()
    checks = doctor(stub, cf_queue_id=jobs.id, cf_dlq_id=dlq.id)
    assert {name: status for name, (status, _, _) in checks.items()} == {
        "token accepted": CheckStatus.PASS,
        "jobs queue": CheckStatus.PASS,
        "dead-letter queue": CheckStatus.PASS,
        "HTTP pull consumer": CheckStatus.PASS,
    }
    assert stub.mutations() == []


def test_doctor_skips_when_the_queue_is_not_cloudflare() -> None:
    (result,) = check_cloudflare(Settings())
    assert result.status is CheckStatus.SKIP


def test_doctor_fails_on_a_refused_token(stub: CfApiStub) -> None:
    checks = doctor(stub, cf_api_token="nope", cf_queue_id="a" * 32)
    assert list(checks) == ["token accepted"]
    status, detail, fix = checks["token accepted"]
    assert status is CheckStatus.FAIL
    assert "refused the API token" in detail
    assert fix is not None and "Queues Edit" in fix


def test_doctor_fails_on_a_missing_queue_and_dlq(stub: CfApiStub) -> None:
    checks = doctor(stub, cf_queue_id="a" * 32)
    assert checks["jobs queue"][0] is CheckStatus.FAIL
    assert checks["jobs queue"][2] == "run `tubeq cloudflare setup`"
    assert checks["dead-letter queue"][0] is CheckStatus.FAIL
    assert "tubeq-jobs-dlq" in checks["dead-letter queue"][1]
    assert checks["HTTP pull consumer"][0] is CheckStatus.FAIL
    assert "jobs queue is missing" in checks["HTTP pull consumer"][1]


def test_doctor_fails_on_a_missing_dlq_only(stub: CfApiStub) -> None:
    jobs = stub.add_queue("tubeq-jobs")
    checks = doctor(stub, cf_queue_id=jobs)
    assert checks["jobs queue"][0] is CheckStatus.PASS
    assert checks["dead-letter queue"][0] is CheckStatus.FAIL
    assert checks["dead-letter queue"][2] == "run `tubeq cloudflare setup`"


def test_doctor_fails_on_a_missing_consumer(stub: CfApiStub) -> None:
    jobs = stub.add_queue("tubeq-jobs")
    stub.add_queue("tubeq-jobs-dlq")
    status, detail, fix = doctor(stub, cf_queue_id=jobs)["HTTP pull consumer"]
    assert status is CheckStatus.FAIL
    assert "no HTTP pull consumer" in detail
    assert fix == "run `tubeq cloudflare setup`"


def test_doctor_fails_on_a_different_max_retries(stub: CfApiStub) -> None:
    provision(stub, max_retries=3)
    jobs = stub.queue_named("tubeq-jobs").id
    status, detail, fix = doctor(stub, cf_queue_id=jobs, max_retries=6)["HTTP pull consumer"]
    assert status is CheckStatus.FAIL
    assert "max_retries is 3, TUBEQ_MAX_RETRIES is 6" in detail
    assert fix is not None and "tubeq cloudflare setup" in fix


def test_doctor_fails_on_a_foreign_dlq(stub: CfApiStub) -> None:
    jobs = stub.add_queue("tubeq-jobs")
    stub.add_queue("tubeq-jobs-dlq")
    stub.add_queue("someone-elses")
    stub.add_consumer(
        jobs, type="http_pull", dead_letter_queue="someone-elses", settings={"max_retries": 3}
    )
    status, detail, _ = doctor(stub, cf_queue_id=jobs)["HTTP pull consumer"]
    assert status is CheckStatus.FAIL
    assert "dead-letter queue is someone-elses, not tubeq-jobs-dlq" in detail


def test_doctor_fails_on_a_queue_id_mismatch(stub: CfApiStub) -> None:
    provision(stub)
    jobs = stub.queue_named("tubeq-jobs").id
    status, detail, fix = doctor(stub, cf_queue_id="b" * 32)["jobs queue"]
    assert status is CheckStatus.FAIL
    assert "no queue has id " + "b" * 32 in detail
    assert fix == f"set TUBEQ_CF_QUEUE_ID={jobs}"
    unset = doctor(stub)["jobs queue"]
    assert unset[0] is CheckStatus.FAIL
    assert unset[2] == f"set TUBEQ_CF_QUEUE_ID={jobs}"
    dlq_status, _, dlq_fix = doctor(stub, cf_queue_id=jobs, cf_dlq_id="c" * 32)["dead-letter queue"]
    assert dlq_status is CheckStatus.FAIL
    assert dlq_fix == f"set TUBEQ_CF_DLQ_ID={stub.queue_named('tubeq-jobs-dlq').id}"


def test_doctor_reports_an_unreachable_api_as_transient(stub: CfApiStub) -> None:
    url = stub.url
    stub.stop()
    settings = Settings(
        queue_backend="cloudflare",
        cf_account_id=stub.account_id,
        cf_api_token=stub.token,
        cf_api_url=url,
        cf_timeout_s=2.0,
    )
    (result,) = check_cloudflare(settings)
    assert result.status is CheckStatus.FAIL
    assert result.transient
