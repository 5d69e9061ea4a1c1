"""Writes about schedules: a participant's visits built from the protocol's plan and kept in
step with their phases, their site's clinic calendar and the day's bookings, with their
reminders, all inside the caller's transaction.

The shell around a pure core: it reads everything first (the plan, the recorded phase starts,
the visits, the site's calendar, which bookings are over capacity), asks
``scheduling.rules.schedule.decide`` once for the whole schedule, and writes the difference.
"""

from __future__ import annotations

import datetime
import operator
from collections.abc import Iterable, Mapping

from django.core.exceptions import ValidationError
from django.db import transaction
from simple_history.utils import bulk_create_with_history, bulk_update_with_history

from participants.history import stamp
from participants.models import Participant, Site
from participants.selectors import effective_dates_by_status_of
from scheduling.models import LIFECYCLE_DEVIATIONS, Deviation, Visit
from scheduling.rules import clinic_calendar as cc
from scheduling.rules import schedule
from scheduling.timeline.bulk_insert import history_records, insert_new
from scheduling.timeline.following import plan_and_take_up, start_following
from scheduling.timeline.plans import SchedulePlan, phase_actual_starts
from scheduling.timeline.reminders import create_reminders, sync_reminders
from scheduling.timeline.site_calendars import (
    DayOfResource,
    bookings_over_capacity,
    clinic_calendar,
    day_bookings,
)


@transaction.atomic
def rebuild_schedule(
    participant: Participant,
    *,
    by=None,
    reason: str = "",
    plan_changed: bool = False,
    freed: Iterable[DayOfResource] = (),
) -> list[Visit]:
    """Create or re-anchor every planned visit of ``participant`` from the protocol plan.

    Completed visits never move (their actual date); their plan, study day and deviation
    follow the phase start as it now stands (but when the protocol's plan changed,
    ``plan_changed``, a done visit keeps the window it was done in), and a change that would
    newly leave one before
    its phase or after the participant left is refused (ValidationError, nothing saved).
    Visits planned after the day the participant left the trial
    are cancelled; every visit still to be done gets its appointment on the site's clinic
    calendar (``schedule.place_appointment``: the booking, else the proposal); a visit
    whose planned date or appointment moves has its sequence raised (calendars update the
    entry). Reminders follow the appointments in the same transaction. The number of queries
    does not depend on the number of visits.

    A booking over its day's capacity is flagged to rebook; when the participant's bookings
    change (and on the days ``freed``, those a booking just left), the other bookings of
    those days are placed again, so those that now fit lose the flag.
    """
    participant = _read_participant(participant)
    return schedule_again(
        participant,
        clinic_calendar(participant.site),
        by=by,
        reason=reason,
        plan_changed=plan_changed,
        freed=freed,
    )


def schedule_again(
    participant: Participant,
    calendar: cc.ClinicCalendar,
    *,
    by=None,
    reason: str = "",
    plan_changed: bool = False,
    freed: Iterable[DayOfResource] = (),
) -> list[Visit]:
    """:func:`rebuild_schedule` for a caller that already holds what it reads first:
    ``participant`` read in this transaction with its site, and ``calendar``, that site's
    clinic calendar. It runs in the caller's transaction (no savepoint of its own: a refusal
    rolls back the caller's whole write)."""
    followed = start_following([participant], by=by).get(participant.pk)
    plan, take_up = plan_and_take_up(followed)
    if plan is None:
        return []
    visits = participant_visits(participant)
    # The bookings of every day this rebuild may change: the participant's own (their
    # places set the participant's flags) and the days a booking just left.
    days = _booked_days(plan, visits) | set(freed)
    bookings = day_bookings(participant.site, days)
    visits = _rebuild(
        participant,
        plan,
        calendar,
        visits,
        bookings_over_capacity(bookings),
        by=by,
        reason=reason,
        plan_changed=plan_changed,
        take_up=take_up,
    )
    # The participant's visits as they now stand replace theirs among the day's bookings
    # (a rebuild may have closed or cancelled one); the others are placed again.
    still_booked = [v for v in visits if v.is_open and v.booked_date is not None]
    others = [v for v in bookings if v.participant_id != participant.pk]
    _place_bookings_again(participant, calendar, others, still_booked, by=by, reason=reason)
    return visits


def _read_participant(participant: Participant) -> Participant:
    """``participant`` as it now stands, with its site and the site's closures (two
    queries): a rebuild starts from the database, not from the caller's copy."""
    return (
        Participant.objects.select_related("site", "protocol")
        .prefetch_related("site__closures")
        .get(pk=participant.pk)
    )


def participant_visits(participant: Participant) -> list[Visit]:
    """The participant's visits, with the resource each uses (one query)."""
    return list(participant.visits.select_related("definition__resource"))


def _booked_days(plan: SchedulePlan, visits: Iterable[Visit]) -> set[DayOfResource]:
    """The days and resources of ``visits``' bookings (done or not: a booking's day does not
    change when its visit is done or closed)."""
    return {
        (plan.resources[visit.definition_id], visit.booked_date)
        for visit in visits
        if visit.booked_date is not None and plan.resources.get(visit.definition_id)
    }


def _place_bookings_again(
    participant: Participant,
    calendar: cc.ClinicCalendar,
    others: list[Visit],
    own: list[Visit],
    *,
    by=None,
    reason: str = "",
) -> None:
    """Rebuild the schedule of every other participant of the site with a booking among
    ``others`` (read before the rebuild of ``participant``, whose bookings are now ``own``)
    whose flag the capacity rule now sets or clears (no query when none does)."""
    if not others:
        return
    # The participant's bookings among the others' days, each with its day's capacity as
    # ``day_bookings`` gives it; the capacity rule then reads the days as they now stand.
    per_day = {(v.definition.resource_id, v.booked_date): v.per_day for v in others}
    same_days = []
    for visit in own:
        key = (visit.definition.resource_id if visit.definition_id else None, visit.booked_date)
        if key in per_day:
            visit.per_day = per_day[key]
            same_days.append(visit)
    over = bookings_over_capacity(
        sorted([*others, *same_days], key=lambda v: (v.participant_id, v.id))
    )
    site = participant.site
    changed = set()
    for visit in others:
        before = (visit.appointment_flag, visit.appointment_note)
        place_appointment(visit, calendar, over.get(visit.pk, ""))
        if (visit.appointment_flag, visit.appointment_note) != before:
            changed.add(visit.participant_id)
    others_changed = (
        Participant.objects.filter(pk__in=changed).select_related("site", "protocol").order_by("pk")
    )
    followed = start_following(list(others_changed), by=by)
    plans: dict[int, SchedulePlan | None] = {}
    for other in others_changed:
        plan, take_up = plan_and_take_up(followed.get(other.pk), plans)
        if plan is None:
            continue
        visits = participant_visits(other)
        _rebuild(
            other,
            plan,
            calendar,
            visits,
            bookings_over_capacity(day_bookings(site, _booked_days(plan, visits))),
            by=by,
            reason=reason or f"{site.code}'s bookings of a day changed",
            take_up=take_up,
        )


def _rebuild(
    participant: Participant,
    plan: SchedulePlan,
    calendar: cc.ClinicCalendar,
    current: list[Visit],
    over: Mapping[int, str],
    *,
    by=None,
    reason: str = "",
    plan_changed: bool = False,
    take_up: schedule.TakeUp | None = None,
) -> list[Visit]:
    """:func:`rebuild_schedule` for ``participant`` alone, from what its caller read: the
    plan, the site's calendar, the participant's visits (``current``, changed in place) and
    which of their bookings are over capacity. Writes the difference and the reminders."""
    starts = phase_actual_starts(participant, plan.phases)
    deviations_before = {visit.pk: visit.deviation for visit in current}
    to_create, to_update, changed = _reanchor(
        participant,
        plan,
        calendar,
        starts,
        current,
        over,
        keep_done_plans=plan_changed,
        take_up=take_up,
    )
    _refuse_new_lifecycle_deviations(participant, plan, starts, to_update, deviations_before)
    change_reason = reason or "Schedule rebuilt"
    if to_create:
        bulk_create_with_history(
            to_create, Visit, default_user=by, default_change_reason=change_reason
        )
    if to_update:
        bulk_update_with_history(
            to_update,
            Visit,
            # Only the fields that changed: Django writes each as a CASE over every row, and
            # building those is most of a rebuild's time (a version change: 3.7x faster).
            [name for name in UPDATABLE if name in changed],
            default_user=by,
            default_change_reason=change_reason,
        )
    visits = sorted(current + to_create, key=lambda v: (v.planned_date, v.id))
    sync_reminders(participant, visits, plan.phase_gates(), plan.version.pk)
    return visits


@transaction.atomic
def create_schedules(
    participants: list[Participant], *, by=None, reasons: list[str] | None = None
) -> dict[int, list[Visit]]:
    """Build the whole schedule of participants saved in this transaction and not yet
    scheduled (creation, one or an import's every row): what :func:`rebuild_schedule` builds
    for each, in a fixed number of queries whatever their number. The plan of their protocol
    and the clinic calendar of each site are read once; visits, their history and reminders
    are written in bulk. ``reasons`` go with ``participants``, one each, into the visits'
    history. The participants are taken as given (just saved by the caller, not read again).
    Rows are written with COPY (``bulk_insert``). Returns each participant's visits by
    participant id."""
    participants = list(participants)
    reasons = list(reasons or ["Schedule created"] * len(participants))
    sites = Site.objects.prefetch_related("closures").in_bulk({p.site_id for p in participants})
    calendars = {site_id: clinic_calendar(site) for site_id, site in sites.items()}
    followed = start_following(participants, by=by)
    plans: dict[int, SchedulePlan | None] = {}
    by_status = effective_dates_by_status_of(p.pk for p in participants)
    schedules: dict[int, list[Visit]] = {}
    to_create: list[Visit] = []
    version_of: dict[int, int] = {}
    for participant, reason in zip(participants, reasons, strict=True):
        participant.site = sites[participant.site_id]
        plan, take_up = plan_and_take_up(followed.get(participant.pk), plans)
        if plan is None:
            schedules[participant.pk] = []
            continue
        version_of[participant.pk] = plan.version.pk
        visits, _, _ = _reanchor(
            participant,
            plan,
            calendars[participant.site_id],
            plan.starts(by_status[participant.pk]),
            [],
            take_up=take_up,
        )
        for visit in visits:
            stamp(visit, reason=reason)
        schedules[participant.pk] = visits
        to_create += visits
    insert_new(Visit, to_create)
    insert_new(Visit.history.model, history_records(Visit, to_create, default_user=by))
    for visits in schedules.values():
        visits.sort(key=lambda v: (v.planned_date, v.id))
    create_reminders(
        [(p, schedules[p.pk], version_of[p.pk]) for p in participants if p.pk in version_of],
        {vid: plan.phase_gates() for vid, plan in plans.items() if plan is not None},
    )
    return schedules


def _reanchor(
    participant: Participant,
    plan: SchedulePlan,
    calendar: cc.ClinicCalendar,
    starts: dict[str, datetime.date],
    current: list[Visit],
    over_capacity: Mapping[int, str] | None = None,
    *,
    keep_done_plans: bool = False,
    take_up: schedule.TakeUp | None = None,
) -> tuple[list[Visit], list[Visit], set[str]]:
    """The visits to create and the visits changed (``current``, changed in place), as
    ``schedule.decide`` has them from the plan, the site's calendar, the recorded phase
    starts and which bookings are over capacity (visit id → why,
    ``site_calendars.bookings_over_capacity``); and the names of the fields that changed on
    any of the visits changed."""
    # A participant's visit of a definition is matched by its code across versions: one visit
    # per code, planned by the version followed unless it was done (or closed) under another.
    existing = {visit.code: visit for visit in current if visit.definition_id}
    rows, to_create = [], []
    definitions = {}
    for definition in plan.definitions:
        definitions[definition.code] = definition
        visit = existing.pop(definition.code, None)
        if visit is None:
            visit = Visit(
                participant=participant,
                site_id=participant.site_id,
                definition=definition,
                version_id=plan.version.pk,
                code=definition.code,
                name=definition.name,
                phase=definition.phase.code,
            )
            to_create.append(visit)
        rows.append(visit)
    retired = list(existing.values())  # of definitions the version followed does not have
    rows += retired + [visit for visit in current if visit.definition_id is None]
    before = [values_of(visit, visit.code if visit.definition_id else None) for visit in rows]
    after = schedule.decide(
        plan.rule,
        participant.consent_date,
        starts,
        participant.left_on,
        before,
        calendar,
        over_capacity,
        keep_done_plans=keep_done_plans,
        take_up=take_up,
    )
    to_update, changed = [], set()
    for visit, old, new in zip(rows, before, after, strict=True):
        if visit.pk is None or new != old:
            apply_values(visit, new)
            if visit.pk is not None:
                to_update.append(visit)
                changed.update(
                    name for name in schedule.DECIDED if getattr(old, name) != getattr(new, name)
                )
        definition = definitions.get(visit.code) if visit.definition_id else None
        if (
            definition is not None
            and visit.version_id == plan.version.pk
            and visit.definition_id != definition.pk
        ):
            # Now planned by this version: its definition is this version's.
            visit.definition = definition
            if visit.pk is not None:
                changed.add("definition")
                if visit not in to_update:
                    to_update.append(visit)
    return to_create, to_update, changed


def values_of(visit: Visit, definition: str | None = None) -> schedule.VisitValues:
    """``visit`` as the schedule rule reads it (``definition``: its definition's code)."""
    return schedule.VisitValues(visit.pk, definition, *_READ(visit))


def apply_values(visit: Visit, values: schedule.VisitValues) -> None:
    """Set on ``visit`` what the schedule rule decided."""
    visit.__dict__.update(zip(schedule.DECIDED, _DECIDED(values), strict=True))


# What a rebuild may write on a visit: what the rule decides, and its definition (another
# version's, once that version plans it).
UPDATABLE = (*schedule.DECIDED, "definition")

# The visit's fields in VisitValues' order after ``key`` and ``definition``, and the ones the
# rule decides (read in one call each: a rebuild reads them for every visit of an import).
_READ = operator.attrgetter(*schedule.FIELDS[1:])
_DECIDED = operator.attrgetter(*schedule.DECIDED)


def place_appointment(visit: Visit, calendar: cc.ClinicCalendar, over_capacity: str = "") -> None:
    """``schedule.place_appointment`` on ``visit``, in memory."""
    apply_values(visit, schedule.place_appointment(values_of(visit), calendar, over_capacity))


def _lifecycle_problem(visit: Visit, reached_on: datetime.date | None, left_on) -> str:
    """What is wrong with ``visit`` done where the lifecycle has no place for it, as a clause."""
    done = f"{visit.code} done on {visit.actual_date.isoformat()}"
    if visit.deviation == Deviation.AFTER_LEFT:
        return f"{done} is after the participant left on {left_on.isoformat()}"
    if reached_on is None:
        return f"{done} is a {visit.phase} visit, and that phase has not started"
    return f"{done} is before its phase ({visit.phase}) starts on {reached_on.isoformat()}"


def _refuse_new_lifecycle_deviations(
    participant: Participant,
    plan: SchedulePlan,
    starts: dict[str, datetime.date],
    changed: list[Visit],
    deviations_before: dict[int, str],
) -> None:
    """Refuse a change (a corrected phase start, a backdated exit…) that would newly leave a
    done visit before its phase or after the participant left: such a visit is recorded only
    with a reason (:func:`record_actual_date`), never made so silently."""
    broken = [
        visit
        for visit in changed
        if visit.pk is not None
        and visit.deviation in LIFECYCLE_DEVIATIONS
        and visit.deviation != deviations_before.get(visit.pk)
    ]
    if not broken:
        return
    reached = plan.reached(participant.consent_date, starts)
    problems = "; ".join(
        _lifecycle_problem(visit, reached.get(visit.phase), participant.left_on) for visit in broken
    )
    raise ValidationError(
        {
            "on": f"This date would leave done visits outside the participant's lifecycle: "
            f"{problems}. Choose a date that keeps them inside it, or correct the visits first."
        }
    )
