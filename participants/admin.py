from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from .models import EligibilityCriterion, Participant, Protocol, Site, Transition


class EligibilityCriterionInline(admin.TabularInline):
    model = EligibilityCriterion
    extra = 0


@admin.register(Protocol)
class ProtocolAdmin(SimpleHistoryAdmin):
    list_display = ["code", "title", "registry_id", "sponsor"]
    inlines = [EligibilityCriterionInline]


@admin.register(Site)
class SiteAdmin(SimpleHistoryAdmin):
    list_display = ["code", "name", "timezone", "coordinator_email"]


class TransitionInline(admin.TabularInline):
    model = Transition
    fk_name = "participant"
    extra = 0
    can_delete = False
    fields = ["from_status", "to_status", "effective_date", "reason", "recorded_by", "recorded_at"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Participant)
class ParticipantAdmin(SimpleHistoryAdmin):
    list_display = ["subject_id", "site", "status", "consent_date", "reminders_enabled"]
    list_filter = ["site", "status", "protocol"]
    search_fields = ["subject_id"]
    readonly_fields = ["status", "left_on"]
    inlines = [TransitionInline]
