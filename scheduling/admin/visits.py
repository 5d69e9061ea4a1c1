"""Visits: a list scoped to the user's sites, and the site calendar."""

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.urls import path
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from participants import roles
from participants.admin import ReadOnlyScopedAdmin
from scheduling.models import Visit
from scheduling.workspace import month_calendar as site_calendar


@admin.register(Visit)
class VisitAdmin(ReadOnlyScopedAdmin):
    site_path = "participant__site"
    list_display = [
        "participant",
        "code",
        "planned_date",
        "window_start",
        "window_end",
        "appointment_date",
        "booked_time",
        "source",
        "flag",
        "actual_date",
        "deviation",
        "cancelled",
    ]
    list_filter = [
        ("participant__site", admin.RelatedOnlyFieldListFilter),
        "code",
        "appointment_flag",
        "deviation",
        "cancelled",
    ]
    search_fields = ["participant__subject_id"]
    list_select_related = ["participant"]
    date_hierarchy = "planned_date"

    class Media:
        css = {"all": ["scheduling/appointments.css"]}

    @admin.display(description=_("source"), ordering="booked_date")
    def source(self, obj):
        """Booked by staff, or proposed by the clinic calendar (done visits: —)."""
        if not obj.shows_appointment:
            return "—"
        return obj.appointment_source

    @admin.display(description=_("flag"), ordering="appointment_flag")
    def flag(self, obj):
        if not obj.appointment_flag:
            return ""
        return format_html(
            '<span class="appointment-flag flag-{}">{}</span>',
            obj.appointment_flag,
            obj.appointment_note or obj.get_appointment_flag_display(),
        )

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
