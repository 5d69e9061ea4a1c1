"""Admin building blocks for the staff workspace, and the admin of sites and transitions.

Every admin of a record that belongs to a site derives from :class:`SiteScopedAdmin`: its
list, search, autocomplete, actions, change page and history see only the user's sites, and
a record of another site is a 404, as if it did not exist.

The participant and protocol pages live in ``scheduling/admin/``: they show schedules, and
the scheduling app depends on this one, never the reverse.
"""

import datetime

from django import forms
from django.contrib import admin
from django.contrib.admin.utils import get_fields_from_path
from django.contrib.admin.widgets import AdminDateWidget
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from simple_history.admin import SimpleHistoryAdmin
from simple_history.models import ModelChange
from simple_history.template_utils import HistoricalRecordContextHelper

from . import clinic, roles
from .models import (
    EligibilityAnswer,
    EligibilityCriterion,
    Resource,
    Site,
    SiteCapacity,
    SiteClosure,
    SiteMembership,
    Transition,
)
from .services import (
    add_closure,
    change_closure,
    remove_closure,
    site_calendar_changed,
    site_time_zone_changed,
    validate_closure,
)


class ChoiceLabelContextHelper(HistoricalRecordContextHelper):
    """Shows a choice field's change by its labels ("Screening → Enrolled")."""

    def prepare_delta_change_value(self, change, value):
        field = self.model._meta.get_field(change.field)
        if field.choices and value is not None:
            return dict(field.flatchoices).get(value, value)
        return super().prepare_delta_change_value(change, value)


class OfferedFiltersOnly:
    """A list filters by URL only as its own filters and date hierarchy do.

    Django's default lets a URL filter by any field of the model, shown or not: a user could
    read a participant's address one character at a time (``?email__startswith=p``). Any
    other lookup is refused (``DisallowedModelAdminLookup``, a 400).
    """

    def lookup_allowed(self, lookup, value, request):
        offered = request.__dict__.setdefault("_offered_lookups", {})  # once per request
        if self not in offered:
            offered[self] = self.offered_lookups(request)
        return lookup in offered[self]

    def offered_lookups(self, request) -> set[str]:
        """The URL parameters this list's filters and date hierarchy read."""
        offered = set()
        for item in self.get_list_filter(request):
            offered.update(self._filter_parameters(request, item))
        if self.date_hierarchy:
            offered.update(f"{self.date_hierarchy}__{part}" for part in ("year", "month", "day"))
        return offered

    def _filter_parameters(self, request, item) -> list[str]:
        if isinstance(item, type) and issubclass(item, admin.SimpleListFilter):
            return [item.parameter_name]  # without running its lookups()
        if isinstance(item, type):
            return item(request, {}, self.model, self).expected_parameters()
        path, filter_class = (
            item if isinstance(item, list | tuple) else (item, admin.FieldListFilter.create)
        )
        field = get_fields_from_path(self.model, path)[-1]
        spec = filter_class(field, request, {}, self.model, self, field_path=path)
        return spec.expected_parameters()  # e.g. site__id__exact, site__isnull


class SiteScopedAdmin(OfferedFiltersOnly, SimpleHistoryAdmin):
    """Scopes every view to the user's sites through ``site_path`` (the lookup to the site).

    History pages show who changed what, when and why; reverting from history is disabled
    because clinical records change only through their services. Records that keep no
    simple-history records (transitions, never changed; reminders and digests, changed by the
    dispatcher only) get Django's own history page, the admin's log of its changes.
    """

    site_path = "site"

    def get_queryset(self, request):
        return roles.scope_to_sites(super().get_queryset(request), request.user, self.site_path)

    def _get_obj_does_not_exist_redirect(self, request, opts, object_id):
        # Another site's record is not "gone": it does not exist for this user.
        raise Http404(f"No {opts.verbose_name} with id {object_id} at your sites.")

    def in_scope_or_404(self, request, object_id):
        obj = self.get_object(request, object_id)
        if obj is None:
            raise Http404(f"No {self.model._meta.verbose_name} with id {object_id} at your sites.")
        return obj

    def history_view(self, request, object_id, extra_context=None):
        self.in_scope_or_404(request, object_id)
        if not self.keeps_simple_history:
            return admin.ModelAdmin.history_view(self, request, object_id, extra_context)
        return super().history_view(request, object_id, extra_context)

    @property
    def keeps_simple_history(self) -> bool:
        return hasattr(self.opts, "simple_history_manager_attribute")

    @property
    def object_history_template(self):
        # None: Django's admin/object_history.html, the log of changes made in the admin.
        return SimpleHistoryAdmin.object_history_template if self.keeps_simple_history else None

    def set_history_delta_changes(self, request, historical_records, foreign_keys_are_objs=True):
        """Each record's changes against the one before, fields not editable in a form too:
        the default diff skips those, and they (a participant's status and exit date, a
        visit's cancellation) are the ones services change."""
        previous = None
        for current in historical_records:
            if previous is not None:
                delta = previous.diff_against(current, foreign_keys_are_objs=foreign_keys_are_objs)
                delta.changes.extend(
                    ModelChange(field.name, getattr(current, field.attname), value)
                    for field in current.tracked_fields
                    if not field.editable
                    and (value := getattr(previous, field.attname))
                    != getattr(current, field.attname)
                )
                hidden = self.history_hidden_fields(request)
                delta.changes[:] = [c for c in delta.changes if c.field not in hidden]
                delta.changes.sort(key=lambda change: change.field)
                helper = self.get_historical_record_context_helper(request, previous)
                previous.history_delta_changes = helper.context_for_delta_changes(delta)
            previous = current

    def history_hidden_fields(self, request) -> set[str]:
        """Fields whose old and new values this user does not see in the history."""
        return set()

    def get_historical_record_context_helper(self, request, historical_record):
        return ChoiceLabelContextHelper(self.model, historical_record)

    # Its versions listed without a link to each: a past version is not reverted here, and
    # would show fields this reader may not see.
    object_history_list_template = "admin/participants/history_list.html"

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        raise Http404("Records are not reverted from their history; change them on their page.")

    def revert_disabled(self, request, obj=None):
        return True

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.related_model is Site:
            kwargs["queryset"] = roles.user_sites(request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class ReasonForChangeForm(forms.ModelForm):
    """A model form that asks why, whenever an existing record changes; the reason goes into
    its history (simple-history's change reason)."""

    change_reason = forms.CharField(
        label="Reason for change",
        required=False,
        widget=forms.TextInput(attrs={"size": 60}),
        help_text="Required when you change a saved record; kept in its history.",
    )

    def clean(self):
        cleaned = super().clean()
        changed = [name for name in self.changed_data if name != "change_reason"]
        if self.instance.pk and changed and not (cleaned.get("change_reason") or "").strip():
            self.add_error(
                "change_reason",
                "Say why you change " + ", ".join(self.fields[n].label or n for n in changed) + ".",
            )
        return cleaned


class ReasonForChangeAdmin:
    """Saves the form's reason as the history's change reason."""

    def save_model(self, request, obj, form, change):
        reason = (form.cleaned_data.get("change_reason") or "").strip()
        if change and reason:
            obj._change_reason = reason
        super().save_model(request, obj, form, change)


# The site page: its details and its clinic calendar (open days, public holidays, capacity per
# resource; closures have their own page, listed here).

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
        label="Open days", help_text="The weekdays the clinic sees participants."
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
        ]

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
            ("Reminders", {"fields": ["language"]}),
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

    @admin.display(description="open days")
    def open_days_shown(self, obj):
        return obj.open_days_label

    @admin.display(description="public holidays of")
    def holidays_shown(self, obj):
        return obj.holidays_label or "none"

    @admin.display(description="public holidays")
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

    @admin.display(description="closures from today")
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

    def save_formset(self, request, form, formset, change):
        """Capacity rows keep who changed them and why (the site's reason for change)."""
        reason = (form.cleaned_data.get("change_reason") or "").strip() or "Capacity changed"
        for instance in formset.save(commit=False):
            instance._change_reason = reason
            instance._history_user = request.user
            instance.save()
        for instance in formset.deleted_objects:
            instance._change_reason = reason
            instance._history_user = request.user
            instance.delete()
        formset.save_m2m()

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        if not change:
            return
        changed = set(form.changed_data)
        why = (form.cleaned_data.get("change_reason") or "").strip()
        if changed & CALENDAR_FIELDS or any(formset.has_changed() for formset in formsets):
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


class SiteClosureForm(ReasonForChangeForm):
    end = forms.DateField(
        label="To (inclusive)",
        required=False,
        widget=AdminDateWidget,
        help_text="Blank: the one day.",
    )

    class Meta:
        model = SiteClosure
        fields = ["site", "start", "end", "reason"]

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("start") and not cleaned.get("end") and "end" not in self.errors:
            cleaned["end"] = cleaned["start"]
        return cleaned

    def _post_clean(self):
        super()._post_clean()
        if not self.errors:
            # The service's own checks (a reason, not too far ahead), as field errors.
            try:
                validate_closure(self.instance)
            except ValidationError as error:
                self._update_errors(error)


@admin.register(SiteClosure)
class SiteClosureAdmin(SiteScopedAdmin):
    """Days a site is closed besides its weekly closed days and holidays. Coordinators,
    investigators and site managers of the site add, change and delete them; monitors read.
    Every save goes through the closure services, which place the site's appointments again:
    proposals move off the closed days, bookings on them are flagged to rebook."""

    form = SiteClosureForm
    list_display = ["site", "start", "end", "reason"]
    list_filter = [("site", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["site"]
    search_fields = ["reason"]
    date_hierarchy = "start"

    def get_fields(self, request, obj=None):
        fields = ["site", "start", "end", "reason"]
        if obj is not None and self.has_change_permission(request, obj):
            fields.append("change_reason")
        return fields

    def get_readonly_fields(self, request, obj=None):
        return ["site"] if obj is not None else []

    def save_model(self, request, obj, form, change):
        if change:
            change_closure(
                obj,
                start=obj.start,
                end=obj.end,
                reason=obj.reason,
                why=form.cleaned_data.get("change_reason") or "",
                by=request.user,
            )
            return
        created = add_closure(
            obj.site, start=obj.start, end=obj.end, reason=obj.reason, by=request.user
        )
        obj.pk = created.pk
        obj._state.adding = False

    def delete_model(self, request, obj):
        remove_closure(obj, by=request.user)

    def delete_queryset(self, request, queryset):
        for closure in queryset.select_related("site"):
            remove_closure(closure, by=request.user)


class ResourceForm(ReasonForChangeForm):
    class Meta:
        model = Resource
        fields = ["name", "plural"]


@admin.register(Resource)
class ResourceAdmin(ReasonForChangeAdmin, OfferedFiltersOnly, SimpleHistoryAdmin):
    """What visits occupy at a clinic (an infusion chair); visit definitions name one and
    sites set how many they have per day. Superusers and site managers add them; a change
    asks why."""

    form = ResourceForm
    list_display = ["name", "plural"]
    search_fields = ["name"]

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        if request.method != "GET":
            raise PermissionDenied  # a past version is read, never saved back
        return super().history_form_view(request, object_id, version_id, extra_context)

    def revert_disabled(self, request, obj=None):
        return True


@admin.register(Transition)
class TransitionAdmin(SiteScopedAdmin):
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
        "recorded_at",
    ]
    list_filter = ["to_status", ("participant__site", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["participant__subject_id"]
    list_select_related = ["participant", "recorded_by"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class SiteMembershipForm(ReasonForChangeForm):
    class Meta:
        model = SiteMembership
        fields = ["user", "site"]


@admin.register(SiteMembership)
class SiteMembershipAdmin(ReasonForChangeAdmin, SiteScopedAdmin):
    """Who works at which site (and so sees its participants); a change asks why."""

    form = SiteMembershipForm
    list_display = ["user", "site"]
    list_filter = [("site", admin.RelatedOnlyFieldListFilter)]
    autocomplete_fields = ["user"]


class EligibilityCriterionInline(admin.TabularInline):
    model = EligibilityCriterion
    extra = 0


@admin.register(EligibilityAnswer)
class EligibilityAnswerAdmin(SiteScopedAdmin):
    """Answers are given on the participant page; here they are listed with their history."""

    site_path = "participant__site"
    list_display = ["participant", "criterion", "answer", "answered_by", "answered_at"]
    list_filter = ["answer", "criterion__kind"]
    search_fields = ["participant__subject_id"]
    list_select_related = ["participant", "criterion", "answered_by"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
