"""Writes about protocol versions: a new draft copied from the latest version, its release,
its activation at a site, and a participant's re-consent to it; each activation or
re-consent first as a preview of every visit it changes, then in one transaction with a
reason (docs/amendments.md).

A participant moves to another version by a take-up (``VersionTakeUp``) and a rebuild of
their schedule: ``schedule.decide`` applies the rule (visits done kept, removed ones not
applicable, added ones never scheduled backwards), and ``sync_reminders`` keeps their
reminders exactly once, as for any schedule change.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Case, OuterRef, Q, Subquery, Value, When
from django.utils import timezone

from participants.lifecycle import future_date_problem
from participants.models import Participant, Site
from scheduling.models import (
    OutboxStatus,
    Phase,
    ProtocolVersion,
    Reminder,
    ReminderRule,
    TakeUp,
    VersionActivation,
    VersionTakeUp,
    Visit,
    VisitDefinition,
    version_key,
)
from scheduling.rules import schedule
from scheduling.timeline.plans import Followed
from scheduling.timeline.schedules import rebuild_schedule

# What a version change does to a participant's visit, as the preview says it.
ADDED = "added"
NOT_APPLICABLE = "not applicable"
MOVED = "moved"
REWINDOWED = "re-windowed"
REBOOK = "to rebook"
REOPENED = "planned again"
RENAMED = "renamed"


@dataclass(frozen=True)
class VisitChange:
    code: str
    kind: str
    before: str = ""
    after: str = ""

    def sentence(self) -> str:
        if self.before and self.after:
            return f"{self.code} {self.kind}: {self.before} → {self.after}"
        return f"{self.code} {self.kind}" + (
            f": {self.after or self.before}" if self.after or self.before else ""
        )


@dataclass
class ParticipantChanges:
    """What moving one participant to a version changes: their visits, and their pending
    reminders (cancelled, added)."""

    subject_id: str
    site: str
    version_before: str
    version_after: str
    since: datetime.date
    visits: list[VisitChange] = field(default_factory=list)
    reminders_cancelled: int = 0
    reminders_added: int = 0

    def lines(self) -> list[str]:
        head = (
            f"{self.subject_id} ({self.site}): version {self.version_before} → "
            f"{self.version_after} from {self.since.isoformat()}"
        )
        body = [f"  {change.sentence()}" for change in self.visits] or ["  no visit changes"]
        if self.reminders_cancelled or self.reminders_added:
            body.append(
                f"  reminders: {self.reminders_cancelled} cancelled, {self.reminders_added} added"
            )
        return [head, *body]


@dataclass
class VersionChanges:
    """The preview (or the record) of an activation or a re-consent."""

    version: ProtocolVersion
    site: Site
    on: datetime.date
    participants: list[ParticipantChanges] = field(default_factory=list)
    # Participants who keep their version until they re-consent (a version that needs it).
    to_reconsent: list[str] = field(default_factory=list)
    applied: bool = False

    def lines(self) -> list[str]:
        lines = []
        for changes in self.participants:
            lines += changes.lines()
        if self.to_reconsent:
            lines.append(
                f"{len(self.to_reconsent)} participant(s) keep their version until they "
                f"re-consent: {', '.join(self.to_reconsent)}"
            )
        if not lines:
            lines.append("No participant's schedule changes.")
        return lines


class _Preview(Exception):
    """Raised to roll back what a preview applied."""

    def __init__(self, changes):
        self.changes = changes


def _previewed(apply, dry_run: bool):
    """``apply()`` in a transaction, rolled back when ``dry_run``: a preview is the change
    itself, computed by the same code, never a second account of it."""
    try:
        with transaction.atomic():
            changes = apply()
            if dry_run:
                raise _Preview(changes)
    except _Preview as preview:
        return preview.changes
    changes.applied = True
    return changes


# ---------------------------------------------------------------------------------------
# Drafts and releases


def latest_version(protocol) -> ProtocolVersion | None:
    versions = list(ProtocolVersion.objects.filter(protocol=protocol))
    return max(versions, key=lambda v: v.order_key, default=None)


def next_number(protocol) -> str:
    latest = latest_version(protocol)
    return "1.0" if latest is None else f"{latest.order_key[0] + 1}.0"


def number_problems(protocol, number: str) -> list[str]:
    """Why ``number`` cannot be the number of a new version of ``protocol``, in the order a
    reader mends them: another draft is open, the number is malformed, taken, or not after
    the latest version; [] when it can. Worded once, for the admin, the command line and a
    protocol file's import (docs/amendments.md)."""
    versions = list(ProtocolVersion.objects.filter(protocol=protocol))
    problems = []
    draft = next((version for version in versions if not version.is_released), None)
    if draft is not None:
        problems.append(
            f"Version {draft.number} of {protocol.code} is a draft already: edit it, or "
            "release it, before starting another."
        )
    if (
        not number
        or not all(part.isdigit() for part in number.split("."))
        or (number.count(".") != 1)
    ):
        problems.append(
            f"{number or '(empty)'} is not a version number: write two whole numbers with a "
            "dot, such as 2.0 or 2.1."
        )
        return problems
    if any(version.number == number for version in versions):
        problems.append(f"Version {number} of {protocol.code} exists already: choose another.")
        return problems
    latest = max(versions, key=lambda version: version.order_key, default=None)
    if latest is not None and version_key(number) <= latest.order_key:
        problems.append(
            f"Version {number} would come before version {latest.number}, the latest of "
            f"{protocol.code}: number a new version after it."
        )
    return problems


def new_draft(protocol, *, by, number: str | None = None, note: str = "") -> ProtocolVersion:
    """A new draft version of ``protocol``: a copy of its latest version's plan (phases,
    visit definitions, participant reminder rules), to be edited, then released."""
    number = (number or next_number(protocol)).strip()
    problems = number_problems(protocol, number)
    if problems:
        raise ValidationError({"number": problems})
    source = latest_version(protocol)
    version = ProtocolVersion(protocol=protocol, number=number, note=note)
    if source is not None:
        version.needs_reconsent = source.needs_reconsent
    version._history_user = by
    version._change_reason = f"Draft copied from version {source.number}" if source else "Draft"
    version.save()
    if source is not None:
        copy_plan(source, version, by=by)
    return version


def copy_plan(source: ProtocolVersion, target: ProtocolVersion, *, by=None) -> None:
    """Copy ``source``'s phases, visit definitions and participant reminder rules into the
    draft ``target``."""
    reason = f"Copied from version {source.number}"
    phases = {}
    for phase in Phase.objects.filter(version=source).order_by("order"):
        old_pk = phase.pk
        phase.pk = phase.id = None
        phase.version = target
        phase._history_user, phase._change_reason = by, reason
        phase.save()
        phases[old_pk] = phase
    for definition in VisitDefinition.objects.filter(version=source).order_by("order", "id"):
        definition.pk = definition.id = None
        definition.version = target
        definition.phase = phases[definition.phase_id]
        definition._history_user, definition._change_reason = by, reason
        definition.save()
    for rule in ReminderRule.objects.filter(version=source):
        rule.pk = rule.id = None
        rule.version = target
        rule._history_user, rule._change_reason = by, reason
        rule.save()


@transaction.atomic
def release(version: ProtocolVersion, *, by) -> ProtocolVersion:
    """Release the draft ``version``: from now on it is never edited, and may be activated."""
    version = ProtocolVersion.objects.select_for_update().get(pk=version.pk)
    if version.is_released:
        raise ValidationError(
            {
                "version": f"Version {version.number} was released on "
                f"{version.released_at.date().isoformat()}; it is never edited or released again."
            }
        )
    if version.approved_on is None:
        raise ValidationError(
            {
                "approved_on": f"Give the day the ethics committee approved version "
                f"{version.number} before releasing it."
            }
        )
    phases = Phase.objects.filter(version=version)
    if not phases.exists() or not VisitDefinition.objects.filter(version=version).exists():
        raise ValidationError(
            {
                "version": f"Version {version.number} has no phase or no visit: a released plan "
                "is a complete one."
            }
        )
    version.released_at = timezone.now()
    version.released_by = by
    version._history_user, version._change_reason = by, "Released"
    version.save()
    return version


def refuse_if_released(version: ProtocolVersion) -> None:
    if version.is_released:
        raise ValidationError(
            {
                "version": f"Version {version.number} is released and is never edited again: "
                "make a new draft to change the plan."
            }
        )


# ---------------------------------------------------------------------------------------
# Activation at a site, re-consent of a participant


def in_force(site: Site, protocol_id: int, on: datetime.date | None = None):
    """The activations of ``protocol_id``'s versions at ``site`` (on or before ``on``)."""
    rows = VersionActivation.objects.filter(site=site, version__protocol_id=protocol_id)
    if on is not None:
        rows = rows.filter(activated_on__lte=on)
    return list(rows.select_related("version"))


def _refuse_activation(version, site, on, reason, *, dry_run: bool = False) -> None:
    if not version.is_released:
        raise ValidationError(
            {
                "version": f"Version {version.number} is a draft: release it before activating it "
                "at a site."
            }
        )
    if not reason.strip() and not dry_run:  # a preview is asked before the reason
        raise ValidationError(
            {"reason": "Say why the version is activated (the site's approval, say)."}
        )
    problem = future_date_problem(site, on)
    if problem:
        raise ValidationError({"on": f"{problem} Activate a version on the day it takes effect."})
    if version.approved_on and on < version.approved_on:
        raise ValidationError(
            {
                "on": f"{on.isoformat()} is before version {version.number} was approved, on "
                f"{version.approved_on.isoformat()}."
            }
        )
    existing = in_force(site, version.protocol_id)
    for activation in existing:
        if activation.version_id == version.pk:
            raise ValidationError(
                {
                    "version": f"Version {version.number} is active at {site.code} since "
                    f"{activation.activated_on.isoformat()} already."
                }
            )
        if activation.version.order_key > version.order_key:
            raise ValidationError(
                {
                    "version": f"Version {version.number} is older than version "
                    f"{activation.version.number}, active at {site.code} since "
                    f"{activation.activated_on.isoformat()}."
                }
            )


def activate_version(
    version: ProtocolVersion,
    site: Site,
    *,
    on: datetime.date,
    by,
    reason: str,
    dry_run: bool = False,
) -> VersionChanges:
    """Put the released ``version`` in force at ``site`` from ``on``. A version that needs no
    re-consent applies at once to every active participant of the site on an older one, from
    ``on`` (from their consent, for one who consented since); one that does is listed for
    re-consent. With ``dry_run`` nothing is kept: the changes are returned as a preview."""
    _refuse_activation(version, site, on, reason, dry_run=dry_run)

    def apply():
        VersionActivation.objects.create(
            version=version,
            site=site,
            activated_on=on,
            activated_by=by,
            reason=reason.strip() or "(preview)",
        )
        changes = VersionChanges(version, site, on)
        participants = list(
            Participant.objects.active()
            .filter(site=site, protocol_id=version.protocol_id)
            .select_related("site")
            .order_by("subject_id")
        )
        followed = Followed.of_all(p.pk for p in participants)
        numbers = _numbers(version.protocol_id)
        moves = []
        for participant in participants:
            current = followed.get(participant.pk)
            if current is not None and version_key(numbers[current.version_id]) >= (
                version.order_key
            ):
                continue
            if version.needs_reconsent and participant.consent_date < on:
                changes.to_reconsent.append(participant.subject_id)
                continue
            since = max(on, participant.consent_date, current.since if current else on)
            kind = TakeUp.START if participant.consent_date >= on else TakeUp.ACTIVATION
            moves.append(Move(participant, current, since, kind))
        changes.participants += _take_up(moves, version, numbers, by=by, reason=reason)
        return changes

    return _previewed(apply, dry_run)


def record_reconsent(
    participant: Participant,
    version: ProtocolVersion,
    *,
    on: datetime.date,
    by,
    reason: str = "",
    dry_run: bool = False,
) -> VersionChanges:
    """``participant`` re-consented to ``version`` (in force at their site) on ``on``: from
    that day they follow it. With ``dry_run``, the preview only."""
    participant = Participant.objects.select_related("site").get(pk=participant.pk)
    site = participant.site
    current = Followed.of(participant)
    _refuse_reconsent(participant, version, on, current)

    def apply():
        changes = VersionChanges(version, site, on)
        numbers = _numbers(version.protocol_id)
        changes.participants += _take_up(
            [Move(participant, current, on, TakeUp.RECONSENT)],
            version,
            numbers,
            by=by,
            reason=reason.strip() or f"Re-consented to version {version.number}",
        )
        return changes

    return _previewed(apply, dry_run)


def _refuse_reconsent(participant, version, on, current) -> None:
    site = participant.site
    who = participant.subject_id
    if version.protocol_id != participant.protocol_id:
        raise ValidationError(
            {"version": f"Version {version.number} is not a version of {who}'s protocol."}
        )
    if not participant.is_active:
        left = f" on {participant.left_on.isoformat()}" if participant.left_on else ""
        raise ValidationError(
            {
                "participant": f"{who} has left the trial ({participant.get_status_display()}"
                f"{left}): no re-consent is recorded."
            }
        )
    if on < participant.consent_date:
        raise ValidationError(
            {
                "on": f"{on.isoformat()} is before {who}'s consent, on "
                f"{participant.consent_date.isoformat()}."
            }
        )
    problem = future_date_problem(site, on)
    if problem:
        raise ValidationError({"on": problem})
    activation = next(
        (a for a in in_force(site, version.protocol_id) if a.version_id == version.pk), None
    )
    if activation is None:
        raise ValidationError(
            {
                "version": f"Version {version.number} is not active at {site.code}: it is "
                "activated at the site before participants re-consent to it."
            }
        )
    if on < activation.activated_on:
        raise ValidationError(
            {
                "on": f"{on.isoformat()} is before version {version.number} became active at "
                f"{site.code}, on {activation.activated_on.isoformat()}."
            }
        )
    if current is not None:
        followed = ProtocolVersion.objects.get(pk=current.version_id)
        if followed.order_key >= version.order_key:
            raise ValidationError(
                {
                    "version": f"{who} follows version {followed.number} since "
                    f"{current.since.isoformat()}: a re-consent moves to a newer version."
                }
            )
        if on < current.since:
            raise ValidationError(
                {
                    "on": f"{on.isoformat()} is before {who} took up version {followed.number}, "
                    f"on {current.since.isoformat()}."
                }
            )


def _numbers(protocol_id: int) -> dict[int, str]:
    """Version id → number, of every version of the protocol."""
    return dict(ProtocolVersion.objects.filter(protocol_id=protocol_id).values_list("id", "number"))


@dataclass(frozen=True)
class Move:
    """One participant to move to a version: who, what they follow now, from when, and how."""

    participant: Participant
    current: Followed | None
    since: datetime.date
    kind: str


def _take_up(
    moves: list[Move],
    version: ProtocolVersion,
    numbers: dict[int, str],
    *,
    by,
    reason: str,
) -> list[ParticipantChanges]:
    """Record that each participant of ``moves`` follows ``version`` from their ``since`` and
    rebuild their schedule; what it changed. Their visits and pending reminders are read for
    all of them at once, before and after (four reads in all, not four a participant)."""
    ids = [move.participant.pk for move in moves]
    before_visits, before_reminders = _snapshot(ids), _pending_reminders(ids)
    for move in moves:
        VersionTakeUp.objects.create(
            participant=move.participant,
            version=version,
            previous_id=move.current.version_id if move.current else None,
            since=move.since,
            kind=move.kind,
            recorded_by=by,
            reason=reason.strip(),
        )
        rebuild_schedule(
            move.participant,
            by=by,
            reason=f"Version {version.number} from {move.since.isoformat()}: {reason.strip()}"[
                :250
            ],
        )
    after_visits, after_reminders = _snapshot(ids), _pending_reminders(ids)
    return [
        ParticipantChanges(
            move.participant.subject_id,
            move.participant.site.code,
            numbers[move.current.version_id] if move.current else "—",
            version.number,
            move.since,
            _visit_changes(
                before_visits.get(move.participant.pk, {}),
                after_visits.get(move.participant.pk, {}),
            ),
            len(before_reminders[move.participant.pk] - after_reminders[move.participant.pk]),
            len(after_reminders[move.participant.pk] - before_reminders[move.participant.pk]),
        )
        for move in moves
    ]


def _snapshot(participant_ids: list[int]) -> dict[int, dict[str, Visit]]:
    """participant id → visit code → the visit, of the planned visits of these participants."""
    visits: dict[int, dict[str, Visit]] = defaultdict(dict)
    for visit in Visit.objects.filter(participant_id__in=participant_ids, definition__isnull=False):
        visits[visit.participant_id][visit.code] = visit
    return visits


def _pending_reminders(participant_ids: list[int]) -> dict[int, set[int]]:
    """participant id → the ids of their pending reminders."""
    pending: dict[int, set[int]] = defaultdict(set)
    rows = Reminder.objects.filter(
        visit__participant_id__in=participant_ids, status=OutboxStatus.PENDING
    ).values_list("visit__participant_id", "id")
    for participant_id, reminder_id in rows:
        pending[participant_id].add(reminder_id)
    return pending


def _window(visit: Visit) -> str:
    if visit.window_start is None:
        return ""
    end = visit.window_end or visit.window_start
    return f"{visit.window_start.isoformat()}–{end.isoformat()}"


def _visit_changes(before: dict[str, Visit], after: dict[str, Visit]) -> list[VisitChange]:
    changes = []
    for code, visit in sorted(after.items(), key=lambda item: (item[1].planned_date, item[0])):
        old = before.get(code)
        not_applicable = visit.closed_on is not None and schedule.is_not_applicable(
            visit.closed_reason
        )
        if old is None:
            if not_applicable:
                changes.append(
                    VisitChange(
                        code,
                        NOT_APPLICABLE,
                        after=f"added, window {_window(visit)} ended before the change",
                    )
                )
            else:
                changes.append(
                    VisitChange(
                        code,
                        ADDED,
                        after=f"planned {visit.planned_date.isoformat()}, window {_window(visit)}",
                    )
                )
            continue
        was_not_applicable = old.closed_on is not None and schedule.is_not_applicable(
            old.closed_reason
        )
        if not_applicable and not was_not_applicable:
            changes.append(VisitChange(code, NOT_APPLICABLE, before=visit.closed_reason))
            continue
        if was_not_applicable and not not_applicable:
            changes.append(
                VisitChange(code, REOPENED, after=f"planned {visit.planned_date.isoformat()}")
            )
        if old.actual_date is not None:
            continue
        if old.name != visit.name:
            changes.append(VisitChange(code, RENAMED, old.name, visit.name))
        if old.planned_date != visit.planned_date:
            changes.append(
                VisitChange(
                    code, MOVED, old.planned_date.isoformat(), visit.planned_date.isoformat()
                )
            )
        if _window(old) != _window(visit):
            changes.append(VisitChange(code, REWINDOWED, _window(old), _window(visit)))
        if visit.appointment_flag == schedule.REBOOK and old.appointment_flag != schedule.REBOOK:
            changes.append(VisitChange(code, REBOOK, after=visit.appointment_note))
    return changes


def _waiting_for_reconsent(site_ids=None):
    """The query of active participants of ``site_ids`` (all sites: None) who follow an older
    version than the newest one in force at their site that needs re-consent, annotated with
    that version's id (``waits_for``); None when no site has such a version. Two queries to
    build; the participants are read by the caller, with their latest take-up in the index
    ``take_up_latest``, never all of a network at once."""
    activations = VersionActivation.objects.filter(version__needs_reconsent=True).select_related(
        "version"
    )
    if site_ids is not None:
        activations = activations.filter(site_id__in=list(site_ids))
    newest: dict[tuple[int, int], ProtocolVersion] = {}
    for activation in activations:
        key = (activation.site_id, activation.version.protocol_id)
        if key not in newest or activation.version.order_key > newest[key].order_key:
            newest[key] = activation.version
    if not newest:
        return None
    protocol_versions = list(
        ProtocolVersion.objects.filter(protocol_id__in={p for _, p in newest}).only(
            "id", "protocol_id", "number"
        )
    )
    followed = Subquery(
        VersionTakeUp.objects.filter(participant_id=OuterRef("pk"))
        .order_by("-since", "-id")
        .values("version_id")[:1]
    )
    waiting = Q(pk__in=[])
    waits_for = []
    for (site_id, protocol_id), version in newest.items():
        older = [
            v.pk
            for v in protocol_versions
            if v.protocol_id == protocol_id and v.order_key < version.order_key
        ]
        waiting |= Q(site_id=site_id, protocol_id=protocol_id, followed__in=older)
        waits_for.append(When(site_id=site_id, protocol_id=protocol_id, then=Value(version.pk)))
    return (
        Participant.objects.active()
        .annotate(followed=followed)
        .filter(waiting)
        .annotate(waits_for=Case(*waits_for, default=Value(None)))
    )


def needs_reconsent(
    site_ids=None, limit: int | None = None
) -> list[tuple[Participant, ProtocolVersion]]:
    """Active participants of ``site_ids`` (all sites: None) who follow an older version than
    one in force at their site that needs re-consent, each with that version (the newest), by
    site and subject id; the first ``limit`` of them."""
    return waiting_for_reconsent(site_ids, limit)[0]


def waiting_for_reconsent(
    site_ids=None, limit: int | None = None
) -> tuple[list[tuple[Participant, ProtocolVersion]], int]:
    """:func:`needs_reconsent`, and how many there are in all (one query for the activations,
    then one for the list and, past ``limit``, one to count)."""
    query = _waiting_for_reconsent(site_ids)
    if query is None:
        return [], 0
    rows = query.select_related("site").order_by("site__code", "subject_id")
    if limit is not None:
        rows = rows[:limit]
    rows = list(rows)
    total = len(rows) if limit is None or len(rows) < limit else query.count()
    by_id = ProtocolVersion.objects.in_bulk({row.waits_for for row in rows})
    return [(row, by_id[row.waits_for]) for row in rows], total
