"""The protocol: its plan edited inline; a change to a plan participants follow is previewed
and applied only on confirmation, with a reason. Phases and visit definitions are listed
for reading."""

from django.contrib import admin, messages
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

from participants.admin import (
    EligibilityCriterionInline,
    OfferedFiltersOnly,
    PastVersionsForReading,
    ReasonForChangeAdmin,
    ReasonForChangeForm,
)
from participants.admin.translations import translations_formfield
from participants.models import Protocol
from scheduling.admin.mixins import PlanPartAdmin
from scheduling.models import Phase, ReminderRule, VisitDefinition
from scheduling.timeline import protocol_changes


class PhaseInline(admin.TabularInline):
    model = Phase
    extra = 0


class VisitDefinitionInline(admin.TabularInline):
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
    extra = 0

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        if db_field.name == "name_translations":
            # A short heading: the plan's table fits 1280 px.
            return translations_formfield(db_field, label=_("Translations"))
        field = super().formfield_for_dbfield(db_field, request, **kwargs)
        if db_field.name == "resource" and field is not None:
            # A resource is picked (or added) from the row; it is edited on its own page. The
            # plan's table then fits 1280 px.
            field.widget.can_change_related = False
            field.widget.can_delete_related = False
        return field

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "phase":
            protocol_id = request.resolver_match.kwargs.get("object_id")
            kwargs["queryset"] = Phase.objects.filter(protocol_id=protocol_id)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class ReminderRuleInline(admin.TabularInline):
    model = ReminderRule
    extra = 0


class ProtocolForm(ReasonForChangeForm):
    class Meta:
        model = Protocol
        fields = [
            "code",
            "title",
            "registry_id",
            "sponsor",
            "subject_id_pattern",
            "earliest_date",
        ]


@admin.register(Protocol)
class ProtocolAdmin(
    ReasonForChangeAdmin, OfferedFiltersOnly, PastVersionsForReading, SimpleHistoryAdmin
):
    """The protocol and its plan on one page. Any change to a saved protocol, its own fields
    or its plan (phases, visit definitions, reminder rules, criteria), asks why; the reason is
    kept in the history of every record it changes."""

    form = ProtocolForm
    list_display = ["code", "title", "registry_id", "sponsor"]
    inlines = [PhaseInline, VisitDefinitionInline, ReminderRuleInline, EligibilityCriterionInline]
    change_form_template = "admin/scheduling/protocol/change_form.html"

    class Media:
        css = {"all": ["scheduling/workspace.css"]}

    def _create_formsets(self, request, obj, change):
        formsets, inline_instances = super()._create_formsets(request, obj, change)
        if request.method == "POST" and change:
            request._change_reason = (
                request.POST.get("change_reason", "").strip()
                or request.POST.get("plan_change_reason", "").strip()
            )
            changed = [f for f in formsets if f.is_valid() and f.has_changed()]
            if changed and not request._change_reason:
                changed[0].non_form_errors().append(
                    "Say why you change the plan: give a reason for change (kept in the history)."
                )
            self._check_plan_change(request, obj, formsets)
        return formsets, inline_instances

    def _check_plan_change(self, request, protocol, formsets):
        """Stop a save that would move participants' future visits until it is confirmed
        with a reason: the phases formset gets an error, the page shows the moves."""
        by_prefix = {formset.prefix: formset for formset in formsets}
        plan = [by_prefix[p] for p in protocol_changes.PLAN_PREFIXES if p in by_prefix]
        if not all(f.is_valid() for f in plan) or not any(f.has_changed() for f in plan):
            return
        request._plan_changed = True
        reason = request.POST.get("plan_change_reason", "").strip()
        request._plan_change_reason = reason
        moves = protocol_changes.preview_moves(
            protocol,
            *protocol_changes.submitted_plan(by_prefix["phases"], by_prefix["visit_definitions"]),
        )
        if moves and not (request.POST.get("confirm_plan_change") == "1" and reason):
            request._schedule_preview = moves
            by_prefix["phases"].non_form_errors().append(
                f"This change moves {len(moves)} future visit(s) of participants who follow "
                "this plan (listed above). Give a reason for the plan change and save again "
                "to apply it."
            )

    def render_change_form(self, request, context, *args, **kwargs):
        context["schedule_preview"] = getattr(request, "_schedule_preview", None)
        context["plan_change_reason"] = getattr(request, "_plan_change_reason", "")
        return super().render_change_form(request, context, *args, **kwargs)

    def _reason(self, request) -> str:
        return (
            getattr(request, "_plan_change_reason", "")
            or getattr(request, "_change_reason", "")
            or "Protocol plan changed"
        )

    def rows_reason(self, request, form) -> str:
        # The plan's rows keep the plan change's reason (ReasonForChangeAdmin saves them).
        return self._reason(request)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        if getattr(request, "_plan_changed", False):
            count = protocol_changes.rebuild_followers(
                form.instance,
                by=request.user,
                reason=self._reason(request),
            )
            messages.info(
                request,
                gettext("Schedules of %(count)s active participant(s) rebuilt.") % {"count": count},
            )


@admin.register(Phase)
class PhaseAdmin(PlanPartAdmin):
    list_display = [
        "protocol",
        "order",
        "code",
        "name",
        "length",
        "unit",
        "is_day_one",
        "started_by",
    ]
    list_filter = ["protocol"]


@admin.register(VisitDefinition)
class VisitDefinitionAdmin(PlanPartAdmin):
    list_display = [
        "protocol",
        "code",
        "name",
        "phase",
        "offset",
        "unit",
        "window_before",
        "window_after",
        "resource",
    ]
    list_filter = ["protocol", "phase", "resource"]
    list_select_related = ["protocol", "phase", "resource"]
