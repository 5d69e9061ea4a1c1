"""A protocol's plan changes through its versions (issue 24, item 7): the protocol page lists
them; a new draft is copied from the latest and edited inline, touching no participant's
schedule; a released version is read only, whatever is posted; a release needs the approval
date; two versions are compared visit by visit."""

import datetime

import pytest
import time_machine
from django.urls import reverse

from scheduling.models import Phase, ProtocolVersion, VisitDefinition
from scheduling.timeline import versions
from tests.forms import form_data

pytestmark = pytest.mark.django_db

NOW = datetime.datetime(2026, 1, 20, 20, 0, tzinfo=datetime.UTC)


def set_field(data, prefix, match, field, value):
    """Set ``field`` on the inline form of ``prefix`` whose code is ``match``."""
    for key, current in list(data.items()):
        if key.startswith(prefix + "-") and key.endswith("-code") and current == match:
            data[key.removesuffix("-code") + "-" + field] = value
            return data
    raise AssertionError(f"no {prefix} form with code {match}")


def version_one(protocol) -> ProtocolVersion:
    return ProtocolVersion.objects.get(protocol=protocol, number="1.0")


def change_url(version) -> str:
    return reverse("admin:scheduling_protocolversion_change", args=[version.pk])


@pytest.fixture
def follower(make_participant):
    with time_machine.travel(NOW, tick=False):
        return make_participant(consent_date=datetime.date(2026, 1, 5))


@pytest.fixture
def draft(protocol, admin_user):
    return versions.new_draft(protocol, by=admin_user, note="Amendment 1")


def test_sle001_is_a_phase_ii_trial_and_its_history_says_from_where(protocol):
    """Migration 0015: the public listing's "Trial Phase: Phase 2", recorded with a why."""
    assert protocol.trial_phase == "PHASE II TRIAL"
    assert protocol.get_trial_phase_display() == "Phase II"
    recorded = protocol.history.filter(trial_phase="PHASE II TRIAL").earliest("history_id")
    assert "NCT06038474" in recorded.history_change_reason


def test_the_protocol_page_offers_the_trial_phase_not_a_plan_phase(admin_client, protocol):
    page = admin_client.get(reverse("admin:participants_protocol_change", args=[protocol.pk]))
    field = page.context["adminform"].form.fields["trial_phase"]
    assert field.label == "Trial phase"
    assert "not a phase of its plan" in field.help_text
    assert [value for value, _ in field.choices][:3] == ["", "PHASE 0 TRIAL", "PHASE I TRIAL"]
    assert '<option value="PHASE II TRIAL" selected>Phase II</option>' in page.text


def test_the_protocol_page_lists_its_versions_and_its_digest_rule(admin_client, protocol):
    response = admin_client.get(reverse("admin:participants_protocol_change", args=[protocol.pk]))
    assert response.status_code == 200
    assert [row.version.number for row in response.context["version_rows"]] == ["1.0"]
    assert 'data-state="released"' in response.text
    assert change_url(version_one(protocol)) in response.text
    assert 'id="new-draft"' in response.text
    # The plan is not edited here any more: only criteria and the digest rule are inline.
    prefixes = {inline.formset.prefix for inline in response.context["inline_admin_formsets"]}
    assert "phases" not in prefixes and "visit_definitions" not in prefixes
    assert "Coordinator digest" in response.text


def test_new_draft_copies_the_latest_version_and_opens_it(admin_client, protocol):
    url = reverse("admin:scheduling_protocolversion_new_draft", args=[protocol.pk])
    response = admin_client.post(url)
    draft = ProtocolVersion.objects.get(protocol=protocol, number="2.0")
    assert response.status_code == 302 and response.url == change_url(draft)
    assert not draft.is_released
    assert draft.visit_definitions.count() == version_one(protocol).visit_definitions.count()
    assert draft.reminder_rules.count() == version_one(protocol).reminder_rules.count()


def test_a_second_draft_is_refused_while_one_is_open(admin_client, protocol, draft):
    url = reverse("admin:scheduling_protocolversion_new_draft", args=[protocol.pk])
    response = admin_client.post(url, follow=True)
    assert "is a draft already" in response.text
    assert ProtocolVersion.objects.filter(protocol=protocol).count() == 2


def test_editing_a_draft_never_touches_a_participants_schedule(admin_client, draft, follower):
    leukapheresis_before = follower.visits.get(code="LEUK")
    data = form_data(admin_client.get(change_url(draft)))
    set_field(data, "visit_definitions", "LEUK", "offset", "42")
    set_field(data, "phases", "screening", "length", "9")
    data["change_reason"] = "Amendment 1: later leukapheresis"
    with time_machine.travel(NOW, tick=False):
        response = admin_client.post(change_url(draft), data)
    assert response.status_code == 302
    assert draft.visit_definitions.get(code="LEUK").offset == 42
    assert draft.phases.get(code="screening").length == 9
    # Version 1.0, which the participant follows, and their visits are as they were.
    assert version_one(draft.protocol).visit_definitions.get(code="LEUK").offset == 35
    leukapheresis = follower.visits.get(code="LEUK")
    assert leukapheresis.planned_date == leukapheresis_before.planned_date
    assert leukapheresis.history.count() == leukapheresis_before.history.count()
    row = draft.visit_definitions.get(code="LEUK")
    latest = row.history.order_by("-history_id").first()
    assert latest.history_change_reason == "Amendment 1: later leukapheresis"


def test_a_visit_added_to_a_draft_belongs_to_its_protocol_and_version(admin_client, draft):
    data = form_data(admin_client.get(change_url(draft)))
    total = int(data["visit_definitions-TOTAL_FORMS"])
    follow_up = draft.phases.get(code="follow_up")
    data.update(
        {
            "visit_definitions-TOTAL_FORMS": str(total + 1),
            f"visit_definitions-{total}-phase": str(follow_up.pk),
            f"visit_definitions-{total}-order": "99",
            f"visit_definitions-{total}-code": "FU2",
            f"visit_definitions-{total}-name": "Follow-up Month 2",
            f"visit_definitions-{total}-offset": "2",
            f"visit_definitions-{total}-unit": "months",
            f"visit_definitions-{total}-window_before": "14",
            f"visit_definitions-{total}-window_after": "14",
        }
    )
    response = admin_client.post(change_url(draft), data)
    assert response.status_code == 302, response.context and response.context["errors"]
    added = VisitDefinition.objects.get(version=draft, code="FU2")
    assert added.protocol_id == draft.protocol_id


def test_a_drafts_visits_choose_among_its_own_phases_only(admin_client, draft):
    response = admin_client.get(change_url(draft))
    formset = next(
        inline.formset
        for inline in response.context["inline_admin_formsets"]
        if inline.formset.prefix == "visit_definitions"
    )
    offered = set(formset.forms[0].fields["phase"].queryset)
    assert offered == set(Phase.objects.filter(version=draft))


def test_a_released_version_is_read_only_and_a_crafted_post_saves_nothing(
    admin_client, protocol, draft
):
    released = version_one(protocol)
    kept = released.visit_definitions.get(code="LEUK").history.count()
    page = admin_client.get(change_url(released))
    assert page.status_code == 200
    assert 'name="visit_definitions-0-offset"' not in page.text
    assert 'name="_save"' not in page.text
    # The draft's form, posted to the released version's page, changes nothing.
    data = form_data(admin_client.get(change_url(draft)))
    set_field(data, "visit_definitions", "LEUK", "offset", "42")
    data["number"], data["change_reason"] = "1.0", "crafted"
    for key in list(data):
        if key.endswith("-version"):
            data[key] = str(released.pk)
    response = admin_client.post(change_url(released), data)
    assert response.status_code == 403
    assert released.visit_definitions.get(code="LEUK").offset == 35
    assert released.visit_definitions.get(code="LEUK").history.count() == kept


def test_the_release_asks_for_the_approval_date_on_its_field(admin_client, draft):
    url = reverse("admin:scheduling_protocolversion_release", args=[draft.pk])
    response = admin_client.post(url, {"approved_on": ""})
    assert response.status_code == 200
    assert "approved_on" in response.context["form"].errors
    draft.refresh_from_db()
    assert not draft.is_released


def test_a_draft_released_with_its_approval_date_is_never_edited_again(admin_client, draft):
    url = reverse("admin:scheduling_protocolversion_release", args=[draft.pk])
    response = admin_client.post(url, {"approved_on": "2026-01-15"})
    assert response.status_code == 302
    draft.refresh_from_db()
    assert draft.is_released and draft.approved_on == datetime.date(2026, 1, 15)
    again = admin_client.post(url, {"approved_on": "2026-01-15"})
    assert "is never edited again" in again.text
    assert "version" not in again.context["form"].errors  # above the form: not a field of it


def test_the_comparison_lists_what_a_version_changes_visit_by_visit(admin_client, draft):
    draft.visit_definitions.filter(code="LEUK").update(offset=42)
    draft.visit_definitions.filter(code="FU12").update(name="Follow-up, one year")
    draft.visit_definitions.filter(code="INF2").update(window_before=3, window_after=3)
    draft.phases.filter(code="screening").update(length=9)
    draft.reminder_rules.filter(lead_days=7).update(local_time=datetime.time(10, 30))
    response = admin_client.get(
        reverse("admin:scheduling_protocolversion_compare", args=[draft.pk])
    )
    kinds = {(c.code, c.kind) for c in response.context["changes"]}
    assert response.context["old"].number == "1.0"
    assert {
        ("LEUK", "moved"),
        ("FU12", "renamed"),
        ("INF2", "re-windowed"),
        ("phase screening", "moved"),
        ("reminders", "reminders changed"),
    } <= kinds
    assert 'data-kind="renamed"' in response.text


def test_the_comparison_takes_any_other_version_of_the_protocol(admin_client, protocol, draft):
    released = version_one(protocol)
    url = reverse("admin:scheduling_protocolversion_compare", args=[released.pk])
    response = admin_client.get(url, {"with": draft.pk})
    assert (response.context["old"], response.context["new"]) == (released, draft)
    assert response.context["changes"] == []
    assert "The two plans are the same." in response.text
