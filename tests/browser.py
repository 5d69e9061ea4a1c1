"""Fixtures for the staff workspace tests: the demo's staff users, and a real browser.

Import the fixtures into a test module (``from tests.browser import staff, browser, ...``).
The browser is Debian's Chromium at /usr/bin/chromium driven by Playwright; nothing is
downloaded at run time.
"""

import os
from collections import defaultdict
from pathlib import Path
from unittest import mock

import pytest
from django.db import connections

from participants import roles
from tests.passwords import reused_password_hashes

PASSWORD = "workspace-test-password"
CHROMIUM = "/usr/bin/chromium"
SCREENSHOTS = Path(__file__).resolve().parent.parent / "var" / "screenshots"


_ensure_roles = roles.ensure_roles  # the real one, which the staff fixture stands in for


def roles_in_place() -> bool:
    """Whether every role group exists with exactly the permissions ``roles.sync_roles`` gives
    it, read in three queries (sync_roles itself makes one per permission, some 110)."""
    from django.contrib.auth.models import Group, Permission

    by_name = defaultdict(set)
    for pk, app_label, codename in Permission.objects.values_list(
        "pk", "content_type__app_label", "codename"
    ):
        by_name[f"{app_label}.{codename}"].add(pk)
    wanted = {
        role: {pk for name in names for pk in by_name.get(name, ())}
        for role, names in roles.ROLE_PERMISSIONS.items()
    }
    groups = set(Group.objects.filter(name__in=wanted).values_list("name", flat=True))
    have = defaultdict(set)
    for name, pk in Group.permissions.through.objects.filter(group__name__in=wanted).values_list(
        "group__name", "permission_id"
    ):
        have[name].add(pk)
    return groups == set(wanted) and all(have[role] == wanted[role] for role in wanted)


def ensure_roles_if_needed() -> None:
    """``roles.ensure_roles`` where the groups are not already as it makes them (after a
    transactional test's flush, say): the same end state without its 110 queries a test."""
    if not roles_in_place():
        _ensure_roles()


def demo_staff() -> dict:
    """username → user, for coordinator-ocn, coordinator-ber, investigator-ocn, investigator-ber,
    manager-ocn and monitor, made by ``roles.ensure_demo_staff`` as the demo makes them (OCN and
    BER must exist for their memberships)."""
    from django.contrib.auth import get_user_model

    with (
        reused_password_hashes(),  # one PBKDF2 hash of PASSWORD a session, not five a test
        mock.patch.object(roles, "ensure_roles", ensure_roles_if_needed),
    ):
        names = roles.ensure_demo_staff(PASSWORD)
    return {user.username: user for user in get_user_model().objects.filter(username__in=names)}


@pytest.fixture
def staff(db, site_ocn, site_ber):
    """The demo's staff users (``demo_staff``), username → user."""
    return demo_staff()


@pytest.fixture
def browser():
    """A headless Chromium (Playwright's sync API runs an event loop, hence the async flag)."""
    from playwright.sync_api import sync_playwright

    if not os.path.exists(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium package (apt).")
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        try:
            yield chromium
        finally:
            chromium.close()
            # Between its calls Playwright marks its event loop as running in this thread, so
            # Django keeps the ORM connections the test opened meanwhile in a separate
            # (async-context) store that its own teardown never sees: close them here, while
            # that store is the current one, or PostgreSQL keeps a session on the test
            # database and dropping it fails at the end of the run.
            connections.close_all()
    if previous is None:
        os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    else:
        os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


def login(browser, live_server, username: str):
    """A new page signed in as ``username``, 1280 wide."""
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.set_default_timeout(15_000)
    page.goto(f"{live_server.url}/admin/login/?next=/admin/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(f"{live_server.url}/admin/")
    return page


def screenshot(page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
