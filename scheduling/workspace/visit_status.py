"""Visits of one status, as a visit's page shows it (``Visit.status_on`` at its site's today):
one query for the visit list's filter (scheduling/admin/visits.py) and the API's
(scheduling/api/filters.py). A visit a protocol version no longer applies to is "not
applicable", never "missed"."""

from django.db.models import F, Q, QuerySet

from scheduling.models import VisitStatus
from scheduling.rules import schedule
from scheduling.workspace.participant_list import site_today


def with_status(queryset: QuerySet, status: str, sites) -> QuerySet:
    """The visits of ``queryset`` whose status is ``status`` today at their site, among
    ``sites`` (the reader's: whose todays the query compares with)."""
    not_applicable = Q(closed_on__isnull=False, closed_reason__startswith=schedule.NOT_APPLICABLE)
    if status == VisitStatus.COMPLETED:
        return queryset.filter(actual_date__isnull=False)
    undone = queryset.filter(actual_date__isnull=True)
    if status == VisitStatus.CANCELLED:
        return undone.filter(cancelled=True)
    undone = undone.filter(cancelled=False)
    if status == VisitStatus.NOT_APPLICABLE:
        return undone.filter(not_applicable)
    passed = Q(closed_on__isnull=True, window_end__lt=F("visit_site_today"))
    undone = undone.annotate(visit_site_today=site_today(sites, field="site_id"))
    if status == VisitStatus.MISSED:
        return undone.filter(Q(closed_on__isnull=False) & ~not_applicable | passed)
    if status == VisitStatus.SCHEDULED:
        return undone.filter(closed_on__isnull=True).exclude(passed)
    return queryset.none()
