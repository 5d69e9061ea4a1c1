"""Eligibility: the criteria (edited inline on the protocol page) and the answers, listed
with their history (they are given on the participant page)."""

from django.contrib import admin

from participants.admin.bases import ReadOnlyScopedAdmin
from participants.models import EligibilityAnswer, EligibilityCriterion


class EligibilityCriterionInline(admin.TabularInline):
    model = EligibilityCriterion
    extra = 0


@admin.register(EligibilityAnswer)
class EligibilityAnswerAdmin(ReadOnlyScopedAdmin):
    """Answers are given on the participant page; here they are listed with their history."""

    site_path = "participant__site"
    list_display = ["participant", "criterion", "answer", "answered_by", "answered_at"]
    list_filter = ["answer", "criterion__kind"]
    search_fields = ["participant__subject_id"]
    list_select_related = ["participant", "criterion", "answered_by"]
