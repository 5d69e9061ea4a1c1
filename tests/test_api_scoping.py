"""Site scoping and roles through the API (docs/api.md, "Who sees what"): a BER coordinator's
token reaches no OCN record by list, detail or filter (another site's record is a 404), and a
monitor's token writes nothing (403 on every write, tables unchanged)."""

import pytest

from participants.models import Participant
from scheduling.models import Reminder, Visit
from tests.api import all_pages, data_tables
from tests.tables import table_digests

pytestmark = pytest.mark.django_db


def test_a_ber_coordinator_sees_no_ocn_record(api):
    ber = api("coordinator-ber")
    ocn_participant = Participant.objects.filter(site__code="OCN").first()
    ocn_visit = Visit.objects.filter(site__code="OCN").first()
    ocn_reminder = Reminder.objects.filter(visit__site__code="OCN").first()
    for path, site_of in [
        ("/participants/", lambda row: row["site"]),
        ("/visits/", lambda row: row["site"]),
        ("/sites/", lambda row: row["code"]),
    ]:
        rows = all_pages(ber, path)
        assert rows and {site_of(row) for row in rows} == {"BER"}
        if path != "/sites/":
            assert all_pages(ber, path, {"site": "OCN"}) == []
    reminders = all_pages(ber, "/reminders/")
    ocn_visits = set(Visit.objects.filter(site__code="OCN").values_list("pk", flat=True))
    assert reminders and not {row["visit"] for row in reminders} & ocn_visits
    assert all_pages(ber, "/visits/", {"participant": ocn_participant.pk}) == []
    assert all_pages(ber, "/reminders/", {"participant": ocn_participant.pk}) == []
    for path in (
        f"/participants/{ocn_participant.pk}/",
        f"/participants/{ocn_participant.pk}/transitions/",
        f"/participants/{ocn_participant.pk}/contact-attempts/",
        f"/visits/{ocn_visit.pk}/",
        f"/reminders/{ocn_reminder.pk}/",
        f"/sites/{ocn_participant.site_id}/",
    ):
        response = ber.get(path)
        assert response.status_code == 404, path
    # The ids are right: a user of both sites reaches them.
    assert api("monitor").get(f"/visits/{ocn_visit.pk}/").status_code == 200


def test_a_ber_coordinator_writes_nothing_at_ocn(api):
    ber = api("coordinator-ber")
    visit = Visit.objects.filter(site__code="OCN", actual_date=None, cancelled=False).first()
    before = table_digests(data_tables())
    assert ber.post(f"/visits/{visit.pk}/appointment/", {"date": "2030-01-01"}).status_code == 404
    response = ber.post(
        "/participants/",
        {
            "protocol": "SLE-001",
            "site": "OCN",
            "subject_id": "SLE-001-101-900",
            "email": "p@example.org",
            "consent_date": "2026-01-05",
        },
    )
    assert response.status_code == 400
    assert response.json()["errors"] == [
        {"field": "site", "message": "OCN is not one of your sites."}
    ]
    assert table_digests(data_tables()) == before


def test_a_monitors_token_gets_403_on_every_write(api):
    monitor = api("monitor")
    participant = Participant.objects.filter(site__code="OCN").first()
    visit = Visit.objects.filter(site__code="OCN").first()
    before = table_digests(data_tables())
    writes = [
        ("post", "/participants/"),
        ("post", f"/participants/{participant.pk}/transitions/"),
        ("post", f"/participants/{participant.pk}/contact-attempts/"),
        ("post", f"/visits/{visit.pk}/actual-date/"),
        ("post", f"/visits/{visit.pk}/appointment/"),
        ("delete", f"/visits/{visit.pk}/appointment/"),
    ]
    for method, path in writes:
        response = getattr(monitor, method)(path)
        assert response.status_code == 403, path
        assert "may not do this" in response.json()["errors"][0]["message"]
    assert table_digests(data_tables()) == before
