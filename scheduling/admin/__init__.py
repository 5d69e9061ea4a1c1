"""The staff workspace: participant list and page, visits, reminders, protocol plans, the
site calendar and the dashboard (the admin index).

Pages are thin: they parse a small form, call one service and report its errors as
sentences. Every page is scoped to the user's sites (``participants.admin.SiteScopedAdmin``).

One module per concern; importing them registers their admins with ``admin.site``:

- ``dashboard``: the admin index as the site workspace.
- ``participants``: the participant list (filters) and page (its forms and views).
- ``appointments``: the day picker of a visit (a page of the participant admin): its window
  day by day, open or closed and the load of its resource; books and clears appointments.
- ``contact_log``: the participant page's contact log (a page of the participant admin): the
  attempts to reach the participant, the form that adds one, and the suggestion to record
  lost to follow-up after attempts in a row that did not reach them.
- ``exports``: the schedule export action of the participant list.
- ``visits``: the visit list and the site calendar.
- ``reminders``: reminders, site digests and reminder rules.
- ``protocols``: the protocol page (its plan edited inline), phases, visit definitions.
- ``mixins``: the bases and error reporting the others share.
"""

from . import (
    appointments,
    contact_log,
    dashboard,
    exports,
    participants,
    protocols,
    reminders,
    visits,
)
from .appointments import AppointmentPages, BookingForm
from .mixins import PlanPartAdmin, ReadOnlyScopedAdmin
from .participants import (
    ConfirmationForm,
    NextVisitThisWeekFilter,
    NoShowFilter,
    OverdueFilter,
    ParticipantAdmin,
    ParticipantForm,
    PhaseFilter,
    TransitionForm,
    TransitionInline,
    UnscheduledVisitForm,
    VisitForm,
)
from .protocols import (
    PhaseAdmin,
    PhaseInline,
    ProtocolAdmin,
    ReminderRuleInline,
    VisitDefinitionAdmin,
    VisitDefinitionInline,
)
from .reminders import ReminderAdmin, ReminderRuleAdmin, SiteDigestAdmin
from .visits import VisitAdmin

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
    "contact_log",
    "dashboard",
    "exports",
    "participants",
    "protocols",
    "reminders",
    "visits",
]
