"""docs/openapi.json and docs/api.md are what the gateway serves: regenerated, never stale."""

import json

from scripts.api_docs import MARKDOWN, OPENAPI, openapi, render_markdown


def test_committed_api_reference_is_not_stale() -> None:
    doc = openapi()
    assert json.loads(OPENAPI.read_text()) == doc, "run `make docs-generated` and commit docs/"
    assert MARKDOWN.read_text() == render_markdown(doc), "run `make docs-generated`"


def test_every_operation_is_named_and_documents_its_errors_with_the_error_body() -> None:
    doc = openapi()
    error = {"$ref": "#/components/schemas/ErrorOut"}
    for path, operations in doc["paths"].items():
        for method, operation in operations.items():
            assert operation["operationId"][0].islower() and "_" not in operation["operationId"]
            for code, response in operation["responses"].items():
                media = response.get("content", {}).get("application/json", {})
                if code >= "400":
                    assert media["schema"] == error, (method, path, code)
                if media:
                    assert "example" in media, (method, path, code)


def test_posts_that_create_require_an_idempotency_key_and_a_bearer_token() -> None:
    doc = openapi()
    for path in ("/api/v1/payments", "/api/v1/payments/{payment_id}/refunds"):
        operation = doc["paths"][path]["post"]
        [key] = [p for p in operation["parameters"] if p["name"] == "Idempotency-Key"]
        assert key["required"] is True
        assert operation["security"] == [{"bearerAuth": []}]
        assert {"400", "401", "413", "422", "429", "503"} <= set(operation["responses"])
    assert doc["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    ops = {o["operationId"] for ops in doc["paths"].values() for o in ops.values()}
    assert {
        "createPayment",
        "getPayment",
        "listPayments",
        "createRefund",
        "getRefund",
        "listPlans",
        "getSubscription",
    } <= ops
    status = doc["components"]["schemas"]["PaymentOut"]["properties"]["status"]
    assert "succeeded" in status["enum"]
