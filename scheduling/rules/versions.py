"""Protocol versions on plain values: which version a new participant starts on, and what
one version changes against another, visit by visit. No ORM, no clock.

How a participant moves to another version (visits done kept, removed ones not applicable,
added ones never scheduled backwards) is the schedule's own rule: ``schedule.decide`` with a
``schedule.TakeUp`` (docs/amendments.md).
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from dataclasses import dataclass

from scheduling.rules import engine

START = "start"
ACTIVATION = "activation"


@dataclass(frozen=True)
class Activation:
    """A version in force at a site from ``on``."""

    on: datetime.date
    version: int
    order: tuple[int, ...]  # the version number's parts: 2.10 after 2.9
    needs_reconsent: bool


@dataclass(frozen=True)
class Step:
    """From ``since`` the participant follows ``version`` (``previous``: the one before)."""

    version: int
    since: datetime.date
    previous: int | None
    kind: str


def start_steps(
    consent: datetime.date, activations: Sequence[Activation], first_version: int | None
) -> list[Step]:
    """The versions a participant consented on ``consent`` follows, in order: the newest
    version in force at their site on that day (else ``first_version``, the plan every site
    starts with), then each newer version the site activated since that needs no
    re-consent, from its activation day. A version needing re-consent waits for theirs."""
    ordered = sorted(activations, key=lambda a: (a.on, a.order))
    current = None
    for activation in ordered:
        if activation.on <= consent and (current is None or activation.order > current.order):
            current = activation
    version = current.version if current else first_version
    if version is None:
        return []
    steps = [Step(version, consent, None, START)]
    # Newer than the version started on: the first version may itself be activated since.
    order = (
        current.order if current else next((a.order for a in ordered if a.version == version), ())
    )
    for activation in ordered:
        if activation.on > consent and not activation.needs_reconsent and activation.order > order:
            steps.append(Step(activation.version, activation.on, steps[-1].version, ACTIVATION))
            order = activation.order
    return steps


# What one version changes of a visit against another.
ADDED = "added"
REMOVED = "removed"
MOVED = "moved"
REWINDOWED = "re-windowed"
RENAMED = "renamed"
REMINDERS = "reminders changed"


@dataclass(frozen=True)
class VisitChange:
    code: str
    kind: str
    before: str
    after: str


def _visit_text(visit: engine.VisitPlan) -> str:
    return f"{visit.phase} + {visit.offset} {visit.unit}"


def _window_text(visit: engine.VisitPlan) -> str:
    return f"−{visit.before}/+{visit.after} days"


def plan_changes(
    old_phases: Sequence[engine.PhasePlan],
    old_visits: Sequence[engine.VisitPlan],
    new_phases: Sequence[engine.PhasePlan],
    new_visits: Sequence[engine.VisitPlan],
    old_reminders: Sequence[tuple[int, datetime.time]] = (),
    new_reminders: Sequence[tuple[int, datetime.time]] = (),
    old_names: dict[str, str] | None = None,
    new_names: dict[str, str] | None = None,
) -> list[VisitChange]:
    """What the new plan changes against the old, visit by visit (in the new plan's order,
    removed visits last), then its phases and its participant reminders (lead days, time)."""
    old_names, new_names = old_names or {}, new_names or {}
    old_by_code = {visit.code: visit for visit in old_visits}
    new_codes = {visit.code for visit in new_visits}
    changes = []
    for visit in new_visits:
        old = old_by_code.get(visit.code)
        if old is None:
            changes.append(VisitChange(visit.code, ADDED, "", _visit_text(visit)))
            continue
        if (old.phase, old.offset, old.unit) != (visit.phase, visit.offset, visit.unit):
            changes.append(VisitChange(visit.code, MOVED, _visit_text(old), _visit_text(visit)))
        if (old.before, old.after) != (visit.before, visit.after):
            changes.append(
                VisitChange(visit.code, REWINDOWED, _window_text(old), _window_text(visit))
            )
        if old_names.get(visit.code, "") != new_names.get(visit.code, ""):
            changes.append(
                VisitChange(
                    visit.code, RENAMED, old_names.get(visit.code, ""), new_names[visit.code]
                )
            )
    changes += [
        VisitChange(visit.code, REMOVED, _visit_text(visit), "")
        for visit in old_visits
        if visit.code not in new_codes
    ]
    old_phases_text = {p.code: f"{p.length} {p.unit}" for p in old_phases}
    new_phases_text = {p.code: f"{p.length} {p.unit}" for p in new_phases}
    for code in [*new_phases_text, *(c for c in old_phases_text if c not in new_phases_text)]:
        before, after = old_phases_text.get(code, ""), new_phases_text.get(code, "")
        if before != after:
            changes.append(VisitChange(f"phase {code}", _kind(before, after), before, after))
    before_text = _reminders_text(old_reminders)
    after_text = _reminders_text(new_reminders)
    if before_text != after_text:
        changes.append(VisitChange("reminders", REMINDERS, before_text, after_text))
    return changes


def _kind(before: str, after: str) -> str:
    if not before:
        return ADDED
    if not after:
        return REMOVED
    return MOVED


def _reminders_text(reminders: Sequence[tuple[int, datetime.time]]) -> str:
    return ", ".join(
        f"{days} d before at {at:%H:%M}" for days, at in sorted(reminders, reverse=True)
    )
