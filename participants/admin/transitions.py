"""Transition records, listed for reading: a participant's moves are recorded on their page."""

from django.contrib import admin

from participants.admin.bases import ReadOnlyScopedAdmin, site_time_column
from participants.models import Transition


@admin.register(Transition)
class TransitionAdmin(ReadOnlyScopedAdmin):
    """Transition records: read only, forever. A correction is a new record (see services)."""

    site_path = "participant__site"
    list_display = [
        "participant",
        "from_status",
        "to_status",
        "effective_date",
        "reason",
        "recorded_by",
        "recorded_via",
        "recorded",
    ]
    list_filter = ["to_status", ("participant__site", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["participant__subject_id"]
    list_select_related = ["participant__site", "recorded_by"]
    recorded = site_time_column("recorded_at", "recorded (site time)")
