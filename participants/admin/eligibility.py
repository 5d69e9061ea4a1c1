"""Eligibility: the criteria (edited inline on the protocol page) and the answers, listed
with their history (they are given on the participant page)."""

from django.contrib import admin

from participants.admin.bases import ReadOnlyScopedAdmin, site_time_column
from participants.models import EligibilityAnswer, EligibilityCriterion


class EligibilityCriterionInline(admin.TabularInline):
    model = EligibilityCriterion
    extra = 0


@admin.register(EligibilityAnswer)
class EligibilityAnswerAdmin(ReadOnlyScopedAdmin):
    """Answers are given on the participant page; here they are listed with their history."""

    site_path = "participant__site"
    list_display = ["participant", "criterion", "answer", "answered_by", "answered"]
    list_filter = ["answer", "criterion__kind"]
    search_fields = ["participant__subject_id"]
    list_select_related = ["participant__site", "criterion", "answered_by"]
    answered = site_time_column("answered_at", "answered (site time)")
