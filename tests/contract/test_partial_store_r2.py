"""The partial-store contract on R2 (``ArtifactPartialStore`` on ``R2ArtifactStore``),
through boto3 against the local moto S3 server; one bucket per harness, so a second
``make`` is the same bucket (a restarted consumer)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from shared.gemini.partials import CACHE_PREFIX, ArtifactPartialStore
from tests.contract.partial_store_contract import PartialStoreContract
from tests.contract.test_artifact_store_s3 import store_on
from tests.support.s3_servers import S3Server, moto_s3

pytestmark = pytest.mark.services


@pytest.fixture(scope="module")
def moto_server() -> Iterator[S3Server]:
    with moto_s3() as server:
        yield server


@dataclass
class R2Harness:
    server: S3Server
    bucket: str
    durable: bool = True
    checks_keys: bool = True

    def make(self) -> ArtifactPartialStore:
        return ArtifactPartialStore(store_on(self.server, self.bucket))


class TestR2PartialStore(PartialStoreContract):
    @pytest.fixture
    def harness(self, moto_server: S3Server) -> R2Harness:
        return R2Harness(moto_server, moto_server.new_bucket())


def test_partials_live_under_the_cache_prefix(moto_server: S3Server) -> None:
    # the lifecycle rule `tubeq cloudflare setup` writes expires exactly this prefix
    bucket = moto_server.new_bucket()
    ArtifactPartialStore(store_on(moto_server, bucket)).put("vid/v1/chunk-001", b"paid")
    listed = moto_server.admin_client().list_objects_v2(Bucket=bucket)
    assert [o["Key"] for o in listed["Contents"]] == [CACHE_PREFIX + "vid/v1/chunk-001"]
