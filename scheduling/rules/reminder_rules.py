"""Which reminders may go out, and when: pure rules on plain values. No ORM, no clock.

Rules (docs/timeline.md, "Reminders"; docs/reminders.md, "Which visits get reminders"
and "Never in the night"):
- A reminder goes out only for a visit still to be done of a participant in the trial with
  reminders on, whose appointment awaits no coordinator's decision (a booking flagged to
  rebook, a window with no open day), and whose phase the participant is in: its start is
  recorded (or needs no transition), or it is the first visit of the phase whose start
  transition the participant may record next (enrolled: the first infusion).
- A reminder goes out at its rule's send time. One found late goes out at once only inside
  the site's allowed span (08:00 to 21:00 local), else at the next allowed time: the span's
  start or the rule's own send time, whichever comes first; never in the night.
"""

from __future__ import annotations

import datetime
from collections.abc import Collection, Mapping
from dataclasses import dataclass

from scheduling.rules import engine

# Held because…: the sentences staff read (the workspace's reminders box, the digest).
LEFT = "the participant left the trial"
OPTED_OUT = "the participant opted out"
NOT_OPEN = "the visit is done, cancelled or closed"
AWAITING_DECISION = "the appointment awaits a coordinator's decision"
PHASE_NOT_REACHED = "the participant is not in the visit's phase yet"


@dataclass(frozen=True)
class ReminderFacts:
    """What decides whether a visit's reminders may go out, as plain values."""

    in_trial: bool
    reminders_on: bool
    visit_open: bool
    awaiting_decision: bool
    phase_reached: bool
    opens_next: bool = False


def reminder_hold(facts: ReminderFacts) -> str:
    """Why the visit's reminders are held (a sentence), or "" when they may go out."""
    if not facts.in_trial:
        return LEFT
    if not facts.reminders_on:
        return OPTED_OUT
    if not facts.visit_open:
        return NOT_OPEN
    if not (facts.phase_reached or facts.opens_next):
        return PHASE_NOT_REACHED
    if facts.awaiting_decision:
        return AWAITING_DECISION
    return ""


def passed(target: str, status: str, lifecycle: Mapping[str, Collection[str]]) -> bool:
    """Whether a participant in ``status`` is in ``target`` or has been through it, on the
    lifecycle graph ``lifecycle`` (status → the statuses it may move to next)."""
    if status == target:
        return True
    seen, frontier = {target}, [target]
    while frontier:
        for following in lifecycle.get(frontier.pop(), ()):
            if following == status:
                return True
            if following not in seen:
                seen.add(following)
                frontier.append(following)
    return False


def phase_gate(
    start_transition: str,
    first_of_phase: bool,
    status: str,
    lifecycle: Mapping[str, Collection[str]],
) -> tuple[bool, bool]:
    """``(phase_reached, opens_next)`` for a visit whose phase starts with the transition
    ``start_transition`` ("" when it needs none: the first phase, or one that follows its
    planned dates) for a participant in ``status``."""
    if not start_transition:
        return True, False
    if passed(start_transition, status, lifecycle):
        return True, False
    return False, first_of_phase and start_transition in lifecycle.get(status, ())


# Never in the night: a reminder found late goes out inside this span of the site's day.
ALLOWED_FROM = datetime.time(8, 0)
ALLOWED_UNTIL = datetime.time(21, 0)
# A reminder counts as on time (at its rule's send time) this long after it: dispatch runs
# every minute; a run that died leaves its claim for up to a lease (19 minutes by default).
ON_TIME_GRACE = datetime.timedelta(minutes=30)


def may_send_at(now: datetime.datetime, rule_time: datetime.time, zone: datetime.tzinfo) -> bool:
    """Whether a reminder whose rule sends at local ``rule_time`` may go out at ``now``: inside
    the allowed span of the site's day, or within ``ON_TIME_GRACE`` of the rule's send time."""
    local = now.astimezone(zone)
    if ALLOWED_FROM <= local.time() < ALLOWED_UNTIL:
        return True
    for day in (local.date(), local.date() - datetime.timedelta(days=1)):
        start = engine.local_instant(day, rule_time, zone)
        if start <= now < start + ON_TIME_GRACE:
            return True
    return False


def next_send_at(
    now: datetime.datetime, rule_time: datetime.time, zone: datetime.tzinfo
) -> datetime.datetime:
    """When a reminder due by ``now`` may go out: ``now`` if :func:`may_send_at`, else the
    next start of the allowed span or the next send time of its rule, the earlier (UTC)."""
    if may_send_at(now, rule_time, zone):
        return now
    today = now.astimezone(zone).date()
    candidates = [
        engine.local_instant(today + datetime.timedelta(days=offset), at, zone)
        for offset in (0, 1, 2)
        for at in (ALLOWED_FROM, rule_time)
    ]
    return min(instant for instant in candidates if instant > now)
