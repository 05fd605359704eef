"""The demo's data (``tubeq demo``: the sample channels backfilled and consumed on the
embedded backends), made once per session and copied for each test that changes it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest


def run_demo(data_dir: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TUBEQ_")}
    done = subprocess.run(
        [sys.executable, "-m", "tubeq", "demo", "--data-dir", str(data_dir)],
        capture_output=True,
        text=True,
        env=env | {"COLUMNS": "120"},
        cwd=data_dir.parent,  # no stray .env
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    (data_dir.parent / "demo.out").write_text(done.stdout)


@pytest.fixture(scope="session")
def demo_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data = tmp_path_factory.mktemp("demo-template") / "demo"
    data.mkdir()
    run_demo(data)
    return data


@pytest.fixture()
def demo_dir(demo_template: Path, tmp_path: Path) -> Path:
    """A fresh copy of the demo's data for this test."""
    target = tmp_path / "demo"
    shutil.copytree(demo_template, target, symlinks=True)
    return target
