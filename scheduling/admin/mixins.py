"""The read-only base of the plan's parts (edited on a draft version's page). The bases and
helpers of every workspace admin (site scoping, read only, past versions for reading,
refusals reported as messages) are in ``participants.admin``."""

from simple_history.admin import SimpleHistoryAdmin

from participants.admin import OfferedFiltersOnly, PastVersionsForReading, ReadOnlyAdmin


class PlanPartAdmin(ReadOnlyAdmin, OfferedFiltersOnly, PastVersionsForReading, SimpleHistoryAdmin):
    """Listed for reading; edited inline on a draft version's page (a released version's
    plan is never edited: a change is a new draft)."""
