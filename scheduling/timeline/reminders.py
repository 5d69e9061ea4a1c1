"""Keeping a participant's reminder rows (the outbox) in step with the schedule.

A reminder is for a visit's appointment (the day the site expects the participant), not its
protocol-planned date: ``Reminder.planned_date`` is the appointment day it was computed for.

Reminders are derived from the schedule: ``sync_reminders`` runs in the transaction of every
schedule change. It creates the rows the schedule calls for and cancels pending rows it no
longer calls for; rows already sent, failed, expired or superseded are history and untouched.
"""

from collections.abc import Mapping

from django.db.models import Q
from django.utils import timezone

from participants.lifecycle import ALLOWED_TRANSITIONS
from participants.models import Participant
from scheduling.models import (
    AWAITING_DECISION,
    Audience,
    OutboxStatus,
    Reminder,
    ReminderRule,
    Visit,
)
from scheduling.rules import engine, reminder_rules
from scheduling.rules.reminder_rules import ReminderFacts
from scheduling.timeline.bulk_insert import insert_new

# How a visit's phase gates its reminders: definition id → (the phase's start transition,
# whether it is the phase's first visit). ``SchedulePlan.phase_gates`` makes it.
PhaseGates = Mapping[int, tuple[str, bool]]


def reminder_facts(participant: Participant, visit: Visit, gates: PhaseGates) -> ReminderFacts:
    """The plain values ``reminder_rules.reminder_hold`` decides a visit's reminders on.
    Unscheduled visits were booked for this participant by staff: their phase never holds
    them."""
    start_transition, first = gates.get(visit.definition_id, ("", False))
    reached, opens_next = reminder_rules.phase_gate(
        start_transition, first, participant.status, ALLOWED_TRANSITIONS
    )
    return ReminderFacts(
        in_trial=participant.is_active,
        reminders_on=participant.reminders_enabled,
        visit_open=visit.is_open,
        awaiting_decision=visit.appointment_flag in AWAITING_DECISION,
        phase_reached=reached,
        opens_next=opens_next,
    )


def _wanted(participant: Participant, visits: list[Visit], rules: list[ReminderRule], gates):
    """(visit id, rule id, appointment day) → due instant, for every reminder the schedule wants;
    and the keys of visits still scheduled but planned today or earlier (see below)."""
    if not participant.is_active or not participant.reminders_enabled:
        return {}, set()
    zone = participant.site.zone
    today = participant.site.today()
    wanted, arrived = {}, set()
    for visit in visits:
        if reminder_rules.reminder_hold(reminder_facts(participant, visit, gates)):
            continue
        day = visit.appointment_day
        if day <= today:
            # Too late to remind of, so no row is created; but a row still pending was not
            # cancelled by anything (its appointment did not move): the dispatcher expires it.
            arrived.update((visit.id, rule.id, day) for rule in rules)
            continue
        for rule in rules:
            due = engine.reminder_due_at(day, rule.lead_days, rule.local_time, zone)
            wanted[(visit.id, rule.id, day)] = due
    return wanted, arrived


def _participant_rules(version_id: int) -> list[ReminderRule]:
    """The participant reminder rules of a protocol version (a plan's own)."""
    return list(
        ReminderRule.objects.filter(
            version_id=version_id, audience=Audience.PARTICIPANT, active=True
        )
    )


def create_reminders(
    schedules: list[tuple[Participant, list[Visit], int]], gates: Mapping[int, PhaseGates]
) -> None:
    """The reminders of schedules just created in this transaction (``create_schedules``):
    what ``sync_reminders`` creates for each, in a fixed number of queries whatever their
    number. Nothing is read or locked: no other transaction can see these participants' rows
    before the commit, so there is nothing to re-time, revive, cancel or race a dispatcher
    for. ``schedules``: each participant with their visits and the id of the version they
    follow; ``gates``: the phase gates of each version, by version id."""
    rules = {
        version_id: _participant_rules(version_id)
        for version_id in {version_id for _, _, version_id in schedules}
    }
    to_create = []
    for participant, visits, version_id in schedules:
        wanted, _ = _wanted(participant, visits, rules[version_id], gates[version_id])
        to_create += [
            Reminder(visit_id=visit_id, rule_id=rule_id, planned_date=planned, due_at=due)
            for (visit_id, rule_id, planned), due in wanted.items()
        ]
    insert_new(Reminder, to_create)


def sync_reminders(
    participant: Participant, visits: list[Visit], gates: PhaseGates, version_id: int
) -> None:
    """Create, re-time, revive or cancel this participant's reminders to match its visits
    (``visits``: all of them) and the rules of ``reminder_rules`` (its phase, a decision
    awaited).

    A fixed number of queries whatever the number of visits.
    """
    rules = _participant_rules(version_id)
    wanted, arrived = _wanted(participant, visits, rules, gates)
    # Lock the rows: a dispatcher sending one of them right now commits first, and its row is
    # then read as sent, never overwritten as cancelled. Read by visit (every visit of the
    # participant), on the index of reminders by visit: never a scan of the reminders of
    # other participants.
    rows = list(
        Reminder.objects.select_for_update(of=("self",))
        .select_related("rule")
        .filter(visit_id__in=[v.id for v in visits])
        .filter(
            Q(status__in=[OutboxStatus.PENDING, OutboxStatus.CANCELLED])
            | Q(planned_date__in={k[2] for k in wanted})
        )
    )
    existing = {(r.visit_id, r.rule_id, r.planned_date): r for r in rows}
    # A reminder of a rule of another version of the plan with the same lead and time is the
    # same reminder under the version now followed: kept (never sent twice), not replaced.
    same_rule = {(rule.lead_days, rule.local_time): rule.id for rule in rules}
    current_rules = set(same_rule.values())
    for r in rows:
        if r.rule_id in current_rules:
            continue
        if not r.rule.active and r.status in (OutboxStatus.PENDING, OutboxStatus.CANCELLED):
            # Never sent, and its rule is switched off: the dispatcher would cancel it, so it
            # cannot stand for a rule the version followed has on (a new row goes instead).
            continue
        rule_id = same_rule.get((r.rule.lead_days, r.rule.local_time))
        key = (r.visit_id, rule_id, r.planned_date)
        if rule_id is not None and key not in existing:
            del existing[(r.visit_id, r.rule_id, r.planned_date)]
            existing[key] = r
    to_create, to_update = [], []
    for key, due in wanted.items():
        reminder = existing.get(key)
        if reminder is None:
            visit_id, rule_id, planned = key
            to_create.append(
                Reminder(visit_id=visit_id, rule_id=rule_id, planned_date=planned, due_at=due)
            )
        elif reminder.status == OutboxStatus.CANCELLED:
            # The visit came back to this date (or reminders were turned back on): due again.
            reminder.status = OutboxStatus.PENDING
            reminder.due_at = due
            reminder.next_attempt_at = None
            reminder.last_error = ""
            to_update.append(reminder)
        elif reminder.status == OutboxStatus.PENDING and reminder.due_at != due:
            reminder.due_at = due
            to_update.append(reminder)
    for key, reminder in existing.items():
        if key not in wanted and key not in arrived and reminder.status == OutboxStatus.PENDING:
            reminder.status = OutboxStatus.CANCELLED
            # A claim taken before the change ends with it: a revived row is claimed afresh.
            reminder.claimed_until = None
            reminder.claim_token = ""
            to_update.append(reminder)
    if to_create:
        Reminder.objects.bulk_create(to_create)
    if to_update:
        # bulk_update leaves auto_now alone: updated_at is set here, so a cancellation is
        # dated by the change that made it (the participant's audit trail shows it then).
        changed_at = timezone.now()
        for reminder in to_update:
            reminder.updated_at = changed_at
        Reminder.objects.bulk_update(
            to_update,
            [
                "status",
                "due_at",
                "next_attempt_at",
                "last_error",
                "claimed_until",
                "claim_token",
                "updated_at",
            ],
        )
