"""The OpenAPI schema (docs/api.md, "Schema"): the committed docs/api/openapi.yaml is what the
code generates, with no warning from drf-spectacular, and it documents every operation's
parameters, body and error responses, so that a client generator or a fuzzer can drive it."""

import difflib
import io
from pathlib import Path

import pytest
import yaml
from django.core.management import call_command
from django.utils import translation

SCHEMA = Path(__file__).resolve().parent.parent / "docs" / "api" / "openapi.yaml"
REGENERATE = "make schema"


def generated() -> str:
    """As `make schema` writes it: in English, whatever language an earlier test left active."""
    out = io.StringIO()
    with translation.override("en"):
        call_command("spectacular", "--validate", "--fail-on-warn", stdout=out)
    return out.getvalue()


@pytest.mark.django_db
def test_the_committed_schema_is_the_codes():
    fresh, committed = generated(), SCHEMA.read_text()
    diff = "".join(
        difflib.unified_diff(
            committed.splitlines(True), fresh.splitlines(True), "committed", "generated", n=1
        )
    )
    assert not diff, f"docs/api/openapi.yaml differs from the code; run `{REGENERATE}`:\n{diff}"


def test_every_post_requires_an_idempotency_key_and_documents_its_errors():
    schema = yaml.safe_load(SCHEMA.read_text())
    operations = [
        (path, method, operation)
        for path, item in schema["paths"].items()
        for method, operation in item.items()
    ]
    assert len(operations) >= 17
    for path, method, operation in operations:
        codes = set(operation["responses"])
        assert {"401", "403", "406"} <= codes, (path, method)
        assert operation.get("security") == [{"bearerAuth": []}], (path, method)
        if method == "post":
            headers = [p for p in operation["parameters"] if p["in"] == "header"]
            assert [(h["name"], h["required"]) for h in headers] == [("Idempotency-Key", True)]
            assert {"400", "415", "422"} <= codes
            assert operation["requestBody"]["required"] is True
    for name in ("/api/v1/visits/", "/api/v1/participants/", "/api/v1/reminders/"):
        params = {p["name"] for p in schema["paths"][name]["get"]["parameters"]}
        assert {"cursor", "page_size", "site", "status"} <= params


@pytest.mark.django_db
def test_the_served_schema_is_in_english_whatever_the_client_asks(client):
    german = client.get("/api/v1/schema/", HTTP_ACCEPT_LANGUAGE="de")
    assert german.status_code == 200
    assert german.content.decode() == SCHEMA.read_text()
