"""wrangler.toml, parsed: the bindings the Worker code uses exist in every environment, the
queues have HTTP pull consumers with a dead-letter queue (declared here and only here: the
docs do not create them a second time), a cron is set, the Worker's vars load as settings
without any secret but the API keys, and no secret is written in the file. (What only
`pywrangler deploy` can check: that Cloudflare accepts it.)"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

import pytest

from producer.worker import bridge
from shared.settings import Settings

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS_BINDING = "ARTIFACTS"
DEPLOY_DOC = (REPO / "docs" / "deploy.md").read_text(encoding="utf-8")
CONFIG = tomllib.loads((REPO / "wrangler.toml").read_text(encoding="utf-8"))
ENVIRONMENTS = ["top level", "staging", "production"]
SECRET_SETTINGS = {
    "TUBEQ_" + n.upper() for n, f in Settings.model_fields.items() if "Secret" in str(f.annotation)
}


def section(env: str) -> dict[str, Any]:
    if env == "top level":
        return CONFIG
    found: dict[str, Any] = CONFIG["env"][env]
    return found


def test_the_worker_is_a_python_worker_with_an_existing_entry() -> None:
    assert CONFIG["main"] == "producer/worker/entry.py"
    assert (REPO / CONFIG["main"]).is_file()
    assert "python_workers" in CONFIG["compatibility_flags"]
    assert re.fullmatch(r"20\d\d-\d\d-\d\d", CONFIG["compatibility_date"])
    assert CONFIG["compatibility_date"] >= "2025-01-01"


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_bindings_the_code_uses_exist(env: str) -> None:
    cfg = section(env)
    producers = {p["binding"]: p["queue"] for p in cfg["queues"]["producers"]}
    assert bridge.QUEUE_BINDING in producers
    assert {kv["binding"] for kv in cfg["kv_namespaces"]} >= {bridge.STATE_BINDING}
    assert {b["binding"] for b in cfg["r2_buckets"]} >= {ARTIFACTS_BINDING}


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_jobs_queue_has_an_http_pull_consumer_and_a_dlq(env: str) -> None:
    cfg = section(env)
    jobs_queue = next(p["queue"] for p in cfg["queues"]["producers"] if p["binding"] == "JOBS")
    consumers = {c["queue"]: c for c in cfg["queues"]["consumers"]}
    jobs = consumers[jobs_queue]
    assert jobs["type"] == "http_pull"
    assert 60_000 <= jobs["visibility_timeout_ms"] <= 43_200_000
    assert 0 <= jobs["max_retries"] <= 100
    assert jobs["retry_delay"] >= 0
    dlq = jobs["dead_letter_queue"]
    assert dlq != jobs_queue
    assert consumers[dlq]["type"] == "http_pull"  # so `tubeq dlq` can read it
    # TUBEQ_MAX_RETRIES is informative for the Cloudflare adapter; keep it equal
    assert int(cfg["vars"]["TUBEQ_MAX_RETRIES"]) == jobs["max_retries"]


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_cron_and_vars_load_with_only_the_api_keys_secret(env: str) -> None:
    cfg = section(env)
    crons = cfg["triggers"]["crons"]
    assert crons and all(len(c.split()) == 5 for c in crons)
    # the Worker reads no result or artifact store: nothing selects one, nothing else needed
    values = {k[6:].lower(): v for k, v in cfg["vars"].items()}
    settings = Settings.load(**values, api_keys="k" * 32)
    assert settings.missing() == []
    assert not {"TUBEQ_RESULTS_BACKEND", "TUBEQ_ARTIFACTS_BACKEND"} & set(cfg["vars"])


def test_consumers_are_created_by_the_config_only() -> None:
    assert "queues consumer http add" not in DEPLOY_DOC
    assert "uv run pywrangler deploy" in DEPLOY_DOC
    assert "python3 -m producer.worker.stage" in DEPLOY_DOC
    bare = [line for line in DEPLOY_DOC.splitlines() if line.strip().startswith("wrangler deploy")]
    assert bare == [], "the Worker's packages are bundled by pywrangler, not wrangler"


def _strings(node: Any, path: str = "") -> list[tuple[str, str]]:
    if isinstance(node, dict):
        return [s for k, v in node.items() for s in _strings(v, f"{path}.{k}")]
    if isinstance(node, list):
        return [s for i, v in enumerate(node) for s in _strings(v, f"{path}[{i}]")]
    return [(path, node)] if isinstance(node, str) else []


def test_no_secret_is_written_in_the_file() -> None:
    for env in ENVIRONMENTS:
        written = set(section(env).get("vars", {}))
        assert not written & SECRET_SETTINGS, f"{env}: secrets belong in `wrangler secret put`"
    for path, value in _strings(CONFIG):
        assert not re.search(r"(?i)(token|secret|password|api_key)", path.rsplit(".", 1)[-1])
        assert not re.fullmatch(r"[A-Za-z0-9_\-]{32,}", value), f"{path} looks like a secret"
        assert not value.startswith(("AIza", "eyJ", "sk-")), f"{path} looks like a key"
