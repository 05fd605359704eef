"""The partial-store contract on the artifact store's local folder (``ArtifactPartialStore``
on ``LocalArtifactStore``, what ``TUBEQ_ARTIFACTS_DIR`` gives the analyzer)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from shared.adapters.local_artifacts import LocalArtifactStore
from shared.gemini.partials import CACHE_PREFIX, ArtifactPartialStore
from tests.contract.partial_store_contract import PartialStoreContract


@dataclass
class LocalHarness:
    folder: Path
    durable: bool = True
    checks_keys: bool = True

    def make(self) -> ArtifactPartialStore:
        return ArtifactPartialStore(LocalArtifactStore(self.folder))


class TestLocalPartialStore(PartialStoreContract):
    @pytest.fixture
    def harness(self, tmp_path: Path) -> LocalHarness:
        return LocalHarness(tmp_path / "artifacts")


def test_partials_live_under_the_cache_prefix(tmp_path: Path) -> None:
    # apart from the artifacts: on R2 the lifecycle rule setup writes expires this prefix
    ArtifactPartialStore(LocalArtifactStore(tmp_path)).put("vid/v1/chunk-001", b"paid")
    assert (tmp_path / CACHE_PREFIX / "vid" / "v1" / "chunk-001").read_bytes() == b"paid"
