"""Visits: a list scoped to the user's sites, and the site calendar."""

import datetime

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.db.models import Max, Min
from django.urls import path
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from participants import roles
from participants.admin import ReadOnlyScopedAdmin
from participants.admin.network import CappedCountAdmin, user_site_filter
from participants.local_times import planning_day
from scheduling.models import (
    UNSCHEDULED_CODE,
    Visit,
    VisitDefinition,
    VisitQuerySet,
    VisitStatus,
)
from scheduling.workspace import month_calendar as site_calendar
from scheduling.workspace.visit_status import with_status


class VisitCodeFilter(admin.SimpleListFilter):
    """The codes of the protocols' visit definitions (Django's filter of a field's values
    reads every visit for the distinct ones)."""

    title = "code"
    parameter_name = "code"

    def lookups(self, request, model_admin):
        codes = VisitDefinition.objects.order_by("code").values_list("code", flat=True)
        return [(code, code) for code in dict.fromkeys([*codes, UNSCHEDULED_CODE])]

    def queryset(self, request, queryset):
        return queryset if self.value() is None else queryset.filter(code=self.value())


class VisitStatusFilter(admin.SimpleListFilter):
    """A visit's status as its page shows it (``Visit.status_on`` at its site's today): a visit
    a protocol version no longer applies to is "not applicable", never "missed"."""

    title = _("status")
    parameter_name = "visit_status"

    def lookups(self, request, model_admin):
        return VisitStatus.choices

    def queryset(self, request, queryset):
        value = self.value()
        if value is None:
            return queryset
        return with_status(queryset, value, roles.user_sites(request.user))


class DatesBetween(VisitQuerySet):
    """The date hierarchy's years, months and days: every one between the first and the last
    visit shown (two probes of the date's index), not the distinct dates of every visit."""

    def dates(self, field_name, kind, order="ASC"):
        span = self.order_by().aggregate(first=Min(field_name), last=Max(field_name))
        first, last = span["first"], span["last"]
        if first is None:
            return []
        if kind == "year":
            found = [datetime.date(year, 1, 1) for year in range(first.year, last.year + 1)]
        elif kind == "month":
            months = range(first.year * 12 + first.month - 1, last.year * 12 + last.month)
            found = [datetime.date(m // 12, m % 12 + 1, 1) for m in months]
        else:
            found = [first + datetime.timedelta(days=d) for d in range((last - first).days + 1)]
        return found if order == "ASC" else found[::-1]


@admin.register(Visit)
class VisitAdmin(CappedCountAdmin, ReadOnlyScopedAdmin):
    site_path = "participant__site"
    # The order of the index visit_list_order (by the participant's subject id, it sorted
    # every visit of the network for each page).
    ordering = ["participant_id", "planned_date", "id"]
    list_display = [
        "participant",
        "code",
        "planned_date",
        "window_start",
        "window_end",
        "appointment",
        "booked_time",
        "source",
        "flag",
        "actual_date",
        "deviation",
        "cancelled",
        "version_number",
    ]
    list_filter = [
        user_site_filter("participant__site"),
        VisitStatusFilter,
        VisitCodeFilter,
        "appointment_flag",
        "deviation",
        "cancelled",
    ]
    search_fields = ["participant__subject_id"]
    list_select_related = ["participant", "version"]
    date_hierarchy = "planned_date"

    class Media:
        css = {"all": ["scheduling/appointments.css"]}

    @admin.display(description=_("appointment"), ordering="appointment_date")
    def appointment(self, obj):
        """The day the participant is expected, with its weekday (people plan by it)."""
        return planning_day(obj.appointment_date) or "—"

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        return DatesBetween(model=Visit, query=queryset.query, using=queryset.db)

    @admin.display(description=_("version"), ordering="version_id")
    def version_number(self, obj):
        """The protocol version that planned it (unscheduled: —)."""
        return obj.version.number if obj.version else "—"

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
