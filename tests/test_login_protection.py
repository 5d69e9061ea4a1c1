"""Login protection (issue 13, security 2): django-axes locks an account after 5 wrong
passwords in a row, counted by username; the lockout page says so, for how long and whom to
ask; administrators unlock it in the admin or with ``axes_reset_username``. Driven through the
admin's real login form with Django's test client."""

import datetime
import logging

import pytest
from axes.models import AccessAttempt, AccessLog
from django.core.management import call_command
from django.test import Client, RequestFactory
from django.urls import reverse

from participants.login_protection import client_ip_address, duration_in_words
from tests.browser import PASSWORD

pytestmark = pytest.mark.django_db

WRONG = "not-the-password"


def sign_in(client, username, password, **headers):
    """POST the admin's login form, as a browser does."""
    return client.post(
        reverse("admin:login"),
        {"username": username, "password": password, "next": "/admin/"},
        **headers,
    )


def signed_in(client) -> bool:
    return "_auth_user_id" in client.session


def fail(client, username, times):
    return [sign_in(client, username, WRONG).status_code for _ in range(times)]


def test_five_wrong_passwords_lock_the_account_and_even_the_right_one_is_refused(client, staff):
    assert fail(client, "coordinator-ocn", 4) == [200] * 4  # the login form again, with its error
    fifth = sign_in(client, "coordinator-ocn", WRONG)
    assert fifth.status_code == 429
    sixth = sign_in(client, "coordinator-ocn", PASSWORD)
    assert sixth.status_code == 429
    assert not signed_in(client)
    page = sixth.text
    assert "The account <strong>coordinator-ocn</strong> is locked" in page
    assert "wrong 5 times in a row" in page
    assert "It unlocks by itself 1 hour after the last try" in page
    assert "ask an administrator of this workspace" in page
    assert "axes_reset_username" in page
    # The admin's own look: its header, no form to try again.
    assert "Trial site: participant timelines and visits" in page
    assert 'name="password"' not in page


def test_the_lock_is_on_the_account_not_on_the_address(client, staff):
    fail(client, "coordinator-ocn", 5)
    # Another account from the same browser and address signs in.
    assert sign_in(client, "coordinator-ber", PASSWORD).status_code == 302
    assert signed_in(client)
    # The locked one stays locked from any other address.
    elsewhere = Client(REMOTE_ADDR="198.51.100.7")
    assert sign_in(elsewhere, "coordinator-ocn", PASSWORD).status_code == 429


def test_a_right_password_clears_the_count(client, staff):
    fail(client, "coordinator-ocn", 4)
    assert sign_in(client, "coordinator-ocn", PASSWORD).status_code == 302
    other = Client()
    assert fail(other, "coordinator-ocn", 4) == [200] * 4
    assert sign_in(other, "coordinator-ocn", PASSWORD).status_code == 302


def test_the_lock_ends_an_hour_after_the_last_try(client, staff, time_machine):
    start = datetime.datetime(2026, 3, 2, 9, tzinfo=datetime.UTC)
    time_machine.move_to(start, tick=False)
    fail(client, "coordinator-ocn", 5)
    time_machine.move_to(start + datetime.timedelta(minutes=59), tick=False)
    assert (
        sign_in(client, "coordinator-ocn", PASSWORD).status_code == 429
    )  # a try: the hour restarts
    time_machine.move_to(start + datetime.timedelta(minutes=59 + 61), tick=False)
    assert sign_in(client, "coordinator-ocn", PASSWORD).status_code == 302


def test_without_a_cool_off_only_an_administrator_unlocks(client, staff, settings, time_machine):
    settings.AXES_COOLOFF_TIME = None  # LOGIN_LOCKOUT_MINUTES=0
    start = datetime.datetime(2026, 3, 2, 9, tzinfo=datetime.UTC)
    time_machine.move_to(start, tick=False)
    fail(client, "coordinator-ocn", 5)
    time_machine.move_to(start + datetime.timedelta(days=3), tick=False)
    refused = sign_in(client, "coordinator-ocn", PASSWORD)
    assert refused.status_code == 429
    assert "It stays locked until an administrator unlocks it" in refused.text
    call_command("axes_reset_username", "coordinator-ocn")
    assert sign_in(client, "coordinator-ocn", PASSWORD).status_code == 302


def test_an_administrator_unlocks_the_account_in_the_admin(client, staff, admin_client):
    fail(client, "coordinator-ocn", 5)
    attempts = reverse("admin:axes_accessattempt_changelist")
    listing = admin_client.get(attempts, {"locked_out": "yes"})
    assert listing.status_code == 200
    assert "coordinator-ocn" in listing.text
    attempt = AccessAttempt.objects.get(username="coordinator-ocn")
    deleted = admin_client.post(
        reverse("admin:axes_accessattempt_delete", args=[attempt.pk]), {"post": "yes"}
    )
    assert deleted.status_code == 302
    assert sign_in(client, "coordinator-ocn", PASSWORD).status_code == 302
    assert signed_in(client)


def test_the_reset_command_unlocks_the_account(client, staff):
    fail(client, "coordinator-ocn", 5)
    call_command("axes_reset_username", "coordinator-ocn")
    assert sign_in(client, "coordinator-ocn", PASSWORD).status_code == 302


def test_staff_who_are_not_superusers_cannot_unlock(client, staff):
    fail(client, "coordinator-ocn", 5)
    client.force_login(staff["coordinator-ber"])
    assert client.get(reverse("admin:axes_accessattempt_changelist")).status_code == 403


def test_a_sign_in_is_recorded_with_who_and_where(client, staff):
    assert sign_in(client, "coordinator-ocn", PASSWORD, REMOTE_ADDR="192.0.2.10").status_code == 302
    entry = AccessLog.objects.get(username="coordinator-ocn")
    assert entry.ip_address == "192.0.2.10"


def test_forwarded_for_is_ignored_unless_proxies_are_trusted(client, staff, settings):
    forged = {"REMOTE_ADDR": "10.0.0.2", "HTTP_X_FORWARDED_FOR": "203.0.113.66"}
    sign_in(client, "coordinator-ocn", WRONG, **forged)
    assert AccessAttempt.objects.get(username="coordinator-ocn").ip_address == "10.0.0.2"
    settings.TRUSTED_PROXY_COUNT = 1
    sign_in(Client(), "coordinator-ber", WRONG, **forged)
    assert AccessAttempt.objects.get(username="coordinator-ber").ip_address == "203.0.113.66"


@pytest.mark.parametrize(
    ("count", "forwarded", "client"),
    [
        (0, "203.0.113.66", "10.0.0.2"),  # no proxy trusted: the header is anyone's
        (1, "", "10.0.0.2"),  # not through the proxy: the connection's address
        (1, "203.0.113.66", "203.0.113.66"),
        (1, "6.6.6.6, 203.0.113.66", "203.0.113.66"),  # the client wrote the left part
        (2, "6.6.6.6, 203.0.113.66, 10.1.0.5", "203.0.113.66"),
        (2, "203.0.113.66", "10.0.0.2"),  # fewer entries than proxies
    ],
)
def test_the_client_address_behind_trusted_proxies(settings, count, forwarded, client):
    settings.TRUSTED_PROXY_COUNT = count
    meta = {"REMOTE_ADDR": "10.0.0.2"}
    if forwarded:
        meta["HTTP_X_FORWARDED_FOR"] = forwarded
    assert client_ip_address(RequestFactory().get("/", **meta)) == client


def test_login_protection_logs_name_no_one(client, staff, caplog):
    caplog.set_level(logging.DEBUG)
    fail(client, "coordinator-ocn", 6)
    sign_in(client, "coordinator-ber", PASSWORD, REMOTE_ADDR="192.0.2.10")
    lines = [record.getMessage() for record in caplog.records if record.name.startswith("axes")]
    assert lines
    assert not [line for line in lines if "coordinator" in line or "192.0.2.10" in line]


@pytest.mark.parametrize(
    ("minutes", "words"),
    [(60, "1 hour"), (120, "2 hours"), (90, "90 minutes"), (1, "1 minute"), (30, "30 minutes")],
)
def test_the_lockout_duration_in_words(minutes, words):
    assert duration_in_words(datetime.timedelta(minutes=minutes)) == words


def test_the_lockout_settings(settings):
    assert settings.AXES_FAILURE_LIMIT == 5
    assert settings.AXES_LOCKOUT_PARAMETERS == ["username"]
    assert datetime.timedelta(hours=1) == settings.AXES_COOLOFF_TIME
    assert settings.AUTHENTICATION_BACKENDS[0] == "axes.backends.AxesStandaloneBackend"
    assert settings.MIDDLEWARE[-1] == "axes.middleware.AxesMiddleware"
