"""The read-only base of the plan's parts (edited on the protocol page). The bases and
helpers of every workspace admin (site scoping, read only, past versions for reading,
refusals reported as messages) are in ``participants.admin``."""

from simple_history.admin import SimpleHistoryAdmin

from participants.admin import OfferedFiltersOnly, PastVersionsForReading, ReadOnlyAdmin


class PlanPartAdmin(ReadOnlyAdmin, OfferedFiltersOnly, PastVersionsForReading, SimpleHistoryAdmin):
    """Listed for reading; edited inline on the protocol page, where a change to a plan that
    participants follow is previewed and confirmed."""
