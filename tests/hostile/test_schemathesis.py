"""Property-based fuzzing of the gateway's own OpenAPI: no 5xx, answers match the schema.

Authenticated with a real token from the Auth sandbox; a bounded number of examples per
operation keeps it under two minutes.
"""

import uuid

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.chaos.stack import StackUrls
from tests.stack.conftest import Stack

MAX_EXAMPLES = 25


@pytest.fixture(scope="session")
def api_schema(stack: Stack) -> schemathesis.BaseSchema:
    return schemathesis.openapi.from_url(f"{stack.gateway}/openapi.json")


@pytest.fixture(scope="session")
def auth_headers(urls: StackUrls) -> dict[str, str]:
    response = httpx.post(f"{urls.auth}/api/v1/token", json={"user_id": str(uuid.uuid4())})
    response.raise_for_status()
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
def test_the_gateway_never_5xx_and_answers_match_its_schema(
    case: schemathesis.Case, auth_headers: dict[str, str]
) -> None:
    case.call_and_validate(
        headers=auth_headers,
        checks=[
            schemathesis.checks.not_a_server_error,
            status_code_conformance,
            content_type_conformance,
            response_schema_conformance,
        ],
    )
