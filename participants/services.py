"""Writes about participants: creation, status transitions, the reminders switch.

Every function validates first, writes inside ``transaction.atomic()``, and sends
``timeline_changed`` so the schedule follows in the same transaction.
"""

import datetime
import re
from collections.abc import Iterable, Mapping
from typing import NamedTuple

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone
from simple_history.utils import bulk_create_with_history

from . import clinic
from .dates import date_problem, parse_iso_date, too_early_problem, too_late_problem
from .models import (
    LEFT_STATUSES,
    ContactAttempt,
    Participant,
    Protocol,
    Site,
    SiteClosure,
    Status,
    Transition,
)
from .signals import timeline_changed
from .validators import control_character_problem, validate_subject_id

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
        f"{day.isoformat()} is in the future at site {site.code} "
        f"(today there is {site_today.isoformat()})."
    )


def refuse_future_date(site: Site, day: datetime.date, field: str, now=None) -> None:
    """Raise ValidationError on ``field`` if ``day`` is after the site's today."""
    problem = future_date_problem(site, day, now)
    if problem:
        raise ValidationError({field: problem})


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


def _new_participant(
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


def _enter_screening(participants: list[Participant], *, by, via: str) -> list[Participant]:
    """Save checked new participants in screening from their consent dates, each with its
    history record and its first transition, in a fixed number of queries; then one signal
    builds their schedules in the caller's transaction."""
    for participant in participants:
        participant._change_reason = "Consented and entered screening"
        if by is not None:
            participant._history_user = by
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
    participant = _new_participant(
        protocol=protocol,
        site=site,
        subject_id=subject_id,
        email=email,
        consent_date=consent_date,
        language=language,
        now=now,
    )
    return _enter_screening([participant], by=by, via=via)[0]


def _lifecycle(records: Iterable[Transition]) -> list[Transition]:
    """One participant's records (in recorded order) as its lifecycle now stands."""
    latest: dict[int, Transition] = {}  # original record id → its latest correction
    original_of: dict[int, int] = {}
    for record in records:
        if record.corrects_id is None:
            original_of[record.id] = record.id
        else:
            original_of[record.id] = original_of[record.corrects_id]
        latest[original_of[record.id]] = record
    return list(latest.values())


def effective_transitions(participant: Participant) -> list[Transition]:
    """The participant's lifecycle as it now stands, in order: one record per status change,
    each the latest correction of it (corrections are new records, never edits)."""
    return _lifecycle(participant.transitions.order_by("recorded_at", "id"))


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
    if by is not None:
        participant._history_user = by
    participant.save(update_fields=["status", "left_on"])
    label = Status(target).label.lower()
    _notify(
        participant,
        by=by,
        reason=f"{label} on {on} ({via})" + (f": {reason}" if reason else ""),
    )
    return transition


@transaction.atomic
def set_reminders(participant: Participant, enabled: bool, *, reason: str = "", by=None) -> None:
    """Turn a participant's reminders on or off; pending reminders follow at once."""
    participant = Participant.objects.select_for_update().get(pk=participant.pk)
    if participant.reminders_enabled == enabled:
        return
    participant.reminders_enabled = enabled
    participant._change_reason = reason or ("Reminders turned on" if enabled else "Opted out")
    if by is not None:
        participant._history_user = by
    participant.save(update_fields=["reminders_enabled"])
    _notify(participant, by=by, reason=participant._change_reason)


# Three attempts in a row that did not reach the participant: the page suggests recording
# lost to follow-up (it never records it by itself).
UNANSWERED_STREAK = 3


@transaction.atomic
def record_contact_attempt(
    participant: Participant,
    *,
    channel: str,
    outcome: str,
    note: str = "",
    at: datetime.datetime | None = None,
    by=None,
    now=None,
) -> ContactAttempt:
    """Add an attempt to reach ``participant`` to their contact log (never edited)."""
    now = now or timezone.now()
    attempt = ContactAttempt(
        participant=participant,
        at=at or now,
        channel=channel,
        outcome=outcome,
        note=note.strip(),
        recorded_by=by,
        recorded_at=now,
    )
    errors = {}
    try:
        attempt.full_clean()
    except ValidationError as error:
        errors = error.message_dict
    if attempt.at and attempt.at > now + datetime.timedelta(minutes=5) and "at" not in errors:
        errors["at"] = ["An attempt cannot be in the future."]
    if attempt.at and attempt.at.date() < participant.consent_date and "at" not in errors:
        errors["at"] = [f"Before consent ({participant.consent_date.isoformat()})."]
    if errors:
        raise ValidationError(errors)
    attempt.save()
    return attempt


def unanswered_streak(attempts: Iterable[ContactAttempt]) -> int:
    """How many of the latest ``attempts`` (newest first) in a row did not reach them."""
    count = 0
    for attempt in attempts:
        if attempt.answered:
            break
        count += 1
    return count


def effective_dates_by_status(participant: Participant) -> dict[str, datetime.date]:
    """When the participant entered each status: the effective date of the transition into it
    (as corrected, where a correction was recorded). The schedule reads phase starts from it."""
    return {
        record.to_status: record.effective_date for record in effective_transitions(participant)
    }


def effective_dates_by_status_of(
    participant_ids: Iterable[int],
) -> dict[int, dict[str, datetime.date]]:
    """:func:`effective_dates_by_status` of many participants, in one query."""
    records: dict[int, list[Transition]] = {pk: [] for pk in participant_ids}
    for record in Transition.objects.filter(participant_id__in=list(records)).order_by(
        "participant_id", "recorded_at", "id"
    ):
        records[record.participant_id].append(record)
    return {
        pk: {record.to_status: record.effective_date for record in _lifecycle(lifecycle)}
        for pk, lifecycle in records.items()
    }


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
        participant._change_reason = f"Correction: {reason}"
        if by is not None:
            participant._history_user = by
        participant.save(update_fields=["left_on"])
    _notify(participant, by=by, reason=f"Correction of a transition date to {on} ({via}): {reason}")
    return correction


def site_time_zone_changed(site: Site, *, by=None, reason: str = "") -> None:
    """Tell the schedule that ``site`` now keeps another time zone: the reminders of its
    participants still in the trial are due at the rules' local time in the new zone, so each
    participant's schedule is rebuilt (in the caller's transaction) and its pending reminders
    re-timed. Call it after saving a site whose ``timezone`` changed."""
    for participant in site.participants.active():
        _notify(participant, by=by, reason=reason or f"{site.code}'s time zone changed")


def site_calendar_changed(site: Site, *, by=None, reason: str = "") -> None:
    """Tell the schedule that ``site``'s clinic calendar changed (open days, holidays,
    closures, capacity): its participants still in the trial have their appointments placed
    again and their pending reminders re-timed, in the caller's transaction. Bookings stay
    where staff put them; one now on a closed day is flagged for rebooking."""
    for participant in site.participants.active():
        _notify(participant, by=by, reason=reason or f"{site.code}'s clinic calendar changed")


def validate_closure(closure: SiteClosure, *, now=None) -> None:
    """Raise ValidationError (by field) unless ``closure`` may be saved: its model's checks
    (dates from 1990, ending on or after its start), a reason, and an end no more than five
    years ahead of its site's today."""
    errors: dict[str, list[str]] = {}
    try:
        closure.full_clean()
    except ValidationError as error:
        errors = error.message_dict
    if not closure.reason and "reason" not in errors:
        errors["reason"] = ["A closure needs a reason."]
    problem = closure.end and too_late_problem(closure.end, closure.site.today(now))
    if problem and "end" not in errors:
        errors["end"] = [problem]
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def add_closure(
    site: Site,
    *,
    start: datetime.date,
    end: datetime.date | None = None,
    reason: str,
    by=None,
    via: str = "admin",
    now=None,
) -> SiteClosure:
    """Close ``site`` from ``start`` to ``end`` (inclusive; one day without it) for
    ``reason``. Proposed appointments on those days move; bookings are flagged to rebook."""
    end = end or start
    closure = SiteClosure(site=site, start=start, end=end, reason=reason.strip())
    validate_closure(closure, now=now)
    closure._change_reason = f"Closure added ({via})"
    if by is not None:
        closure._history_user = by
    closure.save()
    site_calendar_changed(site, by=by, reason=f"{closure} ({via})")
    return closure


@transaction.atomic
def change_closure(
    closure: SiteClosure,
    *,
    start: datetime.date,
    end: datetime.date | None = None,
    reason: str,
    why: str = "",
    by=None,
    via: str = "admin",
    now=None,
) -> SiteClosure:
    """Move or re-word ``closure`` (its site stays; the history keeps the former days and
    ``why``). Proposals move off the days now closed and back onto the days reopened;
    bookings on a day now closed are flagged to rebook."""
    closure.start, closure.end, closure.reason = start, end or start, reason.strip()
    validate_closure(closure, now=now)
    closure._change_reason = f"Closure changed ({via})" + (
        f": {why.strip()}" if why.strip() else ""
    )
    if by is not None:
        closure._history_user = by
    closure.save()
    site_calendar_changed(closure.site, by=by, reason=f"Closure changed: {closure} ({via})")
    return closure


@transaction.atomic
def remove_closure(closure: SiteClosure, *, by=None, via: str = "admin") -> None:
    """Reopen the days of ``closure`` (its history keeps it); proposals move back."""
    site = closure.site
    closure._change_reason = f"Closure removed ({via})"
    if by is not None:
        closure._history_user = by
    described = str(closure)
    closure.delete()
    site_calendar_changed(site, by=by, reason=f"Closure removed: {described} ({via})")


# Imports from files: every row is checked, and one bad row saves nothing.


class RowError(NamedTuple):
    line: int
    field: str
    message: str


class ImportRejected(Exception):
    """An import refused as a whole; ``errors`` lists every problem found, by line."""

    def __init__(self, errors: list[RowError]):
        self.errors = errors
        super().__init__(f"{len(errors)} error(s); nothing was saved.")


def _printable_rows(
    rows: Iterable[tuple[int, Mapping[str, str]]], errors: list[RowError]
) -> list[tuple[int, dict[str, str]]]:
    """The rows whose every field is printable text, stripped; an error for every field that
    holds a control character (a NUL byte, a tab, a line break…): those rows go no further."""
    kept = []
    for line, values in rows:
        problems = [
            RowError(line, field, f"{problem}; a field holds one line of printable text.")
            for field, value in values.items()
            if (problem := control_character_problem(value or ""))
        ]
        if problems:
            errors.extend(problems)
        else:
            kept.append((line, {k: (v or "").strip() for k, v in values.items()}))
    return kept


def _row_errors(line: int, error: ValidationError) -> list[RowError]:
    if hasattr(error, "error_dict"):
        return [
            RowError(line, "row" if field == "__all__" else field, message)
            for field, messages in error.message_dict.items()
            for message in messages
        ]
    return [RowError(line, "row", message) for message in error.messages]


SITE_FIELDS = (
    "code",
    "name",
    "timezone",
    "coordinator_email",
    "address",
    "phone",
    "open_days",
    "holiday_country",
    "holiday_subdivision",
    "language",
)
# What a change of these means for the schedule (see site_time_zone_changed and
# site_calendar_changed): either one rebuilds every active participant's schedule.
SITE_SCHEDULE_FIELDS = ("timezone", "open_days", "holiday_country", "holiday_subdivision")


def _site_calendar_columns(values: dict[str, str], line: int, errors: list) -> bool:
    """Turn the CSV's ``open_days`` and ``holidays`` columns into the site's fields, in
    place; False (and an error) when one cannot be read."""
    ok = True
    if "open_days" in values:
        try:
            values["open_days"] = clinic.parse_open_days(values["open_days"])
        except ValueError as error:
            errors.append(RowError(line, "open_days", str(error)))
            ok = False
    if "holidays" in values:
        try:
            country, subdivision = clinic.parse_holiday_calendar(values.pop("holidays"))
        except ValueError as error:
            errors.append(RowError(line, "holidays", str(error)))
            ok = False
        else:
            values["holiday_country"], values["holiday_subdivision"] = country, subdivision
    return ok


@transaction.atomic
def import_sites(
    rows: Iterable[tuple[int, Mapping[str, str]]], *, by=None, via: str = "admin"
) -> dict[str, int]:
    """Create or update sites by code from ``(line, values)`` rows; a value left out (or a
    column absent) keeps what is stored (a new site: open Mon-Fri, no holiday calendar).
    ``open_days`` is written ``Mon-Fri``, ``Mon,Tue,Thu``…; ``holidays`` is a calendar of
    the holidays package, ``US-CA``, ``DE-BE``, ``FR``, or empty for none. A field holding a
    control character (a NUL byte, a tab, a line break) is refused. All or nothing: raises
    ImportRejected listing every error.
    Returns how many were created, updated and unchanged."""
    errors: list[RowError] = []
    rows = _printable_rows(rows, errors)
    stored = Site.objects.in_bulk([values.get("code", "") for _, values in rows], field_name="code")
    counts = {"created": 0, "updated": 0, "unchanged": 0}
    first_line: dict[str, int] = {}
    for line, values in rows:
        code = values.get("code", "")
        if code in first_line:
            errors.append(
                RowError(
                    line,
                    "code",
                    f"{code} appears twice in the file (first on line {first_line[code]}).",
                )
            )
            continue
        first_line[code] = line
        if not _site_calendar_columns(values, line, errors):
            continue
        site = stored.get(code) or Site(code=code)
        before = {field: getattr(site, field) for field in SITE_FIELDS}
        for field in SITE_FIELDS:
            if field in values and field != "code":
                setattr(site, field, values[field])
        try:
            site.full_clean(validate_unique=False, validate_constraints=False)
        except ValidationError as error:
            errors.extend(_row_errors(line, error))
            continue
        if site.pk is None:
            counts["created"] += 1
        elif before == {field: getattr(site, field) for field in SITE_FIELDS}:
            counts["unchanged"] += 1
            continue
        else:
            counts["updated"] += 1
        site._change_reason = f"Imported ({via})"
        if by is not None:
            site._history_user = by
        changed = site.pk is not None and any(
            before[field] != getattr(site, field) for field in SITE_SCHEDULE_FIELDS
        )
        site.save()
        if changed:
            site_calendar_changed(site, by=by, reason=f"{site.code}'s calendar imported ({via})")
    if errors:
        # Leaving the atomic block by an exception saves nothing.
        raise ImportRejected(sorted(errors, key=lambda error: error.line))
    return counts


@transaction.atomic
def import_participants(
    protocol: Protocol,
    rows: Iterable[tuple[int, Mapping[str, str]]],
    *,
    by=None,
    via: str = "admin",
    now=None,
) -> list[Participant]:
    """Create one participant per ``(line, values)`` row (subject_id, site_code, email,
    consent_date, and optionally language: en, de, es or fr), each with its full schedule, by
    the rules of :func:`create_participant`. A field holding a control character is refused.
    All or nothing: raises ImportRejected listing every error of every row, before anything
    is written. Every row is checked first; then all are saved together (a fixed number of
    queries, and their schedules built in one go), so the time grows with the rows alone."""
    checked, errors = _checked_participants(protocol, rows, now=now)
    if errors:
        raise ImportRejected(errors)
    return _enter_screening(checked, by=by, via=via)


def participant_import_problems(
    protocol: Protocol, rows: Iterable[tuple[int, Mapping[str, str]]], *, now=None
) -> list[RowError]:
    """Every problem :func:`import_participants` would find in ``rows``, by line, found without
    writing anything: its own first pass."""
    return _checked_participants(protocol, rows, now=now)[1]


def _checked_participants(
    protocol: Protocol, rows: Iterable[tuple[int, Mapping[str, str]]], *, now=None
) -> tuple[list[Participant], list[RowError]]:
    """The first pass of :func:`import_participants`: the participants of ``rows`` checked and
    ready to save, and every problem of every row by line (a date a spreadsheet rewrote named
    as such). It reads (the sites named, the subject ids already in the trial: once for all
    rows) and writes nothing."""
    errors: list[RowError] = []
    rows = _printable_rows(rows, errors)
    sites = Site.objects.in_bulk(
        [values.get("site_code", "") for _, values in rows], field_name="code"
    )
    taken = set(
        Participant.objects.filter(
            protocol=protocol, subject_id__in=[values.get("subject_id", "") for _, values in rows]
        ).values_list("subject_id", flat=True)
    )
    checked: list[Participant] = []
    first_line: dict[str, int] = {}
    for line, values in rows:
        row_errors: list[RowError] = []
        subject_id = values.get("subject_id", "")
        if subject_id in first_line:
            row_errors.append(
                RowError(
                    line,
                    "subject_id",
                    f"{subject_id} appears twice in the file (first "
                    f"on line {first_line[subject_id]}).",
                )
            )
        elif subject_id:
            first_line[subject_id] = line
        site = sites.get(values.get("site_code", ""))
        if site is None:
            row_errors.append(
                RowError(line, "site_code", f"“{values.get('site_code', '')}” is not a site code.")
            )
        try:
            validate_email(values.get("email", ""))
        except ValidationError:
            row_errors.append(
                RowError(line, "email", f"“{values.get('email', '')}” is not an email address.")
            )
        try:
            consent_date = parse_iso_date(values.get("consent_date", ""))
        except ValueError:
            problem = date_problem(values.get("consent_date", ""))
            row_errors.append(RowError(line, "consent_date", problem))
            consent_date = None
        if not row_errors:
            try:
                checked.append(
                    _new_participant(
                        protocol=protocol,
                        site=site,
                        subject_id=subject_id,
                        email=values["email"],
                        consent_date=consent_date,
                        language=values.get("language", "").lower(),
                        now=now,
                        taken=taken,
                    )
                )
            except ValidationError as error:
                row_errors.extend(_row_errors(line, error))
        errors.extend(row_errors)
    return checked, sorted(errors, key=lambda error: error.line)
