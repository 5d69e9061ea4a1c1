"""Every page the admin links to opens (issue 10, point 4.7): the list, change page and
history page of every registered model, and the admin pages those link to. Reminders,
transitions and digests keep no simple-history records; their history pages answered 500."""

import datetime
import re
from urllib.parse import urljoin, urlsplit

import pytest
from django.contrib import admin
from django.urls import reverse

from participants import eligibility
from participants.lifecycle import record_transition
from participants.models import Protocol, Status, Transition
from scheduling.mail.dispatch import dispatch_due
from scheduling.models import OutboxStatus, Phase, Reminder, SiteDigest
from scheduling.timeline.versions import new_draft
from tests.smtp_server import smtp_server_fixture  # noqa: F401

pytestmark = pytest.mark.django_db

UTC = datetime.UTC
CONSENT = datetime.date(2026, 1, 5)
DISPATCH = datetime.datetime(2026, 1, 20, 16, tzinfo=UTC)  # after 07:00 at both sites


@pytest.fixture
def records(make_participant, site_ocn, site_ber, staff, admin_user, smtp_server, time_machine):
    """At least one record of every model the admin lists: participants with schedules,
    transitions, eligibility answers, memberships, and reminders and digests dispatched."""
    time_machine.move_to(datetime.datetime(2026, 1, 5, 20, tzinfo=UTC), tick=False)
    first = make_participant(site=site_ocn)
    make_participant(site=site_ocn)
    make_participant(site=site_ber)
    criterion = first.protocol.criteria.first()
    eligibility.answer_criteria(first, {criterion.pk: "yes"}, by=admin_user)
    record_transition(first, Status.WITHDRAWN, on=CONSENT, reason="Moved away", by=admin_user)
    time_machine.move_to(DISPATCH, tick=False)
    dispatch_due()
    assert SiteDigest.objects.filter(status=OutboxStatus.SENT).exists()
    assert Reminder.objects.exists()


SITE_PATH = {
    Reminder: "visit__participant__site",
    Transition: "participant__site",
    SiteDigest: "site",
}


def admin_pages(client) -> list[str]:
    """The list, first record's change page and history page of every registered model."""
    pages = []
    for model, model_admin in admin.site._registry.items():
        opts = model._meta
        pages.append(reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist"))
        request = client.get(pages[-1]).wsgi_request
        obj = model_admin.get_queryset(request).order_by("pk").first()
        if obj is not None:
            pages.append(reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk]))
            pages.append(
                reverse(f"admin:{opts.app_label}_{opts.model_name}_history", args=[obj.pk])
            )
    return pages


def admin_links(url: str, html: str) -> set[str]:
    """Admin URLs on this host that a page links to, without their fragments."""
    links = set()
    for href in re.findall(r'href="([^"]*)"', html):
        target = urlsplit(urljoin(url, href.replace("&amp;", "&")))
        if target.netloc in ("", "testserver") and target.path.startswith("/admin/"):
            links.add(target.path + (f"?{target.query}" if target.query else ""))
    return links - {reverse("admin:logout")}


@pytest.mark.parametrize("username", ["admin", "coordinator-ocn"])
@pytest.mark.parametrize("model", [Reminder, Transition, SiteDigest])
def test_the_history_of_a_record_without_simple_history_is_the_admins_log(
    client, admin_user, staff, records, site_ocn, username, model
):
    """Transitions, reminders and digests keep no simple-history records (no one changes
    them in the admin): their history page is Django's log of admin changes."""
    client.force_login(admin_user if username == "admin" else staff[username])
    obj = model.objects.filter(**{SITE_PATH[model]: site_ocn}).order_by("pk").first()
    opts = model._meta
    change = client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk]))
    history_url = reverse(f"admin:{opts.app_label}_{opts.model_name}_history", args=[obj.pk])
    assert f'href="{history_url}"' in change.text
    history = client.get(history_url)
    assert history.status_code == 200
    assert "This object doesn’t have a change history." in history.text


def test_every_list_change_and_history_page_opens_for_a_superuser(admin_client, records):
    admin_client.raise_request_exception = False
    pages = admin_pages(admin_client)
    histories = {url.split("/")[3] for url in pages if url.endswith("/history/")}
    assert {"reminder", "transition", "sitedigest", "participant", "visit", "site"} <= histories
    answers = {url: admin_client.get(url).status_code for url in pages}
    assert {url: status for url, status in answers.items() if status != 200} == {}


def test_every_admin_link_on_those_pages_opens(admin_client, records):
    """One level deep: every admin URL on those pages, themselves included (issue 10: every
    page the admin links to opens; a history page lists versions without dead links)."""
    admin_client.raise_request_exception = False
    links = set()
    for url in admin_pages(admin_client):
        links |= admin_links(url, admin_client.get(url).text)
    answers = {link: admin_client.get(link).status_code for link in sorted(links)}
    assert len(answers) > 100
    assert {link: status for link, status in answers.items() if status >= 400} == {}


@pytest.mark.parametrize("username", ["admin", "monitor"])
@pytest.mark.parametrize("model", [Phase, Protocol])
def test_a_past_version_of_the_plan_opens_and_is_never_saved_back(
    client, admin_user, staff, protocol, username, model
):
    """The version page of simple-history saved what was posted to it, for anyone who may
    view the record (a monitor too), around the protocol page's preview and rebuild."""
    if model is Phase:
        # A released version's phases are never saved again: a draft's, copied (recorded).
        record = new_draft(protocol, by=admin_user).phases.first()
    else:
        record = model.objects.first()
        record.save()  # a first historical record
    version = record.history.latest("history_date")
    opts = model._meta
    url = reverse(
        f"admin:{opts.app_label}_{opts.model_name}_simple_history", args=[record.pk, version.pk]
    )
    client.force_login(admin_user if username == "admin" else staff[username])
    page = client.get(url)
    assert page.status_code == 200
    form = page.context["adminform"].form
    data = {name: "" if form[name].value() is None else form[name].value() for name in form.fields}
    field = {Phase: "name", Protocol: "title"}[model]
    data[field] = "Changed from its history"
    response = client.post(url, data)
    record.refresh_from_db()
    assert response.status_code == 403
    assert getattr(record, field) != "Changed from its history"
