"""Changing a protocol plan that participants follow: previewed, confirmed with a reason,
applied to future visits only."""

import datetime

import pytest
import time_machine
from django.urls import reverse

from scheduling.models import Phase, VisitDefinition
from tests.forms import form_data

pytestmark = pytest.mark.django_db

NOW = datetime.datetime(2026, 1, 20, 20, 0, tzinfo=datetime.UTC)


@pytest.fixture
def protocol_page(admin_client, protocol):
    url = reverse("admin:participants_protocol_change", args=[protocol.pk])
    data = form_data(admin_client.get(url))
    data["change_reason"] = "Amendment 2"
    return url, data


def test_a_plan_change_without_a_reason_is_refused(admin_client, protocol_page):
    url, data = protocol_page
    data["change_reason"] = ""
    set_field(data, "visit_definitions", "LEUK", "window_after", "9")
    response = admin_client.post(url, data)
    assert response.status_code == 200
    assert "Say why you change the plan" in response.text
    assert VisitDefinition.objects.get(protocol__code="SLE-001", code="LEUK").window_after == 7


def set_field(data, prefix, match, field, value):
    """Set ``field`` on the inline form of ``prefix`` whose values contain ``match``."""
    for key, current in list(data.items()):
        if key.startswith(prefix + "-") and key.endswith("-code") and current == match:
            data[key.removesuffix("-code") + "-" + field] = value
            return data
    raise AssertionError(f"no {prefix} form with code {match}")


@pytest.fixture
def followers(make_participant, site_ocn):
    with time_machine.travel(NOW, tick=False):
        from scheduling.timeline.visits import record_visit

        participant = make_participant(consent_date=datetime.date(2026, 1, 5))
        record_visit(participant, "SCR", on=datetime.date(2026, 1, 6))
    return participant


def test_a_plan_change_that_moves_visits_is_shown_and_not_saved(
    admin_client, protocol_page, followers
):
    url, data = protocol_page
    set_field(data, "visit_definitions", "LEUK", "offset", "42")
    with time_machine.travel(NOW, tick=False):
        response = admin_client.post(url, data)
    leukapheresis = followers.visits.get(code="LEUK")
    assert response.status_code == 200
    assert [(m.code, m.before, m.after) for m in response.context["schedule_preview"]] == [
        ("LEUK", datetime.date(2026, 2, 9), datetime.date(2026, 2, 16))
    ]
    assert "This change moves 1 future visit(s)" in response.text
    assert leukapheresis.planned_date == datetime.date(2026, 2, 9)
    assert leukapheresis.definition.offset == 35


def test_a_confirmed_plan_change_moves_future_visits_never_done_ones(
    admin_client, protocol_page, followers
):
    url, data = protocol_page
    set_field(data, "phases", "screening", "length", "9")
    set_field(data, "visit_definitions", "SCR", "window_after", "5")
    data.update({"confirm_plan_change": "1", "plan_change_reason": "Protocol amendment 2"})
    with time_machine.travel(NOW, tick=False):
        response = admin_client.post(url, data)
    first_infusion = followers.visits.get(code="INF1")
    screening = followers.visits.get(code="SCR")
    assert response.status_code == 302
    assert Phase.objects.get(code="screening").length == 9
    assert first_infusion.planned_date == datetime.date(2026, 3, 9)  # 9 weeks after consent
    assert first_infusion.history.latest().history_change_reason == "Protocol amendment 2"
    assert screening.window_end == datetime.date(2026, 1, 8)  # done: its window stays
    assert Phase.objects.get(code="screening").history.latest().history_change_reason == (
        "Protocol amendment 2"
    )


def test_a_plan_change_that_only_widens_a_window_is_shown_and_not_saved(
    admin_client, protocol_page, followers
):
    url, data = protocol_page
    set_field(data, "visit_definitions", "LEUK", "window_after", "10")
    with time_machine.travel(NOW, tick=False):
        response = admin_client.post(url, data)
    leukapheresis = followers.visits.get(code="LEUK")
    assert response.status_code == 200
    assert [
        (m.code, m.before, m.after, m.window_after) for m in response.context["schedule_preview"]
    ] == [
        (
            "LEUK",
            datetime.date(2026, 2, 9),
            datetime.date(2026, 2, 9),
            (datetime.date(2026, 2, 2), datetime.date(2026, 2, 19)),
        )
    ]
    assert leukapheresis.window_end == datetime.date(2026, 2, 16)
    assert leukapheresis.definition.window_after == 7


def test_confirming_without_a_reason_is_refused(admin_client, protocol_page, followers):
    url, data = protocol_page
    set_field(data, "phases", "screening", "length", "9")
    data["confirm_plan_change"] = "1"
    with time_machine.travel(NOW, tick=False):
        response = admin_client.post(url, data)
    assert response.status_code == 200
    assert Phase.objects.get(code="screening").length == 8


def test_a_plan_change_that_moves_nothing_saves_at_once(admin_client, protocol_page, followers):
    url, data = protocol_page
    set_field(data, "visit_definitions", "FU12", "name", "Follow-up, one year")
    with time_machine.travel(NOW, tick=False):
        response = admin_client.post(url, data)
    assert response.status_code == 302
    assert followers.protocol.visit_definitions.get(code="FU12").name == "Follow-up, one year"


def test_changing_a_reminder_rule_time_re_times_pending_reminders(
    admin_client, protocol_page, followers
):
    from scheduling.models import OutboxStatus, Reminder

    url, data = protocol_page
    rule = followers.protocol.reminder_rules.get(lead_days=7)
    for key, value in list(data.items()):
        if key.startswith("reminder_rules-") and key.endswith("-id") and value == str(rule.pk):
            data[key.removesuffix("-id") + "-local_time"] = "10:30:00"
    with time_machine.travel(NOW, tick=False):
        response = admin_client.post(url, data)
    assert response.status_code == 302
    pending = Reminder.objects.filter(
        rule=rule, visit__participant=followers, status=OutboxStatus.PENDING
    )
    assert pending.exists()
    zone = followers.site.zone
    assert {r.due_at.astimezone(zone).time() for r in pending} == {datetime.time(10, 30)}
