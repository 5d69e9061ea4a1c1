"""The participant list (filters, the schedule summary) and the participant page: its own
small forms, each posting to one service."""

import datetime

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Exists, OuterRef
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils.html import format_html

from participants import eligibility, roles
from participants.admin import ReasonForChangeAdmin, ReasonForChangeForm, SiteScopedAdmin
from participants.dates import parse_iso_date
from participants.models import (
    ACTIVE_STATUSES,
    PARTICIPANT_LANGUAGES,
    Participant,
    Status,
    Transition,
)
from participants.services import (
    allowed_targets,
    correct_transition,
    create_participant,
    effective_transitions,
    record_transition,
    set_reminders,
    validate_new_participant,
)

from .. import engine, workspace
from ..models import Confirmation, Phase, Visit, VisitStatus
from ..replies import MESSAGE_MAX_LENGTH, set_confirmation
from ..services import (
    add_unscheduled_visit,
    book_visit_time,
    rebuild_schedule,
    record_actual_date,
)
from .appointments import AppointmentPages
from .contact_log import ContactLogPages, contact_log
from .exports import export_schedule
from .mixins import report_errors

# The participant list.


class PhaseFilter(admin.SimpleListFilter):
    """The participant's current phase: a status named like a phase; enrolled participants
    are still in the first phase (screening) until treatment starts."""

    title = "phase"
    parameter_name = "phase"

    def lookups(self, request, model_admin):
        seen = {}
        for phase in Phase.objects.order_by("order", "id"):
            seen.setdefault(phase.code, phase.name)
        return list(seen.items())

    def queryset(self, request, queryset):
        code = self.value()
        if not code:
            return queryset
        if Phase.objects.filter(code=code, order=1).exists():
            return queryset.filter(status__in=[code, Status.SCREENING, Status.ENROLLED])
        return queryset.filter(status=code)


class NextVisitThisWeekFilter(admin.SimpleListFilter):
    title = "next visit"
    parameter_name = "next_visit"

    def lookups(self, request, model_admin):
        return [("week", "Within 7 days")]

    def queryset(self, request, queryset):
        if self.value() == "week":
            return workspace.next_visit_within(queryset, 7)
        return queryset


class OverdueFilter(admin.SimpleListFilter):
    title = "overdue visits"
    parameter_name = "overdue"

    def lookups(self, request, model_admin):
        return [("yes", "Has overdue visits"), ("no", "None overdue")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(overdue_visits__gt=0)
        if self.value() == "no":
            return queryset.filter(overdue_visits=0)
        return queryset


class NoShowFilter(admin.SimpleListFilter):
    """Participants still in the trial with a no-show: an appointment day that passed with no
    actual date while the visit's window is still open (on their site's today)."""

    title = "no-show"
    parameter_name = "no_show"

    def lookups(self, request, model_admin):
        return [("yes", "Has a no-show")]

    def queryset(self, request, queryset):
        if self.value() != "yes":
            return queryset
        # ``site_today`` is the list's annotation (workspace.with_schedule_summary).
        no_shows = Visit.objects.open().filter(
            participant=OuterRef("pk"),
            appointment_date__lt=OuterRef("site_today"),
            window_end__gte=OuterRef("site_today"),
        )
        return queryset.filter(Exists(no_shows), status__in=ACTIVE_STATUSES)


class ParticipantForm(ReasonForChangeForm):
    class Meta:
        model = Participant
        fields = ["protocol", "site", "subject_id", "email", "language", "consent_date"]

    def clean(self):
        cleaned = super().clean()
        if self.instance.pk is None and not self.errors:
            try:
                validate_new_participant(
                    protocol=cleaned["protocol"],
                    site=cleaned["site"],
                    subject_id=cleaned["subject_id"],
                    consent_date=cleaned["consent_date"],
                )
            except ValidationError as error:
                for field, sentences in error.message_dict.items():
                    for sentence in sentences:
                        self.add_error(field if field in self.fields else None, sentence)
        return cleaned


class TransitionForm(forms.Form):
    target = forms.ChoiceField(label="Move to")
    on = forms.DateField(
        label="Effective date",
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
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


class VisitForm(forms.Form):
    actual_date = forms.DateField(
        required=False, widget=forms.DateInput(attrs={"type": "date"}), label="Done on"
    )
    booked_time = forms.TimeField(
        required=False, widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M")
    )
    reason = forms.CharField(required=False, label="Reason (corrections)")


class ConfirmationForm(forms.Form):
    """A participant's answer given another way than a reminder link (they phoned)."""

    state = forms.ChoiceField(
        label="Answer",
        choices=[
            (Confirmation.CONFIRMED, "Confirmed: will come"),
            (Confirmation.RESCHEDULE_REQUESTED, "Another date requested"),
            (Confirmation.UNCONFIRMED, "Back to unconfirmed"),
        ],
    )
    message = forms.CharField(
        label="What they said",
        required=False,
        max_length=MESSAGE_MAX_LENGTH,
        widget=forms.TextInput(attrs={"size": 28, "placeholder": "what they said"}),
    )
    note = forms.CharField(
        label="Note",
        required=False,
        max_length=500,
        widget=forms.TextInput(attrs={"size": 28, "placeholder": "note (kept in the history)"}),
    )


CONFIRMATION_SENTENCES = {
    Confirmation.CONFIRMED: "{code}: confirmed (by staff).",
    Confirmation.RESCHEDULE_REQUESTED: "{code}: another date requested (by staff).",
    Confirmation.UNCONFIRMED: "{code}: back to unconfirmed.",
}


class UnscheduledVisitForm(forms.Form):
    on = forms.DateField(
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"), label="Date"
    )
    happened = forms.TypedChoiceField(
        choices=[("1", "Took place"), ("0", "Booked ahead")],
        coerce=lambda value: value == "1",
        initial="1",
        label="",
    )
    reason = forms.CharField(widget=forms.TextInput(attrs={"size": 40}))


@admin.register(Participant)
class ParticipantAdmin(ContactLogPages, AppointmentPages, ReasonForChangeAdmin, SiteScopedAdmin):
    form = ParticipantForm
    change_form_template = "admin/scheduling/participant/change_form.html"
    list_display = [
        "subject_id",
        "site_code",
        "status_badge",
        "study_day_today",
        "next_visit",
        "overdue",
        "reminders_enabled",
    ]
    list_filter = [
        ("site", admin.RelatedOnlyFieldListFilter),
        "status",
        PhaseFilter,
        NextVisitThisWeekFilter,
        OverdueFilter,
        NoShowFilter,
    ]
    search_fields = ["subject_id"]
    list_select_related = ["site"]
    list_per_page = 100
    actions = [export_schedule]

    class Media:
        css = {
            "all": [
                "scheduling/workspace.css",
                "scheduling/appointments.css",
                "scheduling/answers.css",
            ]
        }

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        return workspace.with_schedule_summary(queryset, self._sites(request))

    def _sites(self, request):
        if not hasattr(request, "_workspace_sites"):
            request._workspace_sites = list(roles.user_sites(request.user))
        return request._workspace_sites

    def get_fields(self, request, obj=None):
        fields = ["protocol", "site", "subject_id", "email", "language", "consent_date"]
        if obj is not None:
            fields += ["status", "left_on", "reminders_enabled", "change_reason"]
            if not self.has_change_permission(request, obj):
                # Contact details only where needed: read-only roles do not see them.
                fields = [f for f in fields if f not in {"email", "change_reason"}]
        return fields

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return []
        return ["protocol", "subject_id", "consent_date", "status", "left_on", "reminders_enabled"]

    def has_delete_permission(self, request, obj=None):
        return False  # a participant who leaves is a transition; history is never deleted

    def history_hidden_fields(self, request):
        # Contact details only where needed: read-only roles see who changed the email and
        # why, not the addresses.
        return set() if self.has_change_permission(request) else {"email"}

    def save_model(self, request, obj, form, change):
        if change:
            super().save_model(request, obj, form, change)
            if "site" in form.changed_data:
                # Another site keeps another time zone: "today" and reminder times follow it.
                rebuild_schedule(obj, by=request.user, reason=getattr(obj, "_change_reason", ""))
            return
        created = create_participant(
            protocol=obj.protocol,
            site=obj.site,
            subject_id=obj.subject_id,
            email=obj.email,
            consent_date=obj.consent_date,
            language=obj.language,
            by=request.user,
        )
        obj.pk = created.pk
        obj.status = created.status

    @admin.display(description="site", ordering="site__code")
    def site_code(self, obj):
        return obj.site.code

    @admin.display(description="status", ordering="status")
    def status_badge(self, obj):
        return format_html(
            '<span class="status-badge status-{}">{}</span>', obj.status, obj.get_status_display()
        )

    @admin.display(description="study day today")
    def study_day_today(self, obj):
        day_one = workspace.day_one_from_anchor(obj.anchor_date, obj.anchor_study_day)
        if day_one is None or not obj.is_active:
            return "—"
        return f"Day {engine.study_day(obj.site_today, day_one)}"

    @admin.display(description="next visit", ordering="next_visit_date")
    def next_visit(self, obj):
        if obj.next_visit_date is None:
            return "—"
        days = (obj.next_visit_date - obj.site_today).days
        when = (
            "today"
            if days == 0
            else f"in {days} day{'s' if days != 1 else ''}"
            if days > 0
            else f"{-days} day{'s' if days != -1 else ''} ago, window open"
        )
        return format_html(
            "{} {} <small>({})</small>", obj.next_visit_code, obj.next_visit_date.isoformat(), when
        )

    @admin.display(description="overdue", ordering="overdue_visits")
    def overdue(self, obj):
        if not obj.overdue_visits:
            return "0"
        return format_html('<span class="overdue-count">{}</span>', obj.overdue_visits)

    # The participant page: its own small forms, each posting to one service.

    def get_urls(self):
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
                "<path:object_id>/reminders/",
                view(self.reminders_view),
                name="participant_reminders",
            ),
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
            path(
                "<path:object_id>/visit/<int:visit_id>/confirmation/",
                view(self.confirmation_view),
                name="participant_visit_confirmation",
            ),
            *self.appointment_urls(),
            *self.contact_log_urls(),
        ] + super().get_urls()

    def _writable(self, request, object_id) -> Participant:
        participant = self.in_scope_or_404(request, object_id)
        if request.method != "POST" or not self.has_change_permission(request, participant):
            raise PermissionDenied
        return participant

    def _back(self, participant, anchor=""):
        url = reverse("admin:participants_participant_change", args=[participant.pk])
        return HttpResponseRedirect(f"{url}#{anchor}" if anchor else url)

    def transition_view(self, request, object_id):
        participant = self._writable(request, object_id)
        form = TransitionForm(request.POST, participant=participant, today=participant.site.today())
        if not form.is_valid():
            for field, errors in form.errors.items():
                label = form.fields[field].label or field if field in form.fields else ""
                for error in errors:
                    messages.error(request, f"{label}: {error}" if label else error)
            return self._back(participant, "transition")
        try:
            record_transition(
                participant,
                form.cleaned_data["target"],
                on=form.cleaned_data["on"],
                reason=form.cleaned_data["reason"],
                by=request.user,
            )
        except ValidationError as error:
            report_errors(request, error)
        else:
            messages.success(
                request,
                f"{participant} moved to {Status(form.cleaned_data['target']).label.lower()} "
                f"on {form.cleaned_data['on'].isoformat()}.",
            )
        return self._back(participant)

    def correct_transition_view(self, request, object_id, transition_id):
        participant = self._writable(request, object_id)
        transition = get_object_or_404(Transition, pk=transition_id, participant=participant)
        try:
            on = parse_iso_date(request.POST.get("on", ""))
        except ValueError:
            messages.error(request, "Give the corrected date (YYYY-MM-DD).")
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
                f"{transition.get_to_status_display()} corrected to {on.isoformat()}; "
                "the original record is kept.",
            )
        return self._back(participant, "transition")

    def visit_view(self, request, object_id, visit_id):
        participant = self._writable(request, object_id)
        visit = get_object_or_404(Visit, pk=visit_id, participant=participant)
        form = VisitForm(request.POST)
        if not form.is_valid():
            for errors in form.errors.values():
                for error in errors:
                    messages.error(request, f"{visit.code}: {error}")
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
                flag = " (a deviation: outside its window)" if visit.is_deviation else ""
                messages.success(
                    request, f"{visit.code} recorded on {visit.actual_date.isoformat()}{flag}."
                )
            if data["booked_time"] != visit.booked_time and visit.actual_date is None:
                book_visit_time(visit, data["booked_time"], by=request.user)
                messages.success(
                    request,
                    f"{visit.code} booked at {data['booked_time']:%H:%M}."
                    if data["booked_time"]
                    else f"{visit.code}: booking cleared.",
                )
        except ValidationError as error:
            report_errors(request, error)
        return self._back(participant, "visits")

    def confirmation_view(self, request, object_id, visit_id):
        participant = self._writable(request, object_id)
        visit = get_object_or_404(Visit, pk=visit_id, participant=participant)
        form = ConfirmationForm(request.POST)
        if not form.is_valid():
            for field, errors in form.errors.items():
                label = form.fields[field].label if field in form.fields else ""
                for error in errors:
                    messages.error(request, f"{visit.code} {label.lower()}: {error}")
            return self._back(participant, f"visit-{visit.pk}")
        if not participant.is_active:
            messages.error(request, f"{participant} has left the trial: no visit to confirm.")
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
                    request, f"{visit.code} is already {visit.get_confirmation_display().lower()}."
                )
            else:
                messages.success(request, CONFIRMATION_SENTENCES[state].format(code=visit.code))
        return self._back(participant, f"visit-{visit.pk}")

    def unscheduled_view(self, request, object_id):
        participant = self._writable(request, object_id)
        form = UnscheduledVisitForm(request.POST)
        if not form.is_valid():
            for field, errors in form.errors.items():
                for error in errors:
                    messages.error(request, f"Unscheduled visit {field}: {error}")
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
            messages.success(request, f"Unscheduled visit added on {visit.planned_date}.")
        return self._back(participant, "visits")

    def reminders_view(self, request, object_id):
        participant = self._writable(request, object_id)
        enabled = request.POST.get("enabled") == "1"
        set_reminders(
            participant,
            enabled,
            reason=request.POST.get("reason", "").strip(),
            by=request.user,
        )
        messages.success(request, "Reminders are on." if enabled else "Reminders are off.")
        return self._back(participant, "reminders")

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
            messages.success(request, f"{changed} answer(s) saved.")
        return self._back(participant, "eligibility")

    def confirm_eligibility_view(self, request, object_id):
        participant = self._writable(request, object_id)
        try:
            on = parse_iso_date(request.POST.get("on", ""))
        except ValueError:
            on = participant.site.today()
        try:
            eligibility.confirm_eligibility(participant, on=on, by=request.user)
        except ValidationError as error:
            report_errors(request, error)
        else:
            messages.success(request, f"Eligibility confirmed: {participant} is enrolled.")
        return self._back(participant, "eligibility")

    def change_view(self, request, object_id, form_url="", extra_context=None):
        participant = self.in_scope_or_404(request, object_id)
        timeline = workspace.participant_timeline(participant)
        reminders, cancelled_reminders = workspace.participant_reminders(participant)
        can_change = self.has_change_permission(request, participant)
        visit_rows = []
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
            visit_rows.append(
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
        transition_form = (
            TransitionForm(participant=participant, today=timeline.today) if can_change else None
        )
        suggested = request.GET.get("target")
        if transition_form and suggested in dict(transition_form.fields["target"].choices):
            transition_form.fields["target"].initial = suggested  # from the contact log's link
        languages = dict(PARTICIPANT_LANGUAGES)
        context = {
            "timeline": timeline,
            "visit_rows": visit_rows,
            "can_change": can_change,
            "transition_form": transition_form,
            "unscheduled_form": UnscheduledVisitForm(initial={"on": timeline.today})
            if can_change and participant.is_active
            else None,
            "lifecycle": effective_transitions(participant),
            "checklist": eligibility.checklist(participant),
            "eligibility_open": participant.status == Status.SCREENING,
            "may_confirm": roles.may_confirm_eligibility(request.user),
            "unmet": eligibility.unmet(participant),
            "reminders": reminders,
            "cancelled_reminders": cancelled_reminders,
            "participant": participant,
            "calendar_url": reverse("admin:scheduling_visit_calendar")
            + f"?site={participant.site.code}",
            "contact_log": contact_log(participant),
            "contact_form": self.contact_log_form(request, participant),
            "reminder_language": languages.get(participant.reminder_language, ""),
            "language_is_sites": not participant.language,
        }
        context.update(extra_context or {})
        return super().change_view(request, object_id, form_url, context)


class TransitionInline(admin.TabularInline):
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

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


ParticipantAdmin.inlines = [TransitionInline]
