"""Two-factor sign-in (issue 13, security 3): a TOTP authenticator app after the password,
required for superusers and site managers when REQUIRE_2FA is on (by default outside DEBUG).
Codes are computed from the device's key with django-otp's own TOTP, at the clock the test
sets; nothing is mocked."""

import datetime
import os
import subprocess
import sys
from binascii import unhexlify
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client
from django.urls import reverse
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from participants.two_factor import SETUP_KEY_SESSION
from tests.browser import PASSWORD

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parent.parent
NOW = datetime.datetime(2026, 3, 2, 9, 0, 10, tzinfo=datetime.UTC)
SETUP = reverse("two_factor_setup")
VERIFY = reverse("two_factor_verify")


@pytest.fixture
def clock(time_machine):
    time_machine.move_to(NOW, tick=False)
    return time_machine


@pytest.fixture
def required(settings):
    settings.REQUIRE_2FA = True


def code_for_key(hex_key: str, at: datetime.datetime, step_offset: int = 0) -> str:
    totp = TOTP(unhexlify(hex_key.encode()), step=30, t0=0, digits=6)
    totp.time = at.timestamp() + 30 * step_offset
    return f"{totp.token():06d}"


def code_for(device: TOTPDevice, at: datetime.datetime, step_offset: int = 0) -> str:
    return code_for_key(device.key, at, step_offset)


def sign_in(client, username, password=PASSWORD):
    response = client.post(
        reverse("admin:login"), {"username": username, "password": password, "next": "/admin/"}
    )
    assert response.status_code == 302, response.text
    return client.get("/admin/")


def device_for(user) -> TOTPDevice:
    return TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=True)


def test_in_debug_no_one_is_asked_for_a_code(settings, staff, admin_user, client):
    # The tests run the DEBUG profile (DEBUG=true in the environment), where it is off.
    assert settings.REQUIRE_2FA is False
    for user in (admin_user, staff["manager-ocn"], staff["coordinator-ocn"]):
        client.force_login(user)
        assert client.get("/admin/").status_code == 200


def test_require_2fa_defaults_on_outside_debug_and_off_in_debug():
    def read(**env):
        keep = {k: v for k, v in os.environ.items() if k not in {"DEBUG", "REQUIRE_2FA"}}
        result = subprocess.run(
            [
                sys.executable,
                "-c",
                "import django; django.setup(); "
                "from django.conf import settings; print(settings.REQUIRE_2FA)",
            ],
            cwd=ROOT,
            env={
                **keep,
                "SECRET_KEY": "a-real-key-for-this-test-0123456789-abcdefghijklmnopqrstuvwxyz",
                # what the production profile requires besides the key (never connected to)
                "SITE_URL": "https://trial.example.org",
                "DATABASE_URL": "postgres://postgres@db.example/trialsite",
                "DJANGO_SETTINGS_MODULE": "trialsite.settings",
                **env,
            },
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 0, result.stderr
        return result.stdout.strip()

    assert read(DEBUG="false") == "True"
    assert read(DEBUG="true") == "False"
    assert read(DEBUG="false", REQUIRE_2FA="false") == "False"
    assert read(DEBUG="true", REQUIRE_2FA="true") == "True"


@pytest.mark.parametrize("username", ["admin", "manager-ocn"])
def test_a_superuser_or_site_manager_sets_up_an_app_before_any_admin_page(
    required, clock, client, staff, admin_user, username
):
    password = "password" if username == "admin" else PASSWORD
    first = sign_in(client, username, password)
    assert first.status_code == 302
    assert first.url == f"{SETUP}?next=%2Fadmin%2F"
    # Every admin page sends there, and says where it was going.
    listing = client.get(reverse("admin:participants_participant_changelist"))
    assert urlsplit(listing.url).path == SETUP
    assert parse_qs(urlsplit(listing.url).query)["next"] == ["/admin/participants/participant/"]

    page = client.get(first.url)
    assert page.status_code == 200
    key = client.session[SETUP_KEY_SESSION]
    address = page.context["otpauth_address"]
    assert address.startswith(f"otpauth://totp/Trial%20site%3A{username}?secret=")
    assert parse_qs(urlsplit(address).query)["issuer"] == ["Trial site"]
    assert address in page.text.replace("&amp;", "&")  # as text, to type in by hand
    assert 'id="two-factor-qr" src="data:image/svg+xml' in page.text
    # Reloading shows the same key; nothing is saved until a code is typed.
    assert client.get(first.url).context["otpauth_address"] == address
    assert not TOTPDevice.objects.exists()

    wrong = client.post(SETUP, {"code": "000000", "next": "/admin/"})
    assert "not the one your app shows now" in wrong.text
    assert not TOTPDevice.objects.exists()

    done = client.post(SETUP, {"code": code_for_key(key, NOW), "next": "/admin/"})
    assert done.status_code == 302 and done.url == "/admin/"
    device = TOTPDevice.objects.get()
    assert device.user.username == username and device.confirmed
    assert device.key == key
    assert SETUP_KEY_SESSION not in client.session
    assert client.get("/admin/").status_code == 200
    assert client.get(reverse("admin:participants_participant_changelist")).status_code == 200


def test_a_coordinator_is_not_asked_to_set_up_an_app(required, client, staff):
    assert sign_in(client, "coordinator-ocn").status_code == 200


@pytest.mark.parametrize("promotion", ["superuser", "site manager"])
def test_a_session_promoted_while_signed_in_owes_a_code_at_its_next_page(
    required, clock, client, staff, promotion
):
    """Security issue 21 item 1: what a user owes is judged from their roles now, on every
    admin request, not once at sign-in. A coordinator signed in with a password only (allowed
    for a coordinator) and then made a superuser or a site manager gets no admin page of the
    new role, nor any other, until an app is set up or its code given."""
    from django.contrib.auth.models import Group

    from participants import roles

    coordinator = staff["coordinator-ocn"]
    assert sign_in(client, "coordinator-ocn").status_code == 200
    if promotion == "superuser":
        coordinator.is_superuser = True
        coordinator.save(update_fields=["is_superuser"])
        elevated = "/admin/auth/user/"
    else:
        coordinator.groups.add(Group.objects.get(name=roles.SITE_MANAGER))
        elevated = reverse("admin:participants_site_changelist")
    for page in (elevated, "/admin/", reverse("admin:participants_participant_changelist")):
        response = client.get(page)
        assert response.status_code == 302, page
        assert urlsplit(response.url).path == SETUP
    # With an app already set up (by choice, earlier), the promoted session gives its code.
    device = device_for(coordinator)
    response = client.get(elevated)
    assert urlsplit(response.url).path == VERIFY
    client.post(VERIFY, {"code": code_for(device, NOW), "next": elevated})
    assert client.get(elevated).status_code == 200


def test_a_demoted_session_is_no_longer_held_back(required, clock, client, staff):
    manager = staff["manager-ocn"]
    assert urlsplit(sign_in(client, "manager-ocn").url).path == SETUP
    manager.groups.clear()
    manager.groups.add(*staff["coordinator-ocn"].groups.all())
    assert client.get("/admin/").status_code == 200


def test_a_user_with_an_app_gives_its_code_at_every_sign_in(clock, client, staff):
    # REQUIRE_2FA off (DEBUG): a coordinator who chose to set up an app is still asked.
    device = device_for(staff["coordinator-ocn"])
    asked = sign_in(client, "coordinator-ocn")
    assert asked.url == f"{VERIFY}?next=%2Fadmin%2F"
    assert client.get(asked.url).status_code == 200

    refused = client.post(VERIFY, {"code": code_for(device, NOW, step_offset=5), "next": "/admin/"})
    assert refused.status_code == 200
    assert "That code is not right" in refused.text
    assert client.get("/admin/").url.startswith(VERIFY)

    clock.shift(datetime.timedelta(seconds=3))  # past the throttle's wait after one failure
    now = NOW + datetime.timedelta(seconds=3)
    accepted = client.post(VERIFY, {"code": code_for(device, now), "next": "/admin/"})
    assert accepted.status_code == 302 and accepted.url == "/admin/"
    assert client.get("/admin/").status_code == 200

    # The same code cannot open a second session.
    other = Client()
    sign_in(other, "coordinator-ocn")
    replay = other.post(VERIFY, {"code": code_for(device, now), "next": "/admin/"})
    assert "That code is not right" in replay.text
    assert other.get("/admin/").status_code == 302


def test_wrong_codes_are_throttled(clock, client, staff):
    """django-otp's throttle: after n wrong codes in a row the next try waits 2^(n-1) s."""
    device = device_for(staff["manager-ocn"])
    sign_in(client, "manager-ocn")
    now = NOW
    for wait in (0, 2, 3):
        clock.shift(datetime.timedelta(seconds=wait))
        now += datetime.timedelta(seconds=wait)
        assert "That code is not right" in client.post(VERIFY, {"code": "000000"}).text
    # Three in a row: even the right code waits 4 s.
    clock.shift(datetime.timedelta(seconds=3))
    now += datetime.timedelta(seconds=3)
    refused = client.post(VERIFY, {"code": code_for(device, now)})
    assert "Too many wrong codes in a row" in refused.text
    clock.shift(datetime.timedelta(seconds=2))
    now += datetime.timedelta(seconds=2)
    assert client.post(VERIFY, {"code": code_for(device, now)}).status_code == 302


def test_a_code_is_six_digits(clock, client, staff):
    device_for(staff["manager-ocn"])
    sign_in(client, "manager-ocn")
    page = client.post(VERIFY, {"code": "12345a"})
    assert "Enter the 6 digits your authenticator app shows." in page.text


def test_next_never_leaves_the_site(clock, client, staff):
    device = device_for(staff["manager-ocn"])
    sign_in(client, "manager-ocn")
    answer = client.post(VERIFY, {"code": code_for(device, NOW), "next": "https://evil.example/"})
    assert answer.url == reverse("admin:index")


def test_an_administrator_resets_a_users_app_and_it_is_set_up_again(
    required, clock, client, staff, admin_user
):
    manager = staff["manager-ocn"]
    device = device_for(manager)
    admin = Client()
    admin.force_login(admin_user)
    admin_device = device_for(admin_user)
    admin_code = code_for(admin_device, NOW)
    assert admin.post(VERIFY, {"code": admin_code}).status_code == 302

    page = admin.get(reverse("admin:otp_totp_totpdevice_change", args=[device.pk]))
    assert page.status_code == 200
    assert device.key not in page.text  # the admin never shows a device's key
    assert (
        admin.get(reverse("admin:otp_totp_totpdevice_config", args=[device.pk])).status_code == 403
    )
    deleted = admin.post(
        reverse("admin:otp_totp_totpdevice_delete", args=[device.pk]), {"post": "yes"}
    )
    assert deleted.status_code == 302
    assert not TOTPDevice.objects.filter(user=manager).exists()

    assert sign_in(client, "manager-ocn").url == f"{SETUP}?next=%2Fadmin%2F"


def test_a_reset_while_signed_in_sends_to_set_up_again(required, clock, client, staff):
    device = device_for(staff["manager-ocn"])
    sign_in(client, "manager-ocn")
    assert client.post(VERIFY, {"code": code_for(device, NOW)}).status_code == 302
    device.delete()
    # The session's device is gone: no longer verified, and judged on this request, the user
    # owes a new app (straight to the set-up page); the verify page sends back too.
    to_setup = client.get("/admin/")
    assert urlsplit(to_setup.url).path == SETUP
    back = client.get(VERIFY)
    assert client.get(back.url).url.startswith(SETUP)


def test_an_app_already_set_up_is_not_replaced_from_the_set_up_page(clock, client, staff):
    device = device_for(staff["coordinator-ocn"])
    sign_in(client, "coordinator-ocn")
    client.post(VERIFY, {"code": code_for(device, NOW)})
    again = client.get(SETUP)
    assert again.status_code == 302
    assert TOTPDevice.objects.filter(user=staff["coordinator-ocn"]).count() == 1


def test_the_two_factor_pages_need_a_password_sign_in_first(client):
    for url in (SETUP, VERIFY):
        answer = client.get(url)
        assert answer.status_code == 302
        assert urlsplit(answer.url).path == reverse("admin:login")


def test_pages_outside_the_admin_are_not_held_back(clock, client, staff):
    device_for(staff["manager-ocn"])
    sign_in(client, "manager-ocn")
    assert client.get(reverse("healthz")).status_code == 200


def test_the_admin_links_to_the_set_up_page(client, staff):
    client.force_login(staff["coordinator-ocn"])
    assert f'href="{SETUP}"' in client.get("/admin/").text
