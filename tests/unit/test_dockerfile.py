"""The consumer image copies everything the wheel is built from (Docker cannot run here,
so this checks the build context statically against pyproject's package list)."""

from __future__ import annotations

import fnmatch
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _copied() -> set[str]:
    out = set()
    for line in (ROOT / "Dockerfile").read_text().splitlines():
        parts = line.split()
        if parts[:1] == ["COPY"] and not any(p.startswith("--from") for p in parts):
            out.update(p.rstrip("/") for p in parts[1:-1])
    return out


def _ignored(path: str) -> bool:
    patterns = [
        ln.strip()
        for ln in (ROOT / ".dockerignore").read_text().splitlines()
        if ln.strip() and not ln.startswith("#")
    ]
    return any(fnmatch.fnmatch(path, p) for p in patterns)


def test_every_packaged_directory_is_copied_and_not_ignored() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    mapped = config.get("package-dir", {})
    needed = {"pyproject.toml", "README.md"}
    for package in config["packages"]:
        top = package.split(".")[0]
        needed.add(mapped.get(top, top))
    copied = _copied()
    assert needed <= copied, f"Dockerfile does not COPY {sorted(needed - copied)}"
    assert not [p for p in needed if _ignored(p)], ".dockerignore hides a packaged directory"


def test_the_image_runs_the_consumer_as_a_non_root_user() -> None:
    text = (ROOT / "Dockerfile").read_text()
    assert 'ENTRYPOINT ["tubeq"]' in text and 'CMD ["consume"]' in text
    assert "\nUSER " in text and "STOPSIGNAL SIGTERM" in text
