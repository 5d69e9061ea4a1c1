"""Visits: a list scoped to the user's sites, and the site calendar."""

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.urls import path

from participants import roles

from .. import calendar as site_calendar
from ..models import Visit
from .mixins import ReadOnlyScopedAdmin


@admin.register(Visit)
class VisitAdmin(ReadOnlyScopedAdmin):
    site_path = "participant__site"
    list_display = [
        "participant",
        "code",
        "planned_date",
        "window_start",
        "window_end",
        "booked_time",
        "actual_date",
        "cancelled",
    ]
    list_filter = [("participant__site", admin.RelatedOnlyFieldListFilter), "code", "cancelled"]
    search_fields = ["participant__subject_id"]
    list_select_related = ["participant"]
    date_hierarchy = "planned_date"

    def get_urls(self):
        return [
            path(
                "calendar/",
                self.admin_site.admin_view(self.calendar_view),
                name="scheduling_visit_calendar",
            )
        ] + super().get_urls()

    def calendar_view(self, request):
        if not self.has_view_permission(request):
            raise PermissionDenied
        context = site_calendar.calendar_context(request, roles.user_sites(request.user))
        context.update(self.admin_site.each_context(request))
        context.update({"opts": self.model._meta, "title": context["title"]})
        return site_calendar.render_calendar(request, context)
