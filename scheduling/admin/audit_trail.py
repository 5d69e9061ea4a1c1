"""The participant's audit trail (a page of the participant admin) and its CSV: every change
to the participant and their records, in time order, read from
``scheduling.workspace.audit_trail``.

Read-only, for every role that may see the participant and scoped like their page: another
site's participant is a 404, a user without the view permission gets a 403. The CSV goes to
the same readers, as the schedule export does (an action every role of the participant list
has); contact details are hidden from read-only roles in both, as on the participant page.
"""

from django.core.exceptions import PermissionDenied
from django.http import HttpResponse, HttpResponseNotAllowed
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import translation
from django.utils.translation import gettext as _

from scheduling.workspace.audit_trail import audit_trail, write_audit_csv


class AuditTrailPages:
    """Mixed into the participant admin (``SiteScopedAdmin``)."""

    def audit_trail_urls(self):
        return [
            path(
                "<path:object_id>/audit-trail/",
                self.admin_site.admin_view(self.audit_trail_view),
                name="participant_audit_trail",
            ),
            path(
                "<path:object_id>/audit-trail/csv/",
                self.admin_site.admin_view(self.audit_trail_csv_view),
                name="participant_audit_trail_csv",
            ),
        ]

    def _readable_trail(self, request, object_id):
        if request.method not in ("GET", "HEAD"):
            return None, HttpResponseNotAllowed(["GET"])
        participant = self.in_scope_or_404(request, object_id)
        if not self.has_view_or_change_permission(request, participant):
            raise PermissionDenied
        entries = audit_trail(
            participant,
            show_contact_details=self.has_change_permission(request, participant),
        )
        return (participant, entries), None

    def audit_trail_view(self, request, object_id):
        trail, refused = self._readable_trail(request, object_id)
        if refused:
            return refused
        participant, entries = trail
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": _("Audit trail of %(subject_id)s") % {"subject_id": participant.subject_id},
            "participant": participant,
            "site": participant.site,
            "entries": entries,
            "participant_url": reverse(
                "admin:participants_participant_change", args=[participant.pk]
            ),
            "csv_url": reverse("admin:participant_audit_trail_csv", args=[participant.pk]),
        }
        return TemplateResponse(request, "admin/scheduling/participant/audit_trail.html", context)

    def audit_trail_csv_view(self, request, object_id):
        # Exports are written in English whatever the reader's language, as the schedule
        # export is: a file is read by other people and tools than the one who saved it.
        with translation.override("en"):
            return self._audit_trail_csv(request, object_id)

    def _audit_trail_csv(self, request, object_id):
        trail, refused = self._readable_trail(request, object_id)
        if refused:
            return refused
        participant, entries = trail
        response = HttpResponse(content_type="text/csv")
        # Subject ids are letters, digits, "-", "_" and "." (validators): safe in a file name.
        response["Content-Disposition"] = (
            f'attachment; filename="audit-trail-{participant.subject_id}.csv"'
        )
        write_audit_csv(response, participant, entries)
        return response
