"""The schedule export: an action of the participant list, a CSV of the selected
participants' visits in ``SCHEDULE_COLUMNS`` order."""

import csv

from django.contrib import admin
from django.http import HttpResponse

from ..models import Visit
from ..selectors import SCHEDULE_COLUMNS


@admin.action(description="Export the schedule of the selected participants (CSV)")
def export_schedule(modeladmin, request, queryset):
    response = HttpResponse(content_type="text/csv")
    response["Content-Disposition"] = 'attachment; filename="schedule.csv"'
    writer = csv.writer(response)
    writer.writerow(SCHEDULE_COLUMNS)
    todays = {}
    visits = (
        Visit.objects.filter(participant__in=queryset.values("pk"))
        .select_related("participant__site")
        .order_by("participant__subject_id", "planned_date", "id")
    )
    for visit in visits:
        site = visit.participant.site
        todays.setdefault(site.pk, site.today())
        writer.writerow(
            [
                visit.participant.subject_id,
                site.code,
                visit.phase,
                visit.code,
                visit.name,
                visit.planned_date,
                visit.window_start or "",
                visit.window_end or "",
                visit.study_day if visit.study_day is not None else "",
                visit.actual_date or "",
                visit.status_on(todays[site.pk]),
            ]
        )
    return response
