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


@pytest.mark.django_db
def test_a_keys_answer_is_kept_seven_days_then_forgotten_by_the_hourly_task(api, time_machine):
    """Within seven days the same key and body replay; the hourly task then deletes the answer
    (it holds participants' data), and the key is new again: another body is a 201, not a 422.
    Records of other keys younger than seven days stay."""
    import datetime

    from django.utils import timezone

    from participants.api_tokens import IDEMPOTENCY_KEPT, IdempotencyRecord
    from scheduling.tasks import forget_idempotency_keys

    time_machine.move_to(timezone.now(), tick=False)
    client = api("coordinator-ocn")
    first = body()
    assert client.post("/participants/", first, key="old").status_code == 201
    time_machine.shift(IDEMPOTENCY_KEPT - datetime.timedelta(minutes=1))
    assert client.post("/participants/", body("SLE-001-101-951"), key="young").status_code == 201
    assert forget_idempotency_keys.apply().get() == 0
    assert client.post("/participants/", first, key="old")["Idempotent-Replayed"] == "true"

    time_machine.shift(datetime.timedelta(minutes=2))
    assert forget_idempotency_keys.apply().get() == 1
    assert set(IdempotencyRecord.objects.values_list("key", flat=True)) == {"young"}
    other = client.post("/participants/", body("SLE-001-101-952"), key="old")
    assert other.status_code == 201 and "Idempotent-Replayed" not in other


@pytest.mark.django_db
def test_a_migration_installs_the_hourly_forgetting_task_once():
    import importlib

    from django.apps import apps
    from django_celery_beat.models import PeriodicTask

    from scheduling.tasks import forget_idempotency_keys
    from trialsite.celery import app

    migration = importlib.import_module("scheduling.migrations.0027_forget_idempotency_keys")
    migration.install(apps)  # again, as after a flush: still one row
    task = PeriodicTask.objects.get(name=migration.TASK_NAME)
    assert task.task == forget_idempotency_keys.name == "scheduling.tasks.forget_idempotency_keys"
    assert (task.interval.every, task.interval.period, task.enabled) == (1, "hours", True)
    assert PeriodicTask.objects.filter(task=task.task).count() == 1
    assert task.task in app.tasks  # what the worker runs, by the name beat sends
