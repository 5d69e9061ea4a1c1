"""The site page: a site's details and its clinic calendar (open days, public holidays,
capacity per resource; its closures have their own page, linked from here)."""

import datetime

from django import forms
from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from participants import clinic
from participants.admin.bases import ReasonForChangeAdmin, ReasonForChangeForm, SiteScopedAdmin
from participants.admin.translations import TranslationsField
from participants.capacities import save_capacities
from participants.models import Site, SiteCapacity
from participants.sites import site_calendar_changed, site_time_zone_changed

# The site's fields a clinic calendar is made of: a change re-places its appointments.
CALENDAR_FIELDS = frozenset({"open_days", "holiday_country", "holiday_subdivision"})


class OpenDaysWidget(forms.CheckboxSelectMultiple):
    """A checkbox per weekday, ticked from the stored digits ("12345")."""

    def format_value(self, value):
        return super().format_value(list(value) if isinstance(value, str) else value)


class OpenDaysField(forms.MultipleChoiceField):
    """The open weekdays as checkboxes, cleaned to the stored ISO weekday digits ("12345")."""

    widget = OpenDaysWidget

    def __init__(self, **kwargs):
        super().__init__(
            choices=[(str(n), name) for n, name in enumerate(clinic.WEEKDAY_NAMES, 1)],
            error_messages={"required": "Tick at least one day the clinic is open."},
            **kwargs,
        )

    def prepare_value(self, value):
        return list(value) if isinstance(value, str) else value

    def clean(self, value):
        return "".join(sorted(set(super().clean(value))))


class SiteForm(ReasonForChangeForm):
    open_days = OpenDaysField(
        label=_("Open days"), help_text=_("The weekdays the clinic sees participants.")
    )

    class Meta:
        model = Site
        fields = [
            "code",
            "name",
            "timezone",
            "coordinator_email",
            "address",
            "phone",
            "open_days",
            "holiday_country",
            "holiday_subdivision",
            "language",
            "sender_name",
            "sender_name_translations",
        ]
        field_classes = {"sender_name_translations": TranslationsField}

    def clean(self):
        cleaned = super().clean()
        country = (cleaned.get("holiday_country") or "").strip().upper()
        subdivision = (cleaned.get("holiday_subdivision") or "").strip()
        if country and not clinic.holiday_calendar_problem(country, subdivision):
            # Stored as the holidays package lists it ("ca" → "CA"); a calendar it does not
            # know is reported by the model's check, on its field.
            label = f"{country}-{subdivision}" if subdivision else country
            cleaned["holiday_country"], cleaned["holiday_subdivision"] = (
                clinic.parse_holiday_calendar(label)
            )
        return cleaned


class SiteCapacityInline(admin.TabularInline):
    """How many of each resource the site has per open day; site managers edit it."""

    model = SiteCapacity
    fields = ["resource", "per_day"]
    extra = 0
    verbose_name = "capacity"
    verbose_name_plural = "capacity per day"


def holidays_of_years(site: Site, years) -> list[tuple[datetime.date, str]]:
    """``site``'s public holidays in ``years``, in date order, with their names."""
    if not site.holiday_country:
        return []
    names = site.public_holidays
    days = []
    for year in years:
        day = datetime.date(year, 1, 1)
        while day.year == year:
            if day in names:
                days.append((day, names[day]))
            day += datetime.timedelta(days=1)
    return days


@admin.register(Site)
class SiteAdmin(ReasonForChangeAdmin, SiteScopedAdmin):
    """A site and its clinic calendar. Site managers (and superusers) change it; coordinators,
    investigators and monitors read it. Saving a change to the open days, the holiday
    calendar or the capacity places the site's appointments again in the same transaction."""

    site_path = ""
    form = SiteForm
    list_display = [
        "code",
        "name",
        "timezone",
        "coordinator_email",
        "open_days_shown",
        "holidays_shown",
    ]
    search_fields = ["code", "name"]
    inlines = [SiteCapacityInline]

    class Media:
        css = {"all": ["participants/clinic.css"]}

    def get_fieldsets(self, request, obj=None):
        may_change = (
            self.has_change_permission(request, obj)
            if obj is not None
            else self.has_add_permission(request)
        )
        calendar = (
            ["open_days", "holiday_country", "holiday_subdivision"]
            if may_change
            else ["open_days_shown", "holidays_shown"]
        )
        fieldsets = [
            (
                None,
                {"fields": ["code", "name", "timezone", "coordinator_email", "address", "phone"]},
            ),
            ("Clinic calendar", {"fields": calendar}),
            # Read only for all but site managers, like the calendar: the page is theirs.
            ("Reminders", {"fields": ["language", "sender_name", "sender_name_translations"]}),
        ]
        if obj is not None:
            fieldsets[1][1]["fields"] += ["public_holiday_list", "closure_list"]
            fieldsets[1][1]["description"] = self._closures_description(request, obj)
            if may_change:
                fieldsets.append((None, {"fields": ["change_reason"]}))
        return fieldsets

    def get_readonly_fields(self, request, obj=None):
        return ["open_days_shown", "holidays_shown", "public_holiday_list", "closure_list"]

    def _closures_description(self, request, site):
        closures = reverse("admin:participants_siteclosure_changelist")
        links = [format_html('<a href="{}?site__id__exact={}">All closures</a>', closures, site.pk)]
        if request.user.has_perm("participants.add_siteclosure"):
            add = reverse("admin:participants_siteclosure_add")
            links.append(
                format_html('<a class="addlink" href="{}?site={}">Add a closure</a>', add, site.pk)
            )
        return format_html_join(" · ", "{}", ((link,) for link in links))

    @admin.display(description=_("open days"))
    def open_days_shown(self, obj):
        return obj.open_days_label

    @admin.display(description=_("public holidays of"))
    def holidays_shown(self, obj):
        return obj.holidays_label or "none"

    @admin.display(description=_("public holidays"))
    def public_holiday_list(self, obj):
        if obj is None or obj.pk is None or not obj.holiday_country:
            return "No holiday calendar."
        if clinic.holiday_calendar_problem(obj.holiday_country, obj.holiday_subdivision):
            return "—"  # a calendar just refused on its field
        year = obj.today().year
        days = holidays_of_years(obj, (year, year + 1))
        if not days:
            return f"No public holidays in {year} and {year + 1}."
        items = format_html_join(
            "",
            '<li data-date="{}">{} <small>{}</small> {}</li>',
            (
                (day.isoformat(), day.isoformat(), clinic.WEEKDAYS[day.weekday()], name)
                for day, name in days
            ),
        )
        return format_html(
            '<p class="help">{} and {} ({}):</p><ul class="holiday-list">{}</ul>',
            year,
            year + 1,
            obj.holidays_label,
            items,
        )

    @admin.display(description=_("closures from today"))
    def closure_list(self, obj):
        if obj is None or obj.pk is None:
            return "—"
        closures = [c for c in obj.closures.all() if c.end >= obj.today()]
        if not closures:
            return "None."
        return format_html(
            '<ul class="closure-list">{}</ul>',
            format_html_join(
                "",
                '<li><a href="{}">{}</a>: {}</li>',
                (
                    (
                        reverse("admin:participants_siteclosure_change", args=[closure.pk]),
                        closure.start.isoformat()
                        if closure.start == closure.end
                        else f"{closure.start.isoformat()} to {closure.end.isoformat()}",
                        closure.reason,
                    )
                    for closure in closures
                ),
            ),
        )

    def save_rows(self, request, form, rows, deleted):
        """Capacity rows go through the service, with the site's reason for change; it
        places the site's bookings again. Returns whether a row changed."""
        return save_capacities(
            form.instance, rows, deleted, by=request.user, reason=self.reason_for_change(form)
        )

    def save_related(self, request, form, formsets, change):
        form.save_m2m()
        capacity_changed = False
        for formset in formsets:
            capacity_changed |= bool(self.save_formset(request, form, formset, change))
        if not change or capacity_changed:
            return  # the capacity's service placed the appointments again (time zone too)
        changed = set(form.changed_data)
        why = self.reason_for_change(form)
        if changed & CALENDAR_FIELDS:
            # Appointments are placed again (and pending reminders re-timed, in the site's
            # time zone too) in the admin's transaction.
            site_calendar_changed(
                form.instance,
                by=request.user,
                reason=f"{form.instance.code}'s clinic calendar changed"
                + (f": {why}" if why else ""),
            )
        elif "timezone" in changed:
            # Pending reminders are due at the rules' local time in the new zone.
            site_time_zone_changed(
                form.instance,
                by=request.user,
                reason=f"{form.instance.code}'s time zone changed" + (f": {why}" if why else ""),
            )
