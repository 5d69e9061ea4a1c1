"""Transitions on the participant page: the form that moves a participant to another status
(confirmed, with a reason, when it closes visits not done), the correction of a transition's
date, and the read-only list of the participant's transitions."""

import datetime

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from participants.admin import ReadOnlyAdmin, report_errors
from participants.admin.widgets import IsoDateInput
from participants.dates import parse_iso_date
from participants.lifecycle import allowed_targets, correct_transition, record_transition
from participants.models import Participant, Status, Transition
from scheduling.models import Visit
from scheduling.rules import engine
from scheduling.timeline.transitions import (
    closing_needs_reason,
    closing_sentence,
    visits_closed_by_transition,
)


class TransitionForm(forms.Form):
    target = forms.ChoiceField(label=_("Move to"))
    on = forms.DateField(
        label=_("Effective date"),
        widget=IsoDateInput(shortcuts=True),
    )
    reason = forms.CharField(required=False, widget=forms.TextInput(attrs={"size": 50}))

    def __init__(self, *args, participant: Participant, today: datetime.date, **kwargs):
        super().__init__(*args, **kwargs)
        # Enrolment is recorded by confirming eligibility (investigators), not here.
        labels = dict(Status.choices)
        self.fields["target"].choices = [
            (value, labels[value])
            for value in allowed_targets(participant)
            if value != Status.ENROLLED
        ]
        self.fields["on"].initial = today


def preview_key(target: str, on: datetime.date) -> str:
    """What a confirmation page showed the closures of: a transition and its date."""
    return f"{target}|{on.isoformat()}"


def needs_reason(closing: list[tuple[Visit, engine.VisitEnd]]) -> bool:
    return any(closing_needs_reason(ending) for _, ending in closing)


def transition_form(request, participant: Participant, today: datetime.date, can_change: bool):
    """The page's transition form (for those who may change the participant), its target
    suggested by the contact log's link (``?target=``)."""
    form = TransitionForm(participant=participant, today=today) if can_change else None
    suggested = request.GET.get("target")
    if form and suggested in dict(form.fields["target"].choices):
        form.fields["target"].initial = suggested  # from the contact log's link
    return form


class TransitionPages:
    """Mixed into the participant admin: the transition form and a correction post here."""

    def transition_urls(self):
        def view(function):
            return self.admin_site.admin_view(function)

        return [
            path(
                "<path:object_id>/transition/",
                view(self.transition_view),
                name="participant_transition",
            ),
            path(
                "<path:object_id>/transition/<int:transition_id>/correct/",
                view(self.correct_transition_view),
                name="participant_correct_transition",
            ),
        ]

    def transition_view(self, request, object_id):
        participant = self._writable(request, object_id)
        form = TransitionForm(request.POST, participant=participant, today=participant.site.today())
        if not form.is_valid():
            report_errors(request, form)
            return self._back(participant, "transition")
        target, on = form.cleaned_data["target"], form.cleaned_data["on"]
        closing = visits_closed_by_transition(participant, target, on)
        previewed = request.POST.get("previewed")
        if previewed and previewed != preview_key(target, on) and needs_reason(closing):
            # Changed on the confirmation page: confirm what this transition closes instead.
            messages.warning(
                request, gettext("The transition or its date changed: check the visits it closes.")
            )
            return self._confirm_transition(request, participant, form, closing)
        try:
            record_transition(
                participant, target, on=on, reason=form.cleaned_data["reason"], by=request.user
            )
        except ValidationError as error:
            report_errors(request, error)
            if "reason" in error.message_dict and needs_reason(closing):
                # A transition that closes visits not done names them and asks for a reason:
                # the form comes back, filled in, above the list, to confirm with one.
                return self._confirm_transition(request, participant, form, closing)
            return self._back(participant, "transition")
        messages.success(
            request,
            gettext("%(participant)s moved to %(status)s on %(day)s.")
            % {
                "participant": participant,
                "status": Status(target).label.lower(),
                "day": on.isoformat(),
            }
            + (
                " "
                + gettext("Closed: %(visits)s.")
                % {"visits": "; ".join(closing_sentence(v, end) for v, end in closing)}
                if closing
                else ""
            ),
        )
        return self._back(participant)

    def _confirm_transition(self, request, participant, form, closing):
        """The transition form again, as posted, with the visits it would close (code, name,
        planned date, how) and its reason required."""
        target, on = form.cleaned_data["target"], form.cleaned_data["on"]
        form.fields["reason"].required = True
        form.fields["reason"].widget.attrs.update({"required": True, "autofocus": True})
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": gettext("Confirm: %(subject_id)s to %(status)s")
            % {"subject_id": participant.subject_id, "status": Status(target).label.lower()},
            "participant": participant,
            "form": form,
            "target_label": Status(target).label.lower(),
            "on": on,
            "closing": closing,
            "previewed": preview_key(target, on),
            "participant_url": reverse(
                "admin:participants_participant_change", args=[participant.pk]
            ),
        }
        return TemplateResponse(
            request, "admin/scheduling/participant/transition_confirm.html", context
        )

    def correct_transition_view(self, request, object_id, transition_id):
        participant = self._writable(request, object_id)
        transition = get_object_or_404(Transition, pk=transition_id, participant=participant)
        try:
            on = parse_iso_date(request.POST.get("on", ""))
        except ValueError:
            messages.error(request, gettext("Give the corrected date (YYYY-MM-DD)."))
            return self._back(participant, "transition")
        try:
            correct_transition(
                transition, on=on, reason=request.POST.get("reason", ""), by=request.user
            )
        except ValidationError as error:
            report_errors(request, error)
        else:
            messages.success(
                request,
                gettext("%(status)s corrected to %(day)s; the original record is kept.")
                % {"status": transition.get_to_status_display(), "day": on.isoformat()},
            )
        return self._back(participant, "transition")


class TransitionInline(ReadOnlyAdmin, admin.TabularInline):
    """The participant's transitions, read only: never edited, never deleted."""

    model = Transition
    fk_name = "participant"
    extra = 0
    max_num = 0
    can_delete = False
    fields = [
        "from_status",
        "to_status",
        "effective_date",
        "reason",
        "corrects",
        "recorded_by",
        "recorded_at",
    ]
    readonly_fields = fields
