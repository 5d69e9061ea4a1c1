"""The Content-Security-Policy (issue 13, security 4): its header on every kind of response,
and no inline script, event handler or <style> element on any page the project serves (the
policy would refuse them). In a real browser: tests/test_browser_csp.py."""

import re
from pathlib import Path

import pytest
from django.urls import reverse
from django_celery_beat.models import PeriodicTask

from tests.smtp_server import smtp_server_fixture  # noqa: F401 (fixture of `records`)
from tests.test_admin_pages import admin_pages, records  # noqa: F401 (fixture)

ROOT = Path(__file__).resolve().parent.parent
POLICY = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "style-src-attr": "'unsafe-inline'",
    "img-src": "'self' data:",
    "object-src": "'none'",
    "base-uri": "'none'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}

# Templates that are pages (e-mails are not: no policy applies to them).
PAGE_TEMPLATES = sorted(
    path
    for folder in ("participants/templates", "scheduling/templates", "trialsite/templates")
    for path in (ROOT / folder).rglob("*.html")
    if "/email/" not in path.as_posix()
)
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")[^>]*>", re.I)
EVENT_HANDLER = re.compile(r"<[^>]*\son[a-z]+\s*=", re.I)
STYLE_ELEMENT = re.compile(r"<style[\s>]", re.I)
JAVASCRIPT_URL = re.compile(r"""(?:href|src|action)\s*=\s*["']?\s*javascript:""", re.I)


def policy_of(response) -> dict[str, str]:
    header = response.headers["Content-Security-Policy"]
    return dict(part.strip().split(" ", 1) for part in header.split(";"))


def inline_code(html: str) -> list[str]:
    found = []
    for pattern in (INLINE_SCRIPT, EVENT_HANDLER, STYLE_ELEMENT, JAVASCRIPT_URL):
        found += [match.group(0) for match in pattern.finditer(html)]
    return found


def test_the_policy_is_the_one_documented(client):
    assert policy_of(client.get(reverse("admin:login"))) == POLICY


@pytest.mark.django_db
def test_every_kind_of_response_carries_the_policy(client, admin_client, staff):
    answers = {
        "login": client.get(reverse("admin:login")),
        "admin": admin_client.get(reverse("admin:index")),
        "two-factor set-up": admin_client.get(reverse("two_factor_setup")),
        "health": client.get(reverse("healthz")),
        "invalid reply link": client.get("/r/not-a-token/confirm/"),
        "redirect": client.get("/"),
    }
    assert {name: policy_of(answer) for name, answer in answers.items()} == dict.fromkeys(
        answers, POLICY
    )


@pytest.mark.django_db
def test_the_lockout_page_carries_the_policy(client, staff):
    for _ in range(5):
        answer = client.post(
            reverse("admin:login"), {"username": "monitor", "password": "wrong", "next": "/admin/"}
        )
    assert answer.status_code == 429
    assert policy_of(answer) == POLICY


@pytest.mark.parametrize("path", PAGE_TEMPLATES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_template_has_inline_script_or_style(path):
    assert inline_code(path.read_text()) == []


def test_the_checker_finds_what_the_policy_refuses():
    assert sorted(
        inline_code(
            '<select onchange="this.form.submit()"><script>go()</script><style>p{}</style>'
            '<a href="javascript:go()">'
        )
    ) == ["<script>", "<select onchange=", "<style>", 'href="javascript:']
    assert (
        inline_code(
            '<script src="/static/x.js" defer></script><script id="d" type="application/json">'
            '<p class="once">'
        )
        == []
    )


@pytest.mark.django_db
def test_no_admin_page_has_inline_script_or_style(admin_client, records):  # noqa: F811
    """Every registered model's list, change and history page, as the admin renders them (with
    the HTML the project's admin classes write), plus the custom pages."""
    admin_client.raise_request_exception = False
    pages = admin_pages(admin_client)
    pages += [
        reverse("admin:index"),
        reverse("admin:scheduling_visit_calendar"),
        reverse("two_factor_setup"),
        # django-celery-beat's page, whose inline script trialsite/templates moves to a file.
        reverse(
            "admin:django_celery_beat_periodictask_change",
            args=[PeriodicTask.objects.order_by("pk").first().pk],
        ),
    ]
    found = {}
    for url in pages:
        answer = admin_client.get(url)
        assert answer.status_code == 200, url
        assert "Content-Security-Policy" in answer.headers, url
        if inline := inline_code(answer.text):
            found[url] = inline
    assert found == {}
