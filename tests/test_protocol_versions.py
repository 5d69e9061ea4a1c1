"""Issue 24, worked examples: two versions of SLE-001 side by side at one site.

Version 2.0 adds a follow-up visit at Month 2 (FU2, window ±14 days) and widens the
infusion windows from ±2 to ±3 days. At Oceanside (America/Los_Angeles):

- A consented 5 January 2026, started treatment 2 March, follow-up 27 April; FU1 done on
  28 May. FU2 (planned 27 June, window 13 June–11 July) is open on 15 June.
- B consented 1 June 2026, still in screening: every infusion is ahead.
"""

import datetime

import pytest
from django.core.exceptions import ValidationError

from participants.models import Status
from scheduling.models import (
    OutboxStatus,
    ProtocolVersion,
    Reminder,
    VersionTakeUp,
    Visit,
    VisitStatus,
)
from scheduling.timeline import versions
from tests.factories import move
from tests.versions_fixtures import version_two

D = datetime.date


def visits(participant) -> dict[str, Visit]:
    return {
        v.code: v for v in Visit.objects.filter(participant=participant).select_related("version")
    }


def test_activation_without_reconsent_moves_every_active_participant_from_that_day(
    protocol, site_ocn, clerk, two_participants
):
    a, b = two_participants
    v1 = ProtocolVersion.objects.get(protocol=protocol, number="1.0")
    done_before = {
        code: (v.actual_date, v.window_start, v.window_end)
        for code, v in visits(a).items()
        if v.actual_date
    }
    v2 = version_two(protocol, clerk)

    changes = versions.activate_version(
        v2, site_ocn, on=D(2026, 6, 15), by=clerk, reason="Local approval 2026-06-12"
    )

    assert changes.applied
    assert [p.subject_id for p in changes.participants] == [a.subject_id, b.subject_id]
    after_a = visits(a)
    # Visits done keep their dates, windows and version.
    for code, values in done_before.items():
        visit = after_a[code]
        assert (visit.actual_date, visit.window_start, visit.window_end) == values
        assert visit.version_id == v1.pk
    # FU2's window (13 June–11 July) is open on 15 June: scheduled under 2.0.
    fu2 = after_a["FU2"]
    assert (fu2.planned_date, fu2.window_start, fu2.window_end) == (
        D(2026, 6, 27),
        D(2026, 6, 13),
        D(2026, 7, 11),
    )
    assert fu2.status_on(D(2026, 6, 15)) == VisitStatus.SCHEDULED
    assert fu2.version_id == v2.pk and after_a["FU3"].version_id == v2.pk
    assert Reminder.objects.filter(visit=fu2, status=OutboxStatus.PENDING).count() == 2
    # B's infusions are ahead: re-windowed to ±3 days.
    inf2 = visits(b)["INF2"]
    assert (inf2.planned_date - inf2.window_start).days == 3 and inf2.version_id == v2.pk
    a_changes = changes.participants[0]
    assert any(c.code == "FU2" and c.kind == versions.ADDED for c in a_changes.visits)
    assert any(
        c.code == "INF2" and c.kind == versions.REWINDOWED for c in changes.participants[1].visits
    )
    take_up = VersionTakeUp.objects.filter(participant=a).latest("id")
    assert (take_up.version, take_up.since, take_up.kind, take_up.recorded_by) == (
        v2,
        D(2026, 6, 15),
        "activation",
        clerk,
    )
    # A second rebuild changes nothing.
    from scheduling.timeline.schedules import rebuild_schedule

    before = {code: v.__dict__.copy() for code, v in visits(a).items()}
    rebuild_schedule(a, by=clerk)
    assert {code: v.__dict__ for code, v in visits(a).items()}.keys() == before.keys()
    for code, visit in visits(a).items():
        for name in (
            "planned_date",
            "window_start",
            "window_end",
            "closed_on",
            "version_id",
            "sequence",
        ):
            assert getattr(visit, name) == before[code][name], (code, name)


def test_a_visit_added_after_its_window_ended_is_not_applicable_never_scheduled_backwards(
    protocol, site_ocn, clerk, two_participants, clock
):
    a, _ = two_participants
    v2 = version_two(protocol, clerk)
    clock(D(2026, 7, 20))
    versions.activate_version(v2, site_ocn, on=D(2026, 7, 15), by=clerk, reason="Approved late")
    fu2 = visits(a)["FU2"]
    assert fu2.closed_on == D(2026, 7, 15)
    assert fu2.status_on(D(2026, 7, 20)) == VisitStatus.NOT_APPLICABLE
    assert fu2.closed_reason == "not applicable: version 2.0"
    assert not Reminder.objects.filter(visit=fu2, status=OutboxStatus.PENDING).exists()


def test_a_visit_the_new_version_removes_is_kept_not_applicable(
    protocol, site_ocn, clerk, two_participants
):
    a, _ = two_participants
    v1 = ProtocolVersion.objects.get(protocol=protocol, number="1.0")
    draft = versions.new_draft(protocol, by=clerk)
    draft.approved_on = D(2026, 6, 1)
    draft.save()
    draft.visit_definitions.filter(code="FU9").delete()
    v2 = versions.release(draft, by=clerk)
    fu9 = visits(a)["FU9"]
    assert Reminder.objects.filter(visit=fu9, status=OutboxStatus.PENDING).exists()

    versions.activate_version(v2, site_ocn, on=D(2026, 6, 15), by=clerk, reason="FU9 dropped")

    fu9 = visits(a)["FU9"]
    assert fu9.status_on(D(2026, 6, 15)) == VisitStatus.NOT_APPLICABLE
    assert fu9.version_id == v1.pk and fu9.closed_on == D(2026, 6, 15)
    assert not Reminder.objects.filter(visit=fu9, status=OutboxStatus.PENDING).exists()
    assert Reminder.objects.filter(visit=fu9, status=OutboxStatus.CANCELLED).exists()


def test_a_version_that_needs_reconsent_waits_for_it_and_the_dry_run_changes_nothing(
    protocol, site_ocn, clerk, two_participants, make_participant
):
    a, b = two_participants
    v1 = ProtocolVersion.objects.get(protocol=protocol, number="1.0")
    v2 = version_two(protocol, clerk, needs_reconsent=True)
    changes = versions.activate_version(v2, site_ocn, on=D(2026, 6, 15), by=clerk, reason="IRB")
    assert changes.participants == [] and changes.to_reconsent == [a.subject_id, b.subject_id]
    assert "FU2" not in visits(a)
    assert [p.subject_id for p, _ in versions.needs_reconsent()] == [a.subject_id, b.subject_id]
    # A participant consented from the activation day starts on it.
    c = make_participant(consent_date=D(2026, 6, 15), subject_id="SLE-001-101-003")
    assert {v.version_id for v in visits(c).values()} == {v2.pk}

    sequences = {code: v.sequence for code, v in visits(a).items()}
    preview = versions.record_reconsent(a, v2, on=D(2026, 6, 15), by=clerk, dry_run=True)
    assert not preview.applied
    assert any(c.code == "FU2" for c in preview.participants[0].visits)
    assert "FU2" not in visits(a)
    assert {code: v.sequence for code, v in visits(a).items()} == sequences
    assert VersionTakeUp.objects.filter(participant=a).count() == 1

    versions.record_reconsent(a, v2, on=D(2026, 6, 15), by=clerk)
    assert visits(a)["FU2"].version_id == v2.pk
    assert visits(b)["INF2"].version_id == v1.pk  # B keeps 1.0 until B re-consents
    assert [p.subject_id for p, _ in versions.needs_reconsent()] == [b.subject_id]


@pytest.mark.parametrize(
    "change, field",
    [
        (
            lambda v2, p, site: versions.activate_version(
                v2, site, on=D(2026, 5, 1), by=None, reason="x"
            ),
            "on",
        ),
        (
            lambda v2, p, site: versions.activate_version(
                v2, site, on=D(2026, 6, 30), by=None, reason="x"
            ),
            "on",
        ),
        (
            lambda v2, p, site: versions.activate_version(
                v2, site, on=D(2026, 6, 15), by=None, reason=" "
            ),
            "reason",
        ),
        (
            lambda v2, p, site: versions.record_reconsent(p, v2, on=D(2026, 6, 15), by=None),
            "version",
        ),
    ],
    ids=["before-approval", "in-the-site-future", "no-reason", "not-active-at-site"],
)
def test_bad_activations_and_reconsents_are_refused_naming_the_field_nothing_saved(
    protocol, site_ocn, clerk, two_participants, change, field
):
    a, _ = two_participants
    v2 = version_two(protocol, clerk, needs_reconsent=True)
    with pytest.raises(ValidationError) as refused:
        change(v2, a, site_ocn)
    assert list(refused.value.message_dict) == [field]
    assert not v2.activations.exists()
    assert VersionTakeUp.objects.filter(version=v2).count() == 0


def test_a_draft_is_refused_at_a_site_and_a_released_version_is_never_edited(
    protocol, site_ocn, clerk, two_participants
):
    draft = versions.new_draft(protocol, by=clerk)
    with pytest.raises(ValidationError) as refused:
        versions.activate_version(draft, site_ocn, on=D(2026, 6, 15), by=clerk, reason="x")
    assert "draft" in refused.value.message_dict["version"][0]
    with pytest.raises(ValidationError) as refused:
        versions.new_draft(protocol, by=clerk)
    assert "draft already" in refused.value.message_dict["number"][0]
    with pytest.raises(ValidationError):
        versions.release(draft, by=clerk)  # no approval date
    draft.approved_on = D(2026, 6, 1)
    draft.save()
    versions.release(draft, by=clerk)
    with pytest.raises(ValidationError) as refused:
        versions.release(draft, by=clerk)
    assert "never edited" in refused.value.message_dict["version"][0]


def test_a_participant_who_left_cannot_reconsent(protocol, site_ocn, clerk, two_participants):
    a, b = two_participants
    v2 = version_two(protocol, clerk, needs_reconsent=True)
    versions.activate_version(v2, site_ocn, on=D(2026, 6, 15), by=clerk, reason="IRB")
    move(b, Status.WITHDRAWN, on=D(2026, 6, 15), by=clerk, reason="moved away")
    with pytest.raises(ValidationError) as refused:
        versions.record_reconsent(b, v2, on=D(2026, 6, 15), by=clerk)
    assert "left the trial" in refused.value.message_dict["participant"][0]


def test_a_visit_the_new_version_renames_takes_its_new_name_and_the_preview_says_so(
    protocol, site_ocn, clerk, two_participants
):
    """Found by the properties' author: the visit was re-pointed at 2.0's definition but kept
    1.0's name, which the digest and the timeline show."""
    _, b = two_participants
    draft = versions.new_draft(protocol, by=clerk)
    draft.approved_on = D(2026, 6, 1)
    draft.save()
    leuk = draft.visit_definitions.get(code="LEUK")
    leuk.name = "Cell collection"
    leuk.save()
    v2 = versions.release(draft, by=clerk)
    preview = versions.activate_version(
        v2, site_ocn, on=D(2026, 6, 15), by=clerk, reason="Renamed", dry_run=True
    )
    b_changes = next(p for p in preview.participants if p.subject_id == b.subject_id)
    assert versions.VisitChange("LEUK", versions.RENAMED, "Leukapheresis", "Cell collection") in (
        b_changes.visits
    )
    versions.activate_version(v2, site_ocn, on=D(2026, 6, 15), by=clerk, reason="Renamed")
    assert visits(b)["LEUK"].name == "Cell collection"


def test_a_booking_outside_its_new_window_is_flagged_to_rebook(
    protocol, site_ocn, clerk, two_participants
):
    """2.0 narrows leukapheresis to ±1 day: B's booking 5 days after its planned day is now
    outside the window, flagged to rebook, and the preview says so."""
    from scheduling.timeline.appointments import book_appointment

    _, b = two_participants
    leuk = visits(b)["LEUK"]
    day = next(
        leuk.planned_date + datetime.timedelta(days=n)
        for n in range(2, 8)
        if (leuk.planned_date + datetime.timedelta(days=n)).weekday() < 5
    )
    book_appointment(leuk, on=day, by=clerk)
    draft = versions.new_draft(protocol, by=clerk)
    draft.approved_on = D(2026, 6, 1)
    draft.save()
    draft.visit_definitions.filter(code="LEUK").update(window_before=1, window_after=1)
    v2 = versions.release(draft, by=clerk)
    changes = versions.activate_version(v2, site_ocn, on=D(2026, 6, 15), by=clerk, reason="x")
    leuk = visits(b)["LEUK"]
    assert (leuk.booked_date, leuk.appointment_flag) == (day, "rebook")
    b_changes = next(p for p in changes.participants if p.subject_id == b.subject_id)
    assert any(c.code == "LEUK" and c.kind == versions.REBOOK for c in b_changes.visits)


def test_a_future_activation_or_reconsent_is_refused_in_the_lifecycle_words(
    protocol, site_ocn, clerk, two_participants
):
    """One sentence for a date after the site's today, wherever it is given (issue 23's "where
    today is"): the activation and the re-consent say it as a transition does."""
    a, _ = two_participants  # the clock stands at noon on 2026-06-15 in Oceanside
    v2 = version_two(protocol, clerk, needs_reconsent=True)
    with pytest.raises(ValidationError) as activation:
        versions.activate_version(v2, site_ocn, on=D(2026, 6, 16), by=clerk, reason="approved")
    assert activation.value.message_dict["on"] == [
        "2026-06-16 is in the future at site OCN, where today is 2026-06-15. "
        "Activate a version on the day it takes effect."
    ]
    versions.activate_version(v2, site_ocn, on=D(2026, 6, 15), by=clerk, reason="approved")
    with pytest.raises(ValidationError) as reconsent:
        versions.record_reconsent(a, v2, on=D(2026, 6, 16), by=clerk)
    assert reconsent.value.message_dict["on"] == [
        "2026-06-16 is in the future at site OCN, where today is 2026-06-15."
    ]
    assert VersionTakeUp.objects.filter(version=v2, participant=a).count() == 0
