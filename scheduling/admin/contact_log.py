"""The contact log on the participant page: each attempt to reach the participant, newest
first, a form to add one, and the suggestion to record lost to follow-up after
``UNANSWERED_STREAK`` attempts in a row that did not reach them (a suggestion only: the
transition is the staff's to record).

Thin: the form is parsed here (its "when" read in the site's time zone) and
``participants.contact_log.record_contact_attempt`` adds the attempt.
"""

from __future__ import annotations

from dataclasses import dataclass

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from participants.admin import report_errors
from participants.admin.widgets import IsoDateTimeInput
from participants.contact_log import UNANSWERED_STREAK, record_contact_attempt, unanswered_streak
from participants.lifecycle import allowed_targets
from participants.local_times import site_time
from participants.models import ContactAttempt, Participant, Status

ADD_PERMISSION = "participants.add_contactattempt"
LOCAL_MINUTE = "%Y-%m-%d %H:%M"


class ContactAttemptForm(forms.Form):
    channel = forms.ChoiceField(choices=ContactAttempt.Channel.choices)
    outcome = forms.ChoiceField(choices=ContactAttempt.Outcome.choices)
    note = forms.CharField(
        required=False, max_length=2000, widget=forms.TextInput(attrs={"size": 40})
    )
    at = forms.DateTimeField(
        label=_("When"),
        required=False,
        input_formats=[LOCAL_MINUTE, "%Y-%m-%dT%H:%M"],
        widget=IsoDateTimeInput(),
        help_text=_("Local time at the site; blank: now."),
    )

    def __init__(self, *args, site, now=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.site = site
        # Shown as the site's wall clock, so the coordinator reads the time they know.
        self.fields["at"].initial = (
            (now or timezone.now()).astimezone(site.zone).strftime(LOCAL_MINUTE)
        )

    def full_clean(self):
        # "When" is typed in the site's time: read it there (a time that does not exist or
        # happens twice on a daylight-saving change is refused by the field).
        with timezone.override(self.site.zone):
            super().full_clean()


@dataclass
class ContactLog:
    attempts: list[ContactAttempt]
    unanswered: int  # the latest attempts in a row that did not reach the participant
    suggest_lost_to_follow_up: bool


def contact_log(participant: Participant) -> ContactLog:
    """The participant's contact attempts, newest first, with who recorded each (one query),
    and whether to suggest recording lost to follow-up."""
    attempts = list(
        ContactAttempt.objects.filter(participant=participant)
        .select_related("recorded_by")
        .order_by("-at", "-id")
    )
    unanswered = unanswered_streak(attempts)
    return ContactLog(
        attempts,
        unanswered,
        unanswered >= UNANSWERED_STREAK
        and Status.LOST_TO_FOLLOW_UP in allowed_targets(participant),
    )


class ContactLogPages:
    """Mixed into the participant admin: the contact log's form posts here."""

    def contact_log_urls(self):
        return [
            path(
                "<path:object_id>/contact/",
                self.admin_site.admin_view(self.contact_attempt_view),
                name="participant_contact_attempt",
            )
        ]

    def may_log_contact(self, request, participant) -> bool:
        return self.has_change_permission(request, participant) and request.user.has_perm(
            ADD_PERMISSION
        )

    def contact_log_form(self, request, participant) -> ContactAttemptForm | None:
        if not self.may_log_contact(request, participant):
            return None
        return ContactAttemptForm(site=participant.site, auto_id="id_contact_%s")

    def contact_attempt_view(self, request, object_id):
        participant = self.in_scope_or_404(request, object_id)
        if request.method != "POST" or not self.may_log_contact(request, participant):
            raise PermissionDenied
        form = ContactAttemptForm(request.POST, site=participant.site)
        if not form.is_valid():
            report_errors(request, form)
            return self._back(participant, "contact-log")
        data = form.cleaned_data
        try:
            attempt = record_contact_attempt(
                participant,
                channel=data["channel"],
                outcome=data["outcome"],
                note=data["note"],
                at=data["at"],
                by=request.user,
            )
        except ValidationError as error:
            report_errors(request, error)
        else:
            messages.success(
                request,
                gettext("Contact attempt recorded: %(channel)s, %(outcome)s, %(when)s.")
                % {
                    "channel": attempt.get_channel_display(),
                    "outcome": attempt.get_outcome_display().lower(),
                    "when": site_time(attempt.at, participant.site),
                },
            )
        return self._back(participant, "contact-log")
