"""A property-based fuzz of the HTTP API from its own OpenAPI document (schemathesis).

Schemathesis reads ``/openapi.json`` from the ASGI app, generates requests for every
operation (valid and invalid bodies, paths and queries), sends them in-process to the app
over the real embedded adapters (SQLite queue and results, local artifacts, in a temp
folder; backfills reach a local Data API stub through httpx), and checks each answer:

- never a 5xx (``not_a_server_error``);
- status code, content type, headers and body all as the OpenAPI document says;
- invalid input is rejected with a 4xx (``negative_data_rejection``).

``positive_data_acceptance`` is left out on purpose: a schema-valid body can still be a
bad request here (a random string is a valid ``videos`` item but not a video id, and the
API answers 422 saying so). Examples are bounded so the whole module stays well under a
minute on two cores.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.generation import GenerationMode

from producer.api import create_app
from shared import factory
from shared.settings import Settings
from tests.support.data_api_stub import API_KEY, DataApiStub

pytestmark = pytest.mark.services

KEY = "fuzz-key-0123456789abcdef0123456789"
AUTH = {"Authorization": f"Bearer {KEY}"}
MAX_EXAMPLES = 30
# An oversized body is rejected with 413 (TUBEQ_API_MAX_BODY_BYTES), a legitimate refusal of
# invalid input that schemathesis' default list does not name.
FUZZ_CONFIG = schemathesis.config.SchemathesisConfig.from_dict(
    {
        "checks": {
            "negative_data_rejection": {
                "expected-statuses": [400, 401, 403, 404, 405, 406, 409, 413, 415, 422, 428, 429]
            }
        }
    }
)


@pytest.fixture(scope="module")
def data_api() -> Iterator[DataApiStub]:
    server = DataApiStub()
    with server:
        server.add_channel("UCabcdefghijklmnopqrstuv", "Fuzz Channel", 3, handle="@fuzzchan")
        yield server


@pytest.fixture(scope="module")
def api_schema(tmp_path_factory: pytest.TempPathFactory, data_api: DataApiStub) -> Iterator[Any]:
    cfg = Settings.load(
        data_dir=tmp_path_factory.mktemp("fuzz"),
        api_keys=KEY,
        api_max_body_bytes=20_000,
        youtube_api_key=API_KEY,
        youtube_api_url=data_api.url,
        youtube_api_timeout_s=5,
    )
    queue = factory.build_queue(cfg)
    results = factory.build_results(cfg)
    app = create_app(cfg, queue, results, factory.build_artifacts(cfg))
    yield schemathesis.openapi.from_asgi("/openapi.json", app, config=FUZZ_CONFIG)
    queue.close()
    results.close()


#: every operation the API documents; test_the_fuzz_covers_every_operation keeps it honest
OPERATIONS = [
    ("GET", "/healthz"),
    ("POST", "/v1/jobs"),
    ("GET", "/v1/progress"),
    ("GET", "/v1/videos/{video_id}"),
    ("GET", "/v1/dlq"),
    ("POST", "/v1/dlq/redrive"),
    ("GET", "/v1/search"),
    ("POST", "/v1/ask"),
    ("GET", "/v1/consumers"),
    ("GET", "/v1/quota"),
]


def test_the_fuzz_covers_every_operation(api_schema: Any) -> None:
    documented = {
        (op.method.upper(), op.path)
        for op in (result.ok() for result in api_schema.get_all_operations())
    }
    assert documented == set(OPERATIONS)


# /healthz takes no input at all, so there is nothing invalid to generate for it
FUZZ_CASES = [
    (method, path, mode)
    for method, path in OPERATIONS
    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
    if not (path == "/healthz" and mode is GenerationMode.NEGATIVE)
]


@pytest.mark.parametrize(("method", "path", "mode"), FUZZ_CASES)
def test_api_conforms_to_its_schema_and_never_5xx(
    api_schema: Any, method: str, path: str, mode: GenerationMode
) -> None:
    operation = api_schema[path][method]

    # Hypothesis drives an inner function: the schema fixture is built once per module,
    # not once per example (and schemathesis' own pytest plugin does not load on pytest 9).
    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )
    def check(case: Any) -> None:
        case.call_and_validate(
            headers=AUTH,
            excluded_checks=[schemathesis.checks.positive_data_acceptance],
        )

    check()
