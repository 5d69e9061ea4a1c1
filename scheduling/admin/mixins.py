"""What the scheduling admins share: errors reported as sentences, and the read-only bases
(records changed through services, plan parts edited on the protocol page)."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from simple_history.admin import SimpleHistoryAdmin

from participants.admin import OfferedFiltersOnly, SiteScopedAdmin


def error_sentences(error: ValidationError) -> list[str]:
    if hasattr(error, "error_dict"):
        return [message for messages_ in error.message_dict.values() for message in messages_]
    return list(error.messages)


def report_errors(request, error: ValidationError) -> None:
    for sentence in error_sentences(error):
        messages.error(request, sentence)


# Visits, reminders and digests: lists scoped to the user's sites, changed only through the
# participant page (services), never edited raw.


class ReadOnlyScopedAdmin(SiteScopedAdmin):
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class PastVersionsForReading:
    """A past version (simple-history's version page) opens for reading and is never saved
    back: that page saves whatever is posted to it for anyone who may view the record, around
    the protocol page's preview, confirmation and schedule rebuild."""

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        if request.method != "GET":
            raise PermissionDenied
        return super().history_form_view(request, object_id, version_id, extra_context)


class PlanPartAdmin(OfferedFiltersOnly, PastVersionsForReading, SimpleHistoryAdmin):
    """Listed for reading; edited inline on the protocol page, where a change to a plan that
    participants follow is previewed and confirmed."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def revert_disabled(self, request, obj=None):
        return True
