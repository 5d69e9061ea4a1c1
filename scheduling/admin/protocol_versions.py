"""Protocol versions: a draft's plan edited inline (phases, visit definitions, participant
reminder rules), a released version read only; a new draft, its release, the difference
between two versions, and a version's activation at a site, previewed then confirmed.

Every write is a call to ``scheduling.timeline.versions``; a refusal comes back on the form,
on the field it names. A draft is followed by no one, so editing it never touches a
participant's schedule; a released version is never edited again, whatever is posted.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.forms.models import BaseInlineFormSet
from django.http import Http404, HttpResponseNotAllowed, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

from participants import roles
from participants.admin import (
    OfferedFiltersOnly,
    PastVersionsForReading,
    ReasonForChangeAdmin,
    ReasonForChangeForm,
    errors_onto_form,
)
from participants.admin.translations import translations_formfield
from participants.admin.widgets import IsoDateInput
from participants.models import Protocol, Site
from scheduling.models import Audience, Phase, ProtocolVersion, ReminderRule, VisitDefinition
from scheduling.timeline import versions
from scheduling.workspace import version_pages

ACTIVATE = "scheduling.add_versionactivation"


class VersionRowsFormSet(BaseInlineFormSet):
    """A draft's plan rows: each belongs to the draft's protocol too."""

    def _construct_form(self, i, **kwargs):
        form = super()._construct_form(i, **kwargs)
        form.instance.protocol_id = self.instance.protocol_id
        return form


class DraftOnlyInline(admin.TabularInline):
    """A row of a version's plan: added, changed and deleted on a draft only."""

    fk_name = "version"
    formset = VersionRowsFormSet
    extra = 0

    def _editable(self, request, obj) -> bool:
        return (
            obj is not None
            and not obj.is_released
            and request.user.has_perm("scheduling.change_protocolversion")
        )

    def has_add_permission(self, request, obj=None):
        return self._editable(request, obj)

    def has_change_permission(self, request, obj=None):
        return self._editable(request, obj)

    def has_delete_permission(self, request, obj=None):
        return self._editable(request, obj)

    def has_view_permission(self, request, obj=None):
        return request.user.has_perm("scheduling.view_protocolversion")


class PhaseInline(DraftOnlyInline):
    model = Phase
    fields = ["order", "code", "name", "length", "unit", "is_day_one", "started_by"]


class VisitDefinitionInline(DraftOnlyInline):
    model = VisitDefinition
    fields = [
        "phase",
        "order",
        "code",
        "name",
        "name_translations",  # the name participants reading another language see
        "offset",
        "unit",
        "window_before",
        "window_after",
        "resource",  # counted against each site's capacity per day
    ]

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        if db_field.name == "name_translations":
            # A short heading: the plan's table fits 1280 px.
            return translations_formfield(db_field, label=_("Translations"))
        field = super().formfield_for_dbfield(db_field, request, **kwargs)
        if db_field.name == "resource" and field is not None:
            # A resource is picked (or added) from the row; it is edited on its own page.
            field.widget.can_change_related = False
            field.widget.can_delete_related = False
        return field

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "phase":
            # The version's own phases only: a visit never belongs to another version's.
            version_id = request.resolver_match.kwargs.get("object_id")
            kwargs["queryset"] = Phase.objects.filter(version_id=version_id).order_by("order")
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class ReminderRuleInline(DraftOnlyInline):
    """The participant reminders of the version (the coordinators' digest is the protocol's,
    on its page)."""

    model = ReminderRule
    fields = ["audience", "lead_days", "local_time", "active"]
    verbose_name = _("participant reminder rule")
    verbose_name_plural = _("participant reminder rules")

    def formfield_for_choice_field(self, db_field, request, **kwargs):
        if db_field.name == "audience":
            kwargs["choices"] = [(Audience.PARTICIPANT.value, Audience.PARTICIPANT.label)]
        return super().formfield_for_choice_field(db_field, request, **kwargs)


class ProtocolVersionForm(ReasonForChangeForm):
    class Meta:
        model = ProtocolVersion
        fields = ["number", "approved_on", "note", "needs_reconsent"]
        widgets = {"approved_on": IsoDateInput()}


class ReleaseForm(forms.Form):
    approved_on = forms.DateField(
        label=_("Approved on"),
        widget=IsoDateInput(),
        help_text=_("The day the ethics committee approved this version."),
    )


class ActivationForm(forms.Form):
    site = forms.ModelChoiceField(label=_("Site"), queryset=Site.objects.none())
    on = forms.DateField(label=_("Active from"), widget=IsoDateInput())
    reason = forms.CharField(
        label=_("Reason"),
        widget=forms.TextInput(attrs={"size": 50}),
        help_text=_("The site's approval, say: kept with the activation."),
    )

    def __init__(self, *args, sites, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["site"].queryset = sites


def preview_key(*parts) -> str:
    """What a preview showed: a confirmation applies only what was previewed."""
    return "|".join(str(part) for part in parts)


@admin.register(ProtocolVersion)
class ProtocolVersionAdmin(
    ReasonForChangeAdmin, OfferedFiltersOnly, PastVersionsForReading, SimpleHistoryAdmin
):
    """A version of a protocol's plan. A draft is edited here, inline; a released one is
    read (its page has no input, and a post to it is refused)."""

    form = ProtocolVersionForm
    list_display = ["protocol", "number", "state", "approved_on", "released_at"]
    list_filter = ["protocol"]
    list_select_related = ["protocol"]
    inlines = [PhaseInline, VisitDefinitionInline, ReminderRuleInline]
    change_form_template = "admin/scheduling/protocolversion/change_form.html"

    class Media:
        css = {"all": ["scheduling/workspace.css", "scheduling/phone.css"]}

    @admin.display(description=_("state"))
    def state(self, obj):
        return gettext("released") if obj.is_released else gettext("draft")

    def has_add_permission(self, request):
        return False  # a version starts as a draft copied from the latest ("New draft")

    def has_delete_permission(self, request, obj=None):
        return False  # a version's history is kept; a draft is edited, then released

    def has_change_permission(self, request, obj=None):
        if obj is not None and obj.is_released:
            return False  # never edited again: a change is a new draft
        return super().has_change_permission(request, obj)

    def get_readonly_fields(self, request, obj=None):
        if obj is not None and obj.is_released:
            return ["protocol", "number", "approved_on", "note", "needs_reconsent"]
        return ["protocol"]

    def get_fields(self, request, obj=None):
        fields = ["protocol", "number", "approved_on", "note", "needs_reconsent"]
        if obj is not None and obj.is_released:
            return [*fields, "released_at", "released_by"]
        return [*fields, "change_reason"]

    def get_inline_instances(self, request, obj=None):
        return [] if obj is None else super().get_inline_instances(request, obj)

    def rows_reason(self, request, form) -> str:
        return self.reason_for_change(form) or "Draft edited"

    def save_model(self, request, obj, form, change):
        versions.refuse_if_released(ProtocolVersion.objects.get(pk=obj.pk))
        super().save_model(request, obj, form, change)

    def save_rows(self, request, form, rows, deleted) -> bool:
        versions.refuse_if_released(ProtocolVersion.objects.get(pk=form.instance.pk))
        return super().save_rows(request, form, rows, deleted)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        version = self.get_object(request, object_id)
        context = {}
        if version is not None:
            context = {
                "version": version,
                "activations": version_pages.version_rows(
                    version.protocol, self._site_ids(request)
                ),
                "previous": version_pages.previous_version(version),
                "may_release": not version.is_released
                and request.user.has_perm("scheduling.change_protocolversion"),
                "may_activate": version.is_released and self._activation_sites(request).exists(),
            }
            context["activations"] = next(
                (row.activations for row in context["activations"] if row.version.pk == version.pk),
                [],
            )
        context.update(extra_context or {})
        return super().change_view(request, object_id, form_url, context)

    def _site_ids(self, request):
        return None if roles.sees_all_sites(request.user) else roles.site_ids(request.user)

    def _activation_sites(self, request):
        """The sites where the user may put a version in force."""
        if not request.user.has_perm(ACTIVATE):
            return Site.objects.none()
        return roles.user_sites(request.user).order_by("code")

    # The version's own pages.

    def get_urls(self):
        def view(function):
            return self.admin_site.admin_view(function)

        return [
            path(
                "new-draft/<int:protocol_id>/",
                view(self.new_draft_view),
                name="scheduling_protocolversion_new_draft",
            ),
            path(
                "<path:object_id>/release/",
                view(self.release_view),
                name="scheduling_protocolversion_release",
            ),
            path(
                "<path:object_id>/compare/",
                view(self.compare_view),
                name="scheduling_protocolversion_compare",
            ),
            path(
                "<path:object_id>/activate/",
                view(self.activate_view),
                name="scheduling_protocolversion_activate",
            ),
        ] + super().get_urls()

    def _version(self, request, object_id) -> ProtocolVersion:
        version = self.get_object(request, object_id)
        if version is None:
            raise Http404(f"No protocol version with id {object_id}.")
        if not self.has_view_or_change_permission(request, version):
            raise PermissionDenied
        return version

    def _page(self, request, version, template, title, **context):
        return TemplateResponse(
            request,
            f"admin/scheduling/protocolversion/{template}",
            {
                **self.admin_site.each_context(request),
                "opts": self.model._meta,
                "title": title,
                "version": version,
                "version_url": reverse(
                    "admin:scheduling_protocolversion_change", args=[version.pk]
                ),
                **context,
            },
        )

    def _back(self, version):
        return HttpResponseRedirect(
            reverse("admin:scheduling_protocolversion_change", args=[version.pk])
        )

    def new_draft_view(self, request, protocol_id):
        protocol = get_object_or_404(Protocol, pk=protocol_id)
        if request.method != "POST" or not request.user.has_perm("scheduling.add_protocolversion"):
            raise PermissionDenied
        try:
            draft = versions.new_draft(protocol, by=request.user)
        except ValidationError as error:
            for sentence in error.messages:
                messages.error(request, sentence)
            return HttpResponseRedirect(
                reverse("admin:participants_protocol_change", args=[protocol.pk])
            )
        messages.success(
            request,
            gettext("Draft version %(number)s of %(protocol)s, copied from the latest version.")
            % {"number": draft.number, "protocol": protocol.code},
        )
        return self._back(draft)

    def release_view(self, request, object_id):
        version = self._version(request, object_id)
        if not request.user.has_perm("scheduling.change_protocolversion"):
            raise PermissionDenied
        if request.method == "POST":
            form = ReleaseForm(request.POST)
            if form.is_valid():
                try:
                    versions.refuse_if_released(version)
                    version.approved_on = form.cleaned_data["approved_on"]
                    version._history_user = request.user
                    version._change_reason = "Approval date given on release"
                    version.save(update_fields=["approved_on"])
                    versions.release(version, by=request.user)
                except ValidationError as error:
                    errors_onto_form(form, error)
                else:
                    messages.success(
                        request,
                        gettext("Version %(number)s released: it is never edited again.")
                        % {"number": version.number},
                    )
                    return self._back(version)
        else:
            form = ReleaseForm(initial={"approved_on": version.approved_on})
        previous = version_pages.previous_version(version)
        return self._page(
            request,
            version,
            "release.html",
            gettext("Release version %(number)s of %(protocol)s")
            % {"number": version.number, "protocol": version.protocol.code},
            form=form,
            previous=previous,
            changes=version_pages.compare_versions(previous, version) if previous else None,
        )

    def compare_view(self, request, object_id):
        if request.method not in ("GET", "HEAD"):
            return HttpResponseNotAllowed(["GET"])  # a page to read
        version = self._version(request, object_id)
        others = sorted(
            ProtocolVersion.objects.filter(protocol_id=version.protocol_id).exclude(pk=version.pk),
            key=lambda v: v.order_key,
            reverse=True,
        )
        chosen = request.GET.get("with")
        other = next((v for v in others if str(v.pk) == chosen), None)
        if other is None:
            other = version_pages.previous_version(version)
        changes = None
        if other is not None:
            old, new = sorted([other, version], key=lambda v: v.order_key)
            changes = version_pages.compare_versions(old, new)
        else:
            old = new = None
        return self._page(
            request,
            version,
            "compare.html",
            gettext("Version %(number)s of %(protocol)s compared")
            % {"number": version.number, "protocol": version.protocol.code},
            others=others,
            other=other,
            old=old,
            new=new,
            changes=changes,
        )

    def activate_view(self, request, object_id):
        version = self._version(request, object_id)
        sites = self._activation_sites(request)
        if not sites.exists():
            raise PermissionDenied
        preview = None
        if request.method == "POST":
            form = ActivationForm(request.POST, sites=sites)
            if form.is_valid():
                site, on = form.cleaned_data["site"], form.cleaned_data["on"]
                key = preview_key(version.pk, site.pk, on.isoformat(), form.cleaned_data["reason"])
                confirmed = request.POST.get("confirm") == "1" and (
                    request.POST.get("previewed") == key
                )
                try:
                    changes = versions.activate_version(
                        version,
                        site,
                        on=on,
                        by=request.user,
                        reason=form.cleaned_data["reason"],
                        dry_run=not confirmed,
                    )
                except ValidationError as error:
                    errors_onto_form(form, error)
                else:
                    if changes.applied:
                        messages.success(
                            request,
                            gettext(
                                "Version %(number)s is active at %(site)s from %(day)s; "
                                "%(count)s participant schedule(s) changed."
                            )
                            % {
                                "number": version.number,
                                "site": site.code,
                                "day": on.isoformat(),
                                "count": len(changes.participants),
                            },
                        )
                        return self._back(version)
                    preview = {"changes": changes, "key": key}
        else:
            only = list(sites[:2])
            form = ActivationForm(
                sites=sites,
                initial={
                    "site": only[0].pk if len(only) == 1 else None,
                    "on": only[0].today() if len(only) == 1 else None,
                },
            )
        return self._page(
            request,
            version,
            "activate.html",
            gettext("Activate version %(number)s of %(protocol)s at a site")
            % {"number": version.number, "protocol": version.protocol.code},
            form=form,
            preview=preview,
        )
