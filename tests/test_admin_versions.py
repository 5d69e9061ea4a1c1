"""Issue 24 in the admin: a version activated at a site and a participant's re-consent, each
previewed then confirmed; refusals on the field they name; the version followed shown on the
participant's page; every page scoped to the user's sites (test_protocol_versions.py's
worked example: 2.0 adds FU2 and widens the infusion windows; A and B at Oceanside)."""

import csv
import datetime
import io
import re

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse
from django.utils import timezone

from scheduling.mail.digest import digest_content
from scheduling.models import (
    Audience,
    ReminderRule,
    SiteDigest,
    VersionActivation,
    VersionTakeUp,
)
from scheduling.timeline import versions

# The worked example's version 2.0 (its fixtures, clock and two_participants, are
# tests/conftest.py's).
from tests.versions_fixtures import version_two

pytestmark = pytest.mark.django_db

D = datetime.date


def activate_url(version) -> str:
    return reverse("admin:scheduling_protocolversion_activate", args=[version.pk])


def reconsent_url(participant) -> str:
    return reverse("admin:participant_reconsent", args=[participant.pk])


def signed_in(client, user):
    client.force_login(user)
    return client


def activation_form(site, on=None, reason="Local approval 2026-06-12") -> dict:
    return {"site": str(site.pk), "on": (on or D(2026, 6, 15)).isoformat(), "reason": reason}


def confirmed(response) -> dict:
    """The preview's form as posted again with its confirmation."""
    data = {
        key: value
        for key, value in response.context["form"].data.items()
        if key != "csrfmiddlewaretoken"
    }
    return {**data, "confirm": "1", "previewed": response.context["preview"]["key"]}


def test_an_activation_is_previewed_then_applied_on_confirmation(
    client, staff, protocol, site_ocn, clerk, two_participants
):
    a, b = two_participants
    v2 = version_two(protocol, clerk)
    manager = signed_in(client, staff["manager-ocn"])
    page = manager.get(activate_url(v2))
    assert list(page.context["form"].fields["site"].queryset) == [site_ocn]

    preview = manager.post(activate_url(v2), activation_form(site_ocn))

    assert preview.status_code == 200
    changes = preview.context["preview"]["changes"]
    assert [p.subject_id for p in changes.participants] == [a.subject_id, b.subject_id]
    assert 'data-visit="FU2" data-kind="added"' in preview.text
    assert not VersionActivation.objects.filter(version=v2).exists()
    assert not a.visits.filter(code="FU2").exists()

    applied = manager.post(activate_url(v2), confirmed(preview))

    assert applied.status_code == 302
    activation = VersionActivation.objects.get(version=v2, site=site_ocn)
    assert activation.activated_by == staff["manager-ocn"]
    assert a.visits.get(code="FU2").version == v2
    assert VersionTakeUp.objects.filter(participant=a).latest("id").version == v2


def test_a_confirmation_of_another_date_than_previewed_previews_again(
    client, staff, protocol, site_ocn, clerk, two_participants
):
    v2 = version_two(protocol, clerk)
    manager = signed_in(client, staff["manager-ocn"])
    preview = manager.post(activate_url(v2), activation_form(site_ocn))
    data = {**confirmed(preview), "on": "2026-06-14"}
    again = manager.post(activate_url(v2), data)
    assert again.status_code == 200 and again.context["preview"]
    assert not VersionActivation.objects.filter(version=v2).exists()


def test_an_activation_refused_by_the_service_names_the_field(
    client, staff, protocol, site_ocn, clerk, two_participants
):
    v2 = version_two(protocol, clerk)
    manager = signed_in(client, staff["manager-ocn"])
    future = manager.post(activate_url(v2), activation_form(site_ocn, on=D(2026, 7, 1)))
    assert "is in the future at site OCN" in future.context["form"].errors["on"][0]
    early = manager.post(activate_url(v2), activation_form(site_ocn, on=D(2026, 5, 1)))
    assert "before version 2.0 was approved" in early.context["form"].errors["on"][0]
    assert not VersionActivation.objects.filter(version=v2).exists()


def test_a_coordinator_may_not_activate_a_version(client, staff, protocol, clerk, site_ocn):
    v2 = version_two(protocol, clerk)
    coordinator = signed_in(client, staff["coordinator-ocn"])
    assert coordinator.get(activate_url(v2)).status_code == 403
    assert coordinator.post(activate_url(v2), activation_form(site_ocn)).status_code == 403


def test_an_activator_at_berlin_cannot_activate_at_oceanside(
    client, staff, protocol, clerk, site_ocn, site_ber
):
    v2 = version_two(protocol, clerk)
    user = staff["coordinator-ber"]
    user.user_permissions.add(Permission.objects.get(codename="add_versionactivation"))
    berlin = signed_in(client, type(user).objects.get(pk=user.pk))
    page = berlin.get(activate_url(v2))
    assert list(page.context["form"].fields["site"].queryset) == [site_ber]
    response = berlin.post(activate_url(v2), activation_form(site_ocn))
    assert "site" in response.context["form"].errors
    assert not VersionActivation.objects.filter(version=v2).exists()


def test_a_berlin_coordinator_sees_no_oceanside_activation(
    client, staff, protocol, clerk, site_ocn, two_participants
):
    v2 = version_two(protocol, clerk)
    versions.activate_version(v2, site_ocn, on=D(2026, 6, 15), by=clerk, reason="OCN approval")
    berlin = signed_in(client, staff["coordinator-ber"])
    protocol_page = berlin.get(reverse("admin:participants_protocol_change", args=[protocol.pk]))
    version_page = berlin.get(reverse("admin:scheduling_protocolversion_change", args=[v2.pk]))
    assert protocol_page.status_code == version_page.status_code == 200
    assert 'data-site="OCN"' not in protocol_page.text
    assert 'data-site="OCN"' not in version_page.text
    oceanside = signed_in(client, staff["coordinator-ocn"])
    assert (
        'data-site="OCN"'
        in oceanside.get(reverse("admin:scheduling_protocolversion_change", args=[v2.pk])).text
    )


@pytest.fixture
def waiting(protocol, site_ocn, clerk, two_participants):
    """2.0 needs re-consent and is active at Oceanside from 15 June: A and B wait for it."""
    v2 = version_two(protocol, clerk, needs_reconsent=True)
    versions.activate_version(v2, site_ocn, on=D(2026, 6, 15), by=clerk, reason="OCN approval")
    return v2, *two_participants


def reconsent_form(version, on=None, reason="Signed consent form v2") -> dict:
    return {"version": str(version.pk), "on": (on or D(2026, 6, 15)).isoformat(), "reason": reason}


def test_a_reconsent_is_previewed_then_recorded_from_the_participants_page(client, staff, waiting):
    v2, a, _ = waiting
    coordinator = signed_in(client, staff["coordinator-ocn"])
    page = coordinator.get(reverse("admin:participants_participant_change", args=[a.pk]))
    assert reconsent_url(a) in page.text
    assert "Follows version 1.0 since 2026-01-05." in page.text
    form_page = coordinator.get(reconsent_url(a))
    assert list(form_page.context["form"].fields["version"].queryset) == [v2]

    preview = coordinator.post(reconsent_url(a), reconsent_form(v2))

    assert preview.status_code == 200
    assert 'data-visit="FU2" data-kind="added"' in preview.text
    assert VersionTakeUp.objects.filter(participant=a).latest("id").version.number == "1.0"

    recorded = coordinator.post(reconsent_url(a), confirmed(preview))

    assert recorded.status_code == 302
    take_up = VersionTakeUp.objects.filter(participant=a).latest("id")
    assert (take_up.version, take_up.kind, take_up.recorded_by, take_up.reason) == (
        v2,
        "reconsent",
        staff["coordinator-ocn"],
        "Signed consent form v2",
    )
    page = coordinator.get(reverse("admin:participants_participant_change", args=[a.pk]))
    assert "Follows version 2.0 since 2026-06-15." in page.text
    assert 'data-version="2.0"' in page.text  # the take-up history
    assert '<td class="visit-version" data-label="Version">2.0</td>' in page.text


def test_a_reconsent_refused_by_the_service_names_the_field(client, staff, waiting):
    v2, a, _ = waiting
    coordinator = signed_in(client, staff["coordinator-ocn"])
    response = coordinator.post(reconsent_url(a), reconsent_form(v2, on=D(2026, 6, 10)))
    assert "before version 2.0 became active at OCN" in response.context["form"].errors["on"][0]
    assert VersionTakeUp.objects.filter(participant=a).count() == 1


def test_a_berlin_coordinator_cannot_reconsent_an_oceanside_participant(client, staff, waiting):
    v2, a, _ = waiting
    berlin = signed_in(client, staff["coordinator-ber"])
    assert berlin.get(reconsent_url(a)).status_code == 404
    assert berlin.post(reconsent_url(a), reconsent_form(v2)).status_code == 404
    assert VersionTakeUp.objects.filter(participant=a).count() == 1


def test_a_monitor_reads_the_version_followed_and_records_no_reconsent(client, staff, waiting):
    _, a, _ = waiting
    monitor = signed_in(client, staff["monitor"])
    page = monitor.get(reverse("admin:participants_participant_change", args=[a.pk]))
    assert "Follows version 1.0" in page.text
    assert reconsent_url(a) not in page.text
    assert monitor.get(reconsent_url(a)).status_code == 403


def test_a_released_version_offers_activation_only_to_who_may_activate(
    client, staff, protocol, clerk
):
    v2 = version_two(protocol, clerk)
    url = reverse("admin:scheduling_protocolversion_change", args=[v2.pk])
    assert activate_url(v2) in signed_in(client, staff["manager-ocn"]).get(url).text
    assert activate_url(v2) not in signed_in(client, staff["coordinator-ocn"]).get(url).text


# Visible everywhere (item 5): a visit 2.0 removes (FU9) is not applicable, never missed.


@pytest.fixture
def fu9_dropped(protocol, site_ocn, clerk, two_participants):
    """2.0 drops FU9 and is active at Oceanside from 15 June (today)."""
    a, b = two_participants
    draft = versions.new_draft(protocol, by=clerk)
    draft.approved_on = D(2026, 6, 1)
    draft.save()
    draft.visit_definitions.filter(code="FU9").delete()
    v2 = versions.release(draft, by=clerk)
    versions.activate_version(v2, site_ocn, on=D(2026, 6, 15), by=clerk, reason="FU9 dropped")
    return v2, a, b


def test_the_schedule_export_names_each_visits_protocol_version(
    admin_client, protocol, site_ocn, clerk, two_participants
):
    a, _ = two_participants
    v2 = version_two(protocol, clerk)
    versions.activate_version(v2, site_ocn, on=D(2026, 6, 15), by=clerk, reason="OCN approval")
    response = admin_client.post(
        reverse("admin:participants_participant_changelist"),
        {"action": "export_schedule", "_selected_action": [a.pk]},
    )
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    by_code = {row["visit_code"]: row for row in rows}
    assert by_code["FU1"]["protocol_version"] == "1.0"  # done under 1.0
    assert by_code["FU2"]["protocol_version"] == "2.0"


def test_the_visit_list_filters_not_applicable_apart_from_missed(admin_client, fu9_dropped):
    _, a, b = fu9_dropped
    url = reverse("admin:scheduling_visit_changelist")
    not_applicable = admin_client.get(url, {"visit_status": "not_applicable"})
    assert {(v.participant, v.code) for v in not_applicable.context["cl"].result_list} == {
        (a, "FU9"),
        (b, "FU9"),
    }
    missed = admin_client.get(url, {"visit_status": "missed"})
    assert "FU9" not in {v.code for v in missed.context["cl"].result_list}
    assert "Not applicable" in not_applicable.text  # offered among the statuses


def test_the_participant_page_and_calendar_say_not_applicable_not_missed(admin_client, fu9_dropped):
    _, a, _ = fu9_dropped
    fu9 = a.visits.get(code="FU9")
    page = admin_client.get(reverse("admin:participants_participant_change", args=[a.pk]))
    row = re.search(r'<tr class="visit-row[^"]*" data-visit="FU9">.*?</tr>', page.text, re.S)
    assert 'visit-status-not_applicable">not applicable<' in row.group(0)
    month = fu9.appointment_day.strftime("%Y-%m")
    calendar = admin_client.get(
        reverse("admin:scheduling_visit_calendar"), {"site": "OCN", "month": month}
    )
    entry = re.search(r'<a class="cal-visit [^"]*"[^>]*title="[^"]*FU9[^"]*"', calendar.text)
    assert entry and "not_applicable" in entry.group(0) and "missed" not in entry.group(0)


def test_the_dashboard_lists_those_to_reconsent_at_the_users_sites(client, staff, waiting):
    _, a, b = waiting
    oceanside = signed_in(client, staff["coordinator-ocn"]).get("/admin/")
    assert f'data-participant="{a.subject_id}"' in oceanside.text
    assert "version 2.0 is active and needs their re-consent" in oceanside.text
    berlin = signed_in(client, staff["coordinator-ber"]).get("/admin/")
    assert f'data-participant="{a.subject_id}"' not in berlin.text


def test_the_dashboard_shows_a_version_changes_not_applicable_visits(client, staff, fu9_dropped):
    _, a, _ = fu9_dropped
    board = signed_in(client, staff["coordinator-ocn"]).get("/admin/").context["board"]
    [change] = [t for t in board["version_changes"] if t.participant_id == a.pk]
    assert (change.version.number, change.not_applicable_count) == ("2.0", 1)
    assert "FU9" not in {visit.code for visit in board["overdue"]}


def test_the_digest_lists_not_applicable_visits_apart_from_missed(protocol, fu9_dropped):
    _, a, b = fu9_dropped
    rule = ReminderRule.objects.get(protocol=protocol, audience=Audience.COORDINATOR_DIGEST)
    now = timezone.now()
    digest = SiteDigest(site=a.site, rule=rule, local_date=a.site.today(), due_at=now)
    content = digest_content(digest)
    assert [(v.participant_id, v.code) for v in content.not_applicable] == [
        (a.pk, "FU9"),
        (b.pk, "FU9"),
    ]
    assert "FU9" not in {v.code for v in content.missed}


def test_the_audit_trail_names_the_take_ups_and_the_sites_activations(admin_client, fu9_dropped):
    _, a, _ = fu9_dropped
    trail = admin_client.get(reverse("admin:participant_audit_trail", args=[a.pk]))
    events = [(e.kind, e.event, e.why) for e in trail.context["entries"] if e.kind == "version"]
    assert ("version", "version taken up (Site activation)", "FU9 dropped") in events
    assert ("version", "version 2.0 activated at the site", "FU9 dropped") in events
