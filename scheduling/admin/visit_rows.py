"""The participant page's visit rows: each visit's form (done on, booked time) and its
answer given another way than a reminder link (confirmed, another date), and the form that
adds an unscheduled visit."""

import datetime

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404
from django.urls import path
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from participants.admin import report_errors
from participants.admin.widgets import ClockInput, IsoDateInput
from participants.models import Participant
from scheduling.models import Confirmation, Visit, VisitStatus
from scheduling.replies.answers import MESSAGE_MAX_LENGTH, set_confirmation
from scheduling.timeline.visits import add_unscheduled_visit, book_visit_time, record_actual_date


class VisitForm(forms.Form):
    actual_date = forms.DateField(required=False, widget=IsoDateInput(), label=_("Done on"))
    booked_time = forms.TimeField(required=False, widget=ClockInput())
    reason = forms.CharField(required=False, label=_("Reason (corrections)"))


class ConfirmationForm(forms.Form):
    """A participant's answer given another way than a reminder link (they phoned)."""

    state = forms.ChoiceField(
        label=_("Answer"),
        choices=[
            (Confirmation.CONFIRMED, "Confirmed: will come"),
            (Confirmation.RESCHEDULE_REQUESTED, "Another date requested"),
            (Confirmation.UNCONFIRMED, "Back to unconfirmed"),
        ],
    )
    message = forms.CharField(
        label=_("What they said"),
        required=False,
        max_length=MESSAGE_MAX_LENGTH,
        widget=forms.TextInput(attrs={"size": 28, "placeholder": "what they said"}),
    )
    note = forms.CharField(
        label=_("Note"),
        required=False,
        max_length=500,
        widget=forms.TextInput(attrs={"size": 28, "placeholder": "note (kept in the history)"}),
    )


CONFIRMATION_SENTENCES = {
    Confirmation.CONFIRMED: _("%(code)s: confirmed (by staff)."),
    Confirmation.RESCHEDULE_REQUESTED: _("%(code)s: another date requested (by staff)."),
    Confirmation.UNCONFIRMED: _("%(code)s: back to unconfirmed."),
}


class UnscheduledVisitForm(forms.Form):
    on = forms.DateField(
        widget=IsoDateInput({"aria-label": "date of the unscheduled visit"}, shortcuts=True),
        label=_("Date"),
    )
    happened = forms.TypedChoiceField(
        choices=[("1", _("Took place")), ("0", _("Booked ahead"))],
        coerce=lambda value: value == "1",
        initial="1",
        label="",
        widget=forms.Select(attrs={"aria-label": "took place or booked ahead"}),
    )
    reason = forms.CharField(widget=forms.TextInput(attrs={"size": 40}))


def visit_rows(participant: Participant, timeline, can_change: bool) -> list:
    """The page's rows: each visit of ``timeline`` with its form (``None``: read only), its
    no-show mark and its answer form set on the visit."""
    rows = []
    for visit in timeline.visits:
        # Chased only while the participant is in the trial, as the dashboard does.
        visit.no_show = participant.is_active and visit.is_no_show(timeline.today)
        # An answer is for a visit still ahead (or a no-show's): not done, not missed.
        visit.confirmation_form = (
            ConfirmationForm(
                initial={
                    "state": Confirmation.CONFIRMED
                    if visit.confirmation == Confirmation.UNCONFIRMED
                    else visit.confirmation
                },
                auto_id=f"id_visit_{visit.pk}_%s",
            )
            if can_change
            and participant.is_active
            and visit.current_status == VisitStatus.SCHEDULED
            else None
        )
        rows.append(
            (
                visit,
                VisitForm(
                    initial={
                        "actual_date": visit.actual_date,
                        "booked_time": visit.booked_time,
                    }
                )
                if can_change and not visit.cancelled
                else None,
            )
        )
    return rows


def unscheduled_form(participant: Participant, today: datetime.date, can_change: bool):
    """The form that adds an unscheduled visit, for a participant in the trial."""
    if can_change and participant.is_active:
        # Its own ids: the transition form beside it has an "on" date too.
        return UnscheduledVisitForm(initial={"on": today}, auto_id="id_unscheduled_%s")
    return None


class VisitRowPages:
    """Mixed into the participant admin: a visit row's forms and the unscheduled visit's
    post here."""

    def visit_row_urls(self):
        def view(function):
            return self.admin_site.admin_view(function)

        return [
            path(
                "<path:object_id>/visit/<int:visit_id>/",
                view(self.visit_view),
                name="participant_visit",
            ),
            path(
                "<path:object_id>/unscheduled/",
                view(self.unscheduled_view),
                name="participant_unscheduled",
            ),
            path(
                "<path:object_id>/visit/<int:visit_id>/confirmation/",
                view(self.confirmation_view),
                name="participant_visit_confirmation",
            ),
        ]

    def visit_view(self, request, object_id, visit_id):
        participant = self._writable(request, object_id)
        visit = get_object_or_404(Visit, pk=visit_id, participant=participant)
        form = VisitForm(request.POST)
        if not form.is_valid():
            report_errors(request, form, about=visit.code)
            return self._back(participant, "visits")
        data = form.cleaned_data
        try:
            if data["actual_date"] and data["actual_date"] != visit.actual_date:
                visit = record_actual_date(
                    visit,
                    on=data["actual_date"],
                    reason=data["reason"],
                    by=request.user,
                )
                flag = (
                    " "
                    + gettext("(a deviation: %(deviation)s)")
                    % {"deviation": visit.get_deviation_display()}
                    if visit.deviation
                    else ""
                )
                messages.success(
                    request,
                    gettext("%(code)s recorded on %(day)s")
                    % {"code": visit.code, "day": visit.actual_date.isoformat()}
                    + flag
                    + ".",
                )
            if data["booked_time"] != visit.booked_time and visit.actual_date is None:
                book_visit_time(visit, data["booked_time"], by=request.user)
                messages.success(
                    request,
                    gettext("%(code)s booked at %(time)s.")
                    % {"code": visit.code, "time": f"{data['booked_time']:%H:%M}"}
                    if data["booked_time"]
                    else gettext("%(code)s: booking cleared.") % {"code": visit.code},
                )
        except ValidationError as error:
            report_errors(request, error)
        return self._back(participant, "visits")

    def confirmation_view(self, request, object_id, visit_id):
        participant = self._writable(request, object_id)
        visit = get_object_or_404(Visit, pk=visit_id, participant=participant)
        form = ConfirmationForm(request.POST)
        if not form.is_valid():
            report_errors(request, form, about=visit.code)
            return self._back(participant, f"visit-{visit.pk}")
        if not participant.is_active:
            messages.error(
                request,
                gettext("%(participant)s has left the trial: no visit to confirm.")
                % {"participant": participant},
            )
            return self._back(participant, f"visit-{visit.pk}")
        state, said, note = (form.cleaned_data[name] for name in ("state", "message", "note"))
        if state == Confirmation.RESCHEDULE_REQUESTED:
            message = said
        else:  # what they said is kept with the note, in the visit's history
            message, note = "", "; ".join(text for text in (said, note) if text)
        unchanged = (visit.confirmation, visit.reschedule_message) == (state, message.strip())
        try:
            visit = set_confirmation(visit, state, by=request.user, message=message, note=note)
        except ValidationError as error:
            report_errors(request, error)
        else:
            if unchanged:
                messages.info(
                    request,
                    gettext("%(code)s is already %(state)s.")
                    % {"code": visit.code, "state": visit.get_confirmation_display().lower()},
                )
            else:
                messages.success(request, CONFIRMATION_SENTENCES[state] % {"code": visit.code})
        return self._back(participant, f"visit-{visit.pk}")

    def unscheduled_view(self, request, object_id):
        participant = self._writable(request, object_id)
        form = UnscheduledVisitForm(request.POST)
        if not form.is_valid():
            report_errors(request, form, about="Unscheduled visit")
            return self._back(participant, "visits")
        try:
            visit = add_unscheduled_visit(
                participant,
                on=form.cleaned_data["on"],
                reason=form.cleaned_data["reason"],
                happened=form.cleaned_data["happened"],
                by=request.user,
            )
        except ValidationError as error:
            report_errors(request, error)
        else:
            messages.success(
                request,
                gettext("Unscheduled visit added on %(day)s.") % {"day": visit.planned_date},
            )
        return self._back(participant, "visits")
