"""Test-wide isolation: no TUBEQ_* from the developer's shell or .env leaks into a test."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from shared.settings import Settings

# The contract modules (tests/contract/*_contract.py) are not test modules by name: without
# this their failed asserts read as a bare AssertionError. It must run before any of them is
# imported, so here rather than in tests/contract/__init__.py (that package is imported by
# then, and registering it warns).
pytest.register_assert_rewrite("tests.contract")

# The throwaway PostgreSQL cluster (session-wide) and a fresh database per test.
pytest_plugins = ["tests.support.postgres"]

_KEEP = {"TUBEQ_REQUIRE_SERVICES"}


@pytest.fixture(autouse=True)
def _isolated_settings(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in list(os.environ):
        if name.startswith("TUBEQ_") and name not in _KEEP:
            monkeypatch.delenv(name)
    # A developer's .env must not turn a test into a production run.
    monkeypatch.setitem(Settings.model_config, "env_file", None)
    yield
