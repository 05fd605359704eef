"""Skipping when a local server cannot be had, except in CI, where a skip is a failure."""

from __future__ import annotations

import os
import socket

import pytest


def services_required() -> bool:
    return os.environ.get("TUBEQ_REQUIRE_SERVICES", "") not in ("", "0", "false", "no")


def unavailable(reason: str) -> None:
    """Skip this test with ``reason``; under TUBEQ_REQUIRE_SERVICES=1, fail instead."""
    if services_required():
        pytest.fail(f"required service unavailable (TUBEQ_REQUIRE_SERVICES=1): {reason}")
    pytest.skip(reason)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port
