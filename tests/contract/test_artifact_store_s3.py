"""The artifact-store contract for the R2 store, run with boto3 against real local S3 servers.

moto (every test gets a fresh bucket) and SeaweedFS (one bucket, emptied between tests,
because each new bucket there grows its own volumes). Links are fetched over HTTP with no
credentials, as a browser would.
"""

from __future__ import annotations

import email.message
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from shared.adapters.r2_artifacts import R2ArtifactStore, s3_client
from tests.contract.artifact_store_contract import ArtifactStoreContract
from tests.support.s3_servers import (
    S3Server,
    http_get,
    moto_s3,
    seaweed_for_test,
)

pytestmark = pytest.mark.services


def store_on(server: S3Server, bucket: str) -> R2ArtifactStore:
    client = s3_client(
        server.endpoint_url,
        server.access_key_id,
        server.secret_access_key,
        connect_timeout_s=2,
        read_timeout_s=10,
        path_style=True,
    )
    return R2ArtifactStore(client, bucket)


def fetch(url: str) -> bytes:
    status, body, _ = http_get(url)
    assert status == 200, f"GET {url} answered {status}: {body[:300]!r}"
    return body


def empty_bucket(admin: Any, bucket: str) -> None:
    for page in admin.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        keys = [{"Key": obj["Key"]} for obj in page.get("Contents", [])]
        if keys:
            admin.delete_objects(Bucket=bucket, Delete={"Objects": keys, "Quiet": True})


@pytest.fixture(scope="module")
def moto_server() -> Iterator[S3Server]:
    with moto_s3() as server:
        yield server


@pytest.fixture(scope="module")
def seaweed_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    with seaweed_for_test(Path(tmp_path_factory.mktemp("seaweed"))) as server:
        yield server


@dataclass
class S3Harness:
    """Stores on one server; ``bucket()`` gives each store its (empty) bucket."""

    server: S3Server
    bucket: Callable[[], str]
    name: str = "r2"
    url_checks_existence: bool = False

    def make(self) -> R2ArtifactStore:
        return store_on(self.server, self.bucket())

    def download(self, url: str) -> bytes:
        return fetch(url)

    def saved_as(self, url: str) -> str:
        status, body, headers = http_get(url)
        assert status == 200, f"GET {url} answered {status}: {body[:300]!r}"
        message = email.message.Message()
        message["content-disposition"] = headers["content-disposition"]
        assert message.get_content_disposition() == "attachment"
        name = message.get_filename()
        assert name is not None, headers["content-disposition"]
        return name


class TestR2StoreOnMoto(ArtifactStoreContract):
    @pytest.fixture
    def harness(self, moto_server: S3Server) -> S3Harness:
        return S3Harness(moto_server, moto_server.new_bucket)


@pytest.fixture(scope="module")
def seaweed_bucket(seaweed_server: S3Server) -> str:
    return seaweed_server.new_bucket()


class TestR2StoreOnSeaweed(ArtifactStoreContract):
    @pytest.fixture
    def harness(self, seaweed_server: S3Server, seaweed_bucket: str) -> S3Harness:
        def emptied() -> str:
            empty_bucket(seaweed_server.admin_client(), seaweed_bucket)
            return seaweed_bucket

        return S3Harness(seaweed_server, emptied)
