"""A stop signal in the first second of a ``tubeq`` process (shared/early_signals.py)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest


def start(args: list[str], tmp_path: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "TUBEQ_DATA_DIR": str(tmp_path),
        "TUBEQ_QUEUE_PATH": str(tmp_path / "queue.db"),
        "TUBEQ_RESULTS_PATH": str(tmp_path / "results.db"),
        "TUBEQ_ARTIFACTS_DIR": str(tmp_path / "artifacts"),
    }
    return subprocess.Popen(
        [sys.executable, "-X", "importtime", "-m", "tubeq", *args],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def signal_while_importing(proc: subprocess.Popen[bytes], sig: int) -> None:
    """Send ``sig`` once the early handler is in and the CLI is still being imported.

    ``-X importtime`` prints one stderr line per import: the first line naming
    ``shared.early_signals`` says it is imported (its handler goes in right after), and
    the CLI's imports take far longer than that one call.
    """
    assert proc.stderr is not None
    for line in proc.stderr:
        if b"shared.early_signals" in line:
            break
    else:
        pytest.fail("the entry point never imported shared.early_signals")
    time.sleep(0.05)
    proc.send_signal(sig)


def exit_code(proc: subprocess.Popen[bytes]) -> int:
    """Wait, reading stderr to the end (``-X importtime`` would fill the pipe)."""
    _, err = proc.communicate(timeout=60)
    if proc.returncode not in (0, 143):
        print(err.decode(errors="replace")[-3000:])
    return proc.returncode


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_consumer_stopped_while_starting_exits_cleanly(tmp_path: Path, sig: int) -> None:
    proc = start(["consume", "--burst"], tmp_path)
    signal_while_importing(proc, sig)
    assert exit_code(proc) == 0


def test_another_command_stopped_while_starting_exits_with_the_signal_code(
    tmp_path: Path,
) -> None:
    proc = start(["status"], tmp_path)
    signal_while_importing(proc, signal.SIGTERM)
    assert exit_code(proc) == 128 + signal.SIGTERM
