"""Stage the Worker as its own pywrangler project: ``python -m producer.worker.stage [DEST]``.

pywrangler (``uv run pywrangler deploy``) bundles the packages listed in the
``pyproject.toml`` it finds from the current directory upwards, and wants ``wrangler.toml``
next to it. The repository's own ``pyproject.toml`` is the whole of tubeq (psycopg, boto3,
google-genai, …: none of which run on a Worker), so the Worker is deployed from a staged
folder (default ``build/worker``, ignored by git) holding:

- ``pyproject.toml``: ``producer/worker/pyproject.toml``, the Worker's few dependencies;
- ``wrangler.toml``: the repository's, unchanged (``main`` keeps its relative path);
- the sources the Worker imports (``WORKER_SOURCES``), at the same relative paths.

Re-running replaces the staged sources; pywrangler's ``python_modules`` and venvs stay.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
#: files and folders the Worker imports (tests/unit/test_worker_entry.py checks the list
#: covers every tubeq module an exercised Worker has loaded)
WORKER_SOURCES = (
    "producer/__init__.py",
    "producer/api",
    "producer/worker",
    "producer/backfill.py",
    "producer/enqueue.py",
    "producer/youtube_data_api.py",
    "shared",
)
#: never needed on the Worker: the adapters are the heavy libraries' home
EXCLUDED = ("shared/adapters", "producer/worker/pyproject.toml")
_IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", "py.typed")


def stage(dest: Path, repo: Path = REPO) -> list[Path]:
    """Build the Worker project in ``dest``; returns the staged Python files."""
    dest.mkdir(parents=True, exist_ok=True)
    for top in ("producer", "shared"):
        shutil.rmtree(dest / top, ignore_errors=True)
    for source in WORKER_SOURCES:
        src, out = repo / source, dest / source
        if src.is_dir():
            shutil.copytree(src, out, ignore=_IGNORE)
        else:
            out.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, out)
    for excluded in EXCLUDED:
        target = dest / excluded
        if target.is_dir():
            shutil.rmtree(target)
        elif target.exists():
            target.unlink()
    shutil.copy2(repo / "producer/worker/pyproject.toml", dest / "pyproject.toml")
    shutil.copy2(repo / "wrangler.toml", dest / "wrangler.toml")
    return sorted(dest.glob("producer/**/*.py")) + sorted(dest.glob("shared/**/*.py"))


def main(argv: list[str]) -> int:
    dest = Path(argv[0]) if argv else REPO / "build" / "worker"
    files = stage(dest)
    print(f"staged the Worker ({len(files)} Python files) in {dest}")
    print(f"next: cd {dest} && uv run pywrangler deploy --env production")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
