"""Issue 24 in the admin: a version activated at a site and a participant's re-consent, each
previewed then confirmed; refusals on the field they name; the version followed shown on the
participant's page; every page scoped to the user's sites (test_protocol_versions.py's
worked example: 2.0 adds FU2 and widens the infusion windows; A and B at Oceanside)."""

import datetime

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from scheduling.models import VersionActivation, VersionTakeUp
from scheduling.timeline import versions
from tests import test_protocol_versions as worked

# The worked example's fixtures and version 2.0.
clock = worked.clock
two_participants = worked.two_participants
version_two = worked.version_two

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
