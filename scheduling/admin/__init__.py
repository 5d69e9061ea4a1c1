"""The staff workspace: participant list and page, visits, reminders, protocol plans, the
site calendar and the dashboard (the admin index).

Pages are thin: they parse a small form, call one service and report its errors as
sentences. Every page is scoped to the user's sites (``participants.admin.SiteScopedAdmin``).

One module per concern; importing them registers their admins with ``admin.site``:

- ``dashboard``: the admin index as the site workspace.
- ``participants``: the participant admin: its form, and the page composed of the pages below.
- ``participant_list``: the participant list's filters and columns.
- ``transitions``: the page's transition form (confirmed when it closes visits), the
  correction of a transition's date, and the read-only list of transitions.
- ``visit_rows``: the page's visit rows (done on, booked time, the participant's answer) and
  the unscheduled visit's form.
- ``eligibility``: the page's eligibility checklist and the investigator's confirmation.
- ``appointments``: the day picker of a visit (a page of the participant admin): its window
  day by day, open or closed and the load of its resource; books and clears appointments.
- ``contact_log``: the participant page's contact log (a page of the participant admin): the
  attempts to reach the participant, the form that adds one, and the suggestion to record
  lost to follow-up after attempts in a row that did not reach them.
- ``audit_trail``: the participant's audit trail (a page of the participant admin) and its
  CSV: every change to them and their records, read-only, scoped like their page.
- ``calendar_feeds``: sites' calendar feeds, made (URL shown once) and revoked; the
  participant's .ics of future appointments (``ParticipantCalendarPages``).
- ``exports``: the schedule export action of the participant list.
- ``visits``: the visit list and the site calendar.
- ``reminders``: reminders, site digests and reminder rules.
- ``protocols``: the protocol page (its fields, criteria, digest rule and versions), phases,
  visit definitions.
- ``protocol_versions``: a version's page (a draft's plan edited inline, a released one read),
  a new draft, its release, two versions compared, a version's activation at a site.
- ``reconsent``: a participant's re-consent to a newer version (a page of the participant
  admin), previewed then confirmed.
- ``mixins``: the read-only base of the plan's parts. The bases and helpers every admin
  shares (site scoping, read only, refusals reported as messages) are in ``participants.admin``.
"""

from participants.admin import ReadOnlyScopedAdmin
from scheduling.admin import (
    appointments,
    audit_trail,
    calendar_feeds,
    contact_log,
    dashboard,
    eligibility,
    exports,
    participant_list,
    participants,
    protocol_versions,
    protocols,
    reconsent,
    reminders,
    transitions,
    visit_rows,
    visits,
)
from scheduling.admin.appointments import AppointmentPages, BookingForm
from scheduling.admin.mixins import PlanPartAdmin
from scheduling.admin.participant_list import (
    NextVisitThisWeekFilter,
    NoShowFilter,
    OverdueFilter,
    PhaseFilter,
)
from scheduling.admin.participants import ParticipantAdmin, ParticipantForm
from scheduling.admin.protocol_versions import (
    PhaseInline,
    ProtocolVersionAdmin,
    ReminderRuleInline,
    VisitDefinitionInline,
)
from scheduling.admin.protocols import PhaseAdmin, ProtocolAdmin, VisitDefinitionAdmin
from scheduling.admin.reminders import ReminderAdmin, ReminderRuleAdmin, SiteDigestAdmin
from scheduling.admin.transitions import TransitionForm, TransitionInline
from scheduling.admin.visit_rows import ConfirmationForm, UnscheduledVisitForm, VisitForm
from scheduling.admin.visits import VisitAdmin

__all__ = [
    "AppointmentPages",
    "BookingForm",
    "ConfirmationForm",
    "NextVisitThisWeekFilter",
    "NoShowFilter",
    "OverdueFilter",
    "ParticipantAdmin",
    "ParticipantForm",
    "PhaseAdmin",
    "PhaseFilter",
    "PhaseInline",
    "PlanPartAdmin",
    "ProtocolAdmin",
    "ProtocolVersionAdmin",
    "ReadOnlyScopedAdmin",
    "ReminderAdmin",
    "ReminderRuleAdmin",
    "ReminderRuleInline",
    "SiteDigestAdmin",
    "TransitionForm",
    "TransitionInline",
    "UnscheduledVisitForm",
    "VisitAdmin",
    "VisitDefinitionAdmin",
    "VisitDefinitionInline",
    "VisitForm",
    "appointments",
    "audit_trail",
    "calendar_feeds",
    "contact_log",
    "dashboard",
    "eligibility",
    "exports",
    "participant_list",
    "participants",
    "protocol_versions",
    "protocols",
    "reconsent",
    "reminders",
    "transitions",
    "visit_rows",
    "visits",
]
