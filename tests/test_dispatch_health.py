"""A failing dispatch cannot hide: runs that raise, or none because the worker or beat is down,
are shown where staff look (the dashboard, the Reminders list) and where operators' monitoring
looks (/healthz/dispatch). The worker-and-beat case with real processes is in
test_worker_e2e.py."""

import datetime
import json

import pytest
from django.db import OperationalError
from django.urls import reverse

from scheduling.mail import dispatch, dispatch_health
from scheduling.mail.dispatch import dispatch_due
from scheduling.models import Audience, DispatchHeartbeat, Reminder, ReminderRule
from tests.smtp_server import smtp_server_fixture  # noqa: F401

UTC = datetime.UTC
DUE = datetime.datetime(2026, 3, 2, 8, 0, tzinfo=UTC)  # 09:00 in Berlin


@pytest.fixture(autouse=True)
def no_digest(protocol):
    ReminderRule.objects.filter(audience=Audience.COORDINATOR_DIGEST).update(active=False)


@pytest.fixture
def due_reminder(make_participant, site_ber, time_machine):
    """A participant whose leukapheresis reminder (7 days ahead) is due at DUE."""
    consent = datetime.date(2026, 2, 1)
    time_machine.move_to(datetime.datetime(2026, 2, 1, 12, tzinfo=UTC), tick=False)
    participant = make_participant(consent_date=consent, site=site_ber)
    reminder = Reminder.objects.filter(visit__participant=participant).order_by("due_at").first()
    time_machine.move_to(reminder.due_at, tick=False)
    return reminder


@pytest.fixture
def broken_claim(monkeypatch):
    """Dispatch broken on purpose, as SQLite broke it: the claim query raises."""

    def claim(*args, **kwargs):
        raise OperationalError('near "FOR": syntax error')

    monkeypatch.setattr(dispatch, "claim_due_reminders", claim)
    return monkeypatch


def test_a_run_that_raises_is_on_the_dashboard_and_the_reminders_list_until_one_completes(
    due_reminder, smtp_server, client, staff, time_machine, broken_claim
):
    started = due_reminder.due_at
    with pytest.raises(OperationalError):
        dispatch_due()
    first_failure = started
    time_machine.move_to(started + datetime.timedelta(minutes=7), tick=False)
    with pytest.raises(OperationalError):
        dispatch_due()

    client.force_login(staff["coordinator-ber"])
    page = client.get(reverse("admin:index")).text
    assert 'id="dispatch-alert"' in page
    assert "Reminder dispatch is failing: no run has completed yet." in page
    assert "OperationalError: near &quot;FOR&quot;: syntax error" in page
    listing = client.get(reverse("admin:scheduling_reminder_changelist")).text
    assert "Reminder dispatch is failing" in listing
    row = DispatchHeartbeat.objects.get()
    assert row.failing_since == first_failure  # since the first failing run, not the last
    assert row.last_error_at == started + datetime.timedelta(minutes=7)

    broken_claim.undo()
    time_machine.move_to(started + datetime.timedelta(minutes=8), tick=False)
    assert dispatch_due().sent == 1
    page = client.get(reverse("admin:index")).text
    assert 'id="dispatch-alert"' not in page
    assert "Reminder dispatch: the last run completed less than a minute ago." in page
    assert (
        "Reminder dispatch"
        not in client.get(reverse("admin:scheduling_reminder_changelist")).text.split(
            'id="changelist"'
        )[0]
    )


def test_no_completed_run_for_the_stale_limit_shows_dispatch_as_stopped(
    due_reminder, smtp_server, client, staff, time_machine, settings
):
    settings.DISPATCH_STALE_AFTER = 300
    completed = due_reminder.due_at - datetime.timedelta(hours=1)
    time_machine.move_to(completed, tick=False)
    dispatch_due()  # nothing due yet: the run completes
    time_machine.move_to(completed + datetime.timedelta(minutes=4), tick=False)
    assert dispatch_health.health().status == "ok"

    # The worker stops: an hour and ten minutes without a completed run, a reminder waiting.
    time_machine.move_to(due_reminder.due_at + datetime.timedelta(minutes=10), tick=False)
    state = dispatch_health.health()
    assert (state.status, state.alert, state.waiting) == ("stale", True, 1)
    assert state.sentence == (
        f"Reminder dispatch has stopped: no run has completed since {completed:%Y-%m-%d %H:%M} "
        "UTC (70 minutes ago); the Celery worker or beat may be down. 1 reminder is waiting."
    )
    client.force_login(staff["coordinator-ber"])
    page = client.get(reverse("admin:index")).text
    assert 'id="dispatch-alert"' in page
    assert "Reminder dispatch has stopped" in page


def test_the_health_endpoint_gives_the_age_of_the_last_completed_run(
    due_reminder, smtp_server, client, time_machine, broken_claim
):
    now = due_reminder.due_at
    response = client.get(reverse("healthz_dispatch"))
    assert response.status_code == 503
    assert json.loads(response.content)["status"] == "never"

    broken_claim.undo()
    dispatch_due()
    time_machine.move_to(now + datetime.timedelta(seconds=42), tick=False)
    response = client.get(reverse("healthz_dispatch"))
    assert response.status_code == 200
    body = json.loads(response.content)
    assert (body["status"], body["age_seconds"]) == ("ok", 42)
    assert body["last_completed_at"] == now.isoformat()
    assert response["Cache-Control"] == "no-store"

    time_machine.move_to(now + datetime.timedelta(minutes=6), tick=False)
    body = json.loads(client.get(reverse("healthz_dispatch")).content)
    assert (body["status"], body["age_seconds"]) == ("stale", 360)

    def claim(*args, **kwargs):
        raise OperationalError("connection to the database lost")

    broken_claim.setattr(dispatch, "claim_due_reminders", claim)
    with pytest.raises(OperationalError):
        dispatch_due()
    response = client.get(reverse("healthz_dispatch"))
    assert response.status_code == 503
    body = json.loads(response.content)
    assert body["status"] == "failing"
    assert "connection" not in response.content.decode()  # no error text for anyone to read


def test_a_new_install_with_nothing_waiting_raises_no_alarm(client, staff, protocol, site_ber):
    client.force_login(staff["coordinator-ber"])
    page = client.get(reverse("admin:index")).text
    assert 'id="dispatch-alert"' not in page
    assert "Reminder dispatch: no run has completed yet." in page


def test_the_error_line_is_one_line_without_addresses():
    error = RuntimeError("relay said no to <someone@example.org>\nsecond line with more")
    assert dispatch_health.error_line(error) == "RuntimeError: relay said no to [address]"
    assert len(dispatch_health.error_line(RuntimeError("x" * 1000))) == 300
    assert dispatch_health.error_line(KeyError()) == "KeyError"
