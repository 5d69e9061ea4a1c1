"""The bases every admin of the staff workspace derives from.

- :class:`SiteScopedAdmin`: a record that belongs to a site is seen only at the user's sites
  (list, search, autocomplete, actions, change page, history); another site's record is a 404,
  as if it did not exist. Its history shows who changed what, when and why.
- :class:`OfferedFiltersOnly`: a list filters by URL only as its own filters do.
- :class:`ReasonForChangeForm` and :class:`ReasonForChangeAdmin`: a change to a saved record
  asks why, and the reason goes into its history and its inline rows'.
- :class:`ReadOnlyAdmin` (any admin or inline) and :class:`ReadOnlyScopedAdmin` (scoped to the
  user's sites): records read here, changed only through their services.
- :class:`PastVersionsForReading`: past versions are read, never saved back.
"""

from django import forms
from django.contrib import admin
from django.contrib.admin.utils import get_fields_from_path
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin
from simple_history.models import ModelChange
from simple_history.template_utils import HistoricalRecordContextHelper

from participants import roles
from participants.admin.widgets import SiteSelect
from participants.history import stamp
from participants.local_times import activate_site_zone, local_time, site_time
from participants.models import Site


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


def site_time_column(field: str, description: str):
    """A list column of a :class:`SiteScopedAdmin`: the record's ``field`` instant as its site
    reads it ("2026-12-04 23:25 PST"), whatever zone the list is read in (a monitor's sites keep
    several). The list selects its site with it (``list_select_related``)."""

    @admin.display(description=description, ordering=field)
    def column(self, obj):
        site = self.site_of(obj)
        instant = getattr(obj, field)
        return (site_time(instant, site) if site else local_time(instant)) or "—"

    return column


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

    def get_object(self, request, object_id, from_field=None):
        """The record, if at the user's sites; the rest of the request is read in its site's
        time zone (its times, the "Today" shortcut), whatever other sites the user has."""
        queryset = self.get_queryset(request)
        if self.site_path:
            queryset = queryset.select_related(self.site_path)  # the site in the same query
        field = self.opts.pk if from_field is None else self.opts.get_field(from_field)
        try:
            obj = queryset.get(**{field.name: field.to_python(object_id)})
        except (self.model.DoesNotExist, ValidationError, ValueError):
            return None
        site = self.site_of(obj)
        if site is not None:
            activate_site_zone(site)
        return obj

    def site_of(self, obj) -> Site | None:
        """The site ``obj`` belongs to, through ``site_path``."""
        for name in self.site_path.split("__") if self.site_path else []:
            obj = getattr(obj, name, None)
        return obj if isinstance(obj, Site) else None

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
            kwargs.setdefault("widget", SiteSelect)  # "Today" follows the chosen site
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class ReasonForChangeForm(forms.ModelForm):
    """A model form that asks why, whenever an existing record changes; the reason goes into
    its history (simple-history's change reason)."""

    change_reason = forms.CharField(
        label=_("Reason for change"),
        required=False,
        widget=forms.TextInput(attrs={"size": 60}),
        help_text=_("Required when you change a saved record; kept in its history."),
    )

    def clean(self):
        cleaned = super().clean()
        changed = [name for name in self.changed_data if name != "change_reason"]
        if self.instance.pk and changed and not (cleaned.get("change_reason") or "").strip():
            self.add_error(
                "change_reason",
                gettext("Say why you change %(fields)s.")
                % {"fields": ", ".join(str(self.fields[n].label or n) for n in changed)},
            )
        return cleaned


class ReasonForChangeAdmin:
    """Saves the form's reason as the history's change reason, the record's and its inline
    rows': each row is saved or deleted with who and why (:meth:`save_rows`)."""

    def reason_for_change(self, form) -> str:
        """The reason given on the form (``ReasonForChangeForm.change_reason``), or ""."""
        return (form.cleaned_data.get("change_reason") or "").strip()

    def save_model(self, request, obj, form, change):
        reason = self.reason_for_change(form)
        if change and reason:
            stamp(obj, reason=reason)
        super().save_model(request, obj, form, change)

    def save_formset(self, request, form, formset, change):
        """The formset's new or changed rows and its deleted rows go to :meth:`save_rows`.
        Returns whether a row changed."""
        changed = self.save_rows(request, form, formset.save(commit=False), formset.deleted_objects)
        formset.save_m2m()
        return changed

    def rows_reason(self, request, form) -> str:
        """Why the inline rows changed: the form's reason for change."""
        return self.reason_for_change(form)

    def save_rows(self, request, form, rows, deleted) -> bool:
        """Save ``rows`` and delete ``deleted``, each stamped with the user and
        :meth:`rows_reason` (when there is one). Returns whether a row changed."""
        reason = self.rows_reason(request, form) or None
        for row in rows:
            stamp(row, by=request.user, reason=reason).save()
        for row in deleted:
            stamp(row, by=request.user, reason=reason).delete()
        return bool(rows or deleted)


class ReadOnlyAdmin:
    """Mixed into an admin or an inline: its records are read, never added, changed or
    deleted here (they change through their services, or on another page)."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ReadOnlyScopedAdmin(ReadOnlyAdmin, SiteScopedAdmin):
    """Records of the user's sites listed for reading, with their history; they change only
    through their services (transitions, eligibility answers, visits, reminders, digests)."""


class PastVersionsForReading:
    """A past version (simple-history's version page) opens for reading and is never saved
    back, and no page offers to revert: the version page saves whatever is posted to it for
    anyone who may view the record, around the services and the protocol page's preview,
    confirmation and schedule rebuild. For records not scoped to sites (``SiteScopedAdmin``
    has no version pages)."""

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        if request.method != "GET":
            raise PermissionDenied  # a past version is read, never saved back
        return super().history_form_view(request, object_id, version_id, extra_context)

    def revert_disabled(self, request, obj=None):
        return True
