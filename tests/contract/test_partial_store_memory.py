"""The partial-store contract on the in-memory store (one process; a restart loses it)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from shared.gemini.partials import InMemoryPartialStore
from tests.contract.partial_store_contract import PartialStoreContract


@dataclass
class MemoryHarness:
    durable: bool = False
    checks_keys: bool = False  # a dict holds any string

    def make(self) -> InMemoryPartialStore:
        return InMemoryPartialStore()


class TestInMemoryPartialStore(PartialStoreContract):
    @pytest.fixture
    def harness(self) -> MemoryHarness:
        return MemoryHarness()


def test_only_the_most_recent_are_kept() -> None:
    # what only the memory store has: a bound, so a long-lived process does not grow
    store = InMemoryPartialStore(max_items=2)
    for key in ("a", "b", "c"):
        store.put(key, key.encode())
    store.put("b", b"b2")  # a rewrite makes it recent again
    store.put("d", b"d")
    assert store.keys() == ["b", "d"]
    assert store.get("a") is None and store.get("c") is None
