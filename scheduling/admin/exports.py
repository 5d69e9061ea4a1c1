"""The schedule export: an action of the participant list, a CSV of the selected
participants' visits in ``SCHEDULE_COLUMNS`` order, written as ``export_schedule`` writes it."""

from django.contrib import admin
from django.http import HttpResponse

from scheduling.timeline.selectors import schedule_rows, write_schedule_csv


@admin.action(description="Export the schedule of the selected participants (CSV)")
def export_schedule(modeladmin, request, queryset):
    response = HttpResponse(content_type="text/csv")
    response["Content-Disposition"] = 'attachment; filename="schedule.csv"'
    write_schedule_csv(response, schedule_rows(participants=queryset))
    return response
