"""The partial-store contract: one suite every ``shared.ports.PartialStore`` keeps.

A paid chunk reply (``shared.gemini.partials``) and a step's attempt counter
(``shared.gemini.spend``) are kept under deterministic keys the moment they exist, and read
back on the next attempt. So a store must give back exactly the bytes last put under a key
(empty bytes are bytes, not "none"), and none for a key never put, including one that is
only the folder of other keys.

An adapter's test module subclasses ``PartialStoreContract`` and provides a ``harness``
fixture returning a ``PartialStoreHarness``: ``make`` opens a store on the harness's one
place (a second call is the store a restarted consumer opens), and the fields declare what
the store is: whether what it keeps survives that restart, and whether it refuses keys an
artifact store cannot hold ("..", empty segments) rather than keeping them.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Protocol

import pytest

from shared.errors import InvalidInput
from shared.gemini.partials import SavedChunk, chunk_key, decode, encode
from shared.gemini.spend import next_attempt, step_key
from shared.models import AnalysisContent, Usage
from shared.ports import PartialStore

VERSION = "gemini:gemini-2.5-flash:p3"


class PartialStoreHarness(Protocol):
    #: whether a store ``make`` opens later sees what an earlier one put (a restart)
    durable: bool
    #: whether keys with an empty, "." or ".." segment are refused (``InvalidInput``)
    checks_keys: bool

    def make(self) -> PartialStore:
        """A store on the harness's place: the same place on every call."""
        ...


class PartialStoreContract:
    """Subclass as ``Test<Adapter>`` and provide a ``harness`` fixture."""

    @pytest.fixture
    def store(self, harness: PartialStoreHarness) -> PartialStore:
        return harness.make()

    def test_implements_the_port(self, store: PartialStore) -> None:
        assert isinstance(store, PartialStore)

    def test_a_key_never_put_is_none(self, store: PartialStore) -> None:
        assert store.get("vid00000001/v1/chunk-001-of-002-abc.json") is None

    def test_the_exact_bytes_come_back(self, store: PartialStore) -> None:
        data = bytes(range(256)) + b"\x00\xff{not json"  # not UTF-8, not JSON: kept as is
        store.put("vid00000001/v1/raw.bin", data)
        assert store.get("vid00000001/v1/raw.bin") == data

    def test_empty_bytes_are_bytes_not_none(self, store: PartialStore) -> None:
        store.put("vid00000001/v1/empty", b"")
        assert store.get("vid00000001/v1/empty") == b""

    def test_a_put_replaces_what_was_there(self, store: PartialStore) -> None:
        key = "vid00000001/v1/calls/merge.count"
        store.put(key, b"1")
        store.put(key, b"2")
        assert store.get(key) == b"2"

    def test_keys_are_exact(self, store: PartialStore) -> None:
        store.put("vid00000001/v1/chunk-a", b"a")
        store.put("vid00000001/v1_chunk-a", b"b")
        assert store.get("vid00000001/v1/chunk-a") == b"a"
        assert store.get("vid00000001/v1_chunk-a") == b"b"
        assert store.get("vid00000001/v1/CHUNK-A") is None
        assert store.get("vid00000001/v1/chunk-") is None
        # the folder of a key holds no bytes of its own (a disk has a directory there)
        assert store.get("vid00000001/v1") is None
        assert store.get("vid00000001") is None

    def test_a_saved_chunk_round_trips_under_its_key(self, store: PartialStore) -> None:
        text = "A queue decouples the producers of work from the consumers that do it."
        key = chunk_key("vid/00:01?", VERSION, 0, 3, text)  # odd ids are made safe
        saved = SavedChunk(
            content=AnalysisContent(
                summary="Queues.", key_points=["decoupling"], topics=["q"], quotes=[], language="en"
            ),
            usage=Usage(model_calls=1, prompt_tokens=1_200, output_tokens=80, cost_usd=0.0004),
        )
        store.put(key, encode(saved))
        got = store.get(key)
        assert got is not None and decode(got) == saved
        assert store.get(chunk_key("vid/00:01?", VERSION, 1, 3, text)) is None

    def test_attempt_counters_count(self, store: PartialStore) -> None:
        key = step_key("vid00000001", VERSION, "chunk-1")
        assert [next_attempt(store, key) for _ in range(3)] == [1, 2, 3]
        assert next_attempt(store, step_key("vid00000001", VERSION, "merge")) == 1

    def test_a_large_reply_is_kept_whole(self, store: PartialStore) -> None:
        data = b"0123456789abcdef" * 131_072  # 2 MiB: far past one disk block or HTTP chunk
        store.put("vid00000001/v1/large.json", data)
        assert store.get("vid00000001/v1/large.json") == data

    def test_threads_writing_their_own_keys_lose_nothing(self, store: PartialStore) -> None:
        def work(i: int) -> None:
            store.put(f"vid{i:08d}/v1/chunk-001", f"reply {i}".encode())

        with ThreadPoolExecutor(max_workers=8) as pool:
            list(pool.map(work, range(32)))
        assert [store.get(f"vid{i:08d}/v1/chunk-001") for i in range(32)] == [
            f"reply {i}".encode() for i in range(32)
        ]

    def test_a_restart_sees_the_store_iff_it_is_durable(
        self, harness: PartialStoreHarness, store: PartialStore
    ) -> None:
        store.put("vid00000001/v1/chunk-001", b"paid")
        again = harness.make()
        assert again.get("vid00000001/v1/chunk-001") == (b"paid" if harness.durable else None)

    @pytest.mark.parametrize("key", ["", "../outside", "vid//chunk", "vid/./chunk"])
    def test_a_key_no_folder_can_hold_is_refused_iff_declared(
        self, harness: PartialStoreHarness, store: PartialStore, key: str
    ) -> None:
        if harness.checks_keys:
            with pytest.raises(InvalidInput, match="segment"):
                store.put(key, b"x")
            with pytest.raises(InvalidInput, match="segment"):
                store.get(key)
        else:
            store.put(key, b"x")
            assert store.get(key) == b"x"
