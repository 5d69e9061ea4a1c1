"""Eligibility on the participant page: the checklist's answers, and the investigator's
confirmation that enrols the participant."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.urls import path
from django.utils.translation import gettext

from participants import eligibility
from participants.admin import report_errors
from participants.dates import parse_iso_date
from participants.lifecycle import confirm_eligibility


class EligibilityPages:
    """Mixed into the participant admin: the checklist and the confirmation post here."""

    def eligibility_urls(self):
        def view(function):
            return self.admin_site.admin_view(function)

        return [
            path(
                "<path:object_id>/eligibility/",
                view(self.eligibility_view),
                name="participant_eligibility",
            ),
            path(
                "<path:object_id>/eligibility/confirm/",
                view(self.confirm_eligibility_view),
                name="participant_confirm_eligibility",
            ),
        ]

    def eligibility_view(self, request, object_id):
        participant = self._writable(request, object_id)
        answers = {}
        for key, value in request.POST.items():
            if key.startswith("criterion-") and value:
                try:
                    answers[int(key.removeprefix("criterion-"))] = value
                except ValueError:
                    continue
        try:
            changed = eligibility.answer_criteria(
                participant, answers, by=request.user, note=request.POST.get("note", "").strip()
            )
        except ValidationError as error:
            report_errors(request, error)
        else:
            messages.success(request, gettext("%(count)s answer(s) saved.") % {"count": changed})
        return self._back(participant, "eligibility")

    def confirm_eligibility_view(self, request, object_id):
        participant = self._writable(request, object_id)
        try:
            on = parse_iso_date(request.POST.get("on", ""))
        except ValueError:
            on = participant.site.today()
        try:
            confirm_eligibility(participant, on=on, by=request.user)
        except ValidationError as error:
            report_errors(request, error)
        else:
            messages.success(
                request,
                gettext("Eligibility confirmed: %(participant)s is enrolled.")
                % {"participant": participant},
            )
        return self._back(participant, "eligibility")
