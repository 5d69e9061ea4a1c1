"""The protocol: its own fields and eligibility criteria, its coordinators' digest rule(s),
and its versions (each with its activations at the reader's sites). A plan is changed through
a version (``protocol_versions``): a draft copied from the latest, edited, then released.
Phases and visit definitions are listed for reading."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

from participants import roles
from participants.admin import (
    EligibilityCriterionInline,
    OfferedFiltersOnly,
    PastVersionsForReading,
    ReadOnlyAdmin,
    ReasonForChangeAdmin,
    ReasonForChangeForm,
)
from participants.models import Protocol
from scheduling.admin.mixins import PlanPartAdmin
from scheduling.models import Phase, ReminderRule, VisitDefinition
from scheduling.workspace import version_pages


class DigestRuleInline(ReadOnlyAdmin, admin.TabularInline):
    """The coordinators' digest: the site's, one per protocol whatever the versions in force
    (no version). Shown here; a participant reminder belongs to a version."""

    model = ReminderRule
    fields = ["audience", "local_time", "active"]
    readonly_fields = fields
    extra = 0
    verbose_name = _("coordinator digest rule")
    verbose_name_plural = _("coordinator digest rules")

    def get_queryset(self, request):
        return super().get_queryset(request).filter(version__isnull=True)


class ProtocolForm(ReasonForChangeForm):
    class Meta:
        model = Protocol
        fields = [
            "code",
            "title",
            "registry_id",
            "sponsor",
            "trial_phase",
            "subject_id_pattern",
            "earliest_date",
        ]


@admin.register(Protocol)
class ProtocolAdmin(
    ReasonForChangeAdmin, OfferedFiltersOnly, PastVersionsForReading, SimpleHistoryAdmin
):
    """The protocol's own fields and eligibility criteria (a change asks why), its digest
    rule and its versions, listed with links; the plan itself is a version's."""

    form = ProtocolForm
    list_display = ["code", "title", "registry_id", "sponsor", "trial_phase"]
    inlines = [EligibilityCriterionInline, DigestRuleInline]
    change_form_template = "admin/scheduling/protocol/change_form.html"

    class Media:
        css = {"all": ["scheduling/workspace.css", "scheduling/phone.css"]}

    def change_view(self, request, object_id, form_url="", extra_context=None):
        protocol = self.get_object(request, object_id)
        context = {}
        if protocol is not None:
            site_ids = None if roles.sees_all_sites(request.user) else roles.site_ids(request.user)
            rows = version_pages.version_rows(protocol, site_ids)
            context = {
                "version_rows": rows,
                "may_draft": request.user.has_perm("scheduling.add_protocolversion"),
                "has_draft": any(not row.version.is_released for row in rows),
            }
        context.update(extra_context or {})
        return super().change_view(request, object_id, form_url, context)


@admin.register(Phase)
class PhaseAdmin(PlanPartAdmin):
    list_display = [
        "protocol",
        "version",
        "order",
        "code",
        "name",
        "length",
        "unit",
        "is_day_one",
        "started_by",
    ]
    list_filter = ["protocol", "version"]
    list_select_related = ["protocol", "version"]


@admin.register(VisitDefinition)
class VisitDefinitionAdmin(PlanPartAdmin):
    list_display = [
        "protocol",
        "version",
        "code",
        "name",
        "phase",
        "offset",
        "unit",
        "window_before",
        "window_after",
        "resource",
    ]
    list_filter = ["protocol", "version", "resource"]
    list_select_related = ["protocol", "version", "phase", "resource"]
