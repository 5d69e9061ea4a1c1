"""The day picker of a visit: each day of its window with the clinic open or closed (and
why) and the load of the visit's resource, the nearest days with room, and a form that books
the visit on a day (at a time) or clears its booking. It is a page of the participant admin
(``/admin/participants/participant/<id>/visit/<visit id>/appointment/``), scoped to the
user's sites like the participant page; read-only roles see it without the form.

Thin: the form is parsed here, ``scheduling.timeline.appointments`` books and clears, and a refusal
is shown as that service's sentence.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponseNotAllowed, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from participants import roles
from participants.admin import errors_onto_form, report_errors
from participants.admin.widgets import ISO_DATE_ATTRS, ClockInput
from participants.clinic import WEEKDAYS
from participants.dates import parse_iso_date
from scheduling.models import Visit
from scheduling.rules import engine
from scheduling.timeline.appointments import book_appointment, clear_booking
from scheduling.timeline.site_calendars import (
    DayChoice,
    clinic_calendar,
    day_choices,
    suggested_days,
)
from scheduling.workspace import participant_list as workspace

ANOTHER_DAY = "another"


class BookingForm(forms.Form):
    """A day of the window (or another day, with an override reason), an optional local
    time and an optional override reason."""

    on = forms.ChoiceField(label=_("Day"), widget=forms.RadioSelect)
    another_day = forms.CharField(
        required=False, label=_("Another day"), widget=forms.TextInput(attrs=ISO_DATE_ATTRS)
    )
    at = forms.TimeField(
        required=False,
        label=_("Time"),
        input_formats=["%H:%M"],
        widget=ClockInput(),
    )
    override_reason = forms.CharField(
        required=False,
        max_length=500,
        label=_("Override reason"),
        widget=forms.TextInput(attrs={"size": 50}),
    )

    def __init__(self, *args, days: list[datetime.date], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["on"].choices = [(day.isoformat(), day.isoformat()) for day in days] + [
            (ANOTHER_DAY, "another day")
        ]

    def clean(self):
        cleaned = super().clean()
        choice = cleaned.get("on")
        if choice is None:
            return cleaned
        text = (cleaned.get("another_day") or "").strip() if choice == ANOTHER_DAY else choice
        if not text:
            self.add_error("another_day", "Give the other day (YYYY-MM-DD).")
            return cleaned
        try:
            cleaned["day"] = parse_iso_date(text)
        except ValueError as error:
            self.add_error("another_day" if choice == ANOTHER_DAY else "on", str(error))
        return cleaned


@dataclass(frozen=True)
class DayRow:
    """A row of the picker: the day's choice and how the page marks it."""

    choice: DayChoice
    weekday: str
    closed_text: str  # "closed: Saturday", "holiday: Presidents' Day", "closed: inspection"
    study_day: int | None
    past: bool
    suggested: bool
    this_visit_booked: bool

    @property
    def state(self) -> str:
        if self.choice.closed:
            return "closed"
        return "full" if self.choice.full else "open"


def day_rows(visit: Visit, choices: list[DayChoice], suggested, today) -> list[DayRow]:
    day_one = workspace.day_one_from_anchor(visit.planned_date, visit.study_day)
    return [
        DayRow(
            choice=choice,
            weekday=WEEKDAYS[choice.day.weekday()],
            closed_text=choice.closed.state if choice.closed else "",
            study_day=engine.study_day(choice.day, day_one) if day_one else None,
            past=choice.day < today,
            suggested=choice.day in suggested,
            this_visit_booked=choice.day == visit.booked_date,
        )
        for choice in choices
    ]


class AppointmentPages:
    """Mixed into the participant admin: the day picker of each of its visits."""

    def appointment_urls(self):
        return [
            path(
                "<path:object_id>/visit/<int:visit_id>/appointment/",
                self.admin_site.admin_view(self.day_picker_view),
                name="participant_visit_appointment",
            )
        ]

    def _scoped_visit(self, request, object_id, visit_id) -> Visit:
        """The participant's visit, with its site and resource, at one of the user's sites;
        else 404, as if it did not exist (one query)."""
        try:
            participant_id = int(object_id)
        except ValueError:
            raise Http404(f"No participant with id {object_id} at your sites.") from None
        visits = roles.scope_to_sites(
            Visit.objects.select_related("participant__site", "definition__resource"),
            request.user,
            "participant__site",
        )
        visit = visits.filter(pk=visit_id, participant_id=participant_id).first()
        if visit is None:
            raise Http404(f"No visit with id {visit_id} of participant {object_id} at your sites.")
        return visit

    def day_picker_view(self, request, object_id, visit_id):
        if request.method not in ("GET", "HEAD", "POST"):
            return HttpResponseNotAllowed(["GET", "POST"])
        visit = self._scoped_visit(request, object_id, visit_id)
        participant = visit.participant
        if not self.has_view_or_change_permission(request, participant):
            raise PermissionDenied
        can_change = self.has_change_permission(request, participant)
        if request.method == "POST" and not can_change:
            raise PermissionDenied
        page = reverse("admin:participant_visit_appointment", args=[participant.pk, visit.pk])
        back = reverse("admin:participants_participant_change", args=[participant.pk])
        still_open = visit.actual_date is None and not visit.cancelled and participant.is_active

        if request.method == "POST" and "clear" in request.POST:
            try:
                visit = clear_booking(visit, by=request.user)
            except ValidationError as error:
                report_errors(request, error)
                return HttpResponseRedirect(page)
            messages.success(
                request,
                gettext("%(code)s: booking cleared; proposed for %(day)s.")
                % {"code": visit.code, "day": f"{visit.appointment_date:%a %Y-%m-%d}"},
            )
            return HttpResponseRedirect(f"{back}#visits")

        # The days of the window, as day_choices lists them; their load is read only to show
        # the page, not to book (the service checks the day itself).
        days = visit.days_to_choose.days()
        if request.method == "POST":
            form = BookingForm(request.POST, days=days)
            if form.is_valid():
                data = form.cleaned_data
                try:
                    visit = book_appointment(
                        visit,
                        on=data["day"],
                        at=data["at"],
                        override_reason=data["override_reason"],
                        by=request.user,
                    )
                except ValidationError as error:
                    # The service's sentences: the day's on the days, the rest above them.
                    errors_onto_form(form, error, fields=("on", "override_reason"))
                else:
                    messages.success(request, booked_sentence(visit))
                    return HttpResponseRedirect(f"{back}#visits")
        else:
            selected = visit.appointment_date
            form = BookingForm(
                initial={
                    "on": selected.isoformat()
                    if selected in days
                    else (ANOTHER_DAY if selected else ""),
                    "at": visit.booked_time,
                    "another_day": "" if selected in days or not selected else selected,
                },
                days=days,
            )

        calendar = clinic_calendar(participant.site)
        choices = day_choices(visit, calendar)
        today = participant.site.today()
        suggested = suggested_days(visit, choices)
        resource = visit.definition.resource if visit.definition_id else None
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": gettext("Appointment of %(subject_id)s %(code)s")
            % {"subject_id": participant.subject_id, "code": visit.code},
            "participant": participant,
            "visit": visit,
            "site": participant.site,
            "today": today,
            "rows": day_rows(visit, choices, set(suggested), today),
            "suggested": suggested,
            "resource": resource,
            "capacity": choices[0].load.capacity if choices and choices[0].load else None,
            "form": form if can_change and still_open else None,
            "refusals": [
                *form.non_field_errors(),
                *(error for field in form for error in field.errors),
            ],
            "selected": form["on"].value() or "",
            "still_open": still_open,
            "participant_url": back,
            "page_url": page,
        }
        return TemplateResponse(request, "admin/scheduling/visit/day_picker.html", context)


def booked_sentence(visit: Visit) -> str:
    when = f"{visit.booked_date:%a %Y-%m-%d}"
    if visit.booked_time:
        when = gettext("%(day)s at %(time)s") % {"day": when, "time": f"{visit.booked_time:%H:%M}"}
    sentence = gettext("%(code)s booked on %(when)s.") % {"code": visit.code, "when": when}
    if visit.booking_override:
        sentence += " " + gettext("Override: %(reason)s.") % {"reason": visit.booking_override}
    if visit.appointment_note:
        sentence += f" ({visit.appointment_note})"
    return sentence
