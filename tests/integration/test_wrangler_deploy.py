"""The real wrangler (pinned in package.json, run by the Node the nodejs wheel brings) judges
the staged Worker: ``wrangler deploy --dry-run --outdir`` for every environment.

The configuration as committed passes in every environment; and the check bites: the two
mistakes wrangler rejected before (an ``http_pull`` consumer in the config, a
``PythonModule`` rule) fail it with wrangler's own words, and an upload over 3 MB
compressed fails it on size. The stage step fills the operator's KV id, route and backend
URL into every environment, and names the variable when a value is malformed.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

from producer.worker import stage as stage_module
from tests.support.services import unavailable

REPO = Path(__file__).resolve().parents[2]
KV_ID = "0123456789abcdef0123456789abcdef"

pytestmark = [pytest.mark.services, pytest.mark.slow]


def _load_check() -> ModuleType:
    spec = importlib.util.spec_from_file_location("worker_check", REPO / "scripts/worker_check.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["worker_check"] = module
    spec.loader.exec_module(module)
    return module


check = _load_check()


@pytest.fixture()
def wrangler() -> None:
    if not check.WRANGLER.is_file():
        unavailable("wrangler is not installed: `make node-tools` runs npm ci")


@pytest.fixture()
def repo_copy(tmp_path: Path) -> Iterator[Path]:
    """A copy of what the stage step reads, so a test may break its wrangler.toml."""
    root = tmp_path / "repo"
    for part in ("producer", "shared"):
        shutil.copytree(REPO / part, root / part, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy2(REPO / "wrangler.toml", root / "wrangler.toml")
    yield root


def _stage_and_run(repo: Path, tmp_path: Path, env: str | None = None) -> object:
    project = tmp_path / "worker"
    stage_module.stage(project, repo=repo, environ={})
    return check.dry_run(project, env, tmp_path / "out")


def test_every_environment_deploys_with_the_real_wrangler(
    wrangler: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    results = check.check(vendor=False, keep=tmp_path)
    config = tomllib.loads((REPO / "wrangler.toml").read_text())
    assert [r.environment for r in results] == ["top level", *sorted(config["env"])]
    for result in results:
        assert "--dry-run: exiting now." in result.output
        assert "env.JOBS" in result.output and "Queue" in result.output
        assert "env.WATCH_STATE" in result.output
        # our modules are there, under the module root: entry.py is `main`, not a module
        assert "producer/worker/bridge.py" in result.output
        assert "shared/adapters" not in result.output  # the heavy adapters stay home
        assert 0 < result.gzip_bytes < check.FREE_PLAN_LIMIT_BYTES
        with capsys.disabled():
            print(f"\n[{result.environment}] {result.modules} modules, gzip {result.gzip_bytes} B")
    written = tmp_path / "out" / "production"
    assert (written / "entry.py").is_file() and (written / "producer/api/app.py").is_file()


def test_an_http_pull_consumer_in_the_config_is_refused(
    wrangler: None, repo_copy: Path, tmp_path: Path
) -> None:
    config = repo_copy / "wrangler.toml"
    config.write_text(
        config.read_text()
        + '\n[[env.production.queues.consumers]]\nqueue = "tubeq-jobs"\ntype = "http_pull"\n'
    )
    with pytest.raises(check.CheckFailed, match='Only "worker" consumers can be configured'):
        _stage_and_run(repo_copy, tmp_path, "production")


def test_a_python_module_rule_is_refused(wrangler: None, repo_copy: Path, tmp_path: Path) -> None:
    config = repo_copy / "wrangler.toml"
    text = config.read_text().replace(
        'compatibility_flags = ["python_workers"]',
        'compatibility_flags = ["python_workers"]\n'
        'rules = [{ type = "PythonModule", globs = ["**/*.py"] }]',
    )
    config.write_text(text)
    with pytest.raises(check.CheckFailed, match="refused the top level"):
        _stage_and_run(repo_copy, tmp_path)


def test_an_upload_over_three_megabytes_compressed_fails(
    wrangler: None, repo_copy: Path, tmp_path: Path
) -> None:
    project = tmp_path / "worker"
    stage_module.stage(project, repo=repo_copy, environ={})
    vendored = project / "python_modules" / "bloat"
    vendored.mkdir(parents=True)
    (vendored / "__init__.py").write_bytes(b"")
    (vendored / "blob.bin").write_bytes(os.urandom(3_200_000))  # incompressible
    with pytest.raises(check.CheckFailed, match="over the free plan's 3 MB"):
        check.dry_run(project, None, tmp_path / "out")


def test_the_stage_step_fills_the_operator_values_in_every_environment(
    wrangler: None, tmp_path: Path
) -> None:
    project = tmp_path / "worker"
    environ = {
        "TUBEQ_CF_KV_NAMESPACE_ID": KV_ID,
        "TUBEQ_WORKER_ROUTE": "tubeq.example.com",
        "TUBEQ_BACKEND_URL": "https://backend.example.com",
    }
    stage_module.stage(project, environ=environ)
    config = tomllib.loads((project / "wrangler.toml").read_text())
    for section in (config, *config["env"].values()):
        assert section["kv_namespaces"] == [{"binding": "WATCH_STATE", "id": KV_ID}]
        assert section["routes"] == [{"pattern": "tubeq.example.com", "custom_domain": True}]
        assert section["vars"]["TUBEQ_BACKEND_URL"] == "https://backend.example.com"
    result = check.dry_run(project, "production", tmp_path / "out")
    assert f"env.WATCH_STATE ({KV_ID})" in result.output
    assert "https://backend.example.com" in result.output


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("TUBEQ_CF_KV_NAMESPACE_ID", "REPLACE-WITH-KV-NAMESPACE-ID"),
        ("TUBEQ_WORKER_ROUTE", "https://tubeq.example.com/"),
        ("TUBEQ_BACKEND_URL", "backend.example.com"),
    ],
)
def test_a_malformed_operator_value_is_named(tmp_path: Path, name: str, value: str) -> None:
    with pytest.raises(stage_module.StageError, match=name):
        stage_module.stage(tmp_path / "worker", environ={name: value})
    assert not (tmp_path / "worker").exists()  # nothing half-staged
