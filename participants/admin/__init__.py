"""The admin of sites, their calendars and staff, and the bases of every workspace admin.

Every admin of a record that belongs to a site derives from :class:`SiteScopedAdmin`: its
list, search, autocomplete, actions, change page and history see only the user's sites, and
a record of another site is a 404, as if it did not exist.

The participant and protocol pages live in ``scheduling/admin/``: they show schedules, and
the scheduling app depends on this one, never the reverse.

One module per concern; importing them registers their admins with ``admin.site``:

- ``bases``: the bases the admins of both apps derive from (site scoping, filters by URL,
  history, reasons for change, read only).
- ``refusals``: a service's or a form's errors shown to staff, in one format.
- ``sites``: the site page and its clinic calendar (open days, holidays, capacity).
- ``closures``: a site's closures.
- ``resources``: what visits occupy at a clinic, shared by every site.
- ``transitions``: the transition records, read only.
- ``staff``: who works at which site.
- ``eligibility``: the criteria (inline on the protocol page) and the answers, read only.
- ``widgets``: date and time inputs written ISO 8601, whatever the browser's locale.
"""

from participants.admin import (
    api_tokens,
    closures,
    eligibility,
    resources,
    sites,
    staff,
    transitions,
)
from participants.admin.bases import (
    ChoiceLabelContextHelper,
    OfferedFiltersOnly,
    PastVersionsForReading,
    ReadOnlyAdmin,
    ReadOnlyScopedAdmin,
    ReasonForChangeAdmin,
    ReasonForChangeForm,
    SiteScopedAdmin,
)
from participants.admin.closures import SiteClosureAdmin, SiteClosureForm
from participants.admin.eligibility import EligibilityAnswerAdmin, EligibilityCriterionInline
from participants.admin.refusals import (
    error_sentences,
    errors_onto_form,
    form_error_sentences,
    report_errors,
)
from participants.admin.resources import ResourceAdmin, ResourceForm
from participants.admin.sites import (
    CALENDAR_FIELDS,
    OpenDaysField,
    OpenDaysWidget,
    SiteAdmin,
    SiteCapacityInline,
    SiteForm,
    holidays_of_years,
)
from participants.admin.staff import SiteMembershipAdmin, SiteMembershipForm
from participants.admin.transitions import TransitionAdmin

__all__ = [
    "api_tokens",
    "CALENDAR_FIELDS",
    "ChoiceLabelContextHelper",
    "EligibilityAnswerAdmin",
    "EligibilityCriterionInline",
    "OfferedFiltersOnly",
    "OpenDaysField",
    "OpenDaysWidget",
    "PastVersionsForReading",
    "ReadOnlyAdmin",
    "ReadOnlyScopedAdmin",
    "ReasonForChangeAdmin",
    "ReasonForChangeForm",
    "ResourceAdmin",
    "ResourceForm",
    "SiteAdmin",
    "SiteCapacityInline",
    "SiteClosureAdmin",
    "SiteClosureForm",
    "SiteForm",
    "SiteMembershipAdmin",
    "SiteMembershipForm",
    "SiteScopedAdmin",
    "TransitionAdmin",
    "closures",
    "eligibility",
    "error_sentences",
    "errors_onto_form",
    "form_error_sentences",
    "holidays_of_years",
    "refusals",
    "report_errors",
    "resources",
    "sites",
    "staff",
    "transitions",
]
