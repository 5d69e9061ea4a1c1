"""A site's closures: days it is closed besides its weekly closed days and holidays, each
added, changed and removed through the closure services."""

from django import forms
from django.contrib import admin
from django.contrib.admin.widgets import AdminDateWidget
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from participants.admin.bases import ReasonForChangeForm, SiteScopedAdmin
from participants.models import SiteClosure
from participants.sites import add_closure, change_closure, remove_closure, validate_closure


class SiteClosureForm(ReasonForChangeForm):
    end = forms.DateField(
        label=_("To (inclusive)"),
        required=False,
        widget=AdminDateWidget,
        help_text=_("Blank: the one day."),
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
