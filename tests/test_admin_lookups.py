"""URL lookups in the admin's lists (issue 10, point 4.2): a list filters only by what it
offers (its filters and date hierarchy), so no one reads a field the page does not show one
character at a time (``?id__exact=1&email__startswith=p``)."""

import datetime
import re

import pytest
import time_machine
from django.contrib import admin
from django.urls import reverse

from participants.lifecycle import record_transition
from participants.models import Participant, Status
from scheduling.models import OutboxStatus, Reminder, Visit

pytestmark = pytest.mark.django_db

D = datetime.date
NOW = datetime.datetime(2026, 3, 12, 20, tzinfo=datetime.UTC)  # 12 March at both sites
PROJECT_APPS = {"participants", "scheduling"}


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def participants(make_participant, site_ocn, site_ber):
    """Two participants at each site whose addresses begin with different letters, created on
    their consent day (so their screening visits' reminders are ahead)."""
    with time_machine.travel(datetime.datetime(2026, 1, 5, 20, tzinfo=datetime.UTC), tick=False):
        return [
            make_participant(site=site_ocn, email="pia@example.org"),
            make_participant(site=site_ocn, email="quentin@example.org"),
            make_participant(site=site_ber, email="paul@example.org"),
            make_participant(site=site_ber, email="quirin@example.org"),
        ]


def path_to_participant(model) -> str | None:
    """The shortest lookup path from ``model`` to a participant ("" for a participant)."""
    queue, seen = [(model, "")], {model}
    while queue:
        current, path = queue.pop(0)
        if current is Participant:
            return path
        if path.count("__") >= 2:
            continue
        for field in current._meta.get_fields():
            related = field.related_model
            if not field.is_relation or related is None or related in seen:
                continue
            if related._meta.app_label not in PROJECT_APPS:
                continue  # users, groups, historical records: not a way to a participant
            seen.add(related)
            queue.append((related, f"{path}__{field.name}" if path else field.name))
    return None


def project_lists_relating_to_participants():
    lists = []
    for model in admin.site._registry:
        if model._meta.app_label in PROJECT_APPS:
            path = path_to_participant(model)
            if path is not None:
                lists.append((model, path))
    return lists


def email_lookups(path: str) -> list[dict[str, str]]:
    """Lookups that read a participant's address, through ``path``, and one that goes round."""
    email = f"{path}__email" if path else "email"
    around = "site__participants__email" if not path else f"{path}__site__participants__email"
    return [
        {"id__exact": "1", f"{email}__startswith": "p"},
        {f"{email}__startswith": "p"},
        {f"{email}__regex": "^p"},
        {f"{email}__contains": "pia"},
        {f"{around}__startswith": "p"},
    ]


def test_every_project_list_relating_to_participants_is_checked():
    names = {model._meta.model_name for model, _ in project_lists_relating_to_participants()}
    assert {"participant", "visit", "reminder", "transition", "sitedigest", "site"} <= names


@pytest.mark.parametrize("username", ["monitor", "coordinator-ocn"])
def test_no_list_can_be_narrowed_by_a_participants_email(client, staff, participants, username):
    user = staff[username]
    client.force_login(user)
    narrowed = []
    for model, path in project_lists_relating_to_participants():
        opts = model._meta
        if not user.has_perm(f"{opts.app_label}.view_{opts.model_name}"):
            continue
        url = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
        assert client.get(url).status_code == 200
        for lookup in email_lookups(path):
            response = client.get(url, lookup)
            if response.status_code != 400:
                narrowed.append((opts.model_name, lookup, response.status_code))
    assert narrowed == []


def test_a_reminders_raw_error_cannot_be_searched_for_the_address_it_quotes(
    client, staff, participants
):
    reminder = Reminder.objects.filter(visit__participant=participants[0]).first()
    reminder.status = OutboxStatus.FAILED
    reminder.last_error = "550 5.1.1 <pia@example.org>: Recipient address rejected"
    reminder.save()
    client.force_login(staff["monitor"])
    url = reverse("admin:scheduling_reminder_changelist")
    response = client.get(url, {"last_error__contains": "<pia@"})
    assert response.status_code == 400


# The filters a list offers still narrow it.


def listed(response) -> list:
    return list(response.context["cl"].result_list)


def test_the_participant_lists_filters_still_narrow_it(admin_client, participants, site_ber):
    url = reverse("admin:participants_participant_changelist")
    first = participants[0]
    record_transition(first, Status.SCREEN_FAILED, on=D(2026, 3, 2), reason="Not eligible")
    by_site = admin_client.get(url, {"site__id__exact": site_ber.pk})
    by_status = admin_client.get(url, {"status__exact": Status.SCREEN_FAILED})
    by_phase = admin_client.get(url, {"phase": "screening"})
    overdue = admin_client.get(url, {"overdue": "yes"})
    this_week = admin_client.get(url, {"next_visit": "week"})
    for response in (by_site, by_status, by_phase, overdue, this_week):
        assert response.status_code == 200
    assert {p.site_id for p in listed(by_site)} == {site_ber.pk}
    assert [p.pk for p in listed(by_status)] == [first.pk]
    assert first.pk not in [p.pk for p in listed(by_phase)] and len(listed(by_phase)) == 3
    assert first.pk not in [p.pk for p in listed(overdue)] and len(listed(overdue)) == 3
    assert len(listed(this_week)) < 4


def test_the_visit_lists_filters_and_date_hierarchy_still_narrow_it(
    admin_client, participants, site_ocn
):
    url = reverse("admin:scheduling_visit_changelist")
    everything = admin_client.get(url, {"all": ""})
    by_site = admin_client.get(url, {"participant__site__id__exact": site_ocn.pk, "all": ""})
    by_code = admin_client.get(url, {"code": "SCR"})  # all values of a field: no __exact
    january = admin_client.get(url, {"planned_date__year": "2026", "planned_date__month": "1"})
    assert len(listed(by_site)) == len(listed(everything)) // 2
    assert {v.code for v in listed(by_code)} == {"SCR"} and len(listed(by_code)) == 4
    assert listed(january)
    assert all(v.planned_date.month == 1 for v in listed(january))
    assert len(listed(january)) < Visit.objects.count()


def test_the_reminder_transition_and_digest_lists_filters_still_narrow_them(
    admin_client, participants, site_ocn
):
    reminder = Reminder.objects.filter(visit__participant=participants[0]).first()
    Reminder.objects.filter(pk=reminder.pk).update(status=OutboxStatus.FAILED)
    failed = admin_client.get(
        reverse("admin:scheduling_reminder_changelist"), {"status__exact": "failed"}
    )
    assert [r.pk for r in listed(failed)] == [reminder.pk]
    transitions = admin_client.get(
        reverse("admin:participants_transition_changelist"),
        {"participant__site__id__exact": site_ocn.pk, "to_status__exact": Status.SCREENING},
    )
    assert {t.participant_id for t in listed(transitions)} == {p.pk for p in participants[:2]}
    digests = admin_client.get(
        reverse("admin:scheduling_sitedigest_changelist"),
        {"status__exact": "sent", "site__id__exact": site_ocn.pk},
    )
    assert digests.status_code == 200


@pytest.mark.parametrize("username", ["monitor", "coordinator-ocn"])
def test_every_filter_link_the_admin_offers_opens(client, staff, participants, username):
    """Every choice of every filter of every project list, its date hierarchy and sorting
    links, and the dashboard's links to filtered lists, as the pages link to them."""
    user = staff[username]
    client.force_login(user)
    dashboard = client.get(reverse("admin:index")).text
    followed = set(re.findall(r'href="(/admin/[^"#]*\?[^"#]*)"', dashboard))
    for model in admin.site._registry:
        opts = model._meta
        if opts.app_label not in PROJECT_APPS or not user.has_perm(
            f"{opts.app_label}.view_{opts.model_name}"
        ):
            continue
        url = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
        page = client.get(url)
        changelist = page.context["cl"]
        links = {c["query_string"] for s in changelist.filter_specs for c in s.choices(changelist)}
        links |= set(re.findall(r'href="(\?[^"#]*)"', page.text))
        followed |= {url + link for link in links}
    assert "/admin/participants/participant/?overdue=yes" in followed
    assert "/admin/scheduling/reminder/?status__exact=failed" in followed
    broken = []
    for link in sorted(followed):
        response = client.get(link.replace("&amp;", "&"))
        if response.status_code != 200:
            broken.append((link, response.status_code))
    assert broken == []
