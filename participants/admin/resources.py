"""Resources: what visits occupy at a clinic (an infusion chair), shared by every site."""

from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from participants.admin.bases import (
    OfferedFiltersOnly,
    PastVersionsForReading,
    ReasonForChangeAdmin,
    ReasonForChangeForm,
)
from participants.models import Resource


class ResourceForm(ReasonForChangeForm):
    class Meta:
        model = Resource
        fields = ["name", "plural"]


@admin.register(Resource)
class ResourceAdmin(
    ReasonForChangeAdmin, OfferedFiltersOnly, PastVersionsForReading, SimpleHistoryAdmin
):
    """What visits occupy at a clinic (an infusion chair); visit definitions name one and
    sites set how many they have per day. Shared by every site, so kept with the plan by
    superusers (a site manager reads them and sets their site's capacity); a change asks why."""

    form = ResourceForm
    list_display = ["name", "plural"]
    search_fields = ["name"]
