"""Writes about a participant's lifecycle: creation in screening, status transitions and their
corrections, the reminders switch. (Its reads: ``selectors``; imports from files: ``imports``.)

The rules: a subject id is unique in its protocol and fits the protocol's pattern; a status
moves only along :data:`ALLOWED_TRANSITIONS`, an exit other than completion needs a reason, and
so does a transition that closes visits not done; enrolment obeys
:func:`eligibility.refuse_enrolment`. A date given is not in the site's future nor before
1990-01-01 (a consent date: its protocol's earliest date), and a transition's not before the
previous one; a correction is a new record, not after the next transition either.

Every function validates first, writes inside ``transaction.atomic()``, and sends
``timeline_changed`` so the schedule follows in the same transaction.
"""

import datetime
import re

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from simple_history.utils import bulk_create_with_history

from .dates import too_early_problem
from .eligibility import refuse_enrolment
from .history import stamp
from .models import (
    LEFT_STATUSES,
    Participant,
    Protocol,
    Site,
    Status,
    Transition,
)
from .selectors import effective_transitions, visits_closed_by
from .signals import timeline_changed
from .validators import validate_subject_id

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
# The exits that need a reason, and how a sentence names each ("… for a withdrawal.").
EXIT_NOUNS = {
    Status.SCREEN_FAILED: "a screen failure",
    Status.WITHDRAWN: "a withdrawal",
    Status.LOST_TO_FOLLOW_UP: "lost to follow-up",
}
REASON_REQUIRED = frozenset(EXIT_NOUNS)
SUBJECT_ID_MAX_LENGTH = Participant._meta.get_field("subject_id").max_length
# Rows per INSERT when many are written at once (an import): bounded memory per statement.
BATCH_SIZE = 2000


def allowed_targets(participant: Participant) -> list[str]:
    """The statuses this participant may move to now, in lifecycle order."""
    allowed = ALLOWED_TRANSITIONS[participant.status]
    return [value for value in Status.values if value in allowed]


def _notify(participant: Participant, *, by=None, reason: str = "") -> None:
    """Tell the schedule; ``by`` and ``reason`` name who and why in the history of the visits
    and reminders that move as a result."""
    timeline_changed.send(sender=Participant, participant=participant, by=by, reason=reason)


def future_date_problem(site: Site, day: datetime.date, now=None) -> str:
    """Why ``day`` may not be recorded at ``site``: it is after the site's today; else ""."""
    site_today = site.today(now)
    if day <= site_today:
        return ""
    return (
        f"{day.isoformat()} is in the future at site {site.code}, "
        f"where today is {site_today.isoformat()}."
    )


def refuse_date_out_of_range(site: Site, day: datetime.date, field: str, now=None) -> None:
    """Raise ValidationError on ``field`` if ``day`` is after the site's today or before the
    earliest date any protocol accepts (1990-01-01): a date that happened, given by a user."""
    problem = future_date_problem(site, day, now) or too_early_problem(day)
    if problem:
        raise ValidationError({field: problem})


def _refuse_before(day: datetime.date, previous: Transition) -> None:
    if day < previous.effective_date:
        raise ValidationError(
            {
                "on": f"{day.isoformat()} is before the previous transition "
                f"({previous.get_to_status_display().lower()} on "
                f"{previous.effective_date.isoformat()})."
            }
        )


def subject_id_problem(protocol: Protocol, subject_id: str) -> str:
    """Why ``subject_id`` may not identify a participant of ``protocol``; else "". Any subject
    id is letters, digits, "-", "_" and "."; a protocol's own pattern may narrow that."""
    try:
        validate_subject_id(subject_id)
    except ValidationError as error:
        return error.messages[0]
    if len(subject_id) > SUBJECT_ID_MAX_LENGTH:
        return f"“{subject_id}” is longer than {SUBJECT_ID_MAX_LENGTH} characters."
    pattern = protocol.subject_id_pattern
    if pattern and not re.fullmatch(pattern, subject_id):
        return (
            f"“{subject_id}” does not match the subject ids of protocol {protocol.code} "
            f"({pattern})."
        )
    return ""


def validate_new_participant(
    *,
    protocol: Protocol,
    site: Site,
    subject_id: str,
    consent_date: datetime.date,
    now=None,
    taken: set[str] | None = None,
) -> None:
    """Raise ValidationError (by field) unless a participant with these values may be created.
    ``taken``: the subject ids of ``protocol`` already in the trial, when the caller read them
    (an import reads them once for every row); else they are asked for."""
    errors = {}
    if not subject_id.strip():
        errors["subject_id"] = "is required."
    elif problem := subject_id_problem(protocol, subject_id):
        errors["subject_id"] = problem
    elif (
        subject_id in taken
        if taken is not None
        else Participant.objects.filter(protocol=protocol, subject_id=subject_id).exists()
    ):
        errors["subject_id"] = f"{subject_id} already exists in protocol {protocol.code}."
    problem = too_early_problem(consent_date, protocol) or future_date_problem(
        site, consent_date, now
    )
    if problem:
        errors["consent_date"] = problem
    if errors:
        raise ValidationError(errors)


def new_participant(
    *,
    protocol: Protocol,
    site: Site,
    subject_id: str,
    email: str,
    consent_date: datetime.date,
    language: str,
    now=None,
    taken: set[str] | None = None,
) -> Participant:
    """A participant checked and ready to save (not saved): ValidationError by field if not."""
    validate_new_participant(
        protocol=protocol,
        site=site,
        subject_id=subject_id,
        consent_date=consent_date,
        now=now,
        taken=taken,
    )
    participant = Participant(
        protocol=protocol,
        site=site,
        subject_id=subject_id,
        email=email,
        consent_date=consent_date,
        language=language,
    )
    # Its protocol and site are the objects just given: they are not looked up again.
    participant.full_clean(
        exclude=["protocol", "site"], validate_unique=False, validate_constraints=False
    )
    return participant


def enter_screening(participants: list[Participant], *, by, via: str) -> list[Participant]:
    """Save checked new participants in screening from their consent dates, each with its
    history record and its first transition, in a fixed number of queries; then one signal
    builds their schedules in the caller's transaction."""
    for participant in participants:
        stamp(participant, by=by, reason="Consented and entered screening")
    bulk_create_with_history(participants, Participant, batch_size=BATCH_SIZE, default_user=by)
    Transition.objects.bulk_create(
        [
            Transition(
                participant=participant,
                from_status="",
                to_status=Status.SCREENING,
                effective_date=participant.consent_date,
                reason="Informed consent",
                recorded_by=by,
                recorded_via=via,
            )
            for participant in participants
        ],
        batch_size=BATCH_SIZE,
    )
    timeline_changed.send(
        sender=Participant,
        participants=participants,
        by=by,
        reasons=[
            f"Schedule created: consent on {participant.consent_date} ({via})"
            for participant in participants
        ],
    )
    return participants


@transaction.atomic
def create_participant(
    *,
    protocol: Protocol,
    site: Site,
    subject_id: str,
    email: str,
    consent_date: datetime.date,
    language: str = "",
    by=None,
    via: str = "admin",
    now=None,
) -> Participant:
    """Create a participant in screening from the consent date, with its first transition
    record. ``language`` is the reminders' (blank: the site's default)."""
    participant = new_participant(
        protocol=protocol,
        site=site,
        subject_id=subject_id,
        email=email,
        consent_date=consent_date,
        language=language,
        now=now,
    )
    return enter_screening([participant], by=by, via=via)[0]


def _latest_transition(participant: Participant) -> Transition | None:
    lifecycle = effective_transitions(participant)
    return lifecycle[-1] if lifecycle else None


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

    Enrolment obeys :func:`eligibility.refuse_enrolment` here, so every entry point does:
    ``by`` confirms eligibility (an investigator) and every criterion qualifies.

    The effective date is never in the site's future nor before the previous transition.
    Leaving the trial (completion or an exit) records the date; the schedule then cancels
    every visit planned after it.
    """
    participant = (
        Participant.objects.select_for_update().select_related("site").get(pk=participant.pk)
    )
    if target not in Status.values:
        raise ValidationError({"target": f"“{target}” is not a status."})
    current = participant.status
    if target not in ALLOWED_TRANSITIONS[current]:
        allowed = ", ".join(allowed_targets(participant)) or "none: the participant has left"
        hint = (
            " Treatment needs enrolment (eligibility confirmed) first."
            if target == Status.TREATMENT and current == Status.SCREENING
            else ""
        )
        raise ValidationError(
            {
                "target": f"A participant in {Status(current).label.lower()} cannot move to "
                f"{Status(target).label.lower()} (allowed: {allowed}).{hint}"
            }
        )
    reason = (reason or "").strip()
    if target in REASON_REQUIRED and not reason:
        raise ValidationError({"reason": f"A reason is required for {EXIT_NOUNS[target]}."})
    refuse_date_out_of_range(participant.site, on, "on", now)
    previous = _latest_transition(participant)
    if previous:
        _refuse_before(on, previous)
    if target == Status.ENROLLED:
        refuse_enrolment(participant, by)
    if not reason:
        # A phase that starts closes the earlier phases' visits not done; an early
        # completion cancels the visits still planned: both are said, and need a reason.
        closing = [
            sentence for sentence, needs in visits_closed_by(participant, target, on) if needs
        ]
        if closing:
            raise ValidationError(
                {
                    "reason": f"Moving to {Status(target).label.lower()} on {on.isoformat()} "
                    f"closes {len(closing)} visit(s) not done: {'; '.join(closing)}. "
                    "Give a reason to confirm."
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
    stamp(participant, by=by, reason=reason or f"Transition to {Status(target).label.lower()}")
    participant.save(update_fields=["status", "left_on"])
    label = Status(target).label.lower()
    _notify(
        participant,
        by=by,
        reason=f"{label} on {on} ({via})" + (f": {reason}" if reason else ""),
    )
    return transition


def confirm_eligibility(
    participant: Participant,
    *,
    on: datetime.date,
    by,
    reason: str = "",
    via: str = "admin",
    now=None,
) -> Transition:
    """An investigator confirms eligibility: the ``enrolled`` transition, recorded by
    :func:`record_transition` under the rule of enrolment."""
    return record_transition(
        participant,
        Status.ENROLLED,
        on=on,
        reason=reason or "Eligibility confirmed by the investigator",
        by=by,
        via=via,
        now=now,
    )


@transaction.atomic
def set_reminders(participant: Participant, enabled: bool, *, reason: str = "", by=None) -> None:
    """Turn a participant's reminders on or off; pending reminders follow at once."""
    participant = Participant.objects.select_for_update().get(pk=participant.pk)
    if participant.reminders_enabled == enabled:
        return
    participant.reminders_enabled = enabled
    stamp(participant, by=by, reason=reason or ("Reminders turned on" if enabled else "Opted out"))
    participant.save(update_fields=["reminders_enabled"])
    _notify(participant, by=by, reason=participant._change_reason)


@transaction.atomic
def correct_transition(
    transition: Transition,
    *,
    on: datetime.date,
    reason: str,
    by=None,
    via: str = "admin",
    now=None,
) -> Transition:
    """Correct the effective date of a recorded transition: a new record that ``corrects`` it,
    with a reason; the original stays. The schedule re-anchors on the corrected date.

    The corrected date obeys the rules of the original: not in the site's future, not before
    the transition before it, not after the one after it.
    """
    participant = (
        Participant.objects.select_for_update()
        .select_related("site")
        .get(pk=transition.participant_id)
    )
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": "A correction needs a reason."})
    lifecycle = effective_transitions(participant)
    if transition not in lifecycle:
        raise ValidationError(
            {"transition": "This record was already corrected; correct its latest correction."}
        )
    position = lifecycle.index(transition)
    if position == 0:
        raise ValidationError(
            {"transition": "Screening starts on the consent date; it is not corrected here."}
        )
    refuse_date_out_of_range(participant.site, on, "on", now)
    _refuse_before(on, lifecycle[position - 1])
    if position + 1 < len(lifecycle):
        after = lifecycle[position + 1]
        if on > after.effective_date:
            raise ValidationError(
                {
                    "on": f"{on.isoformat()} is after the next transition "
                    f"({after.get_to_status_display().lower()} on "
                    f"{after.effective_date.isoformat()})."
                }
            )
    correction = Transition.objects.create(
        participant=participant,
        from_status=transition.from_status,
        to_status=transition.to_status,
        effective_date=on,
        reason=reason,
        corrects=transition,
        recorded_by=by,
        recorded_via=via,
        recorded_at=now or timezone.now(),
    )
    if transition.to_status in LEFT_STATUSES and participant.left_on != on:
        participant.left_on = on
        stamp(participant, by=by, reason=f"Correction: {reason}")
        participant.save(update_fields=["left_on"])
    _notify(participant, by=by, reason=f"Correction of a transition date to {on} ({via}): {reason}")
    return correction
