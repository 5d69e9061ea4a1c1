"""Writes about participants: creation, status transitions, the reminders switch.

Every function validates first, writes inside ``transaction.atomic()``, and sends
``timeline_changed`` so the schedule follows in the same transaction.
"""

import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from .models import LEFT_STATUSES, Participant, Protocol, Site, Status, Transition
from .signals import timeline_changed

# Where each status may go next. Exits other than completion need a reason.
ALLOWED_TRANSITIONS: dict[str, frozenset[str]] = {
    Status.SCREENING: frozenset(
        {Status.ENROLLED, Status.SCREEN_FAILED, Status.WITHDRAWN, Status.LOST_TO_FOLLOW_UP}
    ),
    Status.ENROLLED: frozenset(
        {Status.TREATMENT, Status.SCREEN_FAILED, Status.WITHDRAWN, Status.LOST_TO_FOLLOW_UP}
    ),
    Status.TREATMENT: frozenset({Status.FOLLOW_UP, Status.WITHDRAWN, Status.LOST_TO_FOLLOW_UP}),
    Status.FOLLOW_UP: frozenset({Status.COMPLETED, Status.WITHDRAWN, Status.LOST_TO_FOLLOW_UP}),
    Status.COMPLETED: frozenset(),
    Status.SCREEN_FAILED: frozenset(),
    Status.WITHDRAWN: frozenset(),
    Status.LOST_TO_FOLLOW_UP: frozenset(),
}
REASON_REQUIRED = frozenset({Status.SCREEN_FAILED, Status.WITHDRAWN, Status.LOST_TO_FOLLOW_UP})


def allowed_targets(participant: Participant) -> list[str]:
    """The statuses this participant may move to now, in lifecycle order."""
    allowed = ALLOWED_TRANSITIONS[participant.status]
    return [value for value in Status.values if value in allowed]


def _notify(participant: Participant) -> None:
    timeline_changed.send(sender=Participant, participant=participant)


def validate_new_participant(
    *, protocol: Protocol, site: Site, subject_id: str, consent_date: datetime.date, now=None
) -> None:
    """Raise ValidationError (by field) unless a participant with these values may be created."""
    errors = {}
    if not subject_id.strip():
        errors["subject_id"] = "is required."
    elif Participant.objects.filter(protocol=protocol, subject_id=subject_id).exists():
        errors["subject_id"] = f"{subject_id} already exists in protocol {protocol.code}."
    site_today = site.today(now)
    if consent_date > site_today:
        errors["consent_date"] = (
            f"{consent_date.isoformat()} is in the future at site {site.code} "
            f"(today there is {site_today.isoformat()})."
        )
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def create_participant(
    *,
    protocol: Protocol,
    site: Site,
    subject_id: str,
    email: str,
    consent_date: datetime.date,
    by=None,
    via: str = "admin",
    now=None,
) -> Participant:
    """Create a participant in screening from the consent date, with its first transition record."""
    validate_new_participant(
        protocol=protocol, site=site, subject_id=subject_id, consent_date=consent_date, now=now
    )
    participant = Participant(
        protocol=protocol, site=site, subject_id=subject_id, email=email, consent_date=consent_date
    )
    participant.full_clean(validate_unique=False, validate_constraints=False)
    participant._change_reason = "Consented and entered screening"
    participant.save()
    Transition.objects.create(
        participant=participant,
        from_status="",
        to_status=Status.SCREENING,
        effective_date=consent_date,
        reason="Informed consent",
        recorded_by=by,
        recorded_via=via,
    )
    _notify(participant)
    return participant


def _latest_transition(participant: Participant) -> Transition | None:
    return participant.transitions.order_by("-recorded_at", "-id").first()


@transaction.atomic
def record_transition(
    participant: Participant,
    target: str,
    *,
    on: datetime.date,
    reason: str = "",
    by=None,
    via: str = "admin",
    now=None,
) -> Transition:
    """Move a participant to ``target`` effective ``on``; the rules of the lifecycle apply.

    The effective date is never in the site's future nor before the previous transition.
    Leaving the trial (completion or an exit) records the date; the schedule then cancels
    every visit planned after it.
    """
    participant = Participant.objects.select_for_update().select_related("site").get(
        pk=participant.pk
    )
    if target not in Status.values:
        raise ValidationError({"target": f"“{target}” is not a status."})
    current = participant.status
    if target not in ALLOWED_TRANSITIONS[current]:
        allowed = ", ".join(allowed_targets(participant)) or "none: the participant has left"
        raise ValidationError(
            {
                "target": f"A participant in {Status(current).label.lower()} cannot move to "
                f"{Status(target).label.lower()} (allowed: {allowed})."
            }
        )
    reason = (reason or "").strip()
    if target in REASON_REQUIRED and not reason:
        raise ValidationError({"reason": f"A reason is required for {Status(target).label.lower()}."})
    site_today = participant.site.today(now)
    if on > site_today:
        raise ValidationError(
            {
                "on": f"{on.isoformat()} is in the future at site {participant.site.code} "
                f"(today there is {site_today.isoformat()})."
            }
        )
    previous = _latest_transition(participant)
    if previous and on < previous.effective_date:
        raise ValidationError(
            {
                "on": f"{on.isoformat()} is before the previous transition "
                f"({previous.get_to_status_display().lower()} on "
                f"{previous.effective_date.isoformat()})."
            }
        )
    transition = Transition.objects.create(
        participant=participant,
        from_status=current,
        to_status=target,
        effective_date=on,
        reason=reason,
        recorded_by=by,
        recorded_via=via,
        recorded_at=now or timezone.now(),
    )
    participant.status = target
    participant.left_on = on if target in LEFT_STATUSES else None
    participant._change_reason = reason or f"Transition to {Status(target).label.lower()}"
    participant.save(update_fields=["status", "left_on"])
    _notify(participant)
    return transition


@transaction.atomic
def set_reminders(participant: Participant, enabled: bool, *, reason: str = "", by=None) -> None:
    """Turn a participant's reminders on or off; pending reminders follow at once."""
    participant = Participant.objects.select_for_update().get(pk=participant.pk)
    if participant.reminders_enabled == enabled:
        return
    participant.reminders_enabled = enabled
    participant._change_reason = reason or ("Reminders turned on" if enabled else "Opted out")
    participant.save(update_fields=["reminders_enabled"])
    _notify(participant)


def actual_phase_starts(participant: Participant) -> dict[str, datetime.date]:
    """Actual start of each status-named phase: the latest record of a transition into it."""
    starts: dict[str, datetime.date] = {}
    for status, effective in (
        participant.transitions.order_by("recorded_at", "id").values_list(
            "to_status", "effective_date"
        )
    ):
        starts[status] = effective
    return starts
