"""wrangler.toml, parsed: the bindings the Worker code uses exist in every environment, no
queue consumer is declared (wrangler accepts only Worker consumers there; `tubeq cloudflare
setup` creates the HTTP pull consumers), no id placeholder, a cron is set, the Worker's vars
load as settings without any secret but the API keys, the production names match the
settings' defaults, and no secret is written in the file. Cloudflare's own verdict on the
file comes from the real wrangler: tests/integration/test_wrangler_deploy.py."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

import pytest

from producer.worker import bridge, stage
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


def test_the_worker_is_a_python_worker_whose_entry_is_staged() -> None:
    # `main` is relative to the staged project (producer.worker.stage), whose module root
    # is src/: the repository's entry becomes src/entry.py there
    assert CONFIG["main"] == f"{stage.MODULE_ROOT}/entry.py"
    assert (REPO / stage.ENTRY).is_file()
    assert "python_workers" in CONFIG["compatibility_flags"]
    assert re.fullmatch(r"20\d\d-\d\d-\d\d", CONFIG["compatibility_date"])
    assert CONFIG["compatibility_date"] >= "2025-01-01"
    assert "rules" not in CONFIG and "base_dir" not in CONFIG  # wrangler adds the .py rule


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_bindings_the_code_uses_exist(env: str) -> None:
    cfg = section(env)
    producers = {p["binding"]: p["queue"] for p in cfg["queues"]["producers"]}
    assert bridge.QUEUE_BINDING in producers
    assert {kv["binding"] for kv in cfg["kv_namespaces"]} >= {bridge.STATE_BINDING}
    assert {b["binding"] for b in cfg["r2_buckets"]} >= {ARTIFACTS_BINDING}


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_no_consumer_and_no_placeholder_is_declared(env: str) -> None:
    cfg = section(env)
    assert "consumers" not in cfg["queues"], "HTTP pull consumers: `tubeq cloudflare setup`"
    for kv in cfg["kv_namespaces"]:
        # the id comes from TUBEQ_CF_KV_NAMESPACE_ID at stage time, or wrangler provisions one
        assert "id" not in kv


def test_production_names_are_the_settings_defaults() -> None:
    # `tubeq cloudflare setup` and the consumers find these by the settings' defaults
    prod = section("production")
    defaults = Settings()
    assert prod["queues"]["producers"][0]["queue"] == defaults.cf_queue_name
    assert prod["r2_buckets"][0]["bucket_name"] == defaults.r2_bucket


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


def test_the_deploy_guide_follows_the_tools() -> None:
    assert "tubeq cloudflare setup" in DEPLOY_DOC
    assert "uv run pywrangler deploy" in DEPLOY_DOC
    assert "python3 -m producer.worker.stage" in DEPLOY_DOC
    bare = [line for line in DEPLOY_DOC.splitlines() if line.strip().startswith("wrangler deploy")]
    assert bare == [], "the Worker's packages are bundled by pywrangler, not wrangler"
    assert "Node 20" not in DEPLOY_DOC  # wrangler needs Node >= 22.12


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
