"""The API's reads against the demo's data (docs/api.md): each endpoint answers what the
admin shows the same user, a page at a time, in a fixed number of queries."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from participants.models import Participant, Site
from scheduling.models import Reminder, Visit
from tests.api import all_pages

pytestmark = pytest.mark.django_db


def test_sites_carry_their_clinic_calendar(api):
    sites = all_pages(api("admin"), "/sites/")
    assert [site["code"] for site in sites] == sorted(Site.objects.values_list("code", flat=True))
    ocn = next(site for site in sites if site["code"] == "OCN")
    model = Site.objects.get(code="OCN")
    assert ocn["open_weekdays"] == sorted(int(day) for day in model.open_days)
    assert ocn["holiday_country"] == model.holiday_country
    assert ocn["timezone"] == model.timezone
    assert [(c["start"], c["end"]) for c in ocn["closures"]] == [
        (c.start.isoformat(), c.end.isoformat()) for c in model.closures.all()
    ]
    assert ocn["closures"], "the demo closes OCN for Thanksgiving"
    detail = api("admin").get(f"/sites/{model.pk}/")
    assert detail.status_code == 200 and detail.json() == ocn


def test_protocols_carry_their_versions_and_activations_at_the_readers_sites(api):
    protocol = all_pages(api("coordinator-ber"), "/protocols/")[0]
    assert protocol["code"] == "SLE-001"
    assert protocol["trial_phase"] == "PHASE II TRIAL"  # CDISC's term, read only
    assert [v["number"] for v in protocol["versions"]][0] == "1.0"
    sites = {a["site"] for v in protocol["versions"] for a in v["activations"]}
    assert sites <= {"BER"}
    every = all_pages(api("admin"), "/protocols/")[0]
    assert {a["site"] for v in every["versions"] for a in v["activations"]} >= sites


def test_participants_list_is_the_readers_sites_without_contact_details(api):
    rows = all_pages(api("coordinator-ocn"), "/participants/")
    expected = Participant.objects.filter(site__code="OCN").order_by("subject_id", "id")
    assert [row["subject_id"] for row in rows] == [p.subject_id for p in expected]
    assert all("email" not in row for row in rows)
    one = rows[0]
    detail = api("coordinator-ocn").get(f"/participants/{one['id']}/")
    assert detail.json() == one


def test_participants_filter_by_site_and_status(api):
    rows = all_pages(api("admin"), "/participants/", {"site": "BER", "status": "screening"})
    expected = Participant.objects.filter(site__code="BER", status="screening")
    assert sorted(r["id"] for r in rows) == sorted(p.pk for p in expected)
    assert rows, "the demo has BER participants in screening"


def test_visits_pages_are_every_visit_once_in_appointment_day_order(api):
    rows = all_pages(api("admin"), "/visits/", {"page_size": 7})
    assert len(rows) == Visit.objects.count()
    assert len({row["id"] for row in rows}) == len(rows)
    keys = [(row["appointment_day"], row["id"]) for row in rows]
    assert keys == sorted(keys)


def test_visit_filters_select_what_they_say(api):
    client = api("admin")
    start, end = datetime.date.today(), datetime.date.today() + datetime.timedelta(days=30)
    rows = all_pages(client, "/visits/", {"from": start.isoformat(), "to": end.isoformat()})
    assert rows
    assert all(start.isoformat() <= row["appointment_day"] <= end.isoformat() for row in rows)
    for status in ("scheduled", "completed", "missed", "cancelled"):
        for row in all_pages(client, "/visits/", {"status": status}):
            assert row["status"] == status
    confirmed = all_pages(client, "/visits/", {"confirmation": "confirmed"})
    assert {row["confirmation"] for row in confirmed} == {"confirmed"}
    ocn = all_pages(client, "/visits/", {"site": "OCN", "version": "1.0"})
    assert {(row["site"], row["version"]) for row in ocn} == {("OCN", "1.0")}
    assert len(ocn) == Visit.objects.filter(site__code="OCN", version__number="1.0").count()


def test_visit_status_is_the_one_its_page_shows(api):
    for row in all_pages(api("admin"), "/visits/")[:200]:
        visit = Visit.objects.select_related("site").get(pk=row["id"])
        assert row["status"] == visit.status_on(visit.site.today())


def test_reminders_say_when_and_whether_never_where(api):
    rows = all_pages(api("admin"), "/reminders/")
    assert len(rows) == Reminder.objects.count() and rows
    participants = {p.pk: p.email for p in Participant.objects.all()}
    for row in rows:
        assert "@" not in str(row)
        assert set(row) >= {"due_at", "status", "sent_at", "appointment_day"}
        assert row["participant"] in participants
    due = [row["due_at"] for row in rows]
    assert all(d.endswith("Z") or d[-6] in "+-" for d in due)


def _queries(client, path, size):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(path, {"page_size": size})
    assert response.status_code == 200
    assert len(response.json()["results"]) == size
    return len(queries)


@pytest.mark.parametrize(
    ("path", "sizes"),
    [
        ("/visits/", (2, 40)),
        ("/reminders/", (2, 40)),
        ("/participants/", (2, 10)),
        ("/sites/", (1, 2)),
    ],
)
def test_a_pages_queries_do_not_grow_with_its_size(api, path, sizes):
    client = api("coordinator-ocn" if path != "/sites/" else "admin")
    client.get(path)  # the token's last use is written once a minute: not in the counts
    small, large = (_queries(client, path, size) for size in sizes)
    assert small == large
