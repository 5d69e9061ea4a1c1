"""Roles as groups, and site isolation in every admin view."""

import datetime

import pytest
import time_machine
from django.contrib.auth.models import Group, Permission
from django.urls import reverse

from participants import roles
from participants.models import Participant, SiteMembership, Status, Transition
from tests.browser import PASSWORD, ensure_roles_if_needed, roles_in_place

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_sites(make_participant, site_ocn, site_ber):
    # Created on their consent day: their screening visits' reminders are ahead.
    with time_machine.travel(datetime.datetime(2026, 1, 5, 20, tzinfo=datetime.UTC), tick=False):
        ocn = make_participant(site=site_ocn, subject_id="SLE-001-101-001")
        ber = make_participant(site=site_ber, subject_id="SLE-001-102-001")
    return ocn, ber


def change_url(participant):
    return reverse("admin:participants_participant_change", args=[participant.pk])


def test_the_migration_creates_the_three_roles():
    assert set(Group.objects.values_list("name", flat=True)) >= set(roles.ROLES)
    monitor = Group.objects.get(name=roles.MONITOR)
    assert monitor.permissions.exists()
    assert not monitor.permissions.exclude(codename__startswith="view_").exists()


def test_the_staff_fixtures_shortcut_sees_any_difference_from_ensure_roles():
    """The staff fixture skips roles.ensure_roles where the groups are already as it makes
    them (tests/browser.py): the check agrees with it and sees a change to any group."""
    roles.ensure_roles()
    assert roles_in_place()
    monitor = Group.objects.get(name=roles.MONITOR)
    monitor.permissions.remove(monitor.permissions.first())
    assert not roles_in_place()  # one permission too few
    ensure_roles_if_needed()
    assert roles_in_place()
    Group.objects.get(name=roles.INVESTIGATOR).permissions.add(
        Permission.objects.exclude(group__name=roles.INVESTIGATOR).first()
    )
    assert not roles_in_place()  # one permission too many
    ensure_roles_if_needed()
    assert roles_in_place()
    Group.objects.filter(name=roles.SITE_MANAGER).delete()
    assert not roles_in_place()
    ensure_roles_if_needed()
    assert roles_in_place()
    assert Group.objects.filter(name=roles.SITE_MANAGER).exists()


def test_only_investigators_may_confirm_eligibility(staff):
    assert roles.may_confirm_eligibility(staff["investigator-ocn"])
    assert not roles.may_confirm_eligibility(staff["coordinator-ocn"])
    assert not roles.may_confirm_eligibility(staff["monitor"])


def test_only_site_managers_keep_the_clinic_calendar_and_coordinators_closures(staff):
    manager, coordinator = staff["manager-ocn"], staff["coordinator-ocn"]
    for perm in ("participants.change_site", "participants.change_sitecapacity"):
        assert manager.has_perm(perm)
        assert not coordinator.has_perm(perm)
        assert not staff["monitor"].has_perm(perm)
    assert coordinator.has_perm("participants.add_siteclosure")
    assert manager.has_perm("participants.add_siteclosure")
    assert not staff["monitor"].has_perm("participants.add_siteclosure")


def test_demo_staff_are_created_once_with_their_sites(staff):
    again = roles.ensure_demo_staff("another-password")
    assert sorted(again) == sorted(staff)
    assert staff["coordinator-ocn"].check_password(PASSWORD)
    memberships = set(SiteMembership.objects.values_list("user__username", "site__code"))
    assert memberships == {
        ("coordinator-ocn", "OCN"),
        ("coordinator-ber", "BER"),
        ("manager-ocn", "OCN"),
        ("investigator-ocn", "OCN"),
        ("investigator-ber", "BER"),
        ("monitor", "OCN"),
        ("monitor", "BER"),
    }
    assert all(user.is_staff and not user.is_superuser for user in staff.values())


def test_an_ocn_coordinator_lists_and_finds_only_ocn_participants(client, staff, two_sites):
    client.force_login(staff["coordinator-ocn"])
    listing = client.get(reverse("admin:participants_participant_changelist"))
    search = client.get(reverse("admin:participants_participant_changelist"), {"q": "SLE-001-102"})
    assert listing.status_code == 200
    assert "SLE-001-101-001" in listing.text
    assert "SLE-001-102-001" not in listing.text
    assert "SLE-001-102-001" not in search.text
    assert "Berlin" not in listing.text  # not even the other site's name in the filters


@pytest.mark.parametrize(
    ("url_name", "method"),
    [
        ("admin:participants_participant_change", "get"),
        ("admin:participants_participant_history", "get"),
        ("admin:participant_transition", "post"),
        ("admin:participant_reminders", "post"),
        ("admin:participant_eligibility", "post"),
        ("admin:participant_unscheduled", "post"),
    ],
)
def test_another_sites_participant_is_a_404_at_every_url(
    client, staff, two_sites, url_name, method
):
    _, ber = two_sites
    client.force_login(staff["coordinator-ocn"])
    response = getattr(client, method)(reverse(url_name, args=[ber.pk]))
    assert response.status_code == 404


def test_another_sites_visits_transitions_and_reminders_are_hidden(client, staff, two_sites):
    _, ber = two_sites
    client.force_login(staff["coordinator-ocn"])
    visit = ber.visits.first()
    transition = ber.transitions.first()
    assert client.get(reverse("admin:scheduling_visit_change", args=[visit.pk])).status_code == 404
    assert (
        client.get(
            reverse("admin:participants_transition_change", args=[transition.pk])
        ).status_code
        == 404
    )
    visits = client.get(reverse("admin:scheduling_visit_changelist"))
    assert "SLE-001-102-001" not in visits.text
    reminders = client.get(reverse("admin:scheduling_reminder_changelist"))
    assert "SLE-001-102-001" not in reminders.text


def test_a_coordinator_cannot_move_a_participant_to_another_site(
    client, staff, two_sites, site_ber
):
    ocn, _ = two_sites
    client.force_login(staff["coordinator-ocn"])
    response = client.post(
        change_url(ocn),
        {
            "site": site_ber.pk,
            "email": ocn.email,
            "change_reason": "moving",
            "transitions-TOTAL_FORMS": 0,
            "transitions-INITIAL_FORMS": 0,
        },
    )
    ocn.refresh_from_db()
    assert ocn.site.code == "OCN"
    assert response.status_code == 200
    assert "Select a valid choice" in response.text


def test_the_export_action_exports_only_the_users_sites(client, staff, two_sites):
    ocn, ber = two_sites
    client.force_login(staff["coordinator-ocn"])
    response = client.post(
        reverse("admin:participants_participant_changelist"),
        {"action": "export_schedule", "_selected_action": [ocn.pk, ber.pk]},
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert "SLE-001-101-001" in body
    assert "SLE-001-102-001" not in body


def test_a_monitor_sees_both_sites_and_changes_nothing(client, staff, two_sites):
    ocn, ber = two_sites
    client.force_login(staff["monitor"])
    listing = client.get(reverse("admin:participants_participant_changelist"))
    page = client.get(change_url(ber))
    transition = client.post(
        reverse("admin:participant_transition", args=[ocn.pk]),
        {"target": Status.WITHDRAWN, "on": "2026-01-06", "reason": "test"},
    )
    assert "SLE-001-101-001" in listing.text and "SLE-001-102-001" in listing.text
    assert page.status_code == 200
    assert "participant@example.org" not in page.text  # contact details only where needed
    assert "Record transition" not in page.text
    assert transition.status_code == 403
    ocn.refresh_from_db()
    assert ocn.status == Status.SCREENING


def test_a_superuser_sees_every_site(admin_client, two_sites):
    listing = admin_client.get(reverse("admin:participants_participant_changelist"))
    assert "SLE-001-101-001" in listing.text and "SLE-001-102-001" in listing.text


def test_transition_records_cannot_be_added_changed_or_deleted(admin_client, two_sites):
    ocn, _ = two_sites
    transition = Transition.objects.filter(participant=ocn).first()
    change = admin_client.post(
        reverse("admin:participants_transition_change", args=[transition.pk]),
        {"reason": "edited", "effective_date": "2026-01-01"},
    )
    delete = admin_client.post(
        reverse("admin:participants_transition_delete", args=[transition.pk]), {"post": "yes"}
    )
    add = admin_client.get(reverse("admin:participants_transition_add"))
    transition.refresh_from_db()
    assert transition.reason == "Informed consent"
    assert delete.status_code == 403
    assert add.status_code == 403
    assert change.status_code == 403


def test_a_staff_user_without_a_site_sees_no_participant(client, two_sites, django_user_model):
    user = django_user_model.objects.create_user("nobody", password=PASSWORD, is_staff=True)
    user.groups.add(Group.objects.get(name=roles.COORDINATOR))
    client.force_login(user)
    listing = client.get(reverse("admin:participants_participant_changelist"))
    assert "SLE-001-10" not in listing.text
    assert Participant.objects.count() == 2
    assert listing.status_code == 200


def test_a_monitor_reads_a_participants_history_without_its_email(client, staff, two_sites):
    ocn, _ = two_sites
    ocn.email = "new.address@example.org"
    ocn._change_reason = "Participant gave a new address"
    ocn.save()
    url = reverse("admin:participants_participant_history", args=[ocn.pk])
    client.force_login(staff["coordinator-ocn"])
    coordinator_view = client.get(url)
    client.force_login(staff["monitor"])
    monitor_view = client.get(url)
    assert "new.address@example.org" in coordinator_view.text
    assert "Participant gave a new address" in monitor_view.text
    assert "@example.org" not in monitor_view.text


def test_a_reminder_error_is_shown_without_the_address_it_quotes(client, staff, two_sites):
    from scheduling.models import OutboxStatus, Reminder

    ocn, _ = two_sites
    reminder = Reminder.objects.filter(visit__participant=ocn).first()
    reminder.status = OutboxStatus.FAILED
    reminder.last_error = f"550 5.1.1 <{ocn.email}>: Recipient address rejected"
    reminder.save()
    client.force_login(staff["monitor"])
    page = client.get(change_url(ocn))
    listed = client.get(reverse("admin:scheduling_reminder_changelist"))
    detail = client.get(reverse("admin:scheduling_reminder_change", args=[reminder.pk]))
    for response in (page, listed, detail):
        assert "Recipient address rejected" in response.text
        assert ocn.email not in response.text


def test_the_transition_list_filters_offer_only_the_users_sites(client, staff, two_sites):
    client.force_login(staff["coordinator-ocn"])
    listing = client.get(reverse("admin:participants_transition_changelist"))
    assert listing.status_code == 200
    assert "SLE-001-101-001" in listing.text
    assert "Berlin" not in listing.text
