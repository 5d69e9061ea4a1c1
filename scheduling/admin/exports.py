"""The schedule export: an action of the participant list, a CSV of the selected
participants' visits in ``SCHEDULE_COLUMNS`` order, written as ``export_schedule`` writes it."""

from django.conf import settings
from django.contrib import admin
from django.http import HttpResponse
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from scheduling.timeline.selectors import schedule_rows, write_schedule_csv


@admin.action(description=_("Export the schedule of the selected participants (CSV)"))
def export_schedule(modeladmin, request, queryset):
    response = HttpResponse(content_type="text/csv")
    response["Content-Disposition"] = 'attachment; filename="schedule.csv"'
    # The columns' words (a deviation's label) are the export's format, not the reader's
    # language: the same file from every workspace language, as from the command line.
    with translation.override(settings.LANGUAGE_CODE):
        write_schedule_csv(response, schedule_rows(participants=queryset))
    return response
