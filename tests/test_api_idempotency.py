"""``Idempotency-Key`` (docs/api.md, "Idempotency"): an EDC retrying a POST never records
twice. Same key and body: the first answer again; same key, another body or path: 422; no
key: 400 naming the header; two requests with one key at once: one write, one replay."""

import json
import threading
import uuid

import pytest
from django.db import connection

from participants.models import Participant, Site
from tests.api import TokenClient, data_tables
from tests.tables import table_digests


def body(subject_id="SLE-001-101-950"):
    return {
        "protocol": "SLE-001",
        "site": "OCN",
        "subject_id": subject_id,
        "email": "retry@example.org",
        "consent_date": Site.objects.get(code="OCN").today().isoformat(),
    }


@pytest.mark.django_db
def test_the_same_key_and_body_replay_the_first_answer(api):
    client = api("coordinator-ocn")
    first = client.post("/participants/", body(), key="k-1")
    assert first.status_code == 201
    # The same JSON with other spacing and key order is the same body.
    again = client.client.post(
        "/api/v1/participants/",
        json.dumps(dict(reversed(body().items())), indent=2),
        content_type="application/json",
        headers=client._headers({"Idempotency-Key": "k-1"}),
    )
    assert again.status_code == 201 and again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true" and "Idempotent-Replayed" not in first
    assert Participant.objects.filter(subject_id="SLE-001-101-950").count() == 1


@pytest.mark.django_db
def test_the_same_key_with_another_body_or_path_is_a_422(api):
    client = api("coordinator-ocn")
    assert client.post("/participants/", body(), key="k-2").status_code == 201
    before = table_digests(data_tables())
    other = client.post("/participants/", body("SLE-001-101-951"), key="k-2")
    assert other.status_code == 422
    assert other.json()["errors"][0]["message"].startswith("This Idempotency-Key was first used")
    participant = Participant.objects.get(subject_id="SLE-001-101-950")
    elsewhere = client.post(
        f"/participants/{participant.pk}/contact-attempts/",
        {"channel": "phone", "outcome": "reached"},
        key="k-2",
    )
    assert elsewhere.status_code == 422
    assert table_digests(data_tables()) == before
    # Keys are per user: another user's k-2 is their own.
    assert (
        api("manager-ocn").post("/participants/", body("SLE-001-101-952"), key="k-2").status_code
        == 201
    )


@pytest.mark.django_db
def test_a_post_without_a_key_is_a_400_naming_the_header(api):
    before = table_digests(data_tables())
    for key in (None, "x" * 256, "bad key"):
        response = api("coordinator-ocn").post("/participants/", body(), key=key)
        assert response.status_code == 400
        assert response.json()["errors"][0]["field"] == "Idempotency-Key"
    assert table_digests(data_tables()) == before


@pytest.mark.django_db
def test_a_refused_request_keeps_no_key_so_it_can_be_corrected(api):
    client = api("coordinator-ocn")
    refused = client.post("/participants/", {**body(), "consent_date": "2999-01-01"}, key="k-3")
    assert refused.status_code == 400
    assert client.post("/participants/", body(), key="k-3").status_code == 201


@pytest.mark.django_db(transaction=True)
def test_two_requests_with_one_key_at_once_record_once(protocol, site_ocn, clerk):
    from participants.api_tokens import issue_token

    _token, key = issue_token(clerk, name="edc", by=clerk)
    idempotency_key = str(uuid.uuid4())
    payload = body("SLE-001-101-960")
    start = threading.Barrier(2)
    answers = []

    def send():
        try:
            start.wait()
            answers.append(TokenClient(key).post("/participants/", payload, key=idempotency_key))
        finally:
            connection.close()

    threads = [threading.Thread(target=send) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [a.status_code for a in answers] == [201, 201]
    assert answers[0].json() == answers[1].json()
    assert sorted(a.get("Idempotent-Replayed", "") for a in answers) == ["", "true"]
    assert Participant.objects.filter(subject_id="SLE-001-101-960").count() == 1
