"""The participant list: its filters (phase, next visit, overdue, no-show) and its columns,
read from the schedule summary the list is annotated with (``workspace.with_schedule_summary``)."""

from django.contrib import admin
from django.db.models import Exists, OuterRef
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from participants.local_times import planning_day
from participants.models import ACTIVE_STATUSES, Status
from scheduling.models import Phase, Visit
from scheduling.rules import engine
from scheduling.workspace import participant_list as workspace


class PhaseFilter(admin.SimpleListFilter):
    """The participant's current phase: a status named like a phase; enrolled participants
    are still in the first phase (screening) until treatment starts."""

    title = _("phase")
    parameter_name = "phase"

    def lookups(self, request, model_admin):
        seen = {}
        for phase in Phase.objects.order_by("order", "id"):
            seen.setdefault(phase.code, phase.name)
        return list(seen.items())

    def queryset(self, request, queryset):
        code = self.value()
        if not code:
            return queryset
        if Phase.objects.filter(code=code, order=1).exists():
            return queryset.filter(status__in=[code, Status.SCREENING, Status.ENROLLED])
        return queryset.filter(status=code)


class NextVisitThisWeekFilter(admin.SimpleListFilter):
    title = _("next visit")
    parameter_name = "next_visit"

    def lookups(self, request, model_admin):
        return [("week", _("Within 7 days"))]

    def queryset(self, request, queryset):
        if self.value() == "week":
            return workspace.next_visit_within(queryset, 7)
        return queryset


class OverdueFilter(admin.SimpleListFilter):
    title = _("overdue visits")
    parameter_name = "overdue"

    def lookups(self, request, model_admin):
        return [("yes", _("Has overdue visits")), ("no", _("None overdue"))]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(overdue_visits__gt=0)
        if self.value() == "no":
            return queryset.filter(overdue_visits=0)
        return queryset


class NoShowFilter(admin.SimpleListFilter):
    """Participants still in the trial with a no-show: an appointment day that passed with no
    actual date while the visit's window is still open (on their site's today)."""

    title = _("no-show")
    parameter_name = "no_show"

    def lookups(self, request, model_admin):
        return [("yes", _("Has a no-show"))]

    def queryset(self, request, queryset):
        if self.value() != "yes":
            return queryset
        # ``site_today`` is the list's annotation (workspace.with_schedule_summary).
        no_shows = Visit.objects.open().filter(
            participant=OuterRef("pk"),
            appointment_date__lt=OuterRef("site_today"),
            window_end__gte=OuterRef("site_today"),
        )
        return queryset.filter(Exists(no_shows), status__in=ACTIVE_STATUSES)


class ParticipantListColumns:
    """Mixed into the participant admin: the list's columns."""

    @admin.display(description=_("site"), ordering="site__code")
    def site_code(self, obj):
        return obj.site.code

    @admin.display(description=_("status"), ordering="status")
    def status_badge(self, obj):
        return format_html(
            '<span class="status-badge status-{}">{}</span>', obj.status, obj.get_status_display()
        )

    @admin.display(description=_("study day today"))
    def study_day_today(self, obj):
        day_one = workspace.day_one_from_anchor(obj.anchor_date, obj.anchor_study_day)
        if day_one is None or not obj.is_active:
            return "—"
        return f"Day {engine.study_day(obj.site_today, day_one)}"

    @admin.display(description=_("next visit"), ordering="next_visit_date")
    def next_visit(self, obj):
        if obj.next_visit_date is None:
            return "—"
        days = (obj.next_visit_date - obj.site_today).days
        when = (
            "today"
            if days == 0
            else f"in {days} day{'s' if days != 1 else ''}"
            if days > 0
            else f"{-days} day{'s' if days != -1 else ''} ago, window open"
        )
        return format_html(
            "{} {} <small>({})</small>",
            obj.next_visit_code,
            planning_day(obj.next_visit_date),
            when,
        )

    @admin.display(description=_("overdue"), ordering="overdue_visits")
    def overdue(self, obj):
        if not obj.overdue_visits:
            return "0"
        return format_html('<span class="overdue-count">{}</span>', obj.overdue_visits)
