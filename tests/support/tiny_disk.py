"""A disk that really fills up: a small tmpfs mounted for one test (root and mount(8)
needed; the test is skipped with the reason otherwise, a failure under
``TUBEQ_REQUIRE_SERVICES=1``). Full-disk and read-only faults are the kernel's own, not a
patched ``open``."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest


@contextmanager
def tmpfs(where: Path, size: str) -> Iterator[Path]:
    """Mount a tmpfs of ``size`` (mount(8)'s units: ``256k``, ``4m``) on ``where`` for the
    ``with`` block."""
    where.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0 or not shutil.which("mount"):
        pytest.skip("mounting a small tmpfs needs root")
    proc = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)], capture_output=True
    )
    if proc.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {proc.stderr.decode().strip()}")
    try:
        yield where
    finally:
        # lazy: a store a failing test left open must not keep the mount (and the test) hung
        subprocess.run(["umount", "-l", str(where)], capture_output=True)


def fill(disk: Path) -> Path:
    """Fill ``disk`` to the last byte; unlink the returned file to free it."""
    filler = disk / "filler"
    with filler.open("wb", buffering=0) as fh:
        for size in (4096, 512, 1):
            try:
                while True:
                    fh.write(b"\0" * size)
            except OSError:
                pass
    return filler


def remount_read_only(disk: Path) -> None:
    subprocess.run(["mount", "-o", "remount,ro", str(disk)], check=True, capture_output=True)
