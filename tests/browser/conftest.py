"""Browser tests: Debian's chromium (never a downloaded browser) driven by Playwright for
Python, against `tubeq serve` started for real on the demo's data (127.0.0.1, a free port).

Without chromium (``/usr/bin/chromium``, or ``TUBEQ_CHROMIUM``) the tests skip saying so;
under TUBEQ_REQUIRE_SERVICES=1 that skip is a failure, as for PostgreSQL. ``make services``
installs the ``chromium`` package when it is missing and it can.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from tests.support.demo_data import demo_dir, demo_template  # noqa: F401  (fixtures)
from tests.support.services import free_port, unavailable

OPERATOR = "operator-key-0123456789abcdef"
ANALYST = "analyst-key-fedcba9876543210"
#: where the tests save a screenshot of each page: docs/screenshots/ under `make screenshots`
#: (SCREENSHOTS_DIR set), else a throwaway folder, so a test run leaves the tree alone
SCREENSHOTS = Path(os.environ.get("SCREENSHOTS_DIR") or Path(tempfile.gettempdir()) / "tubeq-shots")


def chromium_path() -> str | None:
    for candidate in (os.environ.get("TUBEQ_CHROMIUM"), "/usr/bin/chromium"):
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return candidate
    found = shutil.which("chromium")
    return found


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TUBEQ_")}
    return env | extra


@dataclass
class Server:
    url: str
    data_dir: Path
    process: subprocess.Popen[bytes]
    env: dict[str, str] = field(default_factory=dict)

    def tubeq(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "tubeq", *args],
            capture_output=True,
            text=True,
            env=self.env,
            cwd=self.data_dir.parent,
            timeout=timeout,
            check=False,
        )

    def popen(self, *args: str, **env: str) -> subprocess.Popen[bytes]:
        """A tubeq command left running (the caller stops it), output discarded."""
        return subprocess.Popen(
            [sys.executable, "-m", "tubeq", *args],
            env=self.env | env,
            cwd=self.data_dir.parent,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )


@pytest.fixture()
def server(demo_dir: Path) -> Iterator[Server]:  # noqa: F811
    port = free_port()
    env = clean_env(
        TUBEQ_DATA_DIR=str(demo_dir),
        TUBEQ_API_KEYS=OPERATOR,
        TUBEQ_ANALYST_KEYS=ANALYST,
        TUBEQ_LOG_LEVEL="WARNING",
        # the demo's consumer settings: short retries, fast polling
        TUBEQ_POLL_INTERVAL_S="0.1",
    )
    log = (demo_dir.parent / "serve.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "tubeq", "serve", "--port", str(port)],
        env=env,
        cwd=demo_dir.parent,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90  # a bound for a loaded machine, not a measure
    while True:
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            log.close()
            text = (demo_dir.parent / "serve.log").read_text(errors="replace")
            pytest.fail(f"`tubeq serve` did not start: {text[-2000:]}")
        time.sleep(0.1)
    try:
        yield Server(url, demo_dir, process, env)
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    path = chromium_path()
    if path is None:
        unavailable(
            "no chromium at /usr/bin/chromium (apt-get install chromium, or `make services` "
            "as root; TUBEQ_CHROMIUM names another binary): the browser tests need it"
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=path, headless=True, args=["--no-sandbox"]
        )
        yield launched
        launched.close()
