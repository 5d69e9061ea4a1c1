"""The API's writes against the demo's data (docs/api.md): each calls the admin's service as
the token's user, so a refusal is a 400 carrying the service's own sentence under the API's
name of the field, with nothing half-saved; an accepted write says who in the history."""

import datetime

import pytest

from participants.lifecycle import future_date_problem
from participants.models import ContactAttempt, Participant, Site, Transition
from scheduling.models import Visit
from tests.api import data_tables
from tests.tables import table_digests

pytestmark = pytest.mark.django_db


def new_participant(client, subject_id="SLE-001-101-901", **changes):
    body = {
        "protocol": "SLE-001",
        "site": "OCN",
        "subject_id": subject_id,
        "email": "new.participant@example.org",
        "consent_date": Site.objects.get(code="OCN").today().isoformat(),
        **changes,
    }
    return client.post("/participants/", body)


def assert_refused(response, field, message, before):
    assert response.status_code == 400, response.content
    assert {"field": field, "message": message} in response.json()["errors"]
    assert table_digests(data_tables()) == before


def test_a_participant_is_created_in_screening_by_the_tokens_user(api):
    response = new_participant(api("coordinator-ocn"))
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "screening" and body["site"] == "OCN" and "email" not in body
    participant = Participant.objects.get(pk=body["id"])
    assert participant.history.first().history_user.username == "coordinator-ocn"
    first = Transition.objects.get(participant=participant)
    assert (first.recorded_by.username, first.recorded_via) == ("coordinator-ocn", "api")
    assert participant.visits.exists(), "the schedule is built in the same transaction"


def test_a_refused_participant_carries_the_services_sentence_and_saves_nothing(api):
    client = api("coordinator-ocn")
    site = Site.objects.get(code="OCN")
    tomorrow = site.today() + datetime.timedelta(days=1)
    before = table_digests(data_tables())
    response = new_participant(client, consent_date=tomorrow.isoformat())
    assert_refused(response, "consent_date", future_date_problem(site, tomorrow), before)
    taken = Participant.objects.filter(site=site).first().subject_id
    response = new_participant(client, subject_id=taken)
    assert_refused(response, "subject_id", f"{taken} already exists in protocol SLE-001.", before)
    response = new_participant(client, consent_date="2026-02-30", email="not an address")
    assert response.status_code == 400
    assert {e["field"] for e in response.json()["errors"]} == {"consent_date", "email"}


def test_a_transition_follows_the_lifecycles_rules(api):
    client = api("coordinator-ocn")
    participant = Participant.objects.get(pk=new_participant(client).json()["id"])
    today = participant.site.today().isoformat()
    path = f"/participants/{participant.pk}/transitions/"
    before = table_digests(data_tables())
    response = client.post(path, {"to_status": "withdrawn", "effective_date": today})
    assert_refused(response, "reason", "A reason is required for a withdrawal.", before)
    response = client.post(path, {"to_status": "enrolled", "effective_date": today})
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "to_status"
    assert "Only an investigator can confirm eligibility" in response.json()["errors"][0]["message"]
    response = client.post(
        path, {"to_status": "withdrawn", "effective_date": today, "reason": "Moved away"}
    )
    assert response.status_code == 201, response.content
    assert response.json()["recorded_by"] == "coordinator-ocn"
    participant.refresh_from_db()
    assert participant.status == "withdrawn" and participant.left_on.isoformat() == today
    listed = client.get(path).json()["results"]
    assert [row["to_status"] for row in listed] == ["screening", "withdrawn"]


def test_an_actual_date_is_recorded_through_the_visit_service(api):
    client = api("coordinator-ocn")
    participant = Participant.objects.get(pk=new_participant(client).json()["id"])
    visit = participant.visits.order_by("planned_date").first()
    today = participant.site.today()
    tomorrow = today + datetime.timedelta(days=1)
    before = table_digests(data_tables())
    response = client.post(f"/visits/{visit.pk}/actual-date/", {"actual_date": str(tomorrow)})
    assert_refused(response, "actual_date", future_date_problem(participant.site, tomorrow), before)
    response = client.post(f"/visits/{visit.pk}/actual-date/", {"actual_date": str(today)})
    assert response.status_code == 200, response.content
    assert response.json()["actual_date"] == str(today)
    assert response.json()["status"] == "completed"
    visit.refresh_from_db()
    assert visit.history.first().history_user.username == "coordinator-ocn"


def test_an_appointment_is_booked_and_cleared(api):
    client = api("coordinator-ocn")
    participant = Participant.objects.get(pk=new_participant(client).json()["id"])
    visit = participant.visits.filter(appointment_date__gt=participant.site.today()).first()
    path = f"/visits/{visit.pk}/appointment/"
    before = table_digests(data_tables())
    past = participant.site.today() - datetime.timedelta(days=1)
    response = client.post(path, {"date": str(past)})
    message = f"{past.isoformat()} is in the past at OCN (today is {participant.site.today()})."
    assert_refused(response, "date", message, before)
    day = visit.appointment_date
    response = client.post(path, {"date": str(day), "time": "09:30"})
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["appointment_day"], body["booked_time"]) == (str(day), "09:30:00")
    assert body["appointment_source"] == "booked"
    cleared = client.delete(path)
    assert cleared.status_code == 200
    assert cleared.json()["appointment_source"] == "proposed"
    assert Visit.objects.get(pk=visit.pk).booked_date is None


def test_a_contact_attempt_is_added_to_the_log(api):
    client = api("coordinator-ocn")
    participant = Participant.objects.filter(site__code="OCN", status="treatment").first()
    path = f"/participants/{participant.pk}/contact-attempts/"
    before = table_digests(data_tables())
    future = (datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=1)).isoformat()
    response = client.post(path, {"channel": "phone", "outcome": "no_answer", "at": future})
    assert_refused(response, "at", "An attempt cannot be in the future.", before)
    response = client.post(path, {"channel": "phone", "outcome": "no_answer"})
    assert response.status_code == 201, response.content
    attempt = ContactAttempt.objects.get(pk=response.json()["id"])
    assert attempt.recorded_by.username == "coordinator-ocn"
    assert response.json() in client.get(path, {"page_size": 500}).json()["results"]
