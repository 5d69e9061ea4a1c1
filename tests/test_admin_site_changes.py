"""Saving a site's time zone, or moving a participant to another site, in the admin re-times
the pending reminders: they are due at the rules' local time in the zone that now applies."""

import datetime

import pytest
import time_machine
from django.urls import reverse

from scheduling.models import OutboxStatus, Reminder
from tests.forms import form_data

pytestmark = pytest.mark.django_db

NOW = datetime.datetime(2026, 1, 20, 20, 0, tzinfo=datetime.UTC)


def local_send_times(participant, zone):
    pending = Reminder.objects.filter(visit__participant=participant, status=OutboxStatus.PENDING)
    assert pending.exists()
    return {reminder.due_at.astimezone(zone).time() for reminder in pending}


def test_changing_a_site_time_zone_in_the_admin_re_times_pending_reminders(
    admin_client, make_participant, site_ocn
):
    import zoneinfo

    with time_machine.travel(NOW, tick=False):
        participant = make_participant(consent_date=datetime.date(2026, 1, 5))
        url = reverse("admin:participants_site_change", args=[site_ocn.pk])
        data = form_data(admin_client.get(url))
        data.update({"timezone": "America/New_York", "change_reason": "Site moved east"})
        response = admin_client.post(url, data)
    assert response.status_code == 302
    assert local_send_times(participant, zoneinfo.ZoneInfo("America/New_York")) == {
        datetime.time(9, 0)
    }


def test_moving_a_participant_to_another_site_re_times_its_reminders(
    admin_client, make_participant, site_ber
):
    with time_machine.travel(NOW, tick=False):
        participant = make_participant(consent_date=datetime.date(2026, 1, 5))
        url = reverse("admin:participants_participant_change", args=[participant.pk])
        data = form_data(admin_client.get(url))
        data.update({"site": str(site_ber.pk), "change_reason": "Transferred to Berlin"})
        response = admin_client.post(url, data)
    assert response.status_code == 302, response.context and response.context["errors"]
    participant.refresh_from_db()
    assert participant.site == site_ber
    assert local_send_times(participant, site_ber.zone) == {datetime.time(9, 0)}
