"""Staff at sites: who works at which site (and so sees its participants)."""

from django.contrib import admin

from participants.admin.bases import ReasonForChangeAdmin, ReasonForChangeForm, SiteScopedAdmin
from participants.models import SiteMembership


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
