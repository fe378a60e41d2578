"""Property-based fuzzing of the gateway's own OpenAPI: no 5xx, answers match the schema.

Runs schemathesis' own runner (its `st run` command) against the live gateway, with a real
token from the Auth sandbox and a bounded number of examples per operation, so it stays
well under two minutes. Its coverage, fuzzing and stateful phases all run; any failed check
makes the command exit non-zero, and its report is the assertion message.
"""

import re
import subprocess
import sys
import uuid
from pathlib import Path

import httpx
import pytest

from tests.stack.conftest import Stack

MAX_EXAMPLES = 25
CHECKS = ",".join(
    [
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_schema_conformance",
    ]
)

pytestmark = pytest.mark.e2e


def test_the_gateway_never_5xx_and_answers_match_its_schema(stack: Stack) -> None:
    token = httpx.post(
        f"{stack.auth}/api/v1/token", json={"user_id": str(uuid.uuid4())}, timeout=10
    ).json()["access_token"]
    st = Path(sys.executable).with_name("schemathesis")

    done = subprocess.run(
        [
            str(st),
            "run",
            f"{stack.gateway}/openapi.json",
            f"--checks={CHECKS}",
            f"--max-examples={MAX_EXAMPLES}",
            "--seed=20261126",
            "--no-color",
            "-H",
            f"Authorization: Bearer {token}",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )

    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-2000:]
    tested = re.search(r"Tested: (\d+)", done.stdout)
    assert tested and int(tested.group(1)) >= 10, done.stdout[-3000:]
