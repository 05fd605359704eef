"""The Cloudflare account contract on the SDK adapter (``CloudflareAccount`` through the
official ``cloudflare`` client), against the local Cloudflare API stub."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from pydantic import SecretStr

from shared.adapters.cloudflare_account import CloudflareAccount
from tests.contract.cloudflare_account_contract import CloudflareAccountContract
from tests.support.cf_api_stub import CfApiStub

pytestmark = pytest.mark.services


@dataclass
class SdkHarness:
    api: CfApiStub

    def make(self, *, token: str | None = None, max_retries: int = 0) -> CloudflareAccount:
        return CloudflareAccount(
            account_id=self.api.account_id,
            api_token=SecretStr(token or self.api.token),
            api_url=self.api.url,
            timeout_s=5.0,
            max_retries=max_retries,
        )


class TestCloudflareAccountSdk(CloudflareAccountContract):
    @pytest.fixture
    def harness(self) -> Iterator[SdkHarness]:
        with CfApiStub() as api:
            yield SdkHarness(api)
