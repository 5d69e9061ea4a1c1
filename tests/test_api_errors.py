"""JSON errors everywhere under /api/v1/ (docs/api.md, "Errors"), and never a 500 on hostile
input: unknown paths, wrong methods and media types, malformed JSON, huge ids, bad dates,
absurd page sizes and forged cursors each get a 4xx in the one shape, naming the field."""

import pytest

from participants.models import Participant
from tests.api import fields_of

pytestmark = pytest.mark.django_db


def assert_error(response, status, field="any"):
    assert response.status_code == status, (response.status_code, response.content)
    assert response["Content-Type"] == "application/json"
    errors = response.json()["errors"]
    assert errors and all(set(error) == {"field", "message"} for error in errors)
    if field != "any":
        assert field in fields_of(response)


def test_unknown_paths_methods_and_media_types_answer_json(api):
    client = api("coordinator-ocn")
    assert_error(client.get("/nothing/here/"), 404, None)
    assert_error(client.get("/visits"), 404, None)  # without its slash
    assert_error(client.delete("/sites/"), 405, None)
    assert_error(client.post("/sites/"), 405, None)
    response = client.client.post(
        "/api/v1/participants/",
        "subject_id=x",
        content_type="text/plain",
        headers=client._headers({"Idempotency-Key": "k"}),
    )
    assert_error(response, 415, None)
    response = client.client.post(
        "/api/v1/participants/",
        "{not json",
        content_type="application/json",
        headers=client._headers({"Idempotency-Key": "k"}),
    )
    assert_error(response, 400, None)
    response = client.client.get("/api/v1/sites/", headers=client._headers({"Accept": "text/csv"}))
    assert_error(response, 406, None)


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("/visits/", {"from": "2026-13-01"}, "from"),
        ("/visits/", {"to": "99999-01-01"}, "to"),
        ("/visits/", {"status": "lost"}, "status"),
        ("/visits/", {"participant": "9" * 40}, "participant"),
        ("/visits/", {"participant": "1.5"}, "participant"),
        ("/visits/", {"page_size": "100000"}, "page_size"),
        ("/visits/", {"page_size": "0"}, "page_size"),
        ("/visits/", {"cursor": "not-a-cursor"}, "cursor"),
        ("/visits/", {"cursor": "WyIyMDI2LTEzLTAxIiwgMV0="}, "cursor"),
        ("/reminders/", {"cursor": "WyJ4IiwgMV0="}, "cursor"),
        ("/participants/", {"status": "x\x00"}, "status"),
    ],
)
def test_bad_filters_are_a_400_naming_the_parameter(api, path, params, field):
    assert_error(api("coordinator-ocn").get(path, params), 400, field)


def test_hostile_ids_and_values_never_crash(api):
    client = api("coordinator-ocn")
    assert_error(client.get(f"/visits/{'9' * 30}/"), 404, None)
    assert client.get("/participants/", {"site": "OCN\x00"}).status_code in (200, 400)
    assert client.get("/participants/", {"unknown": "filter"}).status_code == 200
    participant = Participant.objects.filter(site__code="OCN").first()
    path = f"/participants/{participant.pk}/contact-attempts/"
    for at in ("9999-12-31T23:59:59-12:00", "0001-01-01T00:00:00+14:00", "yesterday"):
        assert_error(client.post(path, {"channel": "phone", "outcome": "reached", "at": at}), 400)
    assert_error(client.post(path, ["a", "list"]), 400, None)
    assert_error(
        client.post(path, {"channel": "phone", "outcome": "reached", "note": "a\x00"}), 400, "note"
    )
    response = client.post("/participants/", {"consent_date": 2**70, "subject_id": 1})
    assert_error(response, 400, "consent_date")
