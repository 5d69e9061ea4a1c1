"""Fixtures for the staff workspace tests: the demo's staff users, and a real browser.

Import the fixtures into a test module (``from tests.browser import staff, browser, ...``).
The browser is Debian's Chromium at /usr/bin/chromium driven by Playwright; nothing is
downloaded at run time.
"""

import os
from pathlib import Path

import pytest
from django.db import connections

from participants import roles
from tests.passwords import reused_password_hashes

PASSWORD = "workspace-test-password"
CHROMIUM = "/usr/bin/chromium"
SCREENSHOTS = Path(__file__).resolve().parent.parent / "var" / "screenshots"


@pytest.fixture
def staff(db, site_ocn, site_ber):
    """username → user, for coordinator-ocn, coordinator-ber, investigator-ocn and monitor."""
    from django.contrib.auth import get_user_model

    with reused_password_hashes():  # one PBKDF2 hash of PASSWORD a session, not five a test
        names = roles.ensure_demo_staff(PASSWORD)
    return {user.username: user for user in get_user_model().objects.filter(username__in=names)}


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
