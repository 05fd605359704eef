"""Stage the Worker as its own project: ``python -m producer.worker.stage [DEST]``.

Why a staged folder: pywrangler (``uv run pywrangler deploy``) bundles the packages listed
in the ``pyproject.toml`` next to ``wrangler.toml``, and the repository's own
``pyproject.toml`` is the whole of tubeq (psycopg, boto3, google-genai, …: none of which
run on a Worker). So the Worker is deployed from ``DEST`` (default ``build/worker``, ignored
by git), laid out the way wrangler expects a Python Worker:

- ``pyproject.toml``: ``producer/worker/pyproject.toml``, the Worker's few dependencies;
- ``wrangler.toml``: the repository's, with the operator's ids filled in (below);
- ``src/``: the module root — ``src/entry.py`` (``main``) and the sources the Worker
  imports (``WORKER_SOURCES``) at their package paths. Keeping the sources in ``src/``
  keeps pywrangler's ``python_modules/`` and virtual environment out of the module root,
  so the upload holds our modules and the vendored packages, nothing else (wrangler adds
  ``python_modules/`` itself and refuses it inside the module root).

Operator values that do not belong in the repository are filled in from the environment,
never from placeholders that fail a deploy (docs/deploy.md):

- ``TUBEQ_CF_KV_NAMESPACE_ID``: the watch-state KV namespace id, printed by ``tubeq
  cloudflare setup``. Unset, the binding has no id and wrangler provisions a namespace on
  the first deploy (and reuses it after).
- ``TUBEQ_WORKER_ROUTE``: a custom domain for the Worker (``api.example.com``). Unset, the
  Worker answers on its ``workers.dev`` address.
- ``TUBEQ_BACKEND_URL``: where the Worker forwards the reads it does not serve itself
  (``tubeq serve`` next to the consumers), added to every environment's ``vars``. Unset,
  those endpoints answer 501 and say where reads are served.

Re-running replaces the staged sources; pywrangler's ``python_modules`` and venvs stay.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
import tomllib
from collections.abc import Mapping
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
#: the module root inside the staged project; wrangler.toml's ``main`` points into it
MODULE_ROOT = "src"
ENTRY = "producer/worker/entry.py"
#: files and folders the Worker imports (tests/unit/test_worker_entry.py checks the list
#: covers every tubeq module an exercised Worker has loaded)
WORKER_SOURCES = (
    "producer/__init__.py",
    "producer/api",
    "producer/worker",
    "producer/backfill.py",
    "producer/backfill_estimate.py",
    "producer/backfill_listing.py",
    "producer/enqueue.py",
    "shared",
)
#: never needed on the Worker: the adapters are the heavy libraries' home; the doctor
#: runs next to the consumers
EXCLUDED = ("shared/adapters", "shared/doctor", "producer/worker/pyproject.toml")
_IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", "py.typed")
KV_BINDING = "WATCH_STATE"
_KV_ID = re.compile(r"^[0-9a-f]{32}$")
_ROUTE = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$")


class StageError(ValueError):
    """A deploy-time value is malformed; the message names the variable."""


def stage(dest: Path, repo: Path = REPO, environ: Mapping[str, str] | None = None) -> list[Path]:
    """Build the Worker project in ``dest``; returns the staged Python files."""
    environ = os.environ if environ is None else environ
    config = render_config((repo / "wrangler.toml").read_text(encoding="utf-8"), environ)
    dest.mkdir(parents=True, exist_ok=True)
    root = dest / MODULE_ROOT
    shutil.rmtree(root, ignore_errors=True)
    for source in WORKER_SOURCES:
        src, out = repo / source, root / source
        if src.is_dir():
            shutil.copytree(src, out, ignore=_IGNORE)
        else:
            out.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, out)
    for excluded in EXCLUDED:
        target = root / excluded
        if target.is_dir():
            shutil.rmtree(target)
        elif target.exists():
            target.unlink()
    # the entry sits at the module root, so `import producer…` and `import shared…` resolve
    (root / ENTRY).replace(root / "entry.py")
    shutil.copy2(repo / "producer/worker/pyproject.toml", dest / "pyproject.toml")
    (dest / "wrangler.toml").write_text(config, encoding="utf-8")
    return sorted(root.rglob("*.py"))


def render_config(text: str, environ: Mapping[str, str]) -> str:
    """wrangler.toml with the operator's KV id and route added to every environment."""
    kv_id = environ.get("TUBEQ_CF_KV_NAMESPACE_ID", "").strip()
    backend = environ.get("TUBEQ_BACKEND_URL", "").strip()
    route = environ.get("TUBEQ_WORKER_ROUTE", "").strip().lower()
    if kv_id and not _KV_ID.fullmatch(kv_id):
        raise StageError(
            "TUBEQ_CF_KV_NAMESPACE_ID must be a KV namespace id (32 hex characters, as "
            f"`tubeq cloudflare setup` prints it), got {kv_id!r}"
        )
    if route and not _ROUTE.fullmatch(route):
        raise StageError(
            f"TUBEQ_WORKER_ROUTE must be a host name such as api.example.com, got {route!r}"
        )
    if backend and not re.fullmatch(r"https?://[^\s\"]+", backend):
        raise StageError(
            f"TUBEQ_BACKEND_URL must be an http(s) URL of `tubeq serve`, got {backend!r}"
        )
    lines = []
    for line in text.splitlines():
        lines.append(line)
        if kv_id and line.strip() == f'binding = "{KV_BINDING}"':
            lines.append(f'id = "{kv_id}"')
        if route and line.strip().startswith("name = "):  # the top level and each [env.*]
            lines.append(f"routes = [{{ pattern = {json.dumps(route)}, custom_domain = true }}]")
        if backend and re.fullmatch(r"\[(env\.[\w-]+\.)?vars\]", line.strip()):
            lines.append(f"TUBEQ_BACKEND_URL = {json.dumps(backend)}")
    rendered = "\n".join(lines) + "\n"
    _check_rendered(tomllib.loads(rendered), kv_id, route, backend)
    return rendered


def _check_rendered(config: dict[str, object], kv_id: str, route: str, backend: str) -> None:
    """The text edits above must land where wrangler reads them, in every environment."""
    sections = [config, *dict(config.get("env", {})).values()]  # type: ignore[call-overload]
    for section in sections:
        for kv in section.get("kv_namespaces", []):
            if kv.get("binding") == KV_BINDING and kv.get("id", "") != kv_id:
                raise StageError("wrangler.toml: the KV id did not land in its binding")
        if route and section.get("routes") != [{"pattern": route, "custom_domain": True}]:
            raise StageError("wrangler.toml: the route did not land in every environment")
        if backend and section.get("vars", {}).get("TUBEQ_BACKEND_URL") != backend:
            raise StageError("wrangler.toml: the backend URL did not land in every environment")


def main(argv: list[str]) -> int:
    dest = Path(argv[0]) if argv else REPO / "build" / "worker"
    try:
        files = stage(dest)
    except StageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"staged the Worker ({len(files)} Python files) in {dest}")
    print(f"next: cd {dest} && uv run pywrangler deploy --env production")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
