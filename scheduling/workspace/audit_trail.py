"""The audit trail of one participant: every change to them and to their records, in time
order, as plain rows the audit trail page and its CSV show.

What it reads: the history (django-simple-history) of the participant, of their visits (the
schedule, appointments, bookings, actual dates, confirmations) and of their eligibility
answers; the transitions and the contact log, which are added and never changed and name
their own who, when and why, as do the protocol versions taken up and activated at their
site (``audit_versions``); and the outcome of each reminder (sent, failed, expired,
cancelled ...), kept on the reminder's row. Who is a staff user, the participant (a history
row without a user whose reason names a reminder link) or the system (a rebuild, the
dispatcher). A fixed number of queries, however long the history (one per kind of record).
"""

import csv
import datetime
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from participants.csv_cells import safe_row
from participants.local_times import local_time, site_time
from participants.models import (
    ContactAttempt,
    EligibilityAnswer,
    Participant,
    Protocol,
    Site,
    Transition,
)
from scheduling.mail.redaction import redact_addresses
from scheduling.models import OutboxStatus, Phase, Reminder, Visit
from scheduling.replies.answers import VIA_LINK

PARTICIPANT_THROUGH_LINK = gettext_lazy("the participant, through a link")
SYSTEM = gettext_lazy("the system")
HIDDEN = "(hidden)"
EMPTY = "—"

# Fields a reader never needs in a trail: keys, and the counter iCalendar reads.
_SKIPPED = {
    Participant: {"id", "created_at"},
    Visit: {"id", "participant", "definition", "sequence"},
    EligibilityAnswer: {"id", "participant", "criterion", "answered_by"},
}
# Contact details, shown only to those who may change the participant (as on their page).
CONTACT_FIELDS = {"email"}

# What a reminder's outcome says when its row keeps no note of why.
_OUTCOME_WHY = {
    OutboxStatus.CANCELLED: gettext_lazy(
        "no longer wanted by the schedule (the visit moved, was done or cancelled, the "
        "participant left or reminders were turned off)"
    ),
    OutboxStatus.EXPIRED: gettext_lazy("too late to send before the visit"),
    OutboxStatus.SUPERSEDED: gettext_lazy("a later reminder for the same visit went out"),
    OutboxStatus.UNKNOWN: gettext_lazy("the mail server took the message and never answered"),
}
# Entries of one instant, in the order things happen (the participant first, then their
# transition, the visits it rebuilt, and what the dispatcher did).
_ORDER = ["participant", "transition", "version", "eligibility", "visit", "contact", "reminder"]


@dataclass(frozen=True)
class Change:
    field: str
    before: str
    after: str


@dataclass
class AuditEntry:
    at: datetime.datetime
    kind: str  # one of _ORDER
    record: str  # "Visit INF1 (Infusion 1)"
    event: str  # "created", "changed", "sent" ...
    who: str
    why: str
    changes: list[Change] = field(default_factory=list)
    local: str = ""  # "2026-12-04 23:25 PST"
    utc: str = ""  # "2026-12-05 07:25 UTC"


def utc_time(instant: datetime.datetime) -> str:
    return local_time(instant, datetime.UTC)


def audit_trail(participant: Participant, *, show_contact_details: bool) -> list[AuditEntry]:
    """Every change to ``participant`` and their records, oldest first. Contact details (the
    email address) are written ``(hidden)`` unless ``show_contact_details``."""
    site = participant.site
    hidden = set() if show_contact_details else CONTACT_FIELDS
    participant_rows = list(
        Participant.history.filter(id=participant.pk)
        .select_related("history_user")
        .order_by("history_date", "history_id")
    )
    sites = Site.objects.in_bulk({row.site_id for row in participant_rows} | {site.pk})
    protocols = Protocol.objects.in_bulk({row.protocol_id for row in participant_rows})
    phases = dict(
        Phase.objects.filter(protocol_id=participant.protocol_id)
        .order_by()
        .values_list("code", "name")
    )
    values = _Values(
        site,
        {
            "site": {pk: s.code for pk, s in sites.items()},
            "protocol": {pk: p.code for pk, p in protocols.items()},
            "phase": phases,
        },
    )
    entries = list(
        _history_entries(
            participant_rows, "participant", lambda row: _("Participant"), values, hidden
        )
    )
    entries += _history_entries(
        Visit.history.filter(participant_id=participant.pk)
        .select_related("history_user")
        .order_by("history_date", "history_id"),
        "visit",
        lambda row: _("Visit %(code)s (%(name)s)") % {"code": row.code, "name": row.name},
        values,
        hidden,
    )
    entries += _history_entries(
        EligibilityAnswer.history.filter(participant_id=participant.pk)
        .select_related("history_user", "criterion")
        .order_by("history_date", "history_id"),
        "eligibility",
        lambda row: (
            _("Eligibility: %(criterion)s") % {"criterion": row.criterion.label}
            if row.criterion
            else _("Eligibility")
        ),
        values,
        hidden,
    )
    entries += _transition_entries(participant, values)
    entries += _contact_entries(participant, values)
    entries += _reminder_entries(participant)
    # Below this module: it builds its entries with this module's AuditEntry.
    from scheduling.workspace.audit_versions import version_entries

    entries += version_entries(participant)
    entries.sort(key=lambda entry: (entry.at, _ORDER.index(entry.kind)))
    for entry in entries:
        entry.local = site_time(entry.at, site)
        entry.utc = utc_time(entry.at)
    return entries


def who(user, reason: str = "") -> str:
    """A staff user's name; else the participant when the reason names a reminder link (what
    they do through one is saved without a user), else the system."""
    if user is not None:
        return user.get_username()
    if VIA_LINK in (reason or ""):
        return str(PARTICIPANT_THROUGH_LINK)
    return str(SYSTEM)


class _Values:
    """A field's value as staff read it: choices by label, yes/no, ISO dates, instants at the
    site with their zone, a site or protocol by its code, a phase by its name."""

    def __init__(self, site: Site, names: dict[str, dict]):
        self.site = site
        self.names = names

    def __call__(self, model_field, value) -> str:
        if value is None or value == "":
            return EMPTY
        if model_field.name in self.names:
            return str(self.names[model_field.name].get(value, value))
        if model_field.choices:
            return str(dict(model_field.flatchoices).get(value, value))
        if isinstance(value, bool):
            return _("yes") if value else _("no")
        if isinstance(value, datetime.datetime):
            return site_time(value, self.site)
        if isinstance(value, datetime.date):
            return value.isoformat()
        if isinstance(value, datetime.time):
            return f"{value:%H:%M}"
        return str(value)


def label(model_field) -> str:
    name = str(model_field.verbose_name)
    return name[:1].upper() + name[1:]


def _history_entries(rows: Iterable, kind: str, record, values: _Values, hidden: set[str]):
    """One entry per history row: a created record's values, a changed one's fields before
    and after (against the previous row of the same record)."""
    previous: dict[int, object] = {}
    for row in rows:
        model = row.instance_type
        tracked = [f for f in row.tracked_fields if f.name not in _SKIPPED.get(model, {"id"})]
        before = previous.get(row.id)
        changes = []
        for model_field in tracked:
            new = getattr(row, model_field.attname)
            old = getattr(before, model_field.attname) if before is not None else None
            if before is None and (new is None or new == "" or new is False):
                continue  # a new record: its values, not its empty fields or unset flags
            if before is not None and old == new:
                continue
            if model_field.name in hidden:
                changes.append(
                    Change(label(model_field), EMPTY if before is None else HIDDEN, HIDDEN)
                )
            else:
                changes.append(
                    Change(label(model_field), values(model_field, old), values(model_field, new))
                )
        previous[row.id] = row
        event = {"+": _("created"), "~": _("changed"), "-": _("deleted")}[row.history_type]
        if row.history_type == "~" and not changes:
            event = _("saved, nothing changed")
        reason = row.history_change_reason or ""
        yield AuditEntry(
            row.history_date,
            kind,
            record(row),
            event,
            who(row.history_user, reason),
            reason,
            changes,
        )


def _transition_entries(participant: Participant, values: _Values) -> list[AuditEntry]:
    transitions = list(
        Transition.objects.filter(participant=participant)
        .select_related("recorded_by")
        .order_by("recorded_at", "id")
    )
    by_id = {t.pk: t for t in transitions}
    status_field = Transition._meta.get_field("to_status")
    entries = []
    for transition in transitions:
        corrected = by_id.get(transition.corrects_id)
        if corrected is not None:
            event = _("correction recorded (%(via)s)") % {"via": transition.recorded_via}
            changes = [
                Change(_("Status"), EMPTY, values(status_field, transition.to_status)),
                Change(
                    _("Effective date"),
                    corrected.effective_date.isoformat(),
                    transition.effective_date.isoformat(),
                ),
            ]
        else:
            event = _("transition recorded (%(via)s)") % {"via": transition.recorded_via}
            changes = [
                Change(
                    "Status",
                    values(status_field, transition.from_status),
                    values(status_field, transition.to_status),
                ),
                Change(_("Effective date"), EMPTY, transition.effective_date.isoformat()),
            ]
        entries.append(
            AuditEntry(
                transition.recorded_at,
                "transition",
                _("Lifecycle"),
                event,
                who(transition.recorded_by, transition.reason),
                transition.reason,
                changes,
            )
        )
    return entries


def _contact_entries(participant: Participant, values: _Values) -> list[AuditEntry]:
    attempts = ContactAttempt.objects.filter(participant=participant).select_related("recorded_by")
    meta = ContactAttempt._meta
    return [
        AuditEntry(
            attempt.recorded_at,
            "contact",
            _("Contact log"),
            _("attempt logged"),
            who(attempt.recorded_by),
            attempt.note,
            [
                Change(_("When"), EMPTY, values(meta.get_field("at"), attempt.at)),
                Change(_("Channel"), EMPTY, values(meta.get_field("channel"), attempt.channel)),
                Change(_("Outcome"), EMPTY, values(meta.get_field("outcome"), attempt.outcome)),
            ],
        )
        for attempt in attempts
    ]


def _reminder_entries(participant: Participant) -> list[AuditEntry]:
    """A reminder's outcome, once it has one (a pending reminder has none yet)."""
    reminders = (
        Reminder.objects.filter(visit__participant=participant)
        .exclude(status=OutboxStatus.PENDING)
        .select_related("visit", "rule")
    )
    entries = []
    for reminder in reminders:
        status = OutboxStatus(reminder.status)
        at = {
            OutboxStatus.SENT: reminder.sent_at,
            OutboxStatus.FAILED: reminder.last_attempt_at,
            OutboxStatus.UNKNOWN: reminder.outcome_unknown_at,
        }.get(status) or reminder.updated_at
        changes = [Change(_("Status"), OutboxStatus.PENDING.label, status.label)]
        if reminder.attempts:
            changes.append(Change(_("Attempts"), EMPTY, str(reminder.attempts)))
        why = redact_addresses(reminder.last_error) or str(_OUTCOME_WHY.get(status, ""))
        entries.append(
            AuditEntry(
                at,
                "reminder",
                _("Reminder of visit %(code)s (%(name)s) on %(day)s, %(lead)s d before at %(time)s")
                % {
                    "code": reminder.visit.code,
                    "name": reminder.visit.name,
                    "day": reminder.planned_date.isoformat(),
                    "lead": reminder.rule.lead_days,
                    "time": f"{reminder.rule.local_time:%H:%M}",
                },
                str(status.label).lower(),
                str(SYSTEM),
                why,
                changes,
            )
        )
    return entries


AUDIT_COLUMNS = [
    "subject_id",
    "site",
    "when_local",
    "when_utc",
    "who",
    "record",
    "event",
    "field",
    "before",
    "after",
    "why",
]


def write_audit_csv(handle, participant: Participant, entries: list[AuditEntry]) -> None:
    """The trail as CSV, one line per changed field (an entry with none has one line), every
    cell through ``safe_row`` so a text written by anyone cannot run as a formula."""
    writer = csv.writer(handle)
    writer.writerow(AUDIT_COLUMNS)
    for entry in entries:
        start = [participant.subject_id, participant.site.code, entry.local, entry.utc]
        for change in entry.changes or [Change("", "", "")]:
            writer.writerow(
                safe_row(
                    [
                        *start,
                        entry.who,
                        entry.record,
                        entry.event,
                        change.field,
                        change.before,
                        change.after,
                        entry.why,
                    ]
                )
            )
